//! MLflow's `search_model_versions` as its SQL store answers: filters on
//! `name`, `run_id`, `source_path` (strings; `IN` for `name` and `run_id`),
//! `version_number` (numbers) and `tags.KEY`; `order_by` on `name`,
//! `version_number`, `creation_timestamp`, `last_updated_timestamp` (by
//! default `last_updated_timestamp DESC, name ASC, version_number DESC`;
//! then `name` ascending and version descending), at most 200,000 a page.
//! Versions of prompts are left out unless the filter asks for them.

use std::cmp::Ordering;

use runstore_engine::ModelVersion;
use runstore_engine::model_limits::IS_PROMPT_TAG_KEY;

use super::grammar::{self, Clause, Op, Value, error_at};
use super::{
    TextRhs, check_max_results, decode_offset, directed, duplicate_order, number_holds,
    order_clause, page, text_holds,
};
use crate::error::{Error, Result};

/// Most model versions in one page.
pub const MAX_RESULTS_MODEL_VERSIONS: usize = 200_000;

/// A `search_model_versions` request.
#[derive(Clone, Debug)]
pub struct ModelVersionSearch {
    /// Filter string (empty: every version).
    pub filter: String,
    /// Page size, 1 to 200,000 (MLflow's default is 10,000).
    pub max_results: usize,
    /// `order_by` clauses, e.g. `version_number DESC`.
    pub order_by: Vec<String>,
    /// Token of the page to continue from.
    pub page_token: Option<String>,
}

impl Default for ModelVersionSearch {
    fn default() -> Self {
        ModelVersionSearch {
            filter: String::new(),
            max_results: 10_000,
            order_by: Vec::new(),
            page_token: None,
        }
    }
}

/// One page of model versions.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelVersionsPage {
    /// The versions, in order.
    pub model_versions: Vec<ModelVersion>,
    /// Token for the next page, when there is one.
    pub next_page_token: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Text {
    Name,
    RunId,
    Source,
}

