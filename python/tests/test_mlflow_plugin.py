"""MLflow's own fluent API and MlflowClient, in-process on runstore through the plugin."""

import importlib.metadata
import json

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException

import runstore
from conftest import CONFORMANCE


@pytest.fixture
def tracking(tmp_path, monkeypatch):
    """MLflow pointed at a fresh runstore store through the `runstore:` scheme."""
    for var in ("MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"):
        monkeypatch.delenv(var, raising=False)
    mlflow.tracking.fluent._active_experiment_id = None
    path = tmp_path / "mlflow-store"
    mlflow.set_tracking_uri(f"runstore:{path}")
    yield path
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri(None)


def test_the_scheme_is_registered_by_the_entry_point():
    points = importlib.metadata.entry_points(group="mlflow.tracking_store")
    assert [p.value for p in points if p.name == "runstore"] == ["runstore.mlflow_plugin:RunstoreTrackingStore"]


def test_mlflow_fluent_api_end_to_end(tracking):
    assert type(MlflowClient()._tracking_client.store).__name__ == "RunstoreTrackingStore"
    mlflow.set_experiment("plugin")
    with mlflow.start_run(run_name="parent") as parent:
        mlflow.log_param("lr", 0.1)
        mlflow.log_params({"layers": 3, "act": "relu"})
        for step in range(20):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_metrics({"acc": 0.9, "f1": 0.7}, step=19)
        mlflow.set_tag("team", "a")
        mlflow.set_tags({"stage": "dev"})
        dataset = mlflow.data.from_pandas(pd.DataFrame({"x": [1, 2, 3]}), name="train-df")
        mlflow.log_input(dataset, context="training")
        with mlflow.start_run(run_name="child", nested=True) as child:
            mlflow.log_metric("m", 2.0)
    frame = mlflow.search_runs(experiment_names=["plugin"], order_by=["attributes.run_name ASC"])
    assert list(frame["run_id"]) == [child.info.run_id, parent.info.run_id]
    assert frame.loc[1, "metrics.loss"] == 0.05 and frame.loc[1, "params.layers"] == "3"
    assert frame.loc[0, "tags.mlflow.parentRunId"] == parent.info.run_id
    # runstore's own search_runs gives the same DataFrame columns as MLflow's.
    runstore.set_store(tracking)
    ours = runstore.search_runs(experiment_names=["plugin"], order_by=["attributes.run_name ASC"])
    assert sorted(ours.columns) == sorted(frame.columns)
    assert list(ours["run_id"]) == list(frame["run_id"])
    for column in frame.columns:
        assert str(ours[column].dtype) == str(frame[column].dtype), column

    client = MlflowClient()
    run = client.get_run(parent.info.run_id)
    assert run.info.status == "FINISHED" and run.info.run_name == "parent"
    assert run.data.params == {"lr": "0.1", "layers": "3", "act": "relu"}
    assert run.data.tags["team"] == "a" and run.data.tags["stage"] == "dev"
    inputs = run.inputs.dataset_inputs
    assert [(i.dataset.name, i.dataset.digest, i.dataset.source_type) for i in inputs] == [
        ("train-df", dataset.digest, dataset.source._get_source_type())
    ]
    assert [t.value for t in inputs[0].tags if t.key == "mlflow.data.context"] == ["training"]
    history = client.get_metric_history(parent.info.run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(s, 1.0 / (s + 1)) for s in range(20)]

    client.delete_run(child.info.run_id)
    assert len(mlflow.search_runs(experiment_names=["plugin"])) == 1
    assert len(mlflow.search_runs(experiment_names=["plugin"], run_view_type=ViewType.DELETED_ONLY)) == 1
    client.restore_run(child.info.run_id)
    assert len(mlflow.search_runs(experiment_names=["plugin"])) == 2


def test_failed_runs_and_the_default_experiment(tracking):
    with pytest.raises(ZeroDivisionError):
        with mlflow.start_run() as run:
            1 / 0
    got = MlflowClient().get_run(run.info.run_id)
    assert got.info.status == "FAILED"
    assert MlflowClient().get_experiment(got.info.experiment_id).name == "Default"


def test_errors_are_mlflow_exceptions_with_codes(tracking):
    client = MlflowClient()
    with pytest.raises(MlflowException) as err:
        client.get_run("f" * 32)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as err:
        mlflow.search_runs(search_all_experiments=True, filter_string="params.lr < '1'")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    client.create_experiment("taken")
    with pytest.raises(MlflowException) as err:
        client.create_experiment("taken")
    assert err.value.error_code == "RESOURCE_ALREADY_EXISTS"


