//! [`WriteBatch`]: one redb write transaction plus the metric points it adds.
//!
//! Every method checks its whole input against MLflow's rules and the stored
//! state *before* changing anything, so a rejected call leaves the batch as it
//! was and can be followed by more calls. [`WriteBatch::commit`] makes the
//! batch durable at once: new points go into a new segment file (written and
//! synced before the catalog commit that lists it) or, for small batches, into
//! the catalog's pending table; a crash at any instant leaves either all of
//! the batch or none of it.

use foldhash::{HashMap, HashSet};
use std::sync::MutexGuard;

use redb::{ReadableTable, Table, WriteTransaction};

use super::{Store, Writer, now_ms};
use crate::catalog::dict::{DictTables, DictUndo};
use crate::catalog::id_filter::IdFilter;
use crate::catalog::rows::{ExperimentRow, RunRow, SegmentRow, decode, encode, pack_points};
use crate::catalog::state::StoreState;
use crate::catalog::{
    CHANGES, EXPERIMENT_NAMES, EXPERIMENTS, META, PENDING, RUN_IDS, RUNS, SEGMENTS, series_id,
};
use crate::error::{Error, Result};
use crate::limits;
use crate::metric::{MetricPoint, is_later, stored_form};
use crate::names::random_run_name;
use crate::segment::{PointColumns, write_segment};
use crate::types::{
    DatasetInput, ExperimentId, LifecycleStage, RunId, RunStatus, TAG_RUN_NAME, TAG_USER,
};

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

/// How an upsert treats an existing or missing run.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Create,
    Append,
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
}

