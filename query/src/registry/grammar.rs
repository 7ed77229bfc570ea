//! The filter grammar MLflow's registry and logged-model searches share:
//! comparisons `KEY OP VALUE` joined by `AND` (no OR, NOT or parentheses),
//! where `KEY` is `[entity.]key` as sqlparse groups it and `VALUE` a quoted
//! string, a number or a parenthesised list of quoted strings.
//!
//! This module only splits a filter into [`Clause`]s; which entities, keys,
//! operators and value kinds a search accepts (and MLflow's message when it
//! does not) is each search's business.

use crate::error::ParseError;
use crate::parse::ident::identifier;
use crate::parse::lex::{at_keyword, describe_next, is_word, keyword, ws0};
use crate::parse::literal::{Number, number, string, string_list};
use crate::parse::{Fail, PResult, char_offset, fail, finish};

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
    ILike,
    In,
    NotIn,
    IsNull,
    IsNotNull,
}

impl Op {
    /// MLflow's spelling.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Like => "LIKE",
            Op::ILike => "ILIKE",
            Op::In => "IN",
            Op::NotIn => "NOT IN",
            Op::IsNull => "IS NULL",
            Op::IsNotNull => "IS NOT NULL",
        }
    }

    /// Whether this is one of `= != < <= > >=`.
    pub(crate) fn is_numeric(self) -> bool {
        matches!(self, Op::Eq | Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge)
    }
}

/// A comparison's right-hand side.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value<'a> {
    /// A quoted string's content (nothing unescaped, as in MLflow).
    Str(&'a str),
    /// A number as written.
    Num(Number<'a>),
    /// `('a', 'b')`.
    List(Vec<&'a str>),
    /// `IS [NOT] NULL` has none.
    Null,
}

impl Value<'_> {
    /// The value as MLflow prints it in messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Value::Str(s) => format!("'{s}'"),
            Value::Num(n) => n.text.to_owned(),
            Value::List(items) => {
                let quoted: Vec<String> = items.iter().map(|s| format!("'{s}'")).collect();
                format!("({})", quoted.join(", "))
            }
            Value::Null => "NULL".to_owned(),
        }
    }
}

/// An identifier as MLflow reads it before any search-specific rule.
#[derive(Clone, Debug)]
pub(crate) struct Key<'a> {
    /// The word before the first dot, when there is one (`tags` in `tags.x`).
    pub(crate) head: Option<&'a str>,
    /// The key as written (after `head.`, or the whole identifier).
    pub(crate) raw: &'a str,
    /// `raw` minus one pair of `'`/`"` quotes, then one pair of backticks.
    pub(crate) unquoted: &'a str,
}

/// One comparison, with where its parts start (for error positions).
#[derive(Clone, Debug)]
pub(crate) struct Clause<'a> {
    pub(crate) key: Key<'a>,
    pub(crate) key_at: &'a str,
    pub(crate) op: Op,
    pub(crate) op_at: &'a str,
    pub(crate) value: Value<'a>,
    pub(crate) value_at: &'a str,
}

/// Splits `filter` into its comparisons. `check_head` vets an entity word
/// (`tags` in `tags.x`) and returns the search's message for a bad one.
pub(crate) fn clauses<'a>(
    filter: &'a str,
    check_head: &dyn Fn(&str) -> Result<(), String>,
) -> Result<Vec<Clause<'a>>, ParseError> {
    let to_error = |f: Fail<'_>| ParseError::Filter {
        message: f.message.into_owned(),
        offset: char_offset(filter, f.at),
    };
    let mut out = Vec::new();
    let mut i = filter;
    // sqlparse leaves `AND`s as separate tokens and MLflow skips them all:
    // leading, trailing, doubled or missing between two comparisons.
    loop {
        let (rest, _) = finish(ws0(i)).map_err(to_error)?;
        if rest.is_empty() {
            return Ok(out);
        }
        if at_keyword(rest, "AND") {
            let (rest, _) = finish(keyword("AND")(rest)).map_err(to_error)?;
            i = rest;
            continue;
        }
        let (rest, c) = finish(clause(rest, check_head)).map_err(to_error)?;
        out.push(c);
        if !rest.is_empty() && !rest.starts_with(crate::parse::lex::is_space) {
            return Err(to_error(Fail::new(
                rest,
                format!(
                    "expected AND or the end of the filter (conditions can only be joined by \
                     AND), found {}",
                    describe_next(rest)
                ),
            )));
        }
        let (after, _) = finish(ws0(rest)).map_err(to_error)?;
        if !after.is_empty() && !at_keyword(after, "AND") && !starts_comparison(after) {
            return Err(to_error(Fail::new(
                after,
                "expected AND or the end of the filter (conditions can only be joined by AND)",
            )));
        }
        i = after;
    }
}

