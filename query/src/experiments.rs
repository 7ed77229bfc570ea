//! MLflow's `search_experiments`: its filter grammar (`name`,
//! `experiment_id`, `creation_time`, `last_update_time` and `tags.KEY`,
//! joined by `AND`), its `order_by` keys and its offset page tokens, over a
//! store's experiments (a few thousand at most: evaluated directly, not
//! planned on DataFusion).

use std::cmp::Ordering;

use base64::Engine as _;
use runstore_engine::index::LikePattern;
use runstore_engine::{Experiment, ViewType};

use crate::error::{Error, ParseError, Result};
use crate::parse::lex::{at_keyword, is_word, keyword, quoted_token, ws0};
use crate::parse::literal::{number, string, string_list};
use crate::parse::{Fail, PResult, char_offset, fail, finish};
use crate::search::MAX_MAX_RESULTS;

/// A `search_experiments` request.
#[derive(Clone, Debug)]
pub struct ExperimentSearch {
    /// Which lifecycle stages to see.
    pub view: ViewType,
    /// Filter string (empty: every experiment).
    pub filter: String,
    /// `order_by` clauses (empty: `creation_time DESC, experiment_id ASC`).
    pub order_by: Vec<String>,
    /// Page size, 1 to 50,000.
    pub max_results: usize,
    /// Token of the page to continue from.
    pub page_token: Option<String>,
}

impl Default for ExperimentSearch {
    fn default() -> Self {
        ExperimentSearch {
            view: ViewType::ActiveOnly,
            filter: String::new(),
            order_by: Vec::new(),
            max_results: crate::search::DEFAULT_MAX_RESULTS,
            page_token: None,
        }
    }
}

