//! MLflow's `search_registered_models` as its SQL store answers: filters on
//! `name` (`= != LIKE ILIKE IN NOT IN`) and `tags.KEY` (`= != LIKE ILIKE`),
//! `order_by` on `name`, `timestamp`/`last_updated_timestamp` (then `name`
//! ascending), at most 1000 a page, offset page tokens. Prompts (models
//! tagged `mlflow.prompt.is_prompt` = `true`) are left out unless the
//! filter asks for them.

use std::cmp::Ordering;

use runstore_engine::RegisteredModel;
use runstore_engine::model_limits::IS_PROMPT_TAG_KEY;

use super::grammar::{self, Clause, Op, Value, error_at};
use super::{
    TextRhs, check_max_results, decode_offset, directed, duplicate_order, order_clause, page,
    text_holds,
};
use crate::error::{Error, Result};

/// Most registered models in one page.
pub const MAX_RESULTS_REGISTERED_MODELS: usize = 1000;

/// A `search_registered_models` request.
#[derive(Clone, Debug)]
pub struct RegisteredModelSearch {
    /// Filter string (empty: every model).
    pub filter: String,
    /// Page size, 1 to 1000 (MLflow's default is 100).
    pub max_results: usize,
    /// `order_by` clauses, e.g. `name DESC`, `timestamp`.
    pub order_by: Vec<String>,
    /// Token of the page to continue from.
    pub page_token: Option<String>,
}

impl Default for RegisteredModelSearch {
    fn default() -> Self {
        RegisteredModelSearch {
            filter: String::new(),
            max_results: 100,
            order_by: Vec::new(),
            page_token: None,
        }
    }
}

/// One page of registered models.
#[derive(Clone, Debug, PartialEq)]
pub struct RegisteredModelsPage {
    /// The models, in order.
    pub registered_models: Vec<RegisteredModel>,
    /// Token for the next page, when there is one.
    pub next_page_token: Option<String>,
}

