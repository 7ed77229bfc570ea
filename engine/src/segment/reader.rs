//! Reading segments: [`Segment`] (an open, memory-mapped segment) and [`Scan`].

use std::ops::Range;
use std::path::{Path, PathBuf};

use arrow::array::{Array, Float64Array, Int64Array, RecordBatch, UInt64Array};
use arrow::error::ArrowError;
use bytes::Bytes;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder, RowSelection, RowSelectionPolicy, RowSelector,
};
use parquet::errors::ParquetError;
use parquet::file::metadata::PageIndexPolicy;
use parquet::file::page_index::column_index::ColumnIndexMetaData;

use super::SegmentInfo;
use super::columns::PointColumns;
use super::format::{FORMAT_KEY, FORMAT_VERSION, SERIES, schema};
use crate::error::{Error, Result};
use crate::metric::MetricPoint;
use crate::mmap::{Mapped, map_releasable};

/// Rows per batch of a [`Scan`] and of multi-series reads.
const SCAN_BATCH_ROWS: usize = 64 * 1024;
/// Leaf columns read to locate series.
const SERIES_LEAF: &[usize] = &[SERIES];
/// Leaf columns read for the points themselves: step, timestamp, value.
const POINT_LEAVES: &[usize] = &[1, 2, 3];

/// One data page of the `series` column: its rows (file-wide numbering) and
/// the range of series ids in it.
#[derive(Clone, Copy, Debug)]
pub(super) struct SeriesPage {
    first_row: u64,
    end_row: u64,
    min: u64,
    max: u64,
}

/// An open segment: the file is memory-mapped, and its footer and page index
/// were parsed once, at [`open`](Segment::open).
///
/// Reads never re-parse the footer; a read of one series decodes only the data
/// pages whose `series` range can hold it. A `Segment` is `Send + Sync`; share
/// it through an `Arc` and keep it open for as long as the file is in the
/// catalog (the map costs address space, not memory).
pub(crate) struct Segment {
    path: PathBuf,
    data: Bytes,
    /// The map behind `data`, to hand its pages back after a bulk read.
    mapped: Mapped,
    pub(super) meta: ArrowReaderMetadata,
    /// First row (file-wide) of each row group, plus the total row count.
    pub(super) row_group_starts: Vec<u64>,
    /// Every page of the `series` column, in file order.
    pub(super) pages: Vec<SeriesPage>,
    info: SegmentInfo,
}

impl std::fmt::Debug for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segment")
            .field("path", &self.path)
            .field("info", &self.info)
            .field("pages", &self.pages.len())
            .finish_non_exhaustive()
    }
}

impl Segment {
    /// Maps the segment file `path` and reads its footer and page index.
    ///
    /// Fails with [`Error::Corrupt`] when the file is not a runstore segment
    /// of this format version (the message names both versions), has another
    /// schema, or lacks a consistent page index on `series`; with
    /// [`Error::Segment`] when Parquet cannot parse it (truncated or garbage);
    /// with [`Error::Io`] when it cannot be opened or mapped.
    pub fn open(path: &Path) -> Result<Segment> {
        let mapped = map_releasable(path)?;
        let data = mapped.bytes.clone();
        let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional);
        let meta = ArrowReaderMetadata::load(&data, options)
            .map_err(|source| Error::segment(path, source))?;
        let corrupt = |detail: String| Error::corrupt(path.display().to_string(), detail);

        let file_meta = meta.metadata().file_metadata();
        let version = file_meta
            .key_value_metadata()
            .and_then(|kv| kv.iter().find(|kv| kv.key == FORMAT_KEY))
            .and_then(|kv| kv.value.as_deref());
        match version {
            Some(FORMAT_VERSION) => {}
            Some(v) => {
                return Err(corrupt(format!(
                    "segment format version {v}; this build reads version {FORMAT_VERSION}"
                )));
            }
            None => {
                return Err(corrupt(format!(
                    "not a runstore segment (no {FORMAT_KEY} metadata)"
                )));
            }
        }
        if meta.schema().fields() != schema().fields() {
            return Err(corrupt(format!("unexpected schema {:?}", meta.schema())));
        }

