//! Differential test: runstore's parser against MLflow's verdicts, recorded
//! by `tools/parser_diff/gen_parse_cases.py` in `data/mlflow_parse_cases.json`.
//!
//! - MLflow rejects  → we reject (no exceptions).
//! - MLflow accepts  → we accept with the same meaning (entity, key,
//!   comparator, value — compared exactly), or we reject and the case carries
//!   only leniency tags from the documented lists below.

use runstore_query::{
    Condition, Dialect, Expr, NumOp, OrderKey, SetOp, StrOp, TextOp, TimeValue, parse_filter,
    parse_order_by,
};

use crate::json::Json;

/// MLflow leniencies runstore deliberately rejects in filters
/// (docs/query-language.md, "MLflow quirks").
const FILTER_LENIENCIES: &[&str] = &[
    "and_structure",         // leading, trailing, doubled or missing AND
    "identifier_whitespace", // `metrics. a` (key " a"), `metrics.a .b` (key "a .b")
    "empty_key_part",        // `metrics.a.`, `metrics.a..b`, `params. = 'x'`
    "digit_leading_key",     // a key part starting with a non-ASCII digit: `metrics.²x`
    "sigil_key",             // `params.#x1`, `params.x#`: sqlparse reads these as one name
    "function_key",          // `metrics.f(x)`: a function call as a key
    "python_list_syntax",    // IN lists evaluated as Python literals: escapes, 'a' 'b', (('a'))
    "unicode_digits",        // `metrics.x > ٣`
    "exponent_glued_and",    // `metrics.x > 1e5AND ...`
    "unicode_case_fold",     // keywords spelled with ı, İ, ſ, K (Kelvin)
];

/// The same for order_by clauses, where MLflow also re-reads keys with
/// `shlex` when a direction is given (runstore applies that rule to every clause).
const ORDER_BY_LENIENCIES: &[&str] = &[
    "identifier_whitespace",
    "empty_key_part",
    "digit_leading_key",
    "sigil_key",
    "function_key",
    "mixed_quoting",      // `metrics.a`b``, `metrics.`a`b`: one raw token in order_by
    "order_by_separator", // `metrics.a<NBSP>DESC`: MLflow orders by the key "a<NBSP>DESC"
    "order_by_shlex_quote", // quoted keys shlex would re-read differently
    "reserved_word_key",  // `metrics.as DESC`: accepted (but `metrics.as` alone is not)
];

const DATA: &str = include_str!("../data/mlflow_parse_cases.json");

#[derive(Debug, Clone, PartialEq)]
enum Val {
    None,
    Str(String),
    List(Vec<String>),
    Num(u64),
    Int(i64),
    Float(u64),
}

/// One condition as (entity, key, comparator, value), MLflow's shape.
type Flat = (String, String, String, Val);

fn f64_bits(text: &str) -> u64 {
    text.parse::<f64>()
        .unwrap_or_else(|_| panic!("bad float {text:?}"))
        .to_bits()
}

fn mlflow_value(v: &Json) -> Val {
    if *v == Json::Null {
        return Val::None;
    }
    let Json::Obj(fields) = v else {
        panic!("bad value {v:?}")
    };
    let (kind, inner) = &fields[0];
    match kind.as_str() {
        "str" => Val::Str(inner.str().to_owned()),
        "list" => Val::List(inner.arr().iter().map(|s| s.str().to_owned()).collect()),
        "num" => Val::Num(f64_bits(inner.str())),
        "int" => Val::Int(inner.str().parse().expect("int")),
        "float" => Val::Float(f64_bits(inner.str())),
        other => panic!("unknown value kind {other}"),
    }
}

/// MLflow's attribute aliases, as `translate_key_alias` resolves them.
fn canonical_attribute(key: &str) -> &str {
    match key {
        "created" | "Created" => "start_time",
        "run name" | "Run name" | "Run Name" => "run_name",
        other => other,
    }
}

fn mlflow_conditions(parsed: &Json) -> Vec<Flat> {
    parsed
        .arr()
        .iter()
        .map(|c| {
            let kind = c.field("type").str().to_owned();
            let key = c.field("key").str();
            let key = if kind == "attribute" {
                canonical_attribute(key)
            } else {
                key
            };
            (
                kind,
                key.to_owned(),
                c.field("comparator").str().to_owned(),
                mlflow_value(c.field("value")),
            )
        })
        .collect()
}

