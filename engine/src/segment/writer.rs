//! Writing segments: [`write_segment`] for points in memory, [`SegmentWriter`]
//! for a stream of sorted batches (used by merges).

use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, UInt64Array};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::ArrowWriterOptions;
use parquet::errors::ParquetError;

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
    writer.write_sorted(points)?;
    writer.finish()
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
    writer: Option<ArrowWriter<File>>,
    rows: u64,
    min_series: u64,
    max_series: u64,
    last: Option<RowKey>,
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
        this.writer = Some(writer);
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
        let Some(writer) = self.writer.as_mut() else {
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
            )?;
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

    /// Writes the footer, fsyncs, renames the file into place and fsyncs the
    /// directory.
    pub(crate) fn finish(mut self) -> Result<SegmentInfo> {
        let Some(writer) = self.writer.take() else {
            return Err(Error::corrupt(
                self.path.display().to_string(),
                "segment writer used after a failure",
            ));
        };
        let file = writer.into_inner().map_err(|e| self.parquet_error(e))?;
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
        Error::Segment {
            path: self.path.clone(),
            source,
        }
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
