"""``search_runs``: every page of a search, as a DataFrame, a list or an Arrow table."""

from __future__ import annotations

from ._lib import RunstoreError
from .entities import Run
from .store import MAX_PAGE

#: MLflow's default cap on search_runs results.
SEARCH_MAX_RESULTS_DEFAULT = 100_000
# Columns the Arrow stream has that mlflow.search_runs's DataFrame lacks.
_EXTRA_COLUMNS = ("run_name", "lifecycle_stage", "user_id")


def _pages(fetch, max_results):
    """Calls ``fetch(page_size, token)`` until ``max_results`` rows or the last page."""
    token, got = None, 0
    while True:
        size = min(MAX_PAGE, max_results - got)
        if size <= 0:
            return
        page, token = fetch(size, token)
        got += len(page)
        yield page
        if not token:
            return


def search_runs(
    store,
    experiment_ids=None,
    filter_string: str = "",
    run_view_type=1,
    max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
    order_by=None,
    output_format: str = "pandas",
    search_all_experiments: bool = False,
    experiment_names=None,
    default_experiment_id=None,
):
    """MLflow's ``search_runs`` over ``store``.

    With neither ids nor names the search covers ``default_experiment_id``
    (the active experiment) unless ``search_all_experiments`` is set.
    ``output_format``: ``"pandas"`` (a DataFrame shaped like MLflow's; a list of
    run dicts when pandas is not installed), ``"list"`` (a list of
    :class:`~runstore.entities.Run`) or ``"arrow"`` (a ``pyarrow.Table``).
    """
    if isinstance(experiment_ids, (str, int)):
        experiment_ids = [experiment_ids]
    if not experiment_ids and not experiment_names and not search_all_experiments and default_experiment_id is not None:
        experiment_ids = [default_experiment_id]
    if max_results is None or int(max_results) < 1:
        raise RunstoreError(f"Invalid value {max_results} for parameter 'max_results'", "INVALID_PARAMETER_VALUE")
    common = dict(
        filter_string=filter_string,
        order_by=order_by,
        experiment_ids=experiment_ids,
        experiment_names=experiment_names,
        view=run_view_type,
    )
    if output_format == "arrow":
        return _arrow(store, common, int(max_results))
    if output_format == "pandas":
        try:
            import pandas  # noqa: F401
        except ImportError:
            return [r.to_dictionary() for r in _runs(store, common, int(max_results))]
        return _pandas(store, common, int(max_results))
    if output_format == "list":
        return _runs(store, common, int(max_results))
    raise ValueError(f"Unsupported output format: {output_format}. Supported string values are 'pandas', 'list' or 'arrow'")


def _runs(store, common, max_results) -> list:
    def fetch(size, token):
        page = store.search_page(max_results=size, page_token=token, **common)
        return [Run.from_json(r) for r in page["runs"]], page.get("next_page_token")

    return [run for page in _pages(fetch, max_results) for run in page]


def _arrow(store, common, max_results):
    import pyarrow as pa

    def fetch(size, token):
        table = store.search_arrow(max_results=size, page_token=token, **common)
        meta = table.schema.metadata or {}
        token = meta.get(b"next_page_token")
        return table, token.decode() if token else None

    tables = list(_pages(fetch, max_results))
    if len(tables) == 1:
        return tables[0]
    return pa.concat_tables(tables, promote_options="permissive")


def _pandas(store, common, max_results):
    """A DataFrame with MLflow's columns: info, then metrics.*, params.*, tags.*."""
    import pandas as pd

    table = _arrow(store, common, max_results)
    frame = table.drop_columns([c for c in _EXTRA_COLUMNS if c in table.column_names]).to_pandas()
    # The dtype MLflow's DataFrame gets from pd.to_datetime(ms, unit="ms", utc=True)
    # (datetime64[ns] on pandas 2, [us] on pandas 3).
    dtype = pd.Series([pd.to_datetime(0, unit="ms", utc=True)]).dtype
    for column in ("start_time", "end_time"):
        frame[column] = pd.to_datetime(frame[column], utc=True).astype(dtype)
    metrics = sorted(c for c in frame.columns if c.startswith("metrics."))
    params = sorted(c for c in frame.columns if c.startswith("params."))
    tags = sorted(c for c in frame.columns if c.startswith("tags."))
    info = ["run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time"]
    frame = frame[info + metrics + params + tags]
    return frame
