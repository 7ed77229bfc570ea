#!/usr/bin/env python3
"""Generate MLflow's verdicts on thousands of filter strings and order_by clauses.

Ground truth for runstore-query's parser. Every case is run through MLflow's
own SQL tracking store (``SqlAlchemyStore.search_runs`` over a throwaway
SQLite database, so checks that happen only in the store count too); for the
accepted ones, MLflow's parsed form (``SearchUtils.parse_search_filter`` /
``parse_order_by_for_search_runs``) is recorded so the Rust test can compare
meanings, not only accept/reject.

Cases MLflow accepts but runstore deliberately rejects are tagged in
``lenient`` by the detectors below, which restate runstore's documented rules
(docs/query-language.md, "MLflow quirks"). A tag is an explanation the Rust
test checks against its own list; it never turns a disagreement into a pass
by itself.

Usage (needs ``pip install mlflow==3.17.0``, in a venv outside the repo):

    python tools/parser_diff/gen_parse_cases.py [--out query/tests/data/mlflow_parse_cases.json]
"""

import argparse
import json
import logging
import math
import os
import random
import re
import sys
import tempfile
import warnings

warnings.filterwarnings("ignore")
logging.disable(logging.CRITICAL)

import mlflow  # noqa: E402
import sqlparse  # noqa: E402
from mlflow.entities import ViewType  # noqa: E402
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore  # noqa: E402
from mlflow.utils.search_utils import SearchUtils, _join_in_comparison_tokens  # noqa: E402
from sqlparse.sql import Comparison, Parenthesis  # noqa: E402
from sqlparse.tokens import Token as T  # noqa: E402

SEED = 20261125

# --------------------------------------------------------------------------
# MLflow as the oracle
# --------------------------------------------------------------------------


class Oracle:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="runstore-parse-diff-")
        self.store = SqlAlchemyStore(f"sqlite:///{self.dir}/mlflow.db", f"{self.dir}/artifacts")
        self.exp = self.store.create_experiment("diff")

    def search(self, filter_string, order_by):
        try:
            self.store.search_runs([self.exp], filter_string, ViewType.ALL, 10, order_by, None)
            return None
        except Exception as e:  # MLflow also raises non-MlflowException errors (e.g. ValueError)
            return f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"


def norm_value(kind, key, value):
    """MLflow's parsed value in a JSON-able, typed form."""
    if value is None:
        return None
    if isinstance(value, tuple):
        return {"list": list(value)}
    if kind == "metric":
        return {"num": repr(float(value))}
    if kind == "attribute" and SearchUtils.translate_key_alias(key) in ("start_time", "end_time"):
        if isinstance(value, int):
            return {"int": str(value)}
        return {"float": repr(float(value))}
    return {"str": value}


def mlflow_filter_parse(s):
    out = []
    for c in SearchUtils.parse_search_filter(s):
        out.append({
            "type": c["type"],
            "key": c["key"],
            "comparator": c["comparator"].upper(),
            "value": norm_value(c["type"], c["key"], c["value"]),
        })
    return out


# --------------------------------------------------------------------------
# runstore's documented leniency rules, restated as detectors
# --------------------------------------------------------------------------

RESERVED = {"as", "case", "from", "in", "using", "values"}
QUOTES = {"'": True, '"': True, "`": False}  # quote -> backslash-quote stays inside


def scan_quoted(body, q, backslash_quote):
    """sqlparse's quoted-token rule: ('closed', i) | ('rescued', i) | ('unterminated',).

    'rescued': the input ran out, so the regex backtracked to the last doubled or
    backslash-escaped quote and closed there."""
    i, last_pair = 0, None
    while i < len(body):
        c, nxt = body[i], body[i + 1] if i + 1 < len(body) else None
        if (c == q and nxt == q) or (backslash_quote and c == "\\" and nxt == q):
            last_pair, i = (i, c == "\\"), i + 2
        elif c == q:
            return ("closed", i)
        else:
            i += 1
    if last_pair is None:
        return ("unterminated",)
    at, escaped = last_pair
    return ("rescued", at + 1 if escaped else at)


