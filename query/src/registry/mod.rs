//! MLflow's model-registry and logged-model searches: `search_registered_models`,
//! `search_model_versions` and `search_logged_models`, each with MLflow's
//! filter grammar, `order_by` keys, limits and page tokens, over what the
//! store lists (a registry holds thousands of entries, not millions: they
//! are filtered directly, not planned on DataFusion).
//!
//! `grammar` splits a filter into comparisons; each search module checks
//! them against its own rules (MLflow's SQL stores') and evaluates them.

mod grammar;
mod logged_filter;
mod logged_models;
mod logged_order;
mod model_versions;
mod registered_models;

pub use logged_models::{
    DEFAULT_MAX_RESULTS_LOGGED_MODELS, DatasetFilter, LoggedModelOrder, LoggedModelSearch,
    LoggedModelsPage, parse_experiment_ids, search_logged_models,
};
pub use model_versions::{
    MAX_RESULTS_MODEL_VERSIONS, ModelVersionSearch, ModelVersionsPage, search_model_versions,
};
pub use registered_models::{
    MAX_RESULTS_REGISTERED_MODELS, RegisteredModelSearch, RegisteredModelsPage,
    search_registered_models,
};

use std::cmp::Ordering;

use base64::Engine as _;
use runstore_engine::index::LikePattern;

use crate::error::{Error, Result};
use grammar::Op;

/// MLflow's offset page token: base64 of `{"offset": N}`.
pub(crate) fn encode_offset(offset: usize) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{{\"offset\": {offset}}}"))
}

/// MLflow's `parse_start_offset_from_page_token` (0 without a token).
pub(crate) fn decode_offset(token: Option<&str>) -> Result<usize> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Ok(0);
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .map_err(|_| Error::InvalidRequest("Invalid page token, could not base64-decode".into()))?;
    let doc: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| {
        Error::InvalidRequest(format!(
            "Invalid page token, decoded value={}",
            String::from_utf8_lossy(&bytes)
        ))
    })?;
    let offset = match doc.get("offset") {
        Some(serde_json::Value::Number(n)) => n.as_u64(),
        Some(serde_json::Value::String(s)) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    offset
        .filter(|&o| o > 0)
        .and_then(|o| usize::try_from(o).ok())
        .ok_or_else(|| Error::InvalidRequest(format!("Invalid page token, parsed value={doc}")))
}

/// `items[offset..offset + max]` and MLflow's next token: one exactly when
/// more items follow.
pub(crate) fn page<T>(items: Vec<T>, offset: usize, max: usize) -> (Vec<T>, Option<String>) {
    let total = items.len();
    let page: Vec<T> = items.into_iter().skip(offset).take(max).collect();
    let next = (offset.saturating_add(max) < total).then(|| encode_offset(offset + max));
    (page, next)
}

/// Checks a registry search's `max_results`: 1 to `limit`.
pub(crate) fn check_max_results(max: usize, limit: usize) -> Result<()> {
    if max < 1 {
        return Err(Error::InvalidRequest(format!(
            "Invalid value for max_results. It must be a positive integer, but got {max}"
        )));
    }
    if max > limit {
        return Err(Error::InvalidRequest(format!(
            "Invalid value for request parameter max_results. It must be at most {limit}, but \
             got value {max}"
        )));
    }
    Ok(())
}

/// MLflow's `_parse_order_by_string`: one clause's key (read the way
/// `shlex` reads it, backticks as double quotes) and whether it ascends.
pub(crate) fn order_clause(clause: &str) -> Result<(String, bool)> {
    let unparsable = || {
        Error::InvalidRequest(format!(
            "Invalid order_by clause '{clause}'. Could not be parsed."
        ))
    };
    // sqlparse reads surrounding whitespace as tokens of their own.
    if clause.trim() != clause {
        return Err(unparsable());
    }
    let mut words: Vec<String> = Vec::new();
    let mut word: Option<String> = None;
    let mut quote: Option<char> = None;
    for c in clause.chars() {
        let c = if c == '`' { '"' } else { c };
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => word.get_or_insert_with(String::new).push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                word.get_or_insert_with(String::new);
            }
            None if c.is_whitespace() => words.extend(word.take()),
            None => word.get_or_insert_with(String::new).push(c),
        }
    }
    if quote.is_some() {
        return Err(unparsable());
    }
    words.extend(word);
    match words.as_slice() {
        [key] => Ok((key.clone(), true)),
        [key, direction] => match direction.to_lowercase().as_str() {
            "asc" => Ok((key.clone(), true)),
            "desc" => Ok((key.clone(), false)),
            _ => Err(Error::InvalidRequest(format!(
                "Invalid ordering key in order_by clause '{clause}'."
            ))),
        },
        _ => Err(unparsable()),
    }
}

