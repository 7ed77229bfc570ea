//! Reads: runs, experiments and metric histories, each from one consistent
//! catalog snapshot.

use std::collections::BTreeMap;

use foldhash::{HashMap, HashSet};
use std::sync::Arc;

use redb::{ReadTransaction, ReadableTable};

use super::Store;
use super::write::point_identity;
use crate::catalog::dict::read_value;
use crate::catalog::rows::{ExperimentRow, RunRow, SegmentRow, decode, unpack_points};
use crate::catalog::{
    EXPERIMENT_NAMES, EXPERIMENTS, KEYS, PENDING, RUN_IDS, RUNS, SEGMENTS, VALUE_NAMES, series_id,
};
use crate::error::{Error, Result};
use crate::metric::{MetricPoint, point_order, same_point};
use crate::segment::{PointColumns, Segment};
use crate::types::{
    Experiment, ExperimentId, LifecycleStage, Run, RunId, RunStatus, TAG_RUN_NAME, TAG_USER,
};

/// Identity of a stored point (see [`point_identity`]).
pub(crate) type PointKey = (u64, i64, i64, u64, bool);

impl Store {
    /// The store's default artifact root URI (`file://<store>/artifacts` as
    /// it was when the store was created): experiments without an explicit
    /// location keep their artifacts at `<root>/<experiment id>`.
    pub fn artifact_root(&self) -> Result<String> {
        let txn = self.begin_read()?;
        Ok(self.state(&txn)?.artifact_root)
    }

    /// The run with id `run_id`.
    pub fn get_run(&self, run_id: RunId) -> Result<Run> {
        let txn = self.begin_read()?;
        let mut runs = self.runs_at(&txn, &[run_id])?;
        runs.pop()
            .flatten()
            .ok_or_else(|| Error::RunNotFound(run_id.to_string()))
    }

    /// Whether a run with id `run_id` exists.
    pub fn run_exists(&self, run_id: RunId) -> Result<bool> {
        let txn = self.begin_read()?;
        Ok(read_run_row(&txn, run_id)?.is_some())
    }

    /// The runs `ids` as of `txn` (a [`super::ReadView`]'s), in the order given; `None` for an id
    /// with no run. Tables are opened once and value texts cached, so a page
    /// of thousands of runs costs one catalog lookup per run and value.
    pub(crate) fn runs_at(&self, txn: &ReadTransaction, ids: &[RunId]) -> Result<Vec<Option<Run>>> {
        let run_ids = txn.open_table(RUN_IDS)?;
        let mut ordinals = Vec::with_capacity(ids.len());
        for id in ids {
            ordinals.push(run_ids.get(id.as_u128())?.map(|v| v.value()));
        }
        self.decode_runs(txn, &ordinals)
    }

    fn decode_runs(
        &self,
        txn: &ReadTransaction,
        ordinals: &[Option<u32>],
    ) -> Result<Vec<Option<Run>>> {
        // (Decoding slices on several threads was tried: mimalloc's
        // cross-thread frees and fresh thread heaps ate the gain.)
        let runs = txn.open_table(RUNS)?;
        let mut decoder = RunDecoder::new(self, txn)?;
        let mut out = Vec::with_capacity(ordinals.len());
        for &ordinal in ordinals {
            let Some(bytes) = ordinal.map(|o| runs.get(o)).transpose()?.flatten() else {
                out.push(None);
                continue;
            };
            let row = RunRow::decode(bytes.value())?;
            out.push(Some(decoder.run(RunId::from_u128(row.run_id()), &row)?));
        }
        decoder.publish();
        Ok(out)
    }

    /// The experiment named `name`, if any.
    pub fn experiment_by_name(&self, name: &str) -> Result<Option<Experiment>> {
        let txn = self.begin_read()?;
        let id = match txn.open_table(EXPERIMENT_NAMES)?.get(name)? {
            Some(v) => v.value(),
            None => return Ok(None),
        };
        Ok(Some(experiment_from_row(id, read_experiment(&txn, id)?)?))
    }

