"""Generates tests/data/registry/cases.json: a script of logged-model and
model-registry operations and searches, each answered by MLflow's own SQL
stores (SqlAlchemyStore on SQLite) — the oracle the Rust test
`tests/registry_mlflow.rs` replays against runstore.

Every operation records MLflow's outcome: its result (normalised so it does
not depend on random ids or clocks) or its error code. Logged models and
runs are named by refs (`A`, `r1`); a filter or value may say `{run:r1}` or
`{model:A}` for their ids. The script sleeps between operations so every
operation gets its own millisecond, as the replay does.

Run with MLflow 3.17's Python:
    /work/main/target/test-venv/bin/python tools/registry_oracle/gen_registry_cases.py
"""

import json
import os
import random
import re
import sys
import tempfile
import time

import mlflow
from mlflow.entities import LoggedModelParameter, LoggedModelStatus, LoggedModelTag, Metric
from mlflow.entities.model_registry import ModelVersionTag, RegisteredModelTag
from mlflow.exceptions import MlflowException
from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore as RegistryStore
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore as TrackingStore

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "data", "registry", "cases.json")
PAUSE = 0.005

PROMPT = "mlflow.prompt.is_prompt"


def script():
    """The operations, in order."""
    ops = []
    add = ops.append
    # Tracking: experiments, runs, logged models, their metrics.
    add({"op": "create_experiment", "ref": "e1", "name": "exp-one"})
    add({"op": "create_experiment", "ref": "e2", "name": "exp-two"})
    add({"op": "create_run", "ref": "r1", "experiment": "e1"})
    add({"op": "create_run", "ref": "r2", "experiment": "e2"})
    add({"op": "create_lm", "ref": "A", "experiment": "e1", "name": "alpha", "model_type": "sklearn",
         "params": {"lr": "0.1"}, "tags": {"team": "vision"}, "source_run": "r1"})
    add({"op": "create_lm", "ref": "B", "experiment": "e1", "name": "beta", "model_type": "agent",
         "params": {"lr": "0.2", "depth": "3"}})
    add({"op": "create_lm", "ref": "C", "experiment": "e2", "name": "gamma"})
    add({"op": "create_lm", "ref": "D", "experiment": "e1", "name": "delta", "tags": {"team": "nlp"}})
    add({"op": "create_lm", "ref": "E", "experiment": "e1", "name": "epsilon"})
    add({"op": "create_lm", "ref": "X", "experiment": "e1", "name": "bad.name"})
    add({"op": "create_lm", "ref": "Y", "experiment": "e1", "name": "bad/name"})
    add({"op": "finalize_lm", "ref": "A", "status": "READY"})
    add({"op": "finalize_lm", "ref": "B", "status": "FAILED"})
    add({"op": "delete_lm", "ref": "E"})
    add({"op": "get_lm", "ref": "E"})
    add({"op": "set_lm_tags", "ref": "B", "tags": {"stage": "dev", "owner": "ann"}})
    add({"op": "delete_lm_tag", "ref": "B", "key": "owner"})
    add({"op": "delete_lm_tag", "ref": "B", "key": "owner"})
    add({"op": "log_lm_params", "ref": "D", "params": {"lr": "0.05"}})
    for metric in [
        {"run": "r1", "model": "A", "key": "acc", "value": 0.8, "timestamp": 100, "step": 0},
        {"run": "r1", "model": "A", "key": "acc", "value": 0.9, "timestamp": 200, "step": 1,
         "dataset_name": "val", "dataset_digest": "d1"},
        {"run": "r1", "model": "B", "key": "acc", "value": 0.85, "timestamp": 150, "step": 0,
         "dataset_name": "val", "dataset_digest": "d1"},
        {"run": "r1", "model": "B", "key": "loss", "value": 0.3, "timestamp": 150, "step": 0},
        {"run": "r1", "model": "D", "key": "acc", "value": 0.7, "timestamp": 300, "step": 0,
         "dataset_name": "val", "dataset_digest": "d2"},
        {"run": "r2", "model": "C", "key": "acc", "value": 0.5, "timestamp": 100, "step": 0},
    ]:
        add({"op": "log_metric", **metric})
    add({"op": "get_lm", "ref": "A"})
    add({"op": "get_lm", "ref": "B"})

    def search_lm(filter=None, experiments=("e1",), datasets=None, order_by=None, max_results=None):
        add({"op": "search_lm", "experiments": list(experiments), "filter": filter,
             "datasets": datasets, "order_by": order_by, "max_results": max_results})

    for f in [None, "name = 'alpha'", "name LIKE '%a'", "name ILIKE 'A%'", "name != 'alpha'",
              "model_type = 'agent'", "model_type != 'agent'", "model_type IN ('agent', 'sklearn')",
              "params.lr = '0.1'", "params.lr IN ('0.1', '0.2')", "params.lr NOT IN ('0.1')",
              "params.depth LIKE '3'", "tags.team = 'vision'", "tags.team != 'vision'",
              "metrics.acc > 0.85", "metrics.acc >= 0.8", "metrics.acc < 0.81", "metrics.acc = 0.9",
              "metrics.loss < 1", "creation_time > 0", "creation_timestamp > 0",
              "last_updated_timestamp > 0", "status = '2'", "status != '1'",
              "source_run_id = '{run:r1}'", "model_id = '{model:B}'",
              "attributes.name = 'beta'", "name = 'alpha' AND metrics.acc > 0.5",
              "params.lr = '0.2' and tags.stage = 'dev'", "name = 5",
              "metrics.acc LIKE 'x'", "params.lr > '1'", "foo.x = 'a'", "name = 'a' OR name = 'b'",
              "last_updated_time > 0", "tag.team = 'vision'", "metrics.acc > 'x'"]:
        search_lm(f)
    search_lm(None, experiments=("e1", "e2"))
    search_lm("metrics.acc > 0", experiments=("e2",))
    for ds in [[{"dataset_name": "val"}], [{"dataset_name": "val", "dataset_digest": "d1"}],
               [{"dataset_name": "nope"}]]:
        search_lm(None, datasets=ds)
        search_lm("metrics.acc > 0.75", datasets=ds)
    for ob in [[{"field_name": "name"}], [{"field_name": "name", "ascending": False}],
               [{"field_name": "metrics.acc"}], [{"field_name": "metrics.acc", "ascending": False}],
               [{"field_name": "metrics.acc", "dataset_name": "val"}],
               [{"field_name": "metrics.acc", "ascending": False, "dataset_name": "val",
                 "dataset_digest": "d2"}],
               [{"field_name": "model_type"}], [{"field_name": "model_type", "ascending": False}],
               [{"field_name": "creation_timestamp"}], [{"field_name": "last_updated_timestamp"}],
               [{"field_name": "status"}, {"field_name": "name", "ascending": False}],
               [{"field_name": "params.lr"}], [{"field_name": "foo"}]]:
        search_lm(None, order_by=ob)
    search_lm(None, max_results=1)
    search_lm(None, max_results=2, order_by=[{"field_name": "name"}])

    # The registry.
    add({"op": "create_rm", "name": "clf", "tags": {"team": "vision"}, "description": "first"})
    add({"op": "create_rm", "name": "reg"})
    add({"op": "create_rm", "name": "Another", "tags": {"team": "nlp"}})
    add({"op": "create_rm", "name": "zeta-model"})
    add({"op": "create_rm", "name": "clf"})
    for bad in ["a/b", "", "  ", "..x", "a:b"]:
        add({"op": "create_rm", "name": bad})
    add({"op": "create_rm", "name": "tagged", "tags": {"a//b": "x"}})
    add({"op": "create_mv", "name": "clf", "model_ref": "A"})
    add({"op": "create_mv", "name": "clf", "source": "/tmp/m2", "run_id": "{run:r2}",
         "tags": {"k": "v2"}})
    add({"op": "create_mv", "name": "clf", "source": "runs:/abc/model", "run_id": "abc",
         "description": "third"})
    add({"op": "create_mv", "name": "clf", "source": "models:/clf/1"})
    add({"op": "create_mv", "name": "clf", "source": "models:/clf/99"})
    add({"op": "create_mv", "name": "clf", "source": "models:/m-doesnotexist"})
    add({"op": "create_mv", "name": "nope", "source": "/tmp/x"})
    add({"op": "create_mv", "name": "reg", "source": "/tmp/r1", "tags": {"k": "r1"}})
    add({"op": "create_mv", "name": "reg", "source": "/tmp/r2", "run_id": "abc"})
    add({"op": "download_uri", "name": "clf", "version": "1"})
    add({"op": "download_uri", "name": "clf", "version": "4"})
    add({"op": "download_uri", "name": "clf", "version": "2"})
    add({"op": "get_mv", "name": "clf", "version": "1"})
    add({"op": "transition", "name": "clf", "version": "1", "stage": "Production"})
    add({"op": "transition", "name": "clf", "version": "2", "stage": "staging"})
    add({"op": "transition", "name": "clf", "version": "3", "stage": "PRODUCTION", "archive": True})
    add({"op": "transition", "name": "clf", "version": "3", "stage": "None", "archive": True})
    add({"op": "transition", "name": "clf", "version": "3", "stage": "prod"})
    add({"op": "transition", "name": "clf", "version": "42", "stage": "Staging"})
    add({"op": "get_latest", "name": "clf", "stages": []})
    add({"op": "get_latest", "name": "clf", "stages": ["production"]})
    add({"op": "get_latest", "name": "clf", "stages": ["Staging", "Archived"]})
    add({"op": "get_latest", "name": "clf", "stages": ["bogus"]})
    add({"op": "set_alias", "name": "clf", "alias": "champion", "version": "3"})
    add({"op": "set_alias", "name": "clf", "alias": "challenger", "version": "2"})
    add({"op": "set_alias", "name": "clf", "alias": "old", "version": "1"})
    for bad in ["latest", "Latest", "v1", "V2", "a.b", ""]:
        add({"op": "set_alias", "name": "clf", "alias": bad, "version": "1"})
    add({"op": "set_alias", "name": "clf", "alias": "ghost", "version": "99"})
    add({"op": "set_alias", "name": "clf", "alias": "ghost", "version": "x"})
    add({"op": "by_alias", "name": "clf", "alias": "champion"})
    add({"op": "by_alias", "name": "clf", "alias": "latest"})
    add({"op": "by_alias", "name": "clf", "alias": "missing"})
    add({"op": "by_alias", "name": "zeta-model", "alias": "latest"})
    add({"op": "get_rm", "name": "clf"})
    add({"op": "delete_mv", "name": "clf", "version": "2"})
    add({"op": "get_mv", "name": "clf", "version": "2"})
    add({"op": "delete_mv", "name": "clf", "version": "2"})
    add({"op": "create_mv", "name": "clf", "source": "/tmp/m5"})
    add({"op": "get_rm", "name": "clf"})
    add({"op": "delete_alias", "name": "clf", "alias": "old"})
    add({"op": "delete_alias", "name": "clf", "alias": "old"})
    add({"op": "rename_rm", "name": "clf", "new_name": "classifier"})
    add({"op": "get_rm", "name": "clf"})
    add({"op": "get_rm", "name": "classifier"})
    add({"op": "get_mv", "name": "classifier", "version": "3"})
    add({"op": "by_alias", "name": "classifier", "alias": "champion"})
    add({"op": "rename_rm", "name": "reg", "new_name": "classifier"})
    add({"op": "rename_rm", "name": "reg", "new_name": ""})
    add({"op": "rename_rm", "name": "missing", "new_name": "other"})
    add({"op": "set_rm_tag", "name": "classifier", "key": "owner", "value": "bob"})
    add({"op": "set_rm_tag", "name": "classifier", "key": "bad//key", "value": "x"})
    add({"op": "delete_rm_tag", "name": "classifier", "key": "nothing"})
    add({"op": "delete_rm_tag", "name": "missing", "key": "nothing"})
    add({"op": "set_mv_tag", "name": "classifier", "version": "3", "key": "validated", "value": "true"})
    add({"op": "set_mv_tag", "name": "classifier", "version": "3", "key": "", "value": "x"})
    add({"op": "set_mv_tag", "name": "classifier", "version": "77", "key": "k", "value": "x"})
    add({"op": "delete_mv_tag", "name": "classifier", "version": "3", "key": "nothing"})
    add({"op": "update_rm", "name": "classifier", "description": "renamed"})
    add({"op": "update_mv", "name": "classifier", "version": "4", "description": "from v1"})
    for v in ["abc", "0", "-1", " 3", "3.0", "1_0"]:
        add({"op": "get_mv", "name": "classifier", "version": v})
    add({"op": "create_rm", "name": "my-prompt", "tags": {PROMPT: "true"}})
    add({"op": "create_mv", "name": "my-prompt", "source": "/tmp/p", "tags": {PROMPT: "true"}})
    add({"op": "create_rm", "name": "my-prompt"})
    add({"op": "create_rm", "name": "classifier", "tags": {PROMPT: "true"}})
    add({"op": "get_rm", "name": "classifier"})
    add({"op": "get_rm", "name": "Another"})

    def search_rm(filter="", order_by=None, max_results=None):
        add({"op": "search_rm", "filter": filter, "order_by": order_by, "max_results": max_results})

    for f in ["", "name = 'reg'", "name LIKE 'c%'", "name LIKE 'C%'", "name ILIKE 'C%'",
              "name LIKE '%e%'", "name IN ('reg', 'Another', 'none')", "name NOT IN ('reg')",
              "name != 'reg'", "tags.team = 'vision'", "tags.team LIKE 'vis%'", "tags.team != 'x'",
              "tag.owner = 'bob'", "attribute.name = 'reg'", "name = \"reg\"",
              f"tags.`{PROMPT}` = 'true'", f"tags.`{PROMPT}` != 'false'",
              f"tags.`{PROMPT}` = 'false'", f"tags.`{PROMPT}` = 'TRUE'",
              "name LIKE '%' AND tags.team = 'nlp'",
              "name > 'a'", "name = 1", "tags.team IN ('x')", "tags.team < 'x'",
              "params.x = 'a'", "creation_timestamp > 0", "name = 'a' OR name = 'b'",
              "name LIKE 'c%' AND"]:
        search_rm(f)
    for ob in [["name DESC"], ["timestamp DESC"], ["last_updated_timestamp ASC"],
               ["timestamp", "name DESC"], ["`name` desc"], ["creation_timestamp"],
               ["name", "name DESC"], ["name UP"], ["foo"]]:
        search_rm("", ob)
    search_rm("", None, 2)
    search_rm("", ["timestamp DESC"], 1)
    search_rm("", None, 1001)

    def search_mv(filter="", order_by=None, max_results=None):
        add({"op": "search_mv", "filter": filter, "order_by": order_by, "max_results": max_results})

    for f in ["", "name = 'classifier'", "name = 'reg'", "run_id = 'abc'", "run_id != 'abc'",
              "run_id IN ('abc', '{run:r2}')", "run_id NOT IN ('abc')", "version_number > 2",
              "version_number = '3'", "version_number <= 1", "source_path LIKE '/tmp/%'",
              "source_path = 'models:/clf/1'", "tags.validated = 'true'", "tags.k LIKE 'v%'",
              "name LIKE 'class%' AND version_number >= 3", "name ILIKE 'CLASS%'",
              f"tags.`{PROMPT}` = 'true'", "attribute.run_id = 'abc'",
              "version_number > 1.5", "source_path IN ('a')", "run_id > 'a'",
              "creation_timestamp > 1", "tags.k IN ('x')", "name = 1",
              "version_number LIKE '1'", "version_number = 'x'", "foo.name = 'a'"]:
        search_mv(f)
    for ob in [["version_number ASC"], ["creation_timestamp DESC"], ["name"],
               ["last_updated_timestamp"], ["attribute.version_number DESC"],
               ["run_id"], ["tags.k"], ["name", "name DESC"], ["version_number sideways"]]:
        search_mv("", ob)
    search_mv("", None, 2)
    search_mv("", ["version_number ASC"], 3)
    search_mv("", None, 0)

    add({"op": "delete_rm", "name": "reg"})
    add({"op": "delete_rm", "name": "reg"})
    add({"op": "create_rm", "name": "reg"})
    add({"op": "create_mv", "name": "reg", "source": "/tmp/again"})
    add({"op": "get_rm", "name": "reg"})
    search_mv("name = 'reg'")
    ops.extend(random_script(random.Random(20261207)))
    return ops


