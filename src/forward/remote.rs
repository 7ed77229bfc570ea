//! The MLflow calls the sender makes, typed, each safe to repeat: a call
//! that finds its work already done (a tag already deleted, an experiment
//! already in the asked-for state) succeeds.

use serde::de::IgnoredAny;

use super::client::{CallResult, Client};
use crate::engine::RunId;
use crate::mlflow::{
    CreateExperiment, CreateExperimentResponse, CreateRun, Experiment, ExperimentRef,
    ExperimentTagRequest, GetExperimentResponse, KeyValue, LogBatch, LogInputs, RunKeyValue,
    RunRef, RunResponse, SearchRuns, SearchRunsResponse, UpdateExperiment, UpdateRun,
};

/// The tag that names a forwarded run's id in the store it came from: how
/// the sender finds a run it created before a crash.
pub const TAG_SOURCE_RUN_ID: &str = "runstore.run_id";

const DOES_NOT_EXIST: &str = "RESOURCE_DOES_NOT_EXIST";
const ALREADY_EXISTS: &str = "RESOURCE_ALREADY_EXISTS";

impl Client {
    /// The experiment named `name` (active or deleted), if any.
    pub fn experiment_by_name(&self, name: &str) -> CallResult<Option<Experiment>> {
        match self
            .get::<GetExperimentResponse>("experiments/get-by-name", &[("experiment_name", name)])
        {
            Ok(r) => Ok(Some(r.experiment)),
            Err(e) if e.is_code(DOES_NOT_EXIST) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Experiment `id`, if any.
    pub fn experiment(&self, id: &str) -> CallResult<Option<Experiment>> {
        match self.get::<GetExperimentResponse>("experiments/get", &[("experiment_id", id)]) {
            Ok(r) => Ok(Some(r.experiment)),
            Err(e) if e.is_code(DOES_NOT_EXIST) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The id of the experiment named `name`, created (with `tags`) when
    /// missing. Returns the id and whether it was created.
    pub fn get_or_create_experiment(
        &self,
        name: &str,
        tags: &[(String, String)],
    ) -> CallResult<(String, bool)> {
        if let Some(e) = self.experiment_by_name(name)? {
            return Ok((e.experiment_id, false));
        }
        let request = CreateExperiment {
            name: name.to_owned(),
            artifact_location: None,
            tags: key_values(tags),
        };
        match self.post::<CreateExperimentResponse>("experiments/create", &request) {
            Ok(r) => Ok((r.experiment_id, true)),
            // Another client created it in between.
            Err(e) if e.is_code(ALREADY_EXISTS) => match self.experiment_by_name(name)? {
                Some(found) => Ok((found.experiment_id, false)),
                None => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    /// Renames experiment `id`.
    pub fn rename_experiment(&self, id: &str, name: &str) -> CallResult<()> {
        let request = UpdateExperiment {
            experiment_id: id.to_owned(),
            new_name: Some(name.to_owned()),
        };
        self.post::<IgnoredAny>("experiments/update", &request)
            .map(drop)
    }

    /// Deletes (`deleted`) or restores experiment `id`, unless it is so already.
    pub fn set_experiment_deleted(&self, id: &str, deleted: bool) -> CallResult<()> {
        let wanted = if deleted { "deleted" } else { "active" };
        match self.experiment(id)? {
            Some(e) if e.lifecycle_stage == wanted => return Ok(()),
            None => return Ok(()),
            Some(_) => {}
        }
        let endpoint = if deleted {
            "experiments/delete"
        } else {
            "experiments/restore"
        };
        let request = ExperimentRef {
            experiment_id: id.to_owned(),
        };
        self.post::<IgnoredAny>(endpoint, &request).map(drop)
    }

    /// Sets tag `key` of experiment `id`.
    pub fn set_experiment_tag(&self, id: &str, key: &str, value: &str) -> CallResult<()> {
        let request = ExperimentTagRequest {
            experiment_id: id.to_owned(),
            key: key.to_owned(),
            value: Some(value.to_owned()),
        };
        self.post::<IgnoredAny>("experiments/set-experiment-tag", &request)
            .map(drop)
    }

    /// Deletes tag `key` of experiment `id` (none is fine).
    pub fn delete_experiment_tag(&self, id: &str, key: &str) -> CallResult<()> {
        let request = ExperimentTagRequest {
            experiment_id: id.to_owned(),
            key: key.to_owned(),
            value: None,
        };
        match self.post::<IgnoredAny>("experiments/delete-experiment-tag", &request) {
            Ok(_) => Ok(()),
            Err(e) if e.is_code(DOES_NOT_EXIST) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The server's run that carries `local`'s id in its
    /// [`TAG_SOURCE_RUN_ID`] tag, in experiment `experiment_id`, if any
    /// (deleted ones included).
    pub fn find_run(&self, experiment_id: &str, local: RunId) -> CallResult<Option<String>> {
        let request = SearchRuns {
            experiment_ids: vec![experiment_id.to_owned()],
            filter: Some(format!("tags.`{TAG_SOURCE_RUN_ID}` = '{local}'")),
            run_view_type: Some("ALL".into()),
            max_results: Some(1),
            ..SearchRuns::default()
        };
        let found: SearchRunsResponse = self.post("runs/search", &request)?;
        Ok(found.runs.into_iter().next().map(|r| r.info.run_id))
    }

    /// Creates a run; returns its id.
    pub fn create_run(&self, request: &CreateRun) -> CallResult<String> {
        let created: RunResponse = self.post("runs/create", request)?;
        Ok(created.run.info.run_id)
    }

    /// Logs params, tags and metric points (within MLflow's batch limits).
    pub fn log_batch(&self, request: &LogBatch) -> CallResult<()> {
        self.post::<IgnoredAny>("runs/log-batch", request).map(drop)
    }

    /// Logs dataset inputs.
    pub fn log_inputs(&self, request: &LogInputs) -> CallResult<()> {
        self.post::<IgnoredAny>("runs/log-inputs", request)
            .map(drop)
    }

    /// Changes a run's status, end time or name.
    pub fn update_run(&self, request: &UpdateRun) -> CallResult<()> {
        self.post::<IgnoredAny>("runs/update", request).map(drop)
    }

    /// Deletes (`deleted`) or restores run `id` (both are no-ops when so already).
    pub fn set_run_deleted(&self, id: &str, deleted: bool) -> CallResult<()> {
        let endpoint = if deleted {
            "runs/delete"
        } else {
            "runs/restore"
        };
        let request = RunRef {
            run_id: id.to_owned(),
        };
        self.post::<IgnoredAny>(endpoint, &request).map(drop)
    }

    /// Deletes tag `key` of run `id` (none is fine: a repeat after a crash).
    pub fn delete_tag(&self, id: &str, key: &str) -> CallResult<()> {
        let request = RunKeyValue {
            run_id: Some(id.to_owned()),
            run_uuid: None,
            key: key.to_owned(),
            value: None,
        };
        match self.post::<IgnoredAny>("runs/delete-tag", &request) {
            Ok(_) => Ok(()),
            Err(e) if e.is_code(DOES_NOT_EXIST) && e.to_string().contains("No tag") => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// Pairs as MLflow's key-value messages.
pub(crate) fn key_values(pairs: &[(String, String)]) -> Vec<KeyValue> {
    pairs
        .iter()
        .map(|(key, value)| KeyValue {
            key: key.clone(),
            value: value.clone(),
        })
        .collect()
}
