//! Bulk reads of a [`ReadView`] for analysis: runs in run-id order, the
//! key names a set of runs uses, and their metric points series by series
//! in passes of bounded memory — what Parquet export, SQL tables and curve
//! comparison read.
//!
//! Points are stored by series (`ordinal << 32 | key`), in segments and the
//! pending table, while an export wants them by run id and key name. A
//! [`PointPasses`] cuts the wanted runs, in the caller's order, into passes
//! of about `budget` points (estimated from the segments' page index, no
//! decoding), reads each pass's series with page skipping and orders them
//! in memory: peak memory follows the budget, not the store. A plan is
//! plain data (it borrows nothing), so a stream can own it next to its view.

use std::ops::Range;
use std::sync::Arc;

use redb::ReadableTable;

use super::ReadView;
use super::read::segments_holding;
use crate::catalog::rows::{PACKED_POINT, RunRow, SegmentRow, decode, unpack_points};
use crate::catalog::{PENDING, RUN_IDS, RUNS, SEGMENTS};
use crate::error::{Error, Result};
use crate::metric::{MetricPoint, point_order, same_point};
use crate::segment::PointColumns;
use crate::types::{Experiment, RunId, TAG_RUN_NAME, TAG_USER};

/// The key names a set of runs uses, per kind, each sorted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeySets {
    /// Param keys.
    pub params: Vec<String>,
    /// Metric keys.
    pub metrics: Vec<String>,
    /// Tag keys (with `mlflow.runName`, and `mlflow.user` when a run has a user).
    pub tags: Vec<String>,
}

/// One metric history inside a [`SeriesBatch`].
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Position of the run in the row list the read was asked for.
    pub position: usize,
    /// The run.
    pub run_id: RunId,
    /// The metric key.
    pub key: Arc<str>,
    /// Its points' range in the batch's columns.
    pub points: Range<usize>,
}

/// Metric histories in columns: series ordered by position, then key name;
/// each series' points in MLflow's order (step, timestamp, value), each
/// identical point once.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SeriesBatch {
    /// The series, in order.
    pub series: Vec<Series>,
    /// Steps of all points.
    pub step: Vec<i64>,
    /// Timestamps (ms since the epoch).
    pub timestamp: Vec<i64>,
    /// Values.
    pub value: Vec<f64>,
}

impl SeriesBatch {
    /// Number of points.
    pub fn len(&self) -> usize {
        self.step.len()
    }

    /// Whether it holds no point.
    pub fn is_empty(&self) -> bool {
        self.step.is_empty()
    }

    /// Point `i`.
    pub fn point(&self, i: usize) -> MetricPoint {
        MetricPoint {
            step: self.step[i],
            timestamp: self.timestamp[i],
            value: self.value[i],
        }
    }
}

/// Fingerprints of what the runs at some rows hold, per part: equal
/// digests at two reads mean that part did not change in between (a
/// changed digest may be a false alarm, e.g. after a segment merge).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunDigests {
    /// Attributes, params, tags and latest metric values.
    pub runs: u64,
    /// Params.
    pub params: u64,
    /// Tags (with run name and user).
    pub tags: u64,
    /// Dataset inputs.
    pub inputs: u64,
    /// Metric points: the segments and staged points that can hold them.
    pub points: u64,
}

/// FNV-1a, 64-bit: a digest that is the same in every build.
#[derive(Clone, Copy)]
struct Fnv(u64);

impl Fnv {
    const fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }
}

