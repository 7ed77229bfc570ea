//! Forwarding to a REAL MLflow tracking server (`python -m mlflow server`,
//! SQLite backend): every write read back with the `mlflow` client; an
//! outage and a SIGKILL of the forwarding process mid-delivery lose and
//! duplicate nothing; writes the server refuses are parked with its reason
//! while the rest flows; the CLI's `forward status|flush|retry-parked`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use runstore::engine::metric::stored_form;
use runstore::forward::{self, ForwardConfig};
use runstore::{
    DatasetInput, MetricBatch, MetricPoint, NewRun, RunId, RunStatus, RunUpdate, Store,
};
use serde_json::Value;

use crate::mlflow_server::MlflowServer;
use crate::util::{bin, record_json};

const FLUSH: Duration = Duration::from_secs(300);

fn point(step: i64, value: f64, timestamp: i64) -> MetricPoint {
    MetricPoint {
        step,
        value,
        timestamp,
    }
}

/// A value as the server keeps and returns it (NaN as "NaN", ±inf as ±f64::MAX).
fn remote_value(v: f64) -> Value {
    let (stored, nan) = stored_form(v);
    if nan {
        Value::from("NaN")
    } else {
        serde_json::json!(stored)
    }
}

fn same_number(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x.to_bits() == y.to_bits() || x == y,
        _ => a == b,
    }
}

/// The server's runs carrying `local`'s id in their `runstore.run_id` tag.
fn remote_runs(dump: &Value, local: RunId) -> Vec<&Value> {
    let id = local.to_string();
    dump["runs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["tags"][forward::TAG_SOURCE_RUN_ID].as_str() == Some(id.as_str()))
        .collect()
}

/// Asserts that the server holds exactly one copy of each of `runs`, equal
/// to the store's in every attribute, param, tag, metric point and input.
fn assert_forwarded(store: &Store, dump: &Value, runs: &[RunId]) {
    let remote_id = |run: RunId| -> String {
        let found = remote_runs(dump, run);
        assert_eq!(
            found.len(),
            1,
            "run {run} is on the server {} times",
            found.len()
        );
        found[0]["run_id"].as_str().unwrap().to_owned()
    };
    for &run in runs {
        let local = store.get_run(run).unwrap();
        let found = remote_runs(dump, run);
        assert_eq!(
            found.len(),
            1,
            "run {run} is on the server {} times",
            found.len()
        );
        let remote = found[0];
        let ctx = format!("run {run} ({})", local.run_name);
        assert_eq!(
            remote["experiment"],
            local.experiment_name.as_str(),
            "{ctx}"
        );
        assert_eq!(remote["run_name"], local.run_name.as_str(), "{ctx}");
        assert_eq!(remote["user_id"], local.user.as_str(), "{ctx}");
        assert_eq!(remote["status"], local.status.as_str(), "{ctx}");
        assert_eq!(remote["start_time"], local.start_time, "{ctx}");
        assert_eq!(remote["end_time"].as_i64(), local.end_time, "{ctx}");
        assert_eq!(
            remote["lifecycle_stage"],
            local.lifecycle_stage.as_str(),
            "{ctx}"
        );
        let params: BTreeMap<String, String> =
            serde_json::from_value(remote["params"].clone()).unwrap();
        assert_eq!(params, local.params, "{ctx}: params");
        let mut tags: BTreeMap<String, String> =
            serde_json::from_value(remote["tags"].clone()).unwrap();
        tags.remove(forward::TAG_SOURCE_RUN_ID);
        let mut want = local.tags.clone();
        if let Some(parent) = want.get_mut(runstore::engine::TAG_PARENT_RUN_ID) {
            *parent = remote_id(parent.parse().unwrap());
        }
        assert_eq!(tags, want, "{ctx}: tags");
        let mut keys: Vec<&String> = remote["metrics"].as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            local.metrics.keys().collect::<Vec<_>>(),
            "{ctx}: metric keys"
        );
        for key in local.metrics.keys() {
            let mut history = store.metric_history(run, key).unwrap();
            history.sort_by(|a, b| {
                (a.step, a.timestamp).cmp(&(b.step, b.timestamp)).then(
                    remote_value(a.value)
                        .to_string()
                        .cmp(&remote_value(b.value).to_string()),
                )
            });
            let got = remote["metrics"][key].as_array().unwrap();
            assert_eq!(got.len(), history.len(), "{ctx}: points of {key}");
            for (g, p) in got.iter().zip(&history) {
                assert_eq!(g[0], p.step, "{ctx}: {key}");
                assert_eq!(g[2], p.timestamp, "{ctx}: {key}");
                assert!(
                    same_number(&g[1], &remote_value(p.value)),
                    "{ctx}: {key} step {}: server {} store {}",
                    p.step,
                    g[1],
                    p.value
                );
            }
        }
        let mut inputs: Vec<(String, String, String)> = local
            .inputs
            .iter()
            .map(|i| {
                (
                    i.name.clone(),
                    i.digest.clone(),
                    i.context.clone().unwrap_or_default(),
                )
            })
            .collect();
        inputs.sort();
        let inputs: Vec<Value> = inputs
            .into_iter()
            .map(|(n, d, c)| serde_json::json!([n, d, c]))
            .collect();
        assert_eq!(remote["inputs"], Value::Array(inputs), "{ctx}: inputs");
    }
}

