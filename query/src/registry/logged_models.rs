//! MLflow 3's `search_logged_models` as its SQL tracking store answers:
//! live models of the given experiments, filtered ([`super::logged_filter`])
//! and restricted to metrics on the request's datasets, ordered
//! ([`super::logged_order`]), 100 a page by default, with page tokens that
//! carry the request (experiment ids, filter, order) and refuse another.

use base64::Engine as _;
use serde_json::{Value as Json, json};

use runstore_engine::{ExperimentId, LoggedModel};

use super::logged_filter::{self, Cond};
use super::logged_order;
use crate::error::{Error, Result};

/// The page size when the request names none.
pub const DEFAULT_MAX_RESULTS_LOGGED_MODELS: usize = 100;

/// A dataset a search restricts metrics to (MLflow's `DatasetFilter`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DatasetFilter {
    /// Dataset name (required).
    pub dataset_name: String,
    /// Dataset digest; `None` for any digest.
    pub dataset_digest: Option<String>,
}

/// One `order_by` entry of a logged-model search (MLflow's `OrderBy`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedModelOrder {
    /// An attribute (`name`, `creation_timestamp`, `model_id`, …) or
    /// `metrics.KEY`.
    pub field_name: String,
    /// Ascending (MLflow's default) or descending.
    pub ascending: bool,
    /// For a metric: only values on this dataset.
    pub dataset_name: Option<String>,
    /// For a metric: only values on this dataset digest.
    pub dataset_digest: Option<String>,
}

/// A `search_logged_models` request.
#[derive(Clone, Debug, Default)]
pub struct LoggedModelSearch {
    /// Experiments to search, as MLflow's API gives them (decimal text).
    pub experiment_ids: Vec<String>,
    /// Filter string (`None` or empty: every model).
    pub filter: Option<String>,
    /// Datasets metric conditions (and, without any, the models) must be on.
    pub datasets: Vec<DatasetFilter>,
    /// Page size; `None` or 0 for 100.
    pub max_results: Option<usize>,
    /// Order.
    pub order_by: Vec<LoggedModelOrder>,
    /// Token of the page to continue from.
    pub page_token: Option<String>,
}

/// One page of logged models.
#[derive(Clone, Debug, PartialEq)]
pub struct LoggedModelsPage {
    /// The models, in order.
    pub models: Vec<LoggedModel>,
    /// Token for the next page, when there is one.
    pub next_page_token: Option<String>,
}

/// MLflow's `_parse_experiment_ids`: each id an integer (ids no experiment
/// can have are kept out, since they match nothing).
pub fn parse_experiment_ids(ids: &[String]) -> Result<Vec<ExperimentId>> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let n = runstore_engine::model_limits::parse_model_version(id).map_err(|_| {
            Error::InvalidRequest(format!(
                "Invalid experiment ID '{id}'. Experiment ID must be a valid integer."
            ))
        })?;
        if let Ok(n) = u32::try_from(n) {
            out.push(ExperimentId(n));
        }
    }
    Ok(out)
}

/// Runs `request`: checks it all, then asks `load` for the live models of
/// its experiments (e.g. [`runstore_engine::Store::logged_models`]) and
/// filters, orders and pages them.
pub fn search_logged_models<F>(request: &LoggedModelSearch, load: F) -> Result<LoggedModelsPage>
where
    F: FnOnce(&[ExperimentId]) -> std::result::Result<Vec<LoggedModel>, runstore_engine::Error>,
{
    if request.datasets.iter().any(|d| d.dataset_name.is_empty()) {
        return Err(Error::InvalidRequest(
            "`dataset_name` in the `datasets` clause must be specified.".into(),
        ));
    }
    let filter = request.filter.as_deref().filter(|f| !f.is_empty());
    let offset = match request.page_token.as_deref().filter(|t| !t.is_empty()) {
        Some(token) => check_token(token, request, filter)?,
        None => 0,
    };
    let max = request
        .max_results
        .filter(|&m| m > 0)
        .unwrap_or(DEFAULT_MAX_RESULTS_LOGGED_MODELS);
    let conds = match filter {
        Some(f) => logged_filter::parse(f)?,
        None => Vec::new(),
    };
    let order = logged_order::parse(&request.order_by)?;
    let experiments = parse_experiment_ids(&request.experiment_ids)?;
    let datasets = &request.datasets;
    let has_metric_condition = conds.iter().any(|c| matches!(c, Cond::Metric(..)));
    let mut found: Vec<LoggedModel> = load(&experiments)?
        .into_iter()
        .filter(|m| experiments.contains(&m.experiment_id))
        .filter(|m| {
            datasets.is_empty()
                || has_metric_condition
                || m.metrics
                    .iter()
                    .any(|p| logged_filter::on_datasets(p, datasets))
        })
        .filter(|m| conds.iter().all(|c| logged_filter::holds(c, m, datasets)))
        .collect();
    found.sort_by(|a, b| logged_order::compare(&order, a, b));
    let total = found.len();
    let models: Vec<LoggedModel> = found.into_iter().skip(offset).take(max).collect();
    let next_page_token =
        (offset.saturating_add(max) < total).then(|| encode_token(request, filter, offset + max));
    Ok(LoggedModelsPage {
        models,
        next_page_token,
    })
}

