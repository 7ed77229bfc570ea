//! Command-line parsing and dispatch. Errors become one `error:` line on
//! stderr and exit status 2 (bad input) or 1 (any other failure).

mod compact;
mod compare;
mod demo;
mod experiments;
mod export;
mod forward;
mod history;
mod ingest;
mod runs;
mod search;
mod select;
mod serve;
mod sql;

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use runstore::Error;
use runstore::output::Format;

const EXAMPLES: &str = "\
Examples:
  runstore demo                                    make a sample store and search it
  runstore --db ./store ingest runs.jsonl          add run records (JSON Lines; - for stdin)
  runstore --db ./store search --filter \"metrics.acc > 0.9\" --order-by \"metrics.acc DESC\"
  runstore --db ./store history 0f3a…32hex loss    one metric's full history
  runstore --db ./store experiments list           experiments (create, rename, delete, restore too)
  runstore --db ./store runs get 0f3a…32hex --format json
  runstore --db ./store runs set-status 0f3a…32hex FINISHED
  runstore --db ./store export ./out --experiment mnist   Parquet files for pandas, DuckDB, Spark
  runstore --db ./store sql \"SELECT key, COUNT(*) FROM metrics GROUP BY key\"
  runstore --db ./store compare --metric loss --filter \"params.lr = '0.01'\" --plot loss.svg
  runstore --db ./store forward status             writes forwarded to an MLflow server
";

/// `runstore sql --help`: the tables and the worked examples (the same
/// statements as `runstore::analysis::SQL_EXAMPLES`; a test keeps them equal).
const SQL_HELP: &str = r#"Tables (the same as `runstore export` writes):
  runs         one row a run: run_id, run_name, experiment_id, experiment, status, start_time,
               end_time, user, lifecycle_stage, artifact_uri, then "params.KEY", "metrics.KEY"
               (latest value), "tags.KEY" (quote these names: they hold dots)
  metrics      run_id, key, step, timestamp, value — every point
  params, tags run_id, key, value
  experiments  experiment_id, name, lifecycle_stage, artifact_location, creation_time,
               last_update_time, tags (a map)
  inputs       run_id, name, digest, source_type, source, context, schema, profile
Filters on run_id, key and experiment are pushed into the scans (only matching runs and
series are read). The tables hold active runs unless --view says otherwise.

Examples:
  # the best run of each experiment by a metric
  runstore sql 'SELECT experiment, run_id, "metrics.accuracy" AS accuracy FROM (SELECT experiment, run_id, "metrics.accuracy", ROW_NUMBER() OVER (PARTITION BY experiment ORDER BY "metrics.accuracy" DESC, run_id) AS rn FROM runs WHERE "metrics.accuracy" IS NOT NULL) t WHERE rn = 1 ORDER BY experiment'

  # the mean loss per step across the runs with a param value
  runstore sql "SELECT m.step, AVG(m.value) AS mean_loss, COUNT(*) AS n FROM metrics m JOIN params p ON m.run_id = p.run_id WHERE m.key = 'loss' AND p.key = 'optimizer' AND p.value = 'adam' GROUP BY m.step ORDER BY m.step"

  # metrics joined to params: the best loss for each learning rate
  runstore sql "SELECT p.value AS lr, MIN(m.value) AS best_loss, COUNT(DISTINCT m.run_id) AS runs FROM metrics m JOIN params p ON p.run_id = m.run_id AND p.key = 'lr' WHERE m.key = 'loss' GROUP BY p.value ORDER BY p.value"
"#;