def random_script(rng):
    """Random entities and random (mostly valid) searches over them."""
    ops = []
    add = ops.append
    words = ["alpha", "Beta", "gamma_1", "delta-x", "eps%", "zeta", "ETA", "theta.v2", "iota", "kappa"]
    teams = ["vision", "Vision", "nlp", "speech", "v_ision"]
    names = []
    for i, w in enumerate(words):
        name = f"{w}-{i}"
        names.append(name)
        tags = {}
        if rng.random() < 0.7:
            tags["team"] = rng.choice(teams)
        if rng.random() < 0.4:
            tags["tier"] = rng.choice(["gold", "silver"])
        add({"op": "create_rm", "name": name, "tags": tags})
    versions = []
    for _ in range(40):
        name = rng.choice(names)
        op = {"op": "create_mv", "name": name,
              "source": rng.choice(["/tmp/a", "/tmp/b/model", "s3://bucket/x", "runs:/r/m"])}
        if rng.random() < 0.7:
            op["run_id"] = rng.choice(["run-a", "run-b", "RUN-A", "run_c"])
        if rng.random() < 0.5:
            op["tags"] = {"k": rng.choice(["v1", "v2", "V1", "x"])}
        add(op)
        versions.append(name)
    for _ in range(12):
        add({"op": "transition", "name": rng.choice(names), "version": str(rng.randint(1, 6)),
             "stage": rng.choice(["Staging", "Production", "Archived", "None"]),
             "archive": rng.random() < 0.3})
    for _ in range(4):
        add({"op": "delete_mv", "name": rng.choice(names), "version": str(rng.randint(1, 5))})
    for name in names[:4]:
        add({"op": "get_rm", "name": name})

    def text_cond(key, values):
        op = rng.choice(["=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"])
        if op in ("IN", "NOT IN"):
            items = rng.sample(values, k=min(len(values), rng.randint(1, 3)))
            return f"{key} {op} (" + ", ".join(f"'{v}'" for v in items) + ")"
        if op in ("LIKE", "ILIKE"):
            v = rng.choice(values)
            pattern = rng.choice([v[:2] + "%", "%" + v[-2:], "%" + v[1:3] + "%", v[0] + "_" + v[2:],
                                  "%", v.upper()])
            return f"{key} {op} '{pattern}'"
        return f"{key} {op} '{rng.choice(values)}'"

    def tag_cond(key, values):
        op = rng.choice(["=", "!=", "LIKE", "ILIKE"])
        v = rng.choice(values)
        if op in ("LIKE", "ILIKE"):
            v = rng.choice([v[:2] + "%", "%" + v[-2:], v.upper()])
        return f"tags.{key} {op} '{v}'"

    for _ in range(60):
        conds = []
        for _ in range(rng.randint(0, 2)):
            if rng.random() < 0.5:
                conds.append(text_cond("name", names + ["zeta-5", "nothing"]))
            else:
                conds.append(tag_cond(rng.choice(["team", "tier"]), teams + ["gold", "silver"]))
        order = rng.choice([None, ["name DESC"], ["timestamp DESC"], ["last_updated_timestamp"],
                            ["timestamp", "name DESC"]])
        add({"op": "search_rm", "filter": " AND ".join(conds), "order_by": order,
             "max_results": rng.choice([None, None, 1, 3, 7])})
    run_ids = ["run-a", "run-b", "RUN-A", "run_c", "nope"]
    for _ in range(80):
        conds = []
        for _ in range(rng.randint(0, 3)):
            kind = rng.random()
            if kind < 0.25:
                conds.append(text_cond("name", names))
            elif kind < 0.45:
                conds.append(text_cond("run_id", run_ids))
            elif kind < 0.6:
                op = rng.choice(["=", "!=", "LIKE", "ILIKE"])
                conds.append(f"source_path {op} '{rng.choice(['/tmp/a', '/tmp/%', '%model', 's3:%', 'S3:%'])}'")
            elif kind < 0.8:
                op = rng.choice(["=", "!=", "<", "<=", ">", ">="])
                conds.append(f"version_number {op} {rng.randint(0, 6)}")
            else:
                conds.append(tag_cond("k", ["v1", "v2", "x"]))
        order = rng.choice([None, ["version_number ASC"], ["creation_timestamp DESC"], ["name"],
                            ["last_updated_timestamp", "name DESC"], ["name DESC", "version_number"]])
        add({"op": "search_mv", "filter": " AND ".join(conds), "order_by": order,
             "max_results": rng.choice([None, None, 1, 4, 9])})

    # Logged models in one experiment, with random params, tags and metrics.
    add({"op": "create_experiment", "ref": "re", "name": "random-exp"})
    add({"op": "create_run", "ref": "rr", "experiment": "re"})
    refs = []
    for i in range(14):
        ref = f"L{i}"
        refs.append(ref)
        op = {"op": "create_lm", "ref": ref, "experiment": "re", "name": f"{rng.choice(words[:6]).replace('%', 'p').replace('.', '_')}{i}",
              "params": {"lr": rng.choice(["0.1", "0.01", "0.001"])},
              "tags": {"team": rng.choice(teams)} if rng.random() < 0.6 else {}}
        if rng.random() < 0.6:
            op["model_type"] = rng.choice(["agent", "sklearn", "Agent"])
        add(op)
        if rng.random() < 0.5:
            add({"op": "finalize_lm", "ref": ref, "status": rng.choice(["READY", "FAILED"])})
    for _ in range(30):
        metric = {"op": "log_metric", "run": "rr", "model": rng.choice(refs),
                  "key": rng.choice(["acc", "loss"]), "value": round(rng.random(), 3),
                  "timestamp": rng.randint(1, 50), "step": rng.randint(0, 3)}
        if rng.random() < 0.5:
            metric["dataset_name"] = rng.choice(["train", "val"])
            metric["dataset_digest"] = rng.choice(["d1", "d2"])
        add(metric)
    for _ in range(70):
        conds = []
        for _ in range(rng.randint(0, 2)):
            kind = rng.random()
            if kind < 0.2:
                conds.append(f"metrics.{rng.choice(['acc', 'loss'])} {rng.choice(['<', '>', '<=', '>=', '!='])} {round(rng.random(), 2)}")
            elif kind < 0.4:
                conds.append(text_cond("params.lr", ["0.1", "0.01", "0.001"]))
            elif kind < 0.55:
                conds.append(text_cond("model_type", ["agent", "sklearn", "Agent"]))
            elif kind < 0.7:
                conds.append(text_cond("tags.team", teams))
            elif kind < 0.85:
                conds.append(f"status {rng.choice(['=', '!='])} '{rng.randint(1, 3)}'")
            else:
                conds.append(text_cond("name", ["alpha0", "Beta1", "gamma_12", "zeta5"]))
        datasets = rng.choice([None, None, [{"dataset_name": "val"}],
                               [{"dataset_name": "train", "dataset_digest": "d1"}]])
        field = rng.choice([None, "name", "metrics.acc", "metrics.loss", "model_type",
                            "creation_timestamp", "status"])
        order = None
        if field:
            order = [{"field_name": field, "ascending": rng.random() < 0.5}]
            if field.startswith("metrics.") and rng.random() < 0.4:
                order[0]["dataset_name"] = rng.choice(["train", "val"])
        add({"op": "search_lm", "experiments": ["re"], "filter": " AND ".join(conds) or None,
             "datasets": datasets, "order_by": order, "max_results": rng.choice([None, None, 2, 5])})
    return ops