fn num_op(op: NumOp) -> &'static str {
    match op {
        NumOp::Eq => "=",
        NumOp::Ne => "!=",
        NumOp::Lt => "<",
        NumOp::Le => "<=",
        NumOp::Gt => ">",
        NumOp::Ge => ">=",
    }
}

fn str_op(op: &StrOp) -> (&'static str, Val) {
    match op {
        StrOp::Eq(v) => ("=", Val::Str(v.clone())),
        StrOp::Ne(v) => ("!=", Val::Str(v.clone())),
        StrOp::Like(v) => ("LIKE", Val::Str(v.clone())),
        StrOp::ILike(v) => ("ILIKE", Val::Str(v.clone())),
    }
}

fn text_op(op: &TextOp) -> (&'static str, Val) {
    match op {
        TextOp::Str(op) => str_op(op),
        TextOp::IsNull => ("IS NULL", Val::None),
        TextOp::IsNotNull => ("IS NOT NULL", Val::None),
    }
}

fn set_op(op: &SetOp) -> (&'static str, Val) {
    match op {
        SetOp::Str(op) => str_op(op),
        SetOp::In(items) => ("IN", Val::List(items.clone())),
        SetOp::NotIn(items) => ("NOT IN", Val::List(items.clone())),
    }
}

fn flat(c: &Condition) -> Flat {
    let (kind, key, (cmp, val)) = match c {
        Condition::Metric { key, op, value } => (
            "metric",
            key.clone(),
            (num_op(*op), Val::Num(value.to_bits())),
        ),
        Condition::Param { key, op } => ("parameter", key.clone(), text_op(op)),
        Condition::Tag { key, op } => ("tag", key.clone(), text_op(op)),
        Condition::TimeAttr { attr, op, value } => {
            let val = match value {
                TimeValue::Int(n) => Val::Int(*n),
                TimeValue::Float(x) => Val::Float(x.to_bits()),
            };
            let name = runstore_query::Attribute::from(*attr).name();
            ("attribute", name.to_owned(), (num_op(*op), val))
        }
        Condition::TextAttr { attr, op } => (
            "attribute",
            runstore_query::Attribute::from(*attr).name().to_owned(),
            str_op(op),
        ),
        Condition::RunId(op) => ("attribute", "run_id".to_owned(), set_op(op)),
        Condition::Dataset { field, op } => ("dataset", field.name().to_owned(), set_op(op)),
    };
    (kind.to_owned(), key, cmp.to_owned(), val)
}

/// The conditions of an MLflow-dialect tree, in order.
fn conditions(expr: &Option<Expr>) -> Vec<Flat> {
    match expr {
        None => vec![],
        Some(Expr::Cond(c)) => vec![flat(c)],
        Some(Expr::And(operands)) => operands
            .iter()
            .map(|e| match e {
                Expr::Cond(c) => flat(c),
                other => panic!("MLflow dialect produced a nested {other:?}"),
            })
            .collect(),
        Some(other) => panic!("MLflow dialect produced {other:?}"),
    }
}

fn order_key(key: &OrderKey) -> (String, String) {
    let (kind, key) = match key {
        OrderKey::Metric(k) => ("metric", k.as_str()),
        OrderKey::Param(k) => ("parameter", k.as_str()),
        OrderKey::Tag(k) => ("tag", k.as_str()),
        OrderKey::Attr(a) => ("attribute", a.name()),
    };
    (kind.to_owned(), key.to_owned())
}

fn tags(case: &Json) -> Vec<String> {
    case.get("lenient").map_or(vec![], |t| {
        t.arr().iter().map(|s| s.str().to_owned()).collect()
    })
}

fn documented(tags: &[String], allowed: &[&str]) -> bool {
    !tags.is_empty() && tags.iter().all(|t| allowed.contains(&t.as_str()))
}

#[derive(Default)]
struct Tally {
    cases: usize,
    mlflow_accepts: usize,
    same_meaning: usize,
    both_reject: usize,
    lenient_rejected: std::collections::BTreeMap<String, usize>,
    failures: Vec<String>,
}

