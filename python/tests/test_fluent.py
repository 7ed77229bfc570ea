"""The fluent API: runs, params, metrics, tags, inputs and search, on a real store."""

import math
import subprocess
import sys
import threading

import pandas as pd
import pyarrow as pa
import pytest

import runstore
from conftest import installed_from_site_packages


def test_the_package_under_test_is_the_installed_wheel():
    # The tests must exercise what `pip install ./python` installed, not the source tree.
    assert installed_from_site_packages(), runstore.__file__
    assert runstore.version() == "0.1.0"


def test_a_training_loop_logs_and_reads_back(store_dir):
    runstore.set_experiment("mnist")
    with runstore.start_run(run_name="baseline", tags={"team": "vision"}, description="first try") as run:
        assert runstore.active_run().info.run_id == run.info.run_id
        assert runstore.log_param("lr", 0.01) == 0.01
        runstore.log_params({"batch_size": 32, "optimizer": "adam"})
        for step in range(10):
            runstore.log_metric("loss", 1.0 / (step + 1), step=step)
        runstore.log_metrics({"acc": 0.91, "f1": 0.8}, step=9)
        runstore.set_tag("stage", "dev")
        runstore.set_tags({"owner": "ana", "n": 3})
        runstore.log_input({"name": "train", "digest": "ab12", "source_type": "local", "source": "train.csv"}, context="training")
    assert runstore.active_run() is None
    got = runstore.get_run(run.info.run_id)
    assert got.info.status == "FINISHED"
    assert got.info.end_time >= got.info.start_time
    assert got.info.run_name == "baseline"
    assert got.data.params == {"lr": "0.01", "batch_size": "32", "optimizer": "adam"}
    assert got.data.metrics == {"loss": 0.1, "acc": 0.91, "f1": 0.8}
    tags = got.data.tags
    assert tags["team"] == "vision" and tags["stage"] == "dev" and tags["owner"] == "ana" and tags["n"] == "3"
    assert tags["mlflow.runName"] == "baseline" and tags["mlflow.note.content"] == "first try"
    assert tags["mlflow.source.type"] == "LOCAL" and "mlflow.user" in tags
    assert [(i["name"], i["digest"], i.get("context")) for i in got.inputs] == [("train", "ab12", "training")]
    history = runstore.get_metric_history(run.info.run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(s, 1.0 / (s + 1)) for s in range(10)]
    assert all(m.timestamp > 0 for m in history)


def test_logging_without_a_run_starts_one_in_the_default_experiment(store_dir):
    runstore.log_metric("x", 1.5)
    run = runstore.active_run()
    assert run is not None
    assert runstore.RunstoreClient(store_dir).get_experiment(run.info.experiment_id).name == "Default"
    runstore.end_run()
    assert runstore.get_run(run.info.run_id).data.metrics == {"x": 1.5}


def test_buffered_metrics_are_durable_after_flush(store_dir):
    with runstore.start_run() as run:
        for step in range(1000):
            runstore.log_metric("fast", float(step), step=step, synchronous=False)
        runstore.flush()
        assert len(runstore.get_metric_history(run.info.run_id, "fast")) == 1000


def test_buffered_batches_are_durable_after_flush(store_dir):
    with runstore.start_run() as run:
        runstore.log_metrics({"a": 1.0, "b": 2.0}, step=1, synchronous=False)
        runstore.log_params({"p": "x"}, synchronous=False)
        runstore.set_tags({"t": "y"}, synchronous=False)
        runstore.flush()
        got = runstore.get_run(run.info.run_id)
    assert got.data.metrics == {"a": 1.0, "b": 2.0} and got.data.params == {"p": "x"} and got.data.tags["t"] == "y"