impl ReadView {
    /// The [`RunDigests`] of the runs at `rows` (in that order).
    pub fn digests(&self, rows: &[u32]) -> Result<RunDigests> {
        let (mut runs, mut params, mut tags, mut inputs) =
            (Fnv::new(), Fnv::new(), Fnv::new(), Fnv::new());
        let mut ordinals = Vec::with_capacity(rows.len());
        self.each_run_row(rows, |_, row| {
            ordinals.push(row.ordinal);
            let encoded = crate::catalog::rows::encode(row)?;
            runs.bytes(&encoded);
            params.bytes(&row.id);
            for &(k, v) in &row.params {
                params.u64((u64::from(k) << 32) | u64::from(v));
            }
            tags.bytes(&row.id);
            tags.bytes(row.name.as_bytes());
            tags.u64(row.name.len() as u64);
            tags.bytes(row.user.as_bytes());
            for &(k, v) in &row.tags {
                tags.u64((u64::from(k) << 32) | u64::from(v));
            }
            inputs.bytes(&row.id);
            inputs.bytes(&crate::catalog::rows::encode(&row.inputs)?);
            Ok(())
        })?;
        ordinals.sort_unstable();
        let holds = |lo: u64, hi: u64| {
            let (a, b) = ((lo >> 32) as u32, (hi >> 32) as u32);
            let at = ordinals.partition_point(|&o| o < a);
            ordinals.get(at).is_some_and(|&o| o <= b)
        };
        let mut points = Fnv::new();
        points.u64(runs.0);
        for (id, seg) in segments_holding(&self.txn.open_table(SEGMENTS)?, 0, u64::MAX)? {
            if holds(seg.min_series, seg.max_series) {
                points.u64(id);
            }
        }
        for entry in self.txn.open_table(PENDING)?.iter()? {
            let (key, _) = entry?;
            let (series, seq) = key.value();
            if holds(series, series) {
                points.u64(series);
                points.u64(seq);
            }
        }
        Ok(RunDigests {
            runs: runs.0,
            params: params.0,
            tags: tags.0,
            inputs: inputs.0,
            points: points.0,
        })
    }

    /// Every experiment as of this read, by id.
    pub fn experiments(&self) -> Result<Vec<Experiment>> {
        self.store.experiments_in(&self.txn)
    }

    /// `rows` (runs of this read's index) reordered by run id, ascending:
    /// one walk of the id table, no sort.
    pub fn order_by_run_id(&self, rows: &[u32]) -> Result<Vec<u32>> {
        let Some(&max) = rows.iter().max() else {
            return Ok(Vec::new());
        };
        let mut wanted = vec![false; max as usize + 1];
        for &r in rows {
            wanted[r as usize] = true;
        }
        let mut out = Vec::with_capacity(rows.len());
        for entry in self.txn.open_table(RUN_IDS)?.iter()? {
            let (_, ordinal) = entry?;
            let o = ordinal.value();
            if wanted.get(o as usize).copied().unwrap_or(false) {
                out.push(o);
            }
        }
        Ok(out)
    }

    /// The run ids at `rows`, in order.
    pub fn run_ids_at_rows(&self, rows: &[u32]) -> Result<Vec<RunId>> {
        let mut out = Vec::with_capacity(rows.len());
        self.each_run_row(rows, |_, row| {
            out.push(RunId::from_u128(row.run_id()));
            Ok(())
        })?;
        Ok(out)
    }

    /// The row of run `id`, if this read has it.
    pub fn row_of(&self, id: RunId) -> Result<Option<u32>> {
        Ok(self
            .txn
            .open_table(RUN_IDS)?
            .get(id.as_u128())?
            .map(|v| v.value()))
    }

    /// The (id, name) of the runs at `rows`, in order: less than a whole
    /// [`crate::Run`] each.
    pub fn run_names(&self, rows: &[u32]) -> Result<Vec<(RunId, String)>> {
        let mut out = Vec::with_capacity(rows.len());
        self.each_run_row(rows, |_, row| {
            out.push((RunId::from_u128(row.run_id()), row.name.clone()));
            Ok(())
        })?;
        Ok(out)
    }

    /// The param, metric and tag keys the runs at `rows` use.
    pub fn key_sets(&self, rows: &[u32]) -> Result<KeySets> {
        let (mut params, mut metrics, mut tags) = (Vec::new(), Vec::new(), Vec::new());
        let (mut run_name, mut user) = (false, false);
        self.each_run_row(rows, |_, row| {
            params.extend(row.params.iter().map(|p| p.0));
            tags.extend(row.tags.iter().map(|t| t.0));
            metrics.extend(row.metrics.iter().map(|m| m.key));
            run_name = true;
            user |= !row.user.is_empty();
            Ok(())
        })?;
        let names = self.key_names()?;
        let name_all = |mut ids: Vec<u32>| -> Result<Vec<String>> {
            ids.sort_unstable();
            ids.dedup();
            let mut out = ids
                .into_iter()
                .map(|id| key_name(&names, id).map(str::to_owned))
                .collect::<Result<Vec<_>>>()?;
            out.sort_unstable();
            Ok(out)
        };
        let mut tags = name_all(tags)?;
        for (present, key) in [(run_name, TAG_RUN_NAME), (user, TAG_USER)] {
            if present && let Err(at) = tags.binary_search_by(|t| t.as_str().cmp(key)) {
                tags.insert(at, key.to_owned());
            }
        }
        Ok(KeySets {
            params: name_all(params)?,
            metrics: name_all(metrics)?,
            tags,
        })
    }