/// Whether `i` starts like another comparison (a key), not a stray word
/// such as `OR`.
fn starts_comparison(i: &str) -> bool {
    !(at_keyword(i, "OR") || at_keyword(i, "NOT")) && (i.starts_with(is_word) || i.starts_with('`'))
}

/// The position of `at` in `whole`, for errors raised after parsing.
pub(crate) fn error_at(whole: &str, at: &str, message: impl Into<String>) -> ParseError {
    ParseError::Filter {
        message: message.into(),
        offset: char_offset(whole, at),
    }
}

fn key<'a>(i: &'a str, check_head: &dyn Fn(&str) -> Result<(), String>) -> PResult<'a, Key<'a>> {
    let word_len = i.find(|c: char| !is_word(c)).unwrap_or(i.len());
    let head = (word_len > 0 && i[word_len..].starts_with('.')).then(|| &i[..word_len]);
    if let Some(h) = head
        && let Err(message) = check_head(h)
    {
        return fail(i, message);
    }
    let (rest, id) = identifier(i).map_err(|e| match e {
        nom::Err::Error(f) => nom::Err::Failure(Fail::new(
            f.at,
            format!("expected a key, found {}", describe_next(f.at)),
        )),
        other => other,
    })?;
    Ok((
        rest,
        Key {
            head,
            raw: id.raw,
            unquoted: id.key,
        },
    ))
}

fn op(i: &str) -> PResult<'_, Op> {
    for (text, op) in [
        ("!=", Op::Ne),
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("=", Op::Eq),
        ("<", Op::Lt),
        (">", Op::Gt),
    ] {
        if let Some(rest) = i.strip_prefix(text) {
            return Ok((rest, op));
        }
    }
    for (kw, op) in [("LIKE", Op::Like), ("ILIKE", Op::ILike), ("IN", Op::In)] {
        if at_keyword(i, kw) {
            let (rest, _) = keyword(kw)(i)?;
            return Ok((rest, op));
        }
    }
    if at_keyword(i, "NOT") {
        let (rest, _) = keyword("NOT")(i)?;
        let (rest, _) = ws0(rest)?;
        if at_keyword(rest, "IN") {
            let (rest, _) = keyword("IN")(rest)?;
            return Ok((rest, Op::NotIn));
        }
        return fail(rest, "expected IN after NOT");
    }
    if at_keyword(i, "IS") {
        let (rest, _) = keyword("IS")(i)?;
        let (rest, _) = ws0(rest)?;
        let (rest, not) = match keyword("NOT")(rest) {
            Ok((after, _)) => (ws0(after)?.0, true),
            Err(_) => (rest, false),
        };
        let (rest, _) = keyword("NULL")(rest).or_else(|_| fail(rest, "expected NULL"))?;
        return Ok((rest, if not { Op::IsNotNull } else { Op::IsNull }));
    }
    fail(
        i,
        format!(
            "expected a comparison operator (= != < <= > >= LIKE ILIKE IN NOT IN), found {}",
            describe_next(i)
        ),
    )
}

