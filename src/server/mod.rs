//! `runstore serve`: MLflow's REST API over a store, so the real `mlflow`
//! client (and MLflow's web UI) work unchanged against runstore.
//!
//! Routes are MLflow 3.17's, under `/api/2.0/mlflow/` and mirrored under
//! `/ajax-api/2.0/mlflow/` (the UI's prefix); artifacts go through the
//! proxy routes `/api/2.0/mlflow-artifacts/…` into an artifact root
//! directory. Requests are parsed as MLflow parses them (GET fields from the
//! query string, others from a JSON body) and answered with MLflow's JSON and
//! error codes (see [`crate::mlflow`]).
//!
//! The server is axum on a tokio runtime that the caller owns (the CLI
//! builds one); every engine call runs on tokio's blocking pool, never on a
//! runtime worker, and concurrent writes meet in the engine's group commit.
//! [`serve`] returns after a graceful shutdown: in-flight requests finish,
//! then buffered writes are flushed.

mod artifacts;
mod auth;
mod error;
mod experiments;
mod files;
mod graphql;
mod history;
mod logged_models;
mod logging;
mod registry;
mod request;
mod routes;
mod runs;
mod search;
mod sources;
mod ui;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::engine::Store;
use crate::error::{Error, Result};

pub use error::ApiError;

/// How `runstore serve` runs.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Address to listen on (default 127.0.0.1:5000).
    pub addr: SocketAddr,
    /// Where uploaded artifacts go (default: `artifacts/` in the store).
    pub artifacts_root: Option<PathBuf>,
    /// A directory holding MLflow's built web UI (`index.html`,
    /// `static-files/`), served at `/`.
    pub ui_dir: Option<PathBuf>,
    /// Who may call: required unless the address is a loopback one.
    pub auth: auth::Auth,
    /// Largest request body, in bytes (artifact uploads included).
    pub max_body_bytes: usize,
    /// Log one line per request to stderr.
    pub log_requests: bool,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            addr: SocketAddr::from(([127, 0, 0, 1], 5000)),
            artifacts_root: None,
            ui_dir: None,
            auth: auth::Auth::default(),
            max_body_bytes: 1 << 30,
            log_requests: true,
        }
    }
}

pub use auth::Auth;
pub use ui::{check_ui_dir, find_mlflow_ui};

/// What every handler can reach.
#[derive(Clone)]
pub(crate) struct AppState {
    pub store: Arc<Store>,
    pub artifacts: Arc<files::ArtifactRoot>,
    pub ui_dir: Option<Arc<PathBuf>>,
    /// Largest artifact upload, in bytes.
    pub max_upload: u64,
}

/// Serves `store` until `shutdown` resolves (or SIGINT/SIGTERM when it is
/// `None`), then finishes the requests in flight and flushes the store.
/// Must be called from inside a multi-threaded tokio runtime. `ready` is
/// called with the bound address once the server accepts connections.
pub async fn serve(
    store: Arc<Store>,
    options: ServeOptions,
    shutdown: Option<tokio::sync::oneshot::Receiver<()>>,
    ready: impl FnOnce(SocketAddr),
) -> Result<()> {
    if !options.addr.ip().is_loopback() && !options.auth.is_set() {
        return Err(Error::Usage(format!(
            "refusing to serve on {} without authentication: give --token (or RUNSTORE_SERVE_TOKEN) \
             or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or listen on 127.0.0.1",
            options.addr
        )));
    }
    let artifacts_root = match &options.artifacts_root {
        Some(dir) => dir.clone(),
        None => store.dir().join("artifacts"),
    };
    let artifacts = files::ArtifactRoot::open(artifacts_root, &store)?;
    ensure_default_experiment(&store).await?;
    let state = AppState {
        store: store.clone(),
        artifacts: Arc::new(artifacts),
        ui_dir: options.ui_dir.clone().map(Arc::new),
        max_upload: options.max_body_bytes as u64,
    };
    let app = routes::router(state, &options);
    let listener = tokio::net::TcpListener::bind(options.addr)
        .await
        .map_err(|e| Error::Io {
            path: PathBuf::from(options.addr.to_string()),
            source: e,
        })?;
    let bound = listener.local_addr().map_err(|e| Error::Io {
        path: PathBuf::from(options.addr.to_string()),
        source: e,
    })?;
    ready(bound);
    let signal = async move {
        match shutdown {
            Some(rx) => {
                let _ = rx.await;
            }
            None => wait_for_signal().await,
        }
    };
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(signal)
    .await
    .map_err(|e| Error::Io {
        path: PathBuf::from(bound.to_string()),
        source: e,
    })?;
    let flushed = store.clone();
    tokio::task::spawn_blocking(move || flushed.flush())
        .await
        .map_err(|e| Error::Output(format!("flushing the store after shutdown: {e}")))??;
    Ok(())
}

/// MLflow's server has experiment `0`, "Default", from its first start; the
/// fluent API falls back to it. A store with no experiments gets it.
async fn ensure_default_experiment(store: &Arc<Store>) -> Result<()> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || -> Result<()> {
        if store.experiments()?.is_empty() {
            match store.create_experiment("Default", None, &[]) {
                Ok(_) => {}
                Err(e) if e.mlflow_error_code() == "RESOURCE_ALREADY_EXISTS" => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    })
    .await
    .map_err(|e| Error::Output(format!("creating the Default experiment: {e}")))?
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        // Signals cannot be watched: serve until the process is killed.
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
