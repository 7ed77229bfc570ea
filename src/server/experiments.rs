//! `experiments/*`: create, get, get-by-name, search, update, delete,
//! restore, set-experiment-tag, delete-experiment-tag.

use serde::Deserialize;

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::request::{one_or_many, required, required_str};
use crate::engine::{ExperimentId, ViewType};
use crate::mlflow::{
    self, CreateExperiment, CreateExperimentResponse, ExperimentRef, ExperimentTagRequest,
    GetExperimentResponse, SearchExperimentsResponse, UpdateExperiment, de_opt_i64, de_opt_text,
};
use crate::search::{DEFAULT_MAX_RESULTS, ExperimentSearch, search_experiments};

/// An empty reply (`{}`).
#[derive(serde::Serialize, Default)]
pub(crate) struct Empty {}

/// Parses an experiment id; MLflow answers an id that names no experiment
/// (a non-number included) with RESOURCE_DOES_NOT_EXIST.
pub(crate) fn experiment_id(id: &str) -> ApiResult<ExperimentId> {
    id.trim()
        .parse::<u32>()
        .map(ExperimentId)
        .map_err(|_| ApiError::not_found(format!("No Experiment with id={id} exists")))
}

/// An experiment as MLflow's message, its artifact location as the server
/// presents it (proxied locations as `mlflow-artifacts:/…`).
pub(crate) fn experiment_out(
    state: &AppState,
    e: &crate::engine::Experiment,
) -> mlflow::Experiment {
    let mut m = mlflow::experiment_message(e);
    m.artifact_location = state.artifacts.present(&m.artifact_location);
    m
}

pub(crate) fn create(
    state: &AppState,
    req: CreateExperiment,
) -> ApiResult<CreateExperimentResponse> {
    let name = required_str(&req.name, "name")?;
    let tags: Vec<(String, String)> = req.tags.into_iter().map(|t| (t.key, t.value)).collect();
    let location = req.artifact_location.filter(|l| !l.is_empty());
    let id = state
        .store
        .create_experiment(name, location.as_deref(), &tags)?;
    Ok(CreateExperimentResponse {
        experiment_id: id.to_string(),
    })
}

#[derive(Deserialize)]
pub(crate) struct GetExperiment {
    #[serde(default)]
    experiment_id: Option<String>,
}

pub(crate) fn get(state: &AppState, req: GetExperiment) -> ApiResult<GetExperimentResponse> {
    let id = experiment_id(required(&req.experiment_id, "experiment_id")?)?;
    let e = state.store.get_experiment(id)?;
    Ok(GetExperimentResponse {
        experiment: experiment_out(state, &e),
    })
}

#[derive(Deserialize)]
pub(crate) struct GetByName {
    #[serde(default)]
    experiment_name: Option<String>,
}

pub(crate) fn get_by_name(state: &AppState, req: GetByName) -> ApiResult<GetExperimentResponse> {
    let name = required(&req.experiment_name, "experiment_name")?;
    match state.store.experiment_by_name(name)? {
        Some(e) => Ok(GetExperimentResponse {
            experiment: experiment_out(state, &e),
        }),
        None => Err(ApiError::not_found(format!(
            "Could not find experiment with name '{name}'"
        ))),
    }
}

/// `experiments/search` (POST body or GET query).
#[derive(Deserialize)]
pub(crate) struct SearchExperiments {
    #[serde(default, deserialize_with = "de_opt_i64")]
    max_results: Option<i64>,
    #[serde(default)]
    page_token: Option<String>,
    #[serde(default)]
    filter: Option<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    order_by: Vec<String>,
    #[serde(default, deserialize_with = "de_opt_text")]
    view_type: Option<String>,
}

/// MLflow's `ViewType` from its name or number (absent: active only).
pub(crate) fn view_type(v: Option<&str>) -> ApiResult<ViewType> {
    match v.unwrap_or("") {
        "" | "1" | "ACTIVE_ONLY" => Ok(ViewType::ActiveOnly),
        "2" | "DELETED_ONLY" => Ok(ViewType::DeletedOnly),
        "3" | "ALL" => Ok(ViewType::All),
        other => Err(ApiError::invalid(format!(
            "Invalid value \"{other}\" for parameter 'view_type' supplied: expected ACTIVE_ONLY, \
             DELETED_ONLY or ALL"
        ))),
    }
}

/// A page size in `1..=max`, `default` when absent.
pub(crate) fn page_size(
    v: Option<i64>,
    default: usize,
    max: usize,
    field: &str,
) -> ApiResult<usize> {
    match v {
        None => Ok(default),
        Some(n) if n >= 1 && usize::try_from(n).is_ok_and(|n| n <= max) => Ok(n as usize),
        Some(n) => Err(ApiError::invalid(format!(
            "Invalid value {n} for parameter '{field}' supplied. It must be at most {max}, and \
             at least 1."
        ))),
    }
}

pub(crate) fn search(
    state: &AppState,
    req: SearchExperiments,
) -> ApiResult<SearchExperimentsResponse> {
    let request = ExperimentSearch {
        view: view_type(req.view_type.as_deref())?,
        filter: req.filter.unwrap_or_default(),
        order_by: req.order_by,
        max_results: page_size(req.max_results, DEFAULT_MAX_RESULTS, 50_000, "max_results")?,
        page_token: req.page_token.filter(|t| !t.is_empty()),
    };
    let page = search_experiments(&state.store, &request)?;
    Ok(SearchExperimentsResponse {
        experiments: page
            .experiments
            .iter()
            .map(|e| experiment_out(state, e))
            .collect(),
        next_page_token: page.next_page_token,
    })
}

pub(crate) fn update(state: &AppState, req: UpdateExperiment) -> ApiResult<Empty> {
    let id = experiment_id(required_str(&req.experiment_id, "experiment_id")?)?;
    let new_name = required(&req.new_name, "new_name")?;
    // MLflow's SQL store answers a taken name with BAD_REQUEST (its
    // integrity error), not RESOURCE_ALREADY_EXISTS as create does.
    state.store.rename_experiment(id, new_name).map_err(|e| {
        let e = ApiError::from(e);
        if e.code == crate::mlflow::ErrorCode::RESOURCE_ALREADY_EXISTS {
            ApiError::new(crate::mlflow::ErrorCode::BAD_REQUEST, e.message)
        } else {
            e
        }
    })?;
    Ok(Empty {})
}

pub(crate) fn delete(state: &AppState, req: ExperimentRef) -> ApiResult<Empty> {
    let id = experiment_id(required_str(&req.experiment_id, "experiment_id")?)?;
    state.store.delete_experiment(id)?;
    Ok(Empty {})
}

pub(crate) fn restore(state: &AppState, req: ExperimentRef) -> ApiResult<Empty> {
    let id = experiment_id(required_str(&req.experiment_id, "experiment_id")?)?;
    state.store.restore_experiment(id)?;
    Ok(Empty {})
}

pub(crate) fn set_tag(state: &AppState, req: ExperimentTagRequest) -> ApiResult<Empty> {
    let id = experiment_id(required_str(&req.experiment_id, "experiment_id")?)?;
    let key = required_str(&req.key, "key")?;
    state
        .store
        .set_experiment_tag(id, key, req.value.as_deref().unwrap_or(""))?;
    Ok(Empty {})
}

pub(crate) fn delete_tag(state: &AppState, req: ExperimentTagRequest) -> ApiResult<Empty> {
    let id = experiment_id(required_str(&req.experiment_id, "experiment_id")?)?;
    let key = required_str(&req.key, "key")?;
    state.store.delete_experiment_tag(id, key)?;
    Ok(Empty {})
}
