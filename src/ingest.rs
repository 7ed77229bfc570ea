//! Ingesting JSON Lines files of run records into a store.
//!
//! A reader thread splits and parses lines while the calling thread applies
//! the records to a write batch, committing every few million points. The
//! first bad line stops the ingest: every line before it is committed, nothing
//! of that line is stored, and the error names its line number. Re-running an
//! interrupted ingest completes it (identical points are stored once).

use std::io::BufRead;
use std::sync::mpsc;

use crate::engine::{RunRecord, Store};
use crate::error::{Error, Result};
use crate::record::parse_record;

/// How an ingest commits.
#[derive(Clone, Debug)]
pub struct IngestOptions {
    /// Commit once a batch holds this many metric points.
    pub batch_points: usize,
    /// Commit once a batch holds this many runs.
    pub batch_runs: usize,
    /// Refresh the search-index snapshot when done (a bulk load about to
    /// exit wants this; a long-lived process leaves it to the store's
    /// maintenance owner, which snapshots when the change log is long).
    pub refresh_index: bool,
    /// Catch the search index up with each commit on a second thread.
    pub index_in_background: bool,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            batch_points: 4_000_000,
            batch_runs: 50_000,
            refresh_index: false,
            index_in_background: true,
        }
    }
}

/// Counts of an ingest so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IngestSummary {
    /// Run records applied (and committed).
    pub runs: u64,
    /// Metric points in those records (duplicates of stored points included).
    pub points: u64,
    /// Bytes of input consumed.
    pub bytes: u64,
}

/// Lines parsed by the reader thread, sent in chunks.
struct Chunk {
    items: Vec<(u64, std::result::Result<RunRecord, String>)>,
    bytes: u64,
}

const CHUNK_LINES: usize = 256;

/// Ingests run records from `input` (named `source` in errors) into `store`.
///
/// `progress` is called as input is consumed, with running totals (of lines
/// applied, not all of them committed yet).
pub fn ingest(
    store: &Store,
    input: impl BufRead + Send,
    source: &str,
    options: &IngestOptions,
    mut progress: impl FnMut(&IngestSummary),
) -> Result<IngestSummary> {
    let mut summary = IngestSummary::default();
    let outcome = std::thread::scope(|scope| -> Result<()> {
        let (tx, rx) = mpsc::sync_channel::<std::io::Result<Chunk>>(16);
        scope.spawn(move || read_lines(input, tx));
        // The search index catches up with each commit on a thread of its
        // own, overlapping the next batch (a failure there only leaves the
        // work to the final refresh). Dropping `committed` stops it.
        let (committed, commits) = mpsc::sync_channel::<()>(1);
        if options.index_in_background {
            scope.spawn(move || {
                for () in commits {
                    if store.catch_up_index().is_err() {
                        break;
                    }
                }
            });
        }
        let notify = |committed: &mpsc::SyncSender<()>| {
            // A full channel means a catch-up is already due: nothing to add.
            let _ = committed.try_send(());
        };
        let mut batch = store.write()?;
        let (mut batch_points, mut batch_runs) = (0usize, 0usize);
        let mut pending = IngestSummary::default();
        for chunk in rx {
            let chunk = chunk.map_err(|e| Error::Io {
                path: source.into(),
                source: e,
            })?;
            for (line, parsed) in chunk.items {
                let record = match parsed {
                    Ok(r) => r,
                    Err(message) => {
                        batch.commit()?;
                        add(&mut summary, &pending);
                        return Err(Error::BadRecord {
                            file: source.to_owned(),
                            line,
                            message,
                        });
                    }
                };
                let points: usize = record.metrics.iter().map(|(_, p)| p.len()).sum();
                if let Err(e) = batch.upsert_run(record) {
                    if e.is_user_error() {
                        batch.commit()?;
                        add(&mut summary, &pending);
                        return Err(Error::BadRecord {
                            file: source.to_owned(),
                            line,
                            message: e.to_string(),
                        });
                    }
                    return Err(e.into());
                }
                pending.runs += 1;
                pending.points += points as u64;
                batch_points += points;
                batch_runs += 1;
                if batch_points >= options.batch_points || batch_runs >= options.batch_runs {
                    batch.commit()?;
                    notify(&committed);
                    add(&mut summary, &pending);
                    pending = IngestSummary::default();
                    batch = store.write()?;
                    batch_points = 0;
                    batch_runs = 0;
                }
            }
            pending.bytes += chunk.bytes;
            let mut so_far = summary;
            add(&mut so_far, &pending);
            progress(&so_far);
        }
        batch.commit()?;
        add(&mut summary, &pending);
        Ok(())
    });
    outcome?;
    if options.refresh_index {
        store.refresh_index_snapshot()?;
    }
    Ok(summary)
}