    /// The metric points of the runs at `rows` (in that order; `keys`, if
    /// given, limits them to those metric keys) in passes of about `budget`
    /// points each; read each with [`ReadView::read_pass`].
    pub fn plan_points(
        &self,
        rows: &[u32],
        keys: Option<&[String]>,
        budget: usize,
    ) -> Result<PointPlan> {
        PointPlan::new(self, rows, keys, budget.max(1))
    }

    /// Pass `pass` of `plan` (made on this view), its series in order.
    pub fn read_pass(&self, plan: &PointPlan, pass: usize) -> Result<SeriesBatch> {
        let mut out = SeriesBatch::default();
        self.read_pass_into(plan, pass, &mut out)?;
        Ok(out)
    }

    /// [`ReadView::read_pass`] into `out` (cleared first), reusing its
    /// buffers: a reader of many passes allocates once.
    pub fn read_pass_into(
        &self,
        plan: &PointPlan,
        pass: usize,
        out: &mut SeriesBatch,
    ) -> Result<()> {
        match (plan.cuts.get(pass), plan.cuts.get(pass + 1)) {
            (Some(&a), Some(&b)) => plan.read(self, a..b, out),
            _ => {
                *out = SeriesBatch::default();
                Ok(())
            }
        }
    }

    /// Every metric history of the runs at `rows` (limited to `keys` if
    /// given) in one batch.
    pub fn histories(&self, rows: &[u32], keys: Option<&[String]>) -> Result<SeriesBatch> {
        let plan = self.plan_points(rows, keys, usize::MAX)?;
        self.read_pass(&plan, 0)
    }

    fn key_names(&self) -> Result<Arc<Vec<Box<str>>>> {
        self.store.key_names_holding(&self.txn, u32::MAX)
    }

    /// Calls `f(position, row)` for the run row at each of `rows`.
    fn each_run_row(
        &self,
        rows: &[u32],
        mut f: impl FnMut(usize, &RunRow) -> Result<()>,
    ) -> Result<()> {
        let table = self.txn.open_table(RUNS)?;
        for (i, &r) in rows.iter().enumerate() {
            let bytes = table
                .get(r)?
                .ok_or_else(|| Error::corrupt("search index", format!("row {r} not in catalog")))?;
            f(i, &RunRow::decode(bytes.value())?)?;
        }
        Ok(())
    }
}

fn key_name(names: &[Box<str>], id: u32) -> Result<&str> {
    names
        .get(id as usize)
        .map(|n| &**n)
        .ok_or_else(|| Error::corrupt("key dictionary", format!("no key with id {id}")))
}

/// The passes of a point read (see the module docs).
pub struct PointPlan {
    rows: Vec<u32>,
    /// Pass boundaries, as positions in `rows`.
    cuts: Vec<usize>,
    /// Wanted keys by id: their rank in name order, `u32::MAX` if unwanted.
    key_rank: Vec<u32>,
    /// Key names by rank.
    rank_names: Vec<Arc<str>>,
    /// Read buffer, kept between passes.
    scratch: std::sync::Mutex<PointColumns>,
    segments: Vec<(u64, SegmentRow)>,
}

impl std::fmt::Debug for PointPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PointPlan")
            .field("runs", &self.rows.len())
            .field("passes", &self.passes())
            .finish_non_exhaustive()
    }
}

