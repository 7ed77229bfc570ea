//! `runstore export` read back from Python: pyarrow, pandas and DuckDB open every
//! file with no options and find exactly what the ingested records say
//! (tests/python/check_export.py), and `runstore sql` answers the SQL examples
//! (tests/python/sql_examples.json) as DuckDB does over the exported files.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::pyenv::python;
use crate::util::{bin, record_json, run_id, runstore};

const EXPERIMENTS: [&str; 3] = ["mnist", "cifar-10", "churn model"];
const LRS: [&str; 4] = ["0.1", "0.01", "0.001", "0.0001"];
const RUNS: u64 = 60;
const T0: i64 = 1_700_000_000_000;
/// Starts RUNNING; a second line finishes it, adds points, a param, a tag, an input.
const APPENDED: u64 = 20;
/// Runs 31 and 32 are nested under it.
const PARENT: u64 = 30;
/// Deleted on its first line: an adam run with the lowest loss of its lr and the
/// best accuracy of its experiment, so a view or a `runstore sql` that let it in
/// would change every SQL example's answer.
const DELETED: u64 = 42;
/// Deleted by a second line.
const DELETED_LATER: u64 = 50;
/// No run_name: the store names it.
const UNNAMED: u64 = 7;

/// A metric value as the record format writes it.
fn value(v: f64) -> Value {
    if v.is_nan() {
        json!("NaN")
    } else if v == f64::INFINITY {
        json!("Infinity")
    } else if v == f64::NEG_INFINITY {
        json!("-Infinity")
    } else {
        json!(v)
    }
}

fn point(step: i64, v: f64, timestamp: i64) -> Value {
    json!([step, value(v), timestamp])
}

fn start(i: u64) -> i64 {
    T0 + i as i64 * 60_000
}

/// 20 to 50 steps.
fn steps(i: u64) -> i64 {
    20 + (i as i64 * 7) % 31
}

/// The timestamp of step `s` of run `i`.
fn at(i: u64, s: i64) -> i64 {
    start(i) + 1000 * (s + 1)
}

fn loss(i: u64, s: i64) -> f64 {
    let speed = [1.0, 0.7, 0.45, 0.3][(i % 4) as usize];
    let noise = ((i * 31 + s as u64 * 17) % 13) as f64 * 0.002;
    1.0 / (1.0 + s as f64 * 0.15 * speed) + noise
}

fn accuracy(i: u64, s: i64) -> f64 {
    1.0 - 0.85 * loss(i, s)
}

fn optimizer(i: u64) -> &'static str {
    if i % 5 < 3 { "adam" } else { "sgd" }
}

