"""MLflow's fluent API and MlflowClient, unchanged, against `runstore serve`: what the
MLflow documentation shows a training script doing, end to end."""

import math

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag, ViewType
from mlflow.exceptions import MlflowException


def test_tracking_end_to_end(tracking, tmp_path):
    mlflow.set_experiment("mnist")
    with mlflow.start_run(run_name="parent") as parent:
        mlflow.log_param("optimizer", "adam")
        mlflow.log_params({"lr": 0.01, "batch_size": 32})
        for step in range(5):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_metrics({"acc": 0.9, "f1": float("nan")}, step=4)
        mlflow.set_tag("team", "vision")
        mlflow.set_tags({"stage": "dev", "priority": "1"})
        dataset = mlflow.data.from_pandas(pd.DataFrame({"x": [1, 2], "y": [3, 4]}), source="data/train.csv",
                                          name="train")
        mlflow.log_input(dataset, context="training")
        (tmp_path / "notes.txt").write_text("hello artifacts")
        mlflow.log_artifact(str(tmp_path / "notes.txt"))
        (tmp_path / "dir").mkdir()
        (tmp_path / "dir" / "a.txt").write_text("a")
        (tmp_path / "dir" / "sub").mkdir()
        (tmp_path / "dir" / "sub" / "b.txt").write_text("bb")
        mlflow.log_artifacts(str(tmp_path / "dir"), artifact_path="bundle")
        mlflow.log_dict({"k": [1, 2]}, "config.json")
        with mlflow.start_run(run_name="child", nested=True) as child:
            mlflow.log_metric("loss", 0.05, step=0)

    client = MlflowClient()
    run = client.get_run(parent.info.run_id)
    assert run.info.run_name == "parent"
    assert run.info.status == "FINISHED"
    assert run.info.end_time is not None
    assert run.data.params == {"optimizer": "adam", "lr": "0.01", "batch_size": "32"}
    assert run.data.metrics["loss"] == pytest.approx(0.2)
    assert math.isnan(run.data.metrics["f1"])
    assert run.data.tags["team"] == "vision" and run.data.tags["stage"] == "dev"
    assert run.info.artifact_uri.startswith("mlflow-artifacts:/")
    inputs = run.inputs.dataset_inputs
    assert [i.dataset.name for i in inputs] == ["train"]
    assert inputs[0].tags[0].key == "mlflow.data.context" and inputs[0].tags[0].value == "training"

    child_run = client.get_run(child.info.run_id)
    assert child_run.data.tags["mlflow.parentRunId"] == parent.info.run_id

    history = client.get_metric_history(parent.info.run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(s, 1.0 / (s + 1)) for s in range(5)]

    top = sorted(f.path for f in client.list_artifacts(parent.info.run_id))
    assert top == ["bundle", "config.json", "notes.txt"]
    bundle = sorted((f.path, f.is_dir, f.file_size) for f in client.list_artifacts(parent.info.run_id, "bundle"))
    assert bundle == [("bundle/a.txt", False, 1), ("bundle/sub", True, None)]
    local = mlflow.artifacts.download_artifacts(run_id=parent.info.run_id, artifact_path="notes.txt",
                                                dst_path=str(tmp_path / "dl"))
    assert open(local).read() == "hello artifacts"
    whole = mlflow.artifacts.download_artifacts(run_id=parent.info.run_id, artifact_path="bundle",
                                                dst_path=str(tmp_path / "dl2"))
    assert open(f"{whole}/sub/b.txt").read() == "bb"
    assert mlflow.artifacts.load_dict(f"runs:/{parent.info.run_id}/config.json") == {"k": [1, 2]}

    # The uploaded files are where --artifacts-root says.
    exp = client.get_experiment_by_name("mnist")
    stored = tracking.artifacts / exp.experiment_id / parent.info.run_id / "artifacts" / "notes.txt"
    assert stored.read_text() == "hello artifacts"

    # The web UI reads a run's files through /get-artifact; a path out of the run is refused.
    import requests
    ui_file = tracking.url + "/get-artifact"
    got = requests.get(ui_file, params={"run_id": parent.info.run_id, "path": "bundle/sub/b.txt"})
    assert got.status_code == 200 and got.content == b"bb"
    assert requests.get(ui_file, params={"run_id": parent.info.run_id, "path": "nope.txt"}).status_code == 404
    escape = requests.get(ui_file, params={"run_id": parent.info.run_id, "path": "../../x"})
    assert escape.status_code == 400 and escape.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    # A run whose artifacts live elsewhere (an explicit s3:// location) has none here.
    elsewhere = client.create_experiment("s3-located", artifact_location="s3://bucket/runs")
    remote_run = client.create_run(elsewhere)
    gone = requests.get(ui_file, params={"run_id": remote_run.info.run_id, "path": "notes.txt"})
    assert gone.status_code == 404 and gone.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert "not on this server" in gone.json()["message"]