def is_word(c):
    return c == "_" or c.isalnum()


def key_chain_issues(key, tags):
    """Tags for a key (the text after the entity's dot) that MLflow reads but runstore's
    grammar does not: parts are words, quoted names, [names] or *, joined by dots."""
    i = 0
    while True:
        if i >= len(key):
            tags.add("empty_key_part")
            return
        c = key[i]
        if c in QUOTES:
            res = scan_quoted(key[i + 1 :], c, QUOTES[c])
            if res[0] == "unterminated":
                tags.add("unclassified_identifier")
                return
            i += 2 + res[1]
        elif c == "[":
            j = key.find("]", i)
            if j < 0:
                tags.add("unclassified_identifier")
                return
            i = j + 1
        elif c == "*":
            i += 1
        elif c.isspace():
            tags.add("identifier_whitespace")
            return
        elif c == ".":
            tags.add("empty_key_part")
            return
        else:
            part = re.match(r"\w*", key[i:]).group(0)
            if not part:
                tags.add("sigil_key" if c in "#$@" else "unclassified_identifier")
                return
            if part[0].isnumeric() and not part[0].isascii():
                tags.add("digit_leading_key")  # runstore: no non-ASCII digit starts a part
            i += len(part)
            if i < len(key) and key[i] in "#$@":
                tags.add("sigil_key")  # sqlparse reads `#x1`, `x#` as names
                return
            if i < len(key) and key[i] == "(":
                tags.add("function_key")  # `metrics.f(x)`: sqlparse groups a function call
                return
        if i >= len(key):
            return
        if key[i] == ".":
            i += 1
            continue
        if key[i].isspace():
            tags.add("identifier_whitespace")
        elif key[i] in QUOTES or is_word(key[i]):
            tags.add("mixed_quoting")  # `a`b`, `a`b: a quoted part glued to another
        else:
            tags.add("unclassified_identifier")
        return


def identifier_issues(text, tags):
    """Tags for an identifier MLflow accepted that runstore's grammar does not."""
    if text[:1] in QUOTES:
        res = scan_quoted(text[1:], text[0], QUOTES[text[0]])
        rest = text[2 + res[1] :] if res[0] != "unterminated" else ""
        if rest.startswith("."):  # quoted entity: the key follows
            key_chain_issues(rest[1:], tags)
        elif rest:
            tags.add("unclassified_identifier")
        return
    m = re.match(r"\w*", text)
    rest = text[m.end() :]
    if not rest:
        return
    if not rest.startswith("."):
        tags.add("identifier_whitespace" if rest[:1].isspace() else "unclassified_identifier")
        return
    key_chain_issues(rest[1:], tags)


STRICT_LIST = re.compile(
    r"""\([ \t\n\r\f]*(?:'[^'\\\n\r\0]*'|"[^"\\\n\r\0]*")"""
    r"""(?:[ \t\n\r\f]*,[ \t\n\r\f]*(?:'[^'\\\n\r\0]*'|"[^"\\\n\r\0]*"))*"""
    r"""[ \t\n\r\f]*,?[ \t\n\r\f]*\)\Z"""
)


def value_issues(token, tags):
    v = token.value
    if isinstance(token, Parenthesis):
        if not STRICT_LIST.match(v):  # Python literal syntax: escapes, concatenation, nesting...
            tags.add("python_list_syntax")
    elif token.ttype in (T.Literal.Number.Integer, T.Literal.Number.Float):
        if any(c.isdigit() and not c.isascii() for c in v):
            tags.add("unicode_digits")


