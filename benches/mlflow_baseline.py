"""MLflow baseline: how fast MLflow's own SQL store takes single log_metric calls.

Each benchmark gets a fresh SQLite store (sqlite:///<tmp>/<bench>/mlflow.db in one
tempfile.mkdtemp, removed at the end), so runstore's figures can be set beside MLflow's:

  single   SqlAlchemyStore.log_metric, one Metric per call, one run: --calls timed
           calls after 50 warm-up calls; per-call p50/p99/mean and calls/s.
  threads  --threads threads sharing one SqlAlchemyStore, each logging --calls points
           into its own run; aggregate points/s, per-call p50/p99, lock errors counted.
  procs    --procs processes ('spawn'), each with its own SqlAlchemyStore on the same
           file, each logging --proc-steps steps x 5 metrics (one call per point);
           aggregate points/s over the common logging window, failures counted.
  fluent   mlflow.log_metric(key, value, step=i) inside mlflow.start_run() against the
           sqlite tracking URI; per-call p50/p99.

--prepopulate N first fills a template store with N runs x 10 metrics in one experiment
and every benchmark starts from a copy of it. It writes the rows create_run + log_batch
would (runs, the mlflow.runName tag, metrics, latest_metrics) as bulk ORM inserts, 500
runs a transaction, since those calls cost ~25 ms each on an fsync-bound disk.
Times are time.perf_counter_ns around each call (store benchmarks include building the
Metric). Errors never abort a benchmark; they are counted: "locked" = SQLite's
"database is locked", "other" = anything else (the first one is printed).

Run:  benches/mlflow_baseline.sh [--calls 2000] [--threads 8] [--procs 8] [--proc-steps 2000]
          [--prepopulate 0] [--only single,threads,procs,fluent] [--json FILE]
(the .sh makes a venv with mlflow from PyPI; any Python with mlflow can run this file).
"""
import argparse, json, logging, os, shutil, sqlite3, sys, tempfile, threading, time, uuid
import multiprocessing as mp

import mlflow
from mlflow.entities import Metric
from mlflow.store.tracking.dbmodels.models import SqlLatestMetric, SqlMetric, SqlRun, SqlTag
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

WARMUP = 50
BENCHES = ("single", "threads", "procs", "fluent")
for _name in ("mlflow", "alembic"):  # after importing mlflow, which sets its own level
    logging.getLogger(_name).setLevel(logging.WARNING)


def now_ms():
    return int(time.time() * 1000)


def new_errors():
    return {"locked": 0, "other": 0, "first_other": None}


def note_error(errs, exc):
    kind = "locked" if "database is locked" in str(exc).lower() else "other"
    errs[kind] += 1
    if kind == "other" and not errs["first_other"]:
        errs["first_other"] = f"{type(exc).__name__}: {exc}"[:300]


def merge_errors(parts):
    out = new_errors()
    for e in parts:
        out.update(locked=out["locked"] + e["locked"], other=out["other"] + e["other"],
                   first_other=out["first_other"] or e["first_other"])
    return out


def store_logger(store, run_id):
    return lambda key, value, step: store.log_metric(run_id, Metric(key, value, now_ms(), step))


def timed_log(log, keys, steps, start_step, lat, errs):
    """One log(key, value, step) call per (step, key); appends each call's ns to lat."""
    pc = time.perf_counter_ns
    for step in range(start_step, start_step + steps):
        for k in keys:
            t = pc()
            try:
                log(k, 1.0 / (step + 1), step)
            except Exception as exc:  # counted, never fatal
                note_error(errs, exc)
                continue
            lat.append(pc() - t)


def sequential(name, log, calls):
    """WARMUP untimed calls, then `calls` timed ones, one metric 'loss', one call per step."""
    errs, lat = new_errors(), []
    timed_log(log, ["loss"], WARMUP, 0, [], errs)
    t0 = time.perf_counter_ns()
    timed_log(log, ["loss"], calls, WARMUP, lat, errs)
    return summary(name, lat, time.perf_counter_ns() - t0, errs)


def summary(name, lat, wall_ns, errs):
    s = sorted(lat)
    pick = lambda q: s[min(len(s) - 1, int(q * len(s)))] / 1e6 if s else float("nan")
    return {"benchmark": name, "points": len(s), "errors_locked": errs["locked"],
            "errors_other": errs["other"], "p50_ms": pick(0.50), "p99_ms": pick(0.99),
            "mean_ms": sum(s) / len(s) / 1e6 if s else float("nan"),
            "points_per_s": len(s) / (wall_ns / 1e9) if wall_ns > 0 else float("nan"),
            "first_other_error": errs["first_other"]}


