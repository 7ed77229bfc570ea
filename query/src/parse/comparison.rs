//! One condition: identifier, comparator, value — typed by MLflow's
//! comparator matrix.

use nom::{Parser, bytes::complete::take_while1};

use super::ident::{Entity, Ident, identifier};
use super::lex::{at_keyword, describe_next, keyword, ws0};
use super::literal::{Number, number, string, string_list};
use super::{Fail, PResult, fail};
use crate::ast::{
    Condition, DatasetField, NumOp, SetOp, StrOp, TextAttribute, TextOp, TimeAttribute, TimeValue,
};

/// What a condition compares, once the identifier is resolved.
#[derive(Debug, Clone, Copy)]
enum Target<'a> {
    Metric(&'a str),
    Param(&'a str),
    Tag(&'a str),
    Time(TimeAttribute),
    Text(TextAttribute),
    RunId,
    Dataset(DatasetField),
}

/// A comparator as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Num(NumOp),
    Like,
    ILike,
    In,
    NotIn,
    IsNull,
    IsNotNull,
}

impl Cmp {
    fn text(self) -> &'static str {
        match self {
            Cmp::Num(NumOp::Eq) => "=",
            Cmp::Num(NumOp::Ne) => "!=",
            Cmp::Num(NumOp::Lt) => "<",
            Cmp::Num(NumOp::Le) => "<=",
            Cmp::Num(NumOp::Gt) => ">",
            Cmp::Num(NumOp::Ge) => ">=",
            Cmp::Like => "LIKE",
            Cmp::ILike => "ILIKE",
            Cmp::In => "IN",
            Cmp::NotIn => "NOT IN",
            Cmp::IsNull => "IS NULL",
            Cmp::IsNotNull => "IS NOT NULL",
        }
    }
}

/// The attribute keys of filters, aliases included (case-sensitive).
fn filter_attribute(key: &str) -> Option<Target<'static>> {
    Some(match key {
        "run_id" => Target::RunId,
        "run_name" | "run name" | "Run name" | "Run Name" => Target::Text(TextAttribute::RunName),
        "status" => Target::Text(TextAttribute::Status),
        "user_id" => Target::Text(TextAttribute::UserId),
        "artifact_uri" => Target::Text(TextAttribute::ArtifactUri),
        "start_time" | "created" | "Created" => Target::Time(TimeAttribute::StartTime),
        "end_time" => Target::Time(TimeAttribute::EndTime),
        _ => return None,
    })
}

/// The dataset fields (case-sensitive).
pub(crate) fn dataset_field(key: &str) -> Option<DatasetField> {
    Some(match key {
        "name" => DatasetField::Name,
        "digest" => DatasetField::Digest,
        "context" => DatasetField::Context,
        _ => return None,
    })
}

fn target<'a>(id: &Ident<'a>) -> Result<Target<'a>, nom::Err<Fail<'a>>> {
    let unknown = |what: &str, valid: &str| {
        nom::Err::Failure(Fail::new(
            id.key_at,
            format!(
                "unknown {what} '{}' (valid: {valid})",
                id.key.escape_debug()
            ),
        ))
    };
    match id.entity {
        Entity::Metric => Ok(Target::Metric(id.key)),
        Entity::Param => Ok(Target::Param(id.key)),
        Entity::Tag => Ok(Target::Tag(id.key)),
        Entity::Attr => filter_attribute(id.key).ok_or_else(|| {
            unknown(
                "attribute",
                "run_id, run_name, status, user_id, artifact_uri, start_time, end_time, created",
            )
        }),
        Entity::Dataset => dataset_field(id.key)
            .map(Target::Dataset)
            .ok_or_else(|| unknown("dataset field", "name, digest, context")),
    }
}

/// `= != < <= > >=` from a run of operator characters, as sqlparse groups them.
fn symbol(i: &str) -> PResult<'_, Cmp> {
    let (rest, op) = take_while1(|c: char| "<>=~!".contains(c)).parse(i)?;
    let op = match op {
        "=" => NumOp::Eq,
        "!=" => NumOp::Ne,
        "<" => NumOp::Lt,
        "<=" => NumOp::Le,
        ">" => NumOp::Gt,
        ">=" => NumOp::Ge,
        other => {
            return fail(
                i,
                format!("unknown operator '{other}' (use =, !=, <, <=, >, >=; not ==, <>)"),
            );
        }
    };
    Ok((rest, Cmp::Num(op)))
}

