"""MLflow's fluent API on a runstore store: a stack of active runs per thread/task.

Every call goes through one :class:`~runstore.client.RunstoreClient` on the store
named by :func:`set_store` (or ``RUNSTORE_DB``, else ``./runstore-data``). Only
the process whose ``RANK`` is 0 or unset writes: on other ranks every call here
is a no-op and :func:`active_run` is None (distributed training logs once).
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import os
import sys
import threading

from ._lib import RunstoreError
from .client import RunstoreClient, _points
from .entities import Run
from .store import open_store

DEFAULT_EXPERIMENT_NAME = "Default"
RUN_MODES = ("auto", "new", "nested")

_lock = threading.Lock()
_store_path: str | None = None
_client: RunstoreClient | None = None
_experiment_id: str | None = None
# The active runs of this thread or asyncio task, innermost last (a tuple: contextvars
# values must not be mutated in place).
_stack: contextvars.ContextVar = contextvars.ContextVar("runstore_active_runs", default=())
_last_run_id: str | None = None


def is_writer() -> bool:
    """True unless ``RANK`` names a process other than rank 0."""
    rank = os.environ.get("RANK", "").strip()
    return rank in ("", "0")


def set_store(path) -> None:
    """Makes the fluent API write to the store in directory ``path``."""
    global _store_path, _client, _experiment_id
    with _lock:
        _store_path = os.fspath(path)
        _client = None
        _experiment_id = None


def get_store_path() -> str:
    """The directory the fluent API writes to."""
    return os.path.abspath(_store_path or os.environ.get("RUNSTORE_DB") or "./runstore-data")


def client() -> RunstoreClient:
    """The :class:`RunstoreClient` behind the fluent API."""
    global _client
    with _lock:
        if _client is None:
            _client = RunstoreClient(open_store(get_store_path()))
        return _client


def set_experiment(experiment_name: str | None = None, experiment_id=None):
    """Makes an experiment active (created when ``experiment_name`` names none); returns it.

    Off rank 0 it writes nothing and returns None."""
    global _experiment_id
    if not is_writer():
        return None
    if (experiment_name is None) == (experiment_id is None):
        raise RunstoreError("set_experiment takes exactly one of experiment_name and experiment_id", "INVALID_PARAMETER_VALUE")
    c = client()
    if experiment_id is not None:
        experiment = c.get_experiment(experiment_id)
    else:
        experiment = c.get_experiment_by_name(experiment_name)
        if experiment is None:
            try:
                c.create_experiment(experiment_name)
            except RunstoreError as err:  # another process created it first
                if err.error_code != "RESOURCE_ALREADY_EXISTS":
                    raise
            experiment = c.get_experiment_by_name(experiment_name)
    if experiment.lifecycle_stage != "active":
        raise RunstoreError(
            f"Cannot set a deleted experiment {experiment.name!r} as the active experiment. "
            "You can restore the experiment, or permanently delete the experiment to create a new one.",
            "INVALID_PARAMETER_VALUE",
        )
    _experiment_id = experiment.experiment_id
    return experiment


def _current_experiment_id() -> str:
    if _experiment_id is not None:
        return _experiment_id
    # An id is only meaningful in one store: honour RUNSTORE_EXPERIMENT_ID, and
    # MLflow's experiment *name* variable, not MLFLOW_EXPERIMENT_ID (which
    # mlflow.set_experiment sets for whatever store MLflow points at).
    env_id = os.environ.get("RUNSTORE_EXPERIMENT_ID")
    if env_id:
        return env_id
    env_name = os.environ.get("RUNSTORE_EXPERIMENT_NAME") or os.environ.get("MLFLOW_EXPERIMENT_NAME")
    return set_experiment(env_name or DEFAULT_EXPERIMENT_NAME).experiment_id


class ActiveRun(Run):
    """The run :func:`start_run` started: a :class:`Run` and a context manager.

    Leaving the ``with`` block ends the run FINISHED, FAILED when an exception
    escaped it, KILLED for a KeyboardInterrupt — unless the run was reused
    (``run_mode="auto"`` inside another run), which only its owner ends.
    """

    def __init__(self, run: Run, owned: bool = True):
        super().__init__(run.info, run.data, run.inputs)
        self._owned = owned

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if not self._owned:
            return False
        if exc_type is None:
            status = "FINISHED"
        elif issubclass(exc_type, KeyboardInterrupt):
            status = "KILLED"
        else:
            status = "FAILED"
        _end(self.info.run_id, status)
        return False


class _NoRun:
    """What start_run gives on a rank other than 0: a context manager yielding None."""

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


_monitors: dict = {}


def start_run(
    run_id: str | None = None,
    experiment_id=None,
    run_name: str | None = None,
    nested: bool = False,
    parent_run_id: str | None = None,
    tags: dict | None = None,
    description: str | None = None,
    log_system_metrics: bool | None = None,
    run_mode: str | None = None,
    system_metrics_interval: float | None = None,
):
    """Starts (or resumes, with ``run_id``) a run and makes it active; MLflow's ``start_run``.

    Without ``run_mode`` MLflow's rule holds: a second active run needs
    ``nested=True``. Flyte's modes: ``"auto"`` reuses the active run if there
    is one (else starts one), ``"new"`` starts an independent run even inside
    another, ``"nested"`` starts a child of the active run.
    """
    if not is_writer():
        return _NoRun()
    if run_mode is not None and run_mode not in RUN_MODES:
        raise RunstoreError(f"invalid run_mode {run_mode!r}: expected one of auto, new, nested", "INVALID_PARAMETER_VALUE")
    stack = _stack.get()
    parent = stack[-1] if stack else None
    if run_mode == "auto" and parent is not None and run_id is None:
        reused = ActiveRun(client().get_run(parent.info.run_id), owned=False)
        return reused
    if run_mode is None and parent is not None and not nested and run_id is None:
        raise RunstoreError(
            f"Run with UUID {parent.info.run_id} is already active. To start a new run, first end the "
            "current run with runstore.end_run(). To start a nested run, call start_run with nested=True",
            "INVALID_PARAMETER_VALUE",
        )
    want_parent = parent_run_id
    if want_parent is None and parent is not None and (nested or run_mode == "nested"):
        want_parent = parent.info.run_id
    c = client()
    if run_id is not None:
        c.store.update_run(run_id, status="RUNNING", run_name=run_name)
        for key, value in (tags or {}).items():
            c.set_tag(run_id, key, value)
        run = c.get_run(run_id)
    else:
        all_tags = _default_tags()
        all_tags.update({str(k): str(v) for k, v in (tags or {}).items()})
        if description:
            all_tags["mlflow.note.content"] = description
        exp = str(experiment_id) if experiment_id is not None else _current_experiment_id()
        run = c.create_run(exp, tags=all_tags, run_name=run_name, parent_run_id=want_parent)
    active = ActiveRun(run)
    _stack.set(stack + (active,))
    if _want_system_metrics(log_system_metrics):
        _start_monitor(active.info.run_id, system_metrics_interval)
    return active


def _want_system_metrics(flag) -> bool:
    if flag is not None:
        return bool(flag)
    return os.environ.get("MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING", "").lower() in ("1", "true")


def _start_monitor(run_id: str, interval) -> None:
    from .system_metrics import SystemMetricsMonitor

    try:
        monitor = SystemMetricsMonitor(client(), run_id, interval)
    except ImportError:
        import logging

        logging.getLogger("runstore").warning("runstore: log_system_metrics needs psutil (pip install psutil)")
        return
    monitor.start()
    _monitors[run_id] = monitor


def _default_tags() -> dict:
    from .client import _user

    source = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "<console>"
    return {"mlflow.user": _user(), "mlflow.source.name": source, "mlflow.source.type": "LOCAL"}


def _end(run_id: str, status: str) -> None:
    global _last_run_id
    monitor = _monitors.pop(run_id, None)
    if monitor is not None:
        monitor.stop()
    c = client()
    c.flush()
    c.set_terminated(run_id, status)
    _last_run_id = run_id
    stack = _stack.get()
    _stack.set(tuple(r for r in stack if r.info.run_id != run_id))


def end_run(status: str = "FINISHED") -> None:
    """Ends the innermost active run with ``status`` (FINISHED, FAILED or KILLED)."""
    stack = _stack.get()
    if not is_writer() or not stack:
        return
    _end(stack[-1].info.run_id, status)


def active_run() -> Run | None:
    """The innermost active run of this thread/task, or None (always None off rank 0)."""
    if not is_writer():
        return None
    stack = _stack.get()
    return stack[-1] if stack else None


def last_active_run() -> Run | None:
    """The active run, else the run that ended last in this process."""
    run = active_run()
    if run is not None or _last_run_id is None:
        return run
    return client().get_run(_last_run_id)


def _run_id(run_id=None) -> str:
    if run_id is not None:
        return run_id
    stack = _stack.get()
    return (stack[-1] if stack else start_run()).info.run_id


def _writer(fn):
    """Makes a logging function a no-op off rank 0."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if not is_writer():
            return None
        return fn(*args, **kwargs)

    return wrapper


