//! The search index: predicate semantics, default order, snapshots and catch-up.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use runstore_engine::index::{CmpOp, Field, Literal, Pred, SearchIndex};
use runstore_engine::{LifecycleStage, MetricPoint, RunId, RunRecord, Store};

fn id(i: u128) -> RunId {
    RunId::from_u128(i)
}

fn rec(i: u128, start: i64) -> RunRecord {
    RunRecord {
        experiment: Some("e".into()),
        run_id: Some(id(i)),
        start_time: Some(start),
        ..Default::default()
    }
}

fn metric(key: &str, v: f64) -> (String, Vec<MetricPoint>) {
    (
        key.into(),
        vec![MetricPoint {
            step: 0,
            value: v,
            timestamp: 0,
        }],
    )
}

/// Store of 6 runs: acc = 0.9, 0.5, NaN, +Inf, -0.0, (missing); lr param on some.
fn sample(dir: &std::path::Path) -> std::sync::Arc<Store> {
    let store = Store::open(dir).unwrap();
    let mut b = store.write().unwrap();
    let accs = [
        Some(0.9),
        Some(0.5),
        Some(f64::NAN),
        Some(f64::INFINITY),
        Some(-0.0),
        None,
    ];
    for (i, acc) in accs.iter().enumerate() {
        let mut r = rec(i as u128 + 1, 1000 - (i as i64 % 3));
        if let Some(a) = acc {
            r.metrics.push(metric("acc", *a));
        }
        if i % 2 == 0 {
            r.params.push(("lr".into(), format!("0.{i}")));
        }
        if i == 5 {
            r.lifecycle_stage = Some(LifecycleStage::Deleted);
            r.end_time = Some(5);
        }
        b.upsert_run(r).unwrap();
    }
    b.commit().unwrap();
    store
}

fn matching(idx: &SearchIndex, p: &Pred) -> Vec<u128> {
    let ids = idx.run_ids().unwrap();
    let truth = idx.eval(p).unwrap();
    let mut out: Vec<u128> = truth.t.ones().map(|r| ids[r]).collect();
    out.sort_unstable();
    out
}

fn acc(op: CmpOp, v: f64) -> Pred {
    Pred::Cmp(Field::Metric("acc".into()), op, Literal::Num(v))
}

/// Numbers compare like Arrow (IEEE total order: NaN above everything); the
/// stored form makes -0.0 equal 0.0 and +Infinity equal f64::MAX.
#[test]
fn metric_comparisons_use_total_order_on_stored_values() {
    let dir = tempfile::tempdir().unwrap();
    let store = sample(dir.path());
    let view = store.read_view().unwrap();
    let idx = view.index().clone();
    assert_eq!(matching(&idx, &acc(CmpOp::Gt, 0.5)), vec![1, 3, 4]); // NaN is the greatest
    assert_eq!(matching(&idx, &acc(CmpOp::Ge, 0.5)), vec![1, 2, 3, 4]);
    assert_eq!(matching(&idx, &acc(CmpOp::Ne, 0.5)), vec![1, 3, 4, 5]); // missing never matches
    assert_eq!(matching(&idx, &acc(CmpOp::Eq, 0.0)), vec![5]); // -0.0 = 0
    assert_eq!(matching(&idx, &acc(CmpOp::Eq, f64::MAX)), vec![4]); // +Inf is MAX
    assert_eq!(
        matching(&idx, &acc(CmpOp::Lt, f64::INFINITY)),
        vec![1, 2, 4, 5]
    );
    assert_eq!(
        matching(
            &idx,
            &Pred::Cmp(Field::Metric("nope".into()), CmpOp::Ne, Literal::Num(1.0))
        ),
        Vec::<u128>::new()
    );
}

