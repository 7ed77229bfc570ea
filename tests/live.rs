//! Live logging: one store shared by threads, several processes writing one
//! store, buffered writes, search from inside an async runtime, a live
//! writer killed mid-write, and a short soak of single-point commits.
//!
//! Child processes are this test binary run again on one `#[ignore]`d test
//! (`child_logger`), told what to do through environment variables.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use runstore::search::{SearchRequest, search};
use runstore::{MetricBatch, MetricPoint, NewRun, RunId, Store, StoreOptions};

const CHILD_DB: &str = "RUNSTORE_TEST_CHILD_DB";
const CHILD_INDEX: &str = "RUNSTORE_TEST_CHILD_INDEX";
const CHILD_STEPS: &str = "RUNSTORE_TEST_CHILD_STEPS";
const METRICS: usize = 5;

fn point(step: i64, value: f64) -> MetricPoint {
    MetricPoint {
        step,
        value,
        timestamp: 1_700_000_000_000 + step,
    }
}

/// The value child/thread `who` logs for metric `m` at `step`.
fn value(who: u64, m: usize, step: i64) -> f64 {
    who as f64 * 1000.0 + m as f64 + step as f64 / 1e4
}

fn run_of(who: u64) -> RunId {
    RunId::from_u128(0x1111_0000_0000_0000_0000_0000_0000_0000 | u128::from(who))
}

/// Creates run `who` in experiment "sweep" (creating that too, racing other
/// processes: one of them wins the name).
fn start_run(store: &Store, who: u64) -> RunId {
    let exp = store.get_or_create_experiment("sweep").unwrap();
    store
        .create_run(
            exp,
            NewRun {
                run_id: Some(run_of(who)),
                run_name: Some(format!("trial-{who}")),
                start_time: Some(1_700_000_000_000),
                ..NewRun::default()
            },
        )
        .unwrap()
        .run_id
}

/// Checks that run `who` holds exactly `steps` points of each metric.
fn assert_logged(store: &Store, who: u64, steps: i64) {
    for m in 0..METRICS {
        let got = store.metric_history(run_of(who), &format!("m{m}")).unwrap();
        let want: Vec<MetricPoint> = (0..steps).map(|s| point(s, value(who, m, s))).collect();
        assert_eq!(got, want, "run {who} metric m{m}");
    }
}

/// Run again by the parent as a child process: logs one point per call.
/// With no steps given it logs until killed, printing the count of
/// acknowledged (durable) points after each.
#[test]
#[ignore = "a child process of the multi-process tests, run by them"]
fn child_logger() {
    let Ok(db) = std::env::var(CHILD_DB) else {
        return;
    };
    let who: u64 = std::env::var(CHILD_INDEX).unwrap().parse().unwrap();
    let steps: Option<i64> = std::env::var(CHILD_STEPS).ok().map(|s| s.parse().unwrap());
    let store = Store::open(&db).unwrap();
    let run = start_run(&store, who);
    let mut acked = 0u64;
    for step in 0..steps.unwrap_or(i64::MAX) {
        for m in 0..METRICS {
            store
                .log_metric(run, &format!("m{m}"), point(step, value(who, m, step)))
                .unwrap();
            acked += 1;
            if steps.is_none() {
                println!("acked {acked}");
            }
        }
    }
}

struct ChildOutput {
    status: std::process::ExitStatus,
    text: String,
}

trait WaitRef {
    fn wait_with_output_ref(&mut self) -> ChildOutput;
}

impl WaitRef for std::process::Child {
    fn wait_with_output_ref(&mut self) -> ChildOutput {
        let mut text = String::new();
        if let Some(mut out) = self.stdout.take() {
            std::io::Read::read_to_string(&mut out, &mut text).unwrap();
        }
        ChildOutput {
            status: self.wait().unwrap(),
            text,
        }
    }
}

fn spawn_child(db: &Path, who: u64, steps: Option<i64>) -> std::process::Child {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "live::child_logger", "--ignored", "--nocapture"])
        .env(CHILD_DB, db)
        .env(CHILD_INDEX, who.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(s) = steps {
        cmd.env(CHILD_STEPS, s.to_string());
    }
    cmd.spawn().unwrap()
}

