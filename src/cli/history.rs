//! `runstore history`.

use std::path::Path;

use runstore::{Error, RunId, Store};

/// Arguments of `runstore history`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The run (32 hex characters).
    run_id: String,
    /// The metric key.
    key: String,
    /// Output format: table, json or csv (default: table on a terminal, else json).
    #[arg(long)]
    format: Option<String>,
}

pub fn run(db: &Path, args: Args) -> Result<(), Error> {
    let format = super::pick_format(args.format.as_deref())?;
    let run_id: RunId = args.run_id.parse()?;
    let store = Store::open_read_only(db)?;
    let points = store.metric_history(run_id, &args.key)?;
    let mut out = super::stdout();
    runstore::output::write_history(&mut out, format, run_id, &args.key, &points)?;
    super::flush(&mut out)
}