def open_store(db, art):
    return SqlAlchemyStore(f"sqlite:///{db}", art)


def prepare(tmp, name):
    """<tmp>/<name>/mlflow.db (a copy of the template, if there is one) and artifacts/."""
    os.makedirs(os.path.join(tmp, name, "artifacts"))
    db = os.path.join(tmp, name, "mlflow.db")
    if name != "template":
        shutil.copyfile(os.path.join(tmp, "template", "mlflow.db"), db)
    return db, os.path.join(tmp, name, "artifacts")


def make_runs(store, art, name, n):
    exp = store.create_experiment(name, artifact_location=os.path.join(art, name))
    return [store.create_run(exp, "bench", now_ms(), [], f"{name}-{i}").info.run_id
            for i in range(n)]


def prepopulate(store, art, n, batch=500):
    """n runs x 10 metrics (step 0) in experiment 'prepopulated', committed per batch runs."""
    exp = store.create_experiment("prepopulated", artifact_location=os.path.join(art, "prepop"))
    ts = now_ms()
    for lo in range(0, n, batch):
        rows = []
        for i in range(lo, min(n, lo + batch)):
            rid = uuid.uuid4().hex
            rows.append(SqlRun(
                run_uuid=rid, name=f"pre-{i}", experiment_id=int(exp), user_id="bench",
                artifact_uri=f"{art}/prepop/{rid}/artifacts", source_type="UNKNOWN",
                source_name="", entry_point_name="", source_version="", status="FINISHED",
                start_time=ts, end_time=ts + 1, deleted_time=None, lifecycle_stage="active"))
            rows.append(SqlTag(run_uuid=rid, key="mlflow.runName", value=f"pre-{i}"))
            for k in range(10):
                kw = dict(run_uuid=rid, key=f"m{k}", value=(i * 10 + k) % 997 / 997.0,
                          timestamp=ts, step=0, is_nan=False)
                rows += [SqlMetric(**kw), SqlLatestMetric(**kw)]
        with store.ManagedSessionMaker(read_only=False) as session:
            session.add_all(rows)


def bench_single(db, art, a):
    store = open_store(db, art)
    (run,) = make_runs(store, art, "single", 1)
    return sequential("store.log_metric, 1 run", store_logger(store, run), a.calls)


def bench_threads(db, art, a):
    store = open_store(db, art)
    runs = make_runs(store, art, "threads", a.threads)
    lats, errs = [[] for _ in runs], [new_errors() for _ in runs]
    spans = [None] * len(runs)
    barrier = threading.Barrier(len(runs))

    def work(i):
        log = store_logger(store, runs[i])
        timed_log(log, ["loss"], 10, 0, [], errs[i])  # warm-up, untimed
        barrier.wait()
        t = time.perf_counter_ns()
        timed_log(log, ["loss"], a.calls, 10, lats[i], errs[i])
        spans[i] = (t, time.perf_counter_ns())

    ts = [threading.Thread(target=work, args=(i,)) for i in range(len(runs))]
    [t.start() for t in ts]
    [t.join() for t in ts]
    wall = max(s[1] for s in spans) - min(s[0] for s in spans)
    return summary(f"store.log_metric, {a.threads} threads", sum(lats, []), wall,
                   merge_errors(errs))


def proc_worker(db, art, run_id, steps, barrier, queue):
    errs, lat, span = new_errors(), [], (0, 0)
    try:
        store = open_store(db, art)
        barrier.wait(timeout=600)
        t = time.perf_counter_ns()  # CLOCK_MONOTONIC: comparable across processes on Linux
        timed_log(store_logger(store, run_id), [f"m{k}" for k in range(5)], steps, 0, lat, errs)
        span = (t, time.perf_counter_ns())
    except Exception as exc:
        note_error(errs, exc)
        barrier.abort()
    queue.put((span, lat, errs))