        let parquet = meta.metadata();
        let mut row_group_starts = Vec::with_capacity(parquet.num_row_groups() + 1);
        let mut pages = Vec::new();
        let mut start = 0u64;
        for (rg, group) in parquet.row_groups().iter().enumerate() {
            row_group_starts.push(start);
            let rows = u64::try_from(group.num_rows())
                .map_err(|_| corrupt(format!("row group {rg} has a negative row count")))?;
            let index = parquet
                .column_index()
                .and_then(|c| c.get(rg))
                .and_then(|c| c.get(SERIES));
            let offsets = parquet
                .offset_index()
                .and_then(|o| o.get(rg))
                .and_then(|o| o.get(SERIES));
            let (Some(ColumnIndexMetaData::INT64(index)), Some(offsets)) = (index, offsets) else {
                return Err(corrupt(format!(
                    "row group {rg} has no page index on series"
                )));
            };
            let locations = offsets.page_locations();
            if locations.len() != index.min_values().len()
                || locations.len() != index.max_values().len()
            {
                return Err(corrupt(format!(
                    "row group {rg}: page index sizes disagree"
                )));
            }
            for (i, loc) in locations.iter().enumerate() {
                let first = u64::try_from(loc.first_row_index).unwrap_or(u64::MAX);
                let end = match locations.get(i + 1) {
                    Some(next) => u64::try_from(next.first_row_index).unwrap_or(u64::MAX),
                    None => rows,
                };
                if (i == 0 && first != 0) || first >= end || end > rows {
                    return Err(corrupt(format!("row group {rg}: bad page row ranges")));
                }
                // UInt64 is stored as INT64 with unsigned order; the index
                // holds the bit patterns.
                let page = SeriesPage {
                    first_row: start + first,
                    end_row: start + end,
                    min: index.min_values()[i] as u64,
                    max: index.max_values()[i] as u64,
                };
                if page.min > page.max
                    || pages.last().is_some_and(|p: &SeriesPage| p.max > page.min)
                {
                    return Err(corrupt(format!("row group {rg}: series not sorted")));
                }
                pages.push(page);
            }
            start += rows;
        }
        row_group_starts.push(start);
        let info = SegmentInfo {
            rows: start,
            bytes: data.len() as u64,
            min_series: pages.first().map_or(0, |p| p.min),
            max_series: pages.last().map_or(0, |p| p.max),
        };
        Ok(Segment {
            path: path.to_path_buf(),
            data,
            mapped,
            meta,
            row_group_starts,
            pages,
            info,
        })
    }

    /// Each page's series range and row count, in file order: what a
    /// planner can know about how the points spread without decoding.
    pub(crate) fn page_spans(&self) -> impl Iterator<Item = (u64, u64, u64)> + '_ {
        self.pages
            .iter()
            .map(|p| (p.min, p.max, p.end_row - p.first_row))
    }

    /// Hands the pages a read faulted in back to the kernel, so a bulk read
    /// of many segments keeps a resident set of one pass, not of the store.
    pub(crate) fn release_pages(&self) {
        self.mapped.release();
    }

    /// Rows, size and series range of the segment.
    pub fn info(&self) -> SegmentInfo {
        self.info
    }

    /// Appends the points of `series` to `out`, in stored order (MLflow's
    /// point order). Decodes only the pages whose series range holds it.
    pub fn read_series(&self, series: u64, out: &mut Vec<MetricPoint>) -> Result<()> {
        let Some((_, rows)) = self.locate(std::slice::from_ref(&series))?.pop() else {
            return Ok(());
        };
        let want = to_usize(rows.end - rows.start);
        out.reserve(want);
        let before = out.len();
        for batch in self.reader(&[rows], POINT_LEAVES)? {
            let batch = batch.map_err(|e| self.arrow_error(e))?;
            let (step, ts, value) = self.point_columns(&batch)?;
            out.extend(
                step.iter()
                    .zip(ts)
                    .zip(value)
                    .map(|((&step, &timestamp), &value)| MetricPoint {
                        step,
                        value,
                        timestamp,
                    }),
            );
        }
        if out.len() - before != want {
            return Err(self.row_count_mismatch());
        }
        Ok(())
    }

    /// The first design, kept for the measurements: one pass over whole
    /// candidate pages of all four columns, trimmed in memory.
    #[cfg(test)]
    pub(super) fn read_series_one_pass(
        &self,
        series: u64,
        out: &mut Vec<MetricPoint>,
    ) -> Result<()> {
        let Some(rows) = self.candidate_rows(series) else {
            return Ok(());
        };
        for batch in self.reader(&[rows], &[0, 1, 2, 3])? {
            let batch = batch.map_err(|e| self.arrow_error(e))?;
            let (s, step, ts, value) = columns(&self.path, &batch)?;
            let s = s.values();
            let lo = s.partition_point(|&x| x < series);
            let hi = s.partition_point(|&x| x <= series);
            let (step, ts, value) = (step.values(), ts.values(), value.values());
            out.extend((lo..hi).map(|i| MetricPoint {
                step: step[i],
                value: value[i],
                timestamp: ts[i],
            }));
        }
        Ok(())
    }

    /// Appends the points of every series in `series` (sorted ascending) to
    /// `out`, in stored order, reading each page that can hold one of them
    /// at most once.
    pub fn read_series_many(&self, series: &[u64], out: &mut PointColumns) -> Result<()> {
        debug_assert!(series.is_sorted(), "read_series_many needs sorted ids");
        let found = self.locate(series)?;
        if found.is_empty() {
            return Ok(());
        }
        let total = to_usize(found.iter().map(|(_, r)| r.end - r.start).sum());
        out.series.reserve(total);
        out.step.reserve(total);
        out.timestamp.reserve(total);
        out.value.reserve(total);
        for (s, r) in &found {
            out.series
                .extend(std::iter::repeat_n(*s, to_usize(r.end - r.start)));
        }
        let mut ranges: Vec<Range<u64>> = Vec::with_capacity(found.len());
        for (_, r) in found {
            match ranges.last_mut() {
                Some(last) if last.end == r.start => last.end = r.end,
                _ => ranges.push(r),
            }
        }
        for batch in self.reader(&ranges, POINT_LEAVES)? {
            let batch = batch.map_err(|e| self.arrow_error(e))?;
            let (step, ts, value) = self.point_columns(&batch)?;
            out.step.extend_from_slice(step);
            out.timestamp.extend_from_slice(ts);
            out.value.extend_from_slice(value);
        }
        if out.step.len() != out.series.len() {
            // Keep the columns the same length even on this error path.
            let n = out.series.len().min(out.step.len());
            out.series.truncate(n);
            out.step.truncate(n);
            out.timestamp.truncate(n);
            out.value.truncate(n);
            return Err(self.row_count_mismatch());
        }
        Ok(())
    }

    /// The exact rows (file-wide) of each of `series` (sorted) that the
    /// segment holds, in order: the first phase of a read, which decodes only
    /// the `series` column of the pages that can hold them.
    fn locate(&self, series: &[u64]) -> Result<Vec<(u64, Range<u64>)>> {
        let mut candidates: Vec<Range<u64>> = Vec::new();
        for &s in series {
            let Some(r) = self.candidate_rows(s) else {
                continue;
            };
            match candidates.last_mut() {
                Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
                _ => candidates.push(r),
            }
        }
        let mut found: Vec<(u64, Range<u64>)> = Vec::new();
        if candidates.is_empty() {
            return Ok(found);
        }
        // Walk the selected rows with their file-wide numbers: `range` is the
        // candidate range being read and `row` the next row's number.
        let mut ranges = candidates.iter();
        let mut range = ranges.next().cloned().unwrap_or_default();
        let mut row = range.start;
        let mut want = series.iter().copied().peekable();
        for batch in self.reader(&candidates, SERIES_LEAF)? {
            let batch = batch.map_err(|e| self.arrow_error(e))?;
            let ids = batch
                .column(0)
                .as_any()
                .downcast_ref::<UInt64Array>()
                .ok_or_else(|| self.wrong_type())?
                .values();
            let mut i = 0;
            while i < ids.len() {
                if row == range.end {
                    range = ranges
                        .next()
                        .cloned()
                        .ok_or_else(|| self.row_count_mismatch())?;
                    row = range.start;
                }
                // The part of this batch inside the current candidate range.
                let chunk = &ids[i..ids.len().min(i + to_usize(range.end - row))];
                let mut j = 0;
                while j < chunk.len() {
                    while want.next_if(|&w| w < chunk[j]).is_some() {}
                    let Some(&w) = want.peek() else { break };
                    let lo = j + chunk[j..].partition_point(|&x| x < w);
                    let hi = lo + chunk[lo..].partition_point(|&x| x <= w);
                    if lo < hi {
                        let rows = row + lo as u64..row + hi as u64;
                        match found.last_mut() {
                            // Continued across a batch boundary.
                            Some((s, r)) if *s == w && r.end == rows.start => r.end = rows.end,
                            _ => found.push((w, rows)),
                        }
                    }
                    j = hi;
                }
                i += chunk.len();
                row += chunk.len() as u64;
            }
        }
        Ok(found)
    }

    /// Every row of the segment in stored order, in batches of up to 65,536
    /// rows. The iterator holds its own reference to the mapped file.
    pub fn scan(&self) -> Result<Scan> {
        let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(
            self.data.clone(),
            self.meta.clone(),
        )
        .with_batch_size(SCAN_BATCH_ROWS)
        .build()
        .map_err(|e| self.parquet_error(e))?;
        Ok(Scan {
            path: self.path.clone(),
            reader,
        })
    }

    /// The rows (file-wide) of the pages that may hold `series`, if any.
    pub(super) fn candidate_rows(&self, series: u64) -> Option<Range<u64>> {
        let first = self.pages.partition_point(|p| p.max < series);
        let end = self.pages.partition_point(|p| p.min <= series);
        (first < end).then(|| self.pages[first].first_row..self.pages[end - 1].end_row)
    }

    /// A reader of the rows in `ranges` (sorted, disjoint, file-wide), which
    /// skips the row groups and pages outside them.
    fn reader(&self, ranges: &[Range<u64>], leaves: &[usize]) -> Result<ParquetRecordBatchReader> {
        let starts = &self.row_group_starts;
        let mut groups = Vec::new();
        let mut selectors = Vec::new();
        let mut total = 0usize;
        for rg in 0..starts.len().saturating_sub(1) {
            let (lo, hi) = (starts[rg], starts[rg + 1]);
            let mut pos = lo;
            for r in ranges {
                let (a, b) = (r.start.max(lo), r.end.min(hi));
                if a >= b {
                    continue;
                }
                if a > pos {
                    selectors.push(RowSelector::skip(to_usize(a - pos)));
                }
                selectors.push(RowSelector::select(to_usize(b - a)));
                total += to_usize(b - a);
                pos = b;
            }
            if pos == lo {
                continue; // nothing selected in this row group
            }
            if pos < hi {
                selectors.push(RowSelector::skip(to_usize(hi - pos)));
            }
            groups.push(rg);
        }
        ParquetRecordBatchReaderBuilder::new_with_metadata(self.data.clone(), self.meta.clone())
            .with_projection(ProjectionMask::leaves(
                self.meta.parquet_schema(),
                leaves.iter().copied(),
            ))
            .with_row_groups(groups)
            .with_row_selection(RowSelection::from(selectors))
            .with_row_selection_policy(RowSelectionPolicy::Selectors)
            .with_batch_size(total.clamp(1, SCAN_BATCH_ROWS * 4))
            .build()
            .map_err(|e| self.parquet_error(e))
    }

    /// The `step`, `timestamp` and `value` columns of a batch read with
    /// [`POINT_LEAVES`].
    fn point_columns<'b>(
        &self,
        batch: &'b RecordBatch,
    ) -> Result<(&'b [i64], &'b [i64], &'b [f64])> {
        let col = |i: usize| batch.columns().get(i).ok_or_else(|| self.wrong_type());
        let step = col(0)?.as_any().downcast_ref::<Int64Array>();
        let ts = col(1)?.as_any().downcast_ref::<Int64Array>();
        let value = col(2)?.as_any().downcast_ref::<Float64Array>();
        match (step, ts, value) {
            (Some(step), Some(ts), Some(value))
                if step.null_count() + ts.null_count() + value.null_count() == 0 =>
            {
                Ok((step.values(), ts.values(), value.values()))
            }
            _ => Err(self.wrong_type()),
        }
    }

    fn wrong_type(&self) -> Error {
        Error::corrupt(
            self.path.display().to_string(),
            "a column has the wrong type or nulls",
        )
    }

    fn row_count_mismatch(&self) -> Error {
        Error::corrupt(
            self.path.display().to_string(),
            "the rows read do not match the rows selected",
        )
    }

    fn parquet_error(&self, source: ParquetError) -> Error {
        Error::segment(&self.path, source)
    }

    fn arrow_error(&self, e: ArrowError) -> Error {
        arrow_error(&self.path, e)
    }
}

