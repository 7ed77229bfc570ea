"""`MlflowClient.search_runs` through `runstore serve` over the MLflow-answered search
corpora: every case's answer (runs and their order, or MLflow's refusal) identical to
the corpus."""

import json
import subprocess

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException

from conftest import CONFORMANCE, Server, runstore_bin

VIEWS = {"active": ViewType.ACTIVE_ONLY, "deleted": ViewType.DELETED_ONLY, "all": ViewType.ALL}


@pytest.mark.parametrize("corpus", ["conformance", "conformance-gen-101", "conformance-gen-202"])
def test_every_case_answers_as_mlflow(tmp_path, monkeypatch, corpus):
    directory = CONFORMANCE / corpus
    store = tmp_path / "store"
    subprocess.run([runstore_bin(), "--db", str(store), "ingest", str(directory / "dataset.jsonl")],
                   check=True, capture_output=True)
    server = Server(store, tmp_path / "artifacts")
    try:
        monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "1")
        mlflow.set_tracking_uri(server.url)
        client = MlflowClient(tracking_uri=server.url)
        cases = json.loads((directory / "cases.json").read_text())
        every = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL)]
        failures = []
        for case in cases:
            if case["experiments"] is None:
                ids = every
            else:
                ids = []
                for name in case["experiments"]:
                    try:
                        ids.append(client.get_experiment_by_name(name).experiment_id)
                    except AttributeError:
                        pass
            try:
                got = _search_pages(client, case, ids)
            except MlflowException as err:
                if case["expect"]["ok"]:
                    failures.append(f"{case['id']}: raised {err}")
                elif err.error_code != "INVALID_PARAMETER_VALUE":
                    failures.append(f"{case['id']}: raised {err.error_code}")
                continue
            if not case["expect"]["ok"]:
                failures.append(f"{case['id']}: MLflow rejects {case['filter']!r}")
            elif got != case["expect"]["run_ids"]:
                failures.append(f"{case['id']}: {case['filter']!r} {case['order_by']} "
                                f"want {case['expect']['run_ids'][:5]}… got {got[:5]}…")
        assert len(cases) > 100
        assert not failures, "\n".join(failures[:40])
    finally:
        assert server.stop() == 0


def _search_pages(client, case, experiment_ids):
    """What MLflow's client answers for the case (the same calls as the plugin's test):
    mlflow.search_runs for one page, MlflowClient's page tokens for paged cases."""
    view = VIEWS[case["view"]]
    if not case.get("paged") and 0 < case["max_results"] <= 50_000:
        runs = mlflow.search_runs(experiment_ids=experiment_ids, filter_string=case["filter"],
                                  run_view_type=view, max_results=case["max_results"],
                                  order_by=case["order_by"], output_format="list")
        return [r.info.run_id for r in runs]
    got, token = [], None
    while True:
        page = client.search_runs(experiment_ids, case["filter"], view, case["max_results"], case["order_by"], token)
        got.extend(r.info.run_id for r in page)
        token = page.token
        if not token:
            return got
