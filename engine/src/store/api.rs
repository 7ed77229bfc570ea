//! MLflow's write surface as single calls on a shared [`Store`]: each call
//! is one write of the next group commit ([`super::commit`]) and returns
//! once it is durable. Safe to call from any number of threads at once.
//!
//! Do not call these from a thread that holds an open [`Store::write`]
//! batch: the group commit waits for that batch's lock.

use super::{NewRun, RunRecord, RunUpdate, Store};
use crate::error::{Error, Result};
use crate::metric::MetricPoint;
use crate::types::{DatasetInput, Experiment, ExperimentId, LifecycleStage, Run, RunId};

/// MLflow's `log_batch` request: metrics, params and tags of one run
/// together (at most 1000 metrics, 100 params, 100 tags, 1000 in all).
#[derive(Clone, Debug, Default)]
pub struct MetricBatch {
    /// Metric points, by key.
    pub metrics: Vec<(String, MetricPoint)>,
    /// Params.
    pub params: Vec<(String, String)>,
    /// Tags.
    pub tags: Vec<(String, String)>,
}

impl Store {
    /// Creates experiment `name` (MLflow's `create_experiment`); fails with
    /// [`Error::AlreadyExists`] when the name is taken.
    pub fn create_experiment(
        &self,
        name: &str,
        artifact_location: Option<&str>,
        tags: &[(String, String)],
    ) -> Result<ExperimentId> {
        let (name, location, tags) = (
            name.to_owned(),
            artifact_location.map(str::to_owned),
            tags.to_vec(),
        );
        self.submit(move |b| b.create_experiment_with(&name, location.as_deref(), &tags))
    }

    /// The experiment named `name`, creating it if needed (what
    /// `mlflow.set_experiment` does).
    pub fn get_or_create_experiment(&self, name: &str) -> Result<ExperimentId> {
        if let Some(e) = self.experiment_by_name(name)? {
            return Ok(e.id);
        }
        let name = name.to_owned();
        self.submit(move |b| b.get_or_create_experiment(&name))
    }

    /// Experiment `id`; [`Error::ExperimentNotFound`] when there is none.
    pub fn get_experiment(&self, id: ExperimentId) -> Result<Experiment> {
        self.experiments()?
            .into_iter()
            .find(|e| e.id == id)
            .ok_or_else(|| Error::ExperimentNotFound(id.0.to_string()))
    }

    /// Renames experiment `id`.
    pub fn rename_experiment(&self, id: ExperimentId, new_name: &str) -> Result<()> {
        let new_name = new_name.to_owned();
        self.submit(move |b| b.rename_experiment(id, &new_name))
    }

    /// Deletes experiment `id` and its runs (soft: they can be restored).
    pub fn delete_experiment(&self, id: ExperimentId) -> Result<()> {
        self.submit(move |b| b.delete_experiment(id))
    }

    /// Restores deleted experiment `id` and its runs.
    pub fn restore_experiment(&self, id: ExperimentId) -> Result<()> {
        self.submit(move |b| b.restore_experiment(id))
    }

    /// Sets a tag of experiment `id`.
    pub fn set_experiment_tag(&self, id: ExperimentId, key: &str, value: &str) -> Result<()> {
        let (key, value) = (key.to_owned(), value.to_owned());
        self.submit(move |b| b.set_experiment_tag(id, &key, &value))
    }

    /// Deletes a tag of experiment `id`.
    pub fn delete_experiment_tag(&self, id: ExperimentId, key: &str) -> Result<()> {
        let key = key.to_owned();
        self.submit(move |b| b.delete_experiment_tag(id, &key))
    }

    /// Creates a run (MLflow's `create_run`: status RUNNING) and returns it.
    pub fn create_run(&self, experiment: ExperimentId, run: NewRun) -> Result<Run> {
        let id = self.submit(move |b| b.create_run(experiment, run))?;
        self.get_run(id)
    }

