//! `runstore sql`.

use std::path::Path;

use runstore::analysis;
use runstore::output::BatchWriter;
use runstore::{Error, Store};

/// Arguments of `runstore sql`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// One SQL query (DataFusion's dialect) over the tables runs, metrics,
    /// params, tags, experiments and inputs.
    statement: String,
    #[command(flatten)]
    scope: super::select::Scope,
    /// Output format: table, json or csv (default: table on a terminal, else json).
    #[arg(long)]
    format: Option<String>,
}

pub fn run(db: &Path, args: Args) -> Result<(), Error> {
    let format = super::pick_format(args.format.as_deref())?;
    let selection = args.scope.selection()?;
    let store = Store::open_read_only(db)?;
    // The CLI owns the runtime DataFusion's operators spawn tasks on; the
    // scans block on the store, which is fine on this, the only thread.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| Error::Io {
            path: "<tokio runtime>".into(),
            source: e,
        })?;
    runtime.block_on(async {
        let mut answer = analysis::sql(&store, &args.statement, &selection).await?;
        let mut out = super::stdout();
        let mut writer = BatchWriter::new(&mut out, format, &answer.schema)?;
        while let Some(batch) = answer.next().await? {
            writer.write(&batch)?;
        }
        writer.finish()?;
        super::flush(&mut out)
    })
}
