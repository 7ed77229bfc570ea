//! Experiments in a write batch: lookups (cached for the batch), creation,
//! and MLflow's experiment updates.

use redb::ReadableTable;

use super::WriteBatch;
use crate::catalog::rows::{ExperimentRow, decode, encode};
use crate::catalog::{EXPERIMENT_NAMES, EXPERIMENTS};
use crate::error::{Error, Result};
use crate::limits;
use crate::outbox::ExperimentOp;
use crate::store::now_ms;
use crate::types::{ExperimentId, LifecycleStage};

impl WriteBatch<'_> {
    /// The id of experiment `name`, if it exists.
    pub fn experiment_id(&self, name: &str) -> Result<Option<ExperimentId>> {
        let names = self.txn()?.open_table(EXPERIMENT_NAMES)?;
        Ok(names.get(name)?.map(|v| ExperimentId(v.value())))
    }

    /// Creates experiment `name`; fails if it exists.
    pub fn create_experiment(&mut self, name: &str) -> Result<ExperimentId> {
        limits::check_experiment_name(name)?;
        if self.experiment_id(name)?.is_some() {
            return Err(Error::AlreadyExists(format!(
                "Experiment(name={name}) already exists."
            )));
        }
        self.guarded(|b| b.insert_experiment(name))
    }

    /// The id of experiment `name`, creating it if needed.
    pub fn get_or_create_experiment(&mut self, name: &str) -> Result<ExperimentId> {
        limits::check_experiment_name(name)?;
        match self.experiment_id(name)? {
            Some(id) => Ok(id),
            None => self.guarded(|b| b.insert_experiment(name)),
        }
    }

    pub(super) fn insert_experiment(&mut self, name: &str) -> Result<ExperimentId> {
        let id = self.state.next_experiment;
        self.state.next_experiment = id
            .checked_add(1)
            .ok_or_else(|| Error::InvalidInput("too many experiments".into()))?;
        let now = now_ms();
        let row = ExperimentRow {
            name: name.to_owned(),
            lifecycle: LifecycleStage::Active.code(),
            artifact_location: format!("{}/{id}", self.state.artifact_root),
            creation_time: now,
            last_update_time: now,
            tags: Vec::new(),
        };
        let txn = self.txn()?;
        txn.open_table(EXPERIMENTS)?
            .insert(id, encode(&row)?.as_slice())?;
        txn.open_table(EXPERIMENT_NAMES)?.insert(name, id)?;
        self.note_experiment(ExperimentOp::Created {
            id: ExperimentId(id),
            name: name.to_owned(),
            tags: Vec::new(),
        });
        Ok(ExperimentId(id))
    }

    /// [`experiment_row`](Self::experiment_row), remembered for the batch.
    pub(super) fn cached_experiment_row(&mut self, id: u32) -> Result<&ExperimentRow> {
        if !self.experiment_rows.contains_key(&id) {
            let row = self.experiment_row(id)?;
            self.experiment_rows.insert(id, row);
        }
        self.experiment_rows
            .get(&id)
            .ok_or_else(|| Error::ExperimentNotFound(id.to_string()))
    }

    /// [`experiment_id`](Self::experiment_id), remembered for the batch once
    /// the experiment exists.
    pub(super) fn cached_experiment_id(&mut self, name: &str) -> Result<Option<u32>> {
        if let Some(&id) = self.experiment_ids.get(name) {
            return Ok(Some(id));
        }
        let id = self.experiment_id(name)?.map(|id| id.0);
        if let Some(id) = id {
            self.experiment_ids.insert(name.into(), id);
        }
        Ok(id)
    }

    pub(super) fn experiment_row(&self, id: u32) -> Result<ExperimentRow> {
        let table = self.txn()?.open_table(EXPERIMENTS)?;
        let row = table
            .get(id)?
            .ok_or_else(|| Error::ExperimentNotFound(id.to_string()))?;
        decode("experiment", row.value())
    }

    /// MLflow's `create_experiment` with an artifact location (default:
    /// `<artifact root>/<id>`) and tags.
    pub fn create_experiment_with(
        &mut self,
        name: &str,
        artifact_location: Option<&str>,
        tags: &[(String, String)],
    ) -> Result<ExperimentId> {
        for (k, v) in tags {
            limits::check_tag(k, v)?;
        }
        let id = self.create_experiment(name)?;
        let location = artifact_location.map(str::to_owned);
        let tags = tags.to_vec();
        self.note_experiment_tags(id, &tags);
        self.update_experiment(id, |row| {
            if let Some(l) = location {
                row.artifact_location = l;
            }
            for (k, v) in tags {
                set_sorted(&mut row.tags, k, v);
            }
            Ok(())
        })?;
        Ok(id)
    }

    /// MLflow's `rename_experiment` (active experiments only; the new name
    /// must be free).
    pub fn rename_experiment(&mut self, id: ExperimentId, new_name: &str) -> Result<()> {
        limits::check_experiment_name(new_name)?;
        let row = self.experiment_row(id.0)?;
        require_active(id, &row, "rename")?;
        if row.name == new_name {
            return Ok(());
        }
        if self.experiment_id(new_name)?.is_some() {
            return Err(Error::AlreadyExists(format!(
                "Experiment(name={new_name}) already exists."
            )));
        }
        let old = row.name.clone();
        self.guarded(|b| {
            let txn = b.txn()?;
            let mut names = txn.open_table(EXPERIMENT_NAMES)?;
            names.remove(old.as_str())?;
            names.insert(new_name, id.0)?;
            Ok(())
        })?;
        self.experiment_ids.remove(old.as_str());
        let new_name = new_name.to_owned();
        self.note_experiment(ExperimentOp::Renamed {
            id,
            name: new_name.clone(),
        });
        self.update_experiment(id, |row| {
            row.name = new_name;
            Ok(())
        })
    }

    /// MLflow's `delete_experiment`: the experiment and every run in it
    /// become deleted.
    pub fn delete_experiment(&mut self, id: ExperimentId) -> Result<()> {
        let row = self.experiment_row(id.0)?;
        require_active(id, &row, "delete")?;
        self.set_experiment_lifecycle(id, LifecycleStage::Deleted)
    }

    /// MLflow's `restore_experiment`: the experiment and its runs become
    /// active again.
    pub fn restore_experiment(&mut self, id: ExperimentId) -> Result<()> {
        let row = self.experiment_row(id.0)?;
        if row.lifecycle == LifecycleStage::Active.code() {
            return Err(Error::InvalidInput(format!(
                "Cannot restore an active experiment. Experiment id: {}",
                id.0
            )));
        }
        self.set_experiment_lifecycle(id, LifecycleStage::Active)
    }

    /// MLflow's `set_experiment_tag` (active experiments only).
    pub fn set_experiment_tag(&mut self, id: ExperimentId, key: &str, value: &str) -> Result<()> {
        limits::check_tag(key, value)?;
        let row = self.experiment_row(id.0)?;
        require_active(id, &row, "tag")?;
        let (key, value) = (key.to_owned(), value.to_owned());
        self.note_experiment(ExperimentOp::TagSet {
            id,
            key: key.clone(),
            value: value.clone(),
        });
        self.update_experiment(id, |row| {
            set_sorted(&mut row.tags, key, value);
            Ok(())
        })
    }

    /// MLflow's `delete_experiment_tag`; fails when the experiment has no
    /// such tag.
    pub fn delete_experiment_tag(&mut self, id: ExperimentId, key: &str) -> Result<()> {
        let row = self.experiment_row(id.0)?;
        require_active(id, &row, "untag")?;
        if !row.tags.iter().any(|(k, _)| k == key) {
            return Err(Error::InvalidInput(format!(
                "No tag with name: {key} in experiment with id {}",
                id.0
            )));
        }
        let key = key.to_owned();
        self.note_experiment(ExperimentOp::TagDeleted {
            id,
            key: key.clone(),
        });
        self.update_experiment(id, |row| {
            row.tags.retain(|(k, _)| *k != key);
            Ok(())
        })
    }

    fn set_experiment_lifecycle(&mut self, id: ExperimentId, stage: LifecycleStage) -> Result<()> {
        // Which runs are in the experiment: one pass over the run rows (a
        // rare call; the catalog keeps no experiment -> runs table).
        let mut members = Vec::new();
        {
            let runs = self.txn()?.open_table(crate::catalog::RUNS)?;
            for entry in redb::ReadableTable::iter(&runs)? {
                let (_, bytes) = entry?;
                let row = crate::catalog::rows::RunRow::decode(bytes.value())?;
                if row.experiment == id.0 && row.lifecycle != stage.code() {
                    members.push(crate::types::RunId::from_u128(row.run_id()));
                }
            }
        }
        for run in members {
            if stage == LifecycleStage::Deleted {
                self.delete_run(run)?;
            } else {
                self.restore_run(run)?;
            }
        }
        self.note_experiment(match stage {
            LifecycleStage::Deleted => ExperimentOp::Deleted { id },
            LifecycleStage::Active => ExperimentOp::Restored { id },
        });
        self.update_experiment(id, |row| {
            row.lifecycle = stage.code();
            Ok(())
        })
    }

    /// Rewrites experiment `id`'s row through `change`, stamping its last
    /// update time.
    fn update_experiment(
        &mut self,
        id: ExperimentId,
        change: impl FnOnce(&mut ExperimentRow) -> Result<()>,
    ) -> Result<()> {
        let mut row = self.experiment_row(id.0)?;
        change(&mut row)?;
        row.last_update_time = now_ms().max(row.creation_time);
        self.guarded(|b| {
            b.txn()?
                .open_table(EXPERIMENTS)?
                .insert(id.0, encode(&row)?.as_slice())?;
            b.experiment_rows.insert(id.0, row);
            Ok(())
        })
    }
}

fn require_active(id: ExperimentId, row: &ExperimentRow, what: &str) -> Result<()> {
    if row.lifecycle != LifecycleStage::Active.code() {
        return Err(Error::InvalidInput(format!(
            "Cannot {what} a non-active experiment. Experiment id: {}",
            id.0
        )));
    }
    Ok(())
}

/// Sets `key` in a list kept sorted by key.
fn set_sorted(tags: &mut Vec<(String, String)>, key: String, value: String) {
    match tags.binary_search_by(|(k, _)| k.as_str().cmp(&key)) {
        Ok(i) => tags[i].1 = value,
        Err(i) => tags.insert(i, (key, value)),
    }
}