/// `IS NULL` / `IS NOT NULL` after `IS`. MLflow reads `NOT NULL` only with
/// exactly one space between the words.
fn is_null(after_is: &str) -> PResult<'_, Cmp> {
    let (i, _) = ws0(after_is)?;
    if let Ok((rest, _)) = keyword("NULL")(i) {
        return Ok((rest, Cmp::IsNull));
    }
    if let Ok((rest, _)) = keyword("NOT")(i) {
        if let Some(Ok((rest, _))) = rest.strip_prefix(' ').map(keyword("NULL")) {
            return Ok((rest, Cmp::IsNotNull));
        }
        return fail(
            i,
            "write IS NOT NULL with exactly one space between NOT and NULL",
        );
    }
    fail(
        i,
        format!(
            "expected NULL or NOT NULL after IS, found {}",
            describe_next(i)
        ),
    )
}

/// Any comparator, or a committed error naming what was found instead.
fn comparator(i: &str) -> PResult<'_, Cmp> {
    if i.starts_with(|c: char| "<>=~!".contains(c)) {
        return symbol(i);
    }
    for (kw, cmp) in [("LIKE", Cmp::Like), ("ILIKE", Cmp::ILike), ("IN", Cmp::In)] {
        if let Ok((rest, _)) = keyword(kw)(i) {
            return Ok((rest, cmp));
        }
    }
    if let Ok((rest, _)) = keyword("IS")(i) {
        return is_null(rest);
    }
    if let Ok((rest, _)) = keyword("NOT")(i) {
        let (after, _) = ws0(rest)?;
        if let Ok((rest, _)) = keyword("IN")(after) {
            return Ok((rest, Cmp::NotIn));
        }
        if at_keyword(after, "LIKE") || at_keyword(after, "ILIKE") {
            return fail(i, "NOT LIKE / NOT ILIKE are not supported by MLflow");
        }
        return fail(
            i,
            "expected IN after NOT (the only comparator with NOT is NOT IN)",
        );
    }
    for unsupported in ["RLIKE", "REGEXP", "BETWEEN"] {
        if at_keyword(i, unsupported) {
            return fail(
                i,
                format!("{unsupported} is not supported by MLflow run search"),
            );
        }
    }
    fail(
        i,
        format!(
            "expected a comparator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN, IS NULL, \
             IS NOT NULL) after the key, found {}",
            describe_next(i)
        ),
    )
}

/// The comparator of the condition being parsed, and where it was written.
#[derive(Debug, Clone, Copy)]
struct Written<'a> {
    cmp: Cmp,
    at: &'a str,
}

impl<'a> Written<'a> {
    fn not_allowed<T>(self, what: &str, allowed: &str) -> PResult<'a, T> {
        let cmp = self.cmp.text();
        fail(
            self.at,
            format!("'{cmp}' is not allowed for {what} (allowed: {allowed})"),
        )
    }
}

/// Runs a value parser after the comparator; "no value here" becomes a
/// committed error naming what was expected.
fn value<'a, T>(
    i: &'a str,
    cmp: Cmp,
    what: &str,
    parser: impl Fn(&'a str) -> PResult<'a, T>,
) -> PResult<'a, T> {
    let (i, _) = ws0(i)?;
    parser(i).map_err(|e| match e {
        nom::Err::Error(_) => nom::Err::Failure(Fail::new(
            i,
            format!(
                "expected {what} after '{}', found {}",
                cmp.text(),
                describe_next(i)
            ),
        )),
        other => other,
    })
}

/// `= != < <= > >=` and a number.
fn numeric<'a>(i: &'a str, w: Written<'a>, what: &str) -> PResult<'a, (NumOp, Number<'a>)> {
    let Cmp::Num(op) = w.cmp else {
        return w.not_allowed(what, "=, !=, <, <=, >, >=");
    };
    let (rest, n) = value(i, w.cmp, "a number", number)?;
    Ok((rest, (op, n)))
}

/// `= != LIKE ILIKE` and a quoted string.
fn str_op<'a>(i: &'a str, w: Written<'a>, what: &str, allowed: &str) -> PResult<'a, StrOp> {
    let make: fn(String) -> StrOp = match w.cmp {
        Cmp::Num(NumOp::Eq) => StrOp::Eq,
        Cmp::Num(NumOp::Ne) => StrOp::Ne,
        Cmp::Like => StrOp::Like,
        Cmp::ILike => StrOp::ILike,
        _ => return w.not_allowed(what, allowed),
    };
    let (rest, s) = value(i, w.cmp, "a quoted string", string)?;
    Ok((rest, make(s.to_owned())))
}