def filter_leniencies(s):
    tags = set()
    statements = sqlparse.parse(s)
    if not statements:
        return []
    statement = statements[0]
    for leaf in statement.flatten():
        if leaf.ttype in (T.Keyword, T.Operator.Comparison) and not leaf.value.isascii():
            tags.add("unicode_case_fold")  # e.g. `ıs null`: sqlparse upper-cases `ı` to `I`
    tokens = _join_in_comparison_tokens(statement.tokens)
    solid = [t for t in tokens if not t.is_whitespace]
    shape = "".join("C" if isinstance(t, Comparison) else "A" for t in solid)
    if shape and not re.fullmatch(r"C(AC)*", shape):
        tags.add("and_structure")
    for t in solid:
        if not isinstance(t, Comparison):
            if not t.value.isascii():
                tags.add("unicode_case_fold")
            continue
        parts = [x for x in t.tokens if not x.is_whitespace]
        identifier_issues(parts[0].value, tags)
        if any(not p.value.isascii() for p in parts[1:2]):
            tags.add("unicode_case_fold")
        if len(parts) >= 3:
            value_issues(parts[2], tags)
    # a number glued to a following AND (`1e5AND`): sqlparse splits it, runstore does not
    flat = list(statement.flatten())
    for a, b in zip(flat, flat[1:]):
        if a.ttype in (T.Literal.Number.Float, T.Literal.Number.Integer) and b.match(T.Keyword, ["AND"]):
            tags.add("exponent_glued_and")
    return sorted(tags)


def order_by_leniencies(clause):
    tags = set()
    m = re.fullmatch(r"(.*?)(?:(\s+)(asc|desc))?", clause, re.IGNORECASE | re.DOTALL)
    ident, sep = m.group(1), m.group(2)
    if sep is not None and any(c not in " \t\r\n" for c in sep):
        tags.add("order_by_separator")
    if re.search(r"\s", ident) and not re.search(r"[`'\"]", ident):
        tags.add("identifier_whitespace")
    if re.search(r"[^ \t\r\n\w.`'\"]\s*(asc|desc)\Z", clause, re.IGNORECASE):
        tags.add("order_by_separator")
    if tags & {"order_by_separator"}:
        return sorted(tags)
    key_part = ident.split(".", 1)[1] if "." in ident else ""
    if key_part[:1] in QUOTES:
        res = scan_quoted(key_part[1:], key_part[0], QUOTES[key_part[0]])
        if res[0] != "unterminated" and key_part[2 + res[1] :]:
            tags.add("order_by_shlex_quote")  # a chain with quoted parts: shlex rewrites it
    elif re.search(r"[`'\"]", key_part):
        tags.add("order_by_shlex_quote")
    if any(part[:1].isdigit() for part in key_part.split(".")):
        tags.add("digit_leading_key")  # order_by reads `metrics.1 asc` (filters do not)
    if not re.search(r"[`'\"]", key_part) and "as" in key_part.lower().split("."):
        tags.add("reserved_word_key")  # sqlparse reads `metrics.as DESC` as an alias: accepted
    if sep is not None and ident[:1] in "\"'":
        tags.add("order_by_shlex_quote")  # shlex drops the quotes around the entity
        return sorted(tags)
    identifier_issues(ident, tags)
    # quoted keys that shlex re-reads differently (only with a direction, but runstore
    # applies the rule to every clause)
    for q, bad in (("`", '"`\\'), ('"', '"`\\'), ("'", "'`")):
        for content in re.findall(re.escape(q) + r"((?:[^" + re.escape(q) + r"]|" + re.escape(q * 2) + r")*)" + re.escape(q), ident):
            if any(c in content for c in bad) or content[-1:].isspace():
                tags.add("order_by_shlex_quote")
    return sorted(tags)


# --------------------------------------------------------------------------
# Generators
# --------------------------------------------------------------------------

ENTITIES = ["metrics", "metric", "params", "param", "parameter", "parameters", "tags", "tag",
            "attributes", "attribute", "attr", "run", "datasets", "dataset"]
BAD_ENTITIES = ["Metrics", "METRICS", "metricz", "p", "experiment", "`metrics`", '"metrics"', "'tags'"]
ATTRS = ["run_id", "run_name", "status", "user_id", "artifact_uri", "start_time", "end_time",
         "created", "Created", "`run name`", "`Run name`", "`Run Name`", '"run name"']