#[test]
fn eight_threads_share_one_store_and_their_writes_are_committed_together() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let steps = 150i64;
    std::thread::scope(|s| {
        for who in 0..8u64 {
            let store = &store;
            s.spawn(move || {
                let run = start_run(store, who);
                store.log_param(run, "who", &who.to_string()).unwrap();
                for step in 0..steps {
                    for m in 0..METRICS {
                        store
                            .log_metric(run, &format!("m{m}"), point(step, value(who, m, step)))
                            .unwrap();
                    }
                }
                store.set_tag(run, "done", "yes").unwrap();
            });
        }
    });
    for who in 0..8 {
        assert_logged(&store, who, steps);
        let run = store.get_run(run_of(who)).unwrap();
        assert_eq!(run.params["who"], who.to_string());
        assert_eq!(run.tags["done"], "yes");
    }
    let stats = store.write_stats();
    assert!(stats.grouped_writes >= 8 * steps as u64 * METRICS as u64);
    // Concurrent callers shared commits (one fsync for several writes).
    assert!(
        stats.group_commits < stats.grouped_writes,
        "no write shared a commit: {stats:?}"
    );
    // Bad input fails alone: the rest of its group still commits.
    let run = run_of(0);
    assert!(store.log_param(run, "who", "changed").is_err());
    assert!(
        store
            .log_metric(RunId::from_u128(7), "m0", point(0, 1.0))
            .is_err()
    );
    store.log_metric(run, "extra", point(0, 1.0)).unwrap();
    assert_eq!(store.metric_history(run, "extra").unwrap().len(), 1);
}

#[test]
fn eight_processes_log_into_one_store_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store");
    let steps = 60;
    let mut children: Vec<_> = (0..8)
        .map(|who| spawn_child(&db, who, Some(steps)))
        .collect();
    for child in &mut children {
        let out = child.wait_with_output_ref();
        assert!(out.status.success(), "a child failed: {}", out.text);
        assert!(
            out.text.contains("1 passed"),
            "the child ran its test: {}",
            out.text
        );
    }
    let store = Store::open_read_only(&db).unwrap();
    for who in 0..8 {
        assert_logged(&store, who, steps);
    }
    let exps = store.experiments().unwrap();
    assert_eq!(
        exps.len(),
        1,
        "one experiment, however many processes raced"
    );
}

#[test]
fn a_live_writer_killed_mid_write_loses_no_acknowledged_point() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store");
    let mut rng = fastrand::Rng::with_seed(7);
    for round in 0..6u64 {
        let mut child = spawn_child(&db, round, None);
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // Let it acknowledge a random number of points, then kill it while
        // it is in its write loop (it never stops writing on its own).
        let target = 20 + rng.u64(0..200);
        let mut acked = 0;
        while acked < target {
            let line = lines.next().unwrap().unwrap();
            if let Some(n) = line.strip_prefix("acked ") {
                acked = n.parse().unwrap();
            }
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the writer was still writing"
        );
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.signal(), Some(9), "killed by SIGKILL, not finished");
        // What it printed after `acked` (already in the pipe) was durable too.
        for line in lines.map_while(Result::ok) {
            if let Some(n) = line.strip_prefix("acked ") {
                acked = n.parse().unwrap();
            }
        }
        let store = Store::open_read_only(&db).unwrap();
        let stored: u64 = (0..METRICS)
            .map(|m| {
                store
                    .metric_history(run_of(round), &format!("m{m}"))
                    .unwrap()
                    .len() as u64
            })
            .sum();
        // Every acknowledged point is there; at most the one in flight more.
        assert!(
            (acked..=acked + 1).contains(&stored),
            "round {round}: {acked} acknowledged, {stored} stored"
        );
        // Each point is whole: the values are the ones logged, in order.
        for m in 0..METRICS {
            for p in store
                .metric_history(run_of(round), &format!("m{m}"))
                .unwrap()
            {
                assert_eq!(p.value, value(round, m, p.step));
            }
        }
    }
    // The store takes writes again after the kills.
    let store = Store::open(&db).unwrap();
    store.log_metric(run_of(0), "after", point(0, 1.0)).unwrap();
}