def test_eight_threads_log_through_one_store(store_dir):
    client = runstore.RunstoreClient(store_dir)
    experiment = client.create_experiment("threads")
    runs = [client.create_run(experiment, run_name=f"t{i}").info.run_id for i in range(8)]

    def work(run_id):
        for step in range(200):
            client.log_metric(run_id, "loss", step / 10, step=step)

    threads = [threading.Thread(target=work, args=(r,)) for r in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for run_id in runs:
        history = client.get_metric_history(run_id, "loss")
        assert [(m.step, m.value) for m in history] == [(s, s / 10) for s in range(200)]


def test_nan_and_infinities_round_trip(store_dir):
    with runstore.start_run() as run:
        runstore.log_metric("a", float("nan"), step=0)
        runstore.log_metric("b", float("inf"), step=0)
        runstore.log_metric("c", float("-inf"), step=0)
    metrics = runstore.get_run(run.info.run_id).data.metrics
    assert math.isnan(metrics["a"]) and metrics["b"] == math.inf and metrics["c"] == -math.inf


def test_a_param_cannot_change(store_dir):
    with runstore.start_run():
        runstore.log_param("lr", "0.1")
        runstore.log_param("lr", "0.1")  # the same value again is fine
        with pytest.raises(runstore.RunstoreError) as err:
            runstore.log_param("lr", "0.2")
        assert err.value.error_code == "INVALID_PARAMETER_VALUE"


def test_bad_input_raises_with_mlflow_error_codes(store_dir):
    client = runstore.RunstoreClient(store_dir)
    with pytest.raises(runstore.RunstoreError) as err:
        client.get_run("0" * 32)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    client.create_experiment("dup")
    with pytest.raises(runstore.RunstoreError) as err:
        client.create_experiment("dup")
    assert err.value.error_code == "RESOURCE_ALREADY_EXISTS"
    with pytest.raises(runstore.RunstoreError) as err:
        runstore.search_runs(search_all_experiments=True, filter_string="metrics.acc >> 1")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "character" in str(err.value)
    with pytest.raises(runstore.RunstoreError):
        runstore.log_metric("k", 1.0, run_id="not-a-run-id")


def _three_runs():
    runstore.set_experiment("search")
    ids = []
    for i, lr in enumerate(["0.1", "0.01", "0.001"]):
        with runstore.start_run(run_name=f"r{i}") as run:
            runstore.log_param("lr", lr)
            runstore.log_metric("acc", 0.5 + i / 10)
            if i == 1:
                runstore.set_tag("best", "yes")
        ids.append(run.info.run_id)
    return ids


def test_search_runs_as_a_dataframe_shaped_like_mlflow(store_dir):
    ids = _three_runs()
    frame = runstore.search_runs(experiment_names=["search"], filter_string="metrics.acc > 0.55", order_by=["metrics.acc DESC"])
    assert isinstance(frame, pd.DataFrame)
    assert list(frame["run_id"]) == [ids[2], ids[1]]
    assert list(frame.columns[:6]) == ["run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time"]
    assert str(frame["start_time"].dtype).startswith("datetime64[") and str(frame["start_time"].dtype).endswith(", UTC]")
    assert frame["metrics.acc"].dtype == "float64"
    assert list(frame["params.lr"]) == ["0.001", "0.01"]
    assert frame["tags.best"].isna().tolist() == [True, False]
    # The active experiment is searched when none is named.
    assert len(runstore.search_runs()) == 3
    assert len(runstore.search_runs(max_results=2)) == 2


def test_search_runs_as_arrow_and_as_list(store_dir):
    ids = _three_runs()
    table = runstore.search_runs(experiment_names=["search"], order_by=["params.lr"], output_format="arrow")
    assert isinstance(table, pa.Table)
    assert table.column("run_id").to_pylist() == [ids[2], ids[1], ids[0]]
    assert table.column("metrics.acc").type == pa.float64()
    runs = runstore.search_runs(experiment_names=["search"], filter_string="tags.best = 'yes'", output_format="list")
    assert [r.info.run_id for r in runs] == [ids[1]]
    assert runs[0].data.params == {"lr": "0.01"}


def test_search_runs_follows_pages(store_dir):
    client = runstore.RunstoreClient(store_dir)
    experiment = client.create_experiment("many")
    lines = "".join(
        f'{{"experiment": "many", "run_name": "r{i}", "start_time": {1700000000000 + i}, "metrics": {{"m": [[0, {i}, 1]]}}}}\n'
        for i in range(120)
    )
    assert client.store.ingest_jsonl(lines) == (120, 120)
    page = client.search_runs([experiment], max_results=50)
    assert len(page) == 50 and page.token
    frame = runstore.search_runs(experiment_ids=[experiment], max_results=100_000)
    assert len(frame) == 120
    assert len(runstore.search_runs(experiment_ids=[experiment], output_format="arrow")) == 120


def test_without_pandas_search_runs_gives_dicts(store_dir, tmp_path):
    _three_runs()
    script = (
        "import sys; sys.modules['pandas'] = None\n"
        "import runstore\n"
        f"runstore.set_store({str(store_dir)!r})\n"
        "rows = runstore.search_runs(experiment_names=['search'])\n"
        "assert isinstance(rows, list) and len(rows) == 3, rows\n"
        "assert set(rows[0]) == {'info', 'data', 'inputs'}\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_client_experiments_and_runs(store_dir):
    client = runstore.RunstoreClient(store_dir)
    eid = client.create_experiment("e1", tags={"k": "v"})
    assert client.get_experiment(eid).tags == {"k": "v"}
    client.rename_experiment(eid, "e2")
    assert client.get_experiment_by_name("e2").experiment_id == eid
    assert client.get_experiment_by_name("e1") is None
    run = client.create_run(eid, run_name="explicit", tags={"a": "b"})
    client.log_batch(run.info.run_id, metrics=[("m", 1.0, 10, 0), ("m", 2.0, 20, 1)], params={"p": 1}, tags={"t": "x"})
    client.set_terminated(run.info.run_id, "KILLED")
    got = client.get_run(run.info.run_id)
    assert got.info.status == "KILLED" and got.data.params == {"p": "1"} and got.data.tags["a"] == "b"
    assert [(m.step, m.value, m.timestamp) for m in client.get_metric_history(run.info.run_id, "m")] == [(0, 1.0, 10), (1, 2.0, 20)]
    client.delete_run(run.info.run_id)
    assert len(client.search_runs([eid])) == 0
    assert len(client.search_runs([eid], run_view_type=2)) == 1
    client.restore_run(run.info.run_id)
    client.delete_experiment(eid)
    assert [e.name for e in client.search_experiments(view_type=2)] == ["e2"]
    client.restore_experiment(eid)
    assert "e2" in [e.name for e in client.search_experiments()]


def test_log_batch_splits_at_mlflow_limits(store_dir):
    client = runstore.RunstoreClient(store_dir)
    with runstore.start_run() as run:
        points = [("big", float(i), 1, i) for i in range(2500)]
        client.log_batch(run.info.run_id, metrics=points, params={f"p{i}": i for i in range(150)})
    assert len(client.get_metric_history(run.info.run_id, "big")) == 2500
    assert len(client.get_run(run.info.run_id).data.params) == 150


def test_history_as_arrow(store_dir):
    with runstore.start_run() as run:
        runstore.log_metrics({"a": 1.0}, step=3)
    table = runstore.RunstoreClient(store_dir).store.history_arrow(run.info.run_id, "a")
    assert table.column_names == ["step", "value", "timestamp"]
    assert table.column("step").to_pylist() == [3]
