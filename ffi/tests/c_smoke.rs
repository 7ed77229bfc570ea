//! tests/c/smoke.c, compiled with the system `cc` against the cdylib cargo
//! built, then run. No `cc` is a failure, not a skip.

use std::path::{Path, PathBuf};
use std::process::Command;

const CRATE: &str = env!("CARGO_MANIFEST_DIR");

/// The directory holding the cdylib: the test binary is in
/// `target/<profile>/deps/`, the library in `target/<profile>/` (and a copy
/// in `deps/`).
fn cdylib_dir() -> PathBuf {
    let name = format!(
        "{}runstore_ffi{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    library_dir(&name)
}

/// The directory next to the test binary that holds the file `name`.
fn library_dir(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap();
    let candidates = [deps.to_path_buf(), deps.parent().unwrap().to_path_buf()];
    candidates
        .iter()
        .find(|dir| dir.join(name).is_file())
        .cloned()
        .unwrap_or_else(|| {
            panic!("{name} not found in {candidates:?}: build the crate (cargo test -p runstore-ffi builds the cdylib and staticlib)")
        })
}

fn cc() -> String {
    std::env::var("CC").unwrap_or_else(|_| "cc".into())
}

/// Compiles the C program `source` (a path under the crate) into `exe`
/// against the header and the cdylib, with `extra` compiler flags; fails
/// the test with the compiler's output when it does not compile.
pub fn compile(source: &str, exe: &Path, extra: &[&str]) {
    let lib_dir = cdylib_dir();
    let source = Path::new(CRATE).join(source);
    let include = Path::new(CRATE).join("include");
    let mut compile = Command::new(cc());
    compile
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"])
        .args(extra)
        .arg("-I")
        .arg(&include)
        .arg(&source)
        .arg("-o")
        .arg(exe)
        .arg("-L")
        .arg(&lib_dir)
        .arg("-lrunstore_ffi")
        .arg("-lm")
        .arg(format!("-Wl,-rpath,{}", lib_dir.display()));
    let output = compile.output().unwrap_or_else(|e| {
        panic!(
            "cannot run the C compiler {:?} ({e}): install a C compiler (or set CC) to run this test",
            cc()
        )
    });
    assert!(
        output.status.success(),
        "compiling {} failed:\n{}",
        source.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Compiles `source` into `exe` linked with the staticlib `librunstore_ffi.a`
/// (and the system libraries Rust's std needs on Linux): no runtime dependency
/// on the shared library.
pub fn compile_static(source: &str, exe: &Path) {
    let archive = library_dir("librunstore_ffi.a").join("librunstore_ffi.a");
    let output = Command::new(cc())
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"])
        .arg("-I")
        .arg(Path::new(CRATE).join("include"))
        .arg(Path::new(CRATE).join(source))
        .arg("-o")
        .arg(exe)
        .arg(&archive)
        .args([
            "-lgcc_s",
            "-lutil",
            "-lrt",
            "-lpthread",
            "-lm",
            "-ldl",
            "-lc",
        ])
        .output()
        .unwrap_or_else(|e| panic!("cannot run the C compiler {:?} ({e})", cc()));
    assert!(
        output.status.success(),
        "linking {source} with {} failed:\n{}",
        archive.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_c_smoke_program_passes() {
    let work = tempfile::tempdir().unwrap();
    let exe = work.path().join("smoke");
    compile("tests/c/smoke.c", &exe, &[]);

    let store = work.path().join("store");
    let output = Command::new(&exe).arg(&store).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "smoke failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(stdout.ends_with("smoke ok\n"), "{stdout}");
    assert!(stdout.contains("bad filter: RS_BAD_INPUT: "), "{stdout}");
    // The program really used the store it was given.
    assert!(store.is_dir());
}
