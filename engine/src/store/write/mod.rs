//! [`WriteBatch`]: one redb write transaction plus the metric points it adds.
//!
//! Every method checks its whole input against MLflow's rules and the stored
//! state *before* changing anything, so a rejected call leaves the batch as it
//! was and can be followed by more calls. [`WriteBatch::commit`] makes the
//! batch durable at once: new points go into a new segment file (written and
//! synced before the catalog commit that lists it) or, for small batches, into
//! the catalog's pending table; a crash at any instant leaves either all of
//! the batch or none of it.
//!
//! The batch's jobs live in one file each: [`records`] (what a call says),
//! [`validate`] (checking it against the rules and the stored state),
//! [`experiments`] (experiment rows), [`out`] (writing a batch out and
//! committing it).

mod experiments;
mod forward;
mod out;
mod outbox;
mod records;
mod validate;

pub(crate) use out::{add_segment, point_identity, segment_file_name};
pub use records::{CommitSummary, NewRun, RunRecord, RunUpdate};
use validate::ExperimentRef;
use validate::Plan;

use foldhash::{HashMap, HashSet};
use std::sync::MutexGuard;

use redb::WriteTransaction;

use super::{Store, Writer, now_ms};
use crate::catalog::META;
use crate::catalog::dict::{DictTables, DictUndo};
use crate::catalog::rows::{ExperimentRow, RunRow};
use crate::catalog::series_id;
use crate::catalog::state::StoreState;
use crate::error::{Error, Result};
use crate::limits;
use crate::metric::{MetricPoint, is_later};
use crate::names::random_run_name;
use crate::outbox::{ExperimentOp, ForwardSettings};
use crate::segment::PointColumns;
use crate::types::{
    DatasetInput, ExperimentId, LifecycleStage, RunId, RunStatus, TAG_RUN_NAME, TAG_USER,
};

/// How an upsert treats an existing or missing run.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    /// The run must not exist.
    Create,
    /// The run must exist (any lifecycle stage).
    Append,
    /// The run must exist and be active: MLflow's rule for logging to a
    /// run, tagging it or updating it.
    Live,
    /// Create or append (the contract's ingest).
    Upsert,
}

/// A run touched by this batch: its current row and the row as stored.
pub(crate) struct Touched {
    row: RunRow,
    stored: Option<RunRow>,
}

/// An open write transaction. See the module docs.
pub struct WriteBatch<'s> {
    store: &'s Store,
    writer: MutexGuard<'s, Writer>,
    txn: Option<WriteTransaction>,
    state: StoreState,
    runs: HashMap<u128, Touched>,
    points: PointColumns,
    dedupe: HashSet<u64>,
    undo: DictUndo,
    failed: bool,
    /// Experiments this batch has looked up, by id and by name: a bulk load
    /// puts thousands of runs in each of a few experiments. (A batch only
    /// ever adds experiments, so an entry cannot go stale.)
    experiment_rows: HashMap<u32, ExperimentRow>,
    experiment_ids: HashMap<Box<str>, u32>,
    /// The forwarding settings when forwarding is on: then the commit
    /// records what it changed in the outbox ([`outbox`]).
    forward: Option<ForwardSettings>,
    /// Experiment operations of this batch, for the outbox (forwarding on only).
    experiment_ops: Vec<ExperimentOp>,
}

impl<'s> WriteBatch<'s> {
    pub(super) fn begin(store: &'s Store) -> Result<Self> {
        let (mut writer, txn, mut state) = store.begin_locked()?;
        let points = std::mem::take(&mut writer.spare_points);
        let runs = std::mem::take(&mut writer.spare_runs);
        state.seq += 1;
        let forward = Some(crate::catalog::forward::load_settings(
            &txn.open_table(META)?,
        )?)
        .filter(|s| s.enabled);
        Ok(WriteBatch {
            store,
            writer,
            txn: Some(txn),
            state,
            runs,
            points,
            dedupe: HashSet::default(),
            undo: DictUndo::default(),
            failed: false,
            experiment_rows: HashMap::default(),
            experiment_ids: HashMap::default(),
            forward,
            experiment_ops: Vec::new(),
        })
    }

