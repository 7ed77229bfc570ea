//! `runstore serve`: MLflow's REST API over the store.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use runstore::Error;
use runstore::server::{Auth, ServeOptions, check_ui_dir, find_mlflow_ui, serve};

/// Arguments of `runstore serve`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Address to listen on. Anything but a loopback address needs
    /// --token or MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port to listen on (0: any free port; the chosen one is printed).
    #[arg(long, default_value_t = 5000)]
    port: u16,
    /// Where uploaded artifacts are stored (default: DIR/artifacts in the store).
    #[arg(long, value_name = "DIR")]
    artifacts_root: Option<PathBuf>,
    /// Serve MLflow's web UI at / (from the installed `mlflow` Python package).
    #[arg(long, conflicts_with = "ui_dir")]
    ui: bool,
    /// Serve the MLflow web UI built in DIR (MLflow's mlflow/server/js/build).
    #[arg(long, value_name = "DIR")]
    ui_dir: Option<PathBuf>,
    /// Require this bearer token (MLflow's client sends MLFLOW_TRACKING_TOKEN as one).
    #[arg(long, env = "RUNSTORE_SERVE_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Largest artifact upload, in bytes.
    #[arg(long, default_value_t = 1 << 30, value_name = "BYTES")]
    max_upload_bytes: usize,
    /// Worker threads of the async runtime (default: one per core).
    #[arg(long)]
    workers: Option<usize>,
    /// Do not log one line per request.
    #[arg(long)]
    quiet: bool,
}

/// Runs the server until SIGINT or SIGTERM.
pub fn run(db: &std::path::Path, args: Args) -> Result<(), Error> {
    let ui_dir = match (args.ui, args.ui_dir) {
        (_, Some(dir)) => {
            check_ui_dir(&dir)?;
            Some(dir)
        }
        (true, None) => Some(find_mlflow_ui()?),
        (false, None) => None,
    };
    let basic = match (
        std::env::var("MLFLOW_TRACKING_USERNAME"),
        std::env::var("MLFLOW_TRACKING_PASSWORD"),
    ) {
        (Ok(user), Ok(password)) if !user.is_empty() => Some((user, password)),
        _ => None,
    };
    let options = ServeOptions {
        addr: SocketAddr::new(args.host, args.port),
        artifacts_root: args.artifacts_root,
        ui_dir,
        auth: Auth {
            token: args.token.filter(|t| !t.is_empty()),
            basic,
        },
        max_body_bytes: args.max_upload_bytes,
        log_requests: !args.quiet,
    };
    let store = runstore::Store::open(db)?;
    // Forwarding configured for this store: this long-lived process is its
    // sender (a thread of its own, off the runtime).
    let forwarding = runstore::forward::start(&store)?;
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.enable_all();
    if let Some(n) = args.workers {
        runtime.worker_threads(n.max(1));
    }
    let runtime = runtime.build().map_err(|e| Error::Io {
        path: "<tokio runtime>".into(),
        source: e,
    })?;
    let ui = options.ui_dir.is_some();
    runtime.block_on(serve(store, options, None, |addr| {
        eprintln!(
            "runstore serve: listening on http://{addr} (store {})",
            db.display()
        );
        if ui {
            eprintln!("runstore serve: MLflow UI at http://{addr}/");
        }
        if forwarding {
            eprintln!("runstore serve: forwarding every write (runstore forward status)");
        }
    }))
}
