"""``RunstoreClient``: MLflow's ``MlflowClient`` calls, with explicit ids, on a store."""

from __future__ import annotations

import getpass

from .entities import Experiment, Metric, Run
from .store import MAX_PAGE, Store, now_ms, open_store

#: MLflow's batch limits (mlflow/utils/validation.py), applied when splitting batches.
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_TAGS_PER_BATCH = 100


def _pairs(items) -> list:
    """``{k: v}`` or ``[(k, v)]`` or MLflow Param/RunTag entities as ``[(k, str(v))]``."""
    if items is None:
        return []
    if isinstance(items, dict):
        return [(str(k), str(v)) for k, v in items.items()]
    return [(it.key, str(it.value)) if hasattr(it, "key") else (str(it[0]), str(it[1])) for it in items]


def _points(items, timestamp=None, step=None) -> list:
    """Metrics as ``(key, value, timestamp, step)`` tuples from dicts, tuples or Metric entities."""
    if items is None:
        return []
    ts = now_ms() if timestamp is None else int(timestamp)
    if isinstance(items, dict):
        return [(str(k), float(v), ts, int(step or 0)) for k, v in items.items()]
    out = []
    for it in items:
        if hasattr(it, "key"):
            out.append((it.key, float(it.value), int(it.timestamp), int(it.step or 0)))
        else:
            out.append(tuple(it))
    return out


def _chunks(seq, size):
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


