//! `metrics/get-history` (paged as MLflow's SQL store pages it) and
//! `metrics/get-history-bulk-interval` (MLflow's per-run sampling).

use base64::Engine as _;
use serde::Deserialize;

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::request::{one_or_many, required};
use super::runs::run_id;
use crate::engine::{MetricPoint, RunId};
use crate::mlflow::{
    BulkIntervalResponse, Metric, MetricHistoryResponse, MetricWithRunId, de_opt_i64,
};

#[derive(Deserialize)]
pub(crate) struct GetHistory {
    #[serde(default)]
    run_id: Option<String>,
    #[serde(default)]
    run_uuid: Option<String>,
    #[serde(default)]
    metric_key: Option<String>,
    #[serde(default)]
    page_token: Option<String>,
    #[serde(default, deserialize_with = "de_opt_i64")]
    max_results: Option<i64>,
}

/// MLflow's SQL order for a point: NaN sorts as the 0 it is stored as
/// (with its `is_nan` flag after the value).
fn sql_key(p: &MetricPoint) -> (i64, i64, f64, bool) {
    let nan = p.value.is_nan();
    (p.timestamp, p.step, if nan { 0.0 } else { p.value }, nan)
}

fn by_sql_order(a: &MetricPoint, b: &MetricPoint) -> std::cmp::Ordering {
    let (ka, kb) = (sql_key(a), sql_key(b));
    ka.0.cmp(&kb.0)
        .then(ka.1.cmp(&kb.1))
        .then(ka.2.total_cmp(&kb.2))
        .then(ka.3.cmp(&kb.3))
}

/// MLflow's offset page token: base64 of `{"offset": N}`.
fn page_token(offset: usize) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{{\"offset\": {offset}}}"))
}

fn page_offset(token: Option<&str>) -> ApiResult<usize> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Ok(0);
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token)
        .map_err(|_| ApiError::invalid("Invalid page token, could not base64-decode"))?;
    let parsed: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| {
        ApiError::invalid(format!(
            "Invalid page token, decoded value={}",
            String::from_utf8_lossy(&bytes)
        ))
    })?;
    parsed
        .get("offset")
        .and_then(serde_json::Value::as_u64)
        .and_then(|o| usize::try_from(o).ok())
        .ok_or_else(|| ApiError::invalid("Invalid page token, parsed value=offset missing"))
}

fn metric(key: &str, p: &MetricPoint) -> Metric {
    Metric {
        key: key.to_owned(),
        value: p.value,
        timestamp: p.timestamp,
        step: p.step,
        ..Metric::default()
    }
}

/// A run's history of `key`, after checking the run exists.
fn history(state: &AppState, id: RunId, key: &str) -> ApiResult<Vec<MetricPoint>> {
    state.store.get_run(id)?;
    Ok(state.store.metric_history(id, key)?)
}

pub(crate) fn get(state: &AppState, req: GetHistory) -> ApiResult<MetricHistoryResponse> {
    let id = match (req.run_id.as_deref(), req.run_uuid.as_deref()) {
        (Some(id), _) if !id.is_empty() => id,
        (_, Some(id)) if !id.is_empty() => id,
        _ => return Err(ApiError::missing("run_id")),
    };
    let id = run_id(id)?;
    let key = required(&req.metric_key, "metric_key")?;
    if let Some(n) = req.max_results
        && n <= 0
    {
        return Err(ApiError::invalid(format!(
            "Invalid value {n} for parameter 'max_results' supplied. It must be a positive integer."
        )));
    }
    let offset = page_offset(req.page_token.as_deref())?;
    let mut points = history(state, id, key)?;
    points.sort_by(by_sql_order);
    let rest = points.get(offset..).unwrap_or(&[]);
    let (page, next) = match req.max_results {
        Some(n) => {
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            if rest.len() > n {
                (&rest[..n], Some(page_token(offset + n)))
            } else {
                (rest, None)
            }
        }
        None => (rest, None),
    };
    Ok(MetricHistoryResponse {
        metrics: page.iter().map(|p| metric(key, p)).collect(),
        next_page_token: next,
    })
}

#[derive(Deserialize)]
pub(crate) struct BulkInterval {
    #[serde(default, deserialize_with = "one_or_many")]
    run_ids: Vec<String>,
    #[serde(default)]
    metric_key: Option<String>,
    #[serde(default, deserialize_with = "de_opt_i64")]
    start_step: Option<i64>,
    #[serde(default, deserialize_with = "de_opt_i64")]
    end_step: Option<i64>,
    #[serde(default, deserialize_with = "de_opt_i64")]
    max_results: Option<i64>,
}

/// Most runs in one bulk request, and most points a run (MLflow's limits).
const MAX_RUNS: usize = 100;
const MAX_RESULTS_PER_RUN: i64 = 2500;

