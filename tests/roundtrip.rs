//! Every field of a run record survives a write and a read, across reopening
//! the store, and MLflow's rules (latest value, param immutability, append,
//! limits) hold.

use runstore::engine::{Error as EngineError, NewRun, RunUpdate};
use runstore::{
    DatasetInput, LifecycleStage, MetricPoint, RunId, RunRecord, RunStatus, Store, ViewType,
};

fn p(step: i64, value: f64, timestamp: i64) -> MetricPoint {
    MetricPoint {
        step,
        value,
        timestamp,
    }
}

fn full_record() -> RunRecord {
    RunRecord {
        experiment: Some("vision".into()),
        run_id: Some("0f3a00000000000000000000000000ff".parse().unwrap()),
        run_name: Some("ラン 0 / \"quoted\"".into()),
        status: Some(RunStatus::Killed),
        start_time: Some(1_700_000_005_000),
        end_time: Some(1_700_000_013_272),
        user: Some("Carol".into()),
        lifecycle_stage: Some(LifecycleStage::Deleted),
        params: vec![
            ("lr".into(), "-1".into()),
            ("opt.name".into(), "adam".into()),
            ("batch size".into(), "16".into()),
            ("名前".into(), "it's".into()),
            ("empty".into(), String::new()),
        ],
        tags: vec![
            ("team".into(), "a%b_c\\d".into()),
            (
                "mlflow.parentRunId".into(),
                "00000000000000000000000000000001".into(),
            ),
        ],
        metrics: vec![
            (
                "acc".into(),
                vec![
                    p(0, 0.591, 1_700_000_000_000),
                    p(1, 0.102, 1_700_000_000_010),
                ],
            ),
            (
                "special".into(),
                vec![p(0, f64::INFINITY, 1), p(1, -0.0, 2), p(2, f64::NAN, 3)],
            ),
            (
                "tiny".into(),
                vec![p(-5, 5e-324, 0), p(i64::MAX, -f64::MAX, i64::MAX)],
            ),
        ],
        inputs: vec![
            DatasetInput {
                name: "train-ds".into(),
                digest: "abc123".into(),
                source_type: "local".into(),
                source: "data/train.csv".into(),
                schema: Some("{\"a\": \"int\"}".into()),
                profile: Some("{\"rows\": 10}".into()),
                context: Some("training".into()),
            },
            DatasetInput {
                name: "eval_ds".into(),
                digest: "def456".into(),
                context: None,
                ..Default::default()
            },
        ],
    }
}

#[test]
fn every_field_round_trips_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let rec = full_record();
    let id = rec.run_id.unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        let mut b = store.write().unwrap();
        assert_eq!(b.upsert_run(rec.clone()).unwrap(), id);
        b.commit().unwrap();
    }
    let store = Store::open_read_only(dir.path()).unwrap();
    let run = store.get_run(id).unwrap();
    assert_eq!(run.run_id, id);
    assert_eq!(run.experiment_name, "vision");
    assert_eq!(run.run_name, "ラン 0 / \"quoted\"");
    assert_eq!(run.status, RunStatus::Killed);
    assert_eq!(run.start_time, 1_700_000_005_000);
    assert_eq!(run.end_time, Some(1_700_000_013_272));
    assert_eq!(run.user, "Carol");
    assert_eq!(run.lifecycle_stage, LifecycleStage::Deleted);
    for (k, v) in &rec.params {
        assert_eq!(run.params[k], *v, "param {k}");
    }
    assert_eq!(run.params.len(), rec.params.len());
    assert_eq!(run.tags["team"], "a%b_c\\d");
    assert_eq!(
        run.tags["mlflow.parentRunId"],
        "00000000000000000000000000000001"
    );
    assert_eq!(run.tags["mlflow.runName"], run.run_name);
    assert_eq!(run.tags["mlflow.user"], "Carol");
    assert_eq!(run.inputs, rec.inputs);
    assert!(run.artifact_uri.ends_with(&format!("/{id}/artifacts")));
    for (key, pts) in &rec.metrics {
        let got = store.metric_history(id, key).unwrap();
        assert_eq!(got.len(), pts.len(), "{key}");
        let mut want = pts.clone();
        want.sort_by(runstore::engine::metric::point_order);
        for (g, w) in got.iter().zip(&want) {
            assert_eq!((g.step, g.timestamp), (w.step, w.timestamp));
            assert!(
                g.value.to_bits() == w.value.to_bits() || (g.value.is_nan() && w.value.is_nan()),
                "{key}: {g:?} vs {w:?}"
            );
        }
    }
    assert_eq!(run.metrics["special"].step, 2);
    assert!(run.metrics["special"].value.is_nan());
    assert_eq!(run.metrics["tiny"].value, -f64::MAX);
    let exp = store.experiment_by_name("vision").unwrap().unwrap();
    assert_eq!(exp.id, run.experiment_id);
    assert!(store.experiment_by_name("nope").unwrap().is_none());
    assert!(ViewType::All.admits(run.lifecycle_stage));
}

