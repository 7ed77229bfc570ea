#!/usr/bin/env python3
"""MLflow oracle for runstore's search conformance corpora.

Loads a JSON Lines dataset in runstore's run-record format (see CONTRACT.md) into a
fresh SQLite-backed ``mlflow.store.tracking.sqlalchemy_store.SqlAlchemyStore`` and
answers search cases (the shape of ``conformance/cases.json``) with
``SqlAlchemyStore.search_runs``.  This is a development tool: it needs MLflow
3.17.0 installed in a virtualenv outside the repository, and is never run by CI.

    python3 -m venv /work/mlflow-venv && /work/mlflow-venv/bin/pip install mlflow==3.17.0

    # check: does the oracle reproduce every expected answer of a corpus?
    /work/mlflow-venv/bin/python tools/oracle/mlflow_oracle.py check CORPUS_DIR [-v]

    # answer: fill in "expect" for every case of CASES (read with or without answers)
    /work/mlflow-venv/bin/python tools/oracle/mlflow_oracle.py answer DATASET CASES -o OUT

    # ad-hoc query against a dataset (handy while exploring semantics)
    /work/mlflow-venv/bin/python tools/oracle/mlflow_oracle.py query DATASET \
        --filter "metrics.acc > 0.5" --order-by "params.lr DESC" [--view all] \
        [--experiment NAME]... [--max-results N] [--paged]

How the dataset is loaded (this reproduces the shared corpus exactly):

* Experiments are created in order of first appearance in the file (MLflow numbers
  them 1, 2, 3...; ``0`` is the empty Default experiment).  A case with
  ``"experiments": null`` searches every experiment in the store.
* Each record becomes ``create_run(experiment_id, user_id=user, start_time=start_time,
  tags=[...], run_name=run_name)``.  The run id of the record is forced by handing
  ``create_run`` a ``uuid4`` that returns it (so the artifact URI is the one MLflow
  itself derives from the id: ``<artifact root>/<experiment id>/<run id>/artifacts``).
  ``user`` also becomes the tag ``mlflow.user`` and ``parent_run_id`` the tag
  ``mlflow.parentRunId``; ``run_name`` becomes the ``name`` column and the tag
  ``mlflow.runName`` (create_run adds it).
* Params, tags and metrics go in with one ``log_batch`` call per record, in file
  order (metric keys in the record's order, each key's points in list order).  This
  matters only for exact ties of the latest-metric rule: MLflow replaces the latest
  value only when (step, timestamp, stored value) is *strictly* larger, where NaN is
  stored as 0 and +-Infinity as +-1.7976931348623157e308, so among equal triples the
  point logged first stays latest.
* Dataset inputs: one ``log_inputs`` call with every input of the record; ``context``
  becomes the input tag ``mlflow.data.context``.
* Then ``update_run_info(status, end_time)``, and finally ``delete_run`` for
  ``"lifecycle_stage": "deleted"`` (MLflow refuses to log to a deleted run).
* A record whose ``run_id`` was already seen appends to that run (log_batch and
  log_inputs again; status/end_time/lifecycle updated when given), as CONTRACT.md says.

Each case answer is ``{"ok": true, "run_ids": [...]}`` (following page tokens to the
end when ``"paged": true``) or ``{"ok": false, "error": "<MLflow's message>"}``.
Failures that are not MLflow's own input validation (a foreign exception such as
sqlite3's OverflowError for an integer literal beyond 64 bits, which MLflow wraps as
INTERNAL_ERROR, i.e. HTTP 500) carry an extra ``"internal": true`` so that a corpus
generator can drop them.

The process re-executes itself with PYTHONHASHSEED=0: several MLflow messages print
Python sets, and a fixed hash seed makes their text (and so the corpora) reproducible.
"""
import argparse
import json
import logging
import math
import os
import shutil
import sys
import tempfile
import types
import uuid
import warnings


def pin_hash_seed():
    """Re-exec the running script with PYTHONHASHSEED=0 (stable set order in messages)."""
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.environ["PYTHONHASHSEED"] = "0"
        os.execv(sys.executable, [sys.executable] + sys.argv)


warnings.filterwarnings("ignore")
logging.disable(logging.CRITICAL)
os.environ.setdefault("MLFLOW_TRACKING_URI", "")

from mlflow.entities import (  # noqa: E402
    Dataset,
    DatasetInput,
    InputTag,
    Metric,
    Param,
    RunStatus,
    RunTag,
    ViewType,
)
from mlflow.exceptions import MlflowException  # noqa: E402
from mlflow.store.tracking import sqlalchemy_store as _sas  # noqa: E402
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore  # noqa: E402

