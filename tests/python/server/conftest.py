"""Fixtures of the REST server tests: a `runstore serve` process on 127.0.0.1 with a
free port, started for the test and stopped by it, and MLflow's client pointed at it.

The binary is $RUNSTORE_BIN (the Rust test that runs this suite sets it)."""

import os
import pathlib
import re
import signal
import subprocess
import time
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
CONFORMANCE = ROOT / "tests" / "data"


def runstore_bin() -> str:
    path = os.environ.get("RUNSTORE_BIN")
    assert path, "RUNSTORE_BIN must name the runstore binary"
    return path


class Server:
    """A running `runstore serve`."""

    def __init__(self, store, artifacts, extra=(), env=None):
        self.store = store
        self.artifacts = artifacts
        args = [runstore_bin(), "--db", str(store), "serve", "--port", "0",
                "--artifacts-root", str(artifacts), *extra]
        self.log = open(store.parent / f"serve-{store.name}.log", "w+")
        self.proc = subprocess.Popen(args, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     text=True, env={**os.environ, **(env or {})},
                                     start_new_session=True)
        self.url = None
        deadline = time.time() + 60
        while time.time() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            self.log.write(line)
            m = re.search(r"listening on (http://\S+)", line)
            if m:
                self.url = m.group(1)
                break
        if self.url is None:
            self.proc.kill()
            raise RuntimeError(f"runstore serve did not start (exit {self.proc.poll()})")
        # Keep draining stderr (the request log) so the server never blocks on it.
        import threading
        self._drain = threading.Thread(target=self._pump, daemon=True)
        self._drain.start()
        with urllib.request.urlopen(self.url + "/health", timeout=10) as r:
            assert r.read() == b"OK"

    def _pump(self):
        for line in self.proc.stderr:
            self.log.write(line)
            self.log.flush()

    def stop(self) -> int:
        """SIGTERM, as a service manager stops it; returns its exit status."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        return self.proc.returncode

    def log_text(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()


@pytest.fixture
def server(tmp_path):
    srv = Server(tmp_path / "store", tmp_path / "artifacts")
    yield srv
    status = srv.stop()
    assert status == 0, f"runstore serve exited with {status}:\n{srv.log_text()[-4000:]}"


@pytest.fixture
def tracking(server, monkeypatch):
    """MLflow's client (fluent API and MlflowClient) pointed at the server."""
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    mlflow.set_tracking_uri(server.url)
    mlflow.set_registry_uri(server.url)
    yield server
    while mlflow.active_run() is not None:
        mlflow.end_run()
