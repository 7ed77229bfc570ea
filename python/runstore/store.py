"""One open runstore store: a typed Python face on the C API's calls.

A :class:`Store` is safe to share between threads (the C API's handle is). A
process opens each directory once: :func:`open_store` returns the same
:class:`Store` for the same path, so the fluent API, :class:`RunstoreClient`
and the MLflow plugin share one handle and one group commit.
"""

from __future__ import annotations

import ctypes
import json
import os
import threading
import time
from ctypes import byref, c_double, c_int64, c_uint32, c_uint64, c_void_p

from ._lib import RS_RUN_ID_SIZE, ArrowArrayStream, RunstoreError, check, enc, lib, strings, take_json

#: Default store directory when neither set_store nor RUNSTORE_DB names one (the CLI's default).
DEFAULT_STORE = "./runstore-data"
#: MLflow's search limit per page, which the engine enforces too.
MAX_PAGE = 50_000

_VIEWS = {1: "active", 2: "deleted", 3: "all", "ACTIVE_ONLY": "active", "DELETED_ONLY": "deleted", "ALL": "all"}


def now_ms() -> int:
    """Milliseconds since the epoch, as MLflow timestamps are."""
    return int(time.time() * 1000)


def view_name(view) -> str:
    """MLflow's ViewType (1, 2, 3 or its name) as the C API's view name."""
    if isinstance(view, str) and view.lower() in ("active", "deleted", "all"):
        return view.lower()
    try:
        return _VIEWS[view]
    except KeyError:
        raise RunstoreError(f"invalid run view type {view!r}", "INVALID_PARAMETER_VALUE", "RS_BAD_INPUT") from None


def experiment_id_int(experiment_id) -> int:
    """An MLflow experiment id (a string of digits) as the engine's number."""
    text = str(experiment_id)
    if not text.isdigit() or int(text) >= 2**32:
        raise RunstoreError(
            f"No Experiment with id={experiment_id} exists", "RESOURCE_DOES_NOT_EXIST", "RS_BAD_INPUT"
        )
    return int(text)


def search_request(
    filter_string=None,
    order_by=None,
    experiment_ids=None,
    experiment_names=None,
    max_results=1000,
    page_token=None,
    view="active",
) -> str:
    """The C API's search request JSON: MLflow's filter and ``order_by``, experiments
    by id or name (neither: all), page size and token, and the run view."""
    return json.dumps(
        {
            "filter": filter_string or None,
            "order_by": list(order_by or []),
            "experiment_ids": [experiment_id_int(e) for e in experiment_ids] if experiment_ids else None,
            "experiments": list(experiment_names) if experiment_names else None,
            "max_results": int(max_results),
            "page_token": page_token or None,
            "view": view_name(view),
        }
    )