fn forwarding_store(db: &Path, uri: &str) -> Arc<Store> {
    let store = Store::open(db).unwrap();
    forward::configure(&store, &ForwardConfig::new(uri).unwrap()).unwrap();
    assert!(forward::start(&store).unwrap());
    store
}

#[test]
fn every_write_reaches_mlflow_and_reads_back_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let server = MlflowServer::start(&dir.path().join("mlflow"));
    let db = dir.path().join("store");
    let store = forwarding_store(&db, &server.uri());
    let t0 = 1_700_000_000_000i64;

    let exp = store
        .create_experiment("fwd-main", None, &[("team".into(), "vision".into())])
        .unwrap();
    let a = store
        .create_run(
            exp,
            NewRun {
                run_name: Some("a".into()),
                user: Some("alice".into()),
                start_time: Some(t0),
                tags: vec![("stage".into(), "1".into())],
                ..NewRun::default()
            },
        )
        .unwrap()
        .run_id;
    store.log_param(a, "lr", "0.01").unwrap();
    store.log_param(a, "optimizer", "adam").unwrap();
    // log_batch calls of 3 keys × 100 steps, single calls, buffered calls.
    for chunk in 0..3 {
        let metrics = (0..100)
            .flat_map(|s| {
                let step = chunk * 100 + s;
                (0..3).map(move |k| {
                    (
                        format!("m{k}"),
                        point(step, (step as f64 * 0.1 + k as f64).sin(), t0 + step),
                    )
                })
            })
            .collect();
        let params = vec![(format!("p{chunk}"), chunk.to_string())];
        store
            .log_batch(
                a,
                MetricBatch {
                    metrics,
                    params,
                    tags: vec![],
                },
            )
            .unwrap();
    }
    for (step, value) in [
        (0, f64::NAN),
        (1, f64::INFINITY),
        (2, f64::NEG_INFINITY),
        (-3, -0.5),
    ] {
        store
            .log_metric(a, "special", point(step, value, t0 + 7))
            .unwrap();
    }
    // The same point twice is one point (locally and on the server).
    store
        .log_metric(a, "special", point(5, 2.5, t0 + 8))
        .unwrap();
    store
        .log_metric(a, "special", point(5, 2.5, t0 + 8))
        .unwrap();
    for step in 0..200 {
        store
            .log_metric_buffered(a, "buffered", point(step, step as f64 / 7.0, t0 + step))
            .unwrap();
    }
    store.flush().unwrap();
    store.set_tag(a, "stage", "2").unwrap();
    store.set_tag(a, "tmp", "x").unwrap();
    store.delete_tag(a, "tmp").unwrap();
    store
        .log_inputs(
            a,
            &[DatasetInput {
                name: "train".into(),
                digest: "ab12".into(),
                source_type: "local".into(),
                source: "data/train.csv".into(),
                context: Some("training".into()),
                ..Default::default()
            }],
        )
        .unwrap();
    store
        .update_run(
            a,
            RunUpdate {
                status: Some(RunStatus::Finished),
                end_time: Some(t0 + 60_000),
                run_name: Some("a-final".into()),
            },
        )
        .unwrap();
    // A nested run, named by its parent's id.
    let b = store
        .create_run(
            exp,
            NewRun {
                run_name: Some("b".into()),
                start_time: Some(t0 + 1),
                tags: vec![(runstore::engine::TAG_PARENT_RUN_ID.into(), a.to_string())],
                ..NewRun::default()
            },
        )
        .unwrap()
        .run_id;
    store
        .log_metric_points(
            b,
            "loss",
            &(0..2500)
                .map(|s| point(s, 1.0 / (s + 1) as f64, t0 + s))
                .collect::<Vec<_>>(),
        )
        .unwrap();
    // A run deleted after logging.
    let c = store.create_run(exp, NewRun::default()).unwrap().run_id;
    store.log_metric(c, "loss", point(0, 1.0, t0)).unwrap();
    store.delete_run(c).unwrap();
    // Bulk ingest: records of the contract's format, each a new run.
    let lines: String = (0..20).map(|i| record_json(i, 3, 50) + "\n").collect();
    runstore::ingest::ingest_bytes(&store, lines.as_bytes(), "records", &Default::default())
        .unwrap();
    let ingested: Vec<RunId> = (0..20).map(crate::util::run_id).collect();
    // An experiment renamed after its run was logged.
    let old = store.create_experiment("fwd-old-name", None, &[]).unwrap();
    let d = store.create_run(old, NewRun::default()).unwrap().run_id;
    store.log_param(d, "k", "v").unwrap();
    store.rename_experiment(old, "fwd-new-name").unwrap();

    let flushed = forward::flush(&store, Some(FLUSH)).unwrap();
    assert_eq!(
        flushed.parked,
        0,
        "{}",
        forward::status(&store).unwrap().to_json()
    );
    let status = forward::status(&store).unwrap();
    assert_eq!(status.pending_entries, 0);
    assert!(
        status.sender.delivered_points > 3000,
        "{}",
        status.to_json()
    );
    assert!(status.sender.last_error.is_none(), "{}", status.to_json());

    // A sender that died after creating a run on the server, before it
    // recorded the run's id: the next one finds that run instead of making a
    // second one.
    forward::stop(&store).unwrap();
    let e = store.create_run(exp, NewRun::default()).unwrap().run_id;
    store.log_metric(e, "loss", point(0, 0.5, t0)).unwrap();
    store
        .forward_progress(runstore::engine::ForwardProgress {
            intents: vec![e],
            ..Default::default()
        })
        .unwrap();
    let remote_exp = store.remote_experiment_id(exp).unwrap().unwrap();
    let (code, _) = server.post(
        "runs/create",
        &serde_json::json!({
            "experiment_id": remote_exp,
            "run_name": store.get_run(e).unwrap().run_name,
            "start_time": store.get_run(e).unwrap().start_time,
            "tags": [{"key": forward::TAG_SOURCE_RUN_ID, "value": e.to_string()}],
        }),
    );
    assert_eq!(code, 200);
    assert!(forward::start(&store).unwrap());
    assert_eq!(forward::flush(&store, Some(FLUSH)).unwrap().parked, 0);

    let dump = server.dump();
    let mut runs = vec![a, b, c, d, e];
    runs.extend(ingested);
    assert_forwarded(&store, &dump, &runs);
    let experiments = &dump["experiments"];
    assert_eq!(experiments["fwd-main"]["tags"]["team"], "vision");
    assert!(experiments.get("fwd-new-name").is_some(), "{experiments}");
    assert!(experiments.get("fwd-old-name").is_none(), "{experiments}");
    assert_eq!(
        dump["runs"].as_array().unwrap().len(),
        runs.len(),
        "the server holds other runs than the store's"
    );
}

