//! The forwarding outbox: what commits record (every write path, nothing
//! when off or when a write fails) and how a sender's reports change it.

use super::{NewRun, RunRecord, RunUpdate, Store, StoreOptions};
use crate::metric::MetricPoint;
use crate::outbox::{
    ExperimentOp, ForwardProgress, OutboxEntry, OutboxItem, RemoteRun, RunCreated, RunDelta,
};
use crate::types::{DatasetInput, LifecycleStage, RunId, RunStatus};

fn store() -> (tempfile::TempDir, std::sync::Arc<Store>) {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        background_owner: false,
        ..StoreOptions::default()
    };
    let store = Store::open_with(dir.path(), options).unwrap();
    (dir, store)
}

fn point(step: i64, value: f64) -> MetricPoint {
    MetricPoint {
        step,
        value,
        timestamp: 1_700_000_000_000 + step,
    }
}

fn entries(store: &Store) -> Vec<OutboxEntry> {
    store
        .outbox_head(usize::MAX, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|i| i.entry)
        .collect()
}

fn deltas(store: &Store) -> Vec<RunDelta> {
    entries(store)
        .into_iter()
        .filter_map(|e| match e {
            OutboxEntry::Run(d) => Some(d),
            OutboxEntry::Experiment(_) => None,
        })
        .collect()
}

fn clear(store: &Store) {
    let done = store
        .outbox_head(usize::MAX, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|i| i.seq)
        .collect();
    store
        .forward_progress(ForwardProgress {
            done,
            ..ForwardProgress::default()
        })
        .unwrap();
    assert!(store.outbox_is_empty().unwrap());
}

#[test]
fn nothing_is_recorded_until_forwarding_is_on() {
    let (_dir, store) = store();
    let exp = store.create_experiment("e", None, &[]).unwrap();
    let run = store.create_run(exp, NewRun::default()).unwrap().run_id;
    store.log_metric(run, "loss", point(0, 1.0)).unwrap();
    assert!(store.outbox_is_empty().unwrap());
    assert_eq!(store.outbox_summary().unwrap().entries, 0);
    assert!(!store.forward_settings().unwrap().enabled);
}

#[test]
fn each_write_records_what_it_changed() {
    let (_dir, store) = store();
    store.set_forwarding(true, "http://x").unwrap();
    let exp = store
        .create_experiment("e", None, &[("team".into(), "v".into())])
        .unwrap();
    let run = store
        .create_run(
            exp,
            NewRun {
                run_name: Some("r".into()),
                start_time: Some(5),
                user: Some("alice".into()),
                tags: vec![("t".into(), "1".into())],
                ..NewRun::default()
            },
        )
        .unwrap()
        .run_id;
    let got = entries(&store);
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0],
        OutboxEntry::Experiment(ExperimentOp::Created {
            id: exp,
            name: "e".into(),
            tags: vec![("team".into(), "v".into())],
        })
    );
    let mut want = RunDelta::new(run, exp);
    want.created = Some(RunCreated {
        start_time: 5,
        run_name: "r".into(),
        user: "alice".into(),
    });
    want.tags = vec![("t".into(), "1".into())];
    assert_eq!(got[1], OutboxEntry::Run(want));
    clear(&store);

    store.log_param(run, "lr", "0.1").unwrap();
    store.log_param(run, "lr", "0.1").unwrap(); // the same value: no change, nothing recorded
    store.set_tag(run, "t", "2").unwrap();
    store.set_tag(run, "t", "2").unwrap();
    store.delete_tag(run, "t").unwrap();
    store.log_metric(run, "loss", point(0, f64::NAN)).unwrap();
    store.log_metric(run, "loss", point(0, f64::NAN)).unwrap(); // identical: stored once
    store
        .update_run(
            run,
            RunUpdate {
                status: Some(RunStatus::Finished),
                end_time: Some(9),
                run_name: Some("r2".into()),
            },
        )
        .unwrap();
    let input = DatasetInput {
        name: "d".into(),
        digest: "x".into(),
        ..Default::default()
    };
    store.log_inputs(run, std::slice::from_ref(&input)).unwrap();
    store.log_inputs(run, std::slice::from_ref(&input)).unwrap();
    store.delete_run(run).unwrap();
    store.restore_run(run).unwrap();
    let got = deltas(&store);
    let expect = |f: &dyn Fn(&mut RunDelta)| {
        let mut d = RunDelta::new(run, exp);
        f(&mut d);
        d
    };
    let want = [
        expect(&|d| d.params = vec![("lr".into(), "0.1".into())]),
        expect(&|d| d.tags = vec![("t".into(), "2".into())]),
        expect(&|d| d.deleted_tags = vec!["t".into()]),
        expect(&|d| d.metrics = vec![("loss".into(), vec![point(0, f64::NAN)])]),
        expect(&|d| {
            d.status = Some(RunStatus::Finished);
            d.end_time = Some(9);
            d.run_name = Some("r2".into());
        }),
        expect(&|d| d.inputs = vec![input.clone()]),
        expect(&|d| d.lifecycle = Some(LifecycleStage::Deleted)),
        expect(&|d| d.lifecycle = Some(LifecycleStage::Active)),
    ];
    assert_eq!(got.len(), want.len(), "{got:#?}");
    for (g, w) in got.iter().zip(&want) {
        if g.metrics.is_empty() {
            assert_eq!(g, w);
        } else {
            assert!(g.metrics[0].1[0].value.is_nan());
        }
    }
}