class Store:
    """An open store directory. Prefer :func:`open_store`, which shares handles."""

    def __init__(self, path: str, read_only: bool = False):
        self.path = os.path.abspath(os.fspath(path))
        self.read_only = read_only
        handle = c_void_p()
        check(lib().rs_store_open(enc(self.path), read_only, byref(handle)))
        self._handle = handle

    # -- lifetime -------------------------------------------------------------

    def close(self) -> None:
        """Flushes buffered writes and closes the store (idempotent)."""
        handle, self._handle = self._handle, None
        if handle is not None:
            lib().rs_store_free(handle)

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def _h(self):
        if self._handle is None:
            raise RunstoreError(f"store {self.path} is closed", "INVALID_PARAMETER_VALUE", "RS_BAD_INPUT")
        return self._handle

    def flush(self) -> None:
        """Returns once every buffered write is durable; raises the first refused one."""
        check(lib().rs_store_flush(self._h()))

    def ingest_jsonl(self, data: bytes | str) -> tuple[int, int]:
        """Ingests run records (the contract's JSON Lines); returns (runs, points)."""
        if isinstance(data, str):
            data = data.encode()
        runs, points = c_uint64(), c_uint64()
        check(lib().rs_ingest_jsonl(self._h(), data, len(data), byref(runs), byref(points)))
        return runs.value, points.value

    # -- experiments ----------------------------------------------------------

    def create_experiment(self, name: str, artifact_location: str | None = None) -> str:
        out = c_uint32()
        check(lib().rs_experiment_create(self._h(), enc(name), enc(artifact_location), byref(out)))
        return str(out.value)

    def get_experiment(self, experiment_id) -> dict:
        return take_json(lib().rs_experiment_get_json, self._h(), experiment_id_int(experiment_id))

    def get_experiment_by_name(self, name: str) -> dict | None:
        """The experiment named ``name``, or None when there is none."""
        try:
            return take_json(lib().rs_experiment_by_name_json, self._h(), enc(name))
        except RunstoreError as err:
            if err.error_code == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise

    def rename_experiment(self, experiment_id, new_name: str) -> None:
        check(lib().rs_experiment_rename(self._h(), experiment_id_int(experiment_id), enc(new_name)))

    def delete_experiment(self, experiment_id) -> None:
        check(lib().rs_experiment_delete(self._h(), experiment_id_int(experiment_id)))

    def restore_experiment(self, experiment_id) -> None:
        check(lib().rs_experiment_restore(self._h(), experiment_id_int(experiment_id)))

    def set_experiment_tag(self, experiment_id, key: str, value) -> None:
        check(lib().rs_experiment_set_tag(self._h(), experiment_id_int(experiment_id), enc(key), enc(value)))

    def delete_experiment_tag(self, experiment_id, key: str) -> None:
        check(lib().rs_experiment_delete_tag(self._h(), experiment_id_int(experiment_id), enc(key)))

    def search_experiments(self, filter_string=None, order_by=None, max_results=1000, page_token=None, view="active"):
        """One page: ``{"experiments": [...], "next_page_token": ...}``."""
        request = {
            "filter": filter_string or None,
            "order_by": list(order_by or []),
            "max_results": max_results,
            "page_token": page_token or None,
            "view": view_name(view),
        }
        return take_json(lib().rs_experiments_search_json, self._h(), enc(json.dumps(request)))

    # -- runs -----------------------------------------------------------------

    def create_run(self, experiment_id, run_name=None, start_time=None, user=None, parent_run_id=None, tags=None) -> str:
        tags = dict(tags or {})
        keys, values = list(tags), [tags[k] for k in tags]
        start = c_int64(int(start_time)) if start_time is not None else None
        out = (ctypes.c_char * RS_RUN_ID_SIZE)()
        check(
            lib().rs_run_create(
                self._h(),
                experiment_id_int(experiment_id),
                enc(run_name),
                byref(start) if start is not None else None,
                enc(user),
                enc(parent_run_id),
                strings(keys),
                strings(values),
                len(keys),
                out,
            )
        )
        return out.value.decode()

    def update_run(self, run_id: str, status=None, end_time=None, run_name=None) -> None:
        end = c_int64(int(end_time)) if end_time is not None else None
        check(lib().rs_run_update(self._h(), enc(run_id), enc(status), byref(end) if end is not None else None, enc(run_name)))

    def delete_run(self, run_id: str) -> None:
        check(lib().rs_run_delete(self._h(), enc(run_id)))

    def restore_run(self, run_id: str) -> None:
        check(lib().rs_run_restore(self._h(), enc(run_id)))

    def get_run(self, run_id: str) -> dict:
        """One run as the contract's search JSON describes it."""
        return take_json(lib().rs_run_get_json, self._h(), enc(run_id))

    # -- logging --------------------------------------------------------------

    def log_metric(self, run_id, key, value, timestamp=None, step=0, synchronous=True) -> None:
        call = lib().rs_log_metric if synchronous else lib().rs_log_metric_buffered
        ts = now_ms() if timestamp is None else int(timestamp)
        check(call(self._h(), enc(run_id), enc(key), float(value), ts, int(step or 0)))

    def log_param(self, run_id, key, value, synchronous=True) -> None:
        call = lib().rs_log_param if synchronous else lib().rs_log_param_buffered
        check(call(self._h(), enc(run_id), enc(key), enc(value)))

    def set_tag(self, run_id, key, value, synchronous=True) -> None:
        call = lib().rs_set_tag if synchronous else lib().rs_set_tag_buffered
        check(call(self._h(), enc(run_id), enc(key), enc(value)))

    def delete_tag(self, run_id, key) -> None:
        check(lib().rs_delete_tag(self._h(), enc(run_id), enc(key)))

    def log_batch(self, run_id, metrics=(), params=(), tags=()) -> None:
        """Logs metrics ``(key, value, timestamp, step)``, params and tags ``(key, value)`` at once."""
        metrics, params, tags = list(metrics), list(params), list(tags)
        n = len(metrics)
        keys = strings([m[0] for m in metrics])
        vals = (c_double * n)(*[float(m[1]) for m in metrics]) if n else None
        stamps = (c_int64 * n)(*[int(m[2]) for m in metrics]) if n else None
        steps = (c_int64 * n)(*[int(m[3] or 0) for m in metrics]) if n else None
        check(
            lib().rs_log_batch(
                self._h(),
                enc(run_id),
                keys,
                vals,
                stamps,
                steps,
                n,
                strings([p[0] for p in params]),
                strings([p[1] for p in params]),
                len(params),
                strings([t[0] for t in tags]),
                strings([t[1] for t in tags]),
                len(tags),
            )
        )

    def log_input(self, run_id, name, digest, source_type, source, schema=None, profile=None, context=None) -> None:
        check(
            lib().rs_log_input(
                self._h(),
                enc(run_id),
                enc(name),
                enc(digest),
                enc(source_type),
                enc(source),
                enc(schema),
                enc(profile),
                enc(context),
            )
        )

    # -- forwarding to an MLflow server -----------------------------------------

    def configure_forwarding(self, uri, experiment=None, token=None, username=None, password=None) -> None:
        """Forwards this store's writes to the MLflow server at ``uri`` from now on
        (saved in the store's ``runstore.toml``; starts this process's sender)."""
        check(
            lib().rs_forward_configure(
                self._h(), enc(uri), enc(experiment), enc(token), enc(username), enc(password)
            )
        )

    def disable_forwarding(self) -> None:
        """Stops recording writes for forwarding (what is recorded stays queued)."""
        check(lib().rs_forward_disable(self._h()))

    def forward_status(self) -> dict:
        """Forwarding's state: pending entries (per run, lag), parked ones with the
        server's reasons, the last error and the last success."""
        return take_json(lib().rs_forward_status_json, self._h())

    def forward_flush(self, timeout=None) -> int:
        """Waits until every recorded write is delivered (at most ``timeout`` seconds);
        returns how many are parked. Raises :class:`RunstoreError` on timeout."""
        ms = -1 if timeout is None else max(0, int(timeout * 1000))
        parked = c_uint64()
        check(lib().rs_forward_flush(self._h(), ms, byref(parked)))
        return parked.value

    def forward_retry_parked(self) -> int:
        """Queues every parked entry again; returns how many."""
        count = c_uint64()
        check(lib().rs_forward_retry_parked(self._h(), byref(count)))
        return count.value

    # -- reading --------------------------------------------------------------

    def search_page(self, **query) -> dict:
        """One page of runs: ``{"runs": [...], "next_page_token": ...}`` (the contract's JSON).

        ``query`` takes :func:`search_request`'s keywords."""
        return take_json(lib().rs_search_json, self._h(), enc(search_request(**query)))

    def search_arrow(self, **query):
        """One page as a ``pyarrow.Table`` through the Arrow C stream (needs pyarrow);
        ``query`` as in :meth:`search_page`."""
        import pyarrow as pa

        request = search_request(**query)
        stream = ArrowArrayStream()
        check(lib().rs_search_arrow(self._h(), enc(request), ctypes.addressof(stream)))
        return pa.RecordBatchReader._import_from_c(ctypes.addressof(stream)).read_all()

    def history(self, run_id, key) -> list:
        """Every point of metric ``key`` of run ``run_id``: ``[step, value, timestamp]`` lists."""
        return take_json(lib().rs_history_json, self._h(), enc(run_id), enc(key))["history"]

    def history_arrow(self, run_id, key):
        """A metric's history as a ``pyarrow.Table`` (step, value, timestamp) via the C stream."""
        import pyarrow as pa

        stream = ArrowArrayStream()
        check(lib().rs_history_arrow(self._h(), enc(run_id), enc(key), ctypes.addressof(stream)))
        return pa.RecordBatchReader._import_from_c(ctypes.addressof(stream)).read_all()


_stores: dict = {}
_stores_lock = threading.Lock()


def open_store(path=None) -> Store:
    """The process's :class:`Store` for ``path`` (default: ``RUNSTORE_DB`` or ``./runstore-data``)."""
    path = os.path.abspath(os.fspath(path or os.environ.get("RUNSTORE_DB") or DEFAULT_STORE))
    with _stores_lock:
        store = _stores.get(path)
        if store is None or store._handle is None:
            store = Store(path)
            _stores[path] = store
        return store