BAD_ATTRS = ["lifecycle_stage", "experiment_id", "Status", "STATUS", "nosuch", "run name", "runName", "timestamp"]
DATASET_KEYS = ["name", "digest", "context", "Name", "source", "profile"]
KEYS = ["acc", "loss", "val.acc", "mlflow.runName", "a.b.c", "x1", "_private", "名前", "é",
        "ß", "Ωmega", "acc_2", "select", "and", "not", "null", "order", "desc", "asc", "is", "like",
        "in", "from", "as", "case", "values", "using", "IN", "From", "ın", "1a", "1", "12a", "1_a",
        "a$b", "a#b", "a-b", "a/b", "a:b", "a b", "", "a..b", "a.", ".a", "a .b", " a",
        "हिन्दी", "ѕ", "a\u0301", "ⓐ", "K", "٣x", "x٣", "²x"]
QUOTED_KEY_CONTENT = ["a b", "a.b", "from", "in", "a-b", "a/b", "a:b", "it's", 'say "hi"', "a``b",
                      'a""b', "a''b", "`a`", "", " ", "a\\b", "a\\", "名 前", "x\ny", "a'b\"c", "%_"]
NUMBERS_OK = ["0", "1", "-1", "0.5", "-0.5", ".5", "-.5", "5.", "-5.", "1e3", "1E3", "1e-3",
              "-1.5E-5", "1.5e05", "00012", "01.50", "-0", "1700000000000", "1.7e12", "1e400",
              "-1e400", "1e-400", "9223372036854775807", "9223372036854775808",
              "-9223372036854775808", "-9223372036854775809", "99999999999999999999999",
              "1.7976931348623157e308"]
NUMBERS_BAD = ["+1", "- 0.5", "0x10", "1_000", "NaN", "nan", "inf", "-inf", "Infinity", "1e+3",
               "5.e3", ".5e3", "1.5.5", "--5", "-", ".", "1e", "1e-", "٣", "1,5", "1a", "'1'", '"1"',
               "`1`", "(1)", "1 2"]
STRINGS = ["'x'", '"x"', "''", '""', "'it''s'", '"it\'s"', "'it\\'s'", "'a\\'", '"a""b"', "'say \"hi\"'",
           "'%'", "'a_b'", "'res%'", "'%\\%%'", "'名前'", "'x\ny'", "'a\tb'", "'FINISHED'",
           "x", "`x`", "'unterminated", '"unterminated', "'a''", "'a' 'b'", '"x" "y"', "'a\\' AND tags.t = 'b'",
           "'a\x00b'", "'\u00a0'", "'`a`'"]
LISTS = ["('a')", "('a', 'b')", "('a','b',)", "(\"a\")", "( 'a' )", "('a' , 'b' ,)", "(\n'a'\n)",
         "(\t'a'\x0c)", "('a'\r)", "()", "(  )", "('a',,'b')", "(,'a')", "('a' 'b')", "('a''b')",
         "('a\\'b')", "('\\x41')", "(r'a')", "(b'a')", "(f'a')", "('''a''')", "(('a'))", "(1)",
         "('a', 1)", "['a']", "('a\nb')", "('a\\nb')", "('é')", "(\u00a0'a')", "(\x0b'a')",
         "('it\"s')", "(\"it's\")", "('a'", "'a'", "('a'#x\n)"]
COMPARATORS = ["=", "!=", "<", "<=", ">", ">=", "LIKE", "like", "Like", "ILIKE", "ilike", "IN", "in",
               "NOT IN", "not in", "NOT  IN", "NOT\nIN", "IS NULL", "is null", "IS  NULL", "IS\tNULL",
               "IS NOT NULL", "is not null", "IS NOT  NULL", "IS NOT\tNULL", "IS  NOT NULL",
               "==", "<>", "=>", "=<", "! =", "NOT LIKE", "RLIKE", "REGEXP", "BETWEEN", "~", "IS",
               "ıs null", "LİKE", "ın", "NOT"]
SPACES = [" ", " ", " ", " ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\x1c", "\x0b", ""]
CONNECTORS = [" AND ", " AND ", " AND ", " and ", " AnD ", "\nAND\n", "\tAND\t", "\u00a0AND\u00a0",
              " AND AND ", " ", " OR ", " && ", " , ", "AND ", " AND", " ANDAND ", " And  "]


