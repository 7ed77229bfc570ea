#!/usr/bin/env python3
"""Generate an MLflow-answered search conformance corpus for runstore.

    /work/mlflow-venv/bin/python tools/oracle/gen_corpus.py SEED [--runs N] [--out DIR]
        [--quirks] [--no-answer]

Writes DIR/dataset.jsonl (default DIR: tests/data/conformance-gen-SEED) and
DIR/cases.json in exactly the format of the shared corpus (/work/shared/conformance),
so that ``python3 /work/shared/conformance/check.py target/release/runstore DIR`` runs
it.  Everything is drawn from ``random.Random(SEED)``: the same seed gives the same
files byte for byte (the oracle pins PYTHONHASHSEED so MLflow's messages are stable).

The dataset has the same kinds of difficulty as the shared one, and more: missing
keys, out-of-order steps, equal steps and timestamps, NaN/+-Infinity/-0.0/huge and
subnormal values, NaN tied with a number at equal step and timestamp (in both logging
orders), duplicate points, negative steps, keys with dots, spaces, slashes, dashes,
colons and non-ASCII letters, keys differing only in case, values with LIKE wildcards,
quotes, backslashes, case variants, empty strings and surrounding spaces, deleted and
nested runs, start_time ties, several dataset inputs per run (including a repeated
name+digest, where MLflow keeps the first input), four experiments (one with a
space and non-ASCII letters in its name), unicode run names, and a few records that append to
an earlier run (as CONTRACT.md allows).

The cases come in the families of the shared cases.json, over this dataset's actual
keys and values (see the ``fam_*`` functions).  Answers come from
``mlflow_oracle.Oracle`` (MLflow 3.17's SqlAlchemyStore over SQLite); cases on which
MLflow fails internally (HTTP 500, e.g. an integer literal beyond 64 bits) are dropped.

``--quirks`` adds a family of filters MLflow accepts only by accident of its
sqlparse-based parser (leading/trailing/doubled AND, conditions with no AND between
them, Python escapes and implicit concatenation inside IN lists, a space after the
entity dot, non-ASCII whitespace).  SEMANTICS.md lets runstore reject those, so they
are left out by default.
"""
import argparse
import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
T0 = 1700000000000
COMPARATORS = ["=", "!=", "<", "<=", ">", ">="]


# ---------------------------------------------------------------------------------------
# dataset
# ---------------------------------------------------------------------------------------
EXPERIMENT_POOL = ["vision", "nlp", "tabular", "Déjà vu", "rl agents ä"]
USERS = ["alice", "Alice", "bob", "Carol", "dave_x", "dave%x", "Ünal", "o'neil"]
RUN_NAME_FORMS = ["Run_{i}", "run-{i}", "ラン{i}", "base%{i}", "exp.{i}", "RUN_{i}", "rün {i}",
                  "it's-{i}", "a_b{i}", "back\\slash{i}", "Ω{i}", "dup-name"]
STATUSES = ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"]

PARAMS = {  # key -> (probability a run has it, values)
    "lr": (0.85, ["0.01", "0.1", "1e-3", "0.001", "10", "9", "-1", "+1", "001", "1E-3", " 0.1", "0.1 "]),
    "model": (0.8, ["resnet50", "ResNet50", "RESNET50", "res_net", "res%net", "bert-base", "bert_base",
                    "BERT base", "", "gpt\\2", "it's", 'say "hi"', "ñandú", "NANDÚ"]),
    "opt.name": (0.45, ["adam", "Adam", "ADAM", "sgd", "SGD", "adam_w", "adam%w"]),
    "batch size": (0.45, ["16", "32", "64", "128", "08"]),
    "名前": (0.35, ["値", "テスト", "it's", "Ärger", "ärger", "ÄRGER"]),
    "drop-out": (0.3, ["0.5", "0.50", ".5", "5e-1"]),
    "path/to/x": (0.25, ["a/b", "a\\b", "a%b", "a_b", "A_B"]),
    "k:v": (0.2, ["x:y", "x", "X"]),
    "LR": (0.15, ["0.01", "0.1"]),
    "seed": (0.4, ["0", "1", "42", "-0"]),
}
TAGS = {
    "team": (0.85, ["fraud", "Fraud", "FRAUD", "FRAUD-ops", "a_b", "a%b", "axb", "search", "search_ml", ""]),
    "note": (0.55, ["", "it's fine", 'say "hi"', "multi word note", "100%", "back\\slash", "tab\there",
                    "ünïcödé", "ÜNÏCÖDÉ", "trailing ", "naïve café"]),
    "env.region": (0.5, ["eu-west", "EU-WEST", "us-east", "US-EAST", "us_east"]),
    "Team": (0.12, ["fraud", "Fraud"]),
    "priority": (0.35, ["1", "2", "10", "01", "-1"]),
    "release/v": (0.2, ["1.0", "1.0.1", "2.0-rc"]),
    "标签": (0.2, ["値", "ｆｕｌｌ", "half"]),
}
DATASET_NAMES = ["train-ds", "Train-DS", "eval_ds", "eval%ds", "ds_1", "データ", "it's-ds", "c:\\data"]
DATASET_DIGESTS = ["abc123", "ABC123", "def456", "d_1"]
DATASET_CONTEXTS = ["training", "Training", "eval", "EVAL", None]
SPECIAL_VALUES = ["NaN", "Infinity", "-Infinity", 0.0, -0.0, 1e300, -1e300, 1.7976931348623157e308,
                  -1.7976931348623157e308, 5e-324, 1e-300, -0.5, 1.0, 0.5, 2, 0]


def gen_metrics(rng, ts0):
    """A run's metric histories; each key stresses one part of the latest-value rule."""
    m = {}
    t = lambda k: ts0 + k  # noqa: E731
    if rng.random() < 0.9:  # sequential steps
        n = rng.randint(1, 5)
        m["acc"] = [[s, round(rng.random(), 3), t(10 * s)] for s in range(n)]
        if rng.random() < 0.15:  # duplicate point
            m["acc"].append(list(m["acc"][-1]))
    if rng.random() < 0.8:  # out-of-order steps: latest is step 9, logged first
        m["loss"] = [[9, round(rng.uniform(-2, 2), 2), t(1)], [2, round(rng.uniform(-2, 2), 2), t(50)],
                     [5, 0.5, t(99)]]
    if rng.random() < 0.5:  # equal step, the later timestamp listed first
        m["x"] = [[3, round(rng.uniform(0, 10), 1), t(200)], [3, round(rng.uniform(0, 10), 1), t(100)]]
    if rng.random() < 0.5:  # equal step and timestamp: the largest value wins
        m["y"] = [[1, round(rng.uniform(0, 5), 2), t(5)], [1, round(rng.uniform(0, 5), 2), t(5)]]
    if rng.random() < 0.45:  # the latest value is special
        m["special"] = [[0, 1.0, t(0)], [1, rng.choice(SPECIAL_VALUES), t(1)]]
    if rng.random() < 0.3:  # NaN tied with a number at equal (step, timestamp): first logged wins
        other = rng.choice([0.0, -0.0, -1.0, 0.5, 0])
        pts = [[1, "NaN", t(7)], [1, other, t(7)]]
        if rng.random() < 0.5:
            pts.reverse()
        m["tie"] = [[0, 3.0, t(1)]] + pts
    if rng.random() < 0.4:
        m["val.acc"] = [[0, round(rng.random(), 2), t(0)]]
    if rng.random() < 0.3:
        m["my metric"] = [[0, rng.choice([1, 2, 3]), t(0)]]
    if rng.random() < 0.25:
        m["f1/score"] = [[0, round(rng.random(), 2), t(0)]]
    if rng.random() < 0.2:
        m["lr-sched"] = [[-5, 0.1, t(3)], [-2, round(rng.random(), 2), t(2)]]  # negative steps
    if rng.random() < 0.15:
        m["t:1"] = [[0, round(rng.uniform(-1, 1), 2), t(0)]]
    if rng.random() < 0.15:
        m["Acc"] = [[0, round(rng.random(), 3), t(0)]]  # differs from "acc" only in case
    if rng.random() < 0.2:
        m["日本"] = [[0, rng.choice([-0.0, 0.0, 1e-300, -1e-300]), t(0)]]
    if rng.random() < 0.15:
        m["big"] = [[0, rng.choice([1e308, -1e308, 9007199254740993, 1e15 + 0.5]), t(0)],
                    [2 ** 40, rng.choice([3.5, -3.5]), t(0)]]
    return m


