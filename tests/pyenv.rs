//! The Python that the export tests run tests/python/check_export.py with, and
//! the Python package's tests run in: tests/python/requirements.txt (pyarrow,
//! pandas, duckdb, mlflow, pytest…) plus runstore's own wheel (`pip install
//! ./python`).
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
const IMPORTS: &str = "import pyarrow, pandas, duckdb, mlflow, pytest, psutil, runstore";

/// The Python to run the export checks with; panics, saying how to get one,
/// when there is none and none can be made.
pub fn python() -> PathBuf {
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match PYTHON.get_or_init(find_or_make) {
        Ok(python) => python.clone(),
        Err(why) => panic!(
            "no Python with tests/python/requirements.txt and the runstore package: {why}\n\
             Run `.ci/run` (it makes target/test-venv and uses it), or set RUNSTORE_TEST_PYTHON \
             to a Python 3.11+ that has tests/python/requirements.txt and `pip install ./python` installed."
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
        package_is_current(&python, false)
            .map_err(|e| format!("RUNSTORE_TEST_PYTHON={}: {e}", python.display()))?;
        return Ok(python);
    }
    let venv = root().join("target").join("test-venv");
    let python = venv.join("bin").join("python");
    let requirements = root().join("tests").join("python").join("requirements.txt");
    let wanted = fs::read_to_string(&requirements)
        .map_err(|e| format!("reading {}: {e}", requirements.display()))?;
    // Written last, after a whole install of exactly these requirements.
    let stamp = venv.join("runstore-requirements.txt");
    let ready = || {
        fs::read_to_string(&stamp).is_ok_and(|s| s == wanted)
            && imports(&python).is_ok()
            && package_is_current(&python, true).is_ok()
    };
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
    // runstore's wheel: maturin builds it into target/ (reusing this build's artifacts).
    run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--force-reinstall",
            "--no-deps",
        ])
        .arg(root().join("python"))
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .env("PIP_ROOT_USER_ACTION", "ignore"))
    .map_err(|e| format!("`pip install ./python` into {}: {e}", venv.display()))?;
    imports(&python).map_err(|e| format!("{} after pip install: {e}", python.display()))?;
    package_is_current(&python, true)?;
    fs::write(&stamp, &wanted).map_err(|e| format!("writing {}: {e}", stamp.display()))?;
    drop(lock);
    Ok(python)
}

/// Ok when the runstore package `python` imports is this checkout's: the same
/// Python files as python/runstore/ and, with `check_lib`, a library newer
/// than the last build of the C API (for target/test-venv, which the tests
/// reinstall when it is stale; `.ci/run` installs the wheel of the same
/// checkout right before the tests). Otherwise the tests would judge a stale wheel.
fn package_is_current(python: &Path, check_lib: bool) -> Result<(), String> {
    let out = Command::new(python)
        .args([
            "-c",
            "import runstore, os; print(os.path.dirname(runstore.__file__))",
        ])
        .output()
        .map_err(|e| format!("cannot run: {e}"))?;
    let installed = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let source = root().join("python").join("runstore");
    for entry in fs::read_dir(&source).map_err(|e| format!("{}: {e}", source.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().is_some_and(|e| e == "py") {
            let name = path.file_name().unwrap_or_default();
            if fs::read(&path).ok() != fs::read(installed.join(name)).ok() {
                return Err(format!(
                    "the installed runstore package ({}) differs from python/runstore/{}: \
                     run `pip install ./python`",
                    installed.display(),
                    name.to_string_lossy()
                ));
            }
        }
    }
    if !check_lib {
        return Ok(());
    }
    let modified = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
    let wheel_lib = modified(&installed.join("_native").join("lib_native.so"));
    let built = modified(&root().join("target/release/deps/librunstore_ffi.rlib"))
        .or_else(|| modified(&root().join("target/release/librunstore_ffi.rlib")));
    match (wheel_lib, built) {
        (None, _) => Err(format!("{} has no _native/lib_native.so", installed.display())),
        (Some(lib), Some(built)) if lib < built => Err(
            "the installed runstore library is older than the C API build: run `pip install ./python`"
                .to_owned(),
        ),
        _ => Ok(()),
    }
}

/// Ok when `python` imports everything the tests need.
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
