//! MLflow 3's logged models: `logged-models` create, get, finalize (PATCH),
//! delete, search, params, tags, and their artifact listing and files.

use axum::extract::{Path as UrlPath, RawQuery, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::AppState;
use super::artifacts::{list_dir, send_file};
use super::error::{ApiError, ApiResult};
use super::experiments::{Empty, experiment_id};
use super::files::join;
use super::request::{blocking, json, one_or_many, parse, required, required_str};
use super::runs::run_id;
use crate::engine::{LoggedModelStatus, NewLoggedModel};
use crate::mlflow::{
    self, KeyValue, ListArtifactsResponse, LoggedModelData, LoggedModelInfo, LoggedModelResponse,
    SearchLoggedModelsResponse, de_opt_i64, de_opt_text,
};
use crate::search::{DatasetFilter, LoggedModelOrder, LoggedModelSearch, search_logged_models};

/// A logged model as MLflow's message, its location as the server presents it.
pub(crate) fn model_out(state: &AppState, m: &crate::engine::LoggedModel) -> mlflow::LoggedModel {
    mlflow::LoggedModel {
        info: LoggedModelInfo {
            model_id: m.model_id.clone(),
            experiment_id: m.experiment_id.to_string(),
            name: m.name.clone(),
            creation_timestamp_ms: m.creation_timestamp_ms,
            last_updated_timestamp_ms: m.last_updated_timestamp_ms,
            artifact_uri: state.artifacts.present(&m.artifact_location),
            status: m.status.wire_name().to_owned(),
            model_type: m.model_type.clone().filter(|t| !t.is_empty()),
            source_run_id: m.source_run_id.map(|r| r.to_string()),
            status_message: m.status_message.clone(),
            tags: pairs(&m.tags),
        },
        data: LoggedModelData {
            params: pairs(&m.params),
            metrics: m
                .metrics
                .iter()
                .map(|x| mlflow::Metric {
                    key: x.key.clone(),
                    value: x.value,
                    timestamp: x.timestamp,
                    step: x.step,
                    dataset_name: x.dataset_name.clone(),
                    dataset_digest: x.dataset_digest.clone(),
                    model_id: Some(m.model_id.clone()),
                    run_id: Some(x.run_id.to_string()),
                })
                .collect(),
        },
    }
}

fn pairs(map: &std::collections::BTreeMap<String, String>) -> Vec<KeyValue> {
    map.iter()
        .map(|(k, v)| KeyValue {
            key: k.clone(),
            value: v.clone(),
        })
        .collect()
}

fn kv(list: Vec<KeyValue>) -> Vec<(String, String)> {
    list.into_iter().map(|p| (p.key, p.value)).collect()
}

#[derive(Deserialize)]
pub(crate) struct Create {
    #[serde(default)]
    experiment_id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    model_type: Option<String>,
    #[serde(default)]
    source_run_id: Option<String>,
    #[serde(default)]
    params: Vec<KeyValue>,
    #[serde(default)]
    tags: Vec<KeyValue>,
}

pub(crate) fn create(state: &AppState, req: Create) -> ApiResult<LoggedModelResponse> {
    let experiment = experiment_id(required(&req.experiment_id, "experiment_id")?)?;
    let source_run_id = match req.source_run_id.as_deref().filter(|s| !s.is_empty()) {
        Some(id) => Some(run_id(id)?),
        None => None,
    };
    let model = state.store.create_logged_model(NewLoggedModel {
        experiment,
        name: req.name.filter(|n| !n.is_empty()),
        model_type: req.model_type.filter(|t| !t.is_empty()),
        source_run_id,
        params: kv(req.params),
        tags: kv(req.tags),
    })?;
    Ok(LoggedModelResponse {
        model: model_out(state, &model),
    })
}

/// A request naming a model in its path (its body may repeat it).
#[derive(Deserialize, Default)]
pub(crate) struct ModelBody {
    #[serde(default, deserialize_with = "de_opt_text")]
    status: Option<String>,
    #[serde(default)]
    params: Vec<KeyValue>,
    #[serde(default)]
    tags: Vec<KeyValue>,
    #[serde(default)]
    artifact_directory_path: Option<String>,
    #[serde(default)]
    artifact_file_path: Option<String>,
}

/// Parses the body (or query) of a request on `/logged-models/{id}…`, and
/// runs `f` with the model id on the blocking pool.
async fn with_model<T: serde::Serialize + Send + 'static>(
    state: AppState,
    id: String,
    method: Method,
    query: Option<String>,
    body: axum::body::Bytes,
    f: fn(&AppState, &str, ModelBody) -> ApiResult<T>,
) -> Response {
    let req: ModelBody = match parse(&method, query.as_deref(), &body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    match blocking(move || f(&state, &id, req)).await {
        Ok(v) => json(&v),
        Err(e) => e.into_response(),
    }
}

macro_rules! model_route {
    ($name:ident, $body:ident) => {
        /// The axum handler for one `/logged-models/{model_id}…` route.
        pub(crate) async fn $name(
            State(state): State<AppState>,
            UrlPath(id): UrlPath<String>,
            method: Method,
            RawQuery(query): RawQuery,
            body: axum::body::Bytes,
        ) -> Response {
            with_model(state, id, method, query, body, $body).await
        }
    };
}

fn get_body(state: &AppState, id: &str, _: ModelBody) -> ApiResult<LoggedModelResponse> {
    Ok(LoggedModelResponse {
        model: model_out(state, &state.store.get_logged_model(id)?),
    })
}

fn finalize_body(state: &AppState, id: &str, req: ModelBody) -> ApiResult<LoggedModelResponse> {
    let status = required(&req.status, "status")?;
    let status: LoggedModelStatus = match status {
        "0" => LoggedModelStatus::Unspecified,
        "1" => LoggedModelStatus::Pending,
        "2" => LoggedModelStatus::Ready,
        "3" => LoggedModelStatus::UploadFailed,
        name => name.parse()?,
    };
    Ok(LoggedModelResponse {
        model: model_out(state, &state.store.finalize_logged_model(id, status)?),
    })
}

fn delete_body(state: &AppState, id: &str, _: ModelBody) -> ApiResult<Empty> {
    state.store.delete_logged_model(id)?;
    Ok(Empty {})
}

fn params_body(state: &AppState, id: &str, req: ModelBody) -> ApiResult<Empty> {
    state.store.log_logged_model_params(id, &kv(req.params))?;
    Ok(Empty {})
}

fn tags_body(state: &AppState, id: &str, req: ModelBody) -> ApiResult<Empty> {
    state.store.set_logged_model_tags(id, &kv(req.tags))?;
    Ok(Empty {})
}

fn list_body(state: &AppState, id: &str, req: ModelBody) -> ApiResult<ListArtifactsResponse> {
    let model = state.store.get_logged_model(id)?;
    let root = state.artifacts.present(&model.artifact_location);
    let rel = req.artifact_directory_path.unwrap_or_default();
    let files = match state.artifacts.proxy_path(&root) {
        Some(base) => list_dir(state, &join(&base, &rel))?
            .into_iter()
            .map(|f| mlflow::FileInfo {
                path: join(&rel, &f.path),
                ..f
            })
            .collect(),
        None => Vec::new(),
    };
    Ok(ListArtifactsResponse {
        root_uri: Some(root),
        files,
        next_page_token: None,
    })
}

model_route!(get, get_body);
model_route!(finalize, finalize_body);
model_route!(delete, delete_body);
model_route!(log_params, params_body);
model_route!(set_tags, tags_body);
model_route!(list_artifacts, list_body);

/// `DELETE logged-models/{model_id}/tags/{tag_key}`.
pub(crate) async fn delete_tag(
    State(state): State<AppState>,
    UrlPath((id, key)): UrlPath<(String, String)>,
) -> Response {
    match blocking(move || {
        state.store.delete_logged_model_tag(&id, &key)?;
        Ok(Empty {})
    })
    .await
    {
        Ok(v) => json(&v),
        Err(e) => e.into_response(),
    }
}

/// The UI's `logged-models/{id}/artifacts/files?artifact_file_path=`: one file.
pub(crate) async fn artifact_file(
    State(state): State<AppState>,
    UrlPath(id): UrlPath<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let req: ModelBody = match parse(&Method::GET, query.as_deref(), b"") {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let lookup = state.clone();
    let file = blocking(move || {
        let rel = req
            .artifact_file_path
            .filter(|p| !p.is_empty())
            .ok_or_else(|| {
                ApiError::new(
                    mlflow::ErrorCode::BAD_REQUEST,
                    "Request must include the \"artifact_file_path\" query parameter.",
                )
            })?;
        let model = lookup.store.get_logged_model(&id)?;
        lookup
            .artifacts
            .file_under(&model.artifact_location, &rel, "model")
    })
    .await;
    match file {
        Ok(path) => send_file(&path).await,
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
pub(crate) struct Search {
    #[serde(default, deserialize_with = "one_or_many")]
    experiment_ids: Vec<String>,
    #[serde(default)]
    filter: Option<String>,
    #[serde(default)]
    datasets: Vec<Dataset>,
    #[serde(default, deserialize_with = "de_opt_i64")]
    max_results: Option<i64>,
    #[serde(default)]
    order_by: Vec<Order>,
    #[serde(default)]
    page_token: Option<String>,
}

#[derive(Deserialize)]
struct Dataset {
    #[serde(default)]
    dataset_name: String,
    #[serde(default)]
    dataset_digest: Option<String>,
}

#[derive(Deserialize)]
struct Order {
    #[serde(default)]
    field_name: String,
    #[serde(default = "yes")]
    ascending: bool,
    #[serde(default)]
    dataset_name: Option<String>,
    #[serde(default)]
    dataset_digest: Option<String>,
}

fn yes() -> bool {
    true
}

pub(crate) fn search(state: &AppState, req: Search) -> ApiResult<SearchLoggedModelsResponse> {
    if req.experiment_ids.is_empty() {
        return Err(ApiError::missing("experiment_ids"));
    }
    let request = LoggedModelSearch {
        experiment_ids: req.experiment_ids,
        filter: req.filter.filter(|f| !f.is_empty()),
        datasets: req
            .datasets
            .into_iter()
            .map(|d| DatasetFilter {
                dataset_name: d.dataset_name,
                dataset_digest: d.dataset_digest.filter(|s| !s.is_empty()),
            })
            .collect(),
        max_results: match req.max_results {
            None | Some(0) => None,
            Some(n) => Some(usize::try_from(n).map_err(|_| {
                ApiError::invalid(format!(
                    "Invalid value {n} for parameter 'max_results' supplied"
                ))
            })?),
        },
        order_by: req
            .order_by
            .into_iter()
            .map(|o| LoggedModelOrder {
                field_name: o.field_name,
                ascending: o.ascending,
                dataset_name: o.dataset_name.filter(|s| !s.is_empty()),
                dataset_digest: o.dataset_digest.filter(|s| !s.is_empty()),
            })
            .collect(),
        page_token: req.page_token.filter(|t| !t.is_empty()),
    };
    let page = search_logged_models(&state.store, &request)?;
    Ok(SearchLoggedModelsResponse {
        models: page.models.iter().map(|m| model_out(state, m)).collect(),
        next_page_token: page.next_page_token,
    })
}

/// `runs/outputs`: the logged models a run produced.
#[derive(Deserialize)]
pub(crate) struct LogOutputs {
    #[serde(default)]
    run_id: String,
    #[serde(default)]
    models: Option<Vec<mlflow::ModelOutput>>,
}

pub(crate) fn log_outputs(state: &AppState, req: LogOutputs) -> ApiResult<Empty> {
    let id = run_id(required_str(&req.run_id, "run_id")?)?;
    let models = req.models.ok_or_else(|| ApiError::missing("models"))?;
    let outputs: Vec<_> = models
        .into_iter()
        .map(|m| crate::engine::RunModelOutput {
            model_id: m.model_id,
            step: m.step,
        })
        .collect();
    state.store.log_outputs(id, &outputs)?;
    Ok(Empty {})
}