/// What params and tags take.
fn text_op<'a>(i: &'a str, w: Written<'a>) -> PResult<'a, TextOp> {
    match w.cmp {
        Cmp::IsNull => Ok((i, TextOp::IsNull)),
        Cmp::IsNotNull => Ok((i, TextOp::IsNotNull)),
        _ => str_op(
            i,
            w,
            "params and tags",
            "=, !=, LIKE, ILIKE, IS NULL, IS NOT NULL",
        )
        .map(|(rest, op)| (rest, TextOp::Str(op))),
    }
}

/// What run_id and dataset fields take.
fn set_op<'a>(i: &'a str, w: Written<'a>, what: &str) -> PResult<'a, SetOp> {
    let list = |i| {
        value(
            i,
            w.cmp,
            "a parenthesised list of quoted strings",
            string_list,
        )
    };
    let owned = |items: Vec<&str>| items.into_iter().map(str::to_owned).collect();
    match w.cmp {
        Cmp::In => list(i).map(|(rest, items)| (rest, SetOp::In(owned(items)))),
        Cmp::NotIn => list(i).map(|(rest, items)| (rest, SetOp::NotIn(owned(items)))),
        _ => str_op(i, w, what, "=, !=, LIKE, ILIKE, IN, NOT IN")
            .map(|(rest, op)| (rest, SetOp::Str(op))),
    }
}

fn metric_value<'a>(n: Number<'_>, at: &'a str) -> Result<f64, nom::Err<Fail<'a>>> {
    n.text
        .parse::<f64>()
        .map_err(|_| nom::Err::Failure(Fail::new(at, "malformed number")))
}

/// Integer literals stay integers (and must fit SQLite's 64 bits); others are floats.
fn time_value<'a>(n: Number<'_>, at: &'a str) -> Result<TimeValue, nom::Err<Fail<'a>>> {
    if !n.integer {
        return metric_value(n, at).map(TimeValue::Float);
    }
    n.text.parse::<i64>().map(TimeValue::Int).map_err(|_| {
        nom::Err::Failure(Fail::new(
            at,
            "integer out of range: it must fit in 64 bits (SQLite's INTEGER)",
        ))
    })
}

/// Parses one condition. A recoverable error means no identifier starts here.
pub(crate) fn condition(i: &str) -> PResult<'_, Condition> {
    let (i, id) = identifier(i)?;
    let target = target(&id)?;
    let (i, _) = ws0(i)?;
    let (after, cmp) = comparator(i)?;
    let w = Written { cmp, at: i };
    let i = after;
    let value_at = ws0(i)?.0;
    Ok(match target {
        Target::Metric(key) => {
            let (rest, (op, n)) = numeric(i, w, "metrics")?;
            let value = metric_value(n, value_at)?;
            (
                rest,
                Condition::Metric {
                    key: key.to_owned(),
                    op,
                    value,
                },
            )
        }
        Target::Time(attr) => {
            let (rest, (op, n)) = numeric(i, w, "start_time and end_time")?;
            (
                rest,
                Condition::TimeAttr {
                    attr,
                    op,
                    value: time_value(n, value_at)?,
                },
            )
        }
        Target::Param(key) => {
            let (rest, op) = text_op(i, w)?;
            (
                rest,
                Condition::Param {
                    key: key.to_owned(),
                    op,
                },
            )
        }
        Target::Tag(key) => {
            let (rest, op) = text_op(i, w)?;
            (
                rest,
                Condition::Tag {
                    key: key.to_owned(),
                    op,
                },
            )
        }
        Target::Text(attr) => {
            let allowed = "=, !=, LIKE, ILIKE; IN only for run_id";
            let (rest, op) = str_op(i, w, "this attribute", allowed)?;
            (rest, Condition::TextAttr { attr, op })
        }
        Target::RunId => {
            let (rest, op) = set_op(i, w, "run_id")?;
            (rest, Condition::RunId(op))
        }
        Target::Dataset(field) => {
            let (rest, op) = set_op(i, w, "dataset fields")?;
            (rest, Condition::Dataset { field, op })
        }
    })
}