class Oracle:
    def __init__(self):
        self.dir = tempfile.mkdtemp()
        uri = f"sqlite:///{self.dir}/mlflow.db"
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        self.tracking = TrackingStore(uri, os.path.join(self.dir, "artifacts"))
        self.registry = RegistryStore(uri)
        self.refs = {}
        self.lm_locations = {}

    def sub(self, text):
        if text is None:
            return None

        def repl(m):
            kind, ref = m.group(1), m.group(2)
            return self.refs[ref]

        return re.sub(r"\{(run|model):(\w+)\}", repl, text)

    def version_out(self, mv):
        return {"name": mv.name, "version": int(mv.version), "stage": mv.current_stage,
                "description": mv.description, "source": self.unsub(mv.source),
                "run_id": self.unsub(mv.run_id), "tags": dict(mv.tags),
                "aliases": sorted(mv.aliases)}

    def unsub(self, text):
        """`text` with run and model ids written as `{run:REF}`, `{model:REF}`."""
        if text is None:
            return None
        for ref, value in self.refs.items():
            if ref.startswith("r") and len(value) == 32:
                text = text.replace(value, "{run:%s}" % ref)
            elif value.startswith("m-"):
                text = text.replace(value, "{model:%s}" % ref)
        return text

    def uri_out(self, uri):
        for ref, loc in self.lm_locations.items():
            if uri == loc:
                return {"artifact_location_of": ref}
        return uri

    def run(self, op):
        kind = op["op"]
        t, r = self.tracking, self.registry
        if kind == "create_experiment":
            self.refs[op["ref"]] = t.create_experiment(op["name"])
            return None
        if kind == "create_run":
            run = t.create_run(self.refs[op["experiment"]], "user", 0, [], None)
            self.refs[op["ref"]] = run.info.run_id
            return None
        if kind == "create_lm":
            lm = t.create_logged_model(
                self.refs[op["experiment"]], name=op.get("name"),
                source_run_id=self.refs.get(op.get("source_run")),
                tags=[LoggedModelTag(k, v) for k, v in op.get("tags", {}).items()],
                params=[LoggedModelParameter(k, v) for k, v in op.get("params", {}).items()],
                model_type=op.get("model_type"))
            self.refs[op["ref"]] = lm.model_id
            self.lm_locations[op["ref"]] = lm.artifact_location
            return {"name": lm.name, "status": str(lm.status)}
        if kind == "finalize_lm":
            lm = t.finalize_logged_model(self.refs[op["ref"]], LoggedModelStatus(op["status"]))
            return {"status": str(lm.status)}
        if kind == "delete_lm":
            return t.delete_logged_model(self.refs[op["ref"]])
        if kind == "get_lm":
            lm = t.get_logged_model(self.refs[op["ref"]])
            metrics = sorted(
                [m.key, m.value, m.timestamp, m.step, m.dataset_name, m.dataset_digest]
                for m in (lm.metrics or []))
            return {"name": lm.name, "status": str(lm.status), "model_type": lm.model_type,
                    "params": lm.params or {}, "tags": lm.tags or {}, "metrics": metrics,
                    "source_run": self.unsub(lm.source_run_id)}
        if kind == "set_lm_tags":
            return t.set_logged_model_tags(
                self.refs[op["ref"]], [LoggedModelTag(k, v) for k, v in op["tags"].items()])
        if kind == "delete_lm_tag":
            return t.delete_logged_model_tag(self.refs[op["ref"]], op["key"])
        if kind == "log_lm_params":
            return t.log_logged_model_params(
                self.refs[op["ref"]], [LoggedModelParameter(k, v) for k, v in op["params"].items()])
        if kind == "log_metric":
            metric = Metric(op["key"], op["value"], op["timestamp"], op["step"],
                            model_id=self.refs.get(op.get("model")),
                            dataset_name=op.get("dataset_name"),
                            dataset_digest=op.get("dataset_digest"))
            return t.log_batch(self.refs[op["run"]], [metric], [], [])
        if kind == "search_lm":
            ids = [self.refs[e] for e in op["experiments"]]
            token, pages, out = None, 0, []
            while True:
                page = t.search_logged_models(ids, filter_string=self.sub(op["filter"]),
                                              datasets=op["datasets"], order_by=op["order_by"],
                                              max_results=op["max_results"], page_token=token)
                pages += 1
                out.extend(self.unsub(m.model_id) for m in page)
                token = page.token
                if not token:
                    return {"models": out, "pages": pages}
        if kind == "create_rm":
            rm = r.create_registered_model(
                op["name"], [RegisteredModelTag(k, v) for k, v in op.get("tags", {}).items()],
                op.get("description"))
            return {"name": rm.name}
        if kind == "create_mv":
            source, model_id = op.get("source"), None
            if "model_ref" in op:
                model_id = self.refs[op["model_ref"]]
                source = f"models:/{model_id}"
            mv = r.create_model_version(
                op["name"], source, run_id=self.sub(op.get("run_id")),
                tags=[ModelVersionTag(k, v) for k, v in op.get("tags", {}).items()],
                description=op.get("description"), model_id=model_id)
            return self.version_out(mv)
        if kind == "download_uri":
            return self.uri_out(r.get_model_version_download_uri(op["name"], op["version"]))
        if kind == "get_mv":
            return self.version_out(r.get_model_version(op["name"], op["version"]))
        if kind == "transition":
            mv = r.transition_model_version_stage(op["name"], op["version"], op["stage"],
                                                  op.get("archive", False))
            return self.version_out(mv)
        if kind == "get_latest":
            return [self.version_out(mv) for mv in r.get_latest_versions(op["name"], op["stages"])]
        if kind == "set_alias":
            return r.set_registered_model_alias(op["name"], op["alias"], op["version"])
        if kind == "delete_alias":
            return r.delete_registered_model_alias(op["name"], op["alias"])
        if kind == "by_alias":
            return self.version_out(r.get_model_version_by_alias(op["name"], op["alias"]))
        if kind == "get_rm":
            rm = r.get_registered_model(op["name"])
            return {"name": rm.name, "description": rm.description, "tags": dict(rm._tags),
                    "aliases": {k: int(v) for k, v in rm.aliases.items()},
                    "latest": [[int(mv.version), mv.current_stage] for mv in rm.latest_versions]}
        if kind == "delete_mv":
            return r.delete_model_version(op["name"], op["version"])
        if kind == "rename_rm":
            return {"name": r.rename_registered_model(op["name"], op["new_name"]).name}
        if kind == "update_rm":
            return {"description": r.update_registered_model(op["name"], op["description"]).description}
        if kind == "update_mv":
            return self.version_out(r.update_model_version(op["name"], op["version"], op["description"]))
        if kind == "delete_rm":
            return r.delete_registered_model(op["name"])
        if kind == "set_rm_tag":
            return r.set_registered_model_tag(op["name"], RegisteredModelTag(op["key"], op["value"]))
        if kind == "delete_rm_tag":
            return r.delete_registered_model_tag(op["name"], op["key"])
        if kind == "set_mv_tag":
            return r.set_model_version_tag(op["name"], op["version"],
                                           ModelVersionTag(op["key"], op["value"]))
        if kind == "delete_mv_tag":
            return r.delete_model_version_tag(op["name"], op["version"], op["key"])
        if kind in ("search_rm", "search_mv"):
            search = r.search_registered_models if kind == "search_rm" else r.search_model_versions
            kwargs = {"filter_string": op["filter"], "order_by": op["order_by"]}
            if op["max_results"] is not None:
                kwargs["max_results"] = op["max_results"]
            token, pages, out = None, 0, []
            while True:
                page = search(page_token=token, **kwargs)
                pages += 1
                if kind == "search_rm":
                    out.extend(m.name for m in page)
                else:
                    out.extend([mv.name, int(mv.version)] for mv in page)
                token = page.token
                if not token:
                    return {"items": out, "pages": pages}
        raise ValueError(f"unknown op {kind}")


def main():
    oracle = Oracle()
    cases = []
    for op in script():
        try:
            result = oracle.run(op)
            outcome = {"ok": result}
        except MlflowException as e:
            outcome = {"error": e.error_code}
        except Exception as e:  # MLflow crashed: any error of ours will do
            outcome = {"error": "INTERNAL_ERROR", "crash": type(e).__name__}
        cases.append({**op, **outcome})
        time.sleep(PAUSE)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump({"mlflow_version": mlflow.__version__, "ops": cases}, f, indent=1)
        f.write("\n")
    print(f"{len(cases)} operations -> {os.path.normpath(OUT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
