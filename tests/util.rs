//! Helpers shared by the integration tests.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use runstore::{MetricPoint, RunId, RunRecord, RunStatus, Store};

/// The `runstore` binary built for these tests.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_runstore")
}

/// Runs `runstore --db DB args…`.
pub fn runstore(db: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .expect("runstore runs")
}

/// A deterministic run id for run `i`.
pub fn run_id(i: u64) -> RunId {
    RunId::from_u128(0xabcd_0000_0000_0000_0000_0000_0000_0000 | u128::from(i))
}

/// Run `i` of a synthetic workload: `metrics` keys with `steps` points each,
/// a few params and tags, all derived from `i`.
pub fn record(i: u64, metrics: usize, steps: i64) -> RunRecord {
    RunRecord {
        experiment: Some(format!("exp-{}", i % 3)),
        run_id: Some(run_id(i)),
        run_name: Some(format!("run-{i}")),
        status: Some(RunStatus::Finished),
        start_time: Some(1_700_000_000_000 + i as i64 * 1000),
        end_time: Some(1_700_000_060_000 + i as i64 * 1000),
        user: Some(format!("user-{}", i % 4)),
        params: vec![
            ("lr".into(), format!("0.{}", i % 10)),
            ("seed".into(), i.to_string()),
        ],
        tags: vec![("team".into(), format!("team-{}", i % 5))],
        metrics: (0..metrics)
            .map(|m| {
                let pts = (0..steps)
                    .map(|s| MetricPoint {
                        step: s,
                        value: ((i as f64) * 0.37 + (m as f64) * 1.3 + s as f64 * 0.01).sin(),
                        timestamp: 1_700_000_000_000 + i as i64 * 1000 + s * 10,
                    })
                    .collect();
                (format!("m{m}"), pts)
            })
            .collect(),
        ..Default::default()
    }
}

/// `record` as a JSON line in the contract's format.
pub fn record_json(i: u64, metrics: usize, steps: i64) -> String {
    let r = record(i, metrics, steps);
    let metrics: BTreeMap<String, Vec<serde_json::Value>> = r
        .metrics
        .iter()
        .map(|(k, pts)| {
            (
                k.clone(),
                pts.iter()
                    .map(|p| serde_json::json!([p.step, p.value, p.timestamp]))
                    .collect(),
            )
        })
        .collect();
    serde_json::json!({
        "experiment": r.experiment,
        "run_id": r.run_id.map(|x| x.to_string()),
        "run_name": r.run_name,
        "status": "FINISHED",
        "start_time": r.start_time,
        "end_time": r.end_time,
        "user": r.user,
        "params": r.params.iter().cloned().collect::<BTreeMap<_, _>>(),
        "tags": r.tags.iter().cloned().collect::<BTreeMap<_, _>>(),
        "metrics": metrics,
    })
    .to_string()
}

/// Checks that run `i` is stored exactly as `record(i, metrics, steps)` made it.
pub fn assert_whole(store: &Store, i: u64, metrics: usize, steps: i64) {
    let want = record(i, metrics, steps);
    let run = store.get_run(run_id(i)).expect("run present");
    assert_eq!(run.run_name, format!("run-{i}"));
    for (k, v) in &want.params {
        assert_eq!(run.params.get(k), Some(v), "run {i} param {k}");
    }
    assert_eq!(run.params.len(), want.params.len(), "run {i} params");
    for (key, pts) in &want.metrics {
        let got = store.metric_history(run_id(i), key).unwrap();
        assert_eq!(&got, pts, "run {i} metric {key}");
    }
    assert_eq!(run.metrics.len(), want.metrics.len(), "run {i} metrics");
}