def rnd_key(r):
    if r.random() < 0.55:
        return r.choice(KEYS[:12])
    if r.random() < 0.5:
        return r.choice(KEYS)
    content = r.choice(QUOTED_KEY_CONTENT)
    q = r.choice(["`", "`", '"', "'"])
    return q + content + q


def rnd_ident(r):
    roll = r.random()
    if roll < 0.1:
        return r.choice(ATTRS + BAD_ATTRS)
    entity = r.choice(ENTITIES if r.random() < 0.93 else BAD_ENTITIES)
    base = entity.strip("`\"'").rstrip("s")
    if base in ("attribute", "attr", "run"):
        key = r.choice(ATTRS + BAD_ATTRS if r.random() < 0.2 else ATTRS)
    elif base == "dataset":
        key = r.choice(DATASET_KEYS)
    else:
        key = rnd_key(r)
    return f"{entity}.{key}"


def rnd_value(r, cmp):
    c = cmp.upper()
    if "NULL" in c:
        return None
    if "IN" in c.split() or c in ("IN", "ın".upper()):
        return r.choice(LISTS if r.random() < 0.85 else STRINGS + NUMBERS_OK)
    roll = r.random()
    if roll < 0.45:
        return r.choice(NUMBERS_OK if r.random() < 0.8 else NUMBERS_BAD)
    if roll < 0.9:
        return r.choice(STRINGS)
    return r.choice(LISTS)


def sensible_cmp(r, ident):
    base = ident.split(".", 1)[0].strip("`").rstrip("s")
    key = ident.split(".", 1)[-1]
    if r.random() < 0.25:
        return r.choice(COMPARATORS)
    if base == "metric" or key in ("start_time", "end_time", "created", "Created"):
        return r.choice(["=", "!=", "<", "<=", ">", ">="])
    if base in ("param", "parameter", "tag"):
        return r.choice(["=", "!=", "LIKE", "ILIKE", "IS NULL", "IS NOT NULL"])
    if base == "dataset" or key == "run_id":
        return r.choice(["=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"])
    return r.choice(["=", "!=", "LIKE", "ILIKE"])


def sensible_value(r, ident, cmp):
    c = cmp.upper()
    if "NULL" in c:
        return None
    if c in ("IN", "NOT IN"):
        return r.choice(LISTS[:9]) if r.random() < 0.8 else r.choice(LISTS)
    base = ident.split(".", 1)[0].strip("`").rstrip("s")
    key = ident.split(".", 1)[-1]
    if base == "metric" or key in ("start_time", "end_time", "created", "Created"):
        return r.choice(NUMBERS_OK) if r.random() < 0.85 else r.choice(NUMBERS_BAD)
    return r.choice(STRINGS[:18]) if r.random() < 0.85 else r.choice(STRINGS)


def rnd_condition(r, sensible=True):
    ident = rnd_ident(r)
    cmp = sensible_cmp(r, ident) if sensible else r.choice(COMPARATORS)
    value = sensible_value(r, ident, cmp) if sensible else rnd_value(r, cmp)
    s1 = r.choice(SPACES) if r.random() < 0.3 else " "
    s2 = r.choice(SPACES) if r.random() < 0.3 else " "
    if value is None:
        return f"{ident}{s1 or ' '}{cmp}"
    return f"{ident}{s1}{cmp}{s2}{value}"


def rnd_filter(r):
    n = r.choice([1, 1, 1, 2, 2, 3, 4])
    conds = [rnd_condition(r, sensible=r.random() < 0.9) for _ in range(n)]
    out = conds[0]
    for c in conds[1:]:
        out += (r.choice(CONNECTORS) if r.random() < 0.15 else " AND ") + c
    roll = r.random()
    if roll < 0.05:
        out = "AND " + out
    elif roll < 0.1:
        out = out + " AND"
    elif roll < 0.15:
        out = r.choice(SPACES) + out + r.choice(SPACES)
    elif roll < 0.18:
        out = "(" + out + ")"
    elif roll < 0.2:
        out = "NOT " + out
    return out