#[derive(Clone, Debug)]
enum Cond {
    Text(Text, Op, TextRhs),
    Version(Op, f64),
    Tag(String, Op, TextRhs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    Name,
    Version,
    Created,
    Updated,
}

const DEFAULT_ORDER: [&str; 3] = [
    "last_updated_timestamp DESC",
    "name ASC",
    "version_number DESC",
];

/// Runs `request` over `versions` (every live version of a store, any order).
pub fn search_model_versions(
    versions: Vec<ModelVersion>,
    request: &ModelVersionSearch,
) -> Result<ModelVersionsPage> {
    check_max_results(request.max_results, MAX_RESULTS_MODEL_VERSIONS)?;
    let parsed = grammar::clauses(&request.filter, &check_head)?;
    let mut conds = Vec::with_capacity(parsed.len());
    for c in &parsed {
        conds.push(condition(&request.filter, c)?);
    }
    let order = parse_order(&request.order_by)?;
    let offset = decode_offset(request.page_token.as_deref())?;
    let want_prompts = querying_prompts(&parsed);
    let mut prompt_names: Vec<&str> = Vec::new();
    if !want_prompts {
        conds.retain(|c| !matches!(c, Cond::Tag(k, _, _) if k == IS_PROMPT_TAG_KEY));
        prompt_names = versions
            .iter()
            .filter(|v| v.tags.get(IS_PROMPT_TAG_KEY).map(String::as_str) == Some("true"))
            .map(|v| v.name.as_str())
            .collect();
    }
    let prompt_names: Vec<String> = prompt_names.into_iter().map(str::to_owned).collect();
    let mut found: Vec<ModelVersion> = versions
        .into_iter()
        .filter(|v| !prompt_names.contains(&v.name))
        .filter(|v| conds.iter().all(|c| holds(c, v)))
        .collect();
    found.sort_by(|a, b| compare(&order, a, b));
    let (model_versions, next_page_token) = page(found, offset, request.max_results);
    Ok(ModelVersionsPage {
        model_versions,
        next_page_token,
    })
}

/// MLflow's `_is_querying_prompt`: the first condition on the prompt tag
/// asks for prompts (`= 'true'` or `!= 'false'`, any letter case).
pub(crate) fn querying_prompts(clauses: &[Clause<'_>]) -> bool {
    clauses
        .iter()
        .find(|c| matches!(c.key.head, Some("tag" | "tags")) && c.key.unquoted == IS_PROMPT_TAG_KEY)
        .is_some_and(|c| match &c.value {
            Value::Str(v) => {
                let v = v.to_lowercase();
                (c.op == Op::Eq && v == "true") || (c.op == Op::Ne && v == "false")
            }
            _ => false,
        })
}

fn check_head(head: &str) -> std::result::Result<(), String> {
    if matches!(head, "attribute" | "tag" | "tags") {
        Ok(())
    } else {
        Err(format!(
            "Invalid entity type '{head}'. Valid entity types are ('attribute', 'tag', 'tags')"
        ))
    }
}

const SEARCH_KEYS: &str = "{'name', 'version_number', 'run_id', 'source_path'}";

/// MLflow's checks of one comparison, in its order: key, value kind,
/// operator, numeric value.
fn condition(filter: &str, c: &Clause<'_>) -> Result<Cond> {
    let fail = |at: &str, message: String| -> Error { error_at(filter, at, message).into() };
    if matches!(c.op, Op::IsNull | Op::IsNotNull) {
        return Err(fail(
            c.op_at,
            "IS NULL / IS NOT NULL is not supported by this search".into(),
        ));
    }
    if matches!(c.key.head, Some("tag" | "tags")) {
        if !matches!(c.value, Value::Str(_)) {
            return Err(fail(
                c.value_at,
                format!(
                    "Expected a quoted string value for tag (e.g. 'my-value'). Got value {}",
                    c.value.describe()
                ),
            ));
        }
        if !matches!(c.op, Op::Eq | Op::Ne | Op::Like | Op::ILike) {
            return Err(fail(
                c.op_at,
                format!("Invalid comparator for tag: {}", c.op.as_str()),
            ));
        }
        let rhs = TextRhs::new(c.op, &c.value).ok_or_else(|| internal(c))?;
        return Ok(Cond::Tag(c.key.unquoted.to_owned(), c.op, rhs));
    }
    let text = match c.key.raw {
        "name" => Some(Text::Name),
        "run_id" => Some(Text::RunId),
        "source_path" => Some(Text::Source),
        "version_number" => None,
        other => {
            return Err(fail(
                c.key_at,
                format!(
                    "Invalid attribute key '{other}' specified. Valid keys are '{SEARCH_KEYS}'"
                ),
            ));
        }
    };
    match &c.value {
        Value::List(_) if !matches!(text, Some(Text::Name | Text::RunId)) => {
            return Err(fail(
                c.value_at,
                "Only ['name', 'run_id'] attributes support comparison with a list of quoted \
                 string values."
                    .into(),
            ));
        }
        Value::Num(_) if text.is_some() => {
            return Err(fail(
                c.value_at,
                "Only the '{'version_number', 'creation_timestamp', 'last_updated_timestamp'}' \
                 attributes support comparison with numeric values."
                    .into(),
            ));
        }
        _ => {}
    }
    let Some(text) = text else {
        if !c.op.is_numeric() {
            return Err(fail(
                c.op_at,
                format!(
                    "Invalid comparator for attribute version_number: {}",
                    c.op.as_str()
                ),
            ));
        }
        let invalid = || {
            fail(
                c.value_at,
                format!(
                    "Invalid value for numeric attribute 'version_number': {}",
                    c.value.describe()
                ),
            )
        };
        let number = match &c.value {
            Value::Num(n) if n.integer => n.text.parse::<f64>().map_err(|_| invalid())?,
            Value::Str(s) => python_int(s).ok_or_else(invalid)?,
            _ => return Err(invalid()),
        };
        return Ok(Cond::Version(c.op, number));
    };
    let list_allowed = matches!(text, Text::Name | Text::RunId);
    let op_ok = matches!(c.op, Op::Eq | Op::Ne | Op::Like | Op::ILike)
        || (matches!(c.op, Op::In | Op::NotIn) && list_allowed);
    if !op_ok {
        return Err(fail(
            c.op_at,
            format!("Invalid comparator for attribute: {}", c.op.as_str()),
        ));
    }
    let rhs = TextRhs::new(c.op, &c.value).ok_or_else(|| internal(c))?;
    Ok(Cond::Text(text, c.op, rhs))
}

/// Python's `int(s)` of a quoted value, as a number.
fn python_int(s: &str) -> Option<f64> {
    runstore_engine::model_limits::parse_model_version(s)
        .ok()
        .map(|n| n as f64)
}

fn internal(c: &Clause<'_>) -> Error {
    Error::Internal(format!(
        "comparison {} {} has no usable value",
        c.key.raw,
        c.op.as_str()
    ))
}

fn holds(c: &Cond, v: &ModelVersion) -> bool {
    match c {
        Cond::Text(Text::Name, op, rhs) => text_holds(Some(&v.name), *op, rhs),
        Cond::Text(Text::RunId, op, rhs) => text_holds(v.run_id.as_deref(), *op, rhs),
        Cond::Text(Text::Source, op, rhs) => text_holds(Some(&v.source), *op, rhs),
        Cond::Version(op, n) => number_holds(v.version as f64, *op, *n),
        Cond::Tag(key, op, rhs) => text_holds(v.tags.get(key).map(String::as_str), *op, rhs),
    }
}

/// MLflow's `_parse_search_model_versions_order_by`.
fn parse_order(clauses: &[String]) -> Result<Vec<(Key, bool)>> {
    let defaults: Vec<String> = DEFAULT_ORDER.iter().map(|s| (*s).to_owned()).collect();
    let clauses = if clauses.is_empty() {
        &defaults[..]
    } else {
        clauses
    };
    let mut order: Vec<(Key, bool)> = Vec::new();
    for clause in clauses {
        let (text, ascending) = order_clause(clause)?;
        let text = text.trim();
        let (entity, key) = match text.split_once('.') {
            Some((entity, key)) => (Some(entity), key),
            None => (None, text),
        };
        let key = mlflow_unquote(key);
        match entity {
            None | Some("attribute") => {}
            Some("tag" | "tags") => {
                return Err(Error::InvalidRequest(format!(
                    "Invalid order by key '{key}' specified. Valid keys are {{'name', \
                     'version_number', 'creation_timestamp', 'last_updated_timestamp'}}"
                )));
            }
            Some(other) => {
                return Err(Error::InvalidRequest(format!(
                    "Invalid entity type '{other}'. Valid entity types are ('attribute', 'tag', \
                     'tags')"
                )));
            }
        }
        let key = match key {
            "name" => Key::Name,
            "version_number" => Key::Version,
            "creation_timestamp" => Key::Created,
            "last_updated_timestamp" => Key::Updated,
            other => {
                return Err(Error::InvalidRequest(format!(
                    "Invalid attribute key '{other}' specified. Valid keys are '{{'name', \
                     'version_number', 'creation_timestamp', 'last_updated_timestamp'}}'"
                )));
            }
        };
        if order.iter().any(|(k, _)| *k == key) {
            return Err(duplicate_order(clauses));
        }
        order.push((key, ascending));
    }
    if !order.iter().any(|(k, _)| *k == Key::Name) {
        order.push((Key::Name, true));
    }
    if !order.iter().any(|(k, _)| *k == Key::Version) {
        order.push((Key::Version, false));
    }
    Ok(order)
}

/// One pair of `'`/`"` quotes, then one pair of backticks, removed.
fn mlflow_unquote(key: &str) -> &str {
    fn strip(s: &str, q: char) -> Option<&str> {
        (s.len() >= 2 && s.starts_with(q) && s.ends_with(q)).then(|| &s[1..s.len() - 1])
    }
    let key = strip(key, '\'').or_else(|| strip(key, '"')).unwrap_or(key);
    strip(key, '`').unwrap_or(key)
}

fn compare(order: &[(Key, bool)], a: &ModelVersion, b: &ModelVersion) -> Ordering {
    for &(key, ascending) in order {
        let o = match key {
            Key::Name => a.name.cmp(&b.name),
            Key::Version => a.version.cmp(&b.version),
            Key::Created => a.creation_timestamp.cmp(&b.creation_timestamp),
            Key::Updated => a.last_updated_timestamp.cmp(&b.last_updated_timestamp),
        };
        let o = directed(o, ascending);
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;
    use runstore_engine::ModelVersionStage;
    use std::collections::BTreeMap;

    fn version(
        name: &str,
        v: u64,
        updated: i64,
        run: Option<&str>,
        tags: &[(&str, &str)],
    ) -> ModelVersion {
        ModelVersion {
            name: name.into(),
            version: v,
            creation_timestamp: updated - 1,
            last_updated_timestamp: updated,
            user_id: None,
            current_stage: ModelVersionStage::None,
            description: None,
            source: format!("models:/m-{name}{v}"),
            storage_location: None,
            run_id: run.map(str::to_owned),
            status: "READY".into(),
            status_message: None,
            tags: tags
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>(),
            run_link: None,
            aliases: Vec::new(),
            model_id: None,
        }
    }

    fn all() -> Vec<ModelVersion> {
        vec![
            version("a", 1, 10, Some("r1"), &[("k", "x")]),
            version("a", 2, 30, Some("r2"), &[]),
            version("b", 1, 20, None, &[("k", "y")]),
            version("p", 1, 40, None, &[(IS_PROMPT_TAG_KEY, "true")]),
        ]
    }

    fn found(filter: &str, order_by: &[&str]) -> Vec<(String, u64)> {
        let req = ModelVersionSearch {
            filter: filter.into(),
            order_by: order_by.iter().map(|s| (*s).to_owned()).collect(),
            ..ModelVersionSearch::default()
        };
        search_model_versions(all(), &req)
            .unwrap_or_else(|e| panic!("{filter}: {e}"))
            .model_versions
            .into_iter()
            .map(|v| (v.name, v.version))
            .collect()
    }

    fn ids(list: &[(&str, u64)]) -> Vec<(String, u64)> {
        list.iter().map(|(n, v)| ((*n).to_owned(), *v)).collect()
    }

    #[test]
    fn filters_and_orders() {
        assert_eq!(found("", &[]), ids(&[("a", 2), ("b", 1), ("a", 1)]));
        assert_eq!(
            found("name = 'a'", &["version_number"]),
            ids(&[("a", 1), ("a", 2)])
        );
        assert_eq!(found("run_id IN ('r1', 'r9')", &[]), ids(&[("a", 1)]));
        // NULL run ids satisfy no comparison, != included (SQL).
        assert_eq!(found("run_id != 'r1'", &[]), ids(&[("a", 2)]));
        assert_eq!(found("version_number >= 2", &[]), ids(&[("a", 2)]));
        assert_eq!(
            found("version_number = '1'", &["name DESC"]),
            ids(&[("b", 1), ("a", 1)])
        );
        assert_eq!(
            found("tags.k LIKE '_'", &["name"]),
            ids(&[("a", 1), ("b", 1)])
        );
        assert_eq!(found("source_path LIKE '%a1'", &[]), ids(&[("a", 1)]));
        assert_eq!(
            found("", &["creation_timestamp"]),
            ids(&[("a", 1), ("b", 1), ("a", 2)])
        );
        assert_eq!(
            found(&format!("tags.`{IS_PROMPT_TAG_KEY}` = 'true'"), &[]),
            ids(&[("p", 1)])
        );
    }

    #[test]
    fn rejects_as_mlflow() {
        for (filter, needle) in [
            (
                "version_number > 1.5",
                "Invalid value for numeric attribute",
            ),
            (
                "version_number LIKE '1'",
                "Invalid comparator for attribute version_number",
            ),
            ("source_path IN ('a')", "Only ['name', 'run_id']"),
            ("name = 1", "support comparison with numeric values"),
            ("source_path > 'a'", "Invalid comparator for attribute: >"),
            (
                "creation_timestamp > 1",
                "Invalid attribute key 'creation_timestamp'",
            ),
            (
                "version_number = 'x'",
                "Invalid value for numeric attribute",
            ),
        ] {
            let req = ModelVersionSearch {
                filter: filter.into(),
                ..ModelVersionSearch::default()
            };
            let e = search_model_versions(all(), &req)
                .expect_err(filter)
                .to_string();
            assert!(e.contains(needle), "{filter}: {e}");
        }
        for order in [
            &["run_id"][..],
            &["tags.k"],
            &["name", "name DESC"],
            &["foo.name"],
        ] {
            let req = ModelVersionSearch {
                order_by: order.iter().map(|s| (*s).to_owned()).collect(),
                ..ModelVersionSearch::default()
            };
            assert!(search_model_versions(all(), &req).is_err(), "{order:?}");
        }
        for max in [0, 200_001] {
            let req = ModelVersionSearch {
                max_results: max,
                ..ModelVersionSearch::default()
            };
            assert!(search_model_versions(all(), &req).is_err(), "{max}");
        }
    }
}
