//! Kill a writer with SIGKILL at random moments, many times: the store must
//! open cleanly every time and hold each run either whole or not at all.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use runstore::Store;

use crate::util::{assert_whole, bin, record_json, run_id};

const METRICS: usize = 3;
const STEPS: i64 = 40;
const RUNS_PER_FILE: u64 = 1500;

fn write_file(path: &std::path::Path, first: u64) {
    let body: String = (first..first + RUNS_PER_FILE)
        .map(|i| record_json(i, METRICS, STEPS) + "\n")
        .collect();
    std::fs::write(path, body).unwrap();
}

fn ingest(db: &std::path::Path, file: &std::path::Path) -> std::process::Child {
    Command::new(bin())
        .args([
            "--db",
            db.to_str().unwrap(),
            "ingest",
            file.to_str().unwrap(),
        ])
        .args(["--batch-runs", "40"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Every run of the files so far is whole or absent; returns how many are present.
fn check(db: &std::path::Path, upto: u64) -> u64 {
    let store = Store::open_read_only(db).expect("store opens after a kill");
    let mut present = 0;
    for i in 0..upto {
        if store.run_exists(run_id(i)).unwrap() {
            assert_whole(&store, i, METRICS, STEPS);
            present += 1;
        }
    }
    present
}

#[test]
fn sigkill_at_random_moments_never_leaves_half_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store");
    // How long an uninterrupted ingest of one file takes, to aim the kills.
    let probe_db = dir.path().join("probe");
    let probe_file = dir.path().join("probe.jsonl");
    write_file(&probe_file, 0);
    let started = Instant::now();
    assert!(ingest(&probe_db, &probe_file).wait().unwrap().success());
    let full = started.elapsed();

    let mut rng = fastrand::Rng::with_seed(0x5eed);
    let iterations = 24;
    let mut upto = 0;
    for k in 0..iterations {
        // Each file overlaps the previous one by half: new runs and re-ingested ones.
        let first = k * RUNS_PER_FILE / 2;
        let file = dir.path().join(format!("part-{k}.jsonl"));
        write_file(&file, first);
        upto = upto.max(first + RUNS_PER_FILE);
        let mut child = ingest(&db, &file);
        let delay = full.mul_f64(rng.f64() * 1.2);
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        check(&db, upto);
        // Every few rounds a writable open repairs and cleans up, then a reader checks again.
        if k % 4 == 3 {
            drop(Store::open(&db).expect("writable open after a kill"));
            check(&db, upto);
        }
    }
    // Re-running the interrupted ingests completes them.
    for k in 0..iterations {
        let file = dir.path().join(format!("part-{k}.jsonl"));
        assert!(ingest(&db, &file).wait().unwrap().success());
    }
    assert_eq!(
        check(&db, upto),
        upto,
        "every run whole after completing the ingests"
    );
    // No stray files: temporary files are gone after a writable open.
    drop(Store::open(&db).unwrap());
    for entry in std::fs::read_dir(db.join("segments")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(name.ends_with(".parquet"), "stray file {name}");
    }
    let _ = Duration::ZERO;
}
