//! The model registry's entities: registered models, their versions, stages
//! and aliases (MLflow's `RegisteredModel` and `ModelVersion`).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// A model version's stage (MLflow's deprecated stages, still served).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ModelVersionStage {
    /// `None`: no stage (every new version).
    None,
    /// `Staging`.
    Staging,
    /// `Production`.
    Production,
    /// `Archived`.
    Archived,
}

impl ModelVersionStage {
    /// Every stage, in MLflow's order (`ALL_STAGES`).
    pub const ALL: [ModelVersionStage; 4] = [
        ModelVersionStage::None,
        ModelVersionStage::Staging,
        ModelVersionStage::Production,
        ModelVersionStage::Archived,
    ];

    /// MLflow's canonical name: `None`, `Staging`, `Production`, `Archived`.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelVersionStage::None => "None",
            ModelVersionStage::Staging => "Staging",
            ModelVersionStage::Production => "Production",
            ModelVersionStage::Archived => "Archived",
        }
    }

    /// The stored code.
    pub(crate) fn code(self) -> u8 {
        self as u8
    }

    /// The stage with stored code `code`.
    pub(crate) fn from_code(code: u8) -> Option<Self> {
        Self::ALL.get(usize::from(code)).copied()
    }

    /// Whether `archive_existing_versions` may be used when moving a version
    /// here (MLflow's `DEFAULT_STAGES_FOR_GET_LATEST_VERSIONS`).
    pub fn is_active(self) -> bool {
        matches!(
            self,
            ModelVersionStage::Staging | ModelVersionStage::Production
        )
    }
}

impl FromStr for ModelVersionStage {
    type Err = Error;

    /// MLflow's `get_canonical_stage`: any letter case.
    fn from_str(s: &str) -> Result<Self> {
        let lower = s.to_lowercase();
        ModelVersionStage::ALL
            .into_iter()
            .find(|st| st.as_str().to_lowercase() == lower)
            .ok_or_else(|| {
                Error::InvalidInput(format!(
                    "Invalid Model Version stage: {s}. Value must be one of None, Staging, \
                     Production, Archived."
                ))
            })
    }
}

impl fmt::Display for ModelVersionStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A registered model (MLflow's `RegisteredModel`).
#[derive(Clone, Debug, PartialEq)]
pub struct RegisteredModel {
    /// Unique name.
    pub name: String,
    /// ms since the epoch.
    pub creation_timestamp: i64,
    /// ms since the epoch: creation, a description change, a rename, a new,
    /// deleted or transitioned version.
    pub last_updated_timestamp: i64,
    /// Description.
    pub description: Option<String>,
    /// Every tag, `mlflow.prompt.is_prompt` included (MLflow's wire form).
    pub tags: BTreeMap<String, String>,
    /// Alias → version.
    pub aliases: BTreeMap<String, u64>,
    /// As MLflow computes them: for each stage that has a live version, the
    /// highest version in it; stages in the order their first version
    /// appears, versions ascending. Their `aliases` are empty, as in
    /// MLflow's SQL store.
    pub latest_versions: Vec<ModelVersion>,
}

impl RegisteredModel {
    /// Whether the model is a prompt (MLflow's prompt registry marks prompts
    /// with the tag `mlflow.prompt.is_prompt` = `true`).
    pub fn is_prompt(&self) -> bool {
        self.tags
            .get(crate::model_limits::IS_PROMPT_TAG_KEY)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
}

/// A registered model's version (MLflow's `ModelVersion`).
#[derive(Clone, Debug, PartialEq)]
pub struct ModelVersion {
    /// The registered model.
    pub name: String,
    /// 1, 2, …: one more than the highest version the model ever had
    /// (numbers are never reused after a delete).
    pub version: u64,
    /// ms since the epoch.
    pub creation_timestamp: i64,
    /// ms since the epoch.
    pub last_updated_timestamp: i64,
    /// Who created it (MLflow's SQL store never sets it).
    pub user_id: Option<String>,
    /// Stage.
    pub current_stage: ModelVersionStage,
    /// Description.
    pub description: Option<String>,
    /// Where the model came from, as given (`models:/m-…`, `runs:/…`, a path).
    pub source: String,
    /// Where its files are: for a `models:/` source, the logged model's
    /// artifact location or the source version's; else `None` (the source
    /// itself). See [`ModelVersion::download_uri`].
    pub storage_location: Option<String>,
    /// The run that produced it.
    pub run_id: Option<String>,
    /// Always `READY` (a version is complete when created).
    pub status: String,
    /// Status message.
    pub status_message: Option<String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Link to the run.
    pub run_link: Option<String>,
    /// The aliases pointing at it, sorted.
    pub aliases: Vec<String>,
    /// The logged model it was registered from, when the caller said.
    pub model_id: Option<String>,
}

impl ModelVersion {
    /// MLflow's `get_model_version_download_uri`: the storage location, else
    /// the source.
    pub fn download_uri(&self) -> &str {
        self.storage_location.as_deref().unwrap_or(&self.source)
    }
}

/// What [`crate::Store::create_model_version`] takes.
#[derive(Clone, Debug, Default)]
pub struct NewModelVersion {
    /// The registered model (must exist).
    pub name: String,
    /// Where the model is: a path or URI, or `models:/<model_id>` (what
    /// MLflow 3's `register_model` sends), or `models:/<name>/<version>`.
    pub source: String,
    /// The run that produced it; for a `models:/<model_id>` source or a
    /// `model_id`, the logged model's source run when absent.
    pub run_id: Option<String>,
    /// Tags (a repeated key keeps its last value).
    pub tags: Vec<(String, String)>,
    /// Link to the run.
    pub run_link: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// The logged model being registered.
    pub model_id: Option<String>,
}

/// A model version number as a caller gives it: a number, or the text
/// MLflow's REST API carries (read like Python's `int()`, so `" 3"` is 3 and
/// `"3.0"` is an error; see [`crate::model_limits::parse_model_version`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VersionArg(String);

impl VersionArg {
    /// The version as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number; an error (MLflow's message) when the text is no integer.
    pub fn number(&self) -> Result<i64> {
        crate::model_limits::parse_model_version(&self.0)
    }
}

impl From<u64> for VersionArg {
    fn from(v: u64) -> Self {
        VersionArg(v.to_string())
    }
}

impl From<&str> for VersionArg {
    fn from(v: &str) -> Self {
        VersionArg(v.to_owned())
    }
}

impl From<String> for VersionArg {
    fn from(v: String) -> Self {
        VersionArg(v)
    }
}

impl From<&String> for VersionArg {
    fn from(v: &String) -> Self {
        VersionArg(v.clone())
    }
}

impl fmt::Display for VersionArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
