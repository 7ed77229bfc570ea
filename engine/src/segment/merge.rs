//! Merging segments: a streaming k-way merge that drops duplicate points.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::Path;

use super::SegmentInfo;
use super::columns::{PointColumns, RowKey};
use super::format::SegmentOptions;
use super::reader::{Scan, Segment};
use super::writer::SegmentWriter;
use crate::error::Result;

/// Rows gathered before each write to the output segment.
const OUT_BATCH_ROWS: usize = 64 * 1024;

/// Merges `inputs` (oldest first) and `extra` (newest; sorted and deduplicated,
/// may be empty) into the new segment `out`.
///
/// The merge streams: it holds one batch per input plus one output row group,
/// whatever the inputs' sizes. A point present in several inputs (the same
/// series and [`same_point`](crate::metric::same_point)) is written once, as
/// the copy from the earliest input (`extra` counting as the last). Returns the
/// new segment's info; `out` is written like [`write_segment`](super::write_segment)
/// writes (temporary name, fsync, rename), and the inputs are left alone.
pub(crate) fn merge_segments(
    inputs: &[&Segment],
    extra: &PointColumns,
    out: &Path,
) -> Result<SegmentInfo> {
    merge_segments_with(inputs, extra, out, &SegmentOptions::default())
}

/// [`merge_segments`] with explicit writer settings.
pub(crate) fn merge_segments_with(
    inputs: &[&Segment],
    extra: &PointColumns,
    out: &Path,
    options: &SegmentOptions,
) -> Result<SegmentInfo> {
    let mut cursors = Vec::with_capacity(inputs.len() + 1);
    for seg in inputs.iter().filter(|s| s.info().rows > 0) {
        cursors.push(Cursor {
            batch: Cow::Owned(PointColumns::default()),
            pos: 0,
            rest: Some(seg.scan()?),
        });
    }
    cursors.push(Cursor {
        batch: Cow::Borrowed(extra),
        pos: 0,
        rest: None,
    });

    // Min-heap of each non-exhausted cursor's current row, ties broken by
    // input position so the oldest input's copy of a point comes out first.
    let mut heap = BinaryHeap::with_capacity(cursors.len());
    for (i, c) in cursors.iter_mut().enumerate() {
        if c.fill()? {
            heap.push(Reverse((c.key(), i)));
        }
    }

    let mut writer = SegmentWriter::create(out, options)?;
    let mut buf = PointColumns::with_capacity(OUT_BATCH_ROWS);
    let mut last: Option<RowKey> = None;
    while let Some(Reverse((mut key, i))) = heap.pop() {
        // Take rows from this cursor for as long as they come before every
        // other cursor's current row: one heap operation per run of rows,
        // and runs are copied column-wise.
        let bound = heap.peek().map(|Reverse(top)| *top);
        let c = &mut cursors[i];
        let mut run = c.pos;
        let next = loop {
            // Here `c.pos` is a row and `key` its key.
            if last == Some(key) {
                // The same point as the row just taken (from an older
                // input): drop this copy.
                buf.extend_from(&c.batch, run..c.pos);
                run = c.pos + 1;
            }
            last = Some(key);
            c.pos += 1;
            if buf.len() + (c.pos - run) >= OUT_BATCH_ROWS {
                buf.extend_from(&c.batch, run..c.pos);
                run = c.pos;
                writer.write(&buf)?;
                buf.clear();
            }
            if c.pos >= c.batch.len() {
                buf.extend_from(&c.batch, run..c.pos);
                if !c.fill()? {
                    break None;
                }
                run = c.pos;
            }
            key = c.key();
            if bound.is_some_and(|b| (key, i) > b) {
                buf.extend_from(&c.batch, run..c.pos);
                break Some(key);
            }
        };
        if let Some(key) = next {
            heap.push(Reverse((key, i)));
        }
        if buf.len() >= OUT_BATCH_ROWS {
            writer.write(&buf)?;
            buf.clear();
        }
    }
    writer.write(&buf)?;
    writer.finish()
}

/// One input of a merge: the current batch and the batches still to come.
struct Cursor<'a> {
    batch: Cow<'a, PointColumns>,
    pos: usize,
    rest: Option<Scan>,
}

impl Cursor<'_> {
    /// Makes `pos` point at a row, fetching the next batch when the current
    /// one is used up; false when the input is exhausted.
    fn fill(&mut self) -> Result<bool> {
        while self.pos >= self.batch.len() {
            let Some(next) = self.rest.as_mut().and_then(Iterator::next) else {
                return Ok(false);
            };
            self.batch = Cow::Owned(next?);
            self.pos = 0;
        }
        Ok(true)
    }

    /// The key of the current row.
    fn key(&self) -> RowKey {
        self.batch.key(self.pos)
    }
}