/// The request's `order_by` as MLflow's token holds it (`null` when empty).
fn order_json(order_by: &[LoggedModelOrder]) -> Json {
    if order_by.is_empty() {
        return Json::Null;
    }
    Json::Array(
        order_by
            .iter()
            .map(|o| {
                json!({
                    "field_name": o.field_name,
                    "ascending": o.ascending,
                    "dataset_name": o.dataset_name,
                    "dataset_digest": o.dataset_digest,
                })
            })
            .collect(),
    )
}

/// MLflow's `SearchLoggedModelsPaginationToken`: base64 of the request's
/// experiment ids, filter and order, and the offset.
fn encode_token(request: &LoggedModelSearch, filter: Option<&str>, offset: usize) -> String {
    let doc = json!({
        "experiment_ids": request.experiment_ids,
        "filter_string": filter,
        "order_by": order_json(&request.order_by),
        "offset": offset,
    });
    base64::engine::general_purpose::STANDARD.encode(doc.to_string())
}

/// Decodes a token and checks it belongs to this request; the offset.
fn check_token(token: &str, request: &LoggedModelSearch, filter: Option<&str>) -> Result<usize> {
    let invalid = |why: &str| Error::InvalidRequest(format!("Invalid page token: {token}. {why}"));
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .map_err(|e| invalid(&e.to_string()))?;
    let doc: Json = serde_json::from_slice(&bytes).map_err(|e| invalid(&e.to_string()))?;
    let ids = doc.get("experiment_ids").cloned().unwrap_or(Json::Null);
    if ids != json!(request.experiment_ids) {
        return Err(Error::InvalidRequest(format!(
            "Experiment IDs in the page token do not match the requested experiment IDs. \
             Expected: {:?}. Found: {ids}",
            request.experiment_ids
        )));
    }
    let token_filter = doc
        .get("filter_string")
        .and_then(Json::as_str)
        .filter(|s| !s.is_empty());
    if token_filter != filter {
        return Err(Error::InvalidRequest(format!(
            "Filter string in the page token does not match the requested filter string. \
             Expected: {}. Found: {}",
            filter.unwrap_or("None"),
            token_filter.unwrap_or("None")
        )));
    }
    let token_order = match doc.get("order_by") {
        Some(Json::Array(a)) if !a.is_empty() => Json::Array(a.clone()),
        _ => Json::Null,
    };
    let order = order_json(&request.order_by);
    if token_order != order {
        return Err(Error::InvalidRequest(format!(
            "Order by in the page token does not match the requested order by. Expected: \
             {order}. Found: {token_order}"
        )));
    }
    let offset = doc.get("offset").and_then(Json::as_u64).unwrap_or(0);
    usize::try_from(offset).map_err(|_| invalid("offset out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use runstore_engine::{LifecycleStage, LoggedModelStatus, ModelMetric, RunId};
    use std::collections::BTreeMap;

    fn model(id: &str, created: i64, acc: &[(f64, i64, Option<&str>)]) -> LoggedModel {
        LoggedModel {
            model_id: id.into(),
            experiment_id: ExperimentId(1),
            name: format!("n-{id}"),
            artifact_location: String::new(),
            creation_timestamp_ms: created,
            last_updated_timestamp_ms: created,
            status: LoggedModelStatus::Ready,
            status_message: None,
            model_type: (id == "m-b").then(|| "agent".to_owned()),
            source_run_id: None,
            params: BTreeMap::from([("lr".to_owned(), format!("0.{created}"))]),
            tags: BTreeMap::new(),
            metrics: acc
                .iter()
                .map(|&(value, timestamp, ds)| ModelMetric {
                    key: "acc".into(),
                    value,
                    timestamp,
                    step: 0,
                    run_id: RunId::from_u128(1),
                    dataset_name: ds.map(str::to_owned),
                    dataset_digest: None,
                })
                .collect(),
            lifecycle_stage: LifecycleStage::Active,
        }
    }

    fn all() -> Vec<LoggedModel> {
        vec![
            model("m-a", 1, &[(0.5, 1, None), (0.9, 2, Some("val"))]),
            model("m-b", 2, &[(0.7, 1, Some("val"))]),
            model("m-c", 3, &[]),
        ]
    }

    fn ids(req: &LoggedModelSearch) -> Vec<String> {
        search_logged_models(req, |_| Ok(all()))
            .unwrap_or_else(|e| panic!("{req:?}: {e}"))
            .models
            .into_iter()
            .map(|m| m.model_id)
            .collect()
    }

    fn req(filter: &str) -> LoggedModelSearch {
        LoggedModelSearch {
            experiment_ids: vec!["1".into()],
            filter: Some(filter.into()),
            ..LoggedModelSearch::default()
        }
    }

    #[test]
    fn filters_orders_and_datasets() {
        assert_eq!(ids(&req("")), ["m-c", "m-b", "m-a"]);
        assert_eq!(ids(&req("metrics.acc > 0.8")), ["m-a"]);
        assert_eq!(ids(&req("metrics.acc < 0.6")), ["m-a"]);
        assert_eq!(ids(&req("model_type = 'agent'")), ["m-b"]);
        assert_eq!(ids(&req("model_type != 'agent'")), Vec::<String>::new());
        assert_eq!(ids(&req("params.lr IN ('0.1', '0.3')")), ["m-c", "m-a"]);
        assert_eq!(
            ids(&req("status = 'READY' AND creation_time >= 2")),
            ["m-c", "m-b"]
        );
        let mut r = req("metrics.acc < 0.6");
        r.datasets = vec![DatasetFilter {
            dataset_name: "val".into(),
            dataset_digest: None,
        }];
        assert_eq!(ids(&r), Vec::<String>::new());
        r.filter = None;
        assert_eq!(ids(&r), ["m-b", "m-a"]);
        let mut r = req("");
        r.order_by = vec![LoggedModelOrder {
            field_name: "metrics.acc".into(),
            ascending: true,
            dataset_name: None,
            dataset_digest: None,
        }];
        // m-a's latest acc is 0.9 (timestamp 2); m-c has none: last.
        assert_eq!(ids(&r), ["m-b", "m-a", "m-c"]);
        r.order_by[0].ascending = false;
        assert_eq!(ids(&r), ["m-a", "m-b", "m-c"]);
        r.order_by[0].field_name = "params.lr".into();
        assert!(search_logged_models(&r, |_| Ok(all())).is_err());
    }

    #[test]
    fn tokens_carry_the_request() {
        let mut r = req("");
        r.max_results = Some(2);
        let first = search_logged_models(&r, |_| Ok(all())).unwrap();
        assert_eq!(first.models.len(), 2);
        let token = first.next_page_token.clone().unwrap();
        r.page_token = Some(token.clone());
        let second = search_logged_models(&r, |_| Ok(all())).unwrap();
        assert_eq!(second.models.len(), 1);
        assert_eq!(second.next_page_token, None);
        let mut other = req("name = 'x'");
        other.page_token = Some(token);
        assert!(search_logged_models(&other, |_| Ok(all())).is_err());
        let mut bad = req("");
        bad.page_token = Some("%%%".into());
        assert!(search_logged_models(&bad, |_| Ok(all())).is_err());
        assert!(parse_experiment_ids(&["x".into()]).is_err());
    }
}