#[test]
fn three_valued_logic_for_not_and_or() {
    let dir = tempfile::tempdir().unwrap();
    let store = sample(dir.path());
    let view = store.read_view().unwrap();
    let idx = view.index().clone();
    // NOT(acc > 0.5): runs with acc ≤ 0.5; the run lacking acc stays out.
    let not = Pred::Not(Box::new(acc(CmpOp::Gt, 0.5)));
    assert_eq!(matching(&idx, &not), vec![2, 5]);
    // MLflow's `acc > 0.5` (NaN excluded), negated: NaN comes back.
    let mlflow_gt = Pred::And(vec![
        acc(CmpOp::Gt, 0.5),
        Pred::IsNan {
            field: Field::Metric("acc".into()),
            negated: true,
        },
    ]);
    assert_eq!(matching(&idx, &mlflow_gt), vec![1, 4]);
    assert_eq!(
        matching(&idx, &Pred::Not(Box::new(mlflow_gt))),
        vec![2, 3, 5]
    );
    let lr_null = Pred::IsNull {
        field: Field::Param("lr".into()),
        negated: false,
    };
    assert_eq!(matching(&idx, &lr_null), vec![2, 4, 6]);
    let either = Pred::Or(vec![acc(CmpOp::Gt, 0.8), lr_null.clone()]);
    assert_eq!(matching(&idx, &either), vec![1, 2, 3, 4, 6]);
    let both = Pred::And(vec![acc(CmpOp::Ge, 0.0), lr_null]);
    assert_eq!(matching(&idx, &both), vec![2, 4]);
    let like = Pred::Like {
        field: Field::Param("lr".into()),
        pattern: "0._".into(),
        case_insensitive: false,
        negated: false,
    };
    assert_eq!(matching(&idx, &like), vec![1, 3, 5]);
    let end = Pred::Cmp(Field::EndTime, CmpOp::Ne, Literal::Num(0.0));
    assert_eq!(matching(&idx, &end), vec![6], "NULL end times never match");
    let status = Pred::In {
        field: Field::RunId,
        list: vec![Literal::Str(id(3).to_string()), Literal::Str("zz".into())],
        negated: false,
    };
    assert_eq!(matching(&idx, &status), vec![3]);
}

#[test]
fn default_order_is_start_time_desc_then_run_id() {
    let dir = tempfile::tempdir().unwrap();
    let store = sample(dir.path());
    let view = store.read_view().unwrap();
    let idx = view.index().clone();
    let ids = idx.run_ids().unwrap();
    let order: Vec<u128> = idx
        .default_order()
        .unwrap()
        .iter()
        .map(|&r| ids[r as usize])
        .collect();
    // start times: 1000, 999, 998, 1000, 999, 998
    assert_eq!(order, vec![1, 4, 2, 5, 3, 6]);
}

#[test]
fn snapshot_and_catch_up_give_the_same_answers_as_a_fresh_build() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = sample(dir.path());
        store.refresh_index_snapshot().unwrap();
        // Changes after the snapshot: a new run, a new key, and an append.
        let mut b = store.write().unwrap();
        let mut r = rec(100, 2000);
        r.metrics.push(metric("acc", 0.7));
        r.tags.push(("t".into(), "x".into()));
        b.upsert_run(r).unwrap();
        let mut r = rec(1, 1000);
        r.metrics.push((
            "acc".into(),
            vec![MetricPoint {
                step: 5,
                value: 0.1,
                timestamp: 0,
            }],
        ));
        b.upsert_run(r).unwrap();
        b.commit().unwrap();
    }
    let reopened = Store::open_read_only(dir.path()).unwrap();
    let view_idx = reopened.read_view().unwrap();
    let idx = view_idx.index().clone();
    assert_eq!(matching(&idx, &acc(CmpOp::Gt, 0.6)), vec![3, 4, 100]);
    let tag = Pred::Cmp(Field::Tag("t".into()), CmpOp::Eq, Literal::Str("x".into()));
    assert_eq!(matching(&idx, &tag), vec![100]);
    assert_eq!(idx.rows(), 7);
    let ids = idx.run_ids().unwrap();
    let first = idx.default_order().unwrap()[0];
    assert_eq!(ids[first as usize], 100);
    // Corrupt every snapshot: the index is rebuilt from the catalog, same answers.
    drop(idx);
    drop(reopened);
    for e in std::fs::read_dir(dir.path().join("index")).unwrap() {
        std::fs::write(e.unwrap().path(), b"garbage").unwrap();
    }
    let rebuilt = Store::open_read_only(dir.path()).unwrap();
    let view_idx = rebuilt.read_view().unwrap();
    let idx = view_idx.index().clone();
    assert_eq!(matching(&idx, &acc(CmpOp::Gt, 0.6)), vec![3, 4, 100]);
    assert_eq!(matching(&idx, &tag), vec![100]);
}

#[test]
fn a_search_keeps_its_version_while_writes_land() {
    let dir = tempfile::tempdir().unwrap();
    let store = sample(dir.path());
    let view_before = store.read_view().unwrap();
    let before = view_before.index().clone();
    let mut b = store.write().unwrap();
    let mut r = rec(50, 5);
    r.metrics.push(metric("acc", 0.99));
    b.upsert_run(r).unwrap();
    b.commit().unwrap();
    let view_after = store.read_view().unwrap();
    let after = view_after.index().clone();
    assert_eq!(matching(&before, &acc(CmpOp::Gt, 0.95)), vec![3, 4]);
    assert_eq!(matching(&after, &acc(CmpOp::Gt, 0.95)), vec![3, 4, 50]);
}
