"""MLflow's web UI, served by `runstore serve --ui-dir` from the installed `mlflow`
package, opened in headless Chromium (Debian's `chromium`): the experiment page lists
a logged run by name, and the run's metrics page draws a chart of its metric."""

import os
import pathlib
import shutil
import subprocess

import mlflow
import pytest
from mlflow import MlflowClient

from conftest import Server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"


def _ui_dir() -> pathlib.Path:
    return pathlib.Path(mlflow.__file__).parent / "server" / "js" / "build"


def _render(url: str, profile: pathlib.Path, budget_ms: int = 20000) -> str:
    """The page's DOM after its scripts ran (and fetched what they fetch)."""
    assert os.path.exists(CHROMIUM), "Debian's chromium is needed (apt-get install chromium)"
    out = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}",
         "--window-size=1400,1000", "--dump-dom", url],
        capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_the_mlflow_ui_shows_a_run_and_its_metric_chart(tmp_path, monkeypatch):
    server = Server(tmp_path / "store", tmp_path / "artifacts", extra=["--ui-dir", str(_ui_dir())])
    try:
        monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "1")
        client = MlflowClient(tracking_uri=server.url)
        exp = client.create_experiment("ui-check")
        run = client.create_run(exp, run_name="visible-run-42")
        for step in range(20):
            client.log_metric(run.info.run_id, "val_loss", 1.0 / (step + 1), step=step)
        client.log_param(run.info.run_id, "optimizer", "adam")
        client.set_terminated(run.info.run_id)

        # The experiment's runs table lists the run by name.
        page = _render(f"{server.url}/#/experiments/{exp}/runs", tmp_path / "chrome1")
        assert "visible-run-42" in page, page[-3000:]

        charts = _render(f"{server.url}/#/experiments/{exp}/runs/{run.info.run_id}/model-metrics",
                         tmp_path / "chrome2")
        # The run page (read through /graphql) draws the metric: a plotly chart titled
        # val_loss, with its x axis in steps and a legend entry naming the run.
        assert "val_loss" in charts, charts[-3000:]
        assert "js-plotly-plot" in charts or 'class="plotly"' in charts, charts[-3000:]
        assert "visible-run-42 (val_loss)" in charts, charts[-3000:]
        log = server.log_text()
        assert "/ajax-api/2.0/mlflow/" in log
        # Everything the UI asked for the run's pages was answered (no 5xx).
        assert " 500 " not in log, log[-3000:]
    finally:
        assert server.stop() == 0
