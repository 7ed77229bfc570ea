//! `runstore forward …`: the outbox of writes forwarded to an MLflow server.

use std::path::Path;
use std::time::Duration;

use runstore::forward::{self, Auth, ForwardConfig};
use runstore::{Error, Store};

/// Arguments of `runstore forward`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    /// Show the outbox: pending entries per run, parked entries with the
    /// server's reasons, the last error, the last success and the lag.
    #[command(after_help = "Example:\n  runstore --db ./store forward status --format json")]
    Status {
        /// Output format: table or json (default: table on a terminal, else json).
        #[arg(long)]
        format: Option<String>,
    },
    /// Deliver what is recorded and wait until the outbox is empty: exit 0
    /// when drained, 1 with an `error:` line when the timeout passes first.
    #[command(after_help = "\
Buffered writes are committed first. The delivering process is this one, or another
that holds the store's forward.lock (a training process forwarding as it logs).
Parked entries (refused by the server for good) do not count as pending.

Example:
  runstore --db ./store forward flush --timeout 120")]
    Flush {
        /// Seconds to wait at most (default: no limit).
        #[arg(long, value_name = "S")]
        timeout: Option<f64>,
    },
    /// Queue every parked entry again (after fixing its cause on the server).
    RetryParked,
    /// Forward this store's writes to an MLflow tracking server from now on
    /// (saved in DIR/runstore.toml; the environment overrides it).
    #[command(after_help = "\
Settings and the environment variables that override them:
  --uri         RUNSTORE_FORWARD_MLFLOW_URI   the server, http:// or https://
  --experiment  RUNSTORE_FORWARD_EXPERIMENT   one experiment for every run (default: the
                                              experiment named like the run's own)
  --token       MLFLOW_TRACKING_TOKEN         bearer token
  --username    MLFLOW_TRACKING_USERNAME      basic authentication
  --password    MLFLOW_TRACKING_PASSWORD

Example:
  runstore --db ./store forward configure --uri https://mlflow.example.com --experiment pipeline")]
    Configure {
        /// The MLflow tracking server.
        #[arg(long)]
        uri: String,
        /// Forward every run into this experiment of the server.
        #[arg(long)]
        experiment: Option<String>,
        /// A bearer token.
        #[arg(long, conflicts_with_all = ["username", "password"])]
        token: Option<String>,
        /// A user name (HTTP basic authentication).
        #[arg(long)]
        username: Option<String>,
        /// Its password.
        #[arg(long, requires = "username")]
        password: Option<String>,
    },
    /// Stop recording writes for forwarding (what is recorded stays queued).
    Disable,
}

pub fn run(db: &Path, args: Args) -> Result<(), Error> {
    match args.command {
        Command::Status { format } => {
            let format = super::pick_format(format.as_deref())?;
            let store = Store::open_read_only(db)?;
            let status = forward::status(&store)?;
            let mut out = super::stdout();
            runstore::output::write_forward_status(&mut out, format, &status)?;
            super::flush(&mut out)
        }
        Command::Flush { timeout } => {
            let timeout = match timeout {
                None => None,
                Some(s) if s.is_finite() && s >= 0.0 => Some(Duration::from_secs_f64(s)),
                Some(s) => {
                    return Err(Error::Usage(format!(
                        "--timeout must be a number of seconds >= 0, got {s}"
                    )));
                }
            };
            let store = super::open_writable(db)?;
            let flushed = forward::flush(&store, timeout)?;
            let parked = match flushed.parked {
                0 => String::new(),
                n => format!(" ({n} parked: see `runstore forward status`)"),
            };
            println!(
                "outbox drained in {:.1} s{parked}",
                flushed.waited.as_secs_f64()
            );
            Ok(())
        }
        Command::RetryParked => {
            let store = super::open_writable(db)?;
            let moved = forward::retry_parked(&store)?;
            println!("{moved} parked entries queued again");
            Ok(())
        }
        Command::Configure {
            uri,
            experiment,
            token,
            username,
            password,
        } => {
            let auth = match (token, username) {
                (Some(t), _) => Auth::Token(t),
                (None, Some(u)) => Auth::Basic {
                    username: u,
                    password: password.unwrap_or_default(),
                },
                (None, None) => Auth::None,
            };
            let mut config = ForwardConfig::new(uri)?;
            config.experiment = experiment;
            config.auth = auth;
            let store = super::open_writable(db)?;
            forward::configure(&store, &config)?;
            println!(
                "writes to {} are forwarded to {} from now on",
                db.display(),
                config.target()
            );
            Ok(())
        }
        Command::Disable => {
            let store = super::open_writable(db)?;
            forward::disable(&store)?;
            println!("forwarding is off for {}", db.display());
            Ok(())
        }
    }
}