    /// Every experiment, by id.
    pub fn experiments(&self) -> Result<Vec<Experiment>> {
        self.experiments_in(&self.begin_read()?)
    }

    /// The full history of metric `key` of run `run_id`, ordered by step,
    /// then timestamp, then value. Empty when the run never logged `key`.
    pub fn metric_history(&self, run_id: RunId, key: &str) -> Result<Vec<MetricPoint>> {
        // A segment can vanish between our catalog snapshot and opening it when
        // another process merges segments; a fresh snapshot no longer lists it.
        let mut attempts = 0;
        loop {
            let txn = self.begin_read()?;
            match self.history_in(&txn, run_id, key) {
                Err(Error::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound && attempts < 3 =>
                {
                    attempts += 1;
                }
                other => return other,
            }
        }
    }

    fn history_in(
        &self,
        txn: &ReadTransaction,
        run_id: RunId,
        key: &str,
    ) -> Result<Vec<MetricPoint>> {
        let row =
            read_run_row(txn, run_id)?.ok_or_else(|| Error::RunNotFound(run_id.to_string()))?;
        let Some(key_id) = txn.open_table(KEYS)?.get(key)?.map(|v| v.value()) else {
            return Ok(Vec::new());
        };
        if row.latest(key_id).is_none() {
            return Ok(Vec::new());
        }
        let series = series_id(row.ordinal, key_id);
        let mut out = Vec::new();
        for (id, seg) in segments_holding(&txn.open_table(SEGMENTS)?, series, series)? {
            self.segments.get(id, &seg)?.read_series(series, &mut out)?;
        }
        let pending = txn.open_table(PENDING)?;
        for entry in pending.range((series, 0)..=(series, u64::MAX))? {
            let (_, bytes) = entry?;
            unpack_points(bytes.value(), &mut out)?;
        }
        out.sort_by(point_order);
        out.dedup_by(|a, b| same_point(a, b));
        Ok(out)
    }

    /// The identities of every stored point of `series`, as of `txn` (used to
    /// drop duplicates before a commit).
    pub(crate) fn stored_points(
        &self,
        txn: &redb::WriteTransaction,
        series: &HashSet<u64>,
    ) -> Result<HashSet<PointKey>> {
        let mut wanted: Vec<u64> = series.iter().copied().collect();
        wanted.sort_unstable();
        let (Some(&lo), Some(&hi)) = (wanted.first(), wanted.last()) else {
            return Ok(HashSet::default());
        };
        let mut found = PointColumns::default();
        for (id, seg) in segments_holding(&txn.open_table(SEGMENTS)?, lo, hi)? {
            let inside: Vec<u64> = wanted
                .iter()
                .copied()
                .filter(|s| (seg.min_series..=seg.max_series).contains(s))
                .collect();
            if !inside.is_empty() {
                self.segments
                    .get(id, &seg)?
                    .read_series_many(&inside, &mut found)?;
            }
        }
        let mut keys = HashSet::with_capacity_and_hasher(found.len(), Default::default());
        for i in 0..found.len() {
            let p = MetricPoint {
                step: found.step[i],
                timestamp: found.timestamp[i],
                value: found.value[i],
            };
            keys.insert(point_identity(found.series[i], &p));
        }
        let pending = txn.open_table(PENDING)?;
        let mut buf = Vec::new();
        for &s in &wanted {
            for entry in pending.range((s, 0)..=(s, u64::MAX))? {
                let (_, bytes) = entry?;
                buf.clear();
                unpack_points(bytes.value(), &mut buf)?;
                keys.extend(buf.iter().map(|p| point_identity(s, p)));
            }
        }
        Ok(keys)
    }
}

/// The segments whose series range meets `lo..=hi`, oldest first.
pub(crate) fn segments_holding(
    table: &impl ReadableTable<u64, &'static [u8]>,
    lo: u64,
    hi: u64,
) -> Result<Vec<(u64, SegmentRow)>> {
    let mut out = Vec::new();
    for entry in table.iter()? {
        let (id, bytes) = entry?;
        let row: SegmentRow = decode("segment manifest", bytes.value())?;
        if row.min_series <= hi && row.max_series >= lo {
            out.push((id.value(), row));
        }
    }
    Ok(out)
}

/// Reads a run's row.
pub(crate) fn read_run_row(txn: &ReadTransaction, run_id: RunId) -> Result<Option<RunRow>> {
    let Some(ordinal) = txn.open_table(RUN_IDS)?.get(run_id.as_u128())? else {
        return Ok(None);
    };
    let runs = txn.open_table(RUNS)?;
    let row = runs.get(ordinal.value())?;
    row.map(|v| RunRow::decode(v.value())).transpose()
}

fn read_experiment(txn: &ReadTransaction, id: u32) -> Result<ExperimentRow> {
    let table = txn.open_table(EXPERIMENTS)?;
    let row = table
        .get(id)?
        .ok_or_else(|| Error::corrupt("run", format!("experiment {id} missing")))?;
    decode("experiment", row.value())
}

pub(super) fn experiment_from_row(id: u32, row: ExperimentRow) -> Result<Experiment> {
    Ok(Experiment {
        id: ExperimentId(id),
        lifecycle_stage: LifecycleStage::from_code(row.lifecycle).ok_or_else(|| {
            Error::corrupt("experiment", format!("lifecycle code {}", row.lifecycle))
        })?,
        name: row.name,
        artifact_location: row.artifact_location,
        creation_time: row.creation_time,
        last_update_time: row.last_update_time,
        tags: row.tags.into_iter().collect(),
    })
}

/// Open segments, shared by all readers of a store.
pub(crate) struct SegmentCache {
    dir: std::path::PathBuf,
    open: std::sync::RwLock<HashMap<u64, Arc<Segment>>>,
}

impl SegmentCache {
    pub(crate) fn new(dir: std::path::PathBuf) -> Self {
        SegmentCache {
            dir,
            open: Default::default(),
        }
    }