@_writer
def log_param(key: str, value, synchronous: bool | None = None, run_id: str | None = None):
    """Logs a param of the active run (started if none is); returns ``value``."""
    client().log_param(_run_id(run_id), key, value, synchronous is not False)
    return value


@_writer
def log_params(params: dict, synchronous: bool | None = None, run_id: str | None = None) -> None:
    run = _run_id(run_id)
    if synchronous is False:
        for key, value in params.items():
            client().log_param(run, key, value, synchronous=False)
        return
    client().log_batch(run, params=params)


@_writer
def log_metric(key: str, value: float, step: int | None = None, synchronous: bool | None = None, timestamp: int | None = None, run_id: str | None = None) -> None:
    """Logs one point; ``synchronous=False`` returns at once (durable after :func:`flush`)."""
    client().log_metric(_run_id(run_id), key, value, timestamp, step or 0, synchronous is not False)


@_writer
def log_metrics(metrics: dict, step: int | None = None, synchronous: bool | None = None, run_id: str | None = None, timestamp: int | None = None) -> None:
    run = _run_id(run_id)
    points = _points(metrics, timestamp, step)
    if synchronous is False:
        for key, value, ts, at in points:
            client().log_metric(run, key, value, ts, at, synchronous=False)
        return
    client().log_batch(run, metrics=points)


