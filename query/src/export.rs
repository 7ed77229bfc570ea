//! Parquet export: the six [`Tables`] written to a directory as zstd
//! Parquet files pandas, pyarrow, DuckDB and Spark read with no options.
//!
//! Each file is streamed batch by batch (memory follows the batch and row
//! group sizes, not the store), written under a temporary name, fsynced,
//! and renamed into place only after every file was written — a failed
//! export leaves the previous files as they were and no half file.
//!
//! A manifest (`.runstore-export.json`) records what each file was made
//! from. Exporting into the same directory again rewrites only the files
//! whose inputs changed; the report says, per file, why it was rewritten.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use runstore_engine::RunDigests;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::tables::{Pushdown, Table, TableScan, Tables, run_batch};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;

/// The manifest's file name inside the export directory.
pub const MANIFEST: &str = ".runstore-export.json";

/// Rows per row group of `metrics.parquet` (a scan reads whole groups;
/// statistics on run_id/key/step let readers skip the rest).
pub const METRIC_ROW_GROUP: usize = 1 << 20;
/// Rows per row group of the other files.
pub const ROW_GROUP: usize = 128 * 1024;

/// What one file of an export became.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileReport {
    /// File name, e.g. `runs.parquet`.
    pub file: String,
    /// Rows in it.
    pub rows: u64,
    /// Size in bytes.
    pub bytes: u64,
    /// Whether this export wrote it (else it was already up to date).
    pub written: bool,
    /// Why it was written or kept.
    pub reason: String,
}

/// What an export did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExportReport {
    /// The directory.
    pub dir: PathBuf,
    /// Runs exported.
    pub runs: u64,
    /// Metric points exported (in `metrics.parquet`).
    pub points: u64,
    /// Each file.
    pub files: Vec<FileReport>,
}

/// Progress of an export, for a progress bar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Progress {
    /// The file being written.
    pub file: &'static str,
    /// Rows written to it so far.
    pub rows: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Manifest {
    /// Per file: the fingerprint of its inputs, its rows and bytes.
    files: BTreeMap<String, ManifestEntry>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
struct ManifestEntry {
    fingerprint: String,
    rows: u64,
    bytes: u64,
}

/// Exports `tables` into `dir` (created if needed).
pub fn export(
    tables: Arc<Tables>,
    dir: &Path,
    progress: &mut dyn FnMut(&Progress),
) -> Result<ExportReport> {
    std::fs::create_dir_all(dir).map_err(|e| write_error(dir, e))?;
    remove_temporaries(dir);
    let manifest_path = dir.join(MANIFEST);
    let old: Manifest = match std::fs::read(&manifest_path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
        Err(_) => Manifest::default(),
    };
    let fingerprints = fingerprints(&tables)?;
    // Which files to write, and why.
    let mut reports = Vec::new();
    let mut manifest = Manifest::default();
    let mut to_write = Vec::new();
    for table in Table::ALL {
        let file = table_file(table).to_owned();
        let fingerprint = fingerprints[&table].clone();
        let previous = old.files.get(&file);
        let on_disk = std::fs::metadata(dir.join(&file)).ok().map(|m| m.len());
        if let Some(p) =
            previous.filter(|p| p.fingerprint == fingerprint && on_disk == Some(p.bytes))
        {
            reports.push(FileReport {
                file: file.clone(),
                rows: p.rows,
                bytes: p.bytes,
                written: false,
                reason: "unchanged since the last export".into(),
            });
            manifest.files.insert(file, p.clone());
            continue;
        }
        let reason = match (previous, on_disk) {
            (None, _) | (_, None) => "new".to_owned(),
            (Some(p), Some(bytes)) if p.bytes != bytes => {
                "the file on disk is not the one last exported".to_owned()
            }
            _ => changed_reason(table).to_owned(),
        };
        to_write.push((table, reason, fingerprint));
    }
    let tables_to_write: Vec<Table> = to_write.iter().map(|t| t.0).collect();
    let written = match write_files(&tables, dir, &tables_to_write, progress) {
        Ok(w) => w,
        Err(e) => {
            remove_temporaries(dir);
            return Err(e);
        }
    };
    for ((table, reason, fingerprint), (tmp, rows)) in to_write.into_iter().zip(&written) {
        let bytes = std::fs::metadata(tmp)
            .map_err(|e| write_error(tmp, e))?
            .len();
        let file = table_file(table).to_owned();
        reports.push(FileReport {
            file: file.clone(),
            rows: *rows,
            bytes,
            written: true,
            reason,
        });
        manifest.files.insert(
            file,
            ManifestEntry {
                fingerprint,
                rows: *rows,
                bytes,
            },
        );
    }
    // Every file is whole: put them in place, then the manifest.
    for ((tmp, _), table) in written.iter().zip(&tables_to_write) {
        let path = dir.join(table_file(*table));
        std::fs::rename(tmp, &path).map_err(|e| write_error(&path, e))?;
    }
    let text = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| Error::Internal(format!("manifest: {e}")))?;
    write_atomically(&manifest_path, &text)?;
    sync_dir(dir);
    reports.sort_by_key(|r| Table::ALL.iter().position(|t| table_file(*t) == r.file));
    let points = reports
        .iter()
        .find(|r| r.file == table_file(Table::Metrics))
        .map_or(0, |r| r.rows);
    Ok(ExportReport {
        dir: dir.to_path_buf(),
        runs: tables.run_count() as u64,
        points,
        files: reports,
    })
}

