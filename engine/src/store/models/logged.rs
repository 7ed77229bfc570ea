//! Logged models: create, finalize, delete, tags, params, and reads — MLflow
//! 3's SQL tracking store's rules (`create_logged_model` and the rest).

use std::collections::BTreeMap;

use redb::ReadableTable;

use super::{bad_code, open_read};
use crate::catalog::EXPERIMENTS;
use crate::catalog::models::{
    LOGGED_MODEL_METRICS, LOGGED_MODELS, LoggedModelRow, ModelMetricRow, remove_sorted, set_sorted,
};
use crate::catalog::rows::{ExperimentRow, decode, encode};
use crate::error::{Error, Result};
use crate::model_limits::check_logged_model_name;
use crate::model_types::{LoggedModel, LoggedModelStatus, ModelMetric, NewLoggedModel};
use crate::names::random_run_name;
use crate::store::{Store, WriteBatch, now_ms};
use crate::types::{ExperimentId, LifecycleStage, RunId};

/// The key type of [`LOGGED_MODEL_METRICS`].
pub(super) type MetricKey = (&'static str, &'static str, i64, i64, u128);

impl WriteBatch<'_> {
    /// MLflow's `create_logged_model`: a new model, status `PENDING`, in an
    /// active experiment, with a fresh `m-…` id and the artifact location
    /// `{experiment artifact location}/models/{model_id}/artifacts`.
    pub fn create_logged_model(&mut self, new: NewLoggedModel) -> Result<LoggedModel> {
        if let Some(name) = &new.name {
            check_logged_model_name(name)?;
        }
        let experiment = self.active_experiment(new.experiment)?;
        let params = sorted_params(&new.params)?;
        let mut tags = Vec::new();
        for (k, v) in &new.tags {
            set_sorted(&mut tags, k, v.clone());
        }
        let model_id = format!("m-{}", RunId::random()?);
        let now = now_ms();
        let row = LoggedModelRow {
            experiment: new.experiment.0,
            name: new.name.unwrap_or_else(random_run_name),
            artifact_location: format!(
                "{}/models/{model_id}/artifacts",
                experiment.artifact_location.trim_end_matches('/')
            ),
            created: now,
            updated: now,
            status: LoggedModelStatus::Pending.code(),
            status_message: None,
            model_type: new.model_type,
            source_run: new.source_run_id.map(RunId::to_bytes),
            lifecycle: LifecycleStage::Active.code(),
            params,
            tags,
        };
        self.put_logged_model(&model_id, &row)?;
        logged_model(&model_id, row, Vec::new())
    }

    /// MLflow's `finalize_logged_model`: sets the status (any model, deleted
    /// ones included, as MLflow's SQL store does) and returns the model.
    pub fn finalize_logged_model(
        &mut self,
        model_id: &str,
        status: LoggedModelStatus,
    ) -> Result<LoggedModel> {
        self.update_logged_model(model_id, |row| {
            row.status = status.code();
            row.updated = now_ms();
            Ok(())
        })
    }

    /// MLflow's `delete_logged_model`: the model becomes deleted (gone for
    /// reads and searches; its rows stay).
    pub fn delete_logged_model(&mut self, model_id: &str) -> Result<()> {
        self.update_logged_model(model_id, |row| {
            row.lifecycle = LifecycleStage::Deleted.code();
            row.updated = now_ms();
            Ok(())
        })
        .map(|_| ())
    }

    /// MLflow's `set_logged_model_tags`: sets (or overwrites) tags; a key
    /// repeated in `tags` keeps its last value. Returns the model.
    pub fn set_logged_model_tags(
        &mut self,
        model_id: &str,
        tags: &[(String, String)],
    ) -> Result<LoggedModel> {
        self.update_logged_model(model_id, |row| {
            for (k, v) in tags {
                set_sorted(&mut row.tags, k, v.clone());
            }
            Ok(())
        })
    }

    /// MLflow's `delete_logged_model_tag`; [`Error::LoggedModelTagNotFound`]
    /// when the model has no such tag.
    pub fn delete_logged_model_tag(&mut self, model_id: &str, key: &str) -> Result<()> {
        self.update_logged_model(model_id, |row| {
            if remove_sorted(&mut row.tags, key) {
                Ok(())
            } else {
                Err(Error::LoggedModelTagNotFound {
                    model_id: model_id.to_owned(),
                    key: key.to_owned(),
                })
            }
        })
        .map(|_| ())
    }

    /// MLflow's `log_logged_model_params`. A param, once logged, keeps its
    /// value: logging the same value again is a no-op, another value is
    /// refused (MLflow's SQL store refuses both, by its primary key).
    pub fn log_logged_model_params(
        &mut self,
        model_id: &str,
        params: &[(String, String)],
    ) -> Result<()> {
        let new = sorted_params(params)?;
        self.update_logged_model(model_id, |row| {
            for (k, v) in &new {
                match row.params.binary_search_by(|(pk, _)| pk.as_str().cmp(k)) {
                    Ok(i) if row.params[i].1 == *v => {}
                    Ok(i) => return Err(param_conflict(model_id, k, &row.params[i].1, v)),
                    Err(i) => row.params.insert(i, (k.clone(), v.clone())),
                }
            }
            Ok(())
        })
        .map(|_| ())
    }

    /// The experiment `id`, which must exist and be active.
    fn active_experiment(&self, id: ExperimentId) -> Result<ExperimentRow> {
        let table = self.txn()?.open_table(EXPERIMENTS)?;
        let row: ExperimentRow = match table.get(id.0)? {
            Some(bytes) => decode("experiment", bytes.value())?,
            None => return Err(Error::ExperimentNotFound(id.0.to_string())),
        };
        if row.lifecycle != LifecycleStage::Active.code() {
            return Err(Error::InvalidInput(format!(
                "The experiment {} must be in the 'active' state. Current state is deleted.",
                id.0
            )));
        }
        Ok(row)
    }

    /// Logged model `model_id`'s row, deleted or not, as of this batch.
    pub(super) fn logged_model_row(&self, model_id: &str) -> Result<LoggedModelRow> {
        let table = self.txn()?.open_table(LOGGED_MODELS)?;
        match table.get(model_id)? {
            Some(bytes) => decode("logged model", bytes.value()),
            None => Err(Error::LoggedModelNotFound(model_id.to_owned())),
        }
    }

    fn put_logged_model(&mut self, model_id: &str, row: &LoggedModelRow) -> Result<()> {
        let bytes = encode(row)?;
        self.guarded(|b| {
            b.txn()?
                .open_table(LOGGED_MODELS)?
                .insert(model_id, bytes.as_slice())?;
            Ok(())
        })
    }

    /// Rewrites logged model `model_id`'s row through `change` (which may
    /// refuse, changing nothing) and returns the model as it now is.
    fn update_logged_model(
        &mut self,
        model_id: &str,
        change: impl FnOnce(&mut LoggedModelRow) -> Result<()>,
    ) -> Result<LoggedModel> {
        let mut row = self.logged_model_row(model_id)?;
        change(&mut row)?;
        self.put_logged_model(model_id, &row)?;
        let metrics = {
            let table = self.txn()?.open_table(LOGGED_MODEL_METRICS)?;
            read_metrics(&table, model_id)?
        };
        logged_model(model_id, row, metrics)
    }
}