def bench_procs(db, art, a):
    store = open_store(db, art)
    runs = make_runs(store, art, "procs", a.procs)
    store.engine.dispose()
    ctx = mp.get_context("spawn")
    barrier, queue = ctx.Barrier(a.procs), ctx.Queue()
    ps = [ctx.Process(target=proc_worker, args=(db, art, r, a.proc_steps, barrier, queue))
          for r in runs]
    [p.start() for p in ps]
    results = []
    for _ in ps:
        try:
            results.append(queue.get(timeout=3600))
        except Exception:  # queue.Empty: a worker died without reporting
            break
    [p.join(timeout=60) for p in ps]
    errs = merge_errors([r[2] for r in results])
    errs["other"] += a.procs - len(results)  # a worker that never reported counts as failed
    spans = [r[0] for r in results if r[0][1]]
    wall = max(s[1] for s in spans) - min(s[0] for s in spans) if spans else 0
    return summary(f"store.log_metric, {a.procs} procs x 5 metrics",
                   sum((r[1] for r in results), []), wall, errs)


def bench_fluent(db, art, a):
    mlflow.set_tracking_uri(f"sqlite:///{db}")
    exp = mlflow.create_experiment("fluent", artifact_location=os.path.join(art, "fluent"))
    with mlflow.start_run(experiment_id=exp):
        return sequential("mlflow.log_metric (fluent)",
                          lambda key, value, step: mlflow.log_metric(key, value, step=step),
                          a.calls)


def table(rows):
    cols = [("benchmark", "benchmark", "{}"), ("points", "points", "{}"),
            ("locked", "errors_locked", "{}"), ("other err", "errors_other", "{}"),
            ("p50 ms", "p50_ms", "{:.3f}"), ("p99 ms", "p99_ms", "{:.3f}"),
            ("mean ms", "mean_ms", "{:.3f}"), ("points/s", "points_per_s", "{:.1f}")]
    cells = [[f.format(r[k]) for _, k, f in cols] for r in rows]
    w = [max(len(h), *(len(c[i]) for c in cells)) for i, (h, _, _) in enumerate(cols)]
    fmt = lambda cs: "  ".join(c.ljust(w[0]) if i == 0 else c.rjust(w[i])
                               for i, c in enumerate(cs))
    lines = [fmt([h for h, _, _ in cols]), "  ".join("-" * x for x in w)]
    return "\n".join(lines + [fmt(c) for c in cells])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--calls", type=int, default=2000, help="timed calls (per thread for threads)")
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--procs", type=int, default=8)
    p.add_argument("--proc-steps", type=int, default=2000, help="steps per process (x 5 metrics)")
    p.add_argument("--prepopulate", type=int, default=0, help="runs (x 10 metrics) to load first")
    p.add_argument("--only", default=",".join(BENCHES), help="comma list of " + ",".join(BENCHES))
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    a = p.parse_args()
    only = [b.strip() for b in a.only.split(",") if b.strip()]
    if bad := [b for b in only if b not in BENCHES]:
        p.error(f"unknown benchmark(s) {bad}; choose from {','.join(BENCHES)}")
    tmp = tempfile.mkdtemp(prefix="mlflow-baseline-")
    rows, t_all = [], time.perf_counter()
    try:
        store = open_store(*prepare(tmp, "template"))  # schema migrations run once, here
        if a.prepopulate:
            prepopulate(store, os.path.join(tmp, "template", "artifacts"), a.prepopulate)
        store.engine.dispose()
        print(f"template store ready ({a.prepopulate} runs prepopulated) in "
              f"{time.perf_counter() - t_all:.1f} s", file=sys.stderr)
        for name in only:
            t = time.perf_counter()
            rows.append(globals()[f"bench_{name}"](*prepare(tmp, name), a))
            rows[-1]["seconds"] = round(time.perf_counter() - t, 1)
            print(f"{name}: done in {rows[-1]['seconds']} s", file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    env = {"mlflow_version": mlflow.__version__, "python": sys.version.split()[0],
           "sqlite_version": sqlite3.sqlite_version, "cpus": os.cpu_count()}
    print(f"mlflow {env['mlflow_version']}, Python {env['python']}, SQLite "
          f"{env['sqlite_version']}, {env['cpus']} CPUs; prepopulated {a.prepopulate} runs x 10 "
          f"metrics; calls={a.calls} threads={a.threads} procs={a.procs} proc-steps={a.proc_steps}")
    print(table(rows))
    for r in (r for r in rows if r["first_other_error"]):
        print(f"first other error in {r['benchmark']}: {r['first_other_error']}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({**env, "config": vars(a), "results": rows,
                       "total_seconds": round(time.perf_counter() - t_all, 1)}, f, indent=2)


if __name__ == "__main__":
    main()