fn value(i: &str, op: Op) -> PResult<'_, Value<'_>> {
    match op {
        Op::IsNull | Op::IsNotNull => return Ok((i, Value::Null)),
        Op::In | Op::NotIn => {
            if !i.starts_with('(') {
                return fail(
                    i,
                    "IN and NOT IN take a list of quoted strings, e.g. ('a', 'b')",
                );
            }
            let (rest, items) = string_list(i)?;
            return Ok((rest, Value::List(items)));
        }
        _ => {}
    }
    if i.starts_with('(') {
        return fail(
            i,
            format!(
                "a list of values is only compared with IN or NOT IN, not {}",
                op.as_str()
            ),
        );
    }
    if let Ok((rest, s)) = string(i) {
        return Ok((rest, Value::Str(s)));
    }
    if let Ok((rest, n)) = number(i) {
        return Ok((rest, Value::Num(n)));
    }
    if i.starts_with('`') {
        return string(i).map(|(rest, s)| (rest, Value::Str(s)));
    }
    if i.starts_with(is_word) {
        return fail(
            i,
            format!(
                "Parameter value is either not quoted or unidentified quote types used for \
                 string value {}. Use either single or double quotes.",
                i.split(|c: char| !is_word(c)).next().unwrap_or(i)
            ),
        );
    }
    // A malformed number (`1.5.5`, `1e+3`) reports its own problem.
    number(i)?;
    fail(i, format!("expected a value, found {}", describe_next(i)))
}

fn clause<'a>(
    i: &'a str,
    check_head: &dyn Fn(&str) -> Result<(), String>,
) -> PResult<'a, Clause<'a>> {
    let key_at = i;
    let (i, key) = key(i, check_head)?;
    let (i, _) = ws0(i)?;
    let op_at = i;
    let (i, op) = op(i)?;
    let (i, _) = ws0(i)?;
    let value_at = i;
    let (i, value) = value(i, op)?;
    Ok((
        i,
        Clause {
            key,
            key_at,
            op,
            op_at,
            value,
            value_at,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn any_head(_: &str) -> Result<(), String> {
        Ok(())
    }

    #[test]
    fn splits_comparisons() {
        let c = clauses(
            "name LIKE 'a%' and tags.`my key` != \"x\" AND version_number >= 2 AND run_id IN ('a','b')",
            &any_head,
        )
        .unwrap();
        assert_eq!(c.len(), 4);
        assert_eq!(
            (c[0].key.head, c[0].key.raw, c[0].op),
            (None, "name", Op::Like)
        );
        assert_eq!(c[0].value, Value::Str("a%"));
        assert_eq!(c[1].key.head, Some("tags"));
        assert_eq!(c[1].key.unquoted, "my key");
        assert_eq!(c[1].value, Value::Str("x"));
        assert!(matches!(c[2].value, Value::Num(n) if n.text == "2" && n.integer));
        assert_eq!(c[3].op, Op::In);
        assert_eq!(c[3].value, Value::List(vec!["a", "b"]));
        let c = clauses("tags.mlflow.prompt.is_prompt = 'true'", &any_head).unwrap();
        assert_eq!(c[0].key.unquoted, "mlflow.prompt.is_prompt");
        assert!(clauses("  ", &any_head).unwrap().is_empty());
        assert!(clauses(" AND and ", &any_head).unwrap().is_empty());
        assert_eq!(
            clauses("AND name = 'a' AND AND", &any_head).unwrap().len(),
            1
        );
        assert_eq!(
            clauses("name = 'a' name = 'b'", &any_head).unwrap().len(),
            2
        );
        let c = clauses("tags.x IS NOT NULL", &any_head).unwrap();
        assert_eq!(c[0].op, Op::IsNotNull);
    }

    #[test]
    fn rejects_with_positions() {
        let reject_foo = |h: &str| {
            if h == "foo" {
                Err("bad head".to_owned())
            } else {
                Ok(())
            }
        };
        for (filter, at) in [
            ("name = 'a' OR name = 'b'", 12),
            ("foo.x = 'a'", 1),
            ("name = a", 8),
            ("name IN 'a'", 9),
            ("name = ('a')", 8),
            ("name ~ 'a'", 6),
            ("name = 'a' name", 16),
            ("AND name = 'a' OR", 16),
        ] {
            let e = clauses(filter, &reject_foo).expect_err(filter).to_string();
            assert!(e.contains(&format!("at character {at}")), "{filter}: {e}");
        }
    }
}
