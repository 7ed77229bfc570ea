#!/usr/bin/env python3
"""Checks a `runstore export DIR` against the run records that were ingested.

    python check_export.py --records FILE.jsonl --export DIR [--view active|deleted|all]
                           [--experiment NAME]... [--runstore BIN --db STORE]

From the records (CONTRACT.md's JSON Lines run records, ingested in that order
into a store that held nothing else) it computes what the export must hold,
then opens every file of DIR with pyarrow (`pq.read_table(path)`), pandas
(`pd.read_parquet(path)`) and DuckDB (`SELECT * FROM 'path'`), all with no
options, and checks the row counts, the exact Arrow types, the order of the
rows and every value. With --runstore and --db it also runs each query of
sql_examples.json (beside this file) through `BIN --db STORE sql --format json`
and through DuckDB over the exported files, and checks that they agree.

--view and --experiment must be the ones the export was made with.

Exit status 0 with a one-line summary when everything holds; 1 with every
difference found (the first few of each kind) otherwise; 2 for bad arguments.
"""

import argparse
import datetime
import decimal
import json
import math
import os
import subprocess
import sys

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")
STAGES = ("active", "deleted")
TAG_RUN_NAME = "mlflow.runName"
TAG_USER = "mlflow.user"
TAG_PARENT = "mlflow.parentRunId"
F64_MAX = sys.float_info.max
SPECIAL = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
# Differences printed per kind before "... and N more".
SHOW = 8


class BadRecords(Exception):
    """A records file the checker cannot use (not a difference in the export)."""


# --------------------------------------------------------------------------
# What the records say the store holds.
# --------------------------------------------------------------------------


def stored_form(v):
    """A value as MLflow's SQL store compares it: NaN as (0, True), +-inf as +-f64::MAX."""
    if math.isnan(v):
        return (0.0, True)
    if v == math.inf:
        return (F64_MAX, False)
    if v == -math.inf:
        return (-F64_MAX, False)
    return (v + 0.0, False)  # -0.0 -> 0.0


def point_order(run_id, key, p):
    """Sort key of a metrics.parquet row: run_id, key, step, timestamp, value (NaN as 0, after 0)."""
    step, value, ts = p
    sv, nan = stored_form(value)
    return (run_id, key, step, ts, sv, nan)


class Run:
    def __init__(self, run_id, experiment):
        self.run_id = run_id
        self.experiment = experiment
        self.run_name = None  # None: the store names it; any name is accepted
        self.status = "FINISHED"
        self.start_time = None  # None: the store takes the ingest time
        self.end_time = None
        self.user = ""
        self.lifecycle_stage = "active"
        self.params = {}
        self.tags = {}
        self.metrics = {}  # key -> [(step, value, ts)], identical points once, in logged order
        self.seen_points = {}  # key -> {(step, ts, stored value)}
        self.inputs = []  # first (name, digest) link wins

    def all_tags(self):
        tags = dict(self.tags)
        if self.run_name is not None:
            tags[TAG_RUN_NAME] = self.run_name
        if self.user:
            tags[TAG_USER] = self.user
        return tags

    def latest(self, key):
        """MLflow's latest value: highest step, then latest timestamp, then largest value."""
        best = None
        for p in self.metrics[key]:
            if best is None or (p[0], p[2], stored_form(p[1])[0]) > (
                best[0],
                best[2],
                stored_form(best[1])[0],
            ):
                best = p
        return best[1]


def metric_value(v, where):
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise BadRecords(f"{where}: metric value {v!r}")
    if isinstance(v, str):
        if v not in SPECIAL:
            raise BadRecords(f"{where}: metric value {v!r}")
        return SPECIAL[v]
    return float(v)


def text_value(v, where):
    """Params and tags: strings, or numbers as their JSON text (the raw parse keeps it)."""
    if not isinstance(v, str):
        raise BadRecords(f"{where}: expected a string or a number, got {v!r}")
    return v


