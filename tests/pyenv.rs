//! The Python that the export tests run tests/python/check_export.py with: one
//! with pyarrow, pandas and duckdb, as tests/python/requirements.txt pins them.
//!
//! `RUNSTORE_TEST_PYTHON` when it is set (`.ci/run` sets it to the venv it
//! makes). Otherwise `target/test-venv/bin/python`, made on first use by
//! `python3 -m venv` and pip (PyPI must be reachable then): once per process,
//! and under a lock file so that test processes starting together (nextest runs
//! each test in a process of its own) make it once. No Python means a failed
//! test, never a skipped one.

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// What a usable Python imports.
const IMPORTS: &str = "import pyarrow, pandas, duckdb";

/// The Python to run the export checks with; panics, saying how to get one,
/// when there is none and none can be made.
pub fn python() -> PathBuf {
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match PYTHON.get_or_init(find_or_make) {
        Ok(python) => python.clone(),
        Err(why) => panic!(
            "no Python with pyarrow, pandas and duckdb for the export tests: {why}\n\
             Run `.ci/run` (it makes target/test-venv and uses it), or set RUNSTORE_TEST_PYTHON \
             to a Python 3.11+ that has tests/python/requirements.txt installed."
        ),
    }
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn find_or_make() -> Result<PathBuf, String> {
    if let Some(python) = std::env::var_os("RUNSTORE_TEST_PYTHON") {
        let python = PathBuf::from(python);
        imports(&python).map_err(|e| format!("RUNSTORE_TEST_PYTHON={}: {e}", python.display()))?;
        return Ok(python);
    }
    let venv = root().join("target").join("test-venv");
    let python = venv.join("bin").join("python");
    let requirements = root().join("tests").join("python").join("requirements.txt");
    let wanted = fs::read_to_string(&requirements)
        .map_err(|e| format!("reading {}: {e}", requirements.display()))?;
    // Written last, after a whole install of exactly these requirements.
    let stamp = venv.join("runstore-requirements.txt");
    let ready =
        || fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) && imports(&python).is_ok();
    if ready() {
        return Ok(python);
    }

    let target = root().join("target");
    fs::create_dir_all(&target).map_err(|e| format!("creating {}: {e}", target.display()))?;
    let lock_path = target.join("test-venv.lock");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| format!("opening {}: {e}", lock_path.display()))?;
    // Waits while another process makes the venv; the lock goes with the file.
    lock.lock()
        .map_err(|e| format!("locking {}: {e}", lock_path.display()))?;
    if ready() {
        return Ok(python);
    }
    let _ = fs::remove_file(&stamp);
    if run(Command::new(&python).arg("--version")).is_err() {
        // Missing or broken (say, made by a Python since removed): make it anew.
        if venv.exists() {
            fs::remove_dir_all(&venv).map_err(|e| format!("removing {}: {e}", venv.display()))?;
        }
        run(Command::new("python3").arg("-m").arg("venv").arg(&venv))
            .map_err(|e| format!("`python3 -m venv {}`: {e}", venv.display()))?;
    }
    run(Command::new(&python)
        .args(["-m", "pip", "install", "--quiet", "-r"])
        .arg(&requirements)
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .env("PIP_ROOT_USER_ACTION", "ignore"))
    .map_err(|e| {
        format!(
            "`pip install -r {}` into {}: {e}",
            requirements.display(),
            venv.display()
        )
    })?;
    imports(&python).map_err(|e| format!("{} after pip install: {e}", python.display()))?;
    fs::write(&stamp, &wanted).map_err(|e| format!("writing {}: {e}", stamp.display()))?;
    drop(lock);
    Ok(python)
}

/// Ok when `python` imports pyarrow, pandas and duckdb.
fn imports(python: &Path) -> Result<(), String> {
    run(Command::new(python).args(["-c", IMPORTS]))
}

/// Runs `cmd` to the end; Err with its exit status and stderr when it fails.
fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("cannot run: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(15).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    Err(format!("{}: {}", out.status, tail.join("\n")))
}
