#!/usr/bin/env python3
"""`runstore serve` against `mlflow server` (SQLite backend), through the same `mlflow`
client, on the reference workload (gen_workload.py):

  * log_batch ingest: every run created with runs/create, its params, tags and points
    sent in log_batch calls (MLflow's limits), then ended; points/s over the whole load;
  * single log_metric latency (p50/p99 of --calls calls into one run);
  * Q1-Q10 (benches/QUERIES.md) through MlflowClient.search_runs: median of 3;
  * a 100,000-point get_metric_history (median of 3).

    benches/serve_compare.sh [--runs N] [--calls N] [--only runstore|mlflow]

Both servers run on 127.0.0.1 with free ports in a temporary directory, started and
stopped here. Prints a table and writes JSON to --json if given."""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from gen_workload import record  # noqa: E402

# The client prints a "View run" link per ended run; the table is the output.
os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "1")

QUERIES = [
    ("Q1", "metrics.m00 > 0.9", [], 1000),
    ("Q2", "params.p02 = 'adam' AND metrics.m01 < 0.5", [], 1000),
    ("Q3", "tags.t00 LIKE 'team-1%'", [], 1000),
    ("Q4", "attributes.status = 'FAILED'", [], 1000),
    ("Q5", "params.p03 = 'rf' AND metrics.m00 >= 0.5", ["metrics.m00 DESC"], 100),
    ("Q6", "tags.t01 ILIKE '%V3%'", [], 1000),
    ("Q7", "", ["attributes.start_time DESC"], 1000),
    ("Q8", "metrics.m05 > 0.5 AND metrics.m06 < 0.5 AND params.p00 = '0.01'", [], 1000),
    ("Q9", "attributes.run_name LIKE 'run-1%'", [], 1000),
    ("Q10", None, [], 1000),
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url, proc, seconds=120):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as r:
                if r.read().strip() == b"OK":
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("server did not become healthy")


def start(kind, tmp, runstore_bin):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(os.path.join(tmp, f"{kind}.log"), "w")
    if kind == "runstore":
        cmd = [runstore_bin, "--db", os.path.join(tmp, "rs-store"), "serve", "--port", str(port), "--quiet",
               "--artifacts-root", os.path.join(tmp, "rs-artifacts")]
    else:
        cmd = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri",
               f"sqlite:///{os.path.join(tmp, 'mlflow.db')}", "--artifacts-destination",
               os.path.join(tmp, "mlflow-artifacts"), "--host", "127.0.0.1", "--port", str(port),
               "--workers", "1"]
    proc = subprocess.Popen(cmd, stdout=log, stderr=log, start_new_session=True,
                            env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "1"})
    wait_healthy(url, proc)
    return proc, url


def stop(proc):
    import signal
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))]


