//! MLflow's tracking messages (`service.proto`): entities, and the requests
//! and responses of the tracking endpoints that the server answers and the
//! forwarder sends. Optional and empty fields are left out when written, as
//! MLflow's server leaves them out; all are optional when read.

use serde::{Deserialize, Serialize};

use super::json::{de_f64, de_i64, de_opt_i64, de_opt_text, ser_f64};

/// A key and a value: a param, a run tag, an experiment tag, an input tag.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValue {
    /// The key.
    #[serde(default)]
    pub key: String,
    /// The value.
    #[serde(default)]
    pub value: String,
}

/// A metric point (`mlflow.Metric`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// The metric's key.
    #[serde(default)]
    pub key: String,
    /// Its value (NaN and the infinities as text).
    #[serde(serialize_with = "ser_f64", deserialize_with = "de_f64", default)]
    pub value: f64,
    /// When it was logged, ms since the epoch.
    #[serde(deserialize_with = "de_i64", default)]
    pub timestamp: i64,
    /// The step.
    #[serde(deserialize_with = "de_i64", default)]
    pub step: i64,
    /// The dataset it was computed on (MLflow 3), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_name: Option<String>,
    /// That dataset's digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_digest: Option<String>,
    /// The logged model it belongs to (MLflow 3), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    /// The run it belongs to (in logged models' data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
}

/// A metric point with its run (`get-history-bulk-interval`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricWithRunId {
    /// The metric's key.
    pub key: String,
    /// Its value.
    #[serde(serialize_with = "ser_f64", deserialize_with = "de_f64")]
    pub value: f64,
    /// When, ms since the epoch.
    #[serde(deserialize_with = "de_i64")]
    pub timestamp: i64,
    /// The step.
    #[serde(deserialize_with = "de_i64")]
    pub step: i64,
    /// The run.
    pub run_id: String,
}

/// An experiment (`mlflow.Experiment`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Experiment {
    /// Its id, as decimal text.
    pub experiment_id: String,
    /// Its name.
    pub name: String,
    /// Where its artifacts go.
    #[serde(default)]
    pub artifact_location: String,
    /// `active` or `deleted`.
    #[serde(default)]
    pub lifecycle_stage: String,
    /// Last change, ms since the epoch.
    #[serde(
        default,
        deserialize_with = "de_opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_update_time: Option<i64>,
    /// Creation, ms since the epoch.
    #[serde(
        default,
        deserialize_with = "de_opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub creation_time: Option<i64>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KeyValue>,
    /// The workspace it belongs to (MLflow 3.17: `default` unless workspaces are on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
}

/// A run's attributes (`mlflow.RunInfo`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunInfo {
    /// The run's id.
    pub run_id: String,
    /// The same id (MLflow's deprecated name for it).
    #[serde(default)]
    pub run_uuid: String,
    /// The run's name.
    #[serde(default)]
    pub run_name: String,
    /// Its experiment's id.
    #[serde(default)]
    pub experiment_id: String,
    /// Who ran it.
    #[serde(default)]
    pub user_id: String,
    /// RUNNING, SCHEDULED, FINISHED, FAILED or KILLED.
    #[serde(default)]
    pub status: String,
    /// Start, ms since the epoch.
    #[serde(
        default,
        deserialize_with = "de_opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub start_time: Option<i64>,
    /// End, ms since the epoch, once ended.
    #[serde(
        default,
        deserialize_with = "de_opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub end_time: Option<i64>,
    /// Where its artifacts go.
    #[serde(default)]
    pub artifact_uri: String,
    /// `active` or `deleted`.
    #[serde(default)]
    pub lifecycle_stage: String,
}

/// A run's params, tags and latest metric values (`mlflow.RunData`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunData {
    /// Each metric's latest point.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<Metric>,
    /// Params.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<KeyValue>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KeyValue>,
}

/// A dataset (`mlflow.Dataset`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dataset {
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// Its digest.
    #[serde(default)]
    pub digest: String,
    /// The kind of source.
    #[serde(default)]
    pub source_type: String,
    /// The source.
    #[serde(default)]
    pub source: String,
    /// Its schema (JSON text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Its profile (JSON text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