    /// The open segment `id`, opening (and mapping) it on first use.
    pub(crate) fn get(&self, id: u64, row: &SegmentRow) -> Result<Arc<Segment>> {
        if let Ok(open) = self.open.read()
            && let Some(seg) = open.get(&id)
        {
            return Ok(seg.clone());
        }
        let seg = Arc::new(Segment::open(&self.dir.join(&row.file))?);
        if let Ok(mut open) = self.open.write() {
            open.insert(id, seg.clone());
        }
        Ok(seg)
    }

    /// Forgets segment `id` (after it was merged away).
    pub(crate) fn evict(&self, id: u64) {
        if let Ok(mut open) = self.open.write() {
            open.remove(&id);
        }
    }
}

/// Turns run rows into [`Run`]s, caching what many runs share. Made once
/// per page: it takes the store's caches once, not once per value.
struct RunDecoder<'a> {
    store: &'a Store,
    txn: &'a ReadTransaction,
    value_names: redb::ReadOnlyTable<(u32, u32), &'static str>,
    experiments: HashMap<u32, (String, String)>,
    /// Key names by id, as cached when the page began.
    names: Arc<Vec<Box<str>>>,
    /// The store's value texts, read-locked for the page.
    shared: Option<std::sync::RwLockReadGuard<'a, ValueTexts>>,
    /// Texts read from the catalog by this decoder, added to the store's
    /// cache when it is done.
    fresh: HashMap<(u32, u32), Arc<str>>,
}

/// Which parts of a [`Run`] a read fills in (the others stay empty): a
/// reader that needs only attributes skips the texts of params and tags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunParts {
    /// Params.
    pub params: bool,
    /// Tags (run name and user are always there).
    pub tags: bool,
    /// Latest metric values.
    pub metrics: bool,
    /// Dataset inputs.
    pub inputs: bool,
}

impl RunParts {
    /// Everything.
    pub const ALL: RunParts = RunParts {
        params: true,
        tags: true,
        metrics: true,
        inputs: true,
    };
    /// Attributes only.
    pub const NONE: RunParts = RunParts {
        params: false,
        tags: false,
        metrics: false,
        inputs: false,
    };
}