/// One file being written under its temporary name.
struct FileWriter {
    table: Table,
    tmp: PathBuf,
    schema: SchemaRef,
    writer: ArrowWriter<File>,
    rows: u64,
}

impl FileWriter {
    fn new(tables: &Tables, dir: &Path, table: Table) -> Result<FileWriter> {
        let tmp = dir.join(format!(".{}.tmp", table_file(table)));
        let group = if table == Table::Metrics {
            METRIC_ROW_GROUP
        } else {
            ROW_GROUP
        };
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_statistics_enabled(EnabledStatistics::Page)
            .set_max_row_group_row_count(Some(group))
            .set_created_by(format!("runstore {}", env!("CARGO_PKG_VERSION")))
            .build();
        let schema = tables.schema(table)?;
        let file = File::create(&tmp).map_err(|e| write_error(&tmp, e))?;
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(props))
            .map_err(|e| write_error(&tmp, e))?;
        Ok(FileWriter {
            table,
            tmp,
            schema,
            writer,
            rows: 0,
        })
    }

    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.rows += batch.num_rows() as u64;
        self.writer
            .write(batch)
            .map_err(|e| write_error(&self.tmp, e))
    }

    fn finish(self) -> Result<(PathBuf, u64)> {
        let file = self
            .writer
            .into_inner()
            .map_err(|e| write_error(&self.tmp, e))?;
        file.sync_all().map_err(|e| write_error(&self.tmp, e))?;
        Ok((self.tmp, self.rows))
    }
}