def test_search_runs_dataframe_filter_order_and_paging(tracking):
    mlflow.set_experiment("sweep")
    for i in range(12):
        with mlflow.start_run(run_name=f"trial-{i}"):
            mlflow.log_param("lr", f"{0.001 * (i + 1):.3f}")
            mlflow.log_metric("acc", i / 12)
            mlflow.set_tag("parity", "even" if i % 2 == 0 else "odd")
    df = mlflow.search_runs(experiment_names=["sweep"], filter_string="metrics.acc > 0.5 AND tags.parity = 'even'",
                            order_by=["metrics.acc DESC"])
    assert list(df["tags.mlflow.runName"]) == ["trial-10", "trial-8"]
    assert list(df.columns[:3]) == ["run_id", "experiment_id", "status"]
    assert df["metrics.acc"].iloc[0] == pytest.approx(10 / 12)

    client = MlflowClient()
    exp_id = client.get_experiment_by_name("sweep").experiment_id
    seen, token = [], None
    while True:
        page = client.search_runs([exp_id], order_by=["params.lr ASC"], max_results=5, page_token=token)
        seen += [r.data.params["lr"] for r in page]
        token = page.token
        if not token:
            break
    assert seen == [f"{0.001 * (i + 1):.3f}" for i in range(12)]

    with pytest.raises(MlflowException) as err:
        client.search_runs([exp_id], filter_string="metrics.acc >> 1")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"


def test_delete_restore_and_lifecycle(tracking):
    client = MlflowClient()
    exp_id = client.create_experiment("lifecycle", tags={"owner": "me"})
    run = client.create_run(exp_id, run_name="r")
    client.log_batch(run.info.run_id, metrics=[Metric("m", 1.5, 1700000000000, 3)],
                     params=[Param("p", "v")], tags=[RunTag("t", "x")])
    client.set_terminated(run.info.run_id, status="KILLED")
    assert client.get_run(run.info.run_id).info.status == "KILLED"

    client.delete_run(run.info.run_id)
    assert client.get_run(run.info.run_id).info.lifecycle_stage == "deleted"
    assert client.search_runs([exp_id]) == []
    assert len(client.search_runs([exp_id], run_view_type=ViewType.DELETED_ONLY)) == 1
    client.restore_run(run.info.run_id)
    assert [r.info.run_id for r in client.search_runs([exp_id])] == [run.info.run_id]

    client.delete_experiment(exp_id)
    assert client.get_experiment(exp_id).lifecycle_stage == "deleted"
    client.restore_experiment(exp_id)
    client.rename_experiment(exp_id, "lifecycle2")
    exp = client.get_experiment_by_name("lifecycle2")
    assert exp.experiment_id == exp_id and exp.tags["owner"] == "me"
    client.set_experiment_tag(exp_id, "k", "v")
    client.delete_experiment_tag(exp_id, "owner")
    assert client.get_experiment(exp_id).tags == {"k": "v"}
    names = [e.name for e in client.search_experiments(filter_string="name LIKE 'life%'")]
    assert names == ["lifecycle2"]


def test_errors_are_mlflows(tracking):
    client = MlflowClient()
    with pytest.raises(MlflowException) as err:
        client.get_run("0" * 32)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    exp_id = client.create_experiment("errors")
    with pytest.raises(MlflowException) as err:
        client.create_experiment("errors")
    assert err.value.error_code == "RESOURCE_ALREADY_EXISTS"
    run = client.create_run(exp_id)
    client.log_param(run.info.run_id, "p", "1")
    with pytest.raises(MlflowException) as err:
        client.log_param(run.info.run_id, "p", "2")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    # MLflow's client splits a 1001-point batch itself; the server's own limit is in
    # test_against_mlflow. Logging to a deleted run is refused as MLflow refuses it.
    client.log_batch(run.info.run_id, metrics=[Metric("m", 1.0, 1, i) for i in range(1001)])
    assert len(client.get_metric_history(run.info.run_id, "m")) == 1001
    client.delete_run(run.info.run_id)
    with pytest.raises(MlflowException) as err:
        client.log_metric(run.info.run_id, "m", 2.0)
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as err:
        client.get_experiment_by_name("nope") or client.get_experiment("12345")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_metric_history_paging_and_bulk_interval(tracking):
    client = MlflowClient()
    exp_id = client.create_experiment("long")
    run = client.create_run(exp_id)
    points = [Metric("loss", float(i), 1700000000000 + i, i) for i in range(2500)]
    for start in range(0, len(points), 1000):
        client.log_batch(run.info.run_id, metrics=points[start:start + 1000])
    history = client.get_metric_history(run.info.run_id, "loss")
    assert [m.step for m in history] == list(range(2500))

    import requests
    url = tracking.url + "/api/2.0/mlflow/metrics/get-history"
    got, token = [], None
    while True:
        params = {"run_id": run.info.run_id, "metric_key": "loss", "max_results": 1000}
        if token:
            params["page_token"] = token
        body = requests.get(url, params=params).json()
        got += [m["step"] for m in body["metrics"]]
        token = body.get("next_page_token")
        if not token:
            break
    assert got == list(range(2500))

    sampled = requests.get(tracking.url + "/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval",
                           params={"run_ids": [run.info.run_id], "metric_key": "loss", "max_results": 10}).json()
    steps = [m["step"] for m in sampled["metrics"]]
    assert len(steps) == 10 and steps[0] == 0 and steps[-1] == 2499
    assert all(m["run_id"] == run.info.run_id for m in sampled["metrics"])


def test_server_shuts_down_gracefully_and_data_survives(tracking):
    client = MlflowClient()
    exp_id = client.create_experiment("durable")
    run = client.create_run(exp_id)
    client.log_metric(run.info.run_id, "m", 7.0, step=1)
    assert tracking.stop() == 0
    import subprocess
    from conftest import runstore_bin
    out = subprocess.run([runstore_bin(), "--db", str(tracking.store), "history", run.info.run_id, "m",
                          "--format", "json"], capture_output=True, text=True, check=True)
    import json
    assert [p[:2] for p in json.loads(out.stdout)["history"]] == [[1, 7.0]]