impl Tally {
    fn report(&self, what: &str) {
        eprintln!(
            "{what}: {} cases, MLflow accepts {}; accepted with the same meaning {}, both reject {}, \
             MLflow leniencies rejected {:?}, disagreements {}",
            self.cases,
            self.mlflow_accepts,
            self.same_meaning,
            self.both_reject,
            self.lenient_rejected,
            self.failures.len()
        );
        assert!(
            self.failures.is_empty(),
            "{what}: {} disagreements with MLflow, first ones:\n{}",
            self.failures.len(),
            self.failures
                .iter()
                .take(40)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

#[test]
fn filters_agree_with_mlflow() {
    let data = Json::parse(DATA);
    let mut t = Tally::default();
    for case in data.field("filters").arr() {
        t.cases += 1;
        let input = case.field("input").str();
        let ours = parse_filter(input, Dialect::Mlflow);
        if let Err(e) = &ours {
            let line = e.to_string();
            assert!(
                !line.contains('\n') && e.offset() <= input.chars().count(),
                "{line}"
            );
        }
        if !case.field("ok").bool() {
            match ours {
                Err(_) => t.both_reject += 1,
                Ok(tree) => t.failures.push(format!(
                    "MLflow rejects {input:?} ({}), we accept {tree:?}",
                    case.field("error").str()
                )),
            }
            continue;
        }
        t.mlflow_accepts += 1;
        let expected = mlflow_conditions(case.field("parsed"));
        let tags = tags(case);
        match &ours {
            Ok(tree) if conditions(tree) == expected => t.same_meaning += 1,
            Ok(tree) => t.failures.push(format!(
                "different meaning for {input:?}:\n  MLflow {expected:?}\n  ours   {:?}",
                conditions(tree)
            )),
            Err(e) if documented(&tags, FILTER_LENIENCIES) => {
                if std::env::var_os("PARSER_DIFF_VERBOSE").is_some() {
                    eprintln!("lenient {tags:?}: {input:?}: {e}");
                }
                for tag in tags {
                    *t.lenient_rejected.entry(tag).or_default() += 1;
                }
            }
            Err(e) => t.failures.push(format!(
                "MLflow accepts {input:?} (tags {tags:?}) as {expected:?}, we reject: {e}"
            )),
        }
        // The extended dialect is a superset with the same trees.
        let extended = parse_filter(input, Dialect::Extended);
        assert_eq!(
            extended.as_ref().ok(),
            ours.as_ref().ok(),
            "extended dialect on {input:?}"
        );
    }
    t.report("filters");
}

#[test]
fn order_by_agrees_with_mlflow() {
    let data = Json::parse(DATA);
    let mut t = Tally::default();
    for case in data.field("order_by").arr() {
        t.cases += 1;
        let input: Vec<&str> = case.field("input").arr().iter().map(Json::str).collect();
        let ours = parse_order_by(&input);
        if let Err(e) = &ours {
            assert!(!e.to_string().contains('\n'), "{e}");
        }
        if !case.field("ok").bool() {
            match ours {
                Err(_) => t.both_reject += 1,
                Ok(parsed) => t.failures.push(format!(
                    "MLflow rejects {input:?} ({}), we accept {parsed:?}",
                    case.field("error").str()
                )),
            }
            continue;
        }
        t.mlflow_accepts += 1;
        let expected: Vec<(String, String, bool)> = case
            .field("parsed")
            .arr()
            .iter()
            .map(|c| {
                let c = c.arr();
                let kind = c[0].str().to_owned();
                let key = if kind == "attribute" {
                    canonical_attribute(c[1].str())
                } else {
                    c[1].str()
                };
                (kind, key.to_owned(), c[2].bool())
            })
            .collect();
        let tags = tags(case);
        match &ours {
            Ok(parsed) => {
                let got: Vec<_> = parsed
                    .iter()
                    .map(|o| {
                        let (kind, key) = order_key(&o.key);
                        (kind, key, o.ascending)
                    })
                    .collect();
                if got == expected {
                    t.same_meaning += 1;
                } else {
                    t.failures.push(format!(
                        "different meaning for {input:?}:\n  MLflow {expected:?}\n  ours   {got:?}"
                    ));
                }
            }
            Err(e) if documented(&tags, ORDER_BY_LENIENCIES) => {
                if std::env::var_os("PARSER_DIFF_VERBOSE").is_some() {
                    eprintln!("lenient {tags:?}: {input:?}: {e}");
                }
                for tag in tags {
                    *t.lenient_rejected.entry(tag).or_default() += 1;
                }
            }
            Err(e) => t.failures.push(format!(
                "MLflow accepts {input:?} (tags {tags:?}) as {expected:?}, we reject: {e}"
            )),
        }
    }
    t.report("order_by");
}