def gen_inputs(rng):
    r = rng.random()
    if r < 0.6:
        return None
    n = 1 if r < 0.8 else rng.randint(2, 3)
    out = []
    for _ in range(n):
        inp = {"name": rng.choice(DATASET_NAMES), "digest": rng.choice(DATASET_DIGESTS),
               "source_type": "local", "source": "data/x.csv"}
        ctx = rng.choice(DATASET_CONTEXTS)
        if ctx is not None:
            inp["context"] = ctx
        out.append(inp)
    if rng.random() < 0.08:  # same name+digest again with another context: MLflow keeps the first
        dup = dict(out[0])
        dup["context"] = "eval" if dup.get("context") != "eval" else "training"
        out.append(dup)
    return out


def gen_dataset(rng, n_runs):
    experiments = EXPERIMENT_POOL[:3] + rng.sample(EXPERIMENT_POOL[3:], 1)
    rng.shuffle(experiments)
    ids = set()
    while len(ids) < n_runs:
        if rng.random() < 0.15:  # shared prefixes make run_id LIKE patterns interesting
            ids.add("00ab" + "%028x" % rng.getrandbits(112))
        else:
            ids.add("%032x" % rng.getrandbits(128))
    ids = sorted(ids, key=lambda _: rng.random())
    hot_start = T0 + 5000
    records = []
    for i, run_id in enumerate(ids):
        status = rng.choice(STATUSES)
        start = hot_start if rng.random() < 0.25 else T0 + 1000 * rng.randint(0, 20)
        end = None if status in ("RUNNING", "SCHEDULED") or rng.random() < 0.1 else start + rng.randint(1, 99999)
        rec = {
            "experiment": rng.choice(experiments),
            "run_id": run_id,
            "run_name": rng.choice(RUN_NAME_FORMS).format(i=i),
            "status": status,
            "start_time": start,
            "end_time": end,
            "user": rng.choice(USERS),
            "params": {k: rng.choice(v) for k, (p, v) in PARAMS.items() if rng.random() < p},
            "tags": {k: rng.choice(v) for k, (p, v) in TAGS.items() if rng.random() < p},
            "metrics": gen_metrics(rng, T0),
        }
        if records and rng.random() < 0.12:
            rec["parent_run_id"] = rng.choice(records)["run_id"]
        if rng.random() < 0.09:
            rec["lifecycle_stage"] = "deleted"
        inputs = gen_inputs(rng)
        if inputs:
            rec["inputs"] = inputs
        records.append(rec)
    # a few records that append to an earlier active run: more points, new keys
    for rec in rng.sample([r for r in records if "lifecycle_stage" not in r], 4):
        extra = {k: rec[k] for k in ("experiment", "run_id", "run_name", "status", "start_time",
                                     "end_time", "user")}
        latest_acc = rec["metrics"].get("acc", [[0, 0.0, T0]])[-1]
        extra["params"] = {"appended": "yes"}
        extra["tags"] = {"appended.tag": rng.choice(["a", "B"])}
        extra["metrics"] = {
            # ties the stored latest point on (step, timestamp): the larger value must win
            "acc": [[latest_acc[0], round(rng.random(), 3), latest_acc[2]]],
            "late": [[0, 1.0, T0 + 10], [1, "NaN", T0 + 20]],
        }
        records.append(extra)
    return experiments, records


# ---------------------------------------------------------------------------------------
# what the dataset contains (to aim cases at real keys and values)
# ---------------------------------------------------------------------------------------
def _sort_key(v):
    """MLflow's latest-value comparison: NaN is stored as 0 and +-Inf as +-max double."""
    if isinstance(v, str):
        return {"NaN": 0.0, "Infinity": 1.7976931348623157e308, "-Infinity": -1.7976931348623157e308}[v]
    return float(v)


class Facts:
    def __init__(self, experiments, records):
        self.experiments = experiments
        self.runs = {}
        for rec in records:
            run = self.runs.setdefault(rec["run_id"], {"params": {}, "tags": {}, "points": {}, "inputs": []})
            for k in ("experiment", "run_name", "status", "start_time", "end_time", "user",
                      "lifecycle_stage", "parent_run_id"):
                if k in rec:
                    run[k] = rec[k]
            run["params"].update(rec.get("params", {}))
            run["tags"].update(rec.get("tags", {}))
            for k, pts in rec.get("metrics", {}).items():
                run["points"].setdefault(k, []).extend(pts)
            run["inputs"] += rec.get("inputs", [])
        self.latest = {}  # metric -> [latest value per run]
        for run in self.runs.values():
            for k, pts in run["points"].items():
                best = None
                for p in pts:
                    key = (p[0], p[2], _sort_key(p[1]))
                    if best is None or key > best[0]:
                        best = (key, p[1])
                self.latest.setdefault(k, []).append(best[1])
        self.metric_keys = sorted(self.latest)
        self.param_values = self._values("params")
        self.tag_values = self._values("tags")
        self.run_ids = sorted(self.runs)
        self.run_names = sorted({r["run_name"] for r in self.runs.values()})
        self.users = sorted({r["user"] for r in self.runs.values()})
        self.starts = sorted({r["start_time"] for r in self.runs.values()})
        self.ends = sorted({r["end_time"] for r in self.runs.values() if r.get("end_time")})
        self.ds = {"name": sorted({i["name"] for r in self.runs.values() for i in r["inputs"]}),
                   "digest": sorted({i["digest"] for r in self.runs.values() for i in r["inputs"]}),
                   "context": sorted({i["context"] for r in self.runs.values() for i in r["inputs"]
                                      if "context" in i})}

    def _values(self, field):
        out = {}
        for run in self.runs.values():
            for k, v in run[field].items():
                out.setdefault(k, set()).add(v)
        return {k: sorted(v) for k, v in sorted(out.items())}

    def numeric_latest(self, key):
        return sorted({float(v) for v in self.latest[key] if not isinstance(v, str)})