/// The error for an `order_by` list naming a field twice.
pub(crate) fn duplicate_order(order_by: &[String]) -> Error {
    Error::InvalidRequest(format!(
        "`order_by` contains duplicate fields: {order_by:?}"
    ))
}

/// A string comparison as MLflow's SQL stores evaluate it on SQLite (`=`
/// and `LIKE` case-sensitive, `ILIKE` folding ASCII letters). `None` (SQL
/// NULL) satisfies nothing.
pub(crate) fn text_holds(lhs: Option<&str>, op: Op, rhs: &TextRhs) -> bool {
    let Some(lhs) = lhs else {
        return false;
    };
    match (op, rhs) {
        (Op::Eq, TextRhs::One(v)) => lhs == v,
        (Op::Ne, TextRhs::One(v)) => lhs != v,
        (Op::Like | Op::ILike, TextRhs::Pattern(p)) => p.matches(lhs),
        (Op::In, TextRhs::Many(vs)) => vs.iter().any(|v| v == lhs),
        (Op::NotIn, TextRhs::Many(vs)) => !vs.iter().any(|v| v == lhs),
        (Op::Lt, TextRhs::One(v)) => lhs < v.as_str(),
        (Op::Le, TextRhs::One(v)) => lhs <= v.as_str(),
        (Op::Gt, TextRhs::One(v)) => lhs > v.as_str(),
        (Op::Ge, TextRhs::One(v)) => lhs >= v.as_str(),
        _ => false,
    }
}

/// The right-hand side of a string comparison, compiled.
#[derive(Clone, Debug)]
pub(crate) enum TextRhs {
    One(String),
    Many(Vec<String>),
    Pattern(LikePattern),
}

impl TextRhs {
    /// Compiles a value for `op`.
    pub(crate) fn new(op: Op, value: &grammar::Value<'_>) -> Option<TextRhs> {
        Some(match (op, value) {
            (Op::Like, grammar::Value::Str(s)) => TextRhs::Pattern(LikePattern::new(s, false)),
            (Op::ILike, grammar::Value::Str(s)) => TextRhs::Pattern(LikePattern::new(s, true)),
            (_, grammar::Value::Str(s)) => TextRhs::One((*s).to_owned()),
            (_, grammar::Value::List(items)) => {
                TextRhs::Many(items.iter().map(|s| (*s).to_owned()).collect())
            }
            _ => return None,
        })
    }
}

/// A numeric comparison.
pub(crate) fn number_holds(lhs: f64, op: Op, rhs: f64) -> bool {
    match op {
        Op::Eq => lhs == rhs,
        Op::Ne => lhs != rhs,
        Op::Lt => lhs < rhs,
        Op::Le => lhs <= rhs,
        Op::Gt => lhs > rhs,
        Op::Ge => lhs >= rhs,
        _ => false,
    }
}

/// `ordering` reversed unless `ascending`.
pub(crate) fn directed(ordering: Ordering, ascending: bool) -> Ordering {
    if ascending {
        ordering
    } else {
        ordering.reverse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_tokens_round_trip_as_mlflow_writes_them() {
        assert_eq!(encode_offset(5), "eyJvZmZzZXQiOiA1fQ==");
        assert_eq!(decode_offset(Some("eyJvZmZzZXQiOiA1fQ==")).unwrap(), 5);
        assert_eq!(decode_offset(None).unwrap(), 0);
        assert_eq!(decode_offset(Some("")).unwrap(), 0);
        for bad in ["!!", "bm90IGpzb24=", "eyJvZmZzZXQiOiAwfQ=="] {
            assert!(decode_offset(Some(bad)).is_err(), "{bad}");
        }
        let (p, next) = page(vec![1, 2, 3], 0, 2);
        assert_eq!((p, next.is_some()), (vec![1, 2], true));
        let (p, next) = page(vec![1, 2, 3], 2, 2);
        assert_eq!((p, next), (vec![3], None));
        let (p, next) = page(vec![1, 2], 0, 2);
        assert_eq!((p, next), (vec![1, 2], None));
    }

    #[test]
    fn order_clauses_split_like_shlex() {
        assert_eq!(order_clause("name").unwrap(), ("name".into(), true));
        assert_eq!(order_clause("name  DESC").unwrap(), ("name".into(), false));
        assert_eq!(order_clause("name\tdesc").unwrap(), ("name".into(), false));
        assert!(order_clause(" name").is_err());
        assert!(order_clause("name desc ").is_err());
        assert_eq!(
            order_clause("`last_updated_timestamp` asc").unwrap(),
            ("last_updated_timestamp".into(), true)
        );
        assert_eq!(
            order_clause("tags.`a b` desc").unwrap(),
            ("tags.a b".into(), false)
        );
        assert!(
            order_clause("name up")
                .unwrap_err()
                .to_string()
                .contains("ordering key")
        );
        assert!(order_clause("a b c").is_err());
        assert!(order_clause("").is_err());
        assert!(order_clause("'name").is_err());
    }
}
