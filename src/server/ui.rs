//! MLflow's web UI: its built static files (shipped inside the `mlflow`
//! Python package) served at `/` and `/static-files/…`; the UI then browses
//! the store through the `/ajax-api/…` routes.

use std::path::{Path, PathBuf};

use axum::extract::{Path as UrlPath, State};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::artifacts::send_file;
use super::error::ApiError;
use super::files::safe_relative;
use crate::error::{Error, Result};

/// The UI bundled with the `mlflow` Python package that `python` imports
/// (`$RUNSTORE_PYTHON`, else `python3`): `mlflow/server/js/build`.
pub fn find_mlflow_ui() -> Result<PathBuf> {
    let python = std::env::var_os("RUNSTORE_PYTHON").unwrap_or_else(|| "python3".into());
    let out = std::process::Command::new(&python)
        .args([
            "-c",
            "import importlib.util, os; s = importlib.util.find_spec('mlflow'); \
             print(os.path.join(list(s.submodule_search_locations)[0], 'server', 'js', 'build'))",
        ])
        .output()
        .map_err(|e| {
            Error::Usage(format!(
                "--ui needs Python with the mlflow package ({}: {e}); install it or give --ui-dir DIR",
                PathBuf::from(&python).display()
            ))
        })?;
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if !out.status.success() || !dir.join("index.html").is_file() {
        return Err(Error::Usage(format!(
            "--ui: the mlflow Python package (with its built UI) was not found by {}; \
             `pip install mlflow`, set RUNSTORE_PYTHON, or give --ui-dir DIR",
            PathBuf::from(&python).display()
        )));
    }
    Ok(dir)
}

/// Checks that `dir` holds a built UI.
pub fn check_ui_dir(dir: &Path) -> Result<()> {
    if dir.join("index.html").is_file() {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "--ui-dir {}: no index.html there (expected MLflow's built UI, mlflow/server/js/build)",
            dir.display()
        )))
    }
}

/// `/`: the UI's page.
pub(crate) async fn index(State(state): State<AppState>) -> Response {
    match &state.ui_dir {
        Some(dir) => send_file(&dir.join("index.html")).await,
        None => (
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; charset=utf-8",
            )],
            "runstore serve: MLflow's REST API is at /api/2.0/mlflow/. \
             Start with --ui (or --ui-dir DIR) to serve MLflow's web UI here.\n",
        )
            .into_response(),
    }
}

/// `/static-files/<path>`: the UI's scripts, styles and images.
pub(crate) async fn static_file(
    State(state): State<AppState>,
    UrlPath(path): UrlPath<String>,
) -> Response {
    let Some(dir) = &state.ui_dir else {
        return ApiError::new(
            crate::mlflow::ErrorCode::ENDPOINT_NOT_FOUND,
            "no UI is served",
        )
        .into_response();
    };
    match safe_relative(&path) {
        Ok(rel) => send_file(&dir.join(rel)).await,
        Err(e) => e.into_response(),
    }
}