/// Params sorted by key; a key given twice must have one value.
fn sorted_params(params: &[(String, String)]) -> Result<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> = Vec::with_capacity(params.len());
    for (k, v) in params {
        match out.binary_search_by(|(pk, _)| pk.as_str().cmp(k)) {
            Ok(i) if out[i].1 == *v => {}
            Ok(i) => {
                return Err(Error::InvalidInput(format!(
                    "Duplicate param key '{k}' with different values ('{}' and '{v}'); a \
                     logged model's param has one value",
                    out[i].1
                )));
            }
            Err(i) => out.insert(i, (k.clone(), v.clone())),
        }
    }
    Ok(out)
}

fn param_conflict(model_id: &str, key: &str, old: &str, new: &str) -> Error {
    Error::InvalidInput(format!(
        "Param '{key}' of logged model '{model_id}' is already '{old}' and cannot be changed \
         to '{new}' (params are immutable)"
    ))
}

/// Every metric point of `model_id`, in key order.
pub(super) fn read_metrics(
    table: &impl ReadableTable<MetricKey, &'static [u8]>,
    model_id: &str,
) -> Result<Vec<ModelMetric>> {
    let mut out = Vec::new();
    for entry in table.range((model_id, "", i64::MIN, i64::MIN, 0u128)..)? {
        let (key, value) = entry?;
        let (id, metric, timestamp, step, run) = key.value();
        if id != model_id {
            break;
        }
        let row: ModelMetricRow = decode("logged model metric", value.value())?;
        out.push(ModelMetric {
            key: metric.to_owned(),
            value: row.value,
            timestamp,
            step,
            run_id: RunId::from_u128(run),
            dataset_name: row.dataset_name,
            dataset_digest: row.dataset_digest,
        });
    }
    Ok(out)
}