class RunstoreClient:
    """Explicit-id access to one store, shaped like ``mlflow.MlflowClient``.

    ``store`` is a directory (default: ``RUNSTORE_DB`` or ``./runstore-data``) or
    an open :class:`~runstore.store.Store`. Safe to share between threads.
    """

    def __init__(self, store=None):
        self.store: Store = store if isinstance(store, Store) else open_store(store)

    # -- experiments ----------------------------------------------------------

    def create_experiment(self, name: str, artifact_location: str | None = None, tags: dict | None = None) -> str:
        experiment_id = self.store.create_experiment(name, artifact_location)
        for key, value in _pairs(tags):
            self.store.set_experiment_tag(experiment_id, key, value)
        return experiment_id

    def get_experiment(self, experiment_id) -> Experiment:
        return Experiment.from_json(self.store.get_experiment(experiment_id))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        doc = self.store.get_experiment_by_name(name)
        return Experiment.from_json(doc) if doc else None

    def search_experiments(self, view_type=1, max_results=None, filter_string=None, order_by=None) -> list:
        """Every matching experiment (all pages), newest first unless ``order_by`` says otherwise."""
        out, token = [], None
        while True:
            want = MAX_PAGE if max_results is None else min(MAX_PAGE, max_results - len(out))
            page = self.store.search_experiments(filter_string, order_by, want, token, view_type)
            out.extend(Experiment.from_json(e) for e in page["experiments"])
            token = page.get("next_page_token")
            if not token or (max_results is not None and len(out) >= max_results):
                return out

    def rename_experiment(self, experiment_id, new_name: str) -> None:
        self.store.rename_experiment(experiment_id, new_name)

    def delete_experiment(self, experiment_id) -> None:
        self.store.delete_experiment(experiment_id)

    def restore_experiment(self, experiment_id) -> None:
        self.store.restore_experiment(experiment_id)

    def set_experiment_tag(self, experiment_id, key: str, value) -> None:
        self.store.set_experiment_tag(experiment_id, key, value)

    def delete_experiment_tag(self, experiment_id, key: str) -> None:
        self.store.delete_experiment_tag(experiment_id, key)

    # -- runs -----------------------------------------------------------------

    def create_run(self, experiment_id, start_time=None, tags=None, run_name=None, parent_run_id=None) -> Run:
        tags = dict(_pairs(tags))
        user = tags.pop("mlflow.user", None) or _user()
        parent = parent_run_id or tags.pop("mlflow.parentRunId", None)
        name = run_name or tags.pop("mlflow.runName", None)
        run_id = self.store.create_run(experiment_id, name, start_time, user, parent, tags)
        return self.get_run(run_id)

    def get_run(self, run_id: str) -> Run:
        return Run.from_json(self.store.get_run(run_id))

    def update_run(self, run_id: str, status: str | None = None, name: str | None = None) -> None:
        self.store.update_run(run_id, status=status, run_name=name)

    def set_terminated(self, run_id: str, status: str = "FINISHED", end_time: int | None = None) -> None:
        self.store.update_run(run_id, status=status, end_time=now_ms() if end_time is None else end_time)

    def delete_run(self, run_id: str) -> None:
        self.store.delete_run(run_id)

    def restore_run(self, run_id: str) -> None:
        self.store.restore_run(run_id)

    def log_metric(self, run_id, key, value, timestamp=None, step=None, synchronous=True) -> None:
        self.store.log_metric(run_id, key, value, timestamp, step or 0, synchronous)

    def log_param(self, run_id, key, value, synchronous=True):
        self.store.log_param(run_id, key, str(value), synchronous)
        return value

    def set_tag(self, run_id, key, value, synchronous=True) -> None:
        self.store.set_tag(run_id, key, str(value), synchronous)

    def delete_tag(self, run_id, key) -> None:
        self.store.delete_tag(run_id, key)

    def log_batch(self, run_id, metrics=(), params=(), tags=(), synchronous=True) -> None:
        """MLflow's ``log_batch``; larger inputs are split at MLflow's per-call limits."""
        metrics, params, tags = _points(metrics), _pairs(params), _pairs(tags)
        small = len(metrics) <= MAX_METRICS_PER_BATCH and len(params) + len(tags) <= MAX_PARAMS_TAGS_PER_BATCH
        if small:
            self.store.log_batch(run_id, metrics, params, tags)
            return
        for chunk in _chunks(params, MAX_PARAMS_TAGS_PER_BATCH):
            self.store.log_batch(run_id, params=chunk)
        for chunk in _chunks(tags, MAX_PARAMS_TAGS_PER_BATCH):
            self.store.log_batch(run_id, tags=chunk)
        for chunk in _chunks(metrics, MAX_METRICS_PER_BATCH):
            self.store.log_batch(run_id, metrics=chunk)

    def log_inputs(self, run_id, datasets) -> None:
        """Logs datasets: MLflow ``DatasetInput`` entities or dicts with the dataset's fields."""
        for item in datasets or []:
            self.store.log_input(run_id, **dataset_fields(item))

    def get_metric_history(self, run_id: str, key: str) -> list:
        """Every point of ``key`` as :class:`~runstore.entities.Metric`, ordered by step."""
        return [Metric(key, float(v), int(ts), int(step)) for step, v, ts in self.store.history(run_id, key)]

    def search_runs(self, experiment_ids=None, filter_string="", run_view_type=1, max_results=1000, order_by=None, page_token=None):
        """One page of :class:`~runstore.entities.Run`; ``.token`` holds the next page's token."""
        page = self.store.search_page(
            filter_string=filter_string,
            order_by=order_by,
            experiment_ids=experiment_ids,
            max_results=max_results,
            page_token=page_token,
            view=run_view_type,
        )
        runs = PagedRuns(Run.from_json(r) for r in page["runs"])
        runs.token = page.get("next_page_token")
        return runs

    def flush(self) -> None:
        """Waits until every ``synchronous=False`` write is durable."""
        self.store.flush()


class PagedRuns(list):
    """A page of runs; ``token`` is the next page's token (None on the last page)."""

    token = None


def dataset_fields(item) -> dict:
    """The C API's dataset fields from an MLflow ``DatasetInput``/``Dataset`` or a dict."""
    context = None
    if isinstance(item, dict):
        fields = dict(item)
        context = fields.pop("context", None)
        return {
            "name": fields["name"],
            "digest": fields["digest"],
            "source_type": fields.get("source_type", "local"),
            "source": fields.get("source", ""),
            "schema": fields.get("schema"),
            "profile": fields.get("profile"),
            "context": context,
        }
    if hasattr(item, "dataset") and hasattr(item, "tags"):  # mlflow.entities.DatasetInput
        for tag in item.tags or []:
            if tag.key == "mlflow.data.context":
                context = tag.value
        item = item.dataset
    if hasattr(item, "_to_mlflow_entity"):  # mlflow.data.Dataset (pandas, numpy, …)
        item = item._to_mlflow_entity()
    source = item.source
    if not isinstance(source, str):
        source = source.to_json() if hasattr(source, "to_json") else str(source)
    return {
        "name": item.name,
        "digest": item.digest,
        "source_type": item.source_type,
        "source": source,
        "schema": getattr(item, "schema", None),
        "profile": getattr(item, "profile", None),
        "context": context,
    }


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"