/// Writes `which` under temporary names; returns each one's (temporary
/// path, rows), in the order of `which`. The run-keyed files are written
/// together from one read of each chunk of runs, while another thread
/// writes the metric points (the machine's second core).
fn write_files(
    tables: &Arc<Tables>,
    dir: &Path,
    which: &[Table],
    progress: &mut dyn FnMut(&Progress),
) -> Result<Vec<(PathBuf, u64)>> {
    let mut done: HashMap<Table, (PathBuf, u64)> = HashMap::new();
    if which.contains(&Table::Experiments) {
        let w = write_scan(tables, dir, Table::Experiments, &AtomicU64::new(0))?;
        done.insert(Table::Experiments, w);
    }
    let per_run: Vec<Table> = which
        .iter()
        .copied()
        .filter(|t| !matches!(t, Table::Metrics | Table::Experiments))
        .collect();
    let points_done = AtomicU64::new(0);
    let (per_run_result, metrics_result) = std::thread::scope(|scope| {
        let metrics = which.contains(&Table::Metrics).then(|| {
            let points_done = &points_done;
            scope.spawn(move || write_scan(tables, dir, Table::Metrics, points_done))
        });
        let per_run = write_per_run(tables, dir, &per_run, progress);
        if let Some(m) = &metrics {
            while !m.is_finished() {
                progress(&Progress {
                    file: table_file(Table::Metrics),
                    rows: points_done.load(Ordering::Relaxed),
                });
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        }
        let metrics = metrics.map(|m| {
            m.join()
                .unwrap_or_else(|_| Err(Error::Internal("the metrics writer panicked".into())))
        });
        (per_run, metrics)
    });
    done.extend(per_run_result?);
    if let Some(m) = metrics_result {
        done.insert(Table::Metrics, m?);
    }
    which
        .iter()
        .map(|t| {
            done.remove(t)
                .ok_or_else(|| Error::Internal(format!("{} not written", t.name())))
        })
        .collect()
}

/// Writes the run-keyed `which` from one read of each chunk of runs.
fn write_per_run(
    tables: &Arc<Tables>,
    dir: &Path,
    which: &[Table],
    progress: &mut dyn FnMut(&Progress),
) -> Result<Vec<(Table, (PathBuf, u64))>> {
    if which.is_empty() {
        return Ok(Vec::new());
    }
    let mut writers = which
        .iter()
        .map(|&t| FileWriter::new(tables, dir, t))
        .collect::<Result<Vec<_>>>()?;
    let mut runs_done = 0u64;
    for chunk in tables.run_chunks() {
        let runs = chunk?;
        for w in &mut writers {
            let batch = run_batch(w.table, &w.schema, &runs, None)?;
            if batch.num_rows() > 0 {
                w.write(&batch)?;
            }
        }
        runs_done += runs.len() as u64;
        progress(&Progress {
            file: "runs, params, tags, inputs",
            rows: runs_done,
        });
    }
    writers
        .into_iter()
        .map(|w| Ok((w.table, w.finish()?)))
        .collect()
}

/// Writes `table` from a [`TableScan`], counting rows into `rows`.
fn write_scan(
    tables: &Arc<Tables>,
    dir: &Path,
    table: Table,
    rows: &AtomicU64,
) -> Result<(PathBuf, u64)> {
    let mut w = FileWriter::new(tables, dir, table)?;
    for batch in TableScan::new(tables.clone(), table, None, Pushdown::default())? {
        w.write(&batch?)?;
        rows.store(w.rows, Ordering::Relaxed);
    }
    w.finish()
}

fn changed_reason(table: Table) -> &'static str {
    match table {
        Table::Runs => "runs changed (a Parquet file cannot be patched: rewritten whole)",
        Table::Metrics => {
            "new metric points (or merged segments) for the exported runs: rewritten whole, \
             since the file is sorted by run_id"
        }
        Table::Params => "params changed",
        Table::Tags => "tags changed",
        Table::Experiments => "experiments changed",
        Table::Inputs => "inputs changed",
    }
}

/// The fingerprint of each file's inputs.
fn fingerprints(tables: &Tables) -> Result<HashMap<Table, String>> {
    let d: RunDigests = tables.digests()?;
    let mut exps = String::new();
    for e in tables.experiments() {
        exps.push_str(&format!("{e:?}"));
    }
    let exps = format!("{:016x}", fnv(exps.as_bytes()));
    let mut out = HashMap::new();
    out.insert(Table::Runs, format!("{:016x}-{exps}", d.runs));
    out.insert(Table::Metrics, format!("{:016x}", d.points));
    out.insert(Table::Params, format!("{:016x}", d.params));
    out.insert(Table::Tags, format!("{:016x}", d.tags));
    out.insert(Table::Experiments, exps);
    out.insert(Table::Inputs, format!("{:016x}", d.inputs));
    Ok(out)
}

fn fnv(bytes: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn table_file(table: Table) -> &'static str {
    match table {
        Table::Runs => "runs.parquet",
        Table::Metrics => "metrics.parquet",
        Table::Params => "params.parquet",
        Table::Tags => "tags.parquet",
        Table::Experiments => "experiments.parquet",
        Table::Inputs => "inputs.parquet",
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("json.tmp");
    let mut f = File::create(&tmp).map_err(|e| write_error(&tmp, e))?;
    f.write_all(bytes).map_err(|e| write_error(&tmp, e))?;
    f.sync_all().map_err(|e| write_error(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| write_error(path, e))
}

/// Removes temporaries a crashed export left.
fn remove_temporaries(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') && name.ends_with(".parquet.tmp") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

fn write_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Write {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}