# ---------------------------------------------------------------------------------------
# literals
# ---------------------------------------------------------------------------------------
SAFE_KEY_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.")
RESERVED_KEYS = {"as", "case", "from", "in", "using", "values"}


def needs_quoting(key):
    if key.lower() in RESERVED_KEYS or key[0].isdigit():
        return True
    return any(not (c in SAFE_KEY_CHARS or (ord(c) > 127 and c.isalnum())) for c in key) or \
        any(part[:1].isdigit() for part in key.split(".")[1:])


def key_ref(rng, key, force=None):
    """How a key is written after the entity dot: bare when that is safe, else quoted."""
    form = force or ("bare" if not needs_quoting(key) and rng.random() < 0.7 else
                     rng.choice(["backtick", "backtick", "double", "single"]))
    if form == "bare":
        return key
    if form == "backtick":
        return f"`{key}`"
    if form == "double":
        return f'"{key}"'
    return f"'{key}'"


def quote(rng, value, prefer=None):
    """A quoted string literal for value, or None when MLflow's lexer can't carry it."""
    if value.endswith("\\"):
        return None  # "\\'" may be read as an escaped quote when another quote follows
    forms = []
    if "'" not in value:
        forms.append("'")
    if '"' not in value:
        forms.append('"')
    if not forms:
        return None
    q = prefer if prefer in forms else (forms[0] if rng.random() < 0.75 else rng.choice(forms))
    return f"{q}{value}{q}"


def num(rng, x):
    """A numeric literal for x, in one of the forms MLflow's lexer reads as a number."""
    if x == 0:
        return rng.choice(["0", "0.0", "-0", "-0.0", ".0", "0."])
    if float(x).is_integer() and abs(x) < 1e15:
        i = int(x)
        return rng.choice([str(i), f"{i}.0", f"{i}."])
    r = repr(float(x))
    if "e" in r:
        return r.replace("e+", "e")  # "1e+300" is not a number to MLflow; "1e300" is
    if rng.random() < 0.3 and r.startswith("0."):
        return r[1:]  # .5
    if rng.random() < 0.2 and r.startswith("-0."):
        return "-" + r[2:]  # -.5
    return r