const CHILD_DB: &str = "RUNSTORE_FORWARD_TEST_CHILD_DB";

/// Run again by the outage test as a child process: a training loop that
/// forwards as it logs (forwarding configured by the environment), a new
/// run every 1500 steps, printing the metric points acknowledged (durable)
/// so far after each step.
#[test]
#[ignore = "a child process of the outage test, run by it"]
fn child_training_loop() {
    let Ok(db) = std::env::var(CHILD_DB) else {
        return;
    };
    let store = Store::open(&db).unwrap();
    assert!(forward::start(&store).unwrap(), "forwarding is configured");
    let exp = store.get_or_create_experiment("fwd-outage").unwrap();
    let mut acked = 0u64;
    let mut run = None;
    for step in 0i64.. {
        if step % 1500 == 0 {
            let r = store
                .create_run(
                    exp,
                    NewRun {
                        run_name: Some(format!("trial-{}", step / 1500)),
                        ..NewRun::default()
                    },
                )
                .unwrap();
            run = Some(r.run_id);
        }
        let metrics = (0..5)
            .map(|k| {
                (
                    format!("m{k}"),
                    point(step, (step * 5 + k) as f64, 1_700_000_000_000 + step),
                )
            })
            .collect();
        store
            .log_batch(
                run.unwrap(),
                MetricBatch {
                    metrics,
                    ..MetricBatch::default()
                },
            )
            .unwrap();
        acked += 5;
        println!("acked {acked}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Points of metric `m0` the server holds for the runs of experiment `fwd-outage`.
fn remote_points(server: &MlflowServer) -> u64 {
    let (status, found) = server.post(
        "runs/search",
        &serde_json::json!({"experiment_ids": ["1"], "run_view_type": "ALL", "max_results": 1000}),
    );
    if status != 200 {
        return 0;
    }
    let mut total = 0;
    for run in found["runs"].as_array().cloned().unwrap_or_default() {
        let id = run["info"]["run_id"].as_str().unwrap().to_owned();
        let mut token = String::new();
        loop {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .timeout_global(Some(Duration::from_secs(60)))
                .build()
                .into();
            let mut req = agent
                .get(format!(
                    "{}/api/2.0/mlflow/metrics/get-history",
                    server.uri()
                ))
                .query("run_id", &id)
                .query("metric_key", "m0")
                .query("max_results", "25000");
            if !token.is_empty() {
                req = req.query("page_token", &token);
            }
            let Ok(mut answer) = req.call() else {
                return total;
            };
            let page: Value =
                serde_json::from_str(&answer.body_mut().read_to_string().unwrap()).unwrap();
            total += page["metrics"].as_array().map_or(0, |m| m.len() as u64);
            match page["next_page_token"].as_str() {
                Some(t) if !t.is_empty() => token = t.to_owned(),
                _ => break,
            }
        }
    }
    total
}

fn wait_for(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let started = Instant::now();
    while !ok() {
        assert!(started.elapsed() < limit, "waited {limit:?} for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn an_outage_and_a_sigkill_mid_delivery_lose_and_duplicate_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = MlflowServer::start(&dir.path().join("mlflow"));
    let db = dir.path().join("store");
    // The experiment gets id 1 on the server (0 is MLflow's Default).
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "forward::child_training_loop",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD_DB, &db)
        .env(forward::ENV_URI, server.uri())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let acked = Arc::new(AtomicU64::new(0));
    let reader = {
        let acked = acked.clone();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Some(n) = line.strip_prefix("acked ") {
                    acked.store(n.parse().unwrap(), Ordering::SeqCst);
                }
            }
        })
    };
    // Mid-stream: the server has part of it.
    wait_for(
        "the first points on the server",
        Duration::from_secs(120),
        || remote_points(&server) >= 100,
    );
    server.stop();
    let at_outage = acked.load(Ordering::SeqCst);
    // Local writes go on while the server is down.
    wait_for(
        "local writes during the outage",
        Duration::from_secs(60),
        || acked.load(Ordering::SeqCst) >= at_outage + 10_000,
    );
    let before_restart = acked.load(Ordering::SeqCst);
    server.restart();
    // Kill the forwarding process while it delivers the backlog: the server
    // has received more than before the outage, not everything.
    let mut remote_at_kill = 0;
    wait_for(
        "delivery of the backlog to start",
        Duration::from_secs(180),
        || {
            remote_at_kill = remote_points(&server);
            remote_at_kill * 5 > at_outage + 500
        },
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    reader.join().unwrap();
    let acked = acked.load(Ordering::SeqCst);
    assert!(
        acked > before_restart,
        "the child logged on after the restart"
    );
    let store = Store::open_read_only(&db).unwrap();
    let pending = store.outbox_summary().unwrap().entries;
    assert!(pending > 0, "the kill landed after the outbox drained");
    assert!(
        remote_at_kill * 5 < acked,
        "the kill landed after the server had everything ({remote_at_kill} of {acked})"
    );
    drop(store);

    // Another process delivers the rest.
    let out = Command::new(bin())
        .arg("--db")
        .arg(&db)
        .args(["forward", "flush", "--timeout", "300"])
        .env(forward::ENV_URI, server.uri())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "forward flush: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let store = Store::open_read_only(&db).unwrap();
    let exp = store.experiment_by_name("fwd-outage").unwrap().unwrap();
    let runs: Vec<RunId> = runstore::search::search(
        &store,
        &runstore::search::SearchRequest {
            experiment_ids: vec![exp.id.0],
            max_results: 1000,
            ..Default::default()
        },
    )
    .unwrap()
    .runs
    .iter()
    .map(|r| r.run_id)
    .collect();
    let local_points: usize = runs
        .iter()
        .map(|&r| {
            (0..5)
                .map(|k| store.metric_history(r, &format!("m{k}")).unwrap().len())
                .sum::<usize>()
        })
        .sum();
    assert!(
        local_points as u64 >= acked,
        "an acknowledged point is missing locally"
    );
    assert!(runs.len() >= 2, "the loop made {} runs", runs.len());
    assert_forwarded(&store, &server.dump(), &runs);
}

#[test]
fn refused_writes_are_parked_with_the_reason_and_the_rest_flows() {
    let dir = tempfile::tempdir().unwrap();
    // A server that keeps MLflow 1.x's 500-character limit on param values
    // and refuses longer ones instead of truncating them (runstore allows
    // MLflow 2+'s 6000): a write this server rejects for good.
    let site = dir.path().join("site");
    std::fs::create_dir_all(&site).unwrap();
    std::fs::write(
        site.join("sitecustomize.py"),
        "import mlflow.utils.validation as v\nv.MAX_PARAM_VAL_LENGTH = 500\n",
    )
    .unwrap();
    let server = MlflowServer::start_with(
        &dir.path().join("mlflow"),
        &[
            ("PYTHONPATH", site.to_str().unwrap()),
            ("MLFLOW_TRUNCATE_LONG_VALUES", "false"),
        ],
    );
    let db = dir.path().join("store");
    let store = forwarding_store(&db, &server.uri());
    let exp = store.get_or_create_experiment("fwd-park").unwrap();
    let r1 = store.create_run(exp, NewRun::default()).unwrap().run_id;
    let r2 = store.create_run(exp, NewRun::default()).unwrap().run_id;
    let t0 = 1_700_000_000_000;
    let batch = |run, long: Option<String>| {
        let mut params = vec![
            ("lr".to_owned(), "0.1".to_owned()),
            ("seed".into(), "7".into()),
        ];
        if let Some(l) = long {
            params.push(("notes".into(), l));
        }
        let metrics = (0..300)
            .map(|s| ("loss".to_owned(), point(s, s as f64, t0 + s)))
            .collect();
        store
            .log_batch(
                run,
                MetricBatch {
                    metrics,
                    params,
                    tags: vec![("t".into(), "v".into())],
                },
            )
            .unwrap();
    };
    batch(r1, Some("x".repeat(1000)));
    batch(r2, None);
    let flushed = forward::flush(&store, Some(FLUSH)).unwrap();
    assert_eq!(flushed.parked, 1);
    let status = forward::status(&store).unwrap();
    assert_eq!(status.parked.len(), 1, "{}", status.to_json());
    let parked = &status.parked[0];
    assert!(
        parked.reason.contains("maximum length of 500"),
        "{}",
        parked.reason
    );
    assert_eq!(forward::describe(&parked.item.entry).1, "params notes");
    // Everything else of r1 arrived, and r2 whole.
    let dump = server.dump();
    let remote = remote_runs(&dump, r1)[0];
    assert_eq!(
        remote["params"],
        serde_json::json!({"lr": "0.1", "seed": "7"})
    );
    assert_eq!(remote["metrics"]["loss"].as_array().unwrap().len(), 300);
    assert_forwarded(&store, &dump, &[r2]);

    // Someone set a param of r2 on the server: the store's other value is refused.
    let remote_r2 = remote_runs(&dump, r2)[0]["run_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (code, _) = server.post(
        "runs/log-parameter",
        &serde_json::json!({"run_id": remote_r2, "key": "owner", "value": "server"}),
    );
    assert_eq!(code, 200);
    store.log_param(r2, "owner", "store").unwrap();
    store
        .log_metric(r2, "loss", point(300, 3.0, t0 + 300))
        .unwrap();
    store
        .log_metric(r1, "loss", point(300, 3.0, t0 + 300))
        .unwrap();
    assert_eq!(forward::flush(&store, Some(FLUSH)).unwrap().parked, 2);
    let status = forward::status(&store).unwrap();
    let reasons: Vec<&str> = status.parked.iter().map(|p| p.reason.as_str()).collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("Changing param values is not allowed")),
        "{reasons:?}"
    );
    let dump = server.dump();
    for run in [r1, r2] {
        assert_eq!(
            remote_runs(&dump, run)[0]["metrics"]["loss"]
                .as_array()
                .unwrap()
                .len(),
            301
        );
    }

    // The CLI reports them, queues them again, and flushes (refused again).
    let cli = |args: &[&str]| {
        Command::new(bin())
            .arg("--db")
            .arg(&db)
            .args(args)
            .output()
            .unwrap()
    };
    let out = cli(&["forward", "status", "--format", "json"]);
    assert!(out.status.success());
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["parked"].as_array().unwrap().len(), 2, "{json}");
    assert_eq!(json["pending"]["entries"], 0);
    assert_eq!(json["recording"], true);
    let out = cli(&["forward", "status", "--format", "table"]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("maximum length of 500"), "{table}");
    assert!(table.contains("parked #"), "{table}");
    let out = cli(&["forward", "retry-parked"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "2 parked entries queued again"
    );
    let out = cli(&["forward", "flush", "--timeout", "300"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("(2 parked"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn a_flush_times_out_with_a_clear_error_while_the_server_is_down() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let uri = format!("http://127.0.0.1:{port}");
    let cli = |args: &[&str]| {
        Command::new(bin())
            .arg("--db")
            .arg(&db)
            .args(args)
            .env_remove(forward::ENV_URI)
            .output()
            .unwrap()
    };
    let out = cli(&["forward", "configure", "--uri", &uri]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cli(&["experiments", "create", "down"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let started = Instant::now();
    let out = cli(&["forward", "flush", "--timeout", "1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(started.elapsed() < Duration::from_secs(30));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: forwarding: timed out after 1.0 s: 1 outbox entries"),
        "{err}"
    );
    assert!(err.contains("last error"), "{err}");
    let out = cli(&["forward", "status", "--format", "json"]);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["pending"]["entries"], 1, "{json}");
    assert_eq!(json["configured"]["mlflow_uri"], uri.as_str());
    assert!(
        json["last_error"]["message"]
            .as_str()
            .unwrap()
            .contains("experiments/get-by-name"),
        "{json}"
    );
    // Turned off, nothing more is recorded (what is recorded stays).
    assert!(cli(&["forward", "disable"]).status.success());
    assert!(cli(&["experiments", "create", "after"]).status.success());
    let json: Value =
        serde_json::from_slice(&cli(&["forward", "status", "--format", "json"]).stdout).unwrap();
    assert_eq!(json["pending"]["entries"], 1, "{json}");
    assert_eq!(json["recording"], false);
    // A store that was never forwarded drains at once; a missing one is bad input.
    let fresh = dir.path().join("fresh");
    let out = Command::new(bin())
        .arg("--db")
        .arg(&fresh)
        .args(["forward", "flush"])
        .env_remove(forward::ENV_URI)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(bin())
        .arg("--db")
        .arg(dir.path().join("missing"))
        .args(["forward", "status"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