impl<'s> WriteBatch<'s> {
    pub(super) fn begin(store: &'s Store) -> Result<Self> {
        let mut writer = store.lock_writer()?;
        let points = std::mem::take(&mut writer.spare_points);
        let runs = std::mem::take(&mut writer.spare_runs);
        let mut txn = store.database()?.begin_write()?;
        txn.set_quick_repair(true);
        let mut state = StoreState::load(&txn.open_table(META)?)?
            .ok_or_else(|| Error::corrupt("catalog", "store state missing"))?;
        state.seq += 1;
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
        })
    }

    fn txn(&self) -> Result<&WriteTransaction> {
        self.txn
            .as_ref()
            .ok_or_else(|| Error::corrupt("write batch", "used after commit"))
    }

    /// Runs `f`; a failure that is not the caller's fault (I/O, corruption)
    /// poisons the batch, since it may have left it half-applied.
    fn guarded<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
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

    /// The id of experiment `name`, if it exists.
    pub fn experiment_id(&self, name: &str) -> Result<Option<ExperimentId>> {
        let names = self.txn()?.open_table(EXPERIMENT_NAMES)?;
        Ok(names.get(name)?.map(|v| ExperimentId(v.value())))
    }

    /// Creates experiment `name`; fails if it exists.
    pub fn create_experiment(&mut self, name: &str) -> Result<ExperimentId> {
        limits::check_experiment_name(name)?;
        if self.experiment_id(name)?.is_some() {
            return Err(Error::InvalidInput(format!(
                "experiment {name:?} already exists"
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

    fn insert_experiment(&mut self, name: &str) -> Result<ExperimentId> {
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
        Ok(ExperimentId(id))
    }

    /// [`experiment_row`](Self::experiment_row), remembered for the batch.
    fn cached_experiment_row(&mut self, id: u32) -> Result<&ExperimentRow> {
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
    fn cached_experiment_id(&mut self, name: &str) -> Result<Option<u32>> {
        if let Some(&id) = self.experiment_ids.get(name) {
            return Ok(Some(id));
        }
        let id = self.experiment_id(name)?.map(|id| id.0);
        if let Some(id) = id {
            self.experiment_ids.insert(name.into(), id);
        }
        Ok(id)
    }

    fn experiment_row(&self, id: u32) -> Result<ExperimentRow> {
        let table = self.txn()?.open_table(EXPERIMENTS)?;
        let row = table
            .get(id)?
            .ok_or_else(|| Error::ExperimentNotFound(id.to_string()))?;
        decode("experiment", row.value())
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
        self.apply(rec, Mode::Append).map(|_| ())
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
        self.apply(rec, Mode::Append).map(|_| ())
    }

    /// Logs dataset inputs.
    pub fn log_inputs(&mut self, run_id: RunId, inputs: &[DatasetInput]) -> Result<()> {
        let rec = RunRecord {
            run_id: Some(run_id),
            inputs: inputs.to_vec(),
            ..RunRecord::default()
        };
        self.apply(rec, Mode::Append).map(|_| ())
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
        self.apply(rec, Mode::Append).map(|_| ())
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

    /// Checks a record against the rules and the stored state; changes nothing.
    fn validate(&mut self, rec: &RunRecord, mode: Mode) -> Result<Plan> {
        let existing = match rec.run_id {
            Some(id) => self.load_run(id)?,
            None => None,
        };
        match (mode, &existing) {
            (Mode::Create, Some(_)) => {
                return Err(Error::InvalidInput(format!(
                    "run {} already exists",
                    rec.run_id.map(|r| r.to_string()).unwrap_or_default()
                )));
            }
            (Mode::Append, None) => {
                return Err(Error::RunNotFound(
                    rec.run_id.map(|r| r.to_string()).unwrap_or_default(),
                ));
            }
            _ => {}
        }
        // Names and users may come as fields or as their mirror tags.
        let tag = |key: &str| {
            rec.tags
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        let run_name = agree("run_name", rec.run_name.as_deref(), tag(TAG_RUN_NAME))?;
        let user = agree("user", rec.user.as_deref(), tag(TAG_USER))?;

        for (k, v) in &rec.params {
            limits::check_param(k, v)?;
        }
        let mut seen = HashSet::default();
        for (k, v) in &rec.params {
            if !seen.insert(k.as_str()) {
                let first = rec.params.iter().find(|(k2, _)| k2 == k).map(|(_, v)| v);
                if first != Some(v) {
                    return Err(Error::InvalidInput(format!(
                        "param {k:?} is given twice with different values"
                    )));
                }
            }
        }
        for (k, v) in &rec.tags {
            limits::check_tag(k, v)?;
        }
        for (k, pts) in &rec.metrics {
            limits::check_key(limits::KeyKind::Metric, k)?;
            for p in pts {
                limits::check_metric_timestamp(k, p.timestamp)?;
            }
        }
        for input in &rec.inputs {
            limits::check_input(input)?;
        }
        if let Some(name) = run_name {
            limits::check_length(|| "run name".into(), name, limits::MAX_TAG_VAL_LENGTH)?;
        }

        let experiment = match &existing {
            Some(row) => {
                let exp = self.cached_experiment_row(row.experiment)?;
                if let Some(want) = &rec.experiment
                    && *want != exp.name
                {
                    return Err(Error::InvalidInput(format!(
                        "run {} belongs to experiment {:?}, not {want:?}",
                        fmt_id(rec.run_id),
                        exp.name
                    )));
                }
                if let Some(start) = rec.start_time
                    && start != row.start_time
                {
                    return Err(Error::InvalidInput(format!(
                        "run {}: start_time is {} and cannot change to {start}",
                        fmt_id(rec.run_id),
                        row.start_time
                    )));
                }
                if let Some(user) = user
                    && !row.user.is_empty()
                    && user != row.user
                {
                    return Err(Error::InvalidInput(format!(
                        "run {}: user is {:?} and cannot change to {user:?}",
                        fmt_id(rec.run_id),
                        row.user
                    )));
                }
                self.check_params_immutable(row, &rec.params, rec.run_id)?;
                ExperimentRef::Existing(row.experiment)
            }
            None => {
                let name = rec
                    .experiment
                    .as_deref()
                    .ok_or_else(|| Error::InvalidInput("a new run needs an experiment".into()))?;
                limits::check_experiment_name(name)?;
                match self.cached_experiment_id(name)? {
                    Some(id) => {
                        let exp = self.cached_experiment_row(id)?;
                        if exp.lifecycle != LifecycleStage::Active.code() {
                            return Err(Error::InvalidInput(format!(
                                "experiment {name:?} is deleted; runs cannot be created in it"
                            )));
                        }
                        ExperimentRef::Existing(id)
                    }
                    None => ExperimentRef::New(name.to_owned()),
                }
            }
        };
        Ok(Plan {
            existing: existing.is_some(),
            experiment,
            run_name: run_name.map(str::to_owned),
            user: user.map(str::to_owned),
        })
    }

    fn check_params_immutable(
        &mut self,
        row: &RunRow,
        params: &[(String, String)],
        run_id: Option<RunId>,
    ) -> Result<()> {
        if params.is_empty() || row.params.is_empty() {
            return Ok(());
        }
        let txn = self
            .txn
            .as_ref()
            .ok_or_else(|| Error::corrupt("write batch", "closed"))?;
        let mut t = DictTables::open(txn)?;
        let dict = &mut self.writer.dict;
        for (k, v) in params {
            let Some(key) = dict.key_id(k) else { continue };
            let Some(stored) = row.param(key) else {
                continue;
            };
            if dict.value_code(&mut t, key, v)? != Some(stored) {
                return Err(Error::ParamConflict {
                    run_id: fmt_id(run_id),
                    key: k.clone(),
                    old: dict.value_name(&mut t, key, stored)?.to_owned(),
                    new: v.clone(),
                });
            }
        }
        Ok(())
    }

    /// The run's current row in this batch, loading it from the catalog.
    fn load_run(&mut self, id: RunId) -> Result<Option<RunRow>> {
        if let Some(t) = self.runs.get(&id.as_u128()) {
            return Ok(Some(t.row.clone()));
        }
        if !self.may_be_stored(id)? {
            return Ok(None);
        }
        let txn = self.txn()?;
        let Some(ordinal) = txn
            .open_table(RUN_IDS)?
            .get(id.as_u128())?
            .map(|v| v.value())
        else {
            return Ok(None);
        };
        let runs = txn.open_table(RUNS)?;
        let bytes = runs
            .get(ordinal)?
            .ok_or_else(|| Error::corrupt("catalog", format!("run {id} has no row")))?;
        let row = RunRow::decode(bytes.value())?;
        drop(bytes);
        drop(runs);
        self.runs.insert(
            id.as_u128(),
            Touched {
                row: row.clone(),
                stored: Some(row.clone()),
            },
        );
        Ok(Some(row))
    }

    /// False when run `id` is certainly not in the catalog, by the writer's
    /// id filter; built (from the catalog and this batch) once the writer
    /// has made [`ID_FILTER_AFTER`] lookups, rebuilt larger when full.
    fn may_be_stored(&mut self, id: RunId) -> Result<bool> {
        let writer = &mut *self.writer;
        if writer.id_filter.is_none() {
            writer.id_lookups += 1;
            if writer.id_lookups < ID_FILTER_AFTER {
                return Ok(true);
            }
        }
        if self.writer.id_filter.as_ref().is_none_or(IdFilter::is_full) {
            let txn = self
                .txn
                .as_ref()
                .ok_or_else(|| Error::corrupt("write batch", "closed"))?;
            let table = txn.open_table(RUN_IDS)?;
            let stored =
                usize::try_from(redb::ReadableTableMetadata::len(&table)?).unwrap_or(usize::MAX);
            let mut filter = IdFilter::with_capacity(stored.saturating_add(self.runs.len()) * 2);
            for entry in table.iter()? {
                filter.insert(entry?.0.value());
            }
            // This batch's new runs are not in the table yet.
            for id in self.runs.keys() {
                filter.insert(*id);
            }
            self.writer.id_filter = Some(filter);
        }
        Ok(self
            .writer
            .id_filter
            .as_ref()
            .is_none_or(|f| f.may_contain(id.as_u128())))
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

    /// Makes the batch durable and visible.
    pub fn commit(mut self) -> Result<CommitSummary> {
        if self.failed {
            return Err(Error::InvalidInput(
                "this write batch failed earlier and was not committed".into(),
            ));
        }
        let txn = self
            .txn
            .take()
            .ok_or_else(|| Error::corrupt("write batch", "committed twice"))?;
        let summary = self.write_out(&txn)?;
        txn.commit()?;
        // Committed: the dictionary entries are now the catalog's.
        self.undo = DictUndo::default();
        let store = self.store;
        drop(self);
        store.maintain()?;
        Ok(summary)
    }

    fn write_out(&mut self, txn: &WriteTransaction) -> Result<CommitSummary> {
        let seq = self.state.seq;
        let mut summary = CommitSummary::default();
        {
            let mut runs = txn.open_table(RUNS)?;
            let mut run_ids = txn.open_table(RUN_IDS)?;
            let mut changes = txn.open_table(CHANGES)?;
            let mut changed: Vec<(&u128, &Touched)> = self
                .runs
                .iter()
                .filter(|(_, t)| t.stored.as_ref() != Some(&t.row))
                .collect();
            // Ids first, in key order; then rows in ordinal order, which for
            // new runs appends to the end of the table.
            changed.sort_unstable_by_key(|(id, _)| **id);
            for (id, t) in &changed {
                if t.stored.is_none() {
                    run_ids.insert(**id, t.row.ordinal)?;
                }
            }
            changed.sort_unstable_by_key(|(_, t)| t.row.ordinal);
            for (_, t) in &changed {
                runs.insert(t.row.ordinal, t.row.encode()?.as_slice())?;
                changes.insert((seq, t.row.ordinal), ())?;
                summary.runs_changed += 1;
            }
        }
        let mut points = std::mem::take(&mut self.points);
        points.sort_dedup();
        if !self.dedupe.is_empty() {
            let stored = self.store.stored_points(txn, &self.dedupe)?;
            retain_new(&mut points, &stored);
        }
        summary.points_written = points.len();
        if points.len() >= self.store.options.direct_segment_points {
            let id = self.state.next_segment;
            self.state.next_segment += 1;
            let file = segment_file_name(id);
            let info = write_segment(&self.store.segments_dir().join(&file), &points)?;
            let row = SegmentRow {
                file,
                rows: info.rows,
                bytes: info.bytes,
                min_series: info.min_series,
                max_series: info.max_series,
            };
            txn.open_table(SEGMENTS)?
                .insert(id, encode(&row)?.as_slice())?;
            summary.wrote_segment = true;
        } else if !points.is_empty() {
            let mut pending = txn.open_table(PENDING)?;
            write_pending(&mut pending, seq, &points)?;
            self.state.pending_points += points.len() as u64;
        }
        self.state.save(&mut txn.open_table(META)?)?;
        self.keep_spare(points);
        Ok(summary)
    }

    /// Keeps `points`' buffers and the table of touched runs for the next
    /// batch, unless they are larger than a bulk load's batch needs.
    fn keep_spare(&mut self, mut points: PointColumns) {
        let spare = &mut self.writer;
        if (spare.spare_points.capacity()..=MAX_SPARE_POINTS).contains(&points.capacity()) {
            points.clear();
            spare.spare_points = points;
        }
        let mut runs = std::mem::take(&mut self.runs);
        if (spare.spare_runs.capacity()..=MAX_SPARE_RUNS).contains(&runs.capacity()) {
            runs.clear();
            spare.spare_runs = runs;
        }
    }
}

/// Point rows whose buffers a finished batch keeps for the next one (32 bytes
/// a row: 128 MiB at the CLI's default batch of 4,000,000 points).
const MAX_SPARE_POINTS: usize = 4 << 20;

/// Catalog lookups of run ids a writer makes before it builds its id filter
/// (building it reads every stored id once).
const ID_FILTER_AFTER: u64 = 4096;

/// Touched runs whose table a finished batch keeps for the next one.
const MAX_SPARE_RUNS: usize = 64 << 10;

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

/// Name of segment `id`'s file.
pub(crate) fn segment_file_name(id: u64) -> String {
    format!("seg-{id:016x}.parquet")
}

/// Stages sorted points in the pending table, one value per series.
pub(crate) fn write_pending(
    pending: &mut Table<'_, (u64, u64), &'static [u8]>,
    seq: u64,
    points: &PointColumns,
) -> Result<()> {
    let mut start = 0;
    let mut buf = Vec::new();
    while start < points.len() {
        let series = points.series[start];
        let mut end = start;
        buf.clear();
        while end < points.len() && points.series[end] == series {
            buf.push(points.point(end));
            end += 1;
        }
        pending.insert((series, seq), pack_points(&buf).as_slice())?;
        start = end;
    }
    Ok(())
}

struct Plan {
    existing: bool,
    experiment: ExperimentRef,
    run_name: Option<String>,
    user: Option<String>,
}

enum ExperimentRef {
    Existing(u32),
    New(String),
}

fn agree<'a>(what: &str, field: Option<&'a str>, tag: Option<&'a str>) -> Result<Option<&'a str>> {
    match (field, tag) {
        (Some(f), Some(t)) if f != t => Err(Error::InvalidInput(format!(
            "{what} {f:?} and its tag value {t:?} differ"
        ))),
        (Some(f), _) => Ok(Some(f)),
        (None, t) => Ok(t),
    }
}

fn fmt_id(id: Option<RunId>) -> String {
    id.map(|r| r.to_string()).unwrap_or_default()
}

/// Drops the points whose identity is in `stored`.
fn retain_new(points: &mut PointColumns, stored: &HashSet<super::read::PointKey>) {
    let mut out = PointColumns::default();
    for i in 0..points.len() {
        let p = points.point(i);
        if !stored.contains(&point_identity(points.series[i], &p)) {
            out.push(points.series[i], p);
        }
    }
    *points = out;
}

/// A point's identity for duplicate detection: MLflow's stored form.
pub(crate) fn point_identity(series: u64, p: &MetricPoint) -> (u64, i64, i64, u64, bool) {
    let (v, nan) = stored_form(p.value);
    (series, p.step, p.timestamp, v.to_bits(), nan)
}
