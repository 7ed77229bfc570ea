//! `order_by` clauses: `identifier [ASC|DESC]`, one clause per string.

use nom::{Parser, bytes::complete::take_while1};

use super::ident::{Entity, Ident, identifier};
use super::lex::{at_keyword, describe_next, is_space, keyword, quote_kind};
use super::{Fail, char_offset, finish};
use crate::ast::{Attribute, OrderBy, OrderKey};
use crate::error::ParseError;

/// Parses clause number `index` (0-based) of an `order_by` list.
pub(crate) fn clause(text: &str, index: usize) -> Result<OrderBy, ParseError> {
    parse(text).map_err(|f| ParseError::OrderBy {
        index,
        clause: text.to_owned(),
        message: f.message.into_owned(),
        offset: char_offset(text, f.at),
    })
}

/// Parses every clause and rejects a key ordered on twice.
pub(crate) fn clauses<S: AsRef<str>>(texts: &[S]) -> Result<Vec<OrderBy>, ParseError> {
    let mut out: Vec<OrderBy> = Vec::with_capacity(texts.len());
    for (index, text) in texts.iter().enumerate() {
        let parsed = clause(text.as_ref(), index)?;
        if let Some(first) = out.iter().position(|o| o.key == parsed.key) {
            return Err(ParseError::DuplicateOrderKey {
                index,
                clause: text.as_ref().to_owned(),
                first,
                key: parsed.key.to_string(),
            });
        }
        out.push(parsed);
    }
    Ok(out)
}

/// The attribute keys MLflow orders on (no `run name` aliases here).
fn order_attribute(key: &str) -> Option<Attribute> {
    Some(match key {
        "run_id" => Attribute::RunId,
        "run_name" => Attribute::RunName,
        "status" => Attribute::Status,
        "user_id" => Attribute::UserId,
        "artifact_uri" => Attribute::ArtifactUri,
        "start_time" | "created" | "Created" => Attribute::StartTime,
        "end_time" => Attribute::EndTime,
        _ => return None,
    })
}

/// Whitespace MLflow splits a clause at (Python's `shlex`): with any other
/// whitespace MLflow would read the direction as part of the key.
fn is_clause_separator(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// MLflow re-reads a clause with a direction through `shlex`, after turning
/// backticks into double quotes, and strips the result; a quoted key keeps
/// its meaning there only without these characters and without trailing
/// whitespace.
pub(crate) fn shlex_safe(quote: char, key: &str) -> bool {
    let no_specials = match quote {
        '\'' => !key.contains(['\'', '`']),
        _ => !key.contains(['"', '`', '\\']),
    };
    no_specials && !key.ends_with(is_space)
}

fn parse(text: &str) -> Result<OrderBy, Fail<'_>> {
    if text.is_empty() {
        return Err(Fail::new(text, "empty clause"));
    }
    if text.starts_with(is_space) {
        return Err(Fail::new(text, "leading whitespace in the clause"));
    }
    let (rest, id) = finish(identifier(text))?;
    let key = order_key(&id)?;
    if rest.is_empty() {
        return Ok(OrderBy {
            key,
            ascending: true,
        });
    }
    let Ok((after_sep, sep)) = finish(take_while1(is_space).parse(rest)) else {
        return Err(unexpected(rest));
    };
    if let Some(bad) = sep.find(|c| !is_clause_separator(c)) {
        let at = sep.get(bad..).unwrap_or(rest);
        return Err(Fail::new(
            at,
            "only spaces, tabs and line breaks may separate the key from ASC/DESC",
        ));
    }
    if after_sep.is_empty() {
        return Err(Fail::new(rest, "trailing whitespace in the clause"));
    }
    let ascending = if let Ok((r, _)) = keyword("ASC")(after_sep) {
        (r, true)
    } else if let Ok((r, _)) = keyword("DESC")(after_sep) {
        (r, false)
    } else {
        return Err(unexpected(after_sep));
    };
    let (rest, ascending) = ascending;
    if rest.is_empty() {
        Ok(OrderBy { key, ascending })
    } else if rest.trim_start_matches(is_space).is_empty() {
        Err(Fail::new(rest, "trailing whitespace in the clause"))
    } else {
        Err(unexpected(rest.trim_start_matches(is_space)))
    }
}

fn unexpected(at: &str) -> Fail<'_> {
    let message = if at.starts_with(',') {
        "one clause per list element: no commas".to_owned()
    } else if at_keyword(at, "NULLS") {
        "NULLS FIRST / NULLS LAST is not supported".to_owned()
    } else {
        format!(
            "expected ASC or DESC after the key, found {}",
            describe_next(at)
        )
    };
    Fail::new(at, message)
}

/// Parses `metrics.TEXT ASC` and returns the key, for printing keys.
pub(crate) fn order_key_reads_back(text: &str) -> Option<String> {
    match parse(&format!("metrics.{text} ASC")) {
        Ok(OrderBy {
            key: OrderKey::Metric(key),
            ..
        }) => Some(key),
        _ => None,
    }
}

/// Whether MLflow's shell-quoting pass (see [`shlex_safe`]) leaves the key as written.
fn survives_shlex(id: &Ident<'_>) -> bool {
    match id.quote {
        Some(q) => shlex_safe(
            q,
            id.raw
                .get(1..id.raw.len().saturating_sub(1))
                .unwrap_or_default(),
        ),
        None => !id
            .raw
            .contains(|c: char| quote_kind(c).is_some() || is_space(c) || c == '\\'),
    }
}

fn order_key<'a>(id: &Ident<'a>) -> Result<OrderKey, Fail<'a>> {
    if !survives_shlex(id) {
        return Err(Fail::new(
            id.key_at,
            "this key can't be used in order_by: MLflow re-reads clauses with shell quoting \
             rules (quote the whole key; no \", ` or \\ inside ` or \" quotes, no ' or ` \
             inside ' quotes, no whitespace at the end)",
        ));
    }
    let key = id.key.to_owned();
    match id.entity {
        Entity::Metric => Ok(OrderKey::Metric(key)),
        Entity::Param => Ok(OrderKey::Param(key)),
        Entity::Tag => Ok(OrderKey::Tag(key)),
        Entity::Attr => order_attribute(id.key).map(OrderKey::Attr).ok_or_else(|| {
            Fail::new(
                id.key_at,
                format!(
                    "unknown attribute '{}' for order_by (valid: run_id, run_name, status, \
                     user_id, artifact_uri, start_time, end_time, created)",
                    id.key.escape_debug()
                ),
            )
        }),
        Entity::Dataset => Err(Fail::new(
            id.key_at,
            "runs can't be ordered by datasets.* keys",
        )),
    }
}