/// Inputs up to this size take [`ingest_bytes`]' single-write path.
pub const SMALL_INGEST_BYTES: usize = 1 << 20;

/// Ingests run records held in memory (what the C API's `rs_ingest_jsonl`
/// passes). A small input — a training loop's one record a step — is
/// parsed on the calling thread and applied as one write of the store's
/// group commit, so concurrent callers share a commit and no thread is
/// started; a large one goes through [`ingest`]. Same rules either way: the
/// first bad line stops it, every line before it is stored.
pub fn ingest_bytes(
    store: &Store,
    data: &[u8],
    source: &str,
    options: &IngestOptions,
) -> Result<IngestSummary> {
    if data.len() > SMALL_INGEST_BYTES {
        return ingest(store, data, source, options, |_| {});
    }
    let mut records = Vec::new();
    let mut lines = Vec::new();
    let mut bad: Option<Error> = None;
    for (i, raw) in data.split(|&b| b == b'\n').enumerate() {
        let line = i as u64 + 1;
        let parsed = match std::str::from_utf8(raw) {
            Ok(text) if text.trim().is_empty() => continue,
            Ok(text) => parse_record(text.trim()),
            Err(e) => Err(format!("not valid UTF-8: {e}")),
        };
        match parsed {
            Ok(r) => {
                records.push(r);
                lines.push(line);
            }
            Err(message) => {
                bad = Some(Error::BadRecord {
                    file: source.to_owned(),
                    line,
                    message,
                });
                break;
            }
        }
    }
    let points: Vec<u64> = records
        .iter()
        .map(|r| r.metrics.iter().map(|(_, p)| p.len() as u64).sum())
        .collect();
    let (applied, refused) = store.upsert_runs(records)?;
    if let Some(e) = refused {
        return Err(Error::BadRecord {
            file: source.to_owned(),
            line: lines.get(applied).copied().unwrap_or_default(),
            message: e.to_string(),
        });
    }
    if let Some(e) = bad {
        return Err(e);
    }
    Ok(IngestSummary {
        runs: applied as u64,
        points: points.iter().sum(),
        bytes: data.len() as u64,
    })
}

fn add(total: &mut IngestSummary, part: &IngestSummary) {
    total.runs += part.runs;
    total.points += part.points;
    total.bytes += part.bytes;
}

/// Reads and parses lines, sending them in chunks; stops at the first parse
/// error (after sending it) or when the receiver hangs up.
fn read_lines(mut input: impl BufRead, tx: mpsc::SyncSender<std::io::Result<Chunk>>) {
    let mut line_no = 0u64;
    let mut buf = Vec::new();
    loop {
        let mut chunk = Chunk {
            items: Vec::with_capacity(CHUNK_LINES),
            bytes: 0,
        };
        let mut stop = false;
        while chunk.items.len() < CHUNK_LINES {
            buf.clear();
            match input.read_until(b'\n', &mut buf) {
                Ok(0) => {
                    stop = true;
                    break;
                }
                Ok(n) => {
                    line_no += 1;
                    chunk.bytes += n as u64;
                    let parsed = match std::str::from_utf8(&buf) {
                        Ok(text) if text.trim().is_empty() => continue,
                        Ok(text) => parse_record(text.trim()),
                        Err(e) => Err(format!("not valid UTF-8: {e}")),
                    };
                    let bad = parsed.is_err();
                    chunk.items.push((line_no, parsed));
                    if bad {
                        stop = true;
                        break;
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            }
        }
        if tx.send(Ok(chunk)).is_err() || stop {
            return;
        }
    }
}
