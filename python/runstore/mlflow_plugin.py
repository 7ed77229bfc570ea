"""An MLflow tracking-store plugin: MLflow's own API, in-process, on runstore.

Registered under the entry point group ``mlflow.tracking_store`` as the scheme
``runstore``, so that::

    mlflow.set_tracking_uri("runstore:./store")      # or runstore:///abs/path

makes ``mlflow.start_run``, ``log_metric``, ``search_runs``, ``MlflowClient``…
read and write the runstore store in ``./store`` — no server, MLflow unchanged.
Importing this module needs ``mlflow``.
"""

from __future__ import annotations

import functools
from urllib.parse import unquote

from mlflow.entities import (
    Dataset,
    DatasetInput,
    Experiment,
    ExperimentTag,
    InputTag,
    Metric,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunStatus,
    RunTag,
)
from mlflow.exceptions import MlflowException
from mlflow.protos import databricks_pb2
from mlflow.store.entities.paged_list import PagedList
from mlflow.store.tracking.abstract_store import AbstractStore

try:  # MLflow's own rule: values over its limits are cut (MLFLOW_TRUNCATE_LONG_VALUES)
    from mlflow.utils.validation import MAX_PARAM_VAL_LENGTH, MAX_TAG_VAL_LENGTH, _validate_length_limit
except ImportError:  # an MLflow without it refuses them, as the engine does
    MAX_PARAM_VAL_LENGTH, MAX_TAG_VAL_LENGTH = 6000, 8000

    def _validate_length_limit(entity_name, limit, value, *, truncate=False):
        return value

from ._lib import RunstoreError
from .client import dataset_fields
from .entities import _number
from .store import open_store

SCHEME = "runstore"
_VIEW = {1: "active", 2: "deleted", 3: "all"}


def store_path(store_uri: str) -> str:
    """The directory a URI names: ``runstore:./d``, ``runstore:/abs``, ``runstore:///abs``."""
    prefix = f"{SCHEME}:"
    if not store_uri.startswith(prefix):
        raise MlflowException(f"not a runstore URI: {store_uri!r}", databricks_pb2.INVALID_PARAMETER_VALUE)
    rest = store_uri[len(prefix) :]
    if rest.startswith("//"):  # runstore://[localhost]/abs/path
        host, _, path = rest[2:].partition("/")
        if host not in ("", "localhost"):
            raise MlflowException(f"runstore URI {store_uri!r} names a host: only local stores", databricks_pb2.INVALID_PARAMETER_VALUE)
        rest = "/" + path
    if not rest:
        raise MlflowException(f"runstore URI {store_uri!r} names no directory", databricks_pb2.INVALID_PARAMETER_VALUE)
    return unquote(rest)