/// runstore: an embedded, columnar store for ML experiment runs.
#[derive(Parser, Debug)]
#[command(name = "runstore", version, about, after_help = EXAMPLES)]
struct Cli {
    /// Store directory (created on first write).
    #[arg(long, global = true, env = "RUNSTORE_DB", value_name = "DIR")]
    db: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Append run records from JSON Lines files (`-` reads stdin).
    #[command(after_help = "\
Each line is one run: {\"experiment\": \"churn\", \"run_id\": \"<32 hex>\", \"params\": {...},
\"tags\": {...}, \"metrics\": {\"loss\": [[step, value, timestamp_ms], ...]}, ...}.
A record whose run_id exists appends to that run; identical points are stored once,
so re-running an interrupted ingest completes it. The first bad line stops the ingest:
every line before it is kept, and the error names the line. Afterwards, if the
catalog file is at least an eighth free space (a bulk load's copy-on-write leftovers),
ingest compacts it.

Example:
  runstore --db ./store ingest day1.jsonl day2.jsonl")]
    Ingest(ingest::Args),
    /// Search runs with MLflow's filter and order_by language.
    #[command(after_help = "\
The filter is MLflow's search_runs grammar: metrics./params./tags./attributes./datasets.
identifiers (backticks for keys with dots or spaces), = != < <= > >= LIKE ILIKE IN NOT IN
IS NULL IS NOT NULL, joined by AND. A metric's value is its latest one. Runs lacking an
order_by key come last. --extended adds OR, NOT and parentheses (not MLflow).

Examples:
  runstore search --experiment mnist --filter \"metrics.val_acc > 0.95\" --order-by \"metrics.val_acc DESC\"
  runstore search --filter \"params.optimizer IN ('adam', 'sgd') AND tags.team LIKE 'vis%'\" --format csv
  runstore search --extended --filter \"NOT (attributes.status = 'FAILED' OR metrics.loss > 1)\"
  runstore search --max-results 100 --page-token <next_page_token from the previous page>")]
    Search(search::Args),
    /// Print one metric's full history, ordered by step then timestamp.
    #[command(
        after_help = "Example:\n  runstore --db ./store history 0f3a0000000000000000000000000001 loss --format csv"
    )]
    History(history::Args),
    /// Reclaim free space: flush staged points into a segment and rewrite the
    /// catalog without the pages earlier transactions freed.
    #[command(
        after_help = "Run it after many small writes, with no other process using the store (ingest compacts\nafter itself when a bulk load left much free space).\n\nExample:\n  runstore --db ./store compact"
    )]
    Compact(compact::Args),
    /// Manage experiments: list (MLflow's search_experiments), create, rename,
    /// delete, restore, set-tag, delete-tag.
    Experiments(experiments::Args),
    /// One run: get, delete, restore, set-tag, delete-tag, set-status.
    Runs(runs::Args),
    /// Write the runs as Parquet files: runs, metrics, params, tags,
    /// experiments and inputs (`.parquet`), for pandas, pyarrow, DuckDB, Spark.
    #[command(after_help = "\
runs.parquet has one row a run (attributes, then params.KEY, metrics.KEY as the latest
value, tags.KEY); metrics.parquet every point (run_id, key, step, timestamp, value), sorted
by run_id, key, step. Files are written under temporary names and renamed when all are
done. Exporting into the same directory again rewrites only the files whose runs changed,
and says why for each.

Examples:
  runstore --db ./store export ./out
  runstore --db ./store export ./out --experiment mnist --filter \"metrics.acc > 0.9\"")]
    Export(export::Args),
    /// SQL over the live store (DataFusion): runs, metrics, params, tags,
    /// experiments, inputs.
    #[command(after_help = SQL_HELP)]
    Sql(sql::Args),
    /// Curves of many runs in one call: the histories of every matching run,
    /// downsampled (min/max per bucket), as JSON/CSV and optionally a chart.
    #[command(after_help = "\
Each curve keeps its first and last point and, between them, the lowest and highest point
of each of (N - 2) / 2 equal buckets: spikes and NaNs always show.

Examples:
  runstore compare --experiment mnist --metric loss --max-points 200 --format json
  runstore compare --filter \"params.optimizer = 'adam'\" --metric loss --metric val_loss --plot curves.png --log-y
  runstore compare --metric loss --x relative --format csv")]
    Compare(compare::Args),
    /// Serve MLflow's REST API (and, with --ui, its web UI) over the store:
    /// the `mlflow` client works against it unchanged.
    #[command(after_help = "\
Point an MLflow script at it:
  export MLFLOW_TRACKING_URI=http://127.0.0.1:5000
  python train.py                      # mlflow.log_metric(...) etc., unchanged

Examples:
  runstore --db ./store serve
  runstore --db ./store serve --ui --port 8080
  runstore --db ./store serve --host 0.0.0.0 --token \"$TOKEN\" --artifacts-root /data/artifacts")]
    Serve(serve::Args),
    /// Forward writes to an MLflow tracking server: status, flush,
    /// retry-parked, configure, disable.
    #[command(after_help = "\