def read_records(path):
    """The runs the records make ({run_id: Run}, first-seen order) and the experiment
    names (first-seen order)."""
    runs = {}
    experiments = []  # names, first-seen order
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        rec = json.loads(line)
        # Numbers in params and tags are stored as their JSON text: parse once more keeping it.
        raw = json.loads(line, parse_int=str, parse_float=str)
        if not isinstance(rec, dict) or not isinstance(rec.get("experiment"), str):
            raise BadRecords(f"{where}: a record needs an experiment")
        run_id = rec.get("run_id")
        if not isinstance(run_id, str):
            raise BadRecords(f"{where}: the checker needs every record to give its run_id")
        run_id = run_id.lower()  # the store keeps lowercase hex
        exp = rec["experiment"]
        if exp not in experiments:
            experiments.append(exp)
        run = runs.get(run_id)
        new = run is None
        if new:
            run = runs[run_id] = Run(run_id, exp)
        elif run.experiment != exp:
            raise BadRecords(f"{where}: run {run_id} is in {run.experiment!r}, not {exp!r}")

        params = {k: text_value(v, f"{where}: params.{k}") for k, v in (raw.get("params") or {}).items()}
        tags = {k: text_value(v, f"{where}: tags.{k}") for k, v in (raw.get("tags") or {}).items()}
        run_name = rec["run_name"] if rec.get("run_name") is not None else tags.get(TAG_RUN_NAME)
        user = rec["user"] if rec.get("user") is not None else tags.get(TAG_USER)
        tags.pop(TAG_RUN_NAME, None)
        tags.pop(TAG_USER, None)
        if rec.get("parent_run_id") is not None:
            tags[TAG_PARENT] = rec["parent_run_id"].lower()

        if rec.get("status") is not None:
            run.status = rec["status"]  # else it stays: FINISHED for a new run
        if rec.get("lifecycle_stage") is not None:
            run.lifecycle_stage = rec["lifecycle_stage"]
        if rec.get("end_time") is not None:
            run.end_time = rec["end_time"]
        if new and rec.get("start_time") is not None:
            run.start_time = rec["start_time"]
        if run_name is not None:
            run.run_name = run_name
        if user is not None and not run.user:
            run.user = user
        if run.status not in STATUSES or run.lifecycle_stage not in STAGES:
            raise BadRecords(f"{where}: status {run.status!r} / lifecycle_stage {run.lifecycle_stage!r}")
        for k, v in params.items():
            if run.params.setdefault(k, v) != v:
                raise BadRecords(f"{where}: param {k} changes from {run.params[k]!r} to {v!r}")
        run.tags.update(tags)
        for key, pts in (rec.get("metrics") or {}).items():
            for p in pts:
                step, value, ts = p
                value = metric_value(value, f"{where}: metrics.{key}")
                ident = (step, ts) + stored_form(value)
                seen = run.seen_points.setdefault(key, set())
                if ident in seen:
                    continue
                seen.add(ident)
                run.metrics.setdefault(key, []).append((step, value, ts))
        for inp in rec.get("inputs") or []:
            if any(i["name"] == inp["name"] and i["digest"] == inp["digest"] for i in run.inputs):
                continue
            run.inputs.append(
                {
                    "name": inp["name"],
                    "digest": inp["digest"],
                    "source_type": inp.get("source_type") or "",
                    "source": inp.get("source") or "",
                    "context": inp.get("context"),
                    "schema": inp.get("schema"),
                    "profile": inp.get("profile"),
                }
            )
    return runs, experiments


# --------------------------------------------------------------------------
# Reading a file the three ways, each into plain Python values:
# str, int, float (NaN kept), None, dict (maps); timestamps as int milliseconds.
# --------------------------------------------------------------------------


def arrow_view(table):
    cols = []
    for name, col in zip(table.column_names, table.columns):
        if pa.types.is_timestamp(col.type):
            col = col.cast(pa.int64())
        values = col.to_pylist()
        if pa.types.is_map(col.type):
            values = [None if v is None else dict(v) for v in values]
        cols.append(values)
    return table.column_names, [tuple(r) for r in zip(*cols)] if cols else []