#[test]
fn bulk_and_buffered_writes_are_recorded_too_and_failed_ones_are_not() {
    let (_dir, store) = store();
    store.set_forwarding(true, "t").unwrap();
    let id = RunId::from_u128(7);
    let record = RunRecord {
        experiment: Some("bulk".into()),
        run_id: Some(id),
        status: Some(RunStatus::Failed),
        lifecycle_stage: Some(LifecycleStage::Deleted),
        params: vec![("p".into(), "1".into())],
        metrics: vec![("m".into(), (0..100).map(|s| point(s, 0.5)).collect())],
        ..RunRecord::default()
    };
    let mut batch = store.write().unwrap();
    batch.upsert_run(record.clone()).unwrap();
    batch.commit().unwrap();
    let got = entries(&store);
    assert!(
        matches!(&got[0], OutboxEntry::Experiment(ExperimentOp::Created { name, .. }) if name == "bulk")
    );
    let OutboxEntry::Run(d) = &got[1] else {
        panic!("{got:?}")
    };
    assert!(d.created.is_some());
    assert_eq!(d.status, Some(RunStatus::Failed));
    assert_eq!(d.lifecycle, Some(LifecycleStage::Deleted));
    assert_eq!(d.points(), 100);
    clear(&store);
    // The same record again stores nothing new, so records nothing.
    let mut batch = store.write().unwrap();
    batch.upsert_run(record).unwrap();
    batch.commit().unwrap();
    assert!(store.outbox_is_empty().unwrap());
    // A write that breaks a rule records nothing.
    let exp = store.get_or_create_experiment("live").unwrap();
    let run = store.create_run(exp, NewRun::default()).unwrap().run_id;
    clear(&store);
    store.log_param(run, "p", "1").unwrap();
    assert!(store.log_param(run, "p", "2").is_err());
    assert!(store.log_metric(run, "bad key!", point(0, 1.0)).is_err());
    assert_eq!(deltas(&store).len(), 1);
    clear(&store);
    // Buffered writes are recorded by the commit that applies them.
    for s in 0..10 {
        store.log_metric_buffered(run, "b", point(s, 1.0)).unwrap();
    }
    store.flush().unwrap();
    assert_eq!(
        deltas(&store).iter().map(RunDelta::points).sum::<usize>(),
        10
    );
}