/// A dataset a run used, with its input tags (`mlflow.DatasetInput`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetInput {
    /// Input tags (`mlflow.data.context`…).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KeyValue>,
    /// The dataset.
    #[serde(default)]
    pub dataset: Dataset,
}

/// A logged model a run used (`mlflow.ModelInput`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInput {
    /// The logged model's id.
    pub model_id: String,
}

/// A logged model a run produced, at a step (`mlflow.ModelOutput`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelOutput {
    /// The logged model's id.
    pub model_id: String,
    /// The step.
    #[serde(default, deserialize_with = "de_i64")]
    pub step: i64,
}

/// A run's inputs (`mlflow.RunInputs`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunInputs {
    /// Datasets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dataset_inputs: Vec<DatasetInput>,
    /// Logged models.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub model_inputs: Vec<ModelInput>,
}

/// A run's outputs (`mlflow.RunOutputs`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunOutputs {
    /// Logged models.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub model_outputs: Vec<ModelOutput>,
}

/// A run (`mlflow.Run`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// Attributes.
    pub info: RunInfo,
    /// Params, tags, latest metrics.
    #[serde(default)]
    pub data: RunData,
    /// Inputs.
    #[serde(default)]
    pub inputs: RunInputs,
    /// Outputs (left out of `runs/create`'s answer, as MLflow leaves them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<RunOutputs>,
}

/// A file or directory under an artifact root (`mlflow.FileInfo`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    /// Path relative to the listed root.
    pub path: String,
    /// Whether it is a directory (always written: MLflow's client reads it).
    #[serde(default)]
    pub is_dir: bool,
    /// Its size in bytes (files only).
    #[serde(
        default,
        deserialize_with = "de_opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub file_size: Option<i64>,
}

/// A dataset an experiment's runs used (`search-datasets`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetSummary {
    /// The experiment.
    pub experiment_id: String,
    /// The dataset's name.
    pub name: String,
    /// Its digest.
    pub digest: String,
    /// The context it was used in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
}

// ---- requests and responses ----------------------------------------------

/// `POST experiments/create`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateExperiment {
    /// The name.
    #[serde(default)]
    pub name: String,
    /// Where its artifacts go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_location: Option<String>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KeyValue>,
}

/// The reply to `experiments/create`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateExperimentResponse {
    /// The new experiment's id.
    pub experiment_id: String,
}

/// The reply to `experiments/get` and `experiments/get-by-name`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetExperimentResponse {
    /// The experiment.
    pub experiment: Experiment,
}

/// `experiments/update`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateExperiment {
    /// The experiment.
    #[serde(default)]
    pub experiment_id: String,
    /// Its new name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_name: Option<String>,
}

/// `experiments/delete` and `experiments/restore`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExperimentRef {
    /// The experiment.
    #[serde(default)]
    pub experiment_id: String,
}

/// `experiments/set-experiment-tag` and `delete-experiment-tag` (no value).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExperimentTagRequest {
    /// The experiment.
    #[serde(default)]
    pub experiment_id: String,
    /// The tag's key.
    #[serde(default)]
    pub key: String,
    /// Its value (absent for a delete).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// `experiments/search`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchExperiments {
    /// Page size.
    #[serde(
        default,
        deserialize_with = "de_opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_results: Option<i64>,
    /// The previous page's token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_token: Option<String>,
    /// Filter string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// Order-by clauses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub order_by: Vec<String>,
    /// ACTIVE_ONLY, DELETED_ONLY or ALL (or their numbers 1, 2, 3).
    #[serde(
        default,
        deserialize_with = "de_opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub view_type: Option<String>,
}

/// The reply to `experiments/search`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchExperimentsResponse {
    /// The page.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub experiments: Vec<Experiment>,
    /// The next page's token; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

/// `runs/create`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateRun {
    /// The experiment (default: `0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment_id: Option<String>,
    /// Who runs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_name: Option<String>,
    /// Start, ms since the epoch.
    #[serde(
        default,
        deserialize_with = "de_opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub start_time: Option<i64>,
    /// Initial tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KeyValue>,
}