/// One page of experiments.
#[derive(Clone, Debug, PartialEq)]
pub struct ExperimentsPage {
    /// The experiments, in order.
    pub experiments: Vec<Experiment>,
    /// Token for the next page, when there is one.
    pub next_page_token: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Attr {
    Name,
    Id,
    Created,
    Updated,
}

#[derive(Clone, Debug)]
enum Cond {
    Name {
        op: StrOp,
    },
    Id {
        values: Vec<String>,
        negate: bool,
    },
    Time {
        attr: Attr,
        op: &'static str,
        value: i64,
    },
    Tag {
        key: String,
        op: StrOp,
    },
    TagNull {
        key: String,
        null: bool,
    },
}

#[derive(Clone, Debug)]
enum StrOp {
    Eq(String),
    Ne(String),
    Like(LikePattern),
}

impl StrOp {
    fn holds(&self, text: &str) -> bool {
        match self {
            StrOp::Eq(v) => text == v,
            StrOp::Ne(v) => text != v,
            StrOp::Like(p) => p.matches(text),
        }
    }
}

/// Runs `request` over `experiments` (all of a store's, any order).
pub fn search_experiments(
    experiments: Vec<Experiment>,
    request: &ExperimentSearch,
) -> Result<ExperimentsPage> {
    let max = request.max_results;
    if !(1..=MAX_MAX_RESULTS).contains(&max) {
        return Err(Error::InvalidRequest(format!(
            "max_results must be between 1 and {MAX_MAX_RESULTS}, got {max}"
        )));
    }
    let conds = parse_filter(&request.filter)?;
    let order = parse_order(&request.order_by)?;
    let offset = match &request.page_token {
        Some(t) => decode_offset(t)?,
        None => 0,
    };
    let mut found: Vec<Experiment> = experiments
        .into_iter()
        .filter(|e| request.view.admits(e.lifecycle_stage))
        .filter(|e| conds.iter().all(|c| holds(c, e)))
        .collect();
    found.sort_by(|a, b| compare(&order, a, b));
    let total = found.len();
    let mut page: Vec<Experiment> = found.into_iter().skip(offset).take(max).collect();
    let next_page_token = (offset + page.len() < total).then(|| encode_offset(offset + max));
    page.truncate(max);
    Ok(ExperimentsPage {
        experiments: page,
        next_page_token,
    })
}

fn holds(c: &Cond, e: &Experiment) -> bool {
    match c {
        Cond::Name { op } => op.holds(&e.name),
        Cond::Id { values, negate } => values.iter().any(|v| *v == e.id.to_string()) != *negate,
        Cond::Time { attr, op, value } => {
            let t = if *attr == Attr::Created {
                e.creation_time
            } else {
                e.last_update_time
            };
            match *op {
                "=" => t == *value,
                "!=" => t != *value,
                "<" => t < *value,
                "<=" => t <= *value,
                ">" => t > *value,
                _ => t >= *value,
            }
        }
        Cond::Tag { key, op } => e.tags.get(key).is_some_and(|v| op.holds(v)),
        Cond::TagNull { key, null } => e.tags.contains_key(key) != *null,
    }
}

fn compare(order: &[(Attr, bool)], a: &Experiment, b: &Experiment) -> Ordering {
    for &(attr, ascending) in order {
        let o = match attr {
            Attr::Name => a.name.cmp(&b.name),
            Attr::Id => a.id.0.cmp(&b.id.0),
            Attr::Created => a.creation_time.cmp(&b.creation_time),
            Attr::Updated => a.last_update_time.cmp(&b.last_update_time),
        };
        let o = if ascending { o } else { o.reverse() };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

fn parse_order(clauses: &[String]) -> Result<Vec<(Attr, bool)>> {
    let mut order = Vec::new();
    let defaults = [
        "creation_time DESC".to_owned(),
        "experiment_id ASC".to_owned(),
    ];
    let clauses = if clauses.is_empty() {
        &defaults[..]
    } else {
        clauses
    };
    for (index, clause) in clauses.iter().enumerate() {
        let bad = |message: String, at: &str| ParseError::OrderBy {
            index,
            clause: clause.clone(),
            message,
            offset: char_offset(clause, at),
        };
        let text = clause.trim();
        let (rest, (entity, key)) =
            finish(identifier(text)).map_err(|f| bad(f.message.into(), f.at))?;
        if entity == Entity::Tag {
            return Err(bad(format!("Invalid order_by entity: tag ({key})"), text).into());
        }
        let attr = attribute(&key).ok_or_else(|| bad(unknown_attribute(&key), text))?;
        let (rest, _) = finish(ws0(rest)).map_err(|f| bad(f.message.into(), f.at))?;
        let ascending = if rest.is_empty() || rest.eq_ignore_ascii_case("asc") {
            true
        } else if rest.eq_ignore_ascii_case("desc") {
            false
        } else {
            return Err(bad("expected ASC or DESC after the key".into(), rest).into());
        };
        order.push((attr, ascending));
    }
    if !order.iter().any(|(a, _)| *a == Attr::Id) {
        order.push((Attr::Id, false));
    }
    Ok(order)
}

fn unknown_attribute(key: &str) -> String {
    format!(
        "Invalid attribute key '{key}' specified. Valid keys are 'name', 'experiment_id', \
         'creation_time', 'last_update_time'"
    )
}

fn attribute(key: &str) -> Option<Attr> {
    Some(match key {
        "name" => Attr::Name,
        "experiment_id" => Attr::Id,
        "creation_time" => Attr::Created,
        "last_update_time" => Attr::Updated,
        _ => return None,
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Entity {
    Attribute,
    Tag,
}

/// `[attribute. | tag. | tags.] KEY`, the key bare or quoted.
fn identifier(i: &str) -> PResult<'_, (Entity, String)> {
    let (entity, i) = match i.split_once('.') {
        Some((head, rest)) if !head.is_empty() && head.chars().all(is_word) => match head {
            "attribute" => (Entity::Attribute, rest),
            "tag" | "tags" => (Entity::Tag, rest),
            other => {
                return fail(
                    i,
                    format!(
                        "Invalid entity type '{other}'. Valid entity types are ('attribute', \
                         'tag', 'tags')"
                    ),
                );
            }
        },
        _ => (Entity::Attribute, i),
    };
    if i.starts_with(['`', '"', '\'']) {
        let (rest, (_, key)) = quoted_token(i)?;
        return Ok((rest, (entity, key.to_owned())));
    }
    let len = i.find(|c: char| !is_word(c)).unwrap_or(i.len());
    if len == 0 {
        return fail(i, "expected a key");
    }
    Ok((&i[len..], (entity, i[..len].to_owned())))
}

fn parse_filter(filter: &str) -> Result<Vec<Cond>> {
    if filter.is_empty() {
        return Ok(Vec::new());
    }
    let to_error = |f: Fail<'_>| ParseError::Filter {
        message: f.message.into_owned(),
        offset: char_offset(filter, f.at),
    };
    let mut conds = Vec::new();
    let (mut i, _) = finish(ws0(filter)).map_err(to_error)?;
    loop {
        let (rest, c) = finish(condition(i)).map_err(to_error)?;
        conds.push(c);
        let (rest, _) = finish(ws0(rest)).map_err(to_error)?;
        if rest.is_empty() {
            return Ok(conds);
        }
        if !at_keyword(rest, "AND") {
            return Err(to_error(Fail::new(rest, "expected AND or the end of the filter")).into());
        }
        let (rest, _) = finish(keyword("AND")(rest)).map_err(to_error)?;
        let (rest, _) = finish(ws0(rest)).map_err(to_error)?;
        i = rest;
    }
}

fn comparator(i: &str) -> PResult<'_, &'static str> {
    for (text, op) in [
        ("!=", "!="),
        ("<=", "<="),
        (">=", ">="),
        ("=", "="),
        ("<", "<"),
        (">", ">"),
    ] {
        if let Some(rest) = i.strip_prefix(text) {
            return Ok((rest, op));
        }
    }
    for kw in ["LIKE", "ILIKE", "IN", "IS"] {
        if at_keyword(i, kw) {
            let (rest, _) = keyword(kw)(i)?;
            return Ok((rest, kw));
        }
    }
    if at_keyword(i, "NOT") {
        let (rest, _) = keyword("NOT")(i)?;
        let (rest, _) = ws0(rest)?;
        if at_keyword(rest, "IN") {
            let (rest, _) = keyword("IN")(rest)?;
            return Ok((rest, "NOT IN"));
        }
        return fail(rest, "expected IN after NOT");
    }
    fail(
        i,
        "expected a comparator (= != < <= > >= LIKE ILIKE IN NOT IN IS)",
    )
}

fn condition(i: &str) -> PResult<'_, Cond> {
    let start = i;
    let (i, (entity, key)) = identifier(i)?;
    let (i, _) = ws0(i)?;
    let op_at = i;
    let (i, op) = comparator(i)?;
    let (i, _) = ws0(i)?;
    if op == "IS" {
        let (i, not) = match keyword("NOT")(i) {
            Ok((rest, _)) => (ws0(rest)?.0, true),
            Err(_) => (i, false),
        };
        let (i, _) = keyword("NULL")(i).or_else(|_| fail(i, "expected NULL"))?;
        if entity != Entity::Tag {
            return fail(
                start,
                format!(
                    "IS NULL / IS NOT NULL is only supported for tags, not for attribute '{key}'"
                ),
            );
        }
        return Ok((i, Cond::TagNull { key, null: !not }));
    }
    if entity == Entity::Tag {
        let (i, value) =
            string(i).or_else(|_| fail(i, "a tag is compared with a quoted string"))?;
        let Some(op) = str_op(op, value) else {
            return fail(op_at, format!("Invalid comparator for tag: {op}"));
        };
        return Ok((i, Cond::Tag { key, op }));
    }
    let Some(attr) = attribute(&key) else {
        return fail(start, unknown_attribute(&key));
    };
    match attr {
        Attr::Name => {
            let (i, value) =
                string(i).or_else(|_| fail(i, "name is compared with a quoted string"))?;
            let Some(op) = str_op(op, value) else {
                return fail(
                    op_at,
                    format!("Invalid comparator for string attribute: {op}"),
                );
            };
            Ok((i, Cond::Name { op }))
        }
        Attr::Id => match op {
            "=" | "!=" => {
                let (i, value) = string(i)
                    .or_else(|_| number(i).map(|(r, n)| (r, n.text)))
                    .or_else(|_| fail(i, "experiment_id is compared with a quoted id"))?;
                Ok((
                    i,
                    Cond::Id {
                        values: vec![value.to_owned()],
                        negate: op == "!=",
                    },
                ))
            }
            "IN" | "NOT IN" => {
                let (i, values) = string_list(i)?;
                let values = values.into_iter().map(str::to_owned).collect();
                Ok((
                    i,
                    Cond::Id {
                        values,
                        negate: op == "NOT IN",
                    },
                ))
            }
            _ => fail(op_at, format!("Invalid comparator for experiment_id: {op}")),
        },
        Attr::Created | Attr::Updated => {
            if !matches!(op, "=" | "!=" | "<" | "<=" | ">" | ">=") {
                return fail(
                    op_at,
                    format!("Invalid comparator for numeric attribute: {op}"),
                );
            }
            let value_at = i;
            let (i, n) = number(i).or_else(|_| {
                fail(
                    value_at,
                    format!("Expected numeric value type for numeric attribute: {key}"),
                )
            })?;
            let value = match (n.integer, n.text.parse::<i64>()) {
                (true, Ok(v)) => v,
                _ => {
                    return fail(
                        value_at,
                        format!("Invalid value for numeric attribute '{key}': '{}'", n.text),
                    );
                }
            };
            Ok((i, Cond::Time { attr, op, value }))
        }
    }
}

fn str_op(op: &str, value: &str) -> Option<StrOp> {
    Some(match op {
        "=" => StrOp::Eq(value.to_owned()),
        "!=" => StrOp::Ne(value.to_owned()),
        "LIKE" => StrOp::Like(LikePattern::new(value, false)),
        "ILIKE" => StrOp::Like(LikePattern::new(value, true)),
        _ => return None,
    })
}

/// MLflow's offset token: base64 of `{"offset": N}`.
fn encode_offset(offset: usize) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{{\"offset\": {offset}}}"))
}

fn decode_offset(token: &str) -> Result<usize> {
    let bad = || Error::InvalidRequest(format!("invalid page token {token:?}"));
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token)
        .map_err(|_| bad())?;
    let doc: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    doc.get("offset")
        .and_then(serde_json::Value::as_u64)
        .and_then(|o| usize::try_from(o).ok())
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use runstore_engine::{ExperimentId, LifecycleStage};

    fn exp(id: u32, name: &str, created: i64, tags: &[(&str, &str)]) -> Experiment {
        Experiment {
            id: ExperimentId(id),
            name: name.into(),
            lifecycle_stage: if id == 9 {
                LifecycleStage::Deleted
            } else {
                LifecycleStage::Active
            },
            artifact_location: String::new(),
            creation_time: created,
            last_update_time: created + 1,
            tags: tags
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
        }
    }

    fn all() -> Vec<Experiment> {
        vec![
            exp(0, "mnist", 10, &[("team", "vision")]),
            exp(1, "mnist-large", 20, &[("team", "Vision")]),
            exp(2, "churn", 20, &[]),
            exp(9, "old", 5, &[]),
        ]
    }

    fn names(filter: &str, order_by: &[&str]) -> Vec<String> {
        let req = ExperimentSearch {
            filter: filter.into(),
            order_by: order_by.iter().map(|s| (*s).to_owned()).collect(),
            ..ExperimentSearch::default()
        };
        search_experiments(all(), &req)
            .unwrap_or_else(|e| panic!("{filter}: {e}"))
            .experiments
            .into_iter()
            .map(|e| e.name)
            .collect()
    }

    #[test]
    fn filters_and_orders_as_mlflow() {
        // Default order: creation_time DESC, then experiment_id ASC.
        assert_eq!(names("", &[]), ["mnist-large", "churn", "mnist"]);
        assert_eq!(
            names("name LIKE 'mnist%'", &["name DESC"]),
            ["mnist-large", "mnist"]
        );
        assert_eq!(
            names("tags.team ILIKE 'vision'", &["name"]),
            ["mnist", "mnist-large"]
        );
        assert_eq!(names("tags.team = 'vision'", &[]), ["mnist"]);
        assert_eq!(names("tags.team IS NULL", &[]), ["churn"]);
        assert_eq!(
            names("attribute.creation_time > 15 AND name != 'churn'", &[]),
            ["mnist-large"]
        );
        assert_eq!(
            names("experiment_id IN ('0', '2')", &["experiment_id ASC"]),
            ["mnist", "churn"]
        );
        // Ties on creation_time fall back to experiment_id DESC when unordered.
        assert_eq!(
            names("", &["creation_time"]),
            ["mnist", "churn", "mnist-large"]
        );
    }

    #[test]
    fn errors_name_the_position() {
        for (filter, at) in [
            ("name > 'a'", 6),
            ("foo = 'a'", 1),
            ("creation_time > 1.5", 17),
            ("name = 'a' OR name = 'b'", 12),
            ("attributes.name = 'x'", 1),
        ] {
            let req = ExperimentSearch {
                filter: filter.into(),
                ..ExperimentSearch::default()
            };
            let e = search_experiments(all(), &req)
                .expect_err(filter)
                .to_string();
            assert!(e.contains(&format!("at character {at}")), "{filter}: {e}");
        }
    }

    #[test]
    fn pages_with_offset_tokens() {
        let mut req = ExperimentSearch {
            max_results: 2,
            view: ViewType::All,
            ..ExperimentSearch::default()
        };
        let mut seen = Vec::new();
        loop {
            let page = search_experiments(all(), &req).expect("page");
            seen.extend(page.experiments.into_iter().map(|e| e.id.0));
            match page.next_page_token {
                Some(t) => req.page_token = Some(t),
                None => break,
            }
        }
        assert_eq!(seen, [1, 2, 0, 9]);
    }
}
