//! What a write call says: the contract's run record and MLflow's run
//! creation and update requests.

use crate::metric::MetricPoint;
use crate::types::{DatasetInput, LifecycleStage, RunId, RunStatus};

/// Everything one call may say about one run: the contract's run record.
/// Absent fields leave a stored run unchanged (or take their defaults when the
/// run is created).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunRecord {
    /// Experiment name; required to create a run, checked when appending.
    pub experiment: Option<String>,
    /// Run id; a random one is made when creating without it.
    pub run_id: Option<RunId>,
    /// Run name (or give the tag `mlflow.runName`).
    pub run_name: Option<String>,
    /// Status (default when creating: FINISHED).
    pub status: Option<RunStatus>,
    /// Start time, ms (default when creating: now). Cannot change later.
    pub start_time: Option<i64>,
    /// End time, ms.
    pub end_time: Option<i64>,
    /// User (or give the tag `mlflow.user`). Cannot change once set.
    pub user: Option<String>,
    /// Lifecycle stage (default when creating: active).
    pub lifecycle_stage: Option<LifecycleStage>,
    /// Params; a param can't change once logged.
    pub params: Vec<(String, String)>,
    /// Tags (set or overwritten).
    pub tags: Vec<(String, String)>,
    /// Metric points by key, in logging order.
    pub metrics: Vec<(String, Vec<MetricPoint>)>,
    /// Dataset inputs (an input whose name and digest the run already has
    /// is ignored, as MLflow does).
    pub inputs: Vec<DatasetInput>,
}

/// A new run, MLflow's `create_run`.
#[derive(Clone, Debug, Default)]
pub struct NewRun {
    /// Run id; random when absent.
    pub run_id: Option<RunId>,
    /// Run name; a random `adjective-noun-N` when absent, as MLflow does.
    pub run_name: Option<String>,
    /// Start time, ms; now when absent.
    pub start_time: Option<i64>,
    /// User.
    pub user: Option<String>,
    /// Initial tags.
    pub tags: Vec<(String, String)>,
}

/// Changes to a run's attributes (MLflow's `update_run`).
#[derive(Clone, Debug, Default)]
pub struct RunUpdate {
    /// New status.
    pub status: Option<RunStatus>,
    /// New end time, ms.
    pub end_time: Option<i64>,
    /// New name.
    pub run_name: Option<String>,
}

/// What a commit stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommitSummary {
    /// Runs created or changed.
    pub runs_changed: usize,
    /// Metric points stored (duplicates of stored points are not counted).
    pub points_written: usize,
    /// Whether the points went into a new segment file.
    pub wrote_segment: bool,
}