    /// Changes a run's status, end time or name (MLflow's `update_run`).
    pub fn update_run(&self, run_id: RunId, update: RunUpdate) -> Result<()> {
        self.submit(move |b| b.update_run(run_id, update))
    }

    /// Soft-deletes a run.
    pub fn delete_run(&self, run_id: RunId) -> Result<()> {
        self.submit(move |b| b.delete_run(run_id))
    }

    /// Restores a soft-deleted run.
    pub fn restore_run(&self, run_id: RunId) -> Result<()> {
        self.submit(move |b| b.restore_run(run_id))
    }

    /// Logs one metric point (MLflow's `log_metric`), durable on return.
    pub fn log_metric(&self, run_id: RunId, key: &str, point: MetricPoint) -> Result<()> {
        let key = key.to_owned();
        self.submit(move |b| b.log_metric_points(run_id, &key, &[point]))
    }

    /// Logs many points of one metric at once (no batch limit).
    pub fn log_metric_points(
        &self,
        run_id: RunId,
        key: &str,
        points: &[MetricPoint],
    ) -> Result<()> {
        let (key, points) = (key.to_owned(), points.to_vec());
        self.submit(move |b| b.log_metric_points(run_id, &key, &points))
    }

    /// Logs one param (MLflow's `log_param`; params are immutable).
    pub fn log_param(&self, run_id: RunId, key: &str, value: &str) -> Result<()> {
        let (key, value) = (key.to_owned(), value.to_owned());
        self.submit(move |b| b.log_param(run_id, &key, &value))
    }

    /// Sets one tag (MLflow's `set_tag`).
    pub fn set_tag(&self, run_id: RunId, key: &str, value: &str) -> Result<()> {
        let (key, value) = (key.to_owned(), value.to_owned());
        self.submit(move |b| b.set_tag(run_id, &key, &value))
    }

    /// Deletes one tag (MLflow's `delete_tag`).
    pub fn delete_tag(&self, run_id: RunId, key: &str) -> Result<()> {
        let key = key.to_owned();
        self.submit(move |b| b.delete_tag(run_id, &key))
    }

    /// MLflow's `log_batch`, all or nothing, within MLflow's limits.
    pub fn log_batch(&self, run_id: RunId, batch: MetricBatch) -> Result<()> {
        self.submit(move |b| b.log_batch(run_id, &batch.metrics, &batch.params, &batch.tags))
    }

    /// Applies run records in order (the contract's ingest) as one write of
    /// the next group commit. Stops at the first record that breaks a rule:
    /// the records before it commit, it and the rest do not. Returns how
    /// many were applied, and the error of the record that stopped it.
    pub fn upsert_runs(&self, records: Vec<RunRecord>) -> Result<(usize, Option<Error>)> {
        self.submit(move |b| {
            let mut applied = 0;
            for record in records {
                match b.upsert_run(record) {
                    Ok(_) => applied += 1,
                    Err(e) if e.is_user_error() => return Ok((applied, Some(e))),
                    Err(e) => return Err(e),
                }
            }
            Ok((applied, None))
        })
    }

    /// Logs dataset inputs (MLflow's `log_inputs`).
    pub fn log_inputs(&self, run_id: RunId, inputs: &[DatasetInput]) -> Result<()> {
        let inputs = inputs.to_vec();
        self.submit(move |b| b.log_inputs(run_id, &inputs))
    }

    /// Every experiment in `view`, by id.
    pub fn list_experiments(&self, view: crate::types::ViewType) -> Result<Vec<Experiment>> {
        Ok(self
            .experiments()?
            .into_iter()
            .filter(|e| view.admits(e.lifecycle_stage))
            .collect())
    }

    /// Whether run `run_id` exists and is active.
    pub fn run_is_active(&self, run_id: RunId) -> Result<bool> {
        Ok(self.get_run(run_id)?.lifecycle_stage == LifecycleStage::Active)
    }
}
