//! Writing segments: [`write_segment`] for points in memory, [`SegmentWriter`]
//! for a stream of sorted batches (used by merges).

use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, UInt64Array};
use arrow::record_batch::RecordBatch;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{
    ArrowColumnChunk, ArrowColumnWriter, ArrowWriterOptions, compute_leaves,
};
use parquet::errors::{ParquetError, Result as ParquetResult};
use parquet::file::writer::SerializedFileWriter;

use super::SegmentInfo;
use super::columns::{PointColumns, RowKey};
use super::format::{SegmentOptions, schema};
use crate::error::{Error, Result};

/// Rows per Arrow batch handed to the Parquet writer.
const WRITE_BATCH_ROWS: usize = 64 * 1024;

/// Writes `points` as the segment file `path`, with the engine's settings.
///
/// `points` must be sorted and free of duplicates, as
/// [`PointColumns::sort_dedup`] leaves them; otherwise nothing is written and
/// an [`Error::Corrupt`] names the first offending row. The file is written as
/// `<path>.tmp`, fsynced, renamed to `path`, and the directory is fsynced, so
/// `path` either does not exist or is complete. Empty `points` give a valid
/// segment with no rows.
pub(crate) fn write_segment(path: &Path, points: &PointColumns) -> Result<SegmentInfo> {
    write_segment_with(path, points, &SegmentOptions::default())
}

/// [`write_segment`] with explicit writer settings.
pub(crate) fn write_segment_with(
    path: &Path,
    points: &PointColumns,
    options: &SegmentOptions,
) -> Result<SegmentInfo> {
    if let Some(i) = points.first_disorder() {
        return Err(disorder(path, i));
    }
    let mut writer = SegmentWriter::create(path, options)?;
    if points.len() < PARALLEL_MIN_ROWS || encoding_threads() < 2 {
        writer.write_sorted(points)?;
    } else {
        writer.write_parallel(points, options.row_group_rows.max(1))?;
    }
    writer.finish()
}

/// Below this many rows a segment is encoded on the calling thread alone.
const PARALLEL_MIN_ROWS: usize = 256 * 1024;

/// Threads that encode one segment's column chunks (the caller is one).
fn encoding_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(4)
}

fn disorder(path: &Path, row: impl std::fmt::Display) -> Error {
    Error::corrupt(
        path.display().to_string(),
        format!(
            "points to write are not sorted by (series, point order) without duplicates at row {row}"
        ),
    )
}

/// Writes one segment from sorted batches, in bounded memory: at most one row
/// group of encoded pages is buffered.
///
/// The file is `<path>.tmp` until [`finish`](Self::finish) renames it into
/// place; dropping the writer unfinished removes the temporary file.
pub(crate) struct SegmentWriter {
    path: PathBuf,
    tmp: PathBuf,
    writer: Option<Sink>,
    rows: u64,
    min_series: u64,
    max_series: u64,
    last: Option<RowKey>,
}

/// Where a segment's row groups go: the Arrow writer, or (after a parallel
/// encode) the Parquet file writer underneath it.
enum Sink {
    Arrow(ArrowWriter<File>),
    Serialized(SerializedFileWriter<File>),
}

impl SegmentWriter {
    /// Creates (or truncates) `<path>.tmp` and starts a segment there.
    pub(crate) fn create(path: &Path, options: &SegmentOptions) -> Result<SegmentWriter> {
        let tmp = tmp_path(path);
        let file = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let mut this = SegmentWriter {
            path: path.to_path_buf(),
            tmp,
            writer: None,
            rows: 0,
            min_series: 0,
            max_series: 0,
            last: None,
        };
        let props = options
            .writer_properties()
            .map_err(|e| this.parquet_error(e))?;
        let writer = ArrowWriter::try_new_with_options(
            file,
            schema(),
            ArrowWriterOptions::new()
                .with_properties(props)
                .with_skip_arrow_metadata(true),
        )
        .map_err(|e| this.parquet_error(e))?;
        this.writer = Some(Sink::Arrow(writer));
        Ok(this)
    }