def _mlflow_errors(fn):
    """Raises runstore's errors as MlflowException with MLflow's error code."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except RunstoreError as err:
            code = getattr(databricks_pb2, err.error_code, databricks_pb2.INTERNAL_ERROR)
            raise MlflowException(err.message, error_code=code) from None

    return wrapper


def _experiment(doc: dict) -> Experiment:
    return Experiment(
        experiment_id=str(doc["experiment_id"]),
        name=doc["name"],
        artifact_location=doc.get("artifact_location") or "",
        lifecycle_stage=doc.get("lifecycle_stage", "active"),
        tags=[ExperimentTag(k, v) for k, v in (doc.get("tags") or {}).items()],
        creation_time=doc.get("creation_time"),
        last_update_time=doc.get("last_update_time"),
    )


def _run(doc: dict) -> Run:
    info = RunInfo(
        run_id=doc["run_id"],
        experiment_id=str(doc["experiment_id"]),
        user_id=doc.get("user") or "",
        status=doc.get("status", "RUNNING"),
        start_time=doc.get("start_time"),
        end_time=doc.get("end_time"),
        lifecycle_stage=doc.get("lifecycle_stage", "active"),
        artifact_uri=doc.get("artifact_uri"),
        run_name=doc.get("run_name"),
    )
    # The run JSON carries each metric's latest value only, not its step and timestamp.
    data = RunData(
        metrics=[Metric(k, _number(v), 0, 0) for k, v in (doc.get("metrics") or {}).items()],
        params=[Param(k, v) for k, v in (doc.get("params") or {}).items()],
        tags=[RunTag(k, v) for k, v in (doc.get("tags") or {}).items()],
    )
    inputs = []
    for item in doc.get("inputs") or []:
        dataset = Dataset(
            name=item["name"],
            digest=item["digest"],
            source_type=item.get("source_type", ""),
            source=item.get("source", ""),
            schema=item.get("schema"),
            profile=item.get("profile"),
        )
        tags = [InputTag("mlflow.data.context", item["context"])] if item.get("context") else []
        inputs.append(DatasetInput(dataset, tags))
    return Run(info, data, RunInputs(dataset_inputs=inputs))


class RunstoreTrackingStore(AbstractStore):
    """MLflow's ``AbstractStore`` over a runstore store (see the module's docs)."""

    def __init__(self, store_uri: str = None, artifact_uri: str = None):
        super().__init__()
        self._store = open_store(store_path(store_uri or f"{SCHEME}:./runstore-data"))
        self.artifact_root_uri = artifact_uri
        # MLflow's fluent API falls back to experiment "0", named Default: a new store gets it.
        if self._store.get_experiment_by_name("Default") is None:
            if not self._store.search_experiments(max_results=1, view="all")["experiments"]:
                try:
                    self._store.create_experiment("Default")
                except RunstoreError as err:
                    if err.error_code != "RESOURCE_ALREADY_EXISTS":
                        raise

    # -- experiments ----------------------------------------------------------

    @_mlflow_errors
    def search_experiments(self, view_type=1, max_results=1000, filter_string=None, order_by=None, page_token=None):
        page = self._store.search_experiments(filter_string, order_by, max_results, page_token, _VIEW.get(view_type, view_type))
        return PagedList([_experiment(e) for e in page["experiments"]], page.get("next_page_token"))

    @_mlflow_errors
    def create_experiment(self, name, artifact_location=None, tags=None):
        experiment_id = self._store.create_experiment(name, artifact_location or None)
        for tag in tags or []:
            self._store.set_experiment_tag(experiment_id, tag.key, tag.value)
        return experiment_id

    @_mlflow_errors
    def get_experiment(self, experiment_id):
        return _experiment(self._store.get_experiment(experiment_id))

    @_mlflow_errors
    def get_experiment_by_name(self, experiment_name):
        doc = self._store.get_experiment_by_name(experiment_name)
        return _experiment(doc) if doc else None

    @_mlflow_errors
    def delete_experiment(self, experiment_id):
        self._store.delete_experiment(experiment_id)

    @_mlflow_errors
    def restore_experiment(self, experiment_id):
        self._store.restore_experiment(experiment_id)

    @_mlflow_errors
    def rename_experiment(self, experiment_id, new_name):
        self._store.rename_experiment(experiment_id, new_name)

    @_mlflow_errors
    def set_experiment_tag(self, experiment_id, tag):
        self._store.set_experiment_tag(experiment_id, tag.key, tag.value)

    @_mlflow_errors
    def delete_experiment_tag(self, experiment_id, key):
        self._store.delete_experiment_tag(experiment_id, key)

    # -- runs -----------------------------------------------------------------

    @_mlflow_errors
    def get_run(self, run_id):
        return _run(self._store.get_run(run_id))

    @_mlflow_errors
    def create_run(self, experiment_id, user_id, start_time, tags, run_name):
        tags = {t.key: t.value for t in tags or []}
        parent = tags.pop("mlflow.parentRunId", None)
        user = tags.pop("mlflow.user", None) or user_id
        name = run_name or tags.pop("mlflow.runName", None)
        run_id = self._store.create_run(experiment_id, name, start_time, user, parent, tags)
        return self.get_run(run_id)

    @_mlflow_errors
    def update_run_info(self, run_id, run_status, end_time, run_name):
        status = RunStatus.to_string(run_status) if isinstance(run_status, int) else run_status
        self._store.update_run(run_id, status=status, end_time=end_time, run_name=run_name or None)
        return self.get_run(run_id).info

    @_mlflow_errors
    def delete_run(self, run_id):
        self._store.delete_run(run_id)

    @_mlflow_errors
    def restore_run(self, run_id):
        self._store.restore_run(run_id)

    @_mlflow_errors
    def log_batch(self, run_id, metrics, params, tags):
        self._store.log_batch(
            run_id,
            metrics=[(m.key, m.value, m.timestamp, m.step) for m in metrics or []],
            params=[(p.key, _validate_length_limit("Param value", MAX_PARAM_VAL_LENGTH, p.value, truncate=True))
                    for p in params or []],
            tags=[(t.key, _validate_length_limit("Tag value", MAX_TAG_VAL_LENGTH, t.value, truncate=True))
                  for t in tags or []],
        )

    @_mlflow_errors
    def log_inputs(self, run_id, datasets=None, models=None):
        for item in datasets or []:
            self._store.log_input(run_id, **dataset_fields(item))

    @_mlflow_errors
    def delete_tag(self, run_id, key):
        self._store.delete_tag(run_id, key)

    @_mlflow_errors
    def get_metric_history(self, run_id, metric_key, max_results=None, page_token=None):
        points = [Metric(metric_key, float(v), int(ts), int(step)) for step, v, ts in self._store.history(run_id, metric_key)]
        if max_results is None:
            return PagedList(points, None)
        start = int(page_token) if page_token else 0
        end = start + int(max_results)
        return PagedList(points[start:end], str(end) if end < len(points) else None)

    @_mlflow_errors
    def _search_runs(self, experiment_ids, filter_string, run_view_type, max_results, order_by, page_token):
        if not experiment_ids:
            return [], None
        page = self._store.search_page(
            filter_string=filter_string,
            order_by=order_by,
            experiment_ids=[str(e) for e in experiment_ids],
            max_results=max_results,
            page_token=page_token,
            view=_VIEW.get(run_view_type, run_view_type),
        )
        return [_run(r) for r in page["runs"]], page.get("next_page_token")