impl PointPlan {
    fn new(view: &ReadView, rows: &[u32], keys: Option<&[String]>, budget: usize) -> Result<Self> {
        let key_names = view.key_names()?;
        let mut order: Vec<u32> = (0..key_names.len() as u32).collect();
        order.sort_by(|&a, &b| key_names[a as usize].cmp(&key_names[b as usize]));
        let mut key_rank = vec![u32::MAX; key_names.len()];
        for (rank, &id) in order.iter().enumerate() {
            let name = &*key_names[id as usize];
            if keys.is_none_or(|k| k.iter().any(|w| w == name)) {
                key_rank[id as usize] = rank as u32;
            }
        }
        let segments = segments_holding(&view.txn.open_table(SEGMENTS)?, 0, u64::MAX)?;
        let cuts = if budget == usize::MAX || rows.is_empty() {
            vec![0, rows.len()]
        } else {
            let mut estimates = estimate_points(view, &segments, rows)?;
            if keys.is_some() {
                // Only some keys are read: scale each run's estimate by
                // the share of its metric keys that are wanted.
                view.each_run_row(rows, |i, row| {
                    let all = row.metrics.len().max(1) as f64;
                    let wanted = row
                        .metrics
                        .iter()
                        .filter(|m| key_rank.get(m.key as usize).is_some_and(|&r| r != u32::MAX))
                        .count() as f64;
                    estimates[i] *= wanted / all;
                    Ok(())
                })?;
            }
            cut_passes(&estimates, budget)
        };
        let rank_names = order
            .iter()
            .map(|&id| Arc::from(&*key_names[id as usize]))
            .collect();
        Ok(PointPlan {
            rows: rows.to_vec(),
            cuts,
            key_rank,
            rank_names,
            scratch: std::sync::Mutex::default(),
            segments,
        })
    }

    /// How many passes the read takes.
    pub fn passes(&self) -> usize {
        self.cuts.len().saturating_sub(1)
    }

    fn read(&self, view: &ReadView, range: Range<usize>, out: &mut SeriesBatch) -> Result<()> {
        out.series.clear();
        out.step.clear();
        out.timestamp.clear();
        out.value.clear();
        // The wanted series, sorted, each with its place in the output.
        let mut wanted: Vec<(u64, u64)> = Vec::new(); // (series, order key)
        let mut ids = Vec::with_capacity(range.len());
        view.each_run_row(&self.rows[range.clone()], |i, row| {
            ids.push(RunId::from_u128(row.run_id()));
            for m in &row.metrics {
                let rank = self.key_rank.get(m.key as usize).copied();
                if let Some(rank) = rank.filter(|&r| r != u32::MAX) {
                    let series = crate::catalog::series_id(row.ordinal, m.key);
                    wanted.push((series, ((i as u64) << 32) | u64::from(rank)));
                }
            }
            Ok(())
        })?;
        wanted.sort_unstable();
        let series: Vec<u64> = wanted.iter().map(|w| w.0).collect();
        // Chunks of points per series, from every segment and the pending table.
        // The pass's points as read, in a buffer the plan keeps between
        // passes (fresh multi-megabyte buffers cost a page fault per 4 KiB).
        let mut scratch = self
            .scratch
            .lock()
            .map_err(|_| Error::corrupt("point plan", "a pass panicked"))?;
        let found = &mut *scratch;
        found.clear();
        let (Some(&lo), Some(&hi)) = (series.first(), series.last()) else {
            return Ok(());
        };
        for (id, seg) in &self.segments {
            if seg.max_series < lo || seg.min_series > hi {
                continue;
            }
            let a = series.partition_point(|&s| s < seg.min_series);
            let b = series.partition_point(|&s| s <= seg.max_series);
            if a < b {
                let segment = view.store.segments.get(*id, seg)?;
                segment.read_series_many(&series[a..b], found)?;
                segment.release_pages();
            }
        }
        let mut buf = Vec::new();
        for entry in view.txn.open_table(PENDING)?.iter()? {
            let (key, bytes) = entry?;
            let s = key.value().0;
            if series.binary_search(&s).is_ok() {
                buf.clear();
                unpack_points(bytes.value(), &mut buf)?;
                for p in &buf {
                    found.push(s, *p);
                }
            }
        }
        // Runs of equal series in `found`, ordered by the output order.
        let mut chunks: Vec<(u64, usize, usize)> = Vec::new(); // (order, start, end)
        let mut i = 0;
        while i < found.len() {
            let s = found.series[i];
            let mut j = i + 1;
            while j < found.len() && found.series[j] == s {
                j += 1;
            }
            let at = series.binary_search(&s).map_err(|_| {
                Error::corrupt("segment", format!("series {s} read but not asked for"))
            })?;
            chunks.push((wanted[at].1, i, j));
            i = j;
        }
        chunks.sort_by_key(|c| c.0);
        out.series.reserve(wanted.len());
        out.step.reserve(found.len());
        out.timestamp.reserve(found.len());
        out.value.reserve(found.len());
        let mut c = 0;
        let mut points: Vec<MetricPoint> = Vec::new();
        while c < chunks.len() {
            let order = chunks[c].0;
            points.clear();
            while c < chunks.len() && chunks[c].0 == order {
                let (_, a, b) = chunks[c];
                points.extend((a..b).map(|k| found.point(k)));
                c += 1;
            }
            if !points.is_sorted_by(|a, b| point_order(a, b).is_lt()) {
                points.sort_by(point_order);
                points.dedup_by(|a, b| same_point(a, b));
            }
            let position = (order >> 32) as usize;
            let rank = (order & u64::from(u32::MAX)) as usize;
            let key = self.rank_names.get(rank).cloned().ok_or_else(|| {
                Error::corrupt("key dictionary", format!("no key of rank {rank}"))
            })?;
            let start = out.step.len();
            for p in &points {
                out.step.push(p.step);
                out.timestamp.push(p.timestamp);
                out.value.push(p.value);
            }
            out.series.push(Series {
                position: range.start + position,
                run_id: ids[position],
                key,
                points: start..out.step.len(),
            });
        }
        Ok(())
    }
}