def pandas_view(df):
    cols = []
    for name in df.columns:
        s = df[name]
        out = []
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            for v in s:
                out.append(None if pd.isna(v) else v.value // 1_000_000)  # .value: ns
        else:
            for v in s.tolist():
                if isinstance(v, (list, tuple)):
                    v = dict(v)  # a map: [(key, value)]
                elif hasattr(v, "item"):
                    v = v.item()  # a NumPy scalar
                elif v is pd.NA or v is pd.NaT:
                    v = None
                out.append(v)  # a missing string is NaN here: compared with nan_is_null
        cols.append(out)
    return list(df.columns), [tuple(r) for r in zip(*cols)] if cols else []


def sql_path(path):
    return "'" + path.replace("'", "''") + "'"


def quote_ident(name):
    return '"' + name.replace('"', '""') + '"'


def duck_types(con, path):
    return [(r[0], r[1]) for r in con.execute(f"DESCRIBE SELECT * FROM {sql_path(path)}").fetchall()]


def duck_value(v):
    if isinstance(v, dict) and set(v) == {"key", "value"} and isinstance(v["key"], list):
        return dict(zip(v["key"], v["value"]))
    return v


def duckdb_view(con, path):
    types = duck_types(con, path)
    exprs = []
    for name, typ in types:
        q = quote_ident(name)
        exprs.append(f"epoch_ms({q})" if typ.startswith("TIMESTAMP") else q)
    rows = con.execute(f"SELECT {', '.join(exprs)} FROM {sql_path(path)}").fetchall()
    return [t[0] for t in types], [tuple(duck_value(v) for v in r) for r in rows]


# --------------------------------------------------------------------------
# Comparing.
# --------------------------------------------------------------------------


def same(a, b, nan_is_null=False):
    """Equal values of equal types; NaN equals NaN. With nan_is_null (pandas, which reads a
    null as NaN or NaT), a null equals NaN."""
    if nan_is_null:
        a = math.nan if a is None else a
        b = math.nan if b is None else b
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return type(a) is type(b) and a == b


def show(v):
    return repr(v)


class Report:
    def __init__(self):
        self.problems = {}  # kind -> [messages]

    def add(self, kind, msg):
        self.problems.setdefault(kind, []).append(msg)

    def ok(self):
        return not self.problems

    def print(self):
        for kind, msgs in self.problems.items():
            print(f"MISMATCH {kind}: {len(msgs)} difference(s)")
            for m in msgs[:SHOW]:
                print(f"  {m}")
            if len(msgs) > SHOW:
                print(f"  ... and {len(msgs) - SHOW} more")


def compare_views(report, kind, base, other, nan_is_null=False):
    """`other` (pandas or DuckDB) must hold what `base` (pyarrow) holds, cell by cell."""
    bcols, brows = base
    ocols, orows = other
    if list(bcols) != list(ocols):
        report.add(kind, f"columns {list(ocols)} but pyarrow reads {list(bcols)}")
        return
    if len(brows) != len(orows):
        report.add(kind, f"{len(orows)} rows but pyarrow reads {len(brows)}")
        return
    for i, (br, orow) in enumerate(zip(brows, orows)):
        for c, bv, ov in zip(bcols, br, orow):
            if not same(bv, ov, nan_is_null):
                report.add(kind, f"row {i} column {c}: {show(ov)}, pyarrow reads {show(bv)}")


def check_schema(report, name, table, want):
    """want: [(column, arrow type or 'map<string,string>')]"""
    got = [(f.name, f.type) for f in table.schema]
    gnames = [g[0] for g in got]
    wnames = [w[0] for w in want]
    if gnames != wnames:
        report.add(f"{name} columns", f"got {gnames}\n    want {wnames}")
    for (gn, gt), (wn, wt) in zip(got, want):
        if gn != wn:
            continue
        if wt == "map<string,string>":
            good = pa.types.is_map(gt) and gt.key_type == pa.string() and gt.item_type == pa.string()
        else:
            good = gt == wt
        if not good:
            report.add(f"{name} types", f"column {gn}: {gt}, want {wt}")


DUCK_TYPE = {
    "string": "VARCHAR",
    "dictionary<values=string, indices=int32, ordered=0>": "VARCHAR",
    "timestamp[ms, tz=UTC]": "TIMESTAMP WITH TIME ZONE",
    "timestamp[ms]": "TIMESTAMP",
    "int64": "BIGINT",
    "double": "DOUBLE",
    "map<string,string>": "MAP(VARCHAR, VARCHAR)",
}


def check_duck_types(report, name, con, path, want):
    got = duck_types(con, path)
    for (gn, gt), (wn, wt) in zip(got, want):
        d = DUCK_TYPE[str(wt)]
        if gn == wn and gt != d:
            report.add(f"{name} DuckDB types", f"column {gn}: DuckDB reads {gt}, want {d}")


def check_sorted(report, name, keys, strict, what):
    for i in range(1, len(keys)):
        a, b = keys[i - 1], keys[i]
        if a > b or (strict and a == b):
            report.add(
                f"{name} order",
                f"row {i - 1} {a!r} {'then' if a != b else 'repeated at'} row {i} {b!r} (rows must be sorted by {what}{', no repeats' if strict else ''})",
            )


STR = pa.string()
DICT = pa.dictionary(pa.int32(), pa.string())
TS_UTC = pa.timestamp("ms", tz="UTC")
TS = pa.timestamp("ms")
F64 = pa.float64()
I64 = pa.int64()


class Checker:
    def __init__(self, args):
        self.args = args
        self.report = Report()
        self.con = duckdb.connect()
        self.summary = {}

    def path(self, name):
        return os.path.join(self.args.export, name)

    def open(self, name, want_schema):
        """Opens file `name` three ways; checks types and that all three read the same.
        Returns the pyarrow view."""
        path = self.path(name)
        if not os.path.isfile(path):
            self.report.add(name, f"{path} is missing")
            return None
        try:
            table = pq.read_table(path)
        except Exception as e:  # noqa: BLE001 - any failure to read is the finding
            self.report.add(name, f"pq.read_table fails: {type(e).__name__}: {e}")
            return None
        check_schema(self.report, name, table, want_schema)
        base = arrow_view(table)
        try:
            df = pd.read_parquet(path)
            compare_views(self.report, f"{name} pandas", base, pandas_view(df), nan_is_null=True)
        except Exception as e:  # noqa: BLE001 - any failure to read is the finding
            self.report.add(f"{name} pandas", f"pd.read_parquet fails: {type(e).__name__}: {e}")
        try:
            check_duck_types(self.report, name, self.con, path, want_schema)
            compare_views(self.report, f"{name} DuckDB", base, duckdb_view(self.con, path))
        except Exception as e:  # noqa: BLE001
            self.report.add(f"{name} DuckDB", f"DuckDB fails: {type(e).__name__}: {e}")
        return base

    def expect_rows(self, name, view, want_rows, key_len):
        """Compares rows, matching them on their first key_len columns."""
        cols, rows = view
        if len(rows) != len(want_rows):
            self.report.add(f"{name} rows", f"{len(rows)} rows, want {len(want_rows)}")
        got = {}
        for r in rows:
            got.setdefault(r[:key_len], []).append(r)
        want = {}
        for r in want_rows:
            want.setdefault(r[:key_len], []).append(r)
        for k in sorted(set(want) - set(got), key=repr):
            self.report.add(f"{name} rows", f"missing {dict(zip(cols, want[k][0]))}")
        for k in sorted(set(got) - set(want), key=repr):
            self.report.add(f"{name} rows", f"unexpected {dict(zip(cols, got[k][0]))}")
        for k in sorted(set(got) & set(want), key=repr):
            g, w = got[k], want[k]
            if len(g) != len(w):
                self.report.add(f"{name} rows", f"{k}: {len(g)} rows, want {len(w)}")
                continue
            for gr, wr in zip(g, w):
                for c, gv, wv in zip(cols, gr, wr):
                    if not same(gv, wv):
                        self.report.add(f"{name} values", f"{k} {c}: {show(gv)}, want {show(wv)}")

    def run(self):
        a = self.args
        all_runs, record_experiments = read_records(a.records)
        wanted_exps = a.experiment or record_experiments
        unknown = [e for e in wanted_exps if e not in record_experiments]
        if unknown:
            raise BadRecords(f"--experiment {unknown} is in none of the records")
        views = {"active": ("active",), "deleted": ("deleted",), "all": STAGES}[a.view]
        runs = sorted(
            (r for r in all_runs.values() if r.lifecycle_stage in views and r.experiment in wanted_exps),
            key=lambda r: r.run_id,
        )
        by_id = {r.run_id: r for r in runs}

        # experiments.parquet: every experiment (of --experiment), whatever its runs' stage.
        exp_schema = [
            ("experiment_id", STR),
            ("name", STR),
            ("lifecycle_stage", STR),
            ("artifact_location", STR),
            ("creation_time", TS_UTC),
            ("last_update_time", TS_UTC),
            ("tags", "map<string,string>"),
        ]
        exps = self.open("experiments.parquet", exp_schema)
        exp_by_name = {}
        if exps is not None:
            cols, rows = exps
            for r in rows:
                e = dict(zip(cols, r))
                if e.get("name") in exp_by_name:
                    self.report.add("experiments.parquet rows", f"experiment {e.get('name')!r} twice")
                exp_by_name[e.get("name")] = e
            ids = [e.get("experiment_id") for e in exp_by_name.values()]
            if len(set(ids)) != len(ids):
                self.report.add("experiments.parquet values", f"experiment ids repeat: {ids}")
            if sorted(exp_by_name, key=str) != sorted(wanted_exps):
                self.report.add(
                    "experiments.parquet rows",
                    f"experiments {sorted(exp_by_name, key=str)}, want {sorted(wanted_exps)}",
                )
            for name, e in exp_by_name.items():
                if e.get("lifecycle_stage") != "active":
                    self.report.add("experiments.parquet values", f"{name}: lifecycle_stage {e.get('lifecycle_stage')!r}")
                if not isinstance(e.get("artifact_location"), str) or not e["artifact_location"]:
                    self.report.add("experiments.parquet values", f"{name}: artifact_location {e.get('artifact_location')!r}")
                ct, ut = e.get("creation_time"), e.get("last_update_time")
                if not isinstance(ct, int) or not isinstance(ut, int) or ut < ct:
                    self.report.add("experiments.parquet values", f"{name}: creation_time {ct!r}, last_update_time {ut!r}")
                if e.get("tags") != {}:
                    self.report.add("experiments.parquet values", f"{name}: tags {e.get('tags')!r}, want {{}}")

        # runs.parquet
        param_keys = sorted({k for r in runs for k in r.params})
        metric_keys = sorted({k for r in runs for k in r.metrics})
        tag_keys = sorted({k for r in runs for k in r.all_tags()} | ({TAG_RUN_NAME} if runs else set()))
        run_schema = [
            ("run_id", STR),
            ("run_name", STR),
            ("experiment_id", DICT),
            ("experiment", DICT),
            ("status", DICT),
            ("start_time", TS_UTC),
            ("end_time", TS_UTC),
            ("user", STR),
            ("lifecycle_stage", DICT),
            ("artifact_uri", STR),
        ]
        run_schema += [(f"params.{k}", STR) for k in param_keys]
        run_schema += [(f"metrics.{k}", F64) for k in metric_keys]
        run_schema += [(f"tags.{k}", STR) for k in tag_keys]
        got_runs = self.open("runs.parquet", run_schema)
        if got_runs is not None:
            cols, rows = got_runs
            ci = {c: i for i, c in enumerate(cols)}
            check_sorted(self.report, "runs.parquet", [r[ci["run_id"]] for r in rows] if "run_id" in ci else [], True, "run_id")
            # Fill in what the records leave to the store (a generated name, the ingest time).
            got_by_id = {r[ci["run_id"]]: r for r in rows} if "run_id" in ci else {}
            for run in runs:
                g = got_by_id.get(run.run_id)
                if g is None:
                    continue
                if run.run_name is None and "run_name" in ci:
                    name = g[ci["run_name"]]
                    if isinstance(name, str) and name:
                        run.run_name = name
                    else:
                        self.report.add("runs.parquet values", f"{run.run_id}: generated run_name {name!r}")
                if run.start_time is None and "start_time" in ci:
                    st = g[ci["start_time"]]
                    if isinstance(st, int):
                        run.start_time = st
                    else:
                        self.report.add("runs.parquet values", f"{run.run_id}: start_time {st!r}")
            want_rows = []
            for run in runs:
                e = exp_by_name.get(run.experiment) or {}
                exp_id = e.get("experiment_id", "<no such experiment in experiments.parquet>")
                loc = e.get("artifact_location", "<no such experiment in experiments.parquet>")
                tags = run.all_tags()
                row = [
                    run.run_id,
                    run.run_name,
                    exp_id,
                    run.experiment,
                    run.status,
                    run.start_time,
                    run.end_time,
                    run.user,
                    run.lifecycle_stage,
                    f"{loc}/{run.run_id}/artifacts",
                ]
                row += [run.params.get(k) for k in param_keys]
                row += [run.latest(k) if k in run.metrics else None for k in metric_keys]
                row += [tags.get(k) for k in tag_keys]
                want_rows.append(tuple(row))
            if [c for c, _ in run_schema] == cols:
                self.expect_rows("runs.parquet", got_runs, want_rows, 1)
            self.summary["runs"] = len(rows)

        # metrics.parquet
        metric_schema = [("run_id", STR), ("key", STR), ("step", I64), ("timestamp", TS), ("value", F64)]
        got_metrics = self.open("metrics.parquet", metric_schema)
        if got_metrics is not None:
            cols, rows = got_metrics
            want = sorted(
                ((r.run_id, k, p[0], p[2], p[1]) for r in runs for k, pts in r.metrics.items() for p in pts),
                key=lambda t: point_order(t[0], t[1], (t[2], t[4], t[3])),
            )
            if [c for c, _ in metric_schema] == cols:
                check_sorted(
                    self.report,
                    "metrics.parquet",
                    [point_order(r[0], r[1], (r[2], r[4], r[3])) for r in rows],
                    True,
                    "run_id, key, step, timestamp, value",
                )
                self.expect_rows("metrics.parquet", got_metrics, want, 4)
                self.check_sequence("metrics.parquet", got_metrics, want)
            self.summary["metric points"] = len(rows)

        # A name the store gave, when runs.parquet could not tell it: from the tag.
        unnamed = [r for r in runs if r.run_name is None]
        if unnamed and os.path.isfile(self.path("tags.parquet")):
            try:
                t = pq.read_table(self.path("tags.parquet")).to_pylist()
                names = {x["run_id"]: x["value"] for x in t if x.get("key") == TAG_RUN_NAME}
                for r in unnamed:
                    r.run_name = names.get(r.run_id)
            except Exception:  # noqa: BLE001 - reported when tags.parquet is checked
                pass

        # params.parquet, tags.parquet
        kv_schema = [("run_id", STR), ("key", STR), ("value", STR)]
        for name, items in (
            ("params.parquet", lambda r: r.params),
            ("tags.parquet", lambda r: r.all_tags()),
        ):
            got = self.open(name, kv_schema)
            if got is None:
                continue
            cols, rows = got
            want = sorted((r.run_id, k, v) for r in runs for k, v in items(r).items())
            if [c for c, _ in kv_schema] == cols:
                check_sorted(self.report, name, [r[:2] for r in rows], True, "run_id, key")
                self.expect_rows(name, got, want, 2)
            self.summary[name.split(".")[0]] = len(rows)

        # inputs.parquet
        input_cols = ["run_id", "name", "digest", "source_type", "source", "context", "schema", "profile"]
        input_schema = [(c, STR) for c in input_cols]
        got = self.open("inputs.parquet", input_schema)
        if got is not None:
            cols, rows = got
            if input_cols == cols:
                check_sorted(self.report, "inputs.parquet", [r[0] for r in rows], False, "run_id")
                want = sorted(
                    tuple([r.run_id] + [i[c] for c in input_cols[1:]]) for r in runs for i in r.inputs
                )
                # Within a run the order is not fixed: compare each run's inputs sorted.
                by_run = {}
                for row in rows:
                    by_run.setdefault(row[0], []).append(row)
                got_sorted = [row for k in sorted(by_run, key=str) for row in sorted(by_run[k], key=repr)]
                self.expect_rows("inputs.parquet", (cols, got_sorted), want, 3)
            self.summary["inputs"] = len(rows)

        if a.runstore:
            self.check_sql()

    def check_sequence(self, name, got, want):
        """The whole file in order (catches an order the row match above does not)."""
        cols, rows = got
        for i, (g, w) in enumerate(zip(rows, want)):
            if not all(same(x, y) for x, y in zip(g, w)):
                self.report.add(f"{name} order", f"row {i} is {g!r}, want {w!r}")
                break

    def check_sql(self):
        a = self.args
        with open(os.path.join(HERE, "sql_examples.json"), encoding="utf-8") as f:
            examples = json.load(f)
        con = duckdb.connect()
        for t in ("runs", "metrics", "params", "tags", "experiments", "inputs"):
            con.execute(f"CREATE VIEW {t} AS SELECT * FROM {sql_path(self.path(t + '.parquet'))}")
        for ex in examples:
            kind = f"sql {ex['name']}"
            try:
                cur = con.execute(ex["sql"])
                dcols = [d[0] for d in cur.description]
                drows = [tuple(duck_sql_value(v) for v in r) for r in cur.fetchall()]
            except Exception as e:  # noqa: BLE001
                self.report.add(kind, f"DuckDB fails: {type(e).__name__}: {e}")
                continue
            cmd = [a.runstore, "--db", a.db, "sql", "--format", "json", ex["sql"]]
            p = subprocess.run(cmd, capture_output=True, text=True)
            if p.returncode != 0:
                self.report.add(kind, f"runstore sql exits {p.returncode}: {p.stderr.strip()}")
                continue
            try:
                doc = json.loads(p.stdout)
                rcols, rrows = doc["columns"], doc["rows"]
            except (ValueError, KeyError, TypeError) as e:
                self.report.add(kind, f"runstore sql prints no {{columns, rows}} JSON ({e}): {p.stdout[:300]!r}")
                continue
            if not drows:
                self.report.add(kind, "DuckDB finds no rows: the records give this example nothing to compare")
            if rcols != dcols:
                self.report.add(kind, f"runstore columns {rcols}, DuckDB {dcols}")
                continue
            if len(rrows) != len(drows):
                self.report.add(kind, f"runstore {len(rrows)} rows, DuckDB {len(drows)}")
            for i, (rr, dr) in enumerate(zip(rrows, drows)):
                if len(rr) != len(dr):
                    self.report.add(kind, f"row {i}: runstore {rr!r}, DuckDB {dr!r}")
                    continue
                for c, rv, dv in zip(rcols, rr, dr):
                    if not sql_same(rv, dv):
                        self.report.add(kind, f"row {i} column {c}: runstore {rv!r}, DuckDB {dv!r}")
            self.summary.setdefault("sql", []).append(f"{ex['name']} ({len(drows)} rows)")


def duck_sql_value(v):
    if isinstance(v, datetime.datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=datetime.timezone.utc)
        return (v - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)) // datetime.timedelta(milliseconds=1)
    if isinstance(v, decimal.Decimal):
        return float(v)
    return duck_value(v)


