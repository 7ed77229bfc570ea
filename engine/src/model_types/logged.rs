//! MLflow 3's logged models: what a run (or nothing) produced, with its
//! params, tags and the metrics logged against it.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::metric::MetricPoint;
use crate::types::{ExperimentId, LifecycleStage, RunId};

/// A logged model's status (MLflow's `LoggedModelStatus`).
///
/// [`LoggedModelStatus::as_str`] is the Python entity's name (`READY`),
/// [`LoggedModelStatus::wire_name`] the REST API's enum name
/// (`LOGGED_MODEL_READY`); [`FromStr`] accepts either.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LoggedModelStatus {
    /// No status given (`LOGGED_MODEL_STATUS_UNSPECIFIED`).
    Unspecified,
    /// Created, artifacts not yet uploaded (`LOGGED_MODEL_PENDING`).
    Pending,
    /// Finalized, artifacts complete (`LOGGED_MODEL_READY`).
    Ready,
    /// The upload failed (`LOGGED_MODEL_UPLOAD_FAILED`).
    UploadFailed,
}

impl LoggedModelStatus {
    /// Every status, by MLflow's integer code (0 to 3).
    pub const ALL: [LoggedModelStatus; 4] = [
        LoggedModelStatus::Unspecified,
        LoggedModelStatus::Pending,
        LoggedModelStatus::Ready,
        LoggedModelStatus::UploadFailed,
    ];

    /// MLflow's integer code, as its SQL store keeps it (`to_int`).
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The status with integer code `code`.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.get(usize::from(code)).copied()
    }

    /// The Python entity's name: `UNSPECIFIED`, `PENDING`, `READY`, `FAILED`.
    pub fn as_str(self) -> &'static str {
        match self {
            LoggedModelStatus::Unspecified => "UNSPECIFIED",
            LoggedModelStatus::Pending => "PENDING",
            LoggedModelStatus::Ready => "READY",
            LoggedModelStatus::UploadFailed => "FAILED",
        }
    }

    /// The REST API's enum name: `LOGGED_MODEL_STATUS_UNSPECIFIED`,
    /// `LOGGED_MODEL_PENDING`, `LOGGED_MODEL_READY`, `LOGGED_MODEL_UPLOAD_FAILED`.
    pub fn wire_name(self) -> &'static str {
        match self {
            LoggedModelStatus::Unspecified => "LOGGED_MODEL_STATUS_UNSPECIFIED",
            LoggedModelStatus::Pending => "LOGGED_MODEL_PENDING",
            LoggedModelStatus::Ready => "LOGGED_MODEL_READY",
            LoggedModelStatus::UploadFailed => "LOGGED_MODEL_UPLOAD_FAILED",
        }
    }
}

impl FromStr for LoggedModelStatus {
    type Err = Error;

    /// Parses an entity name (`READY`), a wire name (`LOGGED_MODEL_READY`)
    /// or `UPLOAD_FAILED`.
    fn from_str(s: &str) -> Result<Self> {
        LoggedModelStatus::ALL
            .into_iter()
            .find(|st| {
                s == st.as_str()
                    || s == st.wire_name()
                    || (*st == LoggedModelStatus::UploadFailed && s == "UPLOAD_FAILED")
            })
            .ok_or_else(|| Error::InvalidInput(format!("Unknown model status: {s}")))
    }
}

impl fmt::Display for LoggedModelStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One metric value logged against a logged model (MLflow's `Metric` with
/// `model_id`): logged through a run, optionally tied to a dataset.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelMetric {
    /// Metric key.
    pub key: String,
    /// Value as MLflow's SQL store keeps it: NaN is stored as 0 and ±∞ as
    /// ±`f64::MAX` (its `sanitize_metric_value`).
    pub value: f64,
    /// ms since the epoch.
    pub timestamp: i64,
    /// Step.
    pub step: i64,
    /// The run it was logged through.
    pub run_id: RunId,
    /// The dataset it was computed on, if any.
    pub dataset_name: Option<String>,
    /// That dataset's digest, if any.
    pub dataset_digest: Option<String>,
}

/// A metric to log against a logged model (see
/// [`crate::Store::log_model_metrics`]).
#[derive(Clone, Debug, PartialEq)]
pub struct ModelMetricInput {
    /// The logged model.
    pub model_id: String,
    /// Metric key (MLflow's metric-name rules).
    pub key: String,
    /// The point.
    pub point: MetricPoint,
    /// Dataset name, if the metric was computed on one.
    pub dataset_name: Option<String>,
    /// Dataset digest.
    pub dataset_digest: Option<String>,
}

/// A logged model (MLflow 3's `LoggedModel`).
#[derive(Clone, Debug, PartialEq)]
pub struct LoggedModel {
    /// `m-` and 32 hex digits, as MLflow makes them.
    pub model_id: String,
    /// The experiment it belongs to.
    pub experiment_id: ExperimentId,
    /// Its name (random, like a run's, when none was given).
    pub name: String,
    /// `{experiment artifact location}/models/{model_id}/artifacts`.
    pub artifact_location: String,
    /// ms since the epoch.
    pub creation_timestamp_ms: i64,
    /// ms since the epoch.
    pub last_updated_timestamp_ms: i64,
    /// Status.
    pub status: LoggedModelStatus,
    /// Status message.
    pub status_message: Option<String>,
    /// Model type (free text, e.g. `agent`).
    pub model_type: Option<String>,
    /// The run that produced it.
    pub source_run_id: Option<RunId>,
    /// Params.
    pub params: BTreeMap<String, String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Every metric value logged against it, ordered by key, timestamp,
    /// step, run.
    pub metrics: Vec<ModelMetric>,
    /// Live or (soft-)deleted. Reads and searches never return deleted models.
    pub lifecycle_stage: LifecycleStage,
}

impl LoggedModel {
    /// `models:/{model_id}`, the URI MLflow gives a logged model.
    pub fn model_uri(&self) -> String {
        format!("models:/{}", self.model_id)
    }
}

/// What [`crate::Store::create_logged_model`] takes.
#[derive(Clone, Debug)]
pub struct NewLoggedModel {
    /// The experiment (must exist and be active).
    pub experiment: ExperimentId,
    /// Name; a random one when `None` (MLflow's `_generate_random_name`).
    pub name: Option<String>,
    /// Model type.
    pub model_type: Option<String>,
    /// The run that produced it (not checked, as in MLflow).
    pub source_run_id: Option<RunId>,
    /// Params (a key at most once, or twice with one value).
    pub params: Vec<(String, String)>,
    /// Tags (a repeated key keeps its last value).
    pub tags: Vec<(String, String)>,
}

impl NewLoggedModel {
    /// A model in `experiment` with nothing else set.
    pub fn new(experiment: ExperimentId) -> Self {
        NewLoggedModel {
            experiment,
            name: None,
            model_type: None,
            source_run_id: None,
            params: Vec::new(),
            tags: Vec::new(),
        }
    }
}

/// A run's output: a logged model it produced (MLflow's `LoggedModelOutput`,
/// written by `log_outputs`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RunModelOutput {
    /// The logged model.
    pub model_id: String,
    /// The step the run was at when it logged the model.
    pub step: i64,
}

/// A run's links to logged models: the models it used and produced
/// (MLflow's `RunInputs.model_inputs` and `RunOutputs.model_outputs`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunModelIo {
    /// The models it used, by model id.
    pub inputs: Vec<String>,
    /// The models it produced.
    pub outputs: Vec<RunModelOutput>,
}