    /// Appends `points`, which must continue the segment's order: sorted,
    /// without duplicates, and after every row written before.
    pub(crate) fn write(&mut self, points: &PointColumns) -> Result<()> {
        if let Some(i) = points.first_disorder() {
            return Err(disorder(&self.path, self.rows + i as u64));
        }
        self.write_sorted(points)
    }

    /// [`write`](Self::write) for points already known to be in order among
    /// themselves; only the seam with the previous batch is checked.
    fn write_sorted(&mut self, points: &PointColumns) -> Result<()> {
        if points.is_empty() {
            return Ok(());
        }
        let first = points.key(0);
        if self.last.is_some_and(|last| last >= first) {
            return Err(disorder(&self.path, self.rows));
        }
        let Some(Sink::Arrow(writer)) = self.writer.as_mut() else {
            return Err(Error::corrupt(
                self.path.display().to_string(),
                "segment writer used after a failure",
            ));
        };
        // Hand the points over in slices, so the copy into Arrow arrays
        // costs one slice, not a second copy of everything.
        let mut start = 0;
        while start < points.len() {
            let end = points.len().min(start + WRITE_BATCH_ROWS);
            let batch = RecordBatch::try_new(
                schema(),
                vec![
                    Arc::new(UInt64Array::from(points.series[start..end].to_vec())) as ArrayRef,
                    Arc::new(Int64Array::from(points.step[start..end].to_vec())),
                    Arc::new(Int64Array::from(points.timestamp[start..end].to_vec())),
                    Arc::new(Float64Array::from(points.value[start..end].to_vec())),
                ],
            )
            .map_err(|e| Error::segment(&self.path, e))?;
            if let Err(e) = writer.write(&batch) {
                self.writer = None;
                return Err(self.parquet_error(e));
            }
            start = end;
        }
        if self.rows == 0 {
            self.min_series = first.0;
        }
        self.rows += points.len() as u64;
        self.last = Some(points.key(points.len() - 1));
        self.max_series = points.series[points.len() - 1];
        Ok(())
    }

    /// Writes all of `points` (sorted, into an empty segment) as row groups of
    /// `group_rows`, encoding their column chunks on several threads. The
    /// layout is [`write_sorted`](Self::write_sorted)'s (same row groups,
    /// encodings, statistics and page index); only page breaks may differ,
    /// since the streaming writer's also follow its input batches.
    fn write_parallel(&mut self, points: &PointColumns, group_rows: usize) -> Result<()> {
        let (Some(Sink::Arrow(writer)), 0) = (self.writer.take(), self.rows) else {
            return Err(Error::corrupt(
                self.path.display().to_string(),
                "parallel encoding needs a fresh segment writer",
            ));
        };
        let Some(last) = points.len().checked_sub(1) else {
            return Ok(());
        };
        self.writer = Some(Sink::Serialized(
            self.encode_parallel(writer, points, group_rows)?,
        ));
        self.rows = points.len() as u64;
        self.min_series = points.series[0];
        self.max_series = points.series[last];
        self.last = Some(points.key(last));
        Ok(())
    }