def matrix_filters():
    """Every identifier kind with every comparator and a value of each kind."""
    idents = ["metrics.acc", "metric.`a b`", "params.lr", "param.\"a b\"", "parameters.x", "tags.t",
              "tag.'a b'", "attributes.run_id", "attr.status", "run.run_name", "`Run name`", "user_id",
              "attributes.artifact_uri", "start_time", "attributes.end_time", "created", "Created",
              "datasets.name", "dataset.digest", "datasets.context", "attributes.lifecycle_stage"]
    comparators = ["=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE", "IN", "NOT IN", "IS NULL",
                   "IS NOT NULL"]
    values = ["1", "-0.5", "1.5e3", "'x'", '"x"', "('a', 'b')"]
    out = []
    for ident in idents:
        for cmp in comparators:
            if "NULL" in cmp:
                out.append(f"{ident} {cmp}")
            else:
                out.extend(f"{ident} {cmp} {v}" for v in values)
    return out


MUTATION_CHARS = list(" \t\n.'\"`()=<>!-_,;#%\\aAnd01eE名\u00a0")


def mutate(r, s):
    if not s:
        return r.choice(MUTATION_CHARS)
    i = r.randrange(len(s))
    roll = r.random()
    if roll < 0.35:
        return s[:i] + s[i + 1 :]
    if roll < 0.75:
        return s[:i] + r.choice(MUTATION_CHARS) + s[i:]
    if roll < 0.9 and i + 1 < len(s):
        return s[:i] + s[i + 1] + s[i] + s[i + 2 :]
    return s[:i] + s[i:].upper() if r.random() < 0.5 else s[:i] + s[i:].lower()


HANDWRITTEN_FILTERS = [
    "", " ", "\t\n", "metrics.acc > 0.5", "metrics.acc>0.5", "metrics.acc > .5", "metrics.acc = -0.5",
    "metrics.`val.acc` > 0.5", "metrics.val.acc > 0.5", "tags.mlflow.runName = 'x'",
    "params.名前 = 'x'", "params.`batch size` = '1'", "params.\"batch size\" = '1'", "params.'batch size' = '1'",
    "metrics.a.b > 1", "metrics.a .b > 1", "metrics. a > 1", "metrics .a > 1", "metrics.1abc > 1",
    "metrics.123 > 1", "metrics.a$b > 1", "metrics.a#b > 1", "metrics.select > 1", "metrics.in > 1",
    "metrics.from > 1", "metrics.`from` > 1", "`metrics`.a > 1", "\"metrics\".a > 1", "metrics.\"a\" > 1",
    "metrics.'a' > 1", "metrics.`a`.b > 1", "metrics.a`b` > 1", "metrics > 1", "metrics.a. > 1",
    "metrics.a..b > 1", "metrics..a > 1", "metrics.a.`b` > 1", "metrics.`a`b > 1",
    "start_time > 1.5e12", "start_time = '123'", "start_time > 99999999999999999999999",
    "metrics.x > 99999999999999999999999", "metrics.x > 1e400", "start_time > 1e400",
    "metrics.x > -1E-3", "metrics.x > 1.e3", "metrics.x > 5.", "metrics.x > .5e3", "metrics.x > 0x10",
    "metrics.x > -.5", "metrics.x > 1 -- comment", "metrics.x > 1 # hi", "metrics.x > 1e+3",
    "metrics.x > ٣", "metrics.x > 1;", "metrics.x > 1 AND", "AND metrics.x > 1",
    "metrics.x > 1 AND AND metrics.y > 2", "metrics.x > 1 metrics.y > 2", "metrics.x > 1.5.5",
    "params.a = \"it's\"", "params.a = 'it''s'", "params.a = 'it\\'s'", "params.a = 'x\\'",
    "params.a = 'a\\' AND params.b = 'c'", "params.a = 'a'''", "params.a = 'a''",
    "params.a = \"x\" \"y\"", "params.a = \"x\" y", "params.a NOT LIKE 'x'", "params.a RLIKE 'x'",
    "params.a IS  NOT   NULL", "params.a IS NOT\tNULL", "params.a IS\nNULL", "params.a IS",
    "metrics.x == 1", "metrics.x <> 1", "metrics.x ! = 1", "tags.a = 'x'AND tags.b = 'y'",
    "tags.a = 'x' AND(tags.b = 'y')", "metrics.x > 1AND metrics.y > 1", "metrics.a > 1e5AND metrics.b > 1",
    "attributes.run_id IN ('a')AND metrics.b > 1", "params.a IS NULLAND metrics.b > 1",
    "params.`a`LIKE 'x'", "params.\"a\"LIKE 'x'", "params.a LIKE'x'", "params.not LIKE 'a'",
    "params.is IS NULL", "params.null IS NOT NULL", "`status` = 'a'", "\"status\" = 'a'", "'status' = 'a'",
    "`run name` = 'a'", "`Run Name` = 'a'", "params.\"`a`\" = 'x'", "params.'`a`' = 'x'",
    "params.`` = 'x'", "params.\"\" = 'x'", "params.'' = 'x'", "params. = 'x'",
    "attributes.status IS NULL", "attributes.start_time IN ('1')", "attributes.start_time = 9223372036854775807",
    "attributes.start_time = 9223372036854775808", "attributes.start_time = -9223372036854775809",
    "attributes.run_id = ('a')", "datasets.name = ('a')", "attributes.run_id IN (('a'))",
    "metrics.a > 1 OR metrics.b > 1", "NOT metrics.a > 1", "(metrics.a > 1)", "metrics.acc = ",
    "acc > 1", "params.lr = `0.01`", "tags.team IN ('fraud')", "params.lr NOT IN ('0.1')",
    "params.a = 'x' \x00", "\x00", "metrics.ın > 1", "metrics.ſelect > 1", "params.a ıs null",
    "params.a LİKE 'x'", "metrics.a\u00a0>\u00a01", "metrics.a\x1c>\x1c1", "metrics.a > 1\u3000AND\u3000metrics.b > 1",
    "params.`a\nb` = 'x'", "params.a = 'x\ny'", "params.a = 'a\x00b'", "metrics.²x > 1",
]

