//! `runstore serve` driven by the REAL `mlflow` client (tests/python/server, pytest in
//! the test Python): the fluent API end to end (artifacts, logged models, the registry,
//! `models:/` URIs loaded by pyfunc), MlflowClient.search_runs over the conformance
//! corpora, MLflow's web UI in headless Chromium, and 8 concurrent clients under load.
//! Each test module starts its own server on 127.0.0.1 with a free port and stops it.

use std::path::Path;
use std::process::Command;

use crate::pyenv::python;

/// Runs the pytest files `files` of tests/python/server; fails with pytest's output.
fn pytest(files: &[&str], env: &[(&str, &str)]) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("tests").join("python").join("server");
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(python());
    cmd.args([
        "-m",
        "pytest",
        "-q",
        "-s",
        "-p",
        "no:cacheprovider",
        "--basetemp",
    ])
    .arg(tmp.path().join("pytest"))
    .args(files.iter().map(|f| dir.join(f)))
    .current_dir(&dir)
    .env("RUNSTORE_BIN", env!("CARGO_BIN_EXE_runstore"))
    .env("MLFLOW_DISABLE_TELEMETRY", "1")
    .env_remove("MLFLOW_TRACKING_URI")
    .env_remove("RUNSTORE_DB");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "pytest {files:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = stdout
        .lines()
        .rev()
        .find(|l| l.contains(" passed"))
        .unwrap_or("");
    assert!(
        !summary.contains("skipped") && !summary.contains("failed"),
        "{summary}"
    );
    stdout
}

#[test]
fn mlflow_fluent_api_and_client_work_unchanged() {
    pytest(&["test_fluent.py"], &[]);
}

#[test]
fn rest_answers_match_a_real_mlflow_server() {
    pytest(&["test_against_mlflow.py"], &[]);
}

#[test]
fn mlflow_logged_models_and_registry_work_unchanged() {
    pytest(&["test_models.py"], &[]);
}

#[test]
fn mlflow_search_runs_answers_every_conformance_case() {
    pytest(&["test_conformance.py"], &[]);
}

#[test]
fn mlflow_web_ui_shows_runs_and_charts_in_chromium() {
    pytest(&["test_ui.py"], &[]);
}

#[test]
fn eight_mlflow_clients_under_load_lose_nothing() {
    let out = pytest(&["test_load.py"], &[]);
    let line = out
        .lines()
        .find(|l| l.starts_with("LOAD:"))
        .unwrap_or("no LOAD line");
    println!("{line}");
}