    fn encode_parallel(
        &self,
        writer: ArrowWriter<File>,
        points: &PointColumns,
        group_rows: usize,
    ) -> Result<SerializedFileWriter<File>> {
        let (mut file_writer, factory) = writer
            .into_serialized_writer()
            .map_err(|e| self.parquet_error(e))?;
        let groups: Vec<(usize, usize)> = (0..points.len())
            .step_by(group_rows)
            .map(|start| (start, points.len().min(start + group_rows)))
            .collect();
        // One work item per (row group, column), taken in file order.
        let mut items = Vec::with_capacity(groups.len() * COLUMN_COUNT);
        for (g, &range) in groups.iter().enumerate() {
            let writers = factory
                .create_column_writers(g)
                .map_err(|e| self.parquet_error(e))?;
            for (c, w) in writers.into_iter().enumerate() {
                items.push(Mutex::new(Some((range, c, w))));
            }
        }
        let next = AtomicUsize::new(0);
        let chunks: Vec<Mutex<Option<ParquetResult<ArrowColumnChunk>>>> =
            items.iter().map(|_| Mutex::new(None)).collect();
        let work = || {
            loop {
                let i = next.fetch_add(1, AtomicOrdering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let taken = item.lock().ok().and_then(|mut g| g.take());
                let Some(((start, end), column, w)) = taken else {
                    break;
                };
                let chunk = encode_chunk(w, points, column, start, end);
                if let Ok(mut slot) = chunks[i].lock() {
                    *slot = Some(chunk);
                }
            }
        };
        std::thread::scope(|scope| {
            for _ in 1..encoding_threads() {
                scope.spawn(work);
            }
            work();
        });
        let mut chunks = chunks.into_iter().map(|m| m.into_inner().ok().flatten());
        for _ in &groups {
            let mut group = file_writer
                .next_row_group()
                .map_err(|e| self.parquet_error(e))?;
            for _ in 0..COLUMN_COUNT {
                let chunk = chunks
                    .next()
                    .flatten()
                    .ok_or_else(|| {
                        Error::corrupt(
                            self.path.display().to_string(),
                            "a column chunk was not encoded",
                        )
                    })?
                    .map_err(|e| self.parquet_error(e))?;
                chunk
                    .append_to_row_group(&mut group)
                    .map_err(|e| self.parquet_error(e))?;
            }
            group.close().map_err(|e| self.parquet_error(e))?;
        }
        Ok(file_writer)
    }

    /// Writes the footer, fsyncs, renames the file into place and fsyncs the
    /// directory.
    pub(crate) fn finish(mut self) -> Result<SegmentInfo> {
        let Some(writer) = self.writer.take() else {
            return Err(Error::corrupt(
                self.path.display().to_string(),
                "segment writer used after a failure",
            ));
        };
        let file = match writer {
            Sink::Arrow(w) => w.into_inner(),
            Sink::Serialized(w) => w.into_inner(),
        }
        .map_err(|e| self.parquet_error(e))?;
        file.sync_all().map_err(|e| Error::io(&self.tmp, e))?;
        let bytes = file.metadata().map_err(|e| Error::io(&self.tmp, e))?.len();
        drop(file);
        std::fs::rename(&self.tmp, &self.path).map_err(|e| Error::io(&self.path, e))?;
        // Renamed: nothing left for `Drop` to clean up.
        self.tmp = PathBuf::new();
        sync_dir(&self.path)?;
        Ok(SegmentInfo {
            rows: self.rows,
            bytes,
            min_series: self.min_series,
            max_series: self.max_series,
        })
    }

    fn parquet_error(&self, source: ParquetError) -> Error {
        Error::segment(&self.path, source)
    }
}

impl Drop for SegmentWriter {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            // Best effort: an unfinished segment is garbage either way, and a
            // failure here has no one to report to.
            self.writer = None;
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Encodes rows `start..end` of column `column` of `points` into a chunk.
fn encode_chunk(
    mut writer: ArrowColumnWriter,
    points: &PointColumns,
    column: usize,
    start: usize,
    end: usize,
) -> ParquetResult<ArrowColumnChunk> {
    let array: ArrayRef = match column {
        0 => Arc::new(UInt64Array::from(points.series[start..end].to_vec())),
        1 => Arc::new(Int64Array::from(points.step[start..end].to_vec())),
        2 => Arc::new(Int64Array::from(points.timestamp[start..end].to_vec())),
        _ => Arc::new(Float64Array::from(points.value[start..end].to_vec())),
    };
    let schema = schema();
    let field = schema.field(column.min(COLUMN_COUNT - 1));
    for leaf in compute_leaves(field, &array)? {
        writer.write(&leaf)?;
    }
    writer.close()
}

/// Columns of a segment.
const COLUMN_COUNT: usize = 4;

/// `<path>.tmp`.
fn tmp_path(path: &Path) -> PathBuf {
    let mut s = OsString::from(path.as_os_str());
    s.push(".tmp");
    PathBuf::from(s)
}

/// Fsyncs the directory holding `path`, making a rename into it durable.
fn sync_dir(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}