#[test]
fn experiment_operations_are_recorded_in_order() {
    let (_dir, store) = store();
    store.set_forwarding(true, "t").unwrap();
    let exp = store.create_experiment("a", None, &[]).unwrap();
    let run = store.create_run(exp, NewRun::default()).unwrap().run_id;
    clear(&store);
    store.rename_experiment(exp, "b").unwrap();
    store.set_experiment_tag(exp, "k", "v").unwrap();
    store.delete_experiment_tag(exp, "k").unwrap();
    store.delete_experiment(exp).unwrap();
    store.restore_experiment(exp).unwrap();
    let got = entries(&store);
    let deleted = RunDelta {
        lifecycle: Some(LifecycleStage::Deleted),
        ..RunDelta::new(run, exp)
    };
    let restored = RunDelta {
        lifecycle: Some(LifecycleStage::Active),
        ..RunDelta::new(run, exp)
    };
    assert_eq!(
        got,
        vec![
            OutboxEntry::Experiment(ExperimentOp::Renamed {
                id: exp,
                name: "b".into()
            }),
            OutboxEntry::Experiment(ExperimentOp::TagSet {
                id: exp,
                key: "k".into(),
                value: "v".into()
            }),
            OutboxEntry::Experiment(ExperimentOp::TagDeleted {
                id: exp,
                key: "k".into()
            }),
            // An experiment's operation comes before its runs' changes of the same commit.
            OutboxEntry::Experiment(ExperimentOp::Deleted { id: exp }),
            OutboxEntry::Run(deleted),
            OutboxEntry::Experiment(ExperimentOp::Restored { id: exp }),
            OutboxEntry::Run(restored),
        ]
    );
}