def measure(url, runs, calls, steps, long_steps):
    import random

    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag

    client = MlflowClient(tracking_uri=url)
    rng = random.Random(42)
    parents = [[] for _ in range(10)]
    exp_ids = {}
    ids = {}
    points = 0
    started = time.perf_counter()
    for i in range(runs):
        rec = record(i, steps, rng, parents)
        name = rec["experiment"]
        if name not in exp_ids:
            exp_ids[name] = client.create_experiment(name)
        tags = dict(rec["tags"])
        if rec.get("parent_run_id"):
            tags["mlflow.parentRunId"] = ids[rec["parent_run_id"]]
        run = client.create_run(exp_ids[name], start_time=rec["start_time"], run_name=rec["run_name"],
                                tags={"mlflow.user": rec.get("user", "")})
        run_id = run.info.run_id
        ids[rec["run_id"]] = run_id
        metrics = [Metric(k, float(v), ts, s) for k, pts in rec["metrics"].items() for s, v, ts in pts]
        points += len(metrics)
        params = [Param(k, v) for k, v in rec["params"].items()]
        tag_list = [RunTag(k, v) for k, v in tags.items()]
        first_cap = 1000 - len(params) - len(tag_list)
        chunks = [metrics[:first_cap]] + [metrics[j:j + 1000] for j in range(first_cap, len(metrics), 1000)]
        for j, chunk in enumerate(chunks):
            client.log_batch(run_id, metrics=chunk, params=params if j == 0 else [],
                             tags=tag_list if j == 0 else [])
        client.set_terminated(run_id, status=rec["status"], end_time=rec.get("end_time"))
    ingest_s = time.perf_counter() - started
    out = {"runs": runs, "points": points, "ingest_s": ingest_s, "ingest_points_per_s": points / ingest_s}

    probe_exp = client.create_experiment("latency-probe")
    probe = client.create_run(probe_exp).info.run_id
    lat = []
    for s in range(calls):
        t = time.perf_counter()
        client.log_metric(probe, "probe", float(s), step=s)
        lat.append(time.perf_counter() - t)
    out["log_metric_p50_ms"] = pct(lat, 0.5) * 1000
    out["log_metric_p99_ms"] = pct(lat, 0.99) * 1000

    every = list(exp_ids.values())
    parent_counts = {}
    for r in client.search_runs(every, filter_string="tags.mlflow.parentRunId LIKE '%'", max_results=50000):
        p = r.data.tags["mlflow.parentRunId"]
        parent_counts[p] = parent_counts.get(p, 0) + 1
    top_parent = max(parent_counts, key=parent_counts.get) if parent_counts else "none"
    out["queries_ms"] = {}
    out["query_rows"] = {}
    for qid, flt, order, n in QUERIES:
        if flt is None:
            flt = f"tags.mlflow.parentRunId = '{top_parent}'"
        times = []
        for _ in range(3):
            t = time.perf_counter()
            found = client.search_runs(every, filter_string=flt, order_by=order, max_results=n)
            times.append(time.perf_counter() - t)
        out["queries_ms"][qid] = statistics.median(times) * 1000
        out["query_rows"][qid] = len(found)

    long_run = client.create_run(probe_exp).info.run_id
    for start_at in range(0, long_steps, 1000):
        client.log_batch(long_run, metrics=[Metric("long", float(s), 1_700_000_000_000 + s, s)
                                            for s in range(start_at, min(long_steps, start_at + 1000))])
    times = []
    for _ in range(3):
        t = time.perf_counter()
        hist = client.get_metric_history(long_run, "long")
        times.append(time.perf_counter() - t)
    assert len(hist) == long_steps, len(hist)
    out["history_ms"] = statistics.median(times) * 1000
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--long-steps", type=int, default=100_000)
    ap.add_argument("--only", choices=["runstore", "mlflow"])
    ap.add_argument("--runstore-bin", default=os.path.join(HERE, "..", "target", "release", "runstore"))
    ap.add_argument("--json")
    args = ap.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("runstore", "mlflow"):
            if args.only and args.only != kind:
                continue
            proc, url = start(kind, tmp, args.runstore_bin)
            try:
                results[kind] = measure(url, args.runs, args.calls, args.steps, args.long_steps)
            finally:
                stop(proc)
            print(f"{kind}: {json.dumps(results[kind])}", flush=True)
    kinds = list(results)
    print("\n| figure | " + " | ".join(kinds) + " |")
    print("|---|" + "---|" * len(kinds))
    row = lambda label, f: print(f"| {label} | " + " | ".join(f(results[k]) for k in kinds) + " |")  # noqa: E731
    row("log_batch ingest (points/s)", lambda r: f"{r['ingest_points_per_s']:,.0f} ({r['points']:,} points, {r['ingest_s']:.1f} s)")
    row("log_metric p50 / p99 (ms)", lambda r: f"{r['log_metric_p50_ms']:.2f} / {r['log_metric_p99_ms']:.2f}")
    for qid, *_ in QUERIES:
        row(f"{qid} search_runs (ms, rows)", lambda r, q=qid: f"{r['queries_ms'][q]:.1f} ({r['query_rows'][q]})")
    row(f"get_metric_history, {args.long_steps:,} points (ms)", lambda r: f"{r['history_ms']:.0f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
