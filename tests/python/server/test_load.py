"""Load: 8 concurrent MLflow clients (processes) log single metric points to `runstore
serve` for $RUNSTORE_LOAD_SECONDS (default 60) seconds; then every point is read back
exactly. Request latency p50/p99 is printed (the figure the benchmark reports)."""

import multiprocessing as mp
import os
import statistics
import time

from mlflow import MlflowClient

CLIENTS = 8


def _worker(args):
    url, run_id, seconds, index = args
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "1"
    client = MlflowClient(tracking_uri=url)
    latencies, step = [], 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        client.log_metric(run_id, "load", float(index * 1_000_000 + step), timestamp=1700000000000 + step,
                          step=step)
        latencies.append(time.perf_counter() - started)
        step += 1
    return run_id, step, latencies


def test_eight_clients_log_concurrently_and_every_point_reads_back(tracking):
    seconds = float(os.environ.get("RUNSTORE_LOAD_SECONDS", "60"))
    client = MlflowClient(tracking_uri=tracking.url)
    exp = client.create_experiment("load")
    runs = [client.create_run(exp, run_name=f"client-{i}").info.run_id for i in range(CLIENTS)]
    with mp.get_context("spawn").Pool(CLIENTS) as pool:
        results = pool.map(_worker, [(tracking.url, run, seconds, i) for i, run in enumerate(runs)])
    all_latencies = sorted(l for _, _, lat in results for l in lat)
    total = sum(n for _, n, _ in results)
    for index, (run_id, n, _) in enumerate(results):
        history = client.get_metric_history(run_id, "load")
        assert [(m.step, m.value) for m in history] == [(s, float(index * 1_000_000 + s)) for s in range(n)]
    p50 = statistics.median(all_latencies) * 1000
    p99 = all_latencies[int(len(all_latencies) * 0.99)] * 1000
    print(f"\nLOAD: {CLIENTS} clients x {seconds:.0f} s: {total} points ({total / seconds:.0f}/s), "
          f"log_metric latency p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    assert total > CLIENTS
