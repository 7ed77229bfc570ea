//! The `ingest` and `history` commands as the contract fixes them.

use std::io::Write;
use std::process::{Command, Stdio};

use runstore::Store;

use crate::util::{assert_whole, record_json, run_id, runstore};

#[test]
fn bad_line_mid_file_keeps_earlier_lines_and_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store");
    let file = dir.path().join("runs.jsonl");
    let mut lines: Vec<String> = (0..10).map(|i| record_json(i, 2, 5)).collect();
    // Line 6 is run 5 with a param that is an object: invalid.
    lines[5] = lines[5].replace("\"params\":{", "\"params\":{\"bad\":{\"x\":1},");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let out = runstore(&db, &["ingest", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error:"), "{stderr}");
    assert!(stderr.contains(":6:"), "names line 6: {stderr}");
    assert!(stderr.contains("params.bad"), "names the field: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    let store = Store::open_read_only(&db).unwrap();
    for i in 0..5 {
        assert_whole(&store, i, 2, 5);
    }
    for i in 5..10 {
        assert!(
            !store.run_exists(run_id(i)).unwrap(),
            "run {i} must be absent"
        );
    }
}

#[test]
fn a_line_that_breaks_a_rule_is_rejected_whole() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store");
    let file = dir.path().join("runs.jsonl");
    let id = run_id(0).to_string();
    let lines = [
        format!(r#"{{"experiment": "e", "run_id": "{id}", "params": {{"lr": "0.1"}}}}"#),
        // Changes a param: refused, and its new tag must not appear.
        format!(
            r#"{{"experiment": "e", "run_id": "{id}", "params": {{"lr": "0.2"}}, "tags": {{"x": "y"}}}}"#
        ),
    ];
    std::fs::write(&file, lines.join("\n")).unwrap();
    let out = runstore(&db, &["ingest", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(":2:") && stderr.contains("immutable"),
        "{stderr}"
    );
    let store = Store::open_read_only(&db).unwrap();
    let run = store.get_run(run_id(0)).unwrap();
    assert_eq!(run.params["lr"], "0.1");
    assert!(!run.tags.contains_key("x"));
}

#[test]
fn stdin_ingest_prints_the_contract_line_and_reingest_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store");
    let body: String = (0..20).map(|i| record_json(i, 3, 4) + "\n").collect();
    let ingest = || {
        let mut child = Command::new(crate::util::bin())
            .args(["--db", db.to_str().unwrap(), "ingest", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(body.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let first = ingest();
    assert!(first.status.success());
    assert_eq!(
        String::from_utf8_lossy(&first.stdout),
        "ingested 20 runs, 240 metric points\n"
    );
    let second = ingest();
    assert!(second.status.success());
    let store = Store::open_read_only(&db).unwrap();
    for i in 0..20 {
        assert_whole(&store, i, 3, 4);
    }
}

#[test]
fn history_formats() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store");
    let file = dir.path().join("runs.jsonl");
    std::fs::write(
        &file,
        format!(
            r#"{{"experiment": "e", "run_id": "{}", "metrics": {{"loss": [[1, "NaN", 20], [0, 0.5, 10], [1, -0.25, 15], [2, "Infinity", 30]]}}}}"#,
            run_id(1)
        ),
    )
    .unwrap();
    assert!(
        runstore(&db, &["ingest", file.to_str().unwrap()])
            .status
            .success()
    );
    let id = run_id(1).to_string();
    let json = runstore(&db, &["history", &id, "loss", "--format", "json"]);
    assert!(json.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        doc,
        serde_json::json!({"run_id": id, "key": "loss",
            "history": [[0, 0.5, 10], [1, -0.25, 15], [1, "NaN", 20], [2, "Infinity", 30]]})
    );
    let csv = runstore(&db, &["history", &id, "loss", "--format", "csv"]);
    assert_eq!(
        String::from_utf8_lossy(&csv.stdout),
        "step,value,timestamp\n0,0.5,10\n1,-0.25,15\n1,NaN,20\n2,Infinity,30\n"
    );
    let table = runstore(&db, &["history", &id, "loss", "--format", "table"]);
    assert!(String::from_utf8_lossy(&table.stdout).contains("Infinity"));
    let bad = runstore(&db, &["history", "nothex", "loss"]);
    assert_eq!(bad.status.code(), Some(2));
    let missing = runstore(&db, &["history", &run_id(99).to_string(), "loss"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).starts_with("error: run "));
    let no_store = runstore(&dir.path().join("nowhere"), &["history", &id, "loss"]);
    assert_eq!(no_store.status.code(), Some(2));
}

#[test]
fn compact_shrinks_the_catalog_and_keeps_every_run() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    // Many small commits leave freed pages behind in the catalog.
    let file = dir.path().join("runs.jsonl");
    let lines: Vec<String> = (0..400).map(|i| record_json(i, 3, 20)).collect();
    std::fs::write(&file, lines.join("\n")).unwrap();
    let out = runstore(
        &db,
        &["ingest", "--batch-runs", "5", file.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let catalog = db.join("catalog.redb");
    let before = std::fs::metadata(&catalog).unwrap().len();
    let out = runstore(&db, &["compact"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("compacted "));
    let after = std::fs::metadata(&catalog).unwrap().len();
    assert!(after < before, "catalog {before} -> {after} bytes");
    let store = Store::open_read_only(&db).unwrap();
    for i in 0..400 {
        assert_whole(&store, i, 3, 20);
    }
    // A missing store is an error, and compact does not create one.
    let missing = dir.path().join("absent");
    let out = runstore(&missing, &["compact"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!missing.exists());
}

#[test]
fn index_caught_up_during_a_many_commit_ingest_finds_every_run() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let file = dir.path().join("runs.jsonl");
    let lines: Vec<String> = (0..300).map(|i| record_json(i, 2, 3)).collect();
    std::fs::write(&file, lines.join("\n")).unwrap();
    // 60 commits: the index thread catches up while later batches are written.
    let out = runstore(
        &db,
        &["ingest", "--batch-runs", "5", file.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let search = |filter: &str| -> Vec<String> {
        let out = runstore(
            &db,
            &[
                "search",
                "--format",
                "json",
                "--max-results",
                "1000",
                "--filter",
                filter,
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let page: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        page["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["run_id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(search("").len(), 300);
    assert_eq!(search("params.seed = '299'"), vec![run_id(299).to_string()]);
    assert_eq!(search("tags.team = 'team-3'").len(), 60);
}

#[test]
fn compact_if_sparse_reclaims_only_past_its_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    const RUNS: u64 = 2000;
    let store = Store::open(&db).unwrap();
    let mut batch = store.write().unwrap();
    for i in 0..RUNS {
        batch.upsert_run(crate::util::record(i, 3, 20)).unwrap();
    }
    batch.commit().unwrap();
    // One commit that renames every run rewrites every row page; the old
    // copies are free once it lands.
    let mut batch = store.write().unwrap();
    for i in 0..RUNS {
        let update = runstore::engine::RunUpdate {
            run_name: Some(format!("renamed-{i}")),
            ..Default::default()
        };
        batch.update_run(run_id(i), update).unwrap();
    }
    batch.commit().unwrap();
    for _ in 0..2 {
        store.write().unwrap().commit().unwrap();
    }
    let (file, live) = store.catalog_space().unwrap();
    assert!(live > 0 && live <= file, "{live} of {file}");
    assert!(!store.compact_if_sparse(u64::MAX).unwrap());
    assert_eq!(store.catalog_space().unwrap().0, file);
    let free = file - live;
    assert!(
        free >= file / 8,
        "the commits left {free} of {file} bytes free"
    );
    assert!(store.compact_if_sparse(1).unwrap());
    let (after, live_after) = store.catalog_space().unwrap();
    assert!(after < file, "{after} < {file}");
    assert!(after - live_after < free, "{live_after} live of {after}");
    // Nothing left to give back: a second call does not compact.
    assert!(!store.compact_if_sparse(1).unwrap());
    drop(store);
    let store = Store::open_read_only(&db).unwrap();
    for i in 0..RUNS {
        let run = store.get_run(run_id(i)).unwrap();
        assert_eq!(run.run_name, format!("renamed-{i}"));
    }
}