VIEWS = {"active": ViewType.ACTIVE_ONLY, "deleted": ViewType.DELETED_ONLY, "all": ViewType.ALL}
SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
MAX_BATCH_METRICS = 1000  # MLflow's log_batch limit


def _float(v):
    if isinstance(v, str):
        return SPECIAL_FLOATS[v]
    return float(v)


def _text(v):
    """Params and tags are strings; numbers are stored as their JSON text."""
    return v if isinstance(v, str) else json.dumps(v)


class Oracle:
    """A fresh SQLite MLflow tracking store loaded from one dataset file."""

    def __init__(self, dataset_path, workdir=None):
        self._own_dir = workdir is None
        self.dir = workdir or tempfile.mkdtemp(prefix="mlflow-oracle-")
        self.artifact_root = os.path.join(self.dir, "artifacts")
        self.store = SqlAlchemyStore(f"sqlite:///{self.dir}/mlflow.db", self.artifact_root)
        self.experiments = {}  # name -> id, in creation order
        self.runs = set()
        with open(dataset_path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if line.strip():
                    try:
                        self._ingest(json.loads(line))
                    except Exception as e:
                        raise SystemExit(f"{dataset_path}:{lineno}: cannot load record: {e}")

    def close(self):
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    # ---- loading -------------------------------------------------------------------
    def _experiment_id(self, name):
        if name not in self.experiments:
            self.experiments[name] = self.store.create_experiment(name)
        return self.experiments[name]

    def _create_run(self, exp_id, rec, run_id):
        tags = []
        if rec.get("user") is not None:
            tags.append(RunTag("mlflow.user", rec["user"]))
        if rec.get("parent_run_id"):
            tags.append(RunTag("mlflow.parentRunId", rec["parent_run_id"]))
        forced = uuid.UUID(hex=run_id)
        real_uuid = _sas.uuid
        # create_run takes its id from uuid.uuid4().hex; hand it the record's id.
        _sas.uuid = types.SimpleNamespace(uuid4=lambda: forced, UUID=uuid.UUID)
        try:
            run = self.store.create_run(
                experiment_id=exp_id,
                user_id=rec.get("user"),
                start_time=rec.get("start_time"),
                tags=tags,
                run_name=rec.get("run_name"),
            )
        finally:
            _sas.uuid = real_uuid
        assert run.info.run_id == run_id, (run.info.run_id, run_id)

    def _ingest(self, rec):
        exp_id = self._experiment_id(rec["experiment"])
        run_id = rec.get("run_id") or uuid.uuid4().hex
        is_new = run_id not in self.runs
        if is_new:
            self._create_run(exp_id, rec, run_id)
            self.runs.add(run_id)
        else:
            run = self.store.get_run(run_id)
            if run.info.lifecycle_stage == "deleted":
                self.store.restore_run(run_id)

        params = [Param(k, _text(v)) for k, v in (rec.get("params") or {}).items()]
        tags = [RunTag(k, _text(v)) for k, v in (rec.get("tags") or {}).items()]
        metrics = [
            Metric(key, _float(value), int(ts), int(step))
            for key, points in (rec.get("metrics") or {}).items()
            for step, value, ts in points
        ]
        # one batch per record (chunked only because log_batch takes 1000 metrics at most)
        first = True
        for i in range(0, max(len(metrics), 1), MAX_BATCH_METRICS):
            chunk = metrics[i : i + MAX_BATCH_METRICS]
            if first or chunk:
                self.store.log_batch(run_id, chunk, params if first else [], tags if first else [])
            first = False

        inputs = []
        for inp in rec.get("inputs") or []:
            ds = Dataset(
                name=inp["name"],
                digest=inp["digest"],
                source_type=inp.get("source_type", "local"),
                source=inp.get("source", ""),
            )
            itags = []
            if inp.get("context") is not None:
                itags.append(InputTag("mlflow.data.context", inp["context"]))
            inputs.append(DatasetInput(ds, itags))
        if inputs:
            self.store.log_inputs(run_id, datasets=inputs)

        status = rec.get("status", "FINISHED" if is_new else None)
        end_time = rec.get("end_time")
        if status is not None or end_time is not None:
            self.store.update_run_info(
                run_id,
                RunStatus.from_string(status) if status is not None else None,
                end_time,
                None,
            )
        if rec.get("lifecycle_stage", "active") == "deleted":
            self.store.delete_run(run_id)

    # ---- searching -----------------------------------------------------------------
    def _experiment_ids(self, names):
        if names is None:
            return [e.experiment_id for e in self.store.search_experiments(view_type=ViewType.ALL)]
        return [self.experiments[n] for n in names]

    def search_page(self, case, page_token=None):
        return self.store.search_runs(
            self._experiment_ids(case.get("experiments")),
            case.get("filter", ""),
            VIEWS[case.get("view", "active")],
            case.get("max_results", 1000),
            case.get("order_by") or [],
            page_token,
        )

    def answer(self, case):
        """MLflow's answer for one case, in the corpus' "expect" format."""
        try:
            ids, token = [], None
            while True:
                page = self.search_page(case, token)
                ids += [r.info.run_id for r in page]
                token = page.token
                if not case.get("paged") or not token:
                    break
            return {"ok": True, "run_ids": ids}
        except MlflowException as e:
            answer = {"ok": False, "error": e.message}
            # MLflow's session wrapper turns any foreign exception (OverflowError from
            # sqlite3, ValueError from shlex...) into an INTERNAL_ERROR MlflowException.
            cause = e.__cause__
            if (e.error_code == "INTERNAL_ERROR" and cause is not None
                    and not isinstance(cause, MlflowException)):
                answer["internal"] = True
            return answer
        except Exception as e:  # raised outside MLflow's session wrapper
            return {"ok": False, "error": f"{type(e).__name__}: {e}", "internal": True}


def _describe(case):
    return (f"{case.get('id')}: filter={case['filter']!r} order_by={case['order_by']} "
            f"view={case['view']} max={case['max_results']} exps={case['experiments']} "
            f"paged={case.get('paged', False)}")


def cmd_check(args):
    cases = json.load(open(os.path.join(args.corpus, "cases.json"), encoding="utf-8"))
    oracle = Oracle(os.path.join(args.corpus, "dataset.jsonl"))
    bad = 0
    try:
        for case in cases:
            got, want = oracle.answer(case), case["expect"]
            same = got["ok"] == want["ok"] and (
                got.get("run_ids") == want.get("run_ids") if want["ok"] else True)
            msg_same = want["ok"] or got.get("error") == want.get("error")
            if not same:
                bad += 1
                print(f"MISMATCH {_describe(case)}\n  want {json.dumps(want)[:300]}\n"
                      f"  got  {json.dumps(got)[:300]}")
            elif not msg_same and args.verbose:
                print(f"message differs {case.get('id')}: want {want['error'][:120]!r} "
                      f"got {got['error'][:120]!r}")
    finally:
        oracle.close()
    print(f"oracle: {len(cases) - bad}/{len(cases)} reproduced")
    return 1 if bad else 0


def cmd_answer(args):
    cases = json.load(open(args.cases, encoding="utf-8"))
    oracle = Oracle(args.dataset)
    try:
        for case in cases:
            case["expect"] = oracle.answer(case)
    finally:
        oracle.close()
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(cases, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"answered {len(cases)} cases -> {args.out}")
    return 0


def cmd_query(args):
    oracle = Oracle(args.dataset)
    try:
        case = {"filter": args.filter, "order_by": args.order_by, "view": args.view,
                "max_results": args.max_results, "experiments": args.experiment or None,
                "paged": args.paged}
        print(json.dumps(oracle.answer(case), indent=1, ensure_ascii=False))
    finally:
        oracle.close()
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check", help="reproduce a corpus' expected answers")
    c.add_argument("corpus")
    c.add_argument("-v", "--verbose", action="store_true", help="also list differing error texts")
    c.set_defaults(func=cmd_check)
    a = sub.add_parser("answer", help="fill in MLflow's answers for a case list")
    a.add_argument("dataset")
    a.add_argument("cases")
    a.add_argument("-o", "--out", required=True)
    a.set_defaults(func=cmd_answer)
    q = sub.add_parser("query", help="answer one ad-hoc search")
    q.add_argument("dataset")
    q.add_argument("--filter", default="")
    q.add_argument("--order-by", action="append", default=[])
    q.add_argument("--view", default="active", choices=sorted(VIEWS))
    q.add_argument("--experiment", action="append")
    q.add_argument("--max-results", type=int, default=1000)
    q.add_argument("--paged", action="store_true")
    q.set_defaults(func=cmd_query)
    args = ap.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    pin_hash_seed()
    sys.exit(main())
