//! `runs/search` (answers identical to `runstore search`: one engine, one
//! planner) and `experiments/search-datasets`.

use std::collections::BTreeSet;

use serde::Deserialize;

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::experiments::{page_size, view_type};
use super::request::one_or_many;
use super::runs::runs_out;
use crate::engine::ViewType;
use crate::mlflow::{DatasetSummary, SearchDatasetsResponse, SearchRuns, SearchRunsResponse};
use crate::search::{DEFAULT_MAX_RESULTS, MAX_MAX_RESULTS, SearchRequest, search};

/// Experiment ids as the engine takes them: an id that is not a number
/// names no experiment, so it matches no run (as in MLflow).
fn experiment_ids(ids: &[String]) -> Vec<u32> {
    ids.iter().filter_map(|id| id.trim().parse().ok()).collect()
}

pub(crate) fn runs(state: &AppState, req: SearchRuns) -> ApiResult<SearchRunsResponse> {
    let ids = experiment_ids(&req.experiment_ids);
    if !req.experiment_ids.is_empty() && ids.is_empty() {
        // Only ids that name nothing: MLflow finds no runs.
        return Ok(SearchRunsResponse::default());
    }
    let request = SearchRequest {
        filter: req.filter.unwrap_or_default(),
        order_by: req.order_by,
        experiments: Vec::new(),
        experiment_ids: ids,
        max_results: page_size(
            req.max_results,
            DEFAULT_MAX_RESULTS,
            MAX_MAX_RESULTS,
            "max_results",
        )?,
        page_token: req.page_token.filter(|t| !t.is_empty()),
        view: view_type(req.run_view_type.as_deref())?,
        ..SearchRequest::default()
    };
    let page = search(&state.store, &request)?;
    Ok(SearchRunsResponse {
        runs: runs_out(state, &page.runs)?,
        next_page_token: page.next_page_token,
    })
}

/// `experiments/search-datasets`.
#[derive(Deserialize)]
pub(crate) struct SearchDatasets {
    #[serde(default, deserialize_with = "one_or_many")]
    experiment_ids: Vec<String>,
}

/// MLflow returns at most this many dataset summaries.
const MAX_DATASET_SUMMARIES: usize = 1000;
/// MLflow's limit on experiments per request.
const MAX_EXPERIMENT_IDS: usize = 20;

pub(crate) fn datasets(state: &AppState, req: SearchDatasets) -> ApiResult<SearchDatasetsResponse> {
    if req.experiment_ids.is_empty() {
        return Err(ApiError::invalid(
            "SearchDatasets request must specify at least one experiment_id.",
        ));
    }
    if req.experiment_ids.len() > MAX_EXPERIMENT_IDS {
        return Err(ApiError::invalid(format!(
            "SearchDatasets request cannot specify more than {MAX_EXPERIMENT_IDS} experiment_ids. \
             Received {} experiment_ids.",
            req.experiment_ids.len()
        )));
    }
    let ids = experiment_ids(&req.experiment_ids);
    let mut seen: BTreeSet<(u32, String, String, Option<String>)> = BTreeSet::new();
    if !ids.is_empty() {
        let mut request = SearchRequest {
            experiment_ids: ids,
            max_results: MAX_MAX_RESULTS,
            view: ViewType::All,
            ..SearchRequest::default()
        };
        'pages: loop {
            let page = search(&state.store, &request)?;
            for run in &page.runs {
                for input in &run.inputs {
                    seen.insert((
                        run.experiment_id.0,
                        input.name.clone(),
                        input.digest.clone(),
                        input.context.clone(),
                    ));
                    if seen.len() >= MAX_DATASET_SUMMARIES {
                        break 'pages;
                    }
                }
            }
            match page.next_page_token {
                Some(token) => request.page_token = Some(token),
                None => break,
            }
        }
    }
    Ok(SearchDatasetsResponse {
        dataset_summaries: seen
            .into_iter()
            .map(|(exp, name, digest, context)| DatasetSummary {
                experiment_id: exp.to_string(),
                name,
                digest,
                context,
            })
            .collect(),
    })
}