/// An iterator over every row of a segment, in stored order, in batches.
pub(crate) struct Scan {
    path: PathBuf,
    reader: ParquetRecordBatchReader,
}

impl Iterator for Scan {
    type Item = Result<PointColumns>;

    fn next(&mut self) -> Option<Self::Item> {
        let batch = match self.reader.next()? {
            Ok(b) => b,
            Err(e) => return Some(Err(arrow_error(&self.path, e))),
        };
        Some(
            columns(&self.path, &batch).map(|(s, step, ts, value)| PointColumns {
                series: s.values().to_vec(),
                step: step.values().to_vec(),
                timestamp: ts.values().to_vec(),
                value: value.values().to_vec(),
            }),
        )
    }
}

impl std::fmt::Debug for Scan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scan")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// The four columns of a segment batch, typed.
fn columns<'b>(
    path: &Path,
    batch: &'b RecordBatch,
) -> Result<(
    &'b UInt64Array,
    &'b Int64Array,
    &'b Int64Array,
    &'b Float64Array,
)> {
    fn col<'b, T: 'static>(path: &Path, batch: &'b RecordBatch, i: usize) -> Result<&'b T> {
        batch
            .columns()
            .get(i)
            .and_then(|c| c.as_any().downcast_ref::<T>())
            .ok_or_else(|| {
                Error::corrupt(
                    path.display().to_string(),
                    format!("column {i} has the wrong type"),
                )
            })
    }
    let out = (
        col::<UInt64Array>(path, batch, 0)?,
        col::<Int64Array>(path, batch, 1)?,
        col::<Int64Array>(path, batch, 2)?,
        col::<Float64Array>(path, batch, 3)?,
    );
    if out.0.null_count() + out.1.null_count() + out.2.null_count() + out.3.null_count() > 0 {
        return Err(Error::corrupt(path.display().to_string(), "null values"));
    }
    Ok(out)
}

fn arrow_error(path: &Path, e: ArrowError) -> Error {
    Error::segment(path, e)
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}
