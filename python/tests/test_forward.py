"""Forwarding through the package (ctypes over the C API): configured, writes wait in
the outbox while the server is unreachable, a flush times out with MLflow's code,
status and retry work, and turning it off stops recording. (Delivery to a real MLflow
server is tested from Rust: tests/forward.rs.)"""

import socket
import time

import pytest

import runstore


def unreachable_uri() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_writes_wait_in_the_outbox_while_the_server_is_down(store_dir, monkeypatch):
    monkeypatch.delenv("RUNSTORE_FORWARD_MLFLOW_URI", raising=False)
    uri = unreachable_uri()
    runstore.configure_forwarding(uri, experiment="pipeline")
    assert (store_dir / "runstore.toml").read_text().count(uri) == 1
    runstore.set_experiment("fwd")
    with runstore.start_run(run_name="r") as run:
        runstore.log_param("lr", 0.1)
        for step in range(20):
            runstore.log_metric("loss", 1 / (step + 1), step=step)
    status = runstore.forward_status()
    assert status["recording"] is True
    assert status["configured"] == {"mlflow_uri": uri, "experiment": "pipeline"}
    pending = status["pending"]
    assert pending["entries"] >= 20
    assert run.info.run_id in [r["run_id"] for r in pending["runs"]]
    started = time.monotonic()
    with pytest.raises(runstore.RunstoreError) as failure:
        runstore.forward_flush(timeout=0.5)
    assert time.monotonic() - started < 20
    assert failure.value.error_code == "TEMPORARILY_UNAVAILABLE"
    assert "timed out" in failure.value.message
    # The sender tried, and says why it could not deliver.
    deadline = time.monotonic() + 20
    while runstore.forward_status()["last_error"] is None and time.monotonic() < deadline:
        time.sleep(0.1)
    message = runstore.forward_status()["last_error"]["message"]
    assert "experiments/get-by-name" in message, message
    assert runstore.forward_retry_parked() == 0
    runstore.disable_forwarding()
    before = runstore.forward_status()["pending"]["entries"]
    with runstore.start_run(run_name="after"):
        runstore.log_metric("loss", 1.0)
    after = runstore.forward_status()
    assert after["recording"] is False
    assert after["pending"]["entries"] == before
    assert not (store_dir / "runstore.toml").exists() or "forward" not in (store_dir / "runstore.toml").read_text()


def test_a_bad_uri_is_refused(store_dir):
    with pytest.raises(runstore.RunstoreError) as failure:
        runstore.configure_forwarding("mlflow.internal:5000")
    assert failure.value.status == "RS_BAD_INPUT"
    assert "http://" in failure.value.message