def sql_same(rv, dv):
    """A `runstore sql` JSON cell against a DuckDB value: numbers within 1e-9 relative."""
    if isinstance(rv, str) and rv in SPECIAL and isinstance(dv, float):
        rv = SPECIAL[rv]
    num = (int, float)
    if isinstance(rv, num) and isinstance(dv, num) and not isinstance(rv, bool) and not isinstance(dv, bool):
        rv, dv = float(rv), float(dv)
        if math.isnan(rv) or math.isnan(dv):
            return math.isnan(rv) and math.isnan(dv)
        if math.isinf(rv) or math.isinf(dv):
            return rv == dv
        return abs(rv - dv) <= 1e-9 * max(abs(rv), abs(dv))
    return type(rv) is type(dv) and rv == dv


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", required=True, help="the JSON Lines file the store ingested")
    ap.add_argument("--export", required=True, help="the directory `runstore export` wrote")
    ap.add_argument("--view", choices=("active", "deleted", "all"), default="active")
    ap.add_argument("--experiment", action="append", help="as given to export (repeatable)")
    ap.add_argument("--runstore", help="the runstore binary: also compare the SQL examples")
    ap.add_argument("--db", help="the store (with --runstore)")
    args = ap.parse_args()
    if bool(args.runstore) != bool(args.db):
        ap.error("--runstore and --db go together")
    checker = Checker(args)
    try:
        checker.run()
    except BadRecords as e:
        print(f"check_export: cannot check: {e}")
        return 1
    if not checker.report.ok():
        checker.report.print()
        print(f"check_export: FAILED ({sum(len(m) for m in checker.report.problems.values())} differences)")
        return 1
    s = checker.summary
    counts = ", ".join(f"{s.get(k, 0)} {k}" for k in ("runs", "metric points", "params", "tags", "inputs"))
    sql = f"; runstore sql agrees with DuckDB on {', '.join(s['sql'])}" if "sql" in s else ""
    print(
        f"check_export: OK ({args.view} view): {counts}, as the records say; pyarrow {pa.__version__}, "
        f"pandas {pd.__version__} and duckdb {duckdb.__version__} read the same{sql}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
