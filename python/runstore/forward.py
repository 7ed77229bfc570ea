"""Dual-write: forwarding every write of a store to the team's MLflow server.

    import runstore
    runstore.set_store("./store")
    runstore.configure_forwarding("http://mlflow.internal:5000")   # saved in ./store/runstore.toml
    with runstore.start_run():
        runstore.log_metric("loss", 0.5, step=1)                   # local, durable; forwarded too
    runstore.forward_flush(timeout=60)                             # wait until the server has it all
    runstore.forward_status()["pending"]["entries"]                # 0

Or set ``RUNSTORE_FORWARD_MLFLOW_URI`` (and ``RUNSTORE_FORWARD_EXPERIMENT``,
``MLFLOW_TRACKING_TOKEN`` or ``MLFLOW_TRACKING_USERNAME``/``PASSWORD``) before
the store is opened. Every write is recorded in the store's outbox in the same
transaction and delivered by a background sender; when the server is down,
writes keep succeeding locally and are delivered once it is back. Each function
takes ``store``: a directory or an open :class:`~runstore.store.Store` (default:
the fluent API's store).
"""

from __future__ import annotations

from .store import Store, open_store


def _store(store) -> Store:
    if isinstance(store, Store):
        return store
    if store is None:
        from .fluent import get_store_path

        return open_store(get_store_path())
    return open_store(store)


def configure_forwarding(uri, experiment=None, token=None, username=None, password=None, store=None) -> None:
    """Forwards the store's writes to the MLflow tracking server at ``uri`` from now on;
    ``experiment`` sends every run to that one experiment (default: the experiment
    named like the run's own)."""
    _store(store).configure_forwarding(uri, experiment, token, username, password)


def disable_forwarding(store=None) -> None:
    """Stops recording writes for forwarding; what is recorded stays queued."""
    _store(store).disable_forwarding()


def forward_status(store=None) -> dict:
    """Pending entries (per run, and the lag), parked entries with the server's
    reasons, the last error and the last success, as a dict."""
    return _store(store).forward_status()


def forward_flush(timeout=None, store=None) -> int:
    """Waits until every recorded write is delivered (at most ``timeout`` seconds);
    returns how many entries the server refused for good (parked). Raises
    :class:`~runstore.RunstoreError` (``TEMPORARILY_UNAVAILABLE``) on timeout."""
    return _store(store).forward_flush(timeout)


def forward_retry_parked(store=None) -> int:
    """Queues every parked entry again (after fixing its cause); returns how many."""
    return _store(store).forward_retry_parked()


__all__ = [
    "configure_forwarding",
    "disable_forwarding",
    "forward_flush",
    "forward_retry_parked",
    "forward_status",
]
