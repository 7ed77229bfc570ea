//! MLflow's model messages: MLflow 3's logged models (`service.proto`) and
//! the model registry (`model_registry.proto`), as the server writes them.

use serde::{Deserialize, Serialize};

use super::messages::{KeyValue, Metric};

/// A logged model's attributes (`mlflow.LoggedModelInfo`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedModelInfo {
    /// `m-` and 32 hex digits.
    pub model_id: String,
    /// Its experiment.
    pub experiment_id: String,
    /// Its name.
    pub name: String,
    /// Creation, ms since the epoch.
    pub creation_timestamp_ms: i64,
    /// Last change, ms since the epoch.
    pub last_updated_timestamp_ms: i64,
    /// Where its files are.
    pub artifact_uri: String,
    /// LOGGED_MODEL_PENDING, LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED.
    pub status: String,
    /// The model type (`agent`, …), if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_type: Option<String>,
    /// The run that produced it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_run_id: Option<String>,
    /// Why its status is what it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KeyValue>,
}

/// A logged model's params and metrics (`mlflow.LoggedModelData`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LoggedModelData {
    /// Params.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<KeyValue>,
    /// Metrics.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<Metric>,
}

/// A logged model (`mlflow.LoggedModel`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LoggedModel {
    /// Attributes.
    pub info: LoggedModelInfo,
    /// Params and metrics.
    pub data: LoggedModelData,
}

/// The reply carrying one logged model.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LoggedModelResponse {
    /// The model.
    pub model: LoggedModel,
}

/// The reply to `logged-models/search`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchLoggedModelsResponse {
    /// The page.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<LoggedModel>,
    /// The next page's token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

/// An alias of a registered model (`mlflow.RegisteredModelAlias`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alias {
    /// The alias.
    pub alias: String,
    /// The version it names.
    pub version: String,
}

/// A model version (`mlflow.ModelVersion`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelVersion {
    /// The registered model's name.
    pub name: String,
    /// The version number, as text.
    pub version: String,
    /// Creation, ms since the epoch.
    pub creation_timestamp: i64,
    /// Last change, ms since the epoch.
    pub last_updated_timestamp: i64,
    /// Who registered it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// None, Staging, Production or Archived.
    pub current_stage: String,
    /// Its description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Where its files came from.
    pub source: String,
    /// The run it came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// READY.
    pub status: String,
    /// Why its status is what it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KeyValue>,
    /// A link to the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_link: Option<String>,
    /// The aliases naming it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// The logged model it registers (MLflow 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
}

/// A registered model (`mlflow.RegisteredModel`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredModel {
    /// Its name.
    pub name: String,
    /// Creation, ms since the epoch.
    pub creation_timestamp: i64,
    /// Last change, ms since the epoch.
    pub last_updated_timestamp: i64,
    /// Its description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The latest version of each stage.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub latest_versions: Vec<ModelVersion>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KeyValue>,
    /// Aliases.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<Alias>,
}

/// The reply carrying one registered model.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredModelResponse {
    /// The model.
    pub registered_model: RegisteredModel,
}

/// The reply carrying one model version.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelVersionResponse {
    /// The version.
    pub model_version: ModelVersion,
}

/// The reply to `registered-models/search`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchRegisteredModelsResponse {
    /// The page.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub registered_models: Vec<RegisteredModel>,
    /// The next page's token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

/// The reply to `model-versions/search` and `get-latest-versions`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelVersionsResponse {
    /// The versions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub model_versions: Vec<ModelVersion>,
    /// The next page's token (search only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}
