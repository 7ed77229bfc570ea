//! examples/train.c — a training loop logging step by step, then searching
//! as JSON and as an Arrow C stream — compiled with the system `cc`, run
//! plainly and under AddressSanitizer (with LeakSanitizer): no invalid
//! access, no leak, on the C side or in the library.

use std::process::Command;

use crate::c_smoke::{compile, compile_static};

fn run(exe: &std::path::Path, sanitized: bool) {
    let work = tempfile::tempdir().unwrap();
    let store = work.path().join("store");
    let mut command = Command::new(exe);
    command.arg(&store);
    if sanitized {
        // Any report is an error exit; leaks are checked at exit.
        command.env(
            "ASAN_OPTIONS",
            "detect_leaks=1:exitcode=86:abort_on_error=0",
        );
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "train failed ({}, sanitized: {sanitized}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(stdout.contains("train ok: 2 runs"), "{stdout}");
    assert!(!stderr.contains("AddressSanitizer"), "{stderr}");
    assert!(!stderr.contains("LeakSanitizer"), "{stderr}");
    // The program logged into the directory it was given.
    assert!(store.is_dir());
}

#[test]
fn the_training_example_runs() {
    let work = tempfile::tempdir().unwrap();
    let exe = work.path().join("train");
    compile("examples/train.c", &exe, &[]);
    run(&exe, false);
}

#[test]
fn the_training_example_links_statically() {
    let work = tempfile::tempdir().unwrap();
    let exe = work.path().join("train-static");
    compile_static("examples/train.c", &exe);
    let ldd = Command::new("ldd").arg(&exe).output().unwrap();
    let libs = String::from_utf8_lossy(&ldd.stdout);
    assert!(!libs.contains("runstore"), "linked dynamically: {libs}");
    run(&exe, false);
}

#[test]
fn the_training_example_runs_clean_under_address_sanitizer() {
    let work = tempfile::tempdir().unwrap();
    let exe = work.path().join("train-asan");
    compile(
        "examples/train.c",
        &exe,
        &["-fsanitize=address", "-fno-omit-frame-pointer", "-g"],
    );
    // The sanitizer really is in the program (a flag the compiler dropped
    // would make this test pass without checking anything).
    let ldd = Command::new("ldd").arg(&exe).output().unwrap();
    assert!(
        String::from_utf8_lossy(&ldd.stdout).contains("libasan"),
        "{exe:?} is not linked with AddressSanitizer"
    );
    run(&exe, true);
}