/// The public form of a stored logged model.
pub(super) fn logged_model(
    model_id: &str,
    row: LoggedModelRow,
    metrics: Vec<ModelMetric>,
) -> Result<LoggedModel> {
    Ok(LoggedModel {
        model_id: model_id.to_owned(),
        experiment_id: ExperimentId(row.experiment),
        name: row.name,
        artifact_location: row.artifact_location,
        creation_timestamp_ms: row.created,
        last_updated_timestamp_ms: row.updated,
        status: LoggedModelStatus::from_code(row.status)
            .ok_or_else(|| bad_code("logged model status", row.status))?,
        status_message: row.status_message,
        model_type: row.model_type,
        source_run_id: row
            .source_run
            .map(|b| RunId::from_u128(u128::from_be_bytes(b))),
        params: row.params.into_iter().collect::<BTreeMap<_, _>>(),
        tags: row.tags.into_iter().collect(),
        metrics,
        lifecycle_stage: LifecycleStage::from_code(row.lifecycle)
            .ok_or_else(|| bad_code("logged model lifecycle", row.lifecycle))?,
    })
}

impl Store {
    /// MLflow's `create_logged_model` (see [`WriteBatch::create_logged_model`]).
    pub fn create_logged_model(&self, new: NewLoggedModel) -> Result<LoggedModel> {
        self.submit(move |b| b.create_logged_model(new))
    }

    /// MLflow's `finalize_logged_model`.
    pub fn finalize_logged_model(
        &self,
        model_id: &str,
        status: LoggedModelStatus,
    ) -> Result<LoggedModel> {
        let id = model_id.to_owned();
        self.submit(move |b| b.finalize_logged_model(&id, status))
    }

    /// MLflow's `delete_logged_model`.
    pub fn delete_logged_model(&self, model_id: &str) -> Result<()> {
        let id = model_id.to_owned();
        self.submit(move |b| b.delete_logged_model(&id))
    }

    /// MLflow's `set_logged_model_tags`; returns the model.
    pub fn set_logged_model_tags(
        &self,
        model_id: &str,
        tags: &[(String, String)],
    ) -> Result<LoggedModel> {
        let (id, tags) = (model_id.to_owned(), tags.to_vec());
        self.submit(move |b| b.set_logged_model_tags(&id, &tags))
    }

    /// MLflow's `delete_logged_model_tag`.
    pub fn delete_logged_model_tag(&self, model_id: &str, key: &str) -> Result<()> {
        let (id, key) = (model_id.to_owned(), key.to_owned());
        self.submit(move |b| b.delete_logged_model_tag(&id, &key))
    }

    /// MLflow's `log_logged_model_params`.
    pub fn log_logged_model_params(
        &self,
        model_id: &str,
        params: &[(String, String)],
    ) -> Result<()> {
        let (id, params) = (model_id.to_owned(), params.to_vec());
        self.submit(move |b| b.log_logged_model_params(&id, &params))
    }

    /// MLflow's `get_logged_model`: [`Error::LoggedModelNotFound`] when there
    /// is no such model or it was deleted.
    pub fn get_logged_model(&self, model_id: &str) -> Result<LoggedModel> {
        let txn = self.begin_read()?;
        let not_found = || Error::LoggedModelNotFound(model_id.to_owned());
        let Some(models) = open_read(&txn, LOGGED_MODELS)? else {
            return Err(not_found());
        };
        let row: LoggedModelRow = match models.get(model_id)? {
            Some(bytes) => decode("logged model", bytes.value())?,
            None => return Err(not_found()),
        };
        if row.lifecycle != LifecycleStage::Active.code() {
            return Err(not_found());
        }
        let metrics = match open_read(&txn, LOGGED_MODEL_METRICS)? {
            Some(table) => read_metrics(&table, model_id)?,
            None => Vec::new(),
        };
        logged_model(model_id, row, metrics)
    }

    /// Every live logged model of the experiments `experiments` (each once),
    /// with its metrics, ordered by model id: what a search filters.
    pub fn logged_models(&self, experiments: &[ExperimentId]) -> Result<Vec<LoggedModel>> {
        let txn = self.begin_read()?;
        let (Some(models), Some(metrics)) = (
            open_read(&txn, LOGGED_MODELS)?,
            open_read(&txn, LOGGED_MODEL_METRICS)?,
        ) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for entry in models.iter()? {
            let (id, bytes) = entry?;
            let row: LoggedModelRow = decode("logged model", bytes.value())?;
            if row.lifecycle != LifecycleStage::Active.code()
                || !experiments.iter().any(|e| e.0 == row.experiment)
            {
                continue;
            }
            let id = id.value();
            let points = read_metrics(&metrics, id)?;
            out.push(logged_model(id, row, points)?);
        }
        Ok(out)
    }
}
