//! The model registry: `registered-models/*` and `model-versions/*`
//! (create, get, rename, update, delete, search, tags, aliases, stages,
//! download URIs), so `models:/name/3`, `models:/name@alias` and
//! `models:/name/latest` resolve.

use serde::Deserialize;

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::experiments::{Empty, page_size};
use super::request::{one_or_many, required};
use crate::engine::NewModelVersion;
use crate::mlflow::{
    self, Alias, KeyValue, ModelVersionResponse, ModelVersionsResponse, RegisteredModelResponse,
    SearchRegisteredModelsResponse, de_opt_i64,
};
use crate::search::{
    ModelVersionSearch, RegisteredModelSearch, search_model_versions, search_registered_models,
};

/// The logged model tag MLflow lists a model's registered versions in.
const MODEL_VERSIONS_TAG: &str = "mlflow.modelVersions";

fn pairs(map: &std::collections::BTreeMap<String, String>) -> Vec<KeyValue> {
    map.iter()
        .map(|(k, v)| KeyValue {
            key: k.clone(),
            value: v.clone(),
        })
        .collect()
}

/// A model version as MLflow's message.
pub(crate) fn version_out(v: &crate::engine::ModelVersion) -> mlflow::ModelVersion {
    mlflow::ModelVersion {
        name: v.name.clone(),
        version: v.version.to_string(),
        creation_timestamp: v.creation_timestamp,
        last_updated_timestamp: v.last_updated_timestamp,
        user_id: v.user_id.clone(),
        current_stage: v.current_stage.as_str().to_owned(),
        // MLflow's SQL store keeps an absent description as "" and prints it.
        description: Some(v.description.clone().unwrap_or_default()),
        source: v.source.clone(),
        run_id: v.run_id.clone().filter(|r| !r.is_empty()),
        status: v.status.clone(),
        status_message: v.status_message.clone(),
        tags: pairs(&v.tags),
        run_link: Some(v.run_link.clone().unwrap_or_default()),
        aliases: v.aliases.clone(),
        model_id: None,
    }
}

/// A registered model as MLflow's message.
pub(crate) fn model_out(m: &crate::engine::RegisteredModel) -> mlflow::RegisteredModel {
    mlflow::RegisteredModel {
        name: m.name.clone(),
        creation_timestamp: m.creation_timestamp,
        last_updated_timestamp: m.last_updated_timestamp,
        description: m.description.clone(),
        latest_versions: m.latest_versions.iter().map(version_out).collect(),
        tags: pairs(&m.tags),
        aliases: m
            .aliases
            .iter()
            .map(|(alias, version)| Alias {
                alias: alias.clone(),
                version: version.to_string(),
            })
            .collect(),
    }
}

/// Every registry request's fields (each route reads the ones it needs).
#[derive(Deserialize, Default)]
pub(crate) struct Req {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    new_name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    tags: Vec<KeyValue>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    version: Option<serde_json::Value>,
    #[serde(default)]
    alias: Option<String>,
    #[serde(default)]
    stage: Option<String>,
    #[serde(default)]
    archive_existing_versions: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "one_or_many")]
    stages: Vec<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    run_id: Option<String>,
    #[serde(default)]
    run_link: Option<String>,
    #[serde(default)]
    model_id: Option<String>,
    #[serde(default)]
    filter: Option<String>,
    #[serde(default, deserialize_with = "de_opt_i64")]
    max_results: Option<i64>,
    #[serde(default, deserialize_with = "one_or_many")]
    order_by: Vec<String>,
    #[serde(default)]
    page_token: Option<String>,
}

impl Req {
    fn name(&self) -> ApiResult<&str> {
        required(&self.name, "name")
    }

