//! Checking a record against MLflow's rules and the stored state before
//! anything changes, so a rejected call leaves the batch as it was.

use foldhash::HashSet;
use redb::ReadableTable;

use super::{Mode, RunRecord, Touched, WriteBatch};
use crate::catalog::dict::DictTables;
use crate::catalog::id_filter::IdFilter;
use crate::catalog::rows::RunRow;
use crate::catalog::{RUN_IDS, RUNS};
use crate::error::{Error, Result};
use crate::limits;
use crate::types::{LifecycleStage, RunId, TAG_RUN_NAME, TAG_USER};

/// Catalog lookups of run ids a writer makes before it builds its id filter
/// (building it reads every stored id once).
const ID_FILTER_AFTER: u64 = 4096;

impl WriteBatch<'_> {
    /// Checks a record against the rules and the stored state; changes nothing.
    pub(super) fn validate(&mut self, rec: &RunRecord, mode: Mode) -> Result<Plan> {
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
            (Mode::Live, Some(row)) if row.lifecycle != LifecycleStage::Active.code() => {
                return Err(Error::InvalidInput(format!(
                    "The run {} must be in the 'active' state. Current state is deleted.",
                    fmt_id(rec.run_id)
                )));
            }
            (Mode::Append | Mode::Live, None) => {
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
    pub(super) fn load_run(&mut self, id: RunId) -> Result<Option<RunRow>> {
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
}

pub(super) struct Plan {
    pub(super) existing: bool,
    pub(super) experiment: ExperimentRef,
    pub(super) run_name: Option<String>,
    pub(super) user: Option<String>,
}

pub(super) enum ExperimentRef {
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

pub(super) fn fmt_id(id: Option<RunId>) -> String {
    id.map(|r| r.to_string()).unwrap_or_default()
}