HANDWRITTEN_ORDER_BY = [
    ["metrics.a"], ["metrics.a DESC"], ["metrics.a  DESC"], ["metrics.a\tDESC"], ["metrics.a\nDESC"],
    ["metrics.a\r\nDESC"], ["metrics.a\u00a0DESC"], ["metrics.a\x0bDESC"], ["metrics.a\x1cDESC"],
    ["metrics.a desc"], ["metrics.a Desc"], ["metrics.a ASC"], [" metrics.a"], ["metrics.a "],
    ["metrics.a DESC "], ["metrics.a NULLS LAST"], ["metrics.a DESC NULLS LAST"], ["metrics.a, metrics.b"],
    ["metrics.`a b` DESC"], ["metrics.\"a b\" DESC"], ["metrics.'a b' DESC"], ["metrics.a.b DESC"],
    ["metrics.a", "metric.a"], ["start_time", "created"], ["start_time", "Created"],
    ["attributes.start_time", "attr.created"], ["run_name"], ["attributes.`run name`"],
    ["status"], ["run_id"], ["user_id"], ["artifact_uri"], ["end_time"], ["lifecycle_stage"],
    ["experiment_id"], ["datasets.name"], ["dataset.name"], ["tags.a", "tags.a DESC"], ["params.a", "tags.a"],
    ["metrics.from"], ["metrics.`from`"], ["metrics.in DESC"], ["metrics.a DESC DESC"], ["metrics.a DOWN"],
    ["metrics. a"], ["metrics.a .b"], ["metrics.a AND"], ["metrics.a = 1"], ["metrics.名前 DESC"],
    ["`metrics`.a"], ["metrics.`a`.b"], ["metrics.a`b`"], ["metrics"], ["timestamp"], ["timestamp DESC"],
    ["metrics.1a"], ["metrics.a#b"], ["metrics.`a``b`"], ["metrics.\"a\"\"b\""], ["metrics.`` DESC"],
    ["metrics.a -- x"], ["metrics.a;"], ["metrics.`a\\\\b` DESC"], ["metrics.`a\\\\b`"],
    ["metrics.`a'b` DESC"], ["metrics.\"a'b\" DESC"], ["metrics.'a\"b' DESC"], ["metrics.'a\"b'"],
    ["parameter.a"], ["parameters.a DESC"], ["attr.status"], ["run.status"], ["`status`"], ["\"status\""],
    ["'status'"], ["metrics.desc"], ["metrics.asc DESC"], ["metrics.nulls"], ["metrics.not DESC"],
    ["metrics.a."], ["metrics.a.`b`"], ["metrics.`a`b"], [""], ["metrics.a ASC\n"], [],
]