#[test]
fn latest_value_follows_mlflow() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut b = store.write().unwrap();
    let exp = b.get_or_create_experiment("e").unwrap();
    let id = b.create_run(exp, NewRun::default()).unwrap();
    let log = |b: &mut runstore::engine::WriteBatch<'_>, key: &str, pts: &[MetricPoint]| {
        b.log_metric_points(id, key, pts).unwrap()
    };
    // Out of order steps: the highest step wins although logged first.
    log(
        &mut b,
        "loss",
        &[p(9, -1.91, 1), p(2, 0.6, 50), p(5, 0.5, 99)],
    );
    // Equal steps: the later timestamp wins.
    log(&mut b, "x", &[p(3, 8.8, 200), p(3, 6.9, 100)]);
    // Equal step and time: the larger value wins, NaN counting as 0.
    log(&mut b, "nan_beats_neg", &[p(1, -1.0, 5), p(1, f64::NAN, 5)]);
    log(&mut b, "half_beats_nan", &[p(1, f64::NAN, 5), p(1, 0.5, 5)]);
    log(
        &mut b,
        "tie_keeps_first",
        &[p(1, 0.0, 5), p(1, f64::NAN, 5)],
    );
    log(
        &mut b,
        "inf",
        &[p(1, f64::MAX, 5), p(1, f64::INFINITY, 5), p(0, 7.0, 9)],
    );
    b.commit().unwrap();
    // A later batch appends an older step: the latest does not move.
    let mut b = store.write().unwrap();
    b.log_metric_points(id, "loss", &[p(3, 100.0, 1000)])
        .unwrap();
    b.commit().unwrap();
    let m = store.get_run(id).unwrap().metrics;
    assert_eq!(m["loss"], p(9, -1.91, 1));
    assert_eq!(m["x"].value, 8.8);
    assert!(m["nan_beats_neg"].value.is_nan());
    assert_eq!(m["half_beats_nan"].value, 0.5);
    assert_eq!(m["tie_keeps_first"].value, 0.0);
    assert_eq!(m["inf"].value, f64::MAX);
    assert_eq!(store.metric_history(id, "loss").unwrap().len(), 4);
}

#[test]
fn params_are_immutable() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let id: RunId = "000000000000000000000000000000aa".parse().unwrap();
    let rec = |params: Vec<(&str, &str)>| RunRecord {
        experiment: Some("e".into()),
        run_id: Some(id),
        params: params
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect(),
        ..Default::default()
    };
    let mut b = store.write().unwrap();
    b.upsert_run(rec(vec![("lr", "0.1")])).unwrap();
    // The same value again is a no-op; a new key is added.
    b.upsert_run(rec(vec![("lr", "0.1"), ("depth", "3")]))
        .unwrap();
    // Another value is refused, and nothing of that record is applied.
    let err = b
        .upsert_run(rec(vec![("depth2", "9"), ("lr", "0.2")]))
        .unwrap_err();
    assert!(matches!(err, EngineError::ParamConflict { .. }), "{err}");
    assert!(err.to_string().contains("0.1") && err.to_string().contains("0.2"));
    b.commit().unwrap();
    let run = store.get_run(id).unwrap();
    assert_eq!(run.params.len(), 2);
    assert_eq!(run.params["lr"], "0.1");
    assert!(!run.params.contains_key("depth2"));
    // Also across batches and via log_batch.
    let mut b = store.write().unwrap();
    let err = b
        .log_batch(id, &[], &[("lr".into(), "0.3".into())], &[])
        .unwrap_err();
    assert!(err.is_user_error());
    b.log_batch(id, &[], &[("lr".into(), "0.1".into())], &[])
        .unwrap();
    b.commit().unwrap();
}