/// The first line of run `i`.
fn record(i: u64) -> Value {
    let n = steps(i);
    let t = start(i);
    let mut loss_pts: Vec<Value> = (0..n).map(|s| point(s, loss(i, s), at(i, s))).collect();
    let mut acc_pts: Vec<Value> = (0..n).map(|s| point(s, accuracy(i, s), at(i, s))).collect();
    match i {
        // NaN and infinities mid-history (runs 2, 5, 6 are adam runs).
        2 => loss_pts[5] = point(5, f64::NAN, at(i, 5)),
        3 => loss_pts[4] = point(4, f64::NAN, at(i, 4)),
        5 => loss_pts[2] = point(2, f64::NEG_INFINITY, at(i, 2)),
        6 => loss_pts[7] = point(7, f64::INFINITY, at(i, 7)),
        // An identical point logged twice in one line: stored once.
        10 => loss_pts.push(loss_pts[3].clone()),
        // The latest loss is NaN.
        11 => loss_pts[(n - 1) as usize] = point(n - 1, f64::NAN, at(i, n - 1)),
        // At the last step: an earlier timestamp with a larger value (not the
        // latest), and the same timestamp with a larger value (the latest).
        12 => {
            loss_pts.push(point(n - 1, 0.9, at(i, n - 1) - 500));
            loss_pts.push(point(n - 1, loss(i, n - 1) + 0.05, at(i, n - 1)));
        }
        // The latest accuracy is NaN.
        13 => acc_pts[(n - 1) as usize] = point(n - 1, f64::NAN, at(i, n - 1)),
        14 => acc_pts[4] = point(4, f64::INFINITY, at(i, 4)),
        // Points out of order.
        16 => loss_pts.reverse(),
        DELETED => {
            loss_pts = (0..n).map(|s| point(s, 0.01, at(i, s))).collect();
            acc_pts = (0..n).map(|s| point(s, 0.999, at(i, s))).collect();
        }
        _ => {}
    }
    let mut metrics = serde_json::Map::new();
    metrics.insert("loss".into(), Value::Array(loss_pts));
    if i % 10 != 9 {
        metrics.insert("accuracy".into(), Value::Array(acc_pts));
    }
    if i.is_multiple_of(7) {
        // A key with a space.
        let lr: f64 = LRS[(i % 4) as usize].parse().unwrap();
        let pts = (0..3).map(|s| point(s, lr * 0.5f64.powi(s as i32), at(i, s)));
        metrics.insert("learning rate".into(), pts.collect());
    }
    if i == 12 {
        metrics.insert("empty".into(), json!([])); // no points: no column
    }
    if i == DELETED {
        metrics.insert("deleted_metric".into(), json!([[0, 1.0, t]]));
    }

    let mut params = serde_json::Map::new();
    params.insert("lr".into(), json!(LRS[(i % 4) as usize]));
    params.insert("optimizer".into(), json!(optimizer(i)));
    if optimizer(i) == "adam" {
        params.insert("adam.beta1".into(), json!("0.9")); // a key with a dot
    }
    if i.is_multiple_of(3) {
        params.insert("batch size".into(), json!(32 << (i % 2))); // a number: kept as its text
    }
    if i % 6 == 1 {
        params.insert("epochs".into(), json!(10));
    }
    if i == DELETED {
        params.insert("only_deleted".into(), json!("x"));
    }

    let mut tags = serde_json::Map::new();
    tags.insert("team".into(), json!(format!("team-{}", i % 4)));
    if i % 4 == 1 {
        tags.insert("data set".into(), json!("v2"));
    }
    if i % 5 == 2 {
        tags.insert("git.commit".into(), json!(format!("{:07x}", i * 7919)));
    }
    if i == 15 {
        tags.insert("mlflow.user".into(), json!("carol")); // the user, given as its tag
    }
    if i == UNNAMED {
        tags.insert(
            "mlflow.note.content".into(),
            json!("the store names this run"),
        );
    }

    let mut rec = json!({
        "experiment": EXPERIMENTS[(i % 3) as usize],
        "run_id": run_id(i).to_string(),
        "start_time": t,
        "params": params,
        "tags": tags,
        "metrics": metrics,
    });
    let obj = rec.as_object_mut().unwrap();
    if i != UNNAMED {
        obj.insert("run_name".into(), json!(format!("run-{i}")));
    }
    let status = match i % 5 {
        _ if i == APPENDED => Some("RUNNING"),
        0 => None, // FINISHED by default
        1 => Some("FAILED"),
        2 => Some("KILLED"),
        3 => Some("FINISHED"),
        _ => Some("RUNNING"),
    };
    if let Some(s) = status {
        obj.insert("status".into(), json!(s));
    }
    if status != Some("RUNNING") {
        obj.insert("end_time".into(), json!(at(i, n + 5)));
    }
    if i % 4 != 3 {
        obj.insert("user".into(), json!(format!("user-{}", i % 3)));
    }
    if i == PARENT + 1 || i == PARENT + 2 {
        obj.insert("parent_run_id".into(), json!(run_id(PARENT).to_string()));
    }
    if i == DELETED {
        obj.insert("lifecycle_stage".into(), json!("deleted"));
    }
    let mut inputs = Vec::new();
    if i % 5 == 1 || i == APPENDED {
        inputs.push(
            json!({"name": "train", "digest": format!("d{}", i % 3), "source_type": "local",
                           "source": "data/train.csv", "context": "training"}),
        );
    }
    if i % 10 == 1 {
        // No source_type, no context; a schema and a profile.
        inputs.push(
            json!({"name": "eval", "digest": "e1", "source": "s3://bucket/eval.parquet",
                           "schema": "{\"mlflow_colspec\": []}", "profile": "{\"num_rows\": 100}"}),
        );
    }
    if !inputs.is_empty() {
        obj.insert("inputs".into(), Value::Array(inputs));
    }
    rec
}

