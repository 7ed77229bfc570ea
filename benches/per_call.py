"""Per-call cost of one log_metric: C API, runstore's Python package, MLflow on the
runstore plugin, and MLflow's own SQLite store — the same single-point call, timed
one call at a time after 50 warm-up calls, each in a fresh store.

  c          rs_log_metric (synchronous), benches/c/log_metric.c
  python     runstore.log_metric(key, value, step=i)
  python-buf runstore.log_metric(..., synchronous=False), then one flush (not timed per call)
  plugin     mlflow.log_metric(...) with tracking URI runstore:<dir>
  sqlite     mlflow.log_metric(...) with tracking URI sqlite:///<dir>/mlflow.db

Run:  benches/per_call.sh [--calls 2000]   (needs target/test-venv from .ci/run and cc)
"""
import argparse, logging, os, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def summary(name, times_us):
    times_us = sorted(times_us)
    n = len(times_us)
    return name, times_us[n // 2], times_us[int(n * 0.99)], statistics.fmean(times_us)


def timed(fn, calls):
    for i in range(50):
        fn(i, "warm")
    out = []
    for i in range(calls):
        start = time.perf_counter_ns()
        fn(i, "loss")
        out.append((time.perf_counter_ns() - start) / 1000)
    return out


def bench_c(work, calls):
    exe = os.path.join(work, "log_metric")
    lib = os.path.join(ROOT, "target", "release")
    deps = os.path.join(lib, "deps")
    subprocess.run(
        ["cc", "-O2", "-o", exe, os.path.join(ROOT, "benches", "c", "log_metric.c"),
         "-I", os.path.join(ROOT, "ffi", "include"), "-L", deps, "-lrunstore_ffi", f"-Wl,-rpath,{deps}"],
        check=True,
    )
    out = subprocess.run([exe, os.path.join(work, "c-store"), str(calls)], check=True, capture_output=True, text=True)
    _, p50, p99, mean = out.stdout.split()
    return "c (rs_log_metric)", float(p50), float(p99), float(mean)


def bench_python(work, calls, synchronous):
    import runstore

    runstore.set_store(os.path.join(work, f"py-store-{synchronous}"))
    with runstore.start_run():
        times = timed(lambda i, k: runstore.log_metric(k, 1.0 / (i + 1), step=i, synchronous=synchronous), calls)
        start = time.perf_counter_ns()
        runstore.flush()
        flush_ms = (time.perf_counter_ns() - start) / 1e6
    name = "python (runstore.log_metric)" if synchronous else f"python, synchronous=False (flush {flush_ms:.1f} ms)"
    return summary(name, times)


def bench_mlflow(uri, name, calls):
    import mlflow

    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("bench")
    with mlflow.start_run():
        times = timed(lambda i, k: mlflow.log_metric(k, 1.0 / (i + 1), step=i), calls)
    mlflow.set_tracking_uri(None)
    return summary(name, times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=2000)
    args = ap.parse_args()
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "1"
    rows = []
    with tempfile.TemporaryDirectory() as work:
        rows.append(bench_c(work, args.calls))
        rows.append(bench_python(work, args.calls, True))
        rows.append(bench_python(work, args.calls, False))
        import mlflow  # noqa: F401  (after runstore: its import is slow, not timed)

        for _name in ("mlflow", "alembic"):
            logging.getLogger(_name).setLevel(logging.WARNING)
        rows.append(bench_mlflow(f"runstore:{work}/plugin-store", "mlflow.log_metric on runstore: plugin", args.calls))
        rows.append(bench_mlflow(f"sqlite:///{work}/mlflow.db", "mlflow.log_metric on sqlite (MLflow's SQL store)", args.calls))
    print(f"single log_metric, {args.calls} calls each (µs per call)\n")
    print("| path | p50 µs | p99 µs | mean µs |\n|---|---:|---:|---:|")
    for name, p50, p99, mean in rows:
        print(f"| {name} | {p50:.1f} | {p99:.1f} | {mean:.1f} |")


if __name__ == "__main__":
    sys.exit(main())
