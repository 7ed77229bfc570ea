//! The Python package (python/): its pytest suite, run in the test Python with
//! the wheel `pip install ./python` built — the fluent API, run modes, the RANK
//! guard, end statuses, system metrics, search as DataFrame and Arrow, and
//! MLflow's own API through the `runstore:` tracking-store plugin, answering
//! every conformance case as MLflow's SQL store does.

use std::path::Path;
use std::process::Command;

use crate::pyenv::python;

#[test]
fn python_package_tests_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(python())
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp"])
        .arg(tmp.path().join("pytest"))
        .arg(root.join("python").join("tests"))
        // Run from elsewhere so that `import runstore` cannot find python/runstore.
        .current_dir(tmp.path())
        .env_remove("RANK")
        .env_remove("RUNSTORE_DB")
        .env_remove("MLFLOW_TRACKING_URI")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "pytest python/tests failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // pytest's summary line, e.g. "30 passed in 7.71s": every test ran.
    let summary = stdout
        .lines()
        .rev()
        .find(|l| l.contains(" passed"))
        .unwrap_or("");
    assert!(
        !summary.contains("skipped") && !summary.contains("failed"),
        "{summary}"
    );
}
