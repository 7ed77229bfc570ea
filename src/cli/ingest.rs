//! `runstore ingest`.

use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal};
use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use runstore::Error;
use runstore::ingest::{IngestOptions, IngestSummary, ingest};

/// Arguments of `runstore ingest`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// JSON Lines files of run records; `-` reads stdin.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Commit after this many metric points (bigger batches make bigger segments).
    #[arg(long, default_value_t = IngestOptions::default().batch_points)]
    batch_points: usize,
    /// Commit after this many runs.
    #[arg(long, default_value_t = IngestOptions::default().batch_runs)]
    batch_runs: usize,
}

/// `ingest` compacts the catalog afterwards once this much of it is free
/// (and an eighth of the file): a bulk load's leftovers, not the few pages a
/// small ingest frees.
const AUTO_COMPACT_MIN_FREE: u64 = 4 << 20;

pub fn run(db: &Path, args: Args) -> Result<(), Error> {
    let store = super::open_writable(db)?;
    if args.batch_points == 0 || args.batch_runs == 0 {
        return Err(Error::Usage(
            "--batch-points and --batch-runs must be at least 1".into(),
        ));
    }
    let options = IngestOptions {
        batch_points: args.batch_points,
        batch_runs: args.batch_runs,
        refresh_index: false,
        ..IngestOptions::default()
    };
    let started = Instant::now();
    let mut total = IngestSummary::default();
    for path in &args.files {
        let (input, size, name): (Box<dyn BufRead + Send>, Option<u64>, String) =
            if path.as_os_str() == "-" {
                (
                    Box::new(BufReader::with_capacity(1 << 20, std::io::stdin())),
                    None,
                    "-".into(),
                )
            } else {
                let file = File::open(path).map_err(|e| Error::Io {
                    path: path.clone(),
                    source: e,
                })?;
                let size = file.metadata().ok().map(|m| m.len());
                (
                    Box::new(BufReader::with_capacity(1 << 20, file)),
                    size,
                    path.display().to_string(),
                )
            };
        let bar = progress_bar(size, &name);
        let before = total;
        let result = ingest(&store, input, &name, &options, |s| {
            if let Some(bar) = &bar {
                bar.set_position(s.bytes);
                bar.set_message(format!(
                    "{} runs, {} points",
                    before.runs + s.runs,
                    before.points + s.points
                ));
            }
        });
        if let Some(bar) = &bar {
            bar.finish_and_clear();
        }
        match result {
            Ok(s) => {
                total.runs += s.runs;
                total.points += s.points;
                total.bytes += s.bytes;
            }
            Err(e) => {
                // Everything before the bad line is committed: keep the index current.
                let _ = store.refresh_index_snapshot();
                return Err(e);
            }
        }
    }
    // This process is about to exit: do the owner's work now, so the next
    // process opens a compact store with a current index snapshot.
    store.compact_points_now()?;
    store.refresh_index_snapshot()?;
    // Bulk loads leave much of the catalog file free; give it back.
    store.compact_if_sparse(AUTO_COMPACT_MIN_FREE)?;
    println!(
        "ingested {} runs, {} metric points",
        total.runs, total.points
    );
    if std::io::stderr().is_terminal() {
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "{:.2} s, {:.0} points/s",
            secs,
            total.points as f64 / secs.max(1e-9)
        );
    }
    Ok(())
}

fn progress_bar(size: Option<u64>, name: &str) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = match size {
        Some(n) => {
            let bar = ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar
        }
        None => {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{prefix} {spinner} {bytes} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar
        }
    };
    bar.set_prefix(name.to_owned());
    Some(bar)
}