/// The second line of run [`APPENDED`]: it finishes, gets 5 more steps, a point
/// it already has (stored once), a new metric, param (a number written `1e-3`,
/// kept as that text), tag, a repeated input (the first link wins) and a new one.
fn appended() -> String {
    let i = APPENDED;
    let n = steps(i);
    let mut loss_pts: Vec<Value> = (n..n + 5).map(|s| point(s, loss(i, s), at(i, s))).collect();
    loss_pts.push(point(0, loss(i, 0), at(i, 0)));
    let line = json!({
        "experiment": EXPERIMENTS[(i % 3) as usize],
        "run_id": run_id(i).to_string(),
        "status": "FINISHED",
        "end_time": at(i, n + 10),
        "params": {"warmup": "5"},
        "tags": {"stage": "appended"},
        "metrics": {
            "loss": loss_pts,
            "val.loss": [[0, 0.75, at(i, 0)], [1, 0.5, at(i, 1)]],
        },
        "inputs": [
            {"name": "train", "digest": format!("d{}", i % 3), "context": "retraining"},
            {"name": "holdout", "digest": "h1", "source_type": "local", "source": "data/holdout.csv"},
        ],
    })
    .to_string();
    let with_alpha = line.replacen("\"params\":{", "\"params\":{\"alpha\":1e-3,", 1);
    assert_ne!(with_alpha, line, "the second line has a params object");
    with_alpha
}

/// The records file: one line a run, then the second lines of two runs.
fn fixture() -> String {
    let mut lines: Vec<String> = (0..RUNS).map(|i| record(i).to_string()).collect();
    lines.push(appended());
    lines.push(
        json!({
            "experiment": EXPERIMENTS[(DELETED_LATER % 3) as usize],
            "run_id": run_id(DELETED_LATER).to_string(),
            "lifecycle_stage": "deleted",
        })
        .to_string(),
    );
    lines.join("\n") + "\n"
}

fn export(db: &Path, dir: &Path, extra: &[&str]) {
    let mut args = vec!["export", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = runstore(db, &args);
    assert!(
        out.status.success(),
        "runstore export {}: exit {:?}\n{}",
        args[1..].join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs check_export.py over `dir`; with `db`, it also compares `runstore sql`.
fn check(records: &Path, dir: &Path, extra: &[&str], db: Option<&Path>) {
    let python = python();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/check_export.py");
    let mut cmd = Command::new(&python);
    cmd.arg(&script)
        .arg("--records")
        .arg(records)
        .arg("--export")
        .arg(dir)
        .args(extra);
    if let Some(db) = db {
        cmd.arg("--runstore").arg(bin()).arg("--db").arg(db);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{} does not run: {e}", python.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "check_export.py {} exits {:?}:\n{stdout}\n{stderr}",
        extra.join(" "),
        out.status.code()
    );
    print!("{stdout}");
}

#[test]
fn export_reads_back_in_pyarrow_pandas_and_duckdb_and_sql_agrees_with_duckdb() {
    // First, so that a missing Python fails the test before any work.
    python();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store");
    let records = dir.path().join("runs.jsonl");
    std::fs::write(&records, fixture()).unwrap();
    let out = runstore(&db, &["ingest", records.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "ingest: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The default view (active runs), and `runstore sql` against it.
    let active = dir.path().join("export-active");
    export(&db, &active, &[]);
    check(&records, &active, &["--view", "active"], Some(&db));

    let all = dir.path().join("export-all");
    export(&db, &all, &["--view", "all"]);
    check(&records, &all, &["--view", "all"], None);

    // Two experiments of three: their runs, and experiments.parquet holds those two.
    let two = [
        "--experiment",
        EXPERIMENTS[0],
        "--experiment",
        EXPERIMENTS[2],
    ];
    let some = dir.path().join("export-two-experiments");
    export(&db, &some, &two);
    check(&records, &some, &two, None);
}

#[test]
fn sql_with_a_bad_query_exits_2_with_one_error_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store");
    let file = dir.path().join("runs.jsonl");
    std::fs::write(&file, record_json(0, 1, 3) + "\n").unwrap();
    assert!(
        runstore(&db, &["ingest", file.to_str().unwrap()])
            .status
            .success()
    );
    for query in [
        "SELEC run_id FROM runs",
        "SELECT run_id FROM no_such_table",
        "SELECT no_such_column FROM runs",
    ] {
        let out = runstore(&db, &["sql", "--format", "json", query]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{query}: {stderr}");
        assert!(stderr.starts_with("error:"), "{query}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{query}: one line: {stderr}");
        assert!(out.stdout.is_empty(), "{query}: nothing on stdout");
    }
}
