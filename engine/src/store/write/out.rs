//! Writing a batch out: run rows, the change log, metric points (a new
//! segment or the pending table), the store state; then the commit.

use foldhash::HashSet;

use redb::{Table, WriteTransaction};

use super::{CommitSummary, DictUndo, MAX_SPARE_RUNS, Touched, WriteBatch};
use crate::catalog::rows::{SegmentRow, encode, pack_points};
use crate::catalog::state::StoreState;
use crate::catalog::{CHANGES, META, PENDING, RUN_IDS, RUNS, SEGMENTS};
use crate::error::{Error, Result};
use crate::metric::{MetricPoint, stored_form};
use crate::segment::{PointColumns, write_segment};

impl WriteBatch<'_> {
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
        // Committed and durable: the dictionary entries are now the
        // catalog's. Nothing after this point may fail the call (a caller
        // that retried a durable write would duplicate it): maintenance is
        // the owner thread's, told here that there is new work.
        self.undo = DictUndo::default();
        self.writer.last_seq = self.state.seq;
        let store = self.store;
        drop(self);
        store.owner.notify();
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
        self.record_outbox(txn, &points)?;
        if points.len() >= self.store.options.direct_segment_points {
            add_segment(txn, &mut self.state, &self.store.segments_dir(), &points)?;
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
    pub(super) fn keep_spare(&mut self, mut points: PointColumns) {
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

/// Writes `points` (sorted) into a new segment file, synced, and lists it in
/// the manifest of `txn` under the state's next segment id.
pub(crate) fn add_segment(
    txn: &WriteTransaction,
    state: &mut StoreState,
    dir: &std::path::Path,
    points: &PointColumns,
) -> Result<()> {
    let id = state.next_segment;
    state.next_segment += 1;
    let file = segment_file_name(id);
    let info = write_segment(&dir.join(&file), points)?;
    let row = SegmentRow {
        file,
        rows: info.rows,
        bytes: info.bytes,
        min_series: info.min_series,
        max_series: info.max_series,
    };
    txn.open_table(SEGMENTS)?
        .insert(id, encode(&row)?.as_slice())?;
    Ok(())
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

/// Drops the points whose identity is in `stored`.
fn retain_new(points: &mut PointColumns, stored: &HashSet<crate::store::read::PointKey>) {
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