/// One checked condition.
#[derive(Clone, Debug)]
enum Cond {
    Name(Op, TextRhs),
    Tag(String, Op, TextRhs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    Name,
    Updated,
}

/// Runs `request` over `models` (all of a store's, any order).
pub fn search_registered_models(
    models: Vec<RegisteredModel>,
    request: &RegisteredModelSearch,
) -> Result<RegisteredModelsPage> {
    check_max_results(request.max_results, MAX_RESULTS_REGISTERED_MODELS)?;
    let parsed = grammar::clauses(&request.filter, &check_head)?;
    let order = parse_order(&request.order_by)?;
    let offset = decode_offset(request.page_token.as_deref())?;
    let mut conds = Vec::with_capacity(parsed.len());
    for c in &parsed {
        conds.push(condition(&request.filter, c)?);
    }
    let want_prompts = super::model_versions::querying_prompts(&parsed);
    if !want_prompts {
        conds.retain(|c| !matches!(c, Cond::Tag(k, _, _) if k == IS_PROMPT_TAG_KEY));
    }
    let mut found: Vec<RegisteredModel> = models
        .into_iter()
        .filter(|m| {
            want_prompts || m.tags.get(IS_PROMPT_TAG_KEY).map(String::as_str) != Some("true")
        })
        .filter(|m| conds.iter().all(|c| holds(c, m)))
        .collect();
    found.sort_by(|a, b| compare(&order, a, b));
    let (registered_models, next_page_token) = page(found, offset, request.max_results);
    Ok(RegisteredModelsPage {
        registered_models,
        next_page_token,
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

/// MLflow's checks of one comparison, in its order: key, value kind, operator.
fn condition(filter: &str, c: &Clause<'_>) -> Result<Cond> {
    let is_tag = matches!(c.key.head, Some("tag" | "tags"));
    if matches!(c.op, Op::IsNull | Op::IsNotNull) {
        return Err(error_at(
            filter,
            c.op_at,
            "IS NULL / IS NOT NULL is not supported by this search",
        )
        .into());
    }
    if is_tag {
        if !matches!(c.value, Value::Str(_)) {
            return Err(error_at(
                filter,
                c.value_at,
                format!(
                    "Expected a quoted string value for tag (e.g. 'my-value'). Got value {}",
                    c.value.describe()
                ),
            )
            .into());
        }
        if !matches!(c.op, Op::Eq | Op::Ne | Op::Like | Op::ILike) {
            return Err(error_at(
                filter,
                c.op_at,
                format!("Invalid comparator for tag: {}", c.op.as_str()),
            )
            .into());
        }
        let rhs = TextRhs::new(c.op, &c.value).ok_or_else(|| internal(c))?;
        return Ok(Cond::Tag(c.key.unquoted.to_owned(), c.op, rhs));
    }
    if c.key.raw != "name" {
        return Err(error_at(
            filter,
            c.key_at,
            format!(
                "Invalid attribute key '{}' specified. Valid keys are '{{'name'}}'",
                c.key.raw
            ),
        )
        .into());
    }
    if matches!(c.value, Value::Num(_)) {
        return Err(error_at(
            filter,
            c.value_at,
            format!(
                "Expected a quoted string value or a list of quoted string values for \
                 attributes. Got value {}",
                c.value.describe()
            ),
        )
        .into());
    }
    if !matches!(
        c.op,
        Op::Eq | Op::Ne | Op::Like | Op::ILike | Op::In | Op::NotIn
    ) {
        return Err(error_at(
            filter,
            c.op_at,
            format!("Invalid comparator for attribute: {}", c.op.as_str()),
        )
        .into());
    }
    let rhs = TextRhs::new(c.op, &c.value).ok_or_else(|| internal(c))?;
    Ok(Cond::Name(c.op, rhs))
}

fn internal(c: &Clause<'_>) -> Error {
    Error::Internal(format!(
        "comparison {} {} has no usable value",
        c.key.raw,
        c.op.as_str()
    ))
}

fn holds(c: &Cond, m: &RegisteredModel) -> bool {
    match c {
        Cond::Name(op, rhs) => text_holds(Some(&m.name), *op, rhs),
        Cond::Tag(key, op, rhs) => text_holds(m.tags.get(key).map(String::as_str), *op, rhs),
    }
}

/// MLflow's `_parse_search_registered_models_order_by`.
fn parse_order(clauses: &[String]) -> Result<Vec<(Key, bool)>> {
    let mut order: Vec<(Key, bool)> = Vec::new();
    for clause in clauses {
        let (key, ascending) = order_clause(clause)?;
        let key = match key.trim() {
            "name" => Key::Name,
            "timestamp" | "last_updated_timestamp" => Key::Updated,
            other => {
                return Err(Error::InvalidRequest(format!(
                    "Invalid order by key '{other}' specified. Valid keys are '{{'name', \
                     'timestamp', 'last_updated_timestamp'}}'"
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
    Ok(order)
}

fn compare(order: &[(Key, bool)], a: &RegisteredModel, b: &RegisteredModel) -> Ordering {
    for &(key, ascending) in order {
        let o = match key {
            Key::Name => a.name.cmp(&b.name),
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
    use std::collections::BTreeMap;

    fn model(name: &str, updated: i64, tags: &[(&str, &str)]) -> RegisteredModel {
        RegisteredModel {
            name: name.into(),
            creation_timestamp: 1,
            last_updated_timestamp: updated,
            description: None,
            tags: tags
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            aliases: BTreeMap::new(),
            latest_versions: Vec::new(),
        }
    }

    fn all() -> Vec<RegisteredModel> {
        vec![
            model("alpha", 30, &[("team", "vision")]),
            model("Beta", 10, &[("team", "nlp")]),
            model("gamma", 20, &[]),
            model("prompt-1", 40, &[(IS_PROMPT_TAG_KEY, "true")]),
        ]
    }

    fn names(filter: &str, order_by: &[&str]) -> Vec<String> {
        let req = RegisteredModelSearch {
            filter: filter.into(),
            order_by: order_by.iter().map(|s| (*s).to_owned()).collect(),
            ..RegisteredModelSearch::default()
        };
        search_registered_models(all(), &req)
            .unwrap_or_else(|e| panic!("{filter}: {e}"))
            .registered_models
            .into_iter()
            .map(|m| m.name)
            .collect()
    }

    #[test]
    fn filters_and_orders() {
        assert_eq!(names("", &[]), ["Beta", "alpha", "gamma"]);
        assert_eq!(names("name LIKE '%a'", &[]), ["Beta", "alpha", "gamma"]);
        assert_eq!(names("name LIKE 'b%'", &[]), Vec::<String>::new());
        assert_eq!(names("name ILIKE 'b%'", &[]), ["Beta"]);
        assert_eq!(names("name IN ('gamma', 'alpha')", &[]), ["alpha", "gamma"]);
        assert_eq!(names("name NOT IN ('gamma')", &[]), ["Beta", "alpha"]);
        assert_eq!(names("tags.team != 'nlp'", &[]), ["alpha"]);
        assert_eq!(names("", &["timestamp DESC"]), ["alpha", "gamma", "Beta"]);
        assert_eq!(
            names("", &["last_updated_timestamp", "name DESC"]),
            ["Beta", "gamma", "alpha"]
        );
        // Prompts only when asked for.
        assert_eq!(
            names(&format!("tags.`{IS_PROMPT_TAG_KEY}` = 'true'"), &[]),
            ["prompt-1"]
        );
        assert_eq!(
            names(&format!("tags.`{IS_PROMPT_TAG_KEY}` = 'false'"), &[]),
            ["Beta", "alpha", "gamma"]
        );
    }

    #[test]
    fn rejects_as_mlflow() {
        for (filter, needle) in [
            (
                "creation_timestamp > 1",
                "Invalid attribute key 'creation_timestamp'",
            ),
            ("name > 'a'", "Invalid comparator for attribute: >"),
            ("name = 1", "Expected a quoted string value or a list"),
            ("tags.a IN ('x')", "Expected a quoted string value for tag"),
            ("tags.a < 'x'", "Invalid comparator for tag: <"),
            ("params.a = 'x'", "Invalid entity type 'params'"),
        ] {
            let req = RegisteredModelSearch {
                filter: filter.into(),
                ..RegisteredModelSearch::default()
            };
            let e = search_registered_models(all(), &req)
                .expect_err(filter)
                .to_string();
            assert!(e.contains(needle), "{filter}: {e}");
        }
        for order in [&["creation_timestamp"][..], &["name", "name DESC"]] {
            let req = RegisteredModelSearch {
                order_by: order.iter().map(|s| (*s).to_owned()).collect(),
                ..RegisteredModelSearch::default()
            };
            assert!(search_registered_models(all(), &req).is_err(), "{order:?}");
        }
        let req = RegisteredModelSearch {
            max_results: 1001,
            ..RegisteredModelSearch::default()
        };
        assert!(search_registered_models(all(), &req).is_err());
    }

    #[test]
    fn pages() {
        let mut req = RegisteredModelSearch {
            max_results: 2,
            ..RegisteredModelSearch::default()
        };
        let first = search_registered_models(all(), &req).unwrap();
        assert_eq!(first.registered_models.len(), 2);
        req.page_token = first.next_page_token;
        let second = search_registered_models(all(), &req).unwrap();
        assert_eq!(second.registered_models[0].name, "gamma");
        assert_eq!(second.next_page_token, None);
    }
}