#[test]
fn append_adds_points_params_tags_and_updates_attributes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let id: RunId = "000000000000000000000000000000bb".parse().unwrap();
    let mut b = store.write().unwrap();
    b.upsert_run(RunRecord {
        experiment: Some("e".into()),
        run_id: Some(id),
        status: Some(RunStatus::Running),
        start_time: Some(10),
        params: vec![("a".into(), "1".into())],
        tags: vec![("t".into(), "old".into())],
        metrics: vec![("m".into(), vec![p(0, 1.0, 100)])],
        ..Default::default()
    })
    .unwrap();
    b.commit().unwrap();
    let mut b = store.write().unwrap();
    b.upsert_run(RunRecord {
        experiment: Some("e".into()),
        run_id: Some(id),
        status: Some(RunStatus::Finished),
        end_time: Some(99),
        params: vec![("b".into(), "2".into())],
        tags: vec![("t".into(), "new".into())],
        // One point identical to a stored one: stored once.
        metrics: vec![("m".into(), vec![p(0, 1.0, 100), p(1, 2.0, 200)])],
        ..Default::default()
    })
    .unwrap();
    // Appending under another experiment is an error.
    let err = b
        .upsert_run(RunRecord {
            experiment: Some("other".into()),
            run_id: Some(id),
            ..Default::default()
        })
        .unwrap_err();
    assert!(err.to_string().contains("belongs to experiment"), "{err}");
    b.update_run(
        id,
        RunUpdate {
            run_name: Some("renamed".into()),
            ..Default::default()
        },
    )
    .unwrap();
    b.commit().unwrap();
    let run = store.get_run(id).unwrap();
    assert_eq!(run.status, RunStatus::Finished);
    assert_eq!(run.end_time, Some(99));
    assert_eq!(run.start_time, 10);
    assert_eq!(run.run_name, "renamed");
    assert_eq!(run.params.len(), 2);
    assert_eq!(run.tags["t"], "new");
    assert_eq!(
        store.metric_history(id, "m").unwrap(),
        vec![p(0, 1.0, 100), p(1, 2.0, 200)]
    );
    assert_eq!(run.metrics["m"], p(1, 2.0, 200));
    let mut b = store.write().unwrap();
    b.delete_run(id).unwrap();
    b.commit().unwrap();
    assert_eq!(
        store.get_run(id).unwrap().lifecycle_stage,
        LifecycleStage::Deleted
    );
    let mut b = store.write().unwrap();
    b.restore_run(id).unwrap();
    assert!(matches!(
        b.delete_run("00000000000000000000000000000abc".parse().unwrap()),
        Err(EngineError::RunNotFound(_))
    ));
    b.commit().unwrap();
    assert_eq!(
        store.get_run(id).unwrap().lifecycle_stage,
        LifecycleStage::Active
    );
}

#[test]
fn limits_and_bad_input_are_refused_without_side_effects() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let base = RunRecord {
        experiment: Some("e".into()),
        run_id: Some("000000000000000000000000000000cc".parse().unwrap()),
        ..Default::default()
    };
    let bad = [
        RunRecord {
            params: vec![("k".into(), "v".repeat(6001))],
            ..base.clone()
        },
        RunRecord {
            tags: vec![("k".into(), "v".repeat(8001))],
            ..base.clone()
        },
        RunRecord {
            params: vec![("a//b".into(), "v".into())],
            ..base.clone()
        },
        RunRecord {
            params: vec![("k".repeat(251), "v".into())],
            ..base.clone()
        },
        RunRecord {
            metrics: vec![("m".into(), vec![p(0, 1.0, -1)])],
            ..base.clone()
        },
        RunRecord {
            experiment: Some(String::new()),
            ..base.clone()
        },
        RunRecord {
            run_name: Some("a".into()),
            tags: vec![("mlflow.runName".into(), "b".into())],
            ..base.clone()
        },
    ];
    let mut b = store.write().unwrap();
    for rec in bad {
        let err = b.upsert_run(rec).unwrap_err();
        assert!(err.is_user_error(), "{err}");
    }
    let too_many: Vec<(String, MetricPoint)> =
        (0..1001).map(|i| ("m".to_string(), p(i, 0.0, 0))).collect();
    b.upsert_run(base.clone()).unwrap();
    assert!(
        b.log_batch(base.run_id.unwrap(), &too_many, &[], &[])
            .is_err()
    );
    b.commit().unwrap();
    let run = store.get_run(base.run_id.unwrap()).unwrap();
    assert!(run.params.is_empty() && run.metrics.is_empty());
    assert_eq!(store.experiments().unwrap().len(), 1);
}