    pub(in crate::store) fn txn(&self) -> Result<&WriteTransaction> {
        self.txn
            .as_ref()
            .ok_or_else(|| Error::corrupt("write batch", "used after commit"))
    }

    /// Runs `f`; a failure that is not the caller's fault (I/O, corruption)
    /// poisons the batch, since it may have left it half-applied.
    pub(in crate::store) fn guarded<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T>,
    ) -> Result<T> {
        if self.failed {
            return Err(Error::InvalidInput(
                "this write batch failed earlier and can only be dropped".into(),
            ));
        }
        let out = f(self);
        if let Err(e) = &out
            && !e.is_user_error()
        {
            self.failed = true;
        }
        out
    }

    /// Creates a run in `experiment` (MLflow's `create_run`: status RUNNING).
    pub fn create_run(&mut self, experiment: ExperimentId, run: NewRun) -> Result<RunId> {
        let name = self.experiment_row(experiment.0)?.name;
        let rec = RunRecord {
            experiment: Some(name),
            run_id: run.run_id,
            run_name: run.run_name,
            status: Some(RunStatus::Running),
            start_time: run.start_time,
            user: run.user,
            tags: run.tags,
            ..RunRecord::default()
        };
        self.apply(rec, Mode::Create)
    }

    /// Applies a run record: creates the run if its id is new (or absent),
    /// else appends to it. All or nothing: a record that breaks any rule
    /// changes nothing.
    pub fn upsert_run(&mut self, record: RunRecord) -> Result<RunId> {
        self.apply(record, Mode::Upsert)
    }

    /// MLflow's `log_batch`: metrics, params and tags for an existing run,
    /// within MLflow's batch limits.
    pub fn log_batch(
        &mut self,
        run_id: RunId,
        metrics: &[(String, MetricPoint)],
        params: &[(String, String)],
        tags: &[(String, String)],
    ) -> Result<()> {
        limits::check_batch(metrics.len(), params.len(), tags.len())?;
        let mut by_key: Vec<(String, Vec<MetricPoint>)> = Vec::new();
        for (key, point) in metrics {
            match by_key.iter_mut().find(|(k, _)| k == key) {
                Some((_, pts)) => pts.push(*point),
                None => by_key.push((key.clone(), vec![*point])),
            }
        }
        let rec = RunRecord {
            run_id: Some(run_id),
            params: params.to_vec(),
            tags: tags.to_vec(),
            metrics: by_key,
            ..RunRecord::default()
        };
        self.apply(rec, Mode::Live).map(|_| ())
    }

    /// Logs many points of one metric (no batch limit: for bulk histories).
    pub fn log_metric_points(
        &mut self,
        run_id: RunId,
        key: &str,
        points: &[MetricPoint],
    ) -> Result<()> {
        let rec = RunRecord {
            run_id: Some(run_id),
            metrics: vec![(key.to_owned(), points.to_vec())],
            ..RunRecord::default()
        };
        self.apply(rec, Mode::Live).map(|_| ())
    }

    /// Logs dataset inputs.
    pub fn log_inputs(&mut self, run_id: RunId, inputs: &[DatasetInput]) -> Result<()> {
        let rec = RunRecord {
            run_id: Some(run_id),
            inputs: inputs.to_vec(),
            ..RunRecord::default()
        };
        self.apply(rec, Mode::Live).map(|_| ())
    }

    /// Changes a run's status, end time or name.
    pub fn update_run(&mut self, run_id: RunId, update: RunUpdate) -> Result<()> {
        let rec = RunRecord {
            run_id: Some(run_id),
            status: update.status,
            end_time: update.end_time,
            run_name: update.run_name,
            ..RunRecord::default()
        };
        self.apply(rec, Mode::Live).map(|_| ())
    }

    /// MLflow's `log_param`: one param of an active run.
    pub fn log_param(&mut self, run_id: RunId, key: &str, value: &str) -> Result<()> {
        let rec = RunRecord {
            run_id: Some(run_id),
            params: vec![(key.to_owned(), value.to_owned())],
            ..RunRecord::default()
        };
        self.apply(rec, Mode::Live).map(|_| ())
    }

    /// MLflow's `set_tag`: sets (or overwrites) one tag of an active run.
    /// `mlflow.runName` renames the run.
    pub fn set_tag(&mut self, run_id: RunId, key: &str, value: &str) -> Result<()> {
        let rec = RunRecord {
            run_id: Some(run_id),
            tags: vec![(key.to_owned(), value.to_owned())],
            ..RunRecord::default()
        };
        self.apply(rec, Mode::Live).map(|_| ())
    }

    /// MLflow's `delete_tag`: removes a tag of an active run; fails with
    /// [`Error::TagNotFound`] when the run has no such tag.
    pub fn delete_tag(&mut self, run_id: RunId, key: &str) -> Result<()> {
        if self.failed {
            return Err(Error::InvalidInput(
                "this write batch failed earlier and can only be dropped".into(),
            ));
        }
        let rec = RunRecord {
            run_id: Some(run_id),
            ..RunRecord::default()
        };
        self.validate(&rec, Mode::Live)?;
        let not_found = || Error::TagNotFound {
            run_id: run_id.to_string(),
            key: key.to_owned(),
        };
        if key == TAG_RUN_NAME {
            return Err(Error::InvalidInput(format!(
                "the tag {TAG_RUN_NAME} holds the run's name and cannot be deleted; set it instead"
            )));
        }
        let key_id = self.writer.dict.key_id(key);
        let touched = self
            .runs
            .get_mut(&run_id.as_u128())
            .ok_or_else(|| Error::corrupt("write batch", "run vanished"))?;
        if key == TAG_USER {
            if touched.row.user.is_empty() {
                return Err(not_found());
            }
            touched.row.user.clear();
            return Ok(());
        }
        let key_id = key_id.ok_or_else(not_found)?;
        let before = touched.row.tags.len();
        touched.row.tags.retain(|(k, _)| *k != key_id);
        if touched.row.tags.len() == before {
            return Err(not_found());
        }
        Ok(())
    }

    /// Whether a failure (not the caller's fault) spoiled this batch; it can
    /// then only be dropped.
    pub fn is_failed(&self) -> bool {
        self.failed
    }

    /// Soft-deletes a run (hidden from searches unless asked for).
    pub fn delete_run(&mut self, run_id: RunId) -> Result<()> {
        self.set_lifecycle(run_id, LifecycleStage::Deleted)
    }

    /// Restores a soft-deleted run.
    pub fn restore_run(&mut self, run_id: RunId) -> Result<()> {
        self.set_lifecycle(run_id, LifecycleStage::Active)
    }

    fn set_lifecycle(&mut self, run_id: RunId, stage: LifecycleStage) -> Result<()> {
        let rec = RunRecord {
            run_id: Some(run_id),
            lifecycle_stage: Some(stage),
            ..RunRecord::default()
        };
        self.apply(rec, Mode::Append).map(|_| ())
    }

    fn apply(&mut self, rec: RunRecord, mode: Mode) -> Result<RunId> {
        if self.failed {
            return Err(Error::InvalidInput(
                "this write batch failed earlier and can only be dropped".into(),
            ));
        }
        let plan = self.validate(&rec, mode)?;
        self.guarded(|b| b.apply_valid(rec, plan))
    }

    fn apply_valid(&mut self, rec: RunRecord, plan: Plan) -> Result<RunId> {
        let experiment = match plan.experiment {
            ExperimentRef::Existing(id) => id,
            ExperimentRef::New(name) => self.insert_experiment(&name)?.0,
        };
        let run_id = match rec.run_id {
            Some(id) => id,
            None => RunId::random()?,
        };
        if !plan.existing {
            let ordinal = self.state.next_ordinal;
            self.state.next_ordinal = ordinal
                .checked_add(1)
                .ok_or_else(|| Error::InvalidInput("too many runs in one store".into()))?;
            let row = RunRow {
                ordinal,
                id: run_id.to_bytes(),
                experiment,
                status: rec.status.unwrap_or(RunStatus::Finished).code(),
                lifecycle: rec.lifecycle_stage.unwrap_or(LifecycleStage::Active).code(),
                start_time: rec.start_time.unwrap_or_else(now_ms),
                end_time: rec.end_time,
                name: plan.run_name.clone().unwrap_or_else(random_run_name),
                user: plan.user.clone().unwrap_or_default(),
                params: Vec::new(),
                tags: Vec::new(),
                metrics: Vec::new(),
                inputs: Vec::new(),
            };
            // Every id that may reach the catalog goes into the filter first.
            if let Some(filter) = &mut self.writer.id_filter {
                filter.insert(run_id.as_u128());
            }
            self.runs
                .insert(run_id.as_u128(), Touched { row, stored: None });
        }
        let WriteBatch {
            txn,
            writer,
            runs,
            points,
            dedupe,
            undo,
            ..
        } = self;
        let txn = txn
            .as_ref()
            .ok_or_else(|| Error::corrupt("write batch", "closed"))?;
        let touched = runs
            .get_mut(&run_id.as_u128())
            .ok_or_else(|| Error::corrupt("write batch", "run vanished"))?;
        let row = &mut touched.row;
        if plan.existing {
            if let Some(s) = rec.status {
                row.status = s.code();
            }
            if let Some(l) = rec.lifecycle_stage {
                row.lifecycle = l.code();
            }
            if rec.end_time.is_some() {
                row.end_time = rec.end_time;
            }
            if let Some(name) = &plan.run_name {
                row.name.clone_from(name);
            }
            if row.user.is_empty()
                && let Some(user) = &plan.user
            {
                row.user.clone_from(user);
            }
        }
        let mut t = DictTables::open(txn)?;
        let dict = &mut writer.dict;
        for (k, v) in &rec.params {
            let key = dict.intern_key(&mut t, k, undo)?;
            if row.param(key).is_none() {
                let code = dict.intern_value(&mut t, key, v, undo)?;
                RunRow::set(&mut row.params, key, code);
            }
        }
        for (k, v) in &rec.tags {
            if k == TAG_RUN_NAME || k == TAG_USER {
                continue; // attributes, already applied
            }
            let key = dict.intern_key(&mut t, k, undo)?;
            let code = dict.intern_value(&mut t, key, v, undo)?;
            RunRow::set(&mut row.tags, key, code);
        }
        for (k, pts) in &rec.metrics {
            if pts.is_empty() {
                continue;
            }
            let key = dict.intern_key(&mut t, k, undo)?;
            let series = series_id(row.ordinal, key);
            let stored_max_step = touched
                .stored
                .as_ref()
                .and_then(|s| s.latest(key))
                .map(|p| p.step);
            let mut latest = row.latest(key);
            for p in pts {
                points.push(series, *p);
                if latest.is_none_or(|cur| is_later(p, &cur)) {
                    latest = Some(*p);
                }
                if stored_max_step.is_some_and(|max| p.step <= max) {
                    dedupe.insert(series);
                }
            }
            if let Some(l) = latest {
                row.set_latest(key, l);
            }
        }
        for input in rec.inputs {
            // MLflow links a run to a dataset (name, digest) once: a repeat,
            // even with another context, keeps the first link.
            let known = row
                .inputs
                .iter()
                .any(|i| i.name == input.name && i.digest == input.digest);
            if !known {
                row.inputs.push(input);
            }
        }
        Ok(run_id)
    }
}

/// Touched runs whose table a finished batch keeps for the next one.
pub(super) const MAX_SPARE_RUNS: usize = 64 << 10;

impl Drop for WriteBatch<'_> {
    fn drop(&mut self) {
        // Uncommitted: forget the dictionary entries this batch added (redb
        // discards the transaction itself when it is dropped).
        let undo = std::mem::take(&mut self.undo);
        self.writer.dict.rollback(undo);
        let points = std::mem::take(&mut self.points);
        self.keep_spare(points);
    }
}