    /// The version as text (clients send a string; a number is accepted).
    fn version(&self) -> ApiResult<String> {
        match &self.version {
            Some(serde_json::Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            Some(serde_json::Value::Number(n)) => Ok(n.to_string()),
            _ => Err(ApiError::missing("version")),
        }
    }
}

fn tags(list: &[KeyValue]) -> Vec<(String, String)> {
    list.iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect()
}

pub(crate) fn create_model(state: &AppState, req: Req) -> ApiResult<RegisteredModelResponse> {
    let m = state.store.create_registered_model(
        req.name()?,
        &tags(&req.tags),
        req.description.as_deref(),
    )?;
    Ok(RegisteredModelResponse {
        registered_model: model_out(&m),
    })
}

pub(crate) fn get_model(state: &AppState, req: Req) -> ApiResult<RegisteredModelResponse> {
    Ok(RegisteredModelResponse {
        registered_model: model_out(&state.store.get_registered_model(req.name()?)?),
    })
}

pub(crate) fn rename_model(state: &AppState, req: Req) -> ApiResult<RegisteredModelResponse> {
    let new_name = required(&req.new_name, "new_name")?;
    Ok(RegisteredModelResponse {
        registered_model: model_out(&state.store.rename_registered_model(req.name()?, new_name)?),
    })
}

pub(crate) fn update_model(state: &AppState, req: Req) -> ApiResult<RegisteredModelResponse> {
    let m = state
        .store
        .update_registered_model(req.name()?, req.description.as_deref())?;
    Ok(RegisteredModelResponse {
        registered_model: model_out(&m),
    })
}

pub(crate) fn delete_model(state: &AppState, req: Req) -> ApiResult<Empty> {
    state.store.delete_registered_model(req.name()?)?;
    Ok(Empty {})
}

pub(crate) fn set_model_tag(state: &AppState, req: Req) -> ApiResult<Empty> {
    let key = required(&req.key, "key")?;
    state
        .store
        .set_registered_model_tag(req.name()?, key, req.value.as_deref().unwrap_or(""))?;
    Ok(Empty {})
}

pub(crate) fn delete_model_tag(state: &AppState, req: Req) -> ApiResult<Empty> {
    let key = required(&req.key, "key")?;
    state.store.delete_registered_model_tag(req.name()?, key)?;
    Ok(Empty {})
}

pub(crate) fn set_alias(state: &AppState, req: Req) -> ApiResult<Empty> {
    let alias = required(&req.alias, "alias")?;
    state
        .store
        .set_registered_model_alias(req.name()?, alias, req.version()?)?;
    Ok(Empty {})
}

pub(crate) fn delete_alias(state: &AppState, req: Req) -> ApiResult<Empty> {
    let alias = required(&req.alias, "alias")?;
    state
        .store
        .delete_registered_model_alias(req.name()?, alias)?;
    Ok(Empty {})
}

pub(crate) fn get_by_alias(state: &AppState, req: Req) -> ApiResult<ModelVersionResponse> {
    let alias = required(&req.alias, "alias")?;
    Ok(ModelVersionResponse {
        model_version: version_out(&state.store.get_model_version_by_alias(req.name()?, alias)?),
    })
}

pub(crate) fn latest_versions(state: &AppState, req: Req) -> ApiResult<ModelVersionsResponse> {
    let versions = state.store.get_latest_versions(req.name()?, &req.stages)?;
    Ok(ModelVersionsResponse {
        model_versions: versions.iter().map(version_out).collect(),
        next_page_token: None,
    })
}

/// MLflow's default and largest page of `registered-models/search`.
const REGISTERED_DEFAULT: usize = 100;
const REGISTERED_MAX: usize = 1000;
/// MLflow's default and largest page of `model-versions/search`.
const VERSIONS_DEFAULT: usize = 10_000;
const VERSIONS_MAX: usize = 200_000;

pub(crate) fn search_models(
    state: &AppState,
    req: Req,
) -> ApiResult<SearchRegisteredModelsResponse> {
    let request = RegisteredModelSearch {
        filter: req.filter.unwrap_or_default(),
        max_results: page_size(
            req.max_results,
            REGISTERED_DEFAULT,
            REGISTERED_MAX,
            "max_results",
        )?,
        order_by: req.order_by,
        page_token: req.page_token.filter(|t| !t.is_empty()),
    };
    let page = search_registered_models(&state.store, &request)?;
    Ok(SearchRegisteredModelsResponse {
        registered_models: page.registered_models.iter().map(model_out).collect(),
        next_page_token: page.next_page_token,
    })
}

pub(crate) fn search_versions(state: &AppState, req: Req) -> ApiResult<ModelVersionsResponse> {
    let request = ModelVersionSearch {
        filter: req.filter.unwrap_or_default(),
        max_results: page_size(
            req.max_results,
            VERSIONS_DEFAULT,
            VERSIONS_MAX,
            "max_results",
        )?,
        order_by: req.order_by,
        page_token: req.page_token.filter(|t| !t.is_empty()),
    };
    let page = search_model_versions(&state.store, &request)?;
    Ok(ModelVersionsResponse {
        // MLflow's SQL store answers a search without the versions' aliases
        // (only get, get-by-alias and the registered model carry them).
        model_versions: page
            .model_versions
            .iter()
            .map(|v| mlflow::ModelVersion {
                aliases: Vec::new(),
                ..version_out(v)
            })
            .collect(),
        next_page_token: page.next_page_token,
    })
}

pub(crate) fn create_version(state: &AppState, req: Req) -> ApiResult<ModelVersionResponse> {
    let name = req.name()?.to_owned();
    let source = required(&req.source, "source")?.to_owned();
    let run_id = req.run_id.clone().filter(|r| !r.is_empty());
    let model_id = req.model_id.clone().filter(|m| !m.is_empty());
    let (source, run_id, model_id) = super::sources::check(state, &source, run_id, model_id)?;
    let v = state.store.create_model_version(NewModelVersion {
        name: name.clone(),
        source,
        run_id,
        tags: tags(&req.tags),
        run_link: req.run_link.clone().filter(|l| !l.is_empty()),
        description: req.description.clone(),
        model_id: model_id.clone(),
    })?;
    if let Some(model_id) = &model_id {
        record_registration(state, model_id, &name, v.version)?;
    }
    Ok(ModelVersionResponse {
        model_version: version_out(&v),
    })
}

/// MLflow's `set_model_versions_tags`: the logged model's
/// `mlflow.modelVersions` tag lists the versions registered from it.
fn record_registration(
    state: &AppState,
    model_id: &str,
    name: &str,
    version: u64,
) -> ApiResult<()> {
    let model = state.store.get_logged_model(model_id)?;
    let entry = serde_json::json!({"name": name, "version": version});
    let mut list: Vec<serde_json::Value> = model
        .tags
        .get(MODEL_VERSIONS_TAG)
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default();
    if !list.contains(&entry) {
        list.push(entry);
    }
    state.store.set_logged_model_tags(
        model_id,
        &[(MODEL_VERSIONS_TAG.to_owned(), python_json(&list))],
    )?;
    Ok(())
}

/// JSON as Python's `json.dumps` writes it (`", "` and `": "` separators).
fn python_json(list: &[serde_json::Value]) -> String {
    let items: Vec<String> = list
        .iter()
        .map(|v| match v {
            serde_json::Value::Object(map) => {
                let fields: Vec<String> = map
                    .iter()
                    .map(|(k, v)| format!("{}: {v}", serde_json::Value::String(k.clone())))
                    .collect();
                format!("{{{}}}", fields.join(", "))
            }
            other => other.to_string(),
        })
        .collect();
    format!("[{}]", items.join(", "))
}

pub(crate) fn get_version(state: &AppState, req: Req) -> ApiResult<ModelVersionResponse> {
    Ok(ModelVersionResponse {
        model_version: version_out(&state.store.get_model_version(req.name()?, req.version()?)?),
    })
}

pub(crate) fn update_version(state: &AppState, req: Req) -> ApiResult<ModelVersionResponse> {
    let v = state.store.update_model_version(
        req.name()?,
        req.version()?,
        req.description.as_deref(),
    )?;
    Ok(ModelVersionResponse {
        model_version: version_out(&v),
    })
}

pub(crate) fn delete_version(state: &AppState, req: Req) -> ApiResult<Empty> {
    state
        .store
        .delete_model_version(req.name()?, req.version()?)?;
    Ok(Empty {})
}

pub(crate) fn transition(state: &AppState, req: Req) -> ApiResult<ModelVersionResponse> {
    let stage = required(&req.stage, "stage")?;
    let archive = match &req.archive_existing_versions {
        None | Some(serde_json::Value::Null) => false,
        Some(serde_json::Value::Bool(b)) => *b,
        Some(serde_json::Value::String(s)) if s.eq_ignore_ascii_case("true") => true,
        Some(serde_json::Value::String(s)) if s.eq_ignore_ascii_case("false") => false,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "Invalid boolean value: {other}, must be 'true' or 'false'."
            )));
        }
    };
    let v =
        state
            .store
            .transition_model_version_stage(req.name()?, req.version()?, stage, archive)?;
    Ok(ModelVersionResponse {
        model_version: version_out(&v),
    })
}

pub(crate) fn set_version_tag(state: &AppState, req: Req) -> ApiResult<Empty> {
    let key = required(&req.key, "key")?;
    state.store.set_model_version_tag(
        req.name()?,
        req.version()?,
        key,
        req.value.as_deref().unwrap_or(""),
    )?;
    Ok(Empty {})
}

pub(crate) fn delete_version_tag(state: &AppState, req: Req) -> ApiResult<Empty> {
    let key = required(&req.key, "key")?;
    state
        .store
        .delete_model_version_tag(req.name()?, req.version()?, key)?;
    Ok(Empty {})
}

/// `model-versions/get-download-uri`.
#[derive(serde::Serialize)]
pub(crate) struct DownloadUri {
    artifact_uri: String,
}

pub(crate) fn download_uri(state: &AppState, req: Req) -> ApiResult<DownloadUri> {
    let uri = state
        .store
        .get_model_version_download_uri(req.name()?, req.version()?)?;
    Ok(DownloadUri {
        artifact_uri: state.artifacts.present(&uri),
    })
}