#[test]
fn dropped_batch_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    {
        let mut b = store.write().unwrap();
        b.upsert_run(crate::util::record(1, 2, 5)).unwrap();
        // dropped without commit
    }
    assert!(!store.run_exists(crate::util::run_id(1)).unwrap());
    assert!(store.experiments().unwrap().is_empty());
    // The dictionaries were rolled back too: a fresh write works and reads back.
    let mut b = store.write().unwrap();
    b.upsert_run(crate::util::record(2, 2, 5)).unwrap();
    b.commit().unwrap();
    crate::util::assert_whole(&store, 2, 2, 5);
}

#[test]
fn read_only_store_refuses_writes_and_missing_store_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        Store::open_read_only(dir.path().join("none")),
        Err(EngineError::StoreNotFound(_))
    ));
    drop(Store::open(dir.path()).unwrap());
    let ro = Store::open_read_only(dir.path()).unwrap();
    assert!(ro.write().is_err());
}

#[test]
fn batches_after_an_abandoned_one_write_only_their_own_points() {
    use crate::util::{assert_whole, record, run_id};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("db")).unwrap();
    // Each batch is large enough to go straight to a segment; a writer
    // reuses one batch's buffers in the next.
    let batch_of = |runs: std::ops::Range<u64>| {
        let mut w = store.write().unwrap();
        for i in runs {
            w.upsert_run(record(i, 10, 10)).unwrap();
        }
        w
    };
    let summary = batch_of(0..700).commit().unwrap();
    assert_eq!(summary.points_written, 70_000);
    assert!(summary.wrote_segment);
    drop(batch_of(700..1400)); // abandoned, never committed
    let summary = batch_of(1400..2100).commit().unwrap();
    assert_eq!(summary.points_written, 70_000);
    let summary = batch_of(2100..2150).commit().unwrap();
    assert_eq!(summary.points_written, 5_000);
    for i in (0..700).chain(1400..2150).step_by(7) {
        assert_whole(&store, i, 10, 10);
    }
    for i in 700..1400 {
        assert!(!store.run_exists(run_id(i)).unwrap(), "run {i}");
    }
}

#[test]
fn upserts_find_stored_runs_in_a_bulk_load_of_many_batches() {
    use crate::util::{record, run_id};
    // Enough runs that the writer switches to its id filter mid-batch and
    // later outgrows it; every upsert of a stored id must still append to
    // that run, never make a second one.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("db")).unwrap();
    let upsert_all = |runs: &mut dyn Iterator<Item = u64>, steps: std::ops::Range<i64>| {
        let mut w = store.write().unwrap();
        for i in runs {
            let mut r = record(i, 1, 0);
            r.metrics[0].1 = steps
                .clone()
                .map(|s| MetricPoint {
                    step: s,
                    value: s as f64,
                    timestamp: s,
                })
                .collect();
            w.upsert_run(r).unwrap();
        }
        w
    };
    upsert_all(&mut (0..5000), 0..2).commit().unwrap();
    upsert_all(&mut (0..5000).step_by(3), 2..4)
        .commit()
        .unwrap();
    drop(upsert_all(&mut (5000..6000), 0..2)); // never committed
    upsert_all(&mut (6000..30_000), 0..2).commit().unwrap();
    upsert_all(&mut (5500..5501).chain(29_990..30_000), 2..3)
        .commit()
        .unwrap();
    let steps = |i: u64| -> Vec<i64> {
        store
            .metric_history(run_id(i), "m0")
            .unwrap()
            .iter()
            .map(|p| p.step)
            .collect()
    };
    assert_eq!(steps(0), vec![0, 1, 2, 3]);
    assert_eq!(steps(1), vec![0, 1]);
    assert_eq!(steps(4998), vec![0, 1, 2, 3]);
    assert_eq!(steps(5500), vec![2]);
    assert!(!store.run_exists(run_id(5501)).unwrap());
    assert_eq!(steps(29_995), vec![0, 1, 2]);
    let run = store.get_run(run_id(29_995)).unwrap();
    assert_eq!(run.metrics.get("m0").map(|m| m.step), Some(2));
}