/// Param/tag value texts by (key id, value code).
pub(crate) type ValueTexts = HashMap<(u32, u32), Arc<str>>;

/// Most value texts the store keeps cached.
const VALUE_CACHE_MAX: usize = 4_000_000;

impl<'a> RunDecoder<'a> {
    fn new(store: &'a Store, txn: &'a ReadTransaction) -> Result<Self> {
        Ok(RunDecoder {
            store,
            txn,
            value_names: txn.open_table(VALUE_NAMES)?,
            experiments: HashMap::default(),
            names: store.key_names_holding(txn, 0).unwrap_or_default(),
            shared: store.value_texts.read().ok(),
            fresh: HashMap::default(),
        })
    }

    fn name(&mut self, key: u32) -> Result<String> {
        if (key as usize) >= self.names.len() {
            self.names = self.store.key_names_holding(self.txn, key)?;
        }
        self.names
            .get(key as usize)
            .map(|n| String::from(&**n))
            .ok_or_else(|| Error::corrupt("key dictionary", format!("no key with id {key}")))
    }

    fn value(&mut self, key: u32, code: u32) -> Result<String> {
        if let Some(v) = self.shared.as_ref().and_then(|c| c.get(&(key, code))) {
            return Ok(String::from(&**v));
        }
        if let Some(v) = self.fresh.get(&(key, code)) {
            return Ok(String::from(&**v));
        }
        let v = read_value(&self.value_names, key, code)?;
        self.fresh.insert((key, code), Arc::from(v.as_str()));
        Ok(v)
    }

    /// Shares what this decoder read with later reads.
    fn publish(mut self) {
        self.shared = None;
        if self.fresh.is_empty() {
            return;
        }
        if let Ok(mut cache) = self.store.value_texts.write() {
            if cache.len() + self.fresh.len() > VALUE_CACHE_MAX {
                cache.clear();
            }
            cache.extend(self.fresh);
        }
    }

    fn texts(&mut self, pairs: &[(u32, u32)]) -> Result<BTreeMap<String, String>> {
        let mut out = Vec::with_capacity(pairs.len());
        for &(k, code) in pairs {
            out.push((self.name(k)?, self.value(k, code)?));
        }
        // Built in bulk from sorted entries, not inserted one by one.
        Ok(BTreeMap::from_iter(out))
    }

    fn run(&mut self, run_id: RunId, row: &RunRow) -> Result<Run> {
        if !self.experiments.contains_key(&row.experiment) {
            let exp = read_experiment(self.txn, row.experiment)?;
            self.experiments
                .insert(row.experiment, (exp.name, exp.artifact_location));
        }
        let (experiment_name, artifact_location) =
            self.experiments
                .get(&row.experiment)
                .cloned()
                .ok_or_else(|| Error::corrupt("run", "experiment cache"))?;
        let params = self.texts(&row.params)?;
        let mut tags = self.texts(&row.tags)?;
        tags.insert(TAG_RUN_NAME.to_owned(), row.name.clone());
        if !row.user.is_empty() {
            tags.insert(TAG_USER.to_owned(), row.user.clone());
        }
        let mut metrics = Vec::with_capacity(row.metrics.len());
        for m in &row.metrics {
            metrics.push((self.name(m.key)?, m.point));
        }
        let metrics = BTreeMap::from_iter(metrics);
        let status = RunStatus::from_code(row.status)
            .ok_or_else(|| Error::corrupt("run", format!("status code {}", row.status)))?;
        let lifecycle_stage = LifecycleStage::from_code(row.lifecycle)
            .ok_or_else(|| Error::corrupt("run", format!("lifecycle code {}", row.lifecycle)))?;
        Ok(Run {
            run_id,
            run_name: row.name.clone(),
            experiment_id: ExperimentId(row.experiment),
            artifact_uri: format!("{artifact_location}/{run_id}/artifacts"),
            experiment_name,
            status,
            start_time: row.start_time,
            end_time: row.end_time,
            user: row.user.clone(),
            lifecycle_stage,
            params,
            tags,
            metrics,
            inputs: row.inputs.clone(),
        })
    }
}
