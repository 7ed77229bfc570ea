//! `runstore runs …`: one run at a time.

use std::path::Path;

use runstore::output::Format;
use runstore::{Error, RunId, RunStatus, RunUpdate, Store};

/// Arguments of `runstore runs`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    /// Print one run (`--format json`: one run object, as in search output).
    Get {
        /// The run (32 hex characters).
        run_id: String,
        /// Output format: table, json or csv.
        #[arg(long)]
        format: Option<String>,
    },
    /// Delete a run (it can be restored).
    Delete {
        /// The run.
        run_id: String,
    },
    /// Restore a deleted run.
    Restore {
        /// The run.
        run_id: String,
    },
    /// Set (or overwrite) a tag of an active run.
    SetTag {
        /// The run.
        run_id: String,
        /// Tag key.
        key: String,
        /// Tag value.
        value: String,
    },
    /// Delete a tag of an active run.
    DeleteTag {
        /// The run.
        run_id: String,
        /// Tag key.
        key: String,
    },
    /// Set an active run's status (RUNNING, SCHEDULED, FINISHED, FAILED, KILLED).
    #[command(
        after_help = "Example:\n  runstore runs set-status 0f3a0000000000000000000000000001 FINISHED --end-time 1700000060000"
    )]
    SetStatus {
        /// The run.
        run_id: String,
        /// The new status.
        status: String,
        /// End time, ms since the epoch.
        #[arg(long)]
        end_time: Option<i64>,
    },
}

pub fn run(db: &Path, args: Args) -> Result<(), Error> {
    match args.command {
        Command::Get { run_id, format } => {
            let format = super::pick_format(format.as_deref())?;
            let run_id: RunId = run_id.parse()?;
            let store = Store::open_read_only(db)?;
            let run = store.get_run(run_id)?;
            let mut out = super::stdout();
            match format {
                Format::Json => {
                    let doc = runstore::output::run_json(&run);
                    super::write_line(&mut out, &doc.to_string())?;
                }
                _ => {
                    let page = runstore::output::RunsPage {
                        runs: vec![run],
                        next_page_token: None,
                    };
                    runstore::output::write_runs(&mut out, format, &page)?;
                }
            }
            super::flush(&mut out)
        }
        Command::Delete { run_id } => {
            let run_id: RunId = run_id.parse()?;
            super::open_writable(db)?.delete_run(run_id)?;
            println!("deleted run {run_id}");
            Ok(())
        }
        Command::Restore { run_id } => {
            let run_id: RunId = run_id.parse()?;
            super::open_writable(db)?.restore_run(run_id)?;
            println!("restored run {run_id}");
            Ok(())
        }
        Command::SetTag { run_id, key, value } => {
            let run_id: RunId = run_id.parse()?;
            super::open_writable(db)?.set_tag(run_id, &key, &value)?;
            println!("set tag {key:?} of run {run_id}");
            Ok(())
        }
        Command::DeleteTag { run_id, key } => {
            let run_id: RunId = run_id.parse()?;
            super::open_writable(db)?.delete_tag(run_id, &key)?;
            println!("deleted tag {key:?} of run {run_id}");
            Ok(())
        }
        Command::SetStatus {
            run_id,
            status,
            end_time,
        } => {
            let run_id: RunId = run_id.parse()?;
            let status: RunStatus = status.parse()?;
            let update = RunUpdate {
                status: Some(status),
                end_time,
                ..RunUpdate::default()
            };
            super::open_writable(db)?.update_run(run_id, update)?;
            println!("run {run_id} is now {status}");
            Ok(())
        }
    }
}
