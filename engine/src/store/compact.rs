//! Keeping metric storage compact: staged points are flushed into segments,
//! small segments are merged, and files no commit refers to are removed.
//!
//! Each step is its own write transaction: the new segment file is written and
//! synced first, then one commit swaps the catalog over to it, and only then
//! are replaced files deleted. A crash in between leaves unreferenced files,
//! which the next writable open removes. These steps are the maintenance
//! owner's ([`super::owner`]); a caller's write never runs them.

use std::collections::HashSet;

use redb::{ReadableTable, WriteTransaction};

use super::Store;
use super::write::{add_segment, segment_file_name};
use crate::catalog::rows::{SegmentRow, decode, encode, unpack_points};
use crate::catalog::{CHANGES, META, PENDING, SEGMENTS};
use crate::error::{Error, Result};
use crate::segment::{PointColumns, Segment, merge_segments};

impl Store {
    /// Flushes staged points into a segment and merges small segments, each
    /// when due (the owner's job; a process that runs without an owner calls
    /// it before it exits).
    pub fn compact_points_now(&self) -> Result<()> {
        let (pending, small) = {
            let txn = self.begin_read()?;
            let state = self.state(&txn)?;
            let segments = txn.open_table(SEGMENTS)?;
            let mut small = 0;
            for entry in segments.iter()? {
                let (_, bytes) = entry?;
                let row: SegmentRow = decode("segment manifest", bytes.value())?;
                if row.rows < self.options.small_segment_points {
                    small += 1;
                }
            }
            (state.pending_points, small)
        };
        if pending >= self.options.pending_flush_points {
            self.flush_pending()?;
        }
        if small >= self.options.merge_fan_in {
            self.merge_small_segments()?;
        }
        Ok(())
    }

    /// Compacts every staged point into one new segment.
    pub fn flush_pending(&self) -> Result<()> {
        let (mut writer, txn, mut state) = self.begin_locked()?;
        let mut points = PointColumns::default();
        {
            let mut pending = txn.open_table(PENDING)?;
            let mut buf = Vec::new();
            for entry in pending.iter()? {
                let (key, bytes) = entry?;
                let (series, _) = key.value();
                buf.clear();
                unpack_points(bytes.value(), &mut buf)?;
                for p in &buf {
                    points.push(series, *p);
                }
            }
            if points.is_empty() {
                return Ok(());
            }
            pending.retain(|_, _| false)?;
        }
        points.sort_dedup();
        add_segment(&txn, &mut state, &self.segments_dir(), &points)?;
        state.pending_points = 0;
        state.seq += 1;
        state.save(&mut txn.open_table(META)?)?;
        txn.commit()?;
        writer.last_seq = state.seq;
        Ok(())
    }

    /// Merges the small segments into one.
    pub fn merge_small_segments(&self) -> Result<()> {
        let (mut writer, txn, mut state) = self.begin_locked()?;
        let mut inputs: Vec<(u64, SegmentRow)> = Vec::new();
        {
            let segments = txn.open_table(SEGMENTS)?;
            for entry in segments.iter()? {
                let (id, bytes) = entry?;
                let row: SegmentRow = decode("segment manifest", bytes.value())?;
                if row.rows < self.options.small_segment_points {
                    inputs.push((id.value(), row));
                }
            }
        }
        if inputs.len() < 2 {
            return Ok(());
        }
        let open: Vec<std::sync::Arc<Segment>> = inputs
            .iter()
            .map(|(id, row)| self.segments.get(*id, row))
            .collect::<Result<_>>()?;
        let refs: Vec<&Segment> = open.iter().map(|s| &**s).collect();
        let id = state.next_segment;
        state.next_segment += 1;
        let file = segment_file_name(id);
        let info = merge_segments(
            &refs,
            &PointColumns::default(),
            &self.segments_dir().join(&file),
        )?;
        {
            let mut segments = txn.open_table(SEGMENTS)?;
            for (old, _) in &inputs {
                segments.remove(*old)?;
            }
            let row = SegmentRow {
                file,
                rows: info.rows,
                bytes: info.bytes,
                min_series: info.min_series,
                max_series: info.max_series,
            };
            segments.insert(id, encode(&row)?.as_slice())?;
        }
        state.seq += 1;
        state.save(&mut txn.open_table(META)?)?;
        txn.commit()?;
        writer.last_seq = state.seq;
        drop(writer);
        drop(open);
        for (old, row) in &inputs {
            self.segments.evict(*old);
            let path = self.segments_dir().join(&row.file);
            if let Err(e) = std::fs::remove_file(&path)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                return Err(Error::io(path, e));
            }
        }
        Ok(())
    }

    /// Drops change-log entries up to sequence `seq` (an index snapshot at
    /// `seq` exists, so nobody needs to replay them).
    pub(crate) fn trim_changes_upto(&self, seq: u64) -> Result<()> {
        let (writer, txn, mut state) = self.begin_locked()?;
        if state.changes_floor >= seq {
            return Ok(());
        }
        txn.open_table(CHANGES)?
            .retain_in(..=(seq, u32::MAX), |_, _| false)?;
        state.changes_floor = seq;
        // No new sequence: the runs did not change, the index stays current.
        state.save(&mut txn.open_table(META)?)?;
        txn.commit()?;
        drop(writer);
        Ok(())
    }
}

/// Deletes files in `segments/` that the manifest does not list: leftovers
/// of a crash between writing a segment and committing it, or between a
/// merge's commit and its cleanup. Runs inside a write transaction, whose
/// lock guarantees that no process is between those two steps.
pub(crate) fn remove_orphan_segments(txn: &WriteTransaction, dir: &std::path::Path) -> Result<()> {
    let mut listed = HashSet::new();
    for entry in txn.open_table(SEGMENTS)?.iter()? {
        let (_, bytes) = entry?;
        let row: SegmentRow = decode("segment manifest", bytes.value())?;
        listed.insert(row.file);
    }
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !listed.contains(&name) {
            let path = entry.path();
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&path, e)),
            }
        }
    }
    Ok(())
}