/// Estimated points of each of `rows`: every segment page's rows spread
/// evenly over the runs its series range spans, plus the pending points.
fn estimate_points(
    view: &ReadView,
    segments: &[(u64, SegmentRow)],
    rows: &[u32],
) -> Result<Vec<f64>> {
    let max = rows.iter().copied().max().unwrap_or(0) as usize;
    let mut per_ordinal = vec![0f64; max + 1];
    for (id, row) in segments {
        let seg = view.store.segments.get(*id, row)?;
        for (min, max_series, n) in seg.page_spans() {
            let (a, b) = ((min >> 32) as usize, (max_series >> 32) as usize);
            if a > max {
                continue;
            }
            let share = n as f64 / (b - a + 1) as f64;
            for slot in &mut per_ordinal[a..=b.min(max)] {
                *slot += share;
            }
        }
    }
    for entry in view.txn.open_table(PENDING)?.iter()? {
        let (key, bytes) = entry?;
        let ordinal = (key.value().0 >> 32) as usize;
        if let Some(slot) = per_ordinal.get_mut(ordinal) {
            *slot += (bytes.value().len() / PACKED_POINT) as f64;
        }
    }
    Ok(rows.iter().map(|&r| per_ordinal[r as usize]).collect())
}

/// Pass boundaries (positions) so each pass holds about `budget` points.
fn cut_passes(estimates: &[f64], budget: usize) -> Vec<usize> {
    let mut cuts = vec![0];
    let mut acc = 0f64;
    for (i, &e) in estimates.iter().enumerate() {
        if acc > 0.0 && acc + e > budget as f64 {
            cuts.push(i);
            acc = 0.0;
        }
        acc += e;
    }
    cuts.push(estimates.len());
    cuts
}

impl super::Store {
    /// Every experiment as of `txn`, by id.
    pub(crate) fn experiments_in(&self, txn: &redb::ReadTransaction) -> Result<Vec<Experiment>> {
        let table = txn.open_table(crate::catalog::EXPERIMENTS)?;
        let mut out = Vec::new();
        for entry in table.iter()? {
            let (id, bytes) = entry?;
            let row = decode("experiment", bytes.value())?;
            out.push(super::read::experiment_from_row(id.value(), row)?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::cut_passes;

    #[test]
    fn passes_hold_about_the_budget() {
        assert_eq!(cut_passes(&[5.0, 5.0, 5.0, 5.0], 10), vec![0, 2, 4]);
        // A run bigger than the budget gets a pass of its own.
        assert_eq!(cut_passes(&[1.0, 50.0, 1.0], 10), vec![0, 1, 2, 3]);
        assert_eq!(cut_passes(&[], 10), vec![0, 0]);
    }
}