def like_patterns(rng, value):
    """LIKE patterns derived from a real value (prefix, suffix, single-char wildcards)."""
    pats = {"%"}
    if value:
        n = len(value)
        pats.add(value[: max(1, n // 2)] + "%")
        pats.add("%" + value[n // 2:])
        i = rng.randrange(n)
        pats.add(value[:i] + "_" + value[i + 1:])
        pats.add("%" + value[i] + "%")
        pats.add(value.swapcase())
        if n > 2:
            pats.add(value[0] + "%" + value[-1])
    pats.add("%\\%%")  # no ESCAPE: matches values containing a backslash followed by anything
    pats.add("%_%")
    pats.add("%\\_%")
    return sorted(pats)


# ---------------------------------------------------------------------------------------
# case families
# ---------------------------------------------------------------------------------------
class Cases:
    def __init__(self, rng, facts):
        self.rng, self.f, self.items = rng, facts, []
        self.seen = set()

    def add(self, filt="", order_by=(), view=None, max_results=1000, experiments=None, paged=False):
        view = view or self.rng.choice(["active", "active", "active", "all", "deleted"])
        key = (filt, tuple(order_by), view, max_results, tuple(experiments or ()), experiments is None, paged)
        if key in self.seen:
            return
        self.seen.add(key)
        case = {"filter": filt, "order_by": list(order_by), "max_results": max_results,
                "view": view, "experiments": experiments}
        if paged:
            case["paged"] = True
        self.items.append(case)

    def view(self):
        return self.rng.choice(["active", "active", "all"])


def fam_metrics(c):
    rng, f = c.rng, c.f
    for key in f.metric_keys:
        ref = "metrics." + key_ref(rng, key)
        vals = f.numeric_latest(key)
        thresholds = set(rng.sample(vals, min(2, len(vals)))) if vals else {0.5}
        thresholds.add(0.5)
        for th in sorted(thresholds):
            for op in COMPARATORS:
                c.add(f"{ref} {op} {num(rng, th)}", view=c.view())
        if "NaN" in f.latest[key] or "Infinity" in f.latest[key]:
            for lit in ["1e308", "1.7976931348623157e308", "1e309", "-1e309", "-1.7976931348623157e308", "0"]:
                c.add(f"{ref} {rng.choice(COMPARATORS)} {lit}", view="all")
    # literal forms on the most common key
    for lit in [".5", "5.", "1e3", "-0.5", "-.5", "1E-1", "00.5", "1e-3", "0", "-0.0", "1", "-1", "01"]:
        c.add(f"metrics.acc {rng.choice(COMPARATORS)} {lit}", view=c.view())
    for key in ("special", "tie", "日本", "big"):
        if key in f.latest:
            for op in COMPARATORS:
                c.add(f"metrics.{key_ref(rng, key)} {op} 0", view="all")
    # wrong value types / comparators for metrics
    for bad in ["metrics.acc > '0.5'", 'metrics.acc > "0.5"', "metrics.acc IS NULL", "metrics.acc IS NOT NULL",
                "metrics.acc LIKE '0.5'", "metrics.acc ILIKE '%'", "metrics.acc IN (0.5)",
                "metrics.acc = `0.5`", "metrics.acc != 'x'"]:
        c.add(bad, view="active")


def fam_params_tags(c):
    rng, f = c.rng, c.f
    for entity, table in (("params", f.param_values), ("tags", f.tag_values)):
        for key, values in table.items():
            ref = f"{entity}.{key_ref(rng, key)}"
            sample = rng.sample(values, min(3, len(values)))
            for v in sample:
                q = quote(rng, v)
                if q is None:
                    continue
                c.add(f"{ref} = {q}", view=c.view())
                c.add(f"{ref} != {q}", view=c.view())
            pats = like_patterns(rng, rng.choice(values))
            for pat in rng.sample(pats, min(4, len(pats))):
                q = quote(rng, pat)
                if q:
                    c.add(f"{ref} {rng.choice(['LIKE', 'LIKE', 'like'])} {q}", view=c.view())
            for _ in range(2):
                v = rng.choice(values)
                q = quote(rng, rng.choice([v.upper(), v.lower(), v.swapcase(), v[:1] + "%"]) if v else "%")
                if q:
                    c.add(f"{ref} {rng.choice(['ILIKE', 'ilike', 'ILike'])} {q}", view=c.view())
            c.add(f"{ref} IS NULL", view=c.view())
            c.add(f"{ref} IS NOT NULL", view=c.view())
            bad_op = rng.choice([">", "<", ">=", "<=", "IN", "NOT IN"])
            c.add(f"{ref} {bad_op} " + ("('x')" if "IN" in bad_op else "'1'"), view="active")
    # unquoted and wrongly quoted values
    for bad in ["params.lr = 0.01", "params.lr = 1", "params.lr = `0.01`", "params.lr = abc",
                "tags.team = fraud", "tags.team = `fraud`", "tags.team = NULL", "params.lr != NULL",
                "params.lr IS '0.1'", "params.lr ISNULL", "params.lr NOT NULL", "tags.team IS NOT  NULL"]:
        c.add(bad, view="active")
    # quoting of values: apostrophes, doubled quotes and backslashes are never unescaped
    for filt in ["params.名前 = \"it's\"", "params.名前 = 'it''s'", "params.名前 = 'it\\'s'",
                 "params.model = 'say \"hi\"'", "params.model = \"say \"\"hi\"\"\"",
                 "tags.note = \"it's fine\"", "tags.note = 'it\\'s fine'", "tags.note LIKE \"%'%\"",
                 "tags.note = 'back\\slash'", "tags.note LIKE 'back\\slash'", "tags.note LIKE '%\\%'",
                 "params.`path/to/x` = 'a\\b'", "params.`path/to/x` LIKE 'a\\_'",
                 "params.model = 'gpt\\2'", "tags.note = 'trailing '", "tags.note = 'trailing'",
                 "params.lr = ' 0.1'", "params.lr = '0.1'", "params.lr LIKE '%0.1%'",
                 "tags.note = 'tab\there'", "tags.note LIKE 'tab_here'"]:
        c.add(filt, view="all")


def fam_like_semantics(c):
    """Case folding, multi-byte characters and wildcards in the data."""
    for filt in ["params.名前 ILIKE 'ärger'", "params.名前 ILIKE 'ÄRGER'", "params.名前 LIKE 'Ä%'",
                 "params.名前 ILIKE 'Ä%'", "params.名前 ILIKE 'ä%'", "params.名前 LIKE '_rger'",
                 "params.名前 LIKE '__'", "params.名前 LIKE '_'", "params.名前 LIKE '___'",
                 "params.model ILIKE 'ÑANDÚ'", "params.model ILIKE 'nandú'", "params.model ILIKE '_andú'",
                 "params.model LIKE 'res_net'", "params.model LIKE 'res%net'", "params.model = 'res%net'",
                 "params.model = 'res_net'", "params.model ILIKE 'RES_NET'", "params.model LIKE '%\\%%'",
                 "tags.note ILIKE 'ÜNÏCÖDÉ'", "tags.note ILIKE 'ünïcödé'", "tags.note ILIKE '%CAFÉ'",
                 "tags.note ILIKE '%café'", "tags.note ILIKE 'NAÏVE%'", "tags.note LIKE '100%'",
                 "tags.note LIKE '100\\%'", "tags.note LIKE '%\\%'", "tags.team LIKE 'a_b'",
                 "tags.team LIKE 'a%b'", "tags.team = 'a_b'", "tags.team LIKE 'a\\_b'",
                 "tags.team ILIKE 'FRAUD'", "tags.team LIKE 'F%'", "tags.team LIKE 'f%'",
                 "tags.team ILIKE 'f%'", "tags.team LIKE ''", "tags.team = ''", "tags.team != ''",
                 "tags.team ILIKE ''", "tags.`标签` ILIKE 'ＦＵＬＬ'", "tags.`标签` LIKE '_'",
                 "tags.`标签` LIKE '____'", "attributes.run_name LIKE 'ラン_'", "attributes.run_name LIKE 'ラン__'",
                 "attributes.run_name ILIKE 'RÜN%'", "attributes.run_name ILIKE 'rün%'",
                 "attributes.run_name LIKE 'Ω%'", "attributes.run_name ILIKE 'ω%'",
                 "attributes.user_id ILIKE 'ünal'", "attributes.user_id ILIKE 'ÜNAL'",
                 "attributes.user_id LIKE 'dave_x'", "attributes.user_id = 'dave_x'",
                 "attributes.user_id LIKE 'dave\\%x'", "attributes.user_id ILIKE 'DAVE%'"]:
        c.add(filt, view="all")


def fam_attributes(c):
    rng, f = c.rng, c.f
    for st in STATUSES:
        for op in ["=", "!="]:
            c.add(f"attributes.status {op} '{st}'", view=c.view())
    for filt in ["attributes.status = 'finished'", "attributes.status ILIKE 'finished'",
                 "attributes.status LIKE '%ED'", "attributes.status LIKE '%ed'", "attributes.status ILIKE '%ed'",
                 "status = 'RUNNING'", "run.status = 'FAILED'", "attr.status != 'KILLED'",
                 "attribute.status LIKE 'S%'", "`attributes`.status = 'FINISHED'", "attributes.`status` = 'FINISHED'",
                 "attributes.status IN ('FINISHED')", "attributes.status NOT IN ('FINISHED')",
                 "attributes.status = FINISHED", "attributes.status = 1", "attributes.status > 'A'",
                 "attributes.status IS NULL"]:
        c.add(filt, view=c.view())
    # run names, through every alias; the filter reads the mlflow.runName tag
    names = rng.sample(f.run_names, 6) + ["dup-name"]
    aliases = ["attributes.run_name", "run_name", "attributes.`run name`", "`run name`",
               'attributes."run name"', "attributes.`Run name`", "attributes.`Run Name`", "run.run_name",
               "attr.`Run Name`"]
    for name in names:
        q = quote(rng, name)
        if q:
            c.add(f"{rng.choice(aliases)} = {q}", view="all")
            c.add(f"{rng.choice(aliases)} != {q}", view=c.view())
    for filt in ["attributes.run_name LIKE 'Run%'", "attributes.run_name LIKE 'run%'",
                 "attributes.run_name ILIKE 'run%'", "attributes.run_name LIKE 'base\\%%'",
                 "attributes.run_name LIKE '%\\%'", "attributes.run_name LIKE 'it''s%'",
                 "attributes.run_name LIKE \"it's%\"", "attributes.run_name LIKE 'back\\slash%'",
                 "attributes.run_name LIKE 'exp._'", "attributes.run_name LIKE 'exp.__'",
                 "attributes.`RUN NAME` = 'x'", "attributes.runName = 'x'", "attributes.name = 'x'",
                 "attributes.run_name IN ('dup-name')", "attributes.run_name IS NULL",
                 "tags.mlflow.runName = 'dup-name'", "tags.`mlflow.runName` LIKE 'ラン%'",
                 "tags.\"mlflow.runName\" != 'dup-name'"]:
        c.add(filt, view=c.view())
    # users: the user_id attribute and the mlflow.user tag
    for u in rng.sample(f.users, 4):
        q = quote(rng, u)
        if q:
            c.add(f"attributes.user_id = {q}", view=c.view())
            c.add(f"tags.`mlflow.user` = {q}", view=c.view())
            c.add(f"attributes.user_id != {q}", view=c.view())
    c.add("attributes.user_id ILIKE 'alice'", view="all")
    c.add("attributes.user = 'alice'", view="active")
    c.add("tags.mlflow.user LIKE 'd%'", view="active")
    # run ids
    ids = f.run_ids
    pick = rng.sample(ids, 4)
    c.add(f"attributes.run_id = '{pick[0]}'", view="all")
    c.add(f"run_id = '{pick[0]}'", view="all")
    c.add(f"attributes.run_id != '{pick[1]}'", view=c.view())
    c.add(f"attributes.run_id = '{pick[1].upper()}'", view="all")
    c.add(f"attributes.run_id ILIKE '{pick[1].upper()}'", view="all")
    c.add(f"attributes.run_id LIKE '{pick[2][:6]}%'", view="all")
    c.add("attributes.run_id LIKE '00ab%'", view="all")
    c.add("attributes.run_id LIKE '%a'", view=c.view())
    c.add(f"attributes.run_id LIKE '{pick[2][:-1]}_'", view="all")
    c.add(f"attributes.run_id IN ('{pick[0]}', '{pick[1]}', '{pick[2]}')", view="all")
    c.add(f"attributes.run_id IN (\"{pick[3]}\")", view="all")
    c.add(f"attributes.run_id IN ('{pick[3]}',)", view="all")
    c.add(f"attributes.run_id in ('{pick[0]}','{pick[3]}')", view="all")
    c.add(f"attributes.run_id NOT IN ('{pick[0]}', '{pick[1]}')", view=c.view())
    c.add(f"attributes.run_id not in ('{pick[2]}')", view=c.view())
    c.add("attributes.run_id IN ('nosuch')", view="all")
    c.add("attributes.run_id IN ()", view="all")
    c.add("attributes.run_id IN (1, 2)", view="all")
    c.add(f"attributes.run_id IN ('{pick[0]}', 1)", view="all")
    c.add(f"attributes.run_id IN ['{pick[0]}']", view="all")
    c.add(f"attributes.run_id IN '{pick[0]}'", view="all")
    c.add(f"attributes.run_id IN (`{pick[0]}`)", view="all")
    c.add(f"attributes.run_id > '{pick[0]}'", view="all")
    # numeric attributes
    starts, ends = f.starts, f.ends
    for key in ["attributes.start_time", "start_time", "attributes.created", "created", "Created",
                "attr.start_time", "run.Created"]:
        th = rng.choice(starts)
        c.add(f"{key} {rng.choice(COMPARATORS)} {th}", view=c.view())
    for op in COMPARATORS:
        c.add(f"attributes.start_time {op} {rng.choice(starts)}", view=c.view())
        c.add(f"attributes.end_time {op} {rng.choice(ends)}", view=c.view())
    th = rng.choice(starts)
    for filt in [f"attributes.start_time = {th}.0", f"attributes.start_time = {th / 1e12!r}e12",
                 f"attributes.start_time > {th - 0.5}", f"attributes.start_time < {th + 0.5}",
                 "attributes.start_time > 1.7e12", "attributes.start_time >= 1.700000005E12",
                 "attributes.start_time > -1", "attributes.start_time < 0", "attributes.start_time > 1e400",
                 "attributes.start_time < 1e400", "attributes.end_time != 0", "attributes.end_time > 0",
                 "attributes.end_time < 9e15", "attributes.end_time = 0", f"attributes.end_time != {ends[0]}",
                 f"attributes.start_time = '{th}'", f"attributes.start_time = \"{th}\"",
                 "attributes.start_time LIKE '17%'", "attributes.start_time IN (1, 2)",
                 "attributes.end_time IS NULL", "attributes.start_time = 1e+3", "attributes.start_time > +1",
                 "attributes.start_time = 0x10", "attributes.end_time > NaN", "attributes.end_time < inf",
                 "attributes.CREATED > 0", "attributes.Start_time > 0"]:
        c.add(filt, view=c.view())
    # artifact_uri is <artifact root>/<experiment id>/<run id>/artifacts
    c.add(f"attributes.artifact_uri LIKE '%{pick[0]}%'", view="all")
    c.add(f"attributes.artifact_uri LIKE '%/{pick[1]}/artifacts'", view="all")
    c.add("attributes.artifact_uri LIKE '%/artifacts'", view=c.view())
    c.add("attributes.artifact_uri = 'x'", view="all")
    c.add("attributes.artifact_uri IS NOT NULL", view="all")
    # not searchable
    for filt in ["attributes.lifecycle_stage = 'active'", "attributes.experiment_id = '1'",
                 "attributes.nosuch = 'a'", "nosuch = 'a'", "acc > 1", "attributes.deleted_time > 0",
                 "attributes.run_uuid = 'x'", "attributes.source_type = 'LOCAL'"]:
        c.add(filt, view="active")


def fam_datasets(c):
    rng, f = c.rng, c.f
    for field in ("name", "digest", "context"):
        values = f.ds[field]
        for v in rng.sample(values, min(3, len(values))):
            q = quote(rng, v)
            c.add(f"datasets.{field} = {q}", view=c.view())
            c.add(f"datasets.{field} != {q}", view=c.view())
        v = rng.choice(values)
        c.add(f"datasets.{field} LIKE {quote(rng, v[:2] + '%')}", view=c.view())
        c.add(f"datasets.{field} ILIKE {quote(rng, v.swapcase())}", view=c.view())
        two = rng.sample(values, min(2, len(values)))
        c.add(f"datasets.{field} IN ({', '.join(quote(rng, x, prefer=chr(39)) for x in two)})", view=c.view())
        c.add(f"datasets.{field} NOT IN ({quote(rng, two[0], prefer=chr(39))})", view=c.view())
    for filt in ["datasets.name = 'train-ds' AND datasets.context = 'eval'",
                 "datasets.name = 'train-ds' AND datasets.digest = 'abc123'",
                 "datasets.name LIKE 'eval%' AND datasets.context ILIKE 'training'",
                 "datasets.context != 'training' AND datasets.context != 'eval'",
                 "datasets.name LIKE 'eval\\%ds'", "datasets.name LIKE 'eval_ds'", "datasets.name = 'eval%ds'",
                 "datasets.name ILIKE 'データ'", "datasets.name LIKE '___'", "datasets.digest LIKE 'd\\_1'",
                 "datasets.digest ILIKE 'abc%'", "dataset.name = 'ds_1'", "datasets.`name` = 'ds_1'",
                 "datasets.context IN ('training', 'Training')", "datasets.context NOT IN ('eval', 'EVAL')",
                 "datasets.context IS NULL", "datasets.name IS NOT NULL", "datasets.name > 'a'",
                 "datasets.name = 1", "datasets.source = 'data/x.csv'", "datasets.source_type = 'local'",
                 "datasets.nosuch = 'a'", "datasets.name IN ()", "datasets.name IN (1)",
                 "datasets.name = `ds_1`", "datasets.name = \"it's-ds\"", "datasets.name IN (\"it's-ds\", 'ds_1')",
                 "datasets.name = 'c:\\data'", "datasets.name LIKE 'c:\\%'", "datasets.name NOT IN (\"it's-ds\")"]:
        c.add(filt, view=c.view())


def fam_syntax(c):
    """Entity prefixes, key quoting, keyword case, whitespace, AND chains."""
    rng = c.rng
    for prefix in ["metric", "metrics", "`metrics`", "`metric`"]:
        c.add(f"{prefix}.acc > 0.5", view=c.view())
    for prefix in ["param", "params", "parameter", "parameters", "`params`"]:
        c.add(f"{prefix}.lr = '0.1'", view=c.view())
    for prefix in ["tag", "tags", "`tags`"]:
        c.add(f"{prefix}.team = 'fraud'", view=c.view())
    for prefix in ["METRICS", "Metrics", "Params", "TAGS", "Attributes", "DATASETS", "\"metrics\"",
                   "'metrics'", "metricz", "m", "run_tags"]:
        c.add(f"{prefix}.acc > 0.5", view="active")
    for filt in ["metrics.val.acc > 0.5", "metrics.`val.acc` > 0.5", 'metrics."val.acc" > 0.5',
                 "metrics.'val.acc' > 0.5", "metrics.`my metric` >= 2", "metrics.\"my metric\" >= 2",
                 "metrics.my metric >= 2", "metrics.`f1/score` > 0.5", "metrics.f1/score > 0.5",
                 "metrics.`lr-sched` > 0.5", "metrics.lr-sched > 0.5", "metrics.`t:1` < 0",
                 "metrics.t:1 < 0", "metrics.日本 = 0", "metrics.`日本` = 0", "metrics.Acc > 0.5",
                 "metrics.ACC > 0.5", "params.`batch size` = '32'", "params.batch size = '32'",
                 "params.opt.name = 'adam'", "params.`opt.name` = 'adam'", "params.名前 = '値'",
                 "params.`drop-out` = '.5'", "params.drop-out = '.5'", "params.`k:v` = 'x'",
                 "params.k:v = 'x'", "params.`path/to/x` LIKE 'a%'", "params.LR = '0.1'",
                 "params.lr = '0.1' AND params.LR = '0.1'", "tags.env.region = 'eu-west'",
                 "tags.`env.region` = 'eu-west'", "tags.Team = 'fraud'", "tags.`release/v` LIKE '1.%'",
                 "tags.标签 = '値'", "tags.`mlflow.parentRunId` IS NOT NULL", "tags.mlflow.parentRunId IS NULL",
                 "metrics.`acc` > 0.5", "params.`lr` = '0.1'", "metrics.from > 1", "metrics.`from` > 1",
                 "params.in = 'x'", "params.`in` = 'x'", "params.values IS NULL", "params.select IS NULL",
                 "params.order IS NULL", "params.null IS NULL", "params.and IS NULL", "params.not = 'x'",
                 "params.like IS NOT NULL", "\"run name\" = 'dup-name'", "metrics.1abc > 0", "metrics.`1abc` > 0",
                 "metrics . acc > 0.5", "metrics .acc > 0.5", "`metrics.acc` > 0.5", "metrics.acc.`x` > 0",
                 "metrics.acc.x.y > 0.5", "metrics.[acc] > 0.5", "metrics.* > 1", "tags.note = 'back\\'"]:
        c.add(filt, view=c.view())
    # keyword case
    for kw in ["AND", "and", "And", "aNd"]:
        c.add(f"metrics.acc > 0.2 {kw} params.lr LIKE '0%'", view=c.view())
    for kw in ["LIKE", "like", "Like", "ILIKE", "ilike", "iLike"]:
        c.add(f"tags.team {kw} 'f%'", view=c.view())
    for kw in ["IS NULL", "is null", "Is Null", "IS NOT NULL", "is not null", "Is Not Null", "IS  NULL",
               "IS NOT  NULL", "IS\tNOT NULL", "IS NOT\tNULL"]:
        c.add(f"tags.note {kw}", view=c.view())
    for kw in ["IN", "in", "In", "NOT IN", "not in", "Not In", "NOT  IN"]:
        c.add(f"datasets.context {kw} ('eval')", view=c.view())
    # whitespace
    for filt in ["metrics.acc>0.5", "metrics.acc  >  0.5", "  metrics.acc > 0.5  ", "metrics.acc\t>\t0.5",
                 "metrics.acc\n>\n0.5", "metrics.acc > 0.5\nAND\nparams.lr = '0.1'", "metrics.acc\r\n> 0.5",
                 "params.lr='0.1'", "params.lr!='0.1'", "params.lr LIKE'0%'", "metrics.acc>=-0.5",
                 "metrics.acc<-0.5", "metrics.acc=0.5", "tags.team IS NULL AND metrics.acc>0.5",
                 "metrics.acc >0.5AND params.lr = '0.1'", "metrics.acc > 0.5ANDparams.lr = '0.1'"]:
        c.add(filt, view=c.view())
    # AND chains across entities, built from real values so that many of them match something
    f = c.f
    atoms = []
    for key in ["acc", "loss", "x", "y", "val.acc", "special"]:
        vals = f.numeric_latest(key) if key in f.latest else []
        if vals:
            atoms.append(f"metrics.{key_ref(rng, key)} {rng.choice(['<', '<=', '>', '>=', '!='])} "
                         f"{num(rng, rng.choice(vals))}")
    for ent, table, keys in (("params", f.param_values, ["lr", "model", "opt.name", "batch size", "seed"]),
                             ("tags", f.tag_values, ["team", "note", "env.region", "priority"])):
        for key in keys:
            if key not in table:
                continue
            v = rng.choice(table[key])
            op, lit = rng.choice([("=", v), ("!=", v), ("LIKE", v[:1] + "%"), ("ILIKE", v.upper()),
                                  ("IS NOT NULL", None), ("IS NULL", None)])
            q = quote(rng, lit) if lit is not None else ""
            if q is not None:
                atoms.append(f"{ent}.{key_ref(rng, key)} {op} {q}".rstrip())
    atoms += ["attributes.status != 'KILLED'", f"attributes.start_time >= {rng.choice(f.starts)}",
              "datasets.context ILIKE 'training'", "attributes.run_name LIKE '%1%'",
              "attributes.user_id != 'bob'", f"datasets.name = {quote(rng, rng.choice(f.ds['name']))}",
              f"attributes.end_time < {rng.choice(f.ends)}"]
    for n in [2] * 12 + [3] * 10 + [4] * 5 + [5] * 3:
        c.add(" AND ".join(rng.sample(atoms, n)), view=c.view())
    c.add("metrics.acc > 0.1 AND metrics.acc < 0.9 AND metrics.acc != 0.5", view="all")
    c.add("tags.team IS NOT NULL AND tags.team IS NULL", view="all")
    c.add("params.lr = '0.1' AND params.lr = '0.01'", view="all")


def fam_invalid(c):
    """Filters MLflow rejects."""
    for filt in [
        # numbers
        "metrics.acc > +1", "metrics.acc > - 0.5", "metrics.acc > 0x10", "metrics.acc > 1_000",
        "metrics.acc > NaN", "metrics.acc > nan", "metrics.acc > inf", "metrics.acc > Infinity",
        "metrics.acc > -inf", "metrics.acc > 1e+3", "metrics.acc > 1.e3", "metrics.acc > .5e1",
        "metrics.acc > 1e", "metrics.acc > 1.2.3", "metrics.acc > --1", "metrics.acc > 0.5.",
        "metrics.acc > true", "metrics.acc > null", "metrics.acc > 5%", "metrics.acc > 1,5",
        # comparators
        "metrics.acc == 0.5", "metrics.acc <> 0.5", "metrics.acc =! 0.5", "metrics.acc => 0.5",
        "metrics.acc =< 0.5", "metrics.acc >> 0.5", "metrics.acc ! = 0.5", "metrics.acc > = 0.5",
        "metrics.acc = = 0.5", "metrics.acc ~ 0.5", "params.lr NOT LIKE '0%'", "params.lr RLIKE '0.*'",
        "params.lr REGEXP '0'", "params.lr GLOB '0*'", "metrics.acc BETWEEN 0.1 AND 0.5",
        "params.lr IS NOT '0.1'", "params.lr == '0.1'", "params.lr <> '0.1'", "tags.team NOT ILIKE 'f%'",
        # boolean structure
        "metrics.acc > 0.5 OR metrics.acc < 0.1", "metrics.acc > 0.5 or params.lr = '0.1'",
        "NOT metrics.acc > 0.5", "not params.lr = '0.1'", "(metrics.acc > 0.5)",
        "(metrics.acc > 0.5) AND params.lr = '0.1'", "metrics.acc > 0.5 AND (params.lr = '0.1')",
        "metrics.acc > 0.5 && metrics.x > 1", "metrics.acc > 0.5 || metrics.x > 1",
        "metrics.acc > 0.5, metrics.x > 1", "metrics.acc > 0.5;", "metrics.acc > 0.5; metrics.x > 1",
        "metrics.acc > 0.5 AND OR metrics.x > 1", "metrics.acc > 0.5 AND NOT metrics.x > 1",
        # incomplete
        "metrics.acc", "metrics.acc >", "metrics.acc = ", "> 0.5", "metrics.", "metrics", "AND metrics.acc",
        "params.lr LIKE", "params.lr IS", "params.lr IN", "attributes.run_id IN (", " ", "\t",
        # strings
        "params.lr = 'unterminated", "params.lr = \"unterminated", "params.lr = 'a'b'",
        "params.名前 = 'it's'", "params.lr = '0.1' '0.01'", "params.lr = '0.1'x",
        # comments and misc tokens
        "metrics.acc > 0.5 -- comment", "metrics.acc > 0.5 /* c */", "metrics.acc > 0.5 # c",
        "metrics.acc > ?", "metrics.acc > :x", "metrics.acc > $1", "metrics.* > 1", "* > 1",
        "metrics.acc AS a > 0.5", "SELECT * FROM runs", "metrics.acc > 0.5 LIMIT 1",
        "metrics.acc > 0.5 ORDER BY metrics.acc", "params.lr = '0.1' AND params.lr",
        # bad identifiers
        "[metrics].acc > 0.5", "metrics.123 > 1", "params.1.5 = 'x'",
    ]:
        c.add(filt, view="active")


def fam_order_by(c):
    rng, f = c.rng, c.f
    dirs = ["", " ASC", " DESC", " asc", " desc", " Desc"]
    for key in f.metric_keys:
        for d in rng.sample(dirs, 2):
            c.add(order_by=[f"metrics.{key_ref(rng, key)}{d}"], view=rng.choice(["active", "all"]))
    for key in f.param_values:
        for d in rng.sample(dirs, 2):
            c.add(order_by=[f"params.{key_ref(rng, key)}{d}"], view=rng.choice(["active", "all"]))
    for key in list(f.tag_values) + ["mlflow.runName", "mlflow.user", "mlflow.parentRunId"]:
        for d in rng.sample(dirs, 2):
            c.add(order_by=[f"tags.{key_ref(rng, key)}{d}"], view=rng.choice(["active", "all"]))
    for attr in ["start_time", "end_time", "run_name", "status", "user_id", "run_id", "created", "Created"]:
        for prefix in rng.sample(["attributes.", "", "attr.", "run.", "attribute."], 2):
            for d in ["", " DESC"]:
                c.add(order_by=[f"{prefix}{attr}{d}"], view=rng.choice(["active", "all", "deleted"]))
    # artifact_uri order = experiment id, then run id: only portable within one experiment
    for exp in f.experiments[:2]:
        c.add(order_by=["attributes.artifact_uri"], experiments=[exp], view="all")
        c.add(order_by=["artifact_uri DESC"], experiments=[exp], view="active")
    # several clauses
    keys = ([f"metrics.{key_ref(rng, k)}" for k in f.metric_keys] +
            [f"params.{key_ref(rng, k)}" for k in f.param_values] +
            [f"tags.{key_ref(rng, k)}" for k in f.tag_values] +
            ["attributes.start_time", "attributes.end_time", "attributes.status", "attributes.run_name",
             "attributes.user_id", "attributes.run_id"])
    for n in [2] * 14 + [3] * 8 + [4] * 3:
        clauses = [k + rng.choice(dirs) for k in rng.sample(keys, n)]
        c.add(order_by=clauses, view=rng.choice(["active", "all"]))
    c.add(order_by=["attributes.status", "attributes.start_time ASC"], view="all")
    c.add(order_by=["tags.team", "created"], view="all")
    c.add(order_by=["params.lr DESC", "metrics.acc ASC", "attributes.run_id DESC"], view="all")
    c.add(order_by=["metrics.nosuch DESC"], view="active")
    c.add(order_by=["metrics.nosuch", "params.nosuch DESC", "tags.nosuch"], view="active")
    # duplicates, including aliases
    for dup in [["metrics.acc", "metrics.acc DESC"], ["metrics.acc", "metric.acc"], ["params.lr", "param.lr DESC"],
                ["tags.team", "tags.`team`"], ["start_time", "created"], ["created", "Created DESC"],
                ["attributes.start_time", "start_time"], ["attributes.run_name", "run_name DESC"],
                ["metrics.`val.acc`", "metrics.val.acc"], ["attributes.status", "run.status"]]:
        c.add(order_by=dup, view="active")
    c.add(order_by=["metrics.acc", "params.acc", "tags.acc"], view="active")  # same key, different entities
    # invalid clauses
    for bad in [" metrics.acc", "metrics.acc ", "metrics.acc DESC ", "metrics.acc DOWN", "metrics.acc DESC DESC",
                "metrics.acc NULLS LAST", "metrics.acc DESC NULLS FIRST", "metrics.acc, params.lr",
                "metrics.acc DESC, params.lr", "", "metrics.acc;", "(metrics.acc)", "metrics.acc -- c",
                "nosuch.acc", "METRICS.acc", "datasets.name", "dataset.digest DESC", "attributes.nosuch",
                "attributes.`run name`", "`Run Name`", "attributes.lifecycle_stage", "experiment_id",
                "timestamp", "timestamp DESC", "params.batch size", "params.a-b", "params.from",
                "metrics.acc ASC DESC", "ASC", "metrics.`acc"]:
        c.add(order_by=[bad], view="active")
    c.add(order_by=["metrics.acc", "metrics.acc DOWN"], view="active")
    # filters and orderings together
    for filt, ob in [("metrics.acc > 0.3", ["metrics.acc DESC"]), ("params.lr IS NOT NULL", ["params.lr"]),
                     ("tags.team LIKE '%a%'", ["tags.team DESC", "metrics.loss"]),
                     ("attributes.status != 'FAILED'", ["attributes.status", "attributes.end_time DESC"]),
                     ("datasets.name LIKE '%ds%'", ["attributes.run_name"]),
                     ("metrics.special != 0", ["metrics.special DESC"]), ("metrics.tie != 3", ["metrics.tie"]),
                     ("params.model != ''", ["params.model DESC", "params.lr"]),
                     ("attributes.end_time > 0", ["attributes.end_time"]),
                     ("tags.note IS NOT NULL", ["tags.note"])]:
        c.add(filt, order_by=ob, view=rng.choice(["active", "all"]))


def fam_views_paging(c):
    rng, f = c.rng, c.f
    exps = f.experiments
    for view in ["active", "deleted", "all"]:
        c.add(view=view)
        for subset in [[exps[0]], exps[1:3], [exps[3], exps[0]], list(reversed(exps))]:
            c.add(view=view, experiments=subset)
        c.add("metrics.acc > 0.5", view=view, experiments=[rng.choice(exps)])
        c.add("tags.mlflow.parentRunId IS NOT NULL", view=view)
    for mr in [1, 2, 3, 5, 7, 10, 50000]:
        c.add(order_by=[rng.choice(["metrics.acc DESC", "params.lr", "attributes.start_time", "tags.team"])],
              max_results=mr, view=rng.choice(["active", "all"]))
    for mr in [0, -1, -1000, 50001, 100000]:
        c.add(max_results=mr, view="active")
    c.add("metrics.acc > 0.5", max_results=0, view="active")
    # paging through the whole result with small pages
    for filt, ob, mr in [("", [], 1), ("", [], 5), ("", [], 7), ("metrics.acc > 0.1", ["params.lr"], 3),
                         ("", ["metrics.acc DESC"], 4), ("", ["attributes.start_time"], 6),
                         ("tags.team IS NOT NULL", ["tags.team", "attributes.run_id DESC"], 5),
                         ("", ["metrics.special"], 2), ("datasets.context ILIKE '%a%'", [], 2),
                         ("", ["attributes.end_time DESC"], 9), ("metrics.acc > 2", [], 3)]:
        for view in ["active", "all"]:
            c.add(filt, order_by=ob, max_results=mr, view=view, paged=True)
    # a page size equal to the result size leaves no token
    c.add(view="deleted", max_results=max(1, sum(1 for r in f.runs.values()
                                                    if r.get("lifecycle_stage") == "deleted")), paged=True)
    c.add(view="all", max_results=len(f.runs), paged=True)
    c.add(view="all", max_results=len(f.runs) - 1, paged=True)
    c.add(view="all", max_results=len(f.runs) + 1, paged=True)


def fam_quirks(c):
    """Accepted by MLflow only by accident of its parser (opt-in)."""
    rid = c.f.run_ids[0]
    hexed = "".join(f"\\x{ord(ch):02x}" for ch in rid[:2]) + rid[2:]
    for filt in ["metrics.acc > 0.5 AND", "AND metrics.acc > 0.5", "metrics.acc > 0.5 AND AND params.lr = '0.1'",
                 "metrics.acc > 0.5 params.lr = '0.1'", "AND", "AND AND", "metrics. acc > 0.5",
                 "params. lr IS NULL", "metrics.acc\u00a0> 0.5", "metrics.acc\u3000> 0.5",
                 f"attributes.run_id IN ('{hexed}')", f"attributes.run_id IN ('{rid[:16]}' '{rid[16:]}')",
                 "datasets.name IN ('train' '-ds')", f"attributes.run_id IN ('{rid}' '')",
                 "datasets.name IN ('it\\'s-ds')", "datasets.name IN ('it''s-ds')", "datasets.name IN ('c:\\\\data')",
                 "datasets.name IN ('c:\\data')", "datasets.name IN ('c:\\x64ata')", "datasets.name IN (r'c:\\data')",
                 "attributes.start_time > 99999999999999999999", "order_by_apostrophe"]:
        if filt == "order_by_apostrophe":
            c.add(order_by=['params.`a"b`'], view="active")
        else:
            c.add(filt, view="all")


FAMILIES = [fam_metrics, fam_params_tags, fam_like_semantics, fam_attributes, fam_datasets, fam_syntax,
            fam_invalid, fam_order_by, fam_views_paging]


def generate(seed, n_runs, quirks):
    rng = random.Random(seed)
    experiments, records = gen_dataset(rng, n_runs)
    facts = Facts(experiments, records)
    cases = Cases(rng, facts)
    for fam in FAMILIES + ([fam_quirks] if quirks else []):
        fam(cases)
    return records, cases.items


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("seed", type=int)
    ap.add_argument("--runs", type=int, default=90, help="number of runs (default 90)")
    ap.add_argument("--out", help="output directory (default tests/data/conformance-gen-SEED)")
    ap.add_argument("--quirks", action="store_true", help="add filters MLflow accepts by parser accident")
    ap.add_argument("--no-answer", action="store_true", help="write cases without running MLflow")
    args = ap.parse_args()
    out = args.out or os.path.join(REPO, "tests", "data", f"conformance-gen-{args.seed}")
    os.makedirs(out, exist_ok=True)
    records, cases = generate(args.seed, args.runs, args.quirks)
    ds_path = os.path.join(out, "dataset.jsonl")
    with open(ds_path, "w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    final = []
    if args.no_answer:
        final = cases
    else:
        sys.path.insert(0, HERE)
        from mlflow_oracle import Oracle

        oracle = Oracle(ds_path)
        dropped = 0
        try:
            for case in cases:
                ans = oracle.answer(case)
                if ans.pop("internal", False):
                    dropped += 1
                    print(f"dropped (MLflow internal error): {case['filter']!r} {case['order_by']}: "
                          f"{ans['error'][:100]}")
                    continue
                case["expect"] = ans
                final.append(case)
        finally:
            oracle.close()
    for i, case in enumerate(final):
        case["id"] = f"g{args.seed}-{i:04d}"
        if "expect" in case:  # same key order as the shared corpus
            case["expect"] = case.pop("expect")
    with open(os.path.join(out, "cases.json"), "w", encoding="utf-8") as fh:
        json.dump(final, fh, indent=1, ensure_ascii=False)
    if not args.no_answer:
        ok = [c for c in final if c["expect"]["ok"]]
        empty = sum(1 for c in ok if not c["expect"]["run_ids"])
        print(f"{out}: {len(records)} records, {len(final)} cases "
              f"({len(ok)} answered, {empty} of them empty; {len(final) - len(ok)} errors)")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    from mlflow_oracle import pin_hash_seed

    pin_hash_seed()
    sys.exit(main())
