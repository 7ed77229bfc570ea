"""runstore for Python: MLflow's fluent API on an embedded runstore store.

    import runstore
    runstore.set_store("./store")          # or RUNSTORE_DB; default ./runstore-data
    runstore.set_experiment("mnist")
    with runstore.start_run(run_name="baseline") as run:
        runstore.log_param("lr", 0.01)
        for step in range(100):
            runstore.log_metric("loss", 1 / (step + 1), step=step)
    runstore.search_runs(experiment_names=["mnist"], filter_string="metrics.loss < 0.1")

The bindings are ctypes over runstore's C API (no second engine). With MLflow
installed, ``mlflow.set_tracking_uri("runstore:./store")`` runs MLflow itself on
runstore through the tracking-store plugin in :mod:`runstore.mlflow_plugin`.
"""

from __future__ import annotations

from . import fluent as _fluent
from ._lib import RunstoreError, version
from .client import RunstoreClient
from .entities import Experiment, Metric, Run, RunData, RunInfo
from .forward import (
    configure_forwarding,
    disable_forwarding,
    forward_flush,
    forward_retry_parked,
    forward_status,
)
from .fluent import (
    ActiveRun,
    active_run,
    delete_tag,
    end_run,
    flush,
    get_metric_history,
    get_run,
    get_store_path,
    is_writer,
    last_active_run,
    log_input,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    set_experiment,
    set_store,
    set_system_metrics_sampling_interval,
    set_tag,
    set_tags,
    start_run,
    track,
)
from .search import SEARCH_MAX_RESULTS_DEFAULT
from .search import search_runs as _search_runs
from .store import Store, open_store

__version__ = "0.1.0"


def search_runs(
    experiment_ids=None,
    filter_string: str = "",
    run_view_type=1,
    max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
    order_by=None,
    output_format: str = "pandas",
    search_all_experiments: bool = False,
    experiment_names=None,
):
    """MLflow's ``search_runs``: a pandas DataFrame (or list of run dicts without pandas),
    ``output_format="list"`` for :class:`Run` objects, ``"arrow"`` for a ``pyarrow.Table``.
    Without experiments it searches the active experiment."""
    default = None
    if not experiment_ids and not experiment_names and not search_all_experiments:
        default = _fluent._current_experiment_id()
    return _search_runs(
        _fluent.client().store,
        experiment_ids=experiment_ids,
        filter_string=filter_string,
        run_view_type=run_view_type,
        max_results=max_results,
        order_by=order_by,
        output_format=output_format,
        search_all_experiments=search_all_experiments,
        experiment_names=experiment_names,
        default_experiment_id=default,
    )


__all__ = [
    "ActiveRun",
    "Experiment",
    "Metric",
    "Run",
    "RunData",
    "RunInfo",
    "RunstoreClient",
    "RunstoreError",
    "Store",
    "active_run",
    "configure_forwarding",
    "delete_tag",
    "disable_forwarding",
    "end_run",
    "flush",
    "forward_flush",
    "forward_retry_parked",
    "forward_status",
    "get_metric_history",
    "get_run",
    "get_store_path",
    "is_writer",
    "last_active_run",
    "log_input",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "open_store",
    "search_runs",
    "set_experiment",
    "set_store",
    "set_system_metrics_sampling_interval",
    "set_tag",
    "set_tags",
    "start_run",
    "track",
    "version",
]
