//! Readers see only whole, committed runs while a writer ingests.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use runstore::Store;

use crate::util::{assert_whole, record, run_id};

#[test]
fn two_readers_while_one_writer_ingests() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let done = Arc::new(AtomicBool::new(false));
    let committed = Arc::new(AtomicU64::new(0));
    const RUNS: u64 = 600;
    const PER_BATCH: u64 = 25;

    let writer = {
        let (store, done, committed) = (store.clone(), done.clone(), committed.clone());
        std::thread::spawn(move || {
            for start in (0..RUNS).step_by(PER_BATCH as usize) {
                let mut b = store.write().unwrap();
                for i in start..start + PER_BATCH {
                    b.upsert_run(record(i, 3, 20)).unwrap();
                }
                b.commit().unwrap();
                committed.store(start + PER_BATCH, Ordering::SeqCst);
            }
            done.store(true, Ordering::SeqCst);
        })
    };
    let readers: Vec<_> = (0..2)
        .map(|r| {
            let (store, done, committed) = (store.clone(), done.clone(), committed.clone());
            std::thread::spawn(move || {
                let mut rng = fastrand::Rng::with_seed(r);
                let mut checked = 0u64;
                while !done.load(Ordering::SeqCst) || checked < 50 {
                    let seen = committed.load(Ordering::SeqCst);
                    // A run the writer has committed must be visible and whole…
                    if seen > 0 {
                        let i = rng.u64(0..seen);
                        assert_whole(&store, i, 3, 20);
                        checked += 1;
                    }
                    // …and one it may be writing now is whole or absent.
                    let j = rng.u64(0..RUNS);
                    if store.run_exists(run_id(j)).unwrap() {
                        assert_whole(&store, j, 3, 20);
                    }
                }
                checked
            })
        })
        .collect();
    writer.join().unwrap();
    for r in readers {
        assert!(r.join().unwrap() >= 50);
    }
    for i in 0..RUNS {
        assert_whole(&store, i, 3, 20);
    }
}

#[test]
fn a_reader_process_follows_a_writer_process() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store");
    let writer = Store::open(&db).unwrap();
    let mut b = writer.write().unwrap();
    b.upsert_run(record(1, 1, 3)).unwrap();
    b.commit().unwrap();
    // While this process holds the store open for writing, another process reads it.
    let out = crate::util::runstore(
        &db,
        &["history", &run_id(1).to_string(), "m0", "--format", "csv"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 4);
    // A second process writes to it too (the write lock is held per
    // transaction, not per open), and this process sees its run.
    let file = dir.path().join("one.jsonl");
    std::fs::write(&file, crate::util::record_json(2, 1, 1)).unwrap();
    let out = crate::util::runstore(&db, &["ingest", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_whole(&writer, 2, 1, 1);
    let mut b = writer.write().unwrap();
    b.upsert_run(record(3, 1, 3)).unwrap();
    b.commit().unwrap();
    assert_whole(&writer, 3, 1, 3);
}