/// The reply to `runs/create` and `runs/get`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunResponse {
    /// The run.
    pub run: Run,
}

/// `runs/update`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateRun {
    /// The run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// The run (MLflow's older name for the field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_uuid: Option<String>,
    /// New status (its name, or its number: RUNNING 1 … KILLED 5).
    #[serde(
        default,
        deserialize_with = "de_opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub status: Option<String>,
    /// End time, ms since the epoch.
    #[serde(
        default,
        deserialize_with = "de_opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub end_time: Option<i64>,
    /// New name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_name: Option<String>,
}

/// The reply to `runs/update`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateRunResponse {
    /// The run's attributes after the update.
    pub run_info: RunInfo,
}

/// `runs/delete`, `runs/restore`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRef {
    /// The run.
    #[serde(default)]
    pub run_id: String,
}

/// `runs/log-metric`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LogMetric {
    /// The run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// The run (older name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_uuid: Option<String>,
    /// The key.
    #[serde(default)]
    pub key: String,
    /// The value.
    #[serde(
        default,
        deserialize_with = "de_opt_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub value: Option<f64>,
    /// When, ms since the epoch.
    #[serde(
        default,
        deserialize_with = "de_opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub timestamp: Option<i64>,
    /// The step (default 0).
    #[serde(
        default,
        deserialize_with = "de_opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub step: Option<i64>,
    /// The logged model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    /// The dataset's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_name: Option<String>,
    /// The dataset's digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_digest: Option<String>,
}

fn de_opt_f64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    #[derive(Deserialize)]
    struct Wrap(#[serde(deserialize_with = "de_f64")] f64);
    Ok(Option::<Wrap>::deserialize(d)?.map(|Wrap(v)| v))
}

/// `runs/log-parameter` and `runs/set-tag` (and `runs/delete-tag`, no value).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunKeyValue {
    /// The run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// The run (older name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_uuid: Option<String>,
    /// The key.
    #[serde(default)]
    pub key: String,
    /// The value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// `runs/log-batch`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LogBatch {
    /// The run.
    #[serde(default)]
    pub run_id: String,
    /// Metric points.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<Metric>,
    /// Params.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<KeyValue>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KeyValue>,
}

/// `runs/log-inputs`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogInputs {
    /// The run.
    #[serde(default)]
    pub run_id: String,
    /// Datasets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub datasets: Vec<DatasetInput>,
    /// Logged models.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<ModelInput>,
}

/// `runs/outputs`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogOutputs {
    /// The run.
    #[serde(default)]
    pub run_id: String,
    /// Logged models.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<ModelOutput>,
}

/// `runs/search`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchRuns {
    /// Experiments to search.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub experiment_ids: Vec<String>,
    /// Filter string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// ACTIVE_ONLY, DELETED_ONLY or ALL (or their numbers 1, 2, 3).
    #[serde(
        default,
        deserialize_with = "de_opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub run_view_type: Option<String>,
    /// Page size (default 1000, at most 50,000).
    #[serde(
        default,
        deserialize_with = "de_opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_results: Option<i64>,
    /// Order-by clauses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub order_by: Vec<String>,
    /// The previous page's token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_token: Option<String>,
}

/// The reply to `runs/search`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchRunsResponse {
    /// The page.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<Run>,
    /// The next page's token; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

/// The reply to `metrics/get-history`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricHistoryResponse {
    /// The points.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<Metric>,
    /// The next page's token; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

/// The reply to `metrics/get-history-bulk-interval`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BulkIntervalResponse {
    /// The sampled points of every run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<MetricWithRunId>,
}

/// The reply to `experiments/search-datasets`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchDatasetsResponse {
    /// The datasets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dataset_summaries: Vec<DatasetSummary>,
}

/// The reply to `artifacts/list` and the artifact proxy's listing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListArtifactsResponse {
    /// The root the paths are relative to (`artifacts/list` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_uri: Option<String>,
    /// Files and directories.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileInfo>,
    /// The next page's token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}