pub(crate) fn bulk_interval(
    state: &AppState,
    req: BulkInterval,
) -> ApiResult<BulkIntervalResponse> {
    if req.run_ids.is_empty() {
        return Err(ApiError::missing("run_ids"));
    }
    if req.run_ids.len() > MAX_RUNS {
        return Err(ApiError::invalid(format!(
            "GetMetricHistoryBulkInterval request must specify at most {MAX_RUNS} run_ids. \
             Received {} run_ids.",
            req.run_ids.len()
        )));
    }
    let key = required(&req.metric_key, "metric_key")?;
    let max_results = req.max_results.unwrap_or(MAX_RESULTS_PER_RUN);
    if !(1..=MAX_RESULTS_PER_RUN).contains(&max_results) {
        return Err(ApiError::invalid(format!(
            "max_results must be between 1 and {MAX_RESULTS_PER_RUN}."
        )));
    }
    let range = match (req.start_step, req.end_step) {
        (Some(s), Some(e)) if s > e => {
            return Err(ApiError::invalid(format!(
                "end_step must be greater than start_step. Found start_step={s} and end_step={e}."
            )));
        }
        (Some(s), Some(e)) => Some((s, e)),
        (None, None) => None,
        _ => {
            return Err(ApiError::invalid(
                "If either start step or end step are specified, both must be specified.",
            ));
        }
    };
    let ids: Vec<RunId> = req
        .run_ids
        .iter()
        .map(|id| run_id(id))
        .collect::<ApiResult<_>>()?;
    for id in &ids {
        state.store.get_run(*id)?;
    }
    let mut out = Vec::new();
    for (id, text) in ids.iter().zip(&req.run_ids) {
        let mut points = state.store.metric_history(*id, key)?;
        if let Some((s, e)) = range {
            points.retain(|p| p.step >= s && p.step <= e);
        }
        for p in sample(points, max_results as usize) {
            out.push(MetricWithRunId {
                key: key.to_owned(),
                value: p.value,
                timestamp: p.timestamp,
                step: p.step,
                run_id: text.clone(),
            });
        }
    }
    Ok(BulkIntervalResponse { metrics: out })
}

/// MLflow's sampling of one run (its SQL store's window functions): order
/// the points by step, timestamp, value; cut them into `n` NTILE buckets
/// and keep each bucket's first point; keep the last point too (replacing
/// the last sample when there are already `n`).
fn sample(mut points: Vec<MetricPoint>, n: usize) -> Vec<MetricPoint> {
    let key = |p: &MetricPoint| {
        let nan = p.value.is_nan();
        (p.step, p.timestamp, if nan { 0.0 } else { p.value }, nan)
    };
    points.sort_by(|a, b| {
        let (ka, kb) = (key(a), key(b));
        ka.0.cmp(&kb.0)
            .then(ka.1.cmp(&kb.1))
            .then(ka.2.total_cmp(&kb.2))
            .then(ka.3.cmp(&kb.3))
    });
    let total = points.len();
    if total == 0 {
        return points;
    }
    let n = n.max(1);
    let mut rows: Vec<MetricPoint> = if total <= n {
        points.clone()
    } else {
        // NTILE(n): the first total % n buckets hold one row more.
        let (q, r) = (total / n, total % n);
        (0..n)
            .map(|k| {
                let start = if k < r {
                    k * (q + 1)
                } else {
                    r * (q + 1) + (k - r) * q
                };
                points[start]
            })
            .collect()
    };
    let last = points[total - 1];
    let same = |a: &MetricPoint, b: &MetricPoint| {
        a.step == b.step
            && a.timestamp == b.timestamp
            && (a.value == b.value || (a.value.is_nan() && b.value.is_nan()))
    };
    if rows.last().is_none_or(|l| !same(l, &last)) {
        if rows.len() >= n {
            if let Some(l) = rows.last_mut() {
                *l = last;
            }
        } else {
            rows.push(last);
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(steps: impl IntoIterator<Item = i64>) -> Vec<MetricPoint> {
        steps
            .into_iter()
            .map(|s| MetricPoint {
                step: s,
                value: s as f64,
                timestamp: 1,
            })
            .collect()
    }

    #[test]
    fn sampling_keeps_bucket_starts_and_the_last_point() {
        let steps = |v: Vec<MetricPoint>| v.iter().map(|p| p.step).collect::<Vec<_>>();
        // 10 rows, 4 buckets of 3,3,2,2: firsts 0,3,6,8; last (9) replaces 8.
        assert_eq!(steps(sample(pts(0..10), 4)), vec![0, 3, 6, 9]);
        assert_eq!(steps(sample(pts(0..3), 5)), vec![0, 1, 2]);
        assert_eq!(steps(sample(pts(0..5), 1)), vec![4]);
        assert!(sample(Vec::new(), 3).is_empty());
    }

    #[test]
    fn page_tokens_are_mlflows() {
        let t = page_token(3);
        assert_eq!(t, "eyJvZmZzZXQiOiAzfQ==");
        assert_eq!(page_offset(Some(&t)).unwrap(), 3);
        assert!(page_offset(Some("%%%")).is_err());
    }
}
