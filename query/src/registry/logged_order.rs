//! The ordering of `search_logged_models`, as MLflow's SQL tracking store
//! orders: each `order_by` entry is an attribute column (after MLflow's
//! aliases) or `metrics.KEY` — the model's latest value of that metric
//! (latest timestamp, then step, then run id ascending), optionally on one
//! dataset. Missing values sort last either way. Unless ordered on, ties
//! fall to `creation_timestamp` descending, then `model_id` ascending.

use std::cmp::Ordering;

use runstore_engine::{LoggedModel, ModelMetric};

use super::directed;
use super::logged_filter::{Attr, attr_integer, attr_text};
use crate::error::{Error, Result};
use crate::registry::logged_models::LoggedModelOrder;

/// One sort key.
#[derive(Clone, Debug)]
pub(crate) enum SortKey {
    Attr(Attr),
    Metric {
        key: String,
        dataset_name: Option<String>,
        dataset_digest: Option<String>,
    },
}

/// Parses the request's order, adding MLflow's tie-breakers.
pub(crate) fn parse(order_by: &[LoggedModelOrder]) -> Result<Vec<(SortKey, bool)>> {
    let mut out = Vec::with_capacity(order_by.len() + 2);
    for ob in order_by {
        let field = ob.field_name.as_str();
        let key = match field.split_once('.') {
            None => SortKey::Attr(Attr::from_key(field).ok_or_else(|| {
                Error::InvalidRequest(format!("Invalid order by field name: {field}"))
            })?),
            Some(("metrics", metric)) => SortKey::Metric {
                key: metric.to_owned(),
                dataset_name: ob.dataset_name.clone().filter(|s| !s.is_empty()),
                dataset_digest: ob.dataset_digest.clone().filter(|s| !s.is_empty()),
            },
            Some(_) => {
                return Err(Error::InvalidRequest(format!(
                    "Invalid order by field name: {field}. Only metrics are supported."
                )));
            }
        };
        out.push((key, ob.ascending));
    }
    let has = |out: &[(SortKey, bool)], attr: Attr| {
        out.iter()
            .any(|(k, _)| matches!(k, SortKey::Attr(a) if *a == attr))
    };
    if !has(&out, Attr::Created) {
        out.push((SortKey::Attr(Attr::Created), false));
    }
    if !has(&out, Attr::ModelId) {
        out.push((SortKey::Attr(Attr::ModelId), true));
    }
    Ok(out)
}

/// A sort value: `None` sorts last.
#[derive(Clone, Debug, PartialEq, PartialOrd)]
enum SortValue {
    Int(i64),
    Float(f64),
    Text(String),
}

/// The latest value of a metric (latest timestamp, then highest step, then
/// smallest run id), among the points on the given dataset.
fn latest_metric(
    metrics: &[ModelMetric],
    key: &str,
    dataset_name: Option<&str>,
    dataset_digest: Option<&str>,
) -> Option<f64> {
    metrics
        .iter()
        .filter(|m| {
            m.key == key
                && dataset_name.is_none_or(|n| m.dataset_name.as_deref() == Some(n))
                && dataset_digest.is_none_or(|d| m.dataset_digest.as_deref() == Some(d))
        })
        .min_by(|a, b| {
            b.timestamp
                .cmp(&a.timestamp)
                .then(b.step.cmp(&a.step))
                .then(a.run_id.cmp(&b.run_id))
        })
        .map(|m| m.value)
}

fn value(m: &LoggedModel, key: &SortKey) -> Option<SortValue> {
    match key {
        SortKey::Attr(a) => match attr_integer(m, *a) {
            Some(i) => Some(SortValue::Int(i)),
            None => attr_text(m, *a).map(SortValue::Text),
        },
        SortKey::Metric {
            key,
            dataset_name,
            dataset_digest,
        } => latest_metric(
            &m.metrics,
            key,
            dataset_name.as_deref(),
            dataset_digest.as_deref(),
        )
        .map(SortValue::Float),
    }
}

/// Compares two models by `order`.
pub(crate) fn compare(order: &[(SortKey, bool)], a: &LoggedModel, b: &LoggedModel) -> Ordering {
    for (key, ascending) in order {
        let o = match (value(a, key), value(b, key)) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(x), Some(y)) => {
                directed(x.partial_cmp(&y).unwrap_or(Ordering::Equal), *ascending)
            }
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}