#[test]
fn buffered_writes_are_durable_after_flush_or_the_interval() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        buffer_interval: Duration::from_millis(50),
        ..StoreOptions::default()
    };
    let store = Store::open_with(dir.path(), options).unwrap();
    let run = start_run(&store, 1);
    for step in 0..10_000 {
        store
            .log_metric_buffered(run, "loss", point(step, step as f64))
            .unwrap();
    }
    store.log_param_buffered(run, "lr", "0.1").unwrap();
    store.flush().unwrap();
    assert_eq!(store.metric_history(run, "loss").unwrap().len(), 10_000);
    assert_eq!(store.get_run(run).unwrap().params["lr"], "0.1");
    // Without a flush: the owner commits within the interval; a reader with
    // its own handle (as another process would) sees it.
    store
        .log_metric_buffered(run, "late", point(0, 1.0))
        .unwrap();
    let reader = Store::open_read_only(dir.path()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while reader.metric_history(run, "late").unwrap().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the buffered point never became durable"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // A buffered write the catalog refuses is reported by the next flush;
    // the others of its buffer still commit.
    store
        .log_metric_buffered(RunId::from_u128(42), "loss", point(0, 1.0))
        .unwrap();
    store
        .log_metric_buffered(run, "loss", point(10_000, 1.0))
        .unwrap();
    assert!(store.flush().is_err(), "the unknown run is reported");
    assert_eq!(store.metric_history(run, "loss").unwrap().len(), 10_001);
    store.flush().unwrap();
    // Checks that need no catalog fail at once.
    assert!(store.log_metric_buffered(run, "", point(0, 1.0)).is_err());
    // Dropping the store commits what is buffered.
    store
        .log_metric_buffered(run, "at-drop", point(0, 2.0))
        .unwrap();
    drop(store);
    let reopened = Store::open_read_only(dir.path()).unwrap();
    assert_eq!(reopened.metric_history(run, "at-drop").unwrap().len(), 1);
}