With forwarding configured (runstore.toml in the store, or RUNSTORE_FORWARD_MLFLOW_URI),
every write is also recorded in the store's outbox, in the same transaction, and a
sender delivers it through MLflow's REST API: in order per run, coalesced into
runs/log-batch calls, retried with backoff while the server is down, exactly once.

Examples:
  runstore --db ./store forward configure --uri http://mlflow.internal:5000
  runstore --db ./store forward status
  runstore --db ./store forward flush --timeout 60
  runstore --db ./store forward retry-parked")]
    Forward(forward::Args),
    /// Make a sample store of a few hundred runs and show what runstore does.
    #[command(
        after_help = "Without --db (or RUNSTORE_DB) the sample store goes in a new temporary directory."
    )]
    Demo(demo::Args),
}

/// Parses the command line, runs the command and returns the exit status.
pub fn run() -> i32 {
    let cli = Cli::parse();
    let db = cli.db.clone();
    let outcome = match cli.command {
        Command::Ingest(args) => ingest::run(&store_dir(db), args),
        Command::Search(args) => search::run(&store_dir(db), args),
        Command::History(args) => history::run(&store_dir(db), args),
        Command::Compact(args) => compact::run(&store_dir(db), args),
        Command::Experiments(args) => experiments::run(&store_dir(db), args),
        Command::Runs(args) => runs::run(&store_dir(db), args),
        Command::Export(args) => export::run(&store_dir(db), args),
        Command::Sql(args) => sql::run(&store_dir(db), args),
        Command::Compare(args) => compare::run(&store_dir(db), args),
        Command::Serve(args) => serve::run(&store_dir(db), args),
        Command::Forward(args) => forward::run(&store_dir(db), args),
        Command::Demo(args) => demo::run(db, args),
    };
    match outcome {
        Ok(()) => 0,
        Err(e) if is_broken_pipe(&e) => 0,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e}");
            e.exit_code()
        }
    }
}

/// Opens the store for a command that writes and then exits: without the
/// background owner thread (the command does the owner's work itself, with
/// [`runstore::Store::maintain_now`] and friends, before it exits).
fn open_writable(db: &std::path::Path) -> Result<std::sync::Arc<runstore::Store>, Error> {
    let options = runstore::StoreOptions {
        background_owner: false,
        ..runstore::StoreOptions::default()
    };
    let store = runstore::Store::open_with(db, options)?;
    // With forwarding configured, this command's writes are recorded for a
    // sender (`runstore forward flush`, or any process forwarding) to deliver.
    runstore::forward::prepare(&store)?;
    Ok(store)
}

/// Splits a `KEY=VALUE` argument.
fn key_value(arg: &str) -> Result<(String, String), Error> {
    arg.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| Error::Usage(format!("expected KEY=VALUE, got {arg:?}")))
}

/// Writes one line to `out`.
fn write_line(out: &mut impl Write, line: &str) -> Result<(), Error> {
    writeln!(out, "{line}").map_err(|e| Error::Io {
        path: "<stdout>".into(),
        source: e,
    })
}

fn store_dir(db: Option<PathBuf>) -> PathBuf {
    db.unwrap_or_else(|| PathBuf::from("runstore-data"))
}

/// Output went to a closed pipe (`runstore … | head`): not an error.
fn is_broken_pipe(e: &Error) -> bool {
    matches!(e, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe)
}

/// The format to print in: the one asked for, else a table on a terminal and
/// JSON otherwise.
fn pick_format(asked: Option<&str>) -> Result<Format, Error> {
    use std::io::IsTerminal;
    match asked {
        Some(f) => f.parse(),
        None if std::io::stdout().is_terminal() => Ok(Format::Table),
        None => Ok(Format::Json),
    }
}

/// Stdout, buffered.
fn stdout() -> std::io::BufWriter<std::io::StdoutLock<'static>> {
    std::io::BufWriter::new(std::io::stdout().lock())
}

fn flush(out: &mut impl Write) -> Result<(), Error> {
    out.flush().map_err(|e| Error::Io {
        path: "<stdout>".into(),
        source: e,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn sql_help_shows_every_example() {
        for (what, statement) in runstore::analysis::SQL_EXAMPLES {
            assert!(super::SQL_HELP.contains(what), "{what}");
            assert!(super::SQL_HELP.contains(statement), "{statement}");
        }
    }
}