def test_experiments_through_mlflow_client(tracking):
    client = MlflowClient()
    eid = client.create_experiment("exp-a", tags={"k": "v"})
    assert client.get_experiment_by_name("exp-a").tags == {"k": "v"}
    client.rename_experiment(eid, "exp-b")
    client.set_experiment_tag(eid, "k2", "v2")
    assert client.get_experiment(eid).tags == {"k": "v", "k2": "v2"}
    client.delete_experiment(eid)
    assert "exp-b" in [e.name for e in client.search_experiments(view_type=ViewType.DELETED_ONLY)]
    client.restore_experiment(eid)
    assert [e.name for e in client.search_experiments(filter_string="name = 'exp-b'")] == ["exp-b"]
    assert client.get_experiment_by_name("missing") is None


def _search(client, case, experiment_ids):
    view = {"active": ViewType.ACTIVE_ONLY, "deleted": ViewType.DELETED_ONLY, "all": ViewType.ALL}[case["view"]]
    # mlflow.search_runs answers max_results=0 itself (an empty list) and splits
    # anything above 50,000 into pages of 10,000; MlflowClient passes the value on, and
    # the store must refuse it there as MLflow's SQL store does.
    if not case.get("paged") and 0 < case["max_results"] <= 50_000:
        runs = mlflow.search_runs(
            experiment_ids=experiment_ids,
            filter_string=case["filter"],
            run_view_type=view,
            max_results=case["max_results"],
            order_by=case["order_by"],
            output_format="list",
        )
        return [r.info.run_id for r in runs]
    got, token = [], None
    while True:
        page = client.search_runs(experiment_ids, case["filter"], view, case["max_results"], case["order_by"], token)
        got.extend(r.info.run_id for r in page)
        token = page.token
        if not token:
            return got


@pytest.mark.parametrize("corpus", ["conformance", "conformance-gen-101", "conformance-gen-202"])
def test_conformance_corpus_through_mlflow_search_runs(tracking, corpus):
    """Every MLflow-answered case, asked through MLflow's own search API on the plugin."""
    client = MlflowClient()
    directory = CONFORMANCE.parent / corpus
    # The corpus is loaded through the package and searched through MLflow.
    runstore.open_store(tracking).ingest_jsonl((directory / "dataset.jsonl").read_bytes())
    cases = json.loads((directory / "cases.json").read_text())
    every = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL)]
    failures = []
    for case in cases:
        if case["experiments"] is None:
            ids = every
        else:
            ids = [e.experiment_id for name in case["experiments"] if (e := client.get_experiment_by_name(name))]
        try:
            got = _search(client, case, ids)
        except MlflowException as err:
            if case["expect"]["ok"]:
                failures.append(f"{case['id']}: raised {err}")
            elif err.error_code != "INVALID_PARAMETER_VALUE":
                failures.append(f"{case['id']}: raised {err.error_code}")
            continue
        if not case["expect"]["ok"]:
            failures.append(f"{case['id']}: MLflow rejects {case['filter']!r}")
        elif got != case["expect"]["run_ids"]:
            failures.append(f"{case['id']}: {case['filter']!r} want {case['expect']['run_ids']} got {got}")
    assert len(cases) > 200
    assert not failures, "\n".join(failures)


def test_artifacts_land_under_the_store(tracking, tmp_path):
    source = tmp_path / "notes.txt"
    source.write_text("hello")
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(source))
        mlflow.log_dict({"a": 1}, "config.json")
    listed = sorted(f.path for f in mlflow.artifacts.list_artifacts(run_id=run.info.run_id))
    assert listed == ["config.json", "notes.txt"]
    uri = MlflowClient().get_run(run.info.run_id).info.artifact_uri
    assert uri.startswith(f"file://{tracking}/")
    local = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="notes.txt")
    assert open(local).read() == "hello"


def test_long_values_are_cut_as_mlflows_store_cuts_them(tracking, monkeypatch):
    mlflow.set_experiment("long-values")
    with mlflow.start_run() as run:
        mlflow.log_param("long", "é" * 6001)
        mlflow.set_tag("long", "t" * 8001)
    data = MlflowClient().get_run(run.info.run_id).data
    assert data.params["long"] == "é" * 6000
    assert data.tags["long"] == "t" * 8000
    # With MLflow's switch off, MLflow refuses them, and so does the plugin.
    monkeypatch.setenv("MLFLOW_TRUNCATE_LONG_VALUES", "false")
    with mlflow.start_run():
        with pytest.raises(MlflowException, match="6000|exceeds"):
            mlflow.log_param("long", "x" * 6001)
