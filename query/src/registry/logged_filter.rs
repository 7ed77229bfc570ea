//! The filter of `search_logged_models`, as MLflow's SQL tracking store
//! reads it (`mlflow/utils/search_logged_model_utils.py`): comparisons on
//! `attributes` (a bare key is one: `name`, `model_id`, `model_type`,
//! `status`, `source_run_id`, `creation_time`/`creation_timestamp`,
//! `last_updated_timestamp`, …), `metrics.KEY`, `params.KEY`, `tags.KEY`,
//! joined by `AND`. Numeric keys (metrics, the two timestamps) take `= != <
//! <= > >=`, the rest `= != LIKE ILIKE IN NOT IN`.
//!
//! A metric condition holds when *any* value logged for the key (on one of
//! the request's datasets, if it names some) satisfies it — MLflow's SQL
//! store joins on every metric row, not just the latest.

use runstore_engine::{LoggedModel, LoggedModelStatus, ModelMetric};

use super::grammar::{self, Clause, Op, Value, error_at};
use super::{TextRhs, number_holds, text_holds};
use crate::error::{Error, Result};
use crate::registry::logged_models::DatasetFilter;

/// A logged model's attribute columns (MLflow's `SqlLoggedModel`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Attr {
    ModelId,
    ExperimentId,
    Name,
    ArtifactLocation,
    Created,
    Updated,
    Status,
    LifecycleStage,
    ModelType,
    SourceRunId,
    StatusMessage,
}

impl Attr {
    /// The column a key names, after MLflow's aliases.
    pub(crate) fn from_key(key: &str) -> Option<Attr> {
        Some(match key {
            "model_id" => Attr::ModelId,
            "experiment_id" => Attr::ExperimentId,
            "name" => Attr::Name,
            "artifact_location" => Attr::ArtifactLocation,
            "creation_timestamp_ms" | "creation_time" | "creation_timestamp" => Attr::Created,
            "last_updated_timestamp_ms" | "last_updated_timestamp" => Attr::Updated,
            "status" => Attr::Status,
            "lifecycle_stage" => Attr::LifecycleStage,
            "model_type" => Attr::ModelType,
            "source_run_id" => Attr::SourceRunId,
            "status_message" => Attr::StatusMessage,
            _ => return None,
        })
    }

    /// The timestamps: numeric comparisons only.
    fn is_numeric(self) -> bool {
        matches!(self, Attr::Created | Attr::Updated)
    }

    /// The integer columns compared with text (SQLite's numeric affinity).
    fn is_integer_text(self) -> bool {
        matches!(self, Attr::ExperimentId | Attr::Status)
    }
}

/// A text attribute's value (`None`: SQL NULL).
pub(crate) fn attr_text(m: &LoggedModel, attr: Attr) -> Option<String> {
    Some(match attr {
        Attr::ModelId => m.model_id.clone(),
        Attr::ExperimentId => m.experiment_id.to_string(),
        Attr::Name => m.name.clone(),
        Attr::ArtifactLocation => m.artifact_location.clone(),
        Attr::Created => m.creation_timestamp_ms.to_string(),
        Attr::Updated => m.last_updated_timestamp_ms.to_string(),
        Attr::Status => m.status.code().to_string(),
        Attr::LifecycleStage => m.lifecycle_stage.as_str().to_owned(),
        Attr::ModelType => m.model_type.clone()?,
        Attr::SourceRunId => m.source_run_id?.to_string(),
        Attr::StatusMessage => m.status_message.clone()?,
    })
}

/// An integer attribute's value.
pub(crate) fn attr_integer(m: &LoggedModel, attr: Attr) -> Option<i64> {
    match attr {
        Attr::ExperimentId => Some(i64::from(m.experiment_id.0)),
        Attr::Status => Some(i64::from(m.status.code())),
        Attr::Created => Some(m.creation_timestamp_ms),
        Attr::Updated => Some(m.last_updated_timestamp_ms),
        _ => None,
    }
}

/// One checked condition.
#[derive(Clone, Debug)]
pub(crate) enum Cond {
    Text(Attr, Op, TextRhs),
    Integer(Attr, Op, IntRhs),
    Number(Attr, Op, f64),
    Metric(String, Op, f64),
    Param(String, Op, TextRhs),
    Tag(String, Op, TextRhs),
}

/// The right-hand side of a comparison with an integer column.
#[derive(Clone, Debug)]
pub(crate) struct IntRhs {
    /// Each value as a number when SQLite would read it as one (status
    /// names read as their codes, a runstore extension), else `None`.
    numbers: Vec<Option<f64>>,
    /// `LIKE`/`ILIKE` patterns and the texts, for matching the column's text.
    text: TextRhs,
}

