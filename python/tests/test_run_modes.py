"""Run modes, the @track decorator, the RANK guard, end statuses and system metrics."""

import asyncio
import os
import subprocess
import sys
import time

import pytest

import runstore


def _status(run_id):
    return runstore.get_run(run_id).info.status


def test_a_second_run_needs_nested(store_dir):
    with runstore.start_run() as parent:
        with pytest.raises(runstore.RunstoreError, match="already active"):
            runstore.start_run()
        with runstore.start_run(nested=True) as child:
            assert runstore.active_run().info.run_id == child.info.run_id
        assert runstore.active_run().info.run_id == parent.info.run_id
    assert runstore.get_run(child.info.run_id).data.tags["mlflow.parentRunId"] == parent.info.run_id


def test_run_mode_auto_reuses_the_active_run(store_dir):
    with runstore.start_run(run_mode="auto") as outer:
        with runstore.start_run(run_mode="auto") as inner:
            assert inner.info.run_id == outer.info.run_id
        # Leaving the reused run does not end it: its owner does.
        assert _status(outer.info.run_id) == "RUNNING"
        assert runstore.active_run().info.run_id == outer.info.run_id
    assert _status(outer.info.run_id) == "FINISHED"


def test_run_mode_new_and_nested(store_dir):
    with runstore.start_run() as parent:
        with runstore.start_run(run_mode="new") as independent:
            assert independent.info.run_id != parent.info.run_id
        with runstore.start_run(run_mode="nested") as child:
            pass
    assert "mlflow.parentRunId" not in runstore.get_run(independent.info.run_id).data.tags
    assert runstore.get_run(child.info.run_id).data.tags["mlflow.parentRunId"] == parent.info.run_id
    with pytest.raises(runstore.RunstoreError, match="run_mode"):
        runstore.start_run(run_mode="sideways")


def test_end_statuses(store_dir):
    with pytest.raises(ValueError):
        with runstore.start_run() as failed:
            raise ValueError("boom")
    with pytest.raises(KeyboardInterrupt):
        with runstore.start_run() as killed:
            raise KeyboardInterrupt
    with runstore.start_run() as finished:
        pass
    runstore.start_run()
    explicit = runstore.active_run()
    runstore.end_run(status="KILLED")
    assert _status(failed.info.run_id) == "FAILED"
    assert _status(killed.info.run_id) == "KILLED"
    assert _status(finished.info.run_id) == "FINISHED"
    assert _status(explicit.info.run_id) == "KILLED"
    assert runstore.last_active_run().info.run_id == explicit.info.run_id


def test_track_decorates_sync_functions(store_dir):
    @runstore.track(experiment_name="tracked")
    def train(lr):
        runstore.log_param("lr", lr)
        return runstore.active_run().info.run_id

    @runstore.track(run_mode="nested")
    def trial(i):
        runstore.log_metric("score", i)
        return runstore.active_run().info.run_id

    @runstore.track()
    def broken():
        raise RuntimeError("no")

    run_id = train(0.1)
    run = runstore.get_run(run_id)
    assert run.info.run_name == "train" and run.data.params == {"lr": "0.1"} and run.info.status == "FINISHED"
    assert runstore.RunstoreClient(store_dir).get_experiment(run.info.experiment_id).name == "tracked"
    with runstore.start_run(run_name="sweep") as sweep:
        children = [trial(i) for i in range(3)]
    assert {runstore.get_run(c).data.tags["mlflow.parentRunId"] for c in children} == {sweep.info.run_id}
    with pytest.raises(RuntimeError):
        broken()
    failed = runstore.search_runs(filter_string="attributes.run_name = 'broken'", output_format="list")
    assert [r.info.status for r in failed] == ["FAILED"]


def test_track_decorates_async_functions(store_dir):
    @runstore.track(run_mode="nested")
    async def trial(i):
        await asyncio.sleep(0.01)
        runstore.log_metric("rmse", 1.0 / (i + 1))
        await asyncio.sleep(0.01)
        return runstore.active_run().info.run_id

    @runstore.track(run_mode="auto", experiment_name="hpo")
    async def sweep():
        parent = runstore.active_run().info.run_id
        # Trials run concurrently, each in its own task and run.
        children = await asyncio.gather(*(trial(i) for i in range(4)))
        return parent, children

    parent, children = asyncio.run(sweep())
    assert len(set(children)) == 4 and parent not in children
    for child in children:
        run = runstore.get_run(child)
        assert run.data.tags["mlflow.parentRunId"] == parent
        assert run.info.status == "FINISHED" and "rmse" in run.data.metrics
    assert runstore.get_run(parent).info.status == "FINISHED"


RANK_SCRIPT = """
import os, runstore
writer = os.environ["RANK"] == "0"
runstore.set_store(os.environ["STORE"])
assert (runstore.set_experiment("ranked") is not None) == writer
with runstore.start_run(run_name="rank-" + os.environ["RANK"]) as run:
    assert (run is not None) == writer
    assert (runstore.active_run() is not None) == writer
    runstore.log_metric("loss", 1.0)
    runstore.log_param("lr", "0.1")
    runstore.set_tag("t", "v")

@runstore.track()
def f():
    runstore.log_metric("x", 1)
    return runstore.active_run()

assert (f() is not None) == writer
print("ok")
"""


def test_only_rank_zero_writes(store_dir):
    for rank in ("1", "3", "0"):
        env = dict(os.environ, RANK=rank, STORE=str(store_dir))
        out = subprocess.run([sys.executable, "-c", RANK_SCRIPT], env=env, capture_output=True, text=True)
        assert out.returncode == 0 and out.stdout.strip() == "ok", (rank, out.stderr)
    assert [e.name for e in runstore.RunstoreClient(store_dir).search_experiments()] == ["ranked"]
    runs = runstore.search_runs(search_all_experiments=True, output_format="list")
    assert sorted(r.info.run_name for r in runs) == ["f", "rank-0"]
    rank0 = [r for r in runs if r.info.run_name == "rank-0"][0]
    assert rank0.data.params == {"lr": "0.1"} and rank0.data.metrics == {"loss": 1.0}


def test_system_metrics_are_sampled_into_histories(store_dir):
    with runstore.start_run(log_system_metrics=True, system_metrics_interval=0.2) as run:
        time.sleep(1.3)
    metrics = runstore.get_run(run.info.run_id).data.metrics
    for key in (
        "system/cpu_utilization_percentage",
        "system/system_memory_usage_megabytes",
        "system/system_memory_usage_percentage",
        "system/disk_usage_percentage",
        "system/disk_usage_megabytes",
        "system/disk_available_megabytes",
        "system/network_receive_megabytes",
        "system/network_transmit_megabytes",
    ):
        assert key in metrics, (key, sorted(metrics))
    history = runstore.get_metric_history(run.info.run_id, "system/system_memory_usage_megabytes")
    assert [m.step for m in history] == list(range(len(history))) and len(history) >= 3
    assert all(m.value > 0 for m in history)
    # The sampler stopped with the run.
    time.sleep(0.5)
    assert len(runstore.get_metric_history(run.info.run_id, "system/system_memory_usage_megabytes")) == len(history)