#[test]
fn reports_remove_rewrite_and_park_entries() {
    let (dir, store) = store();
    store.set_forwarding(true, "server-1").unwrap();
    let exp = store.create_experiment("e", None, &[]).unwrap();
    let run = store.create_run(exp, NewRun::default()).unwrap().run_id;
    store
        .log_metric_points(
            run,
            "m",
            &(0..10).map(|s| point(s, 1.0)).collect::<Vec<_>>(),
        )
        .unwrap();
    store.log_param(run, "p", "v").unwrap();
    let items = store.outbox_head(usize::MAX, usize::MAX).unwrap();
    assert_eq!(items.len(), 4);
    // A window stops once it holds enough points.
    assert_eq!(store.outbox_head(usize::MAX, 1).unwrap().len(), 3);
    let seqs: Vec<u64> = items.iter().map(|i| i.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    let summary = store.outbox_summary().unwrap();
    assert_eq!((summary.entries, summary.experiment_ops), (4, 1));
    assert_eq!(summary.per_run, vec![(run, 3)]);
    // The first two delivered, half of the points, the param refused.
    let mut rest = items[2].clone();
    if let OutboxEntry::Run(d) = &mut rest.entry {
        d.metrics[0].1.drain(..5);
    }
    let parked = OutboxItem {
        seq: items[3].seq,
        recorded_ms: items[3].recorded_ms,
        entry: items[3].entry.clone(),
    };
    store
        .forward_progress(ForwardProgress {
            done: vec![seqs[0], seqs[1], seqs[3]],
            remainders: vec![rest.clone()],
            parked: vec![(parked.clone(), "too long".into())],
            intents: vec![run],
            runs: vec![(run, "remote-run".into())],
            experiments: vec![(exp, "7".into())],
            points: 5,
            error: None,
        })
        .unwrap();
    assert_eq!(
        store.outbox_head(usize::MAX, usize::MAX).unwrap(),
        vec![rest]
    );
    let parked_now = store.parked_entries().unwrap();
    assert_eq!(parked_now.len(), 1);
    assert_eq!(parked_now[0].item, parked);
    assert_eq!(parked_now[0].reason, "too long");
    assert_eq!(
        store.remote_run(run).unwrap(),
        RemoteRun::Known("remote-run".into())
    );
    assert_eq!(
        store.remote_experiment_id(exp).unwrap().as_deref(),
        Some("7")
    );
    let status = store.sender_status().unwrap();
    assert_eq!((status.delivered_entries, status.delivered_points), (3, 5));
    assert_eq!(status.parked_entries, 1);
    assert!(status.last_success_ms.is_some() && status.last_error.is_none());
    // An error is noted, and cleared by the next success.
    store
        .forward_progress(ForwardProgress {
            error: Some("connection refused".into()),
            ..ForwardProgress::default()
        })
        .unwrap();
    assert_eq!(
        store.sender_status().unwrap().last_error.unwrap().1,
        "connection refused"
    );
    // Parked entries go back under their own sequence numbers.
    assert_eq!(store.retry_parked().unwrap(), 1);
    assert!(store.parked_entries().unwrap().is_empty());
    let back = store.outbox_head(usize::MAX, usize::MAX).unwrap();
    assert_eq!(back.len(), 2);
    assert_eq!(back[1], parked);
    // Another target forgets the remote ids; the setting outlives the handle.
    store.set_forwarding(true, "server-2").unwrap();
    assert_eq!(store.remote_run(run).unwrap(), RemoteRun::Unknown);
    // An intent to create a run is kept until its id is learnt, never over it.
    again_intent(&store, run);
    drop(store);
    let again = Store::open_with(
        dir.path(),
        StoreOptions {
            background_owner: false,
            ..StoreOptions::default()
        },
    )
    .unwrap();
    let settings = again.forward_settings().unwrap();
    assert!(settings.enabled);
    assert_eq!(settings.target, "server-2");
    let before = again.outbox_summary().unwrap().entries;
    again.log_param(run, "q", "1").unwrap();
    assert_eq!(again.outbox_summary().unwrap().entries, before + 1);
    // Sequence numbers never go back, even once the outbox is empty.
    let last = again
        .outbox_head(usize::MAX, usize::MAX)
        .unwrap()
        .last()
        .unwrap()
        .seq;
    clear(&again);
    again.log_param(run, "r", "1").unwrap();
    assert!(again.outbox_head(1, 1).unwrap()[0].seq > last);
    again.set_forwarding(false, "server-2").unwrap();
    again.log_param(run, "s", "1").unwrap();
    assert_eq!(again.outbox_summary().unwrap().entries, 1);
}

#[test]
fn parts_of_one_entry_parked_at_different_times_are_merged() {
    let (_dir, store) = store();
    store.set_forwarding(true, "t").unwrap();
    let exp = store.create_experiment("e", None, &[]).unwrap();
    let run = store.create_run(exp, NewRun::default()).unwrap().run_id;
    clear(&store);
    store.log_param(run, "a", "1").unwrap();
    let item = store.outbox_head(1, 1).unwrap().remove(0);
    let part = |key: &str| OutboxItem {
        entry: OutboxEntry::Run(RunDelta {
            params: vec![(key.to_owned(), "1".into())],
            ..RunDelta::new(run, exp)
        }),
        ..item.clone()
    };
    for (key, why) in [("a", "first"), ("b", "second")] {
        store
            .forward_progress(ForwardProgress {
                parked: vec![(part(key), why.into())],
                ..ForwardProgress::default()
            })
            .unwrap();
    }
    let parked = store.parked_entries().unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].reason, "first; second");
    let OutboxEntry::Run(d) = &parked[0].item.entry else {
        panic!()
    };
    assert_eq!(d.params.len(), 2);
    // Queued again, it joins what is left of its entry.
    assert_eq!(store.retry_parked().unwrap(), 1);
    let back = store.outbox_head(usize::MAX, usize::MAX).unwrap();
    assert_eq!(back.len(), 1);
    let OutboxEntry::Run(d) = &back[0].entry else {
        panic!()
    };
    assert_eq!(d.params.len(), 3);
}

fn again_intent(store: &Store, run: RunId) {
    let intend = || {
        store
            .forward_progress(ForwardProgress {
                intents: vec![run],
                ..ForwardProgress::default()
            })
            .unwrap();
    };
    intend();
    assert_eq!(store.remote_run(run).unwrap(), RemoteRun::Intended);
    store
        .forward_progress(ForwardProgress {
            runs: vec![(run, "r".into())],
            ..ForwardProgress::default()
        })
        .unwrap();
    intend();
    assert_eq!(store.remote_run(run).unwrap(), RemoteRun::Known("r".into()));
}