def rnd_order_clause(r):
    roll = r.random()
    if roll < 0.15:
        ident = r.choice(ATTRS + BAD_ATTRS)
    else:
        ident = rnd_ident(r)
    direction = r.choice(["", "", " ASC", " DESC", " asc", " desc", " Desc", "  DESC", "\tASC", "\nDESC",
                          "\u00a0DESC", " DOWN", " DESC DESC", " NULLS LAST", " DESC NULLS FIRST", ",", " , x"])
    out = ident + direction
    if r.random() < 0.05:
        out = r.choice(SPACES) + out
    if r.random() < 0.05:
        out = out + r.choice(SPACES)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "..", "query", "tests", "data", "mlflow_parse_cases.json"))
    ap.add_argument("--filters", type=int, default=5000)
    ap.add_argument("--order-bys", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--mutation-rate", type=float, default=0.2, help="share of random filters mutated")
    args = ap.parse_args()

    r = random.Random(args.seed)
    oracle = Oracle()

    filters = list(dict.fromkeys(HANDWRITTEN_FILTERS + matrix_filters()))
    seen = set(filters)
    while len(filters) < args.filters:
        s = rnd_filter(r)
        if r.random() < args.mutation_rate:
            for _ in range(r.choice([1, 1, 2, 3])):
                s = mutate(r, s)
        if s not in seen:
            seen.add(s)
            filters.append(s)

    order_bys = [list(o) for o in HANDWRITTEN_ORDER_BY]
    seen_o = {tuple(o) for o in order_bys}
    while len(order_bys) < args.order_bys:
        n = r.choice([1, 1, 1, 2, 2, 3])
        o = [rnd_order_clause(r) for _ in range(n)]
        if r.random() < args.mutation_rate:
            o[0] = mutate(r, o[0])
        if tuple(o) not in seen_o:
            seen_o.add(tuple(o))
            order_bys.append(o)

    out_filters = []
    for s in filters:
        err = oracle.search(s, [])
        case = {"input": s, "ok": err is None}
        if err is None:
            case["parsed"] = mlflow_filter_parse(s)
            case["lenient"] = filter_leniencies(s)
        else:
            case["error"] = err
        out_filters.append(case)

    out_orders = []
    for o in order_bys:
        err = oracle.search("", o)
        case = {"input": o, "ok": err is None}
        if err is None:
            parsed = [SearchUtils.parse_order_by_for_search_runs(c) for c in o]
            case["parsed"] = [[t, k, asc] for (t, k, asc) in parsed]
            case["lenient"] = sorted({tag for c in o for tag in order_by_leniencies(c)})
        else:
            case["error"] = err
        out_orders.append(case)

    doc = {
        "generator": "tools/parser_diff/gen_parse_cases.py",
        "mlflow_version": mlflow.__version__,
        "sqlparse_version": sqlparse.__version__,
        "python_version": sys.version.split()[0],
        "seed": args.seed,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as fh:
        # One case per line: small diffs when the generator changes.
        head = json.dumps(doc, ensure_ascii=True)[:-1]
        fh.write(head + ',\n"filters": [\n')
        fh.write(",\n".join(json.dumps(c, ensure_ascii=True) for c in out_filters))
        fh.write('\n],\n"order_by": [\n')
        fh.write(",\n".join(json.dumps(c, ensure_ascii=True) for c in out_orders))
        fh.write("\n]}\n")
    acc_f = sum(c["ok"] for c in out_filters)
    acc_o = sum(c["ok"] for c in out_orders)
    print(f"{len(out_filters)} filters ({acc_f} accepted by MLflow), "
          f"{len(out_orders)} order_by lists ({acc_o} accepted) -> {args.out}")


if __name__ == "__main__":
    main()