@_writer
def set_tag(key: str, value, synchronous: bool | None = None) -> None:
    client().set_tag(_run_id(), key, value, synchronous is not False)


@_writer
def set_tags(tags: dict, synchronous: bool | None = None) -> None:
    run = _run_id()
    if synchronous is False:
        for key, value in tags.items():
            client().set_tag(run, key, value, synchronous=False)
        return
    client().log_batch(run, tags=tags)


@_writer
def delete_tag(key: str) -> None:
    client().delete_tag(_run_id(), key)


@_writer
def log_input(dataset, context: str | None = None, tags: dict | None = None) -> None:
    """Records a dataset the run used: an ``mlflow.data`` dataset or a dict of its fields."""
    from .client import dataset_fields

    fields = dataset_fields(dataset)
    if context is not None:
        fields["context"] = context
    client().store.log_input(_run_id(), **fields)


def flush() -> None:
    """Waits until every ``synchronous=False`` write is durable."""
    if is_writer():
        client().flush()


def get_run(run_id: str) -> Run:
    return client().get_run(run_id)


def get_metric_history(run_id: str, key: str) -> list:
    return client().get_metric_history(run_id, key)


def set_system_metrics_sampling_interval(seconds: float | None) -> None:
    """Seconds between system-metric samples of runs started afterwards."""
    from .system_metrics import set_sampling_interval

    set_sampling_interval(seconds)


def track(run_mode: str = "auto", experiment_name: str | None = None, run_name: str | None = None, **start_kwargs):
    """Decorates a function (sync or async) to run inside :func:`start_run`.

    ``run_mode`` as in :func:`start_run`; ``experiment_name`` is set first;
    the run is named after the function unless ``run_name`` says otherwise.
    The run ends FAILED if the function raises, KILLED on KeyboardInterrupt.
    """
    if run_mode not in RUN_MODES:
        raise RunstoreError(f"invalid run_mode {run_mode!r}: expected one of auto, new, nested", "INVALID_PARAMETER_VALUE")

    def decorate(fn):
        name = run_name or fn.__name__

        def enter():
            if experiment_name is not None and is_writer():
                set_experiment(experiment_name)
            return start_run(run_name=name, run_mode=run_mode, **start_kwargs)

        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args, **kwargs):
                with enter():
                    return await fn(*args, **kwargs)

            return async_wrapper

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with enter():
                return fn(*args, **kwargs)

        return wrapper

    return decorate