fn numeric_text(attr: Attr, s: &str) -> Option<f64> {
    if attr == Attr::Status
        && let Ok(status) = s.parse::<LoggedModelStatus>()
    {
        return Some(f64::from(status.code()));
    }
    s.trim().parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Parses `filter` into conditions.
pub(crate) fn parse(filter: &str) -> Result<Vec<Cond>> {
    let clauses = grammar::clauses(filter, &check_head)?;
    clauses.iter().map(|c| condition(filter, c)).collect()
}

fn check_head(head: &str) -> std::result::Result<(), String> {
    let lowercase = !head.is_empty() && head.chars().all(|c| c.is_ascii_lowercase());
    if !lowercase || matches!(head, "attributes" | "metrics" | "params" | "tags") {
        Ok(())
    } else {
        Err(format!(
            "Invalid entity type: '{head}'. Expected one of ['attributes', 'metrics', 'params', \
             'tags']."
        ))
    }
}

const NUMERIC_OPS: &str = "('<', '<=', '>', '>=', '=', '!=')";
const STRING_OPS: &str = "('=', '!=', 'LIKE', 'ILIKE', 'IN', 'NOT IN')";

fn condition(filter: &str, c: &Clause<'_>) -> Result<Cond> {
    let fail = |at: &str, message: String| -> Error { error_at(filter, at, message).into() };
    let head = c
        .key
        .head
        .filter(|h| matches!(*h, "attributes" | "metrics" | "params" | "tags"));
    let (entity, key) = match head {
        Some(h) => (h, c.key.raw.trim_matches('`').to_owned()),
        None => {
            let whole = match c.key.head {
                Some(h) => format!("{h}.{}", c.key.raw),
                None => c.key.raw.to_owned(),
            };
            let aliased = match whole.as_str() {
                "creation_time" | "creation_timestamp" => "creation_timestamp_ms".to_owned(),
                "last_updated_timestamp" => "last_updated_timestamp_ms".to_owned(),
                other => other.trim_matches('`').to_owned(),
            };
            ("attributes", aliased)
        }
    };
    let attr = if entity == "attributes" {
        Some(Attr::from_key(&key).ok_or_else(|| {
            fail(
                c.key_at,
                format!(
                    "Invalid attribute key '{key}' for logged models. Valid keys are 'name', \
                     'model_id', 'model_type', 'status', 'source_run_id', 'creation_time', \
                     'creation_timestamp', 'last_updated_timestamp', 'experiment_id', \
                     'artifact_location', 'status_message'"
                ),
            )
        })?)
    } else {
        None
    };
    let numeric = entity == "metrics" || attr.is_some_and(Attr::is_numeric);
    let valid_op = if numeric {
        c.op.is_numeric()
    } else {
        matches!(
            c.op,
            Op::Eq | Op::Ne | Op::Like | Op::ILike | Op::In | Op::NotIn
        )
    };
    if !valid_op {
        return Err(fail(
            c.op_at,
            format!(
                "Invalid comparison operator for {entity}.{key}: '{}'. Expected one of {}.",
                c.op.as_str(),
                if numeric { NUMERIC_OPS } else { STRING_OPS }
            ),
        ));
    }
    if numeric {
        let number = match &c.value {
            Value::Num(n) => n.text.parse::<f64>().ok(),
            _ => None,
        }
        .ok_or_else(|| {
            fail(
                c.value_at,
                format!(
                    "Expected a numeric value for {entity}.{key}, got {}",
                    c.value.describe()
                ),
            )
        })?;
        return Ok(match attr {
            Some(a) => Cond::Number(a, c.op, number),
            None => Cond::Metric(key, c.op, number),
        });
    }
    // MLflow strips single quotes only: a number is read as its text and a
    // double-quoted string keeps its quotes.
    let text_value = match &c.value {
        Value::Num(n) => Value::Str(n.text),
        Value::Str(s) if c.value_at.starts_with('"') => {
            Value::Str(c.value_at.get(..s.len() + 2).unwrap_or(s))
        }
        other => other.clone(),
    };
    let rhs = TextRhs::new(c.op, &text_value).ok_or_else(|| {
        fail(
            c.value_at,
            format!("Expected a quoted string value, got {}", c.value.describe()),
        )
    })?;
    Ok(match (entity, attr) {
        ("params", _) => Cond::Param(key, c.op, rhs),
        ("tags", _) => Cond::Tag(key, c.op, rhs),
        (_, Some(a)) if a.is_integer_text() => {
            let numbers = match &text_value {
                Value::Str(s) => vec![numeric_text(a, s)],
                Value::List(items) => items.iter().map(|s| numeric_text(a, s)).collect(),
                _ => Vec::new(),
            };
            Cond::Integer(a, c.op, IntRhs { numbers, text: rhs })
        }
        (_, Some(a)) => Cond::Text(a, c.op, rhs),
        (_, None) => return Err(Error::Internal(format!("no entity for {key}"))),
    })
}

/// Whether `metric` was computed on one of `datasets` (any, when there are none).
pub(crate) fn on_datasets(metric: &ModelMetric, datasets: &[DatasetFilter]) -> bool {
    datasets.is_empty()
        || datasets.iter().any(|d| {
            metric.dataset_name.as_deref() == Some(d.dataset_name.as_str())
                && d.dataset_digest
                    .as_deref()
                    .is_none_or(|digest| metric.dataset_digest.as_deref() == Some(digest))
        })
}

/// Whether `m` satisfies `c`.
pub(crate) fn holds(c: &Cond, m: &LoggedModel, datasets: &[DatasetFilter]) -> bool {
    match c {
        Cond::Text(attr, op, rhs) => text_holds(attr_text(m, *attr).as_deref(), *op, rhs),
        Cond::Integer(attr, op, rhs) => {
            let Some(value) = attr_integer(m, *attr) else {
                return false;
            };
            integer_holds(value, *op, rhs)
        }
        Cond::Number(attr, op, x) => {
            attr_integer(m, *attr).is_some_and(|v| number_holds(v as f64, *op, *x))
        }
        Cond::Metric(key, op, x) => m
            .metrics
            .iter()
            .any(|p| p.key == *key && on_datasets(p, datasets) && number_holds(p.value, *op, *x)),
        Cond::Param(key, op, rhs) => text_holds(m.params.get(key).map(String::as_str), *op, rhs),
        Cond::Tag(key, op, rhs) => text_holds(m.tags.get(key).map(String::as_str), *op, rhs),
    }
}

/// An integer column against text, as SQLite compares them: text that
/// reads as a number compares numerically; other text is greater than any
/// number; `LIKE` matches the number's text.
fn integer_holds(value: i64, op: Op, rhs: &IntRhs) -> bool {
    let v = value as f64;
    let first = rhs.numbers.first().copied().flatten();
    match op {
        Op::Like | Op::ILike => text_holds(Some(&value.to_string()), op, &rhs.text),
        Op::In => rhs.numbers.contains(&Some(v)),
        Op::NotIn => !rhs.numbers.contains(&Some(v)),
        _ => match first {
            Some(x) => number_holds(v, op, x),
            None => matches!(op, Op::Ne | Op::Lt | Op::Le),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_and_aliases() {
        assert!(parse("tag.x = 'a'").is_err());
        assert!(parse("attribute.name = 'a'").is_err());
        assert!(parse("metrics.acc > 0.5 AND params.lr = '0.1' AND tags.t LIKE 'x%'").is_ok());
        assert!(matches!(
            parse("creation_time > 5").unwrap()[0],
            Cond::Number(Attr::Created, Op::Gt, _)
        ));
        assert!(matches!(
            parse("attributes.name = 'a'").unwrap()[0],
            Cond::Text(Attr::Name, Op::Eq, _)
        ));
        assert!(parse("last_updated_time > 5").is_err());
        assert!(parse("metrics.acc LIKE 'a'").is_err());
        assert!(parse("params.lr > '1'").is_err());
        assert!(parse("metrics.acc > '1'").is_err());
        assert!(parse("name = 'a' OR name = 'b'").is_err());
        assert!(parse("foo = 'a'").is_err());
    }

    #[test]
    fn integer_columns_compare_like_sqlite() {
        let rhs = |s: &str, op: Op| IntRhs {
            numbers: vec![numeric_text(Attr::Status, s)],
            text: TextRhs::new(op, &Value::Str(s)).unwrap(),
        };
        assert!(integer_holds(2, Op::Eq, &rhs("2", Op::Eq)));
        assert!(integer_holds(2, Op::Eq, &rhs("READY", Op::Eq)));
        assert!(integer_holds(2, Op::Eq, &rhs("LOGGED_MODEL_READY", Op::Eq)));
        assert!(!integer_holds(2, Op::Eq, &rhs("nope", Op::Eq)));
        assert!(integer_holds(2, Op::Ne, &rhs("nope", Op::Ne)));
        assert!(integer_holds(2, Op::Like, &rhs("2%", Op::Like)));
    }
}
