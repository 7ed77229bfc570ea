//! `runstore export`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use runstore::analysis::{self, ExportReport, Progress, Selection};
use runstore::{Error, Store};

/// Arguments of `runstore export`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Directory to write the Parquet files into (created if needed).
    dir: PathBuf,
    #[command(flatten)]
    runs: super::select::Runs,
    /// Output format of the summary: table or json (default: table on a terminal, else json).
    #[arg(long)]
    format: Option<String>,
}

pub fn run(db: &Path, args: Args) -> Result<(), Error> {
    let format = super::pick_format(args.format.as_deref())?;
    let selection: Selection = args.runs.selection()?;
    let store = Store::open_read_only(db)?;
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} {human_pos} rows ({per_sec}) {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar
    });
    let mut current = "";
    let report = analysis::export(&store, &args.dir, &selection, &mut |p: &Progress| {
        if let Some(bar) = &bar {
            if p.file != current {
                current = p.file;
                bar.set_message(p.file);
                bar.reset();
            }
            bar.set_position(p.rows);
        }
    })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let mut out = super::stdout();
    print_report(&mut out, format, &report)?;
    super::flush(&mut out)
}

fn print_report(
    out: &mut impl Write,
    format: runstore::output::Format,
    report: &ExportReport,
) -> Result<(), Error> {
    use runstore::output::Format;
    match format {
        Format::Json | Format::Csv => {
            let text = serde_json::to_string(report).map_err(|e| Error::Output(e.to_string()))?;
            super::write_line(out, &text)
        }
        Format::Table => {
            for f in &report.files {
                let verb = if f.written { "wrote" } else { "kept " };
                super::write_line(
                    out,
                    &format!(
                        "{verb} {:<20} {:>12} rows {:>12} bytes  {}",
                        f.file, f.rows, f.bytes, f.reason
                    ),
                )?;
            }
            super::write_line(
                out,
                &format!(
                    "exported {} runs, {} metric points to {}",
                    report.runs,
                    report.points,
                    report.dir.display()
                ),
            )
        }
    }
}