#[test]
fn search_runs_inside_an_async_runtime_and_sees_every_earlier_commit() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<Store> = Store::open(dir.path()).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    runtime.block_on(async {
        let run = start_run(&store, 3);
        store.log_metric(run, "acc", point(0, 0.5)).unwrap();
        let request = SearchRequest {
            filter: "metrics.acc > 0.4".into(),
            ..SearchRequest::default()
        };
        // The blocking search works on a runtime thread (no runtime of its
        // own, no block_on inside one)...
        let page = search(&store, &request).unwrap();
        assert_eq!(page.runs.len(), 1);
        // ... and the async one on the runtime's executor.
        let view = store.read_view().unwrap();
        let found = runstore::search::search_async(&view, &request)
            .await
            .unwrap();
        assert_eq!(found.runs[0].run_id, run);
        drop(view);
        // From other tasks at once.
        let mut tasks = Vec::new();
        for i in 0..8 {
            let store = store.clone();
            tasks.push(tokio::task::spawn_blocking(move || {
                store.log_metric(run, "acc", point(i + 1, 0.9)).unwrap();
                let page = search(
                    &store,
                    &SearchRequest {
                        filter: "metrics.acc > 0.8".into(),
                        ..SearchRequest::default()
                    },
                )
                .unwrap();
                // Sees its own commit, made before the search started.
                assert_eq!(page.runs.len(), 1);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    // A reader in another process sees the commit at its next search.
    let out = crate::util::runstore(
        dir.path(),
        &[
            "search",
            "--filter",
            "metrics.acc > 0.8",
            "--format",
            "json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["runs"].as_array().unwrap().len(), 1);
}

#[test]
fn a_short_soak_of_single_point_commits_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        pending_flush_points: 2_000,
        ..StoreOptions::default()
    };
    let store = Store::open_with(dir.path(), options).unwrap();
    let run = start_run(&store, 5);
    let mut step = 0i64;
    let mut peak = 0u64;
    while step < 1000 {
        for m in 0..METRICS {
            store
                .log_metric(run, &format!("m{m}"), point(step, value(5, m, step)))
                .unwrap();
        }
        store
            .log_batch(
                run,
                MetricBatch {
                    tags: vec![("step".into(), step.to_string())],
                    ..MetricBatch::default()
                },
            )
            .unwrap();
        step += 1;
        if step % 100 == 0 {
            peak = peak.max(dir_size(dir.path()));
        }
    }
    store.flush().unwrap();
    assert_logged(&store, 5, step);
    // The owner flushed staged points into segments and merged them.
    let status = store.maintenance_status();
    assert!(status.owner && status.passes > 0, "{status:?}");
    assert_eq!(status.last_error, None);
    // No snapshot or temporary file accumulates.
    let snapshots = std::fs::read_dir(dir.path().join("index")).unwrap().count();
    assert!(snapshots <= 2, "{snapshots} files in index/");
    let segments = std::fs::read_dir(dir.path().join("segments"))
        .unwrap()
        .count();
    assert!(segments < 16, "{segments} files in segments/");
    // Disk use stays bounded: the same points bulk-loaded take this much.
    let bulk = tempfile::tempdir().unwrap();
    {
        let b = Store::open(bulk.path()).unwrap();
        let r = start_run(&b, 5);
        for m in 0..METRICS {
            let pts: Vec<MetricPoint> = (0..step).map(|s| point(s, value(5, m, s))).collect();
            b.log_metric_points(r, &format!("m{m}"), &pts).unwrap();
        }
    }
    let bulk_size = dir_size(bulk.path());
    // Within 2x of the bulk-loaded store (plus redb's allocation step).
    assert!(
        peak <= 2 * bulk_size + (256 << 10),
        "soak peaked at {peak} bytes; the same data bulk-loaded is {bulk_size}"
    );
}

fn dir_size(dir: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let meta = entry.metadata().unwrap();
        total += if meta.is_dir() {
            dir_size(&entry.path())
        } else {
            meta.len()
        };
    }
    total
}

#[test]
fn small_in_memory_ingests_keep_the_lines_before_a_bad_one() {
    use runstore::ingest::{IngestOptions, ingest_bytes};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let line = |i: u64| crate::util::record_json(i, 1, 2);
    let options = IngestOptions::default();
    // A line that does not parse: the lines before it are stored.
    let doc = format!("{}\n{}\nnot json\n{}\n", line(1), line(2), line(3));
    let e = ingest_bytes(&store, doc.as_bytes(), "input", &options).unwrap_err();
    assert!(e.to_string().starts_with("input:3:"), "{e}");
    assert!(store.run_exists(crate::util::run_id(2)).unwrap());
    assert!(!store.run_exists(crate::util::run_id(3)).unwrap());
    // A line that breaks a rule (a changed param): same, and it names the line.
    let mut changed: serde_json::Value = serde_json::from_str(&line(1)).unwrap();
    changed["params"]["lr"] = "9".into();
    let doc = format!("{}\n{changed}\n{}\n", line(4), line(5));
    let e = ingest_bytes(&store, doc.as_bytes(), "input", &options).unwrap_err();
    assert!(e.to_string().starts_with("input:2:"), "{e}");
    assert!(store.run_exists(crate::util::run_id(4)).unwrap());
    assert!(!store.run_exists(crate::util::run_id(5)).unwrap());
    // Concurrent small ingests share commits.
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let store = &store;
            let options = &options;
            s.spawn(move || {
                for i in 0..50 {
                    let doc = line(100 + t * 100 + i);
                    ingest_bytes(store, doc.as_bytes(), "input", options).unwrap();
                }
            });
        }
    });
    for t in 0..4u64 {
        for i in 0..50 {
            crate::util::assert_whole(&store, 100 + t * 100 + i, 1, 2);
        }
    }
}
