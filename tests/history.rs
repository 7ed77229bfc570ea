//! Metric histories: long ones read back exactly, staged and segment points
//! merge, and ordering follows the contract.

use runstore::{MetricPoint, RunId, Store};

fn point(i: i64) -> MetricPoint {
    // Values with full 52-bit mantissas, negative ones, and specials sprinkled in.
    let value = match i % 100_003 {
        7 => f64::NAN,
        11 => f64::INFINITY,
        13 => -0.0,
        _ => {
            ((i as f64) * 0.618_033_988_749_894_9).fract() * if i % 2 == 0 { 1.0 } else { -3.0e10 }
        }
    };
    MetricPoint {
        step: i,
        value,
        timestamp: 1_700_000_000_000 + i * 7,
    }
}

fn same(a: &MetricPoint, b: &MetricPoint) -> bool {
    a.step == b.step
        && a.timestamp == b.timestamp
        && (a.value.to_bits() == b.value.to_bits() || (a.value.is_nan() && b.value.is_nan()))
}

#[test]
fn a_million_point_history_reads_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let id: RunId = "0000000000000000000000000000f00d".parse().unwrap();
    let all: Vec<MetricPoint> = (0..1_000_000).map(point).collect();
    let mut b = store.write().unwrap();
    let exp = b.get_or_create_experiment("long").unwrap();
    b.create_run(
        exp,
        runstore::engine::NewRun {
            run_id: Some(id),
            ..Default::default()
        },
    )
    .unwrap();
    // Logged in shuffled chunks, over several batches.
    let mut order: Vec<usize> = (0..all.len() / 10_000).collect();
    order.reverse();
    order.swap(3, 40);
    for (n, chunk) in order.iter().enumerate() {
        b.log_metric_points(id, "long", &all[chunk * 10_000..(chunk + 1) * 10_000])
            .unwrap();
        if n % 17 == 16 {
            b.commit().unwrap();
            b = store.write().unwrap();
        }
    }
    b.commit().unwrap();
    drop(store);
    let store = Store::open_read_only(dir.path()).unwrap();
    let got = store.metric_history(id, "long").unwrap();
    assert_eq!(got.len(), all.len());
    for (g, w) in got.iter().zip(&all) {
        assert!(same(g, w), "{g:?} != {w:?}");
    }
    let run = store.get_run(id).unwrap();
    assert!(same(&run.metrics["long"], &all[999_999]));
}

#[test]
fn small_commits_stage_points_and_reads_merge_them_with_segments() {
    let dir = tempfile::tempdir().unwrap();
    let options = runstore::StoreOptions {
        direct_segment_points: 1000,
        pending_flush_points: 2500,
        merge_fan_in: 3,
        ..Default::default()
    };
    let store = Store::open_with(dir.path(), options).unwrap();
    let id: RunId = "0000000000000000000000000000beef".parse().unwrap();
    let mut b = store.write().unwrap();
    let exp = b.get_or_create_experiment("e").unwrap();
    b.create_run(
        exp,
        runstore::engine::NewRun {
            run_id: Some(id),
            ..Default::default()
        },
    )
    .unwrap();
    b.commit().unwrap();
    let mut want = Vec::new();
    // 60 commits of 100 points (staged, flushed every 2500), interleaved with
    // bigger ones that go straight to segments (and get merged).
    for c in 0..60i64 {
        let n = if c % 10 == 9 { 1500 } else { 100 };
        let base = c * 10_000;
        let pts: Vec<MetricPoint> = (0..n).map(|i| point(base + i)).collect();
        let mut b = store.write().unwrap();
        b.log_metric_points(id, "m", &pts).unwrap();
        // Re-logging an earlier commit's points stores nothing new.
        if c > 0 {
            b.log_metric_points(id, "m", &want[..10]).unwrap();
        }
        b.commit().unwrap();
        want.extend(pts);
        let got = store.metric_history(id, "m").unwrap();
        assert_eq!(got.len(), want.len(), "after commit {c}");
    }
    let got = store.metric_history(id, "m").unwrap();
    want.sort_by(runstore::engine::metric::point_order);
    for (g, w) in got.iter().zip(&want) {
        assert!(same(g, w), "{g:?} != {w:?}");
    }
    let segments = std::fs::read_dir(dir.path().join("segments"))
        .unwrap()
        .count();
    assert!(
        segments < 10,
        "merges keep the segment count down: {segments}"
    );
}

#[test]
fn unknown_key_has_empty_history_and_unknown_run_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut b = store.write().unwrap();
    b.upsert_run(crate::util::record(5, 1, 3)).unwrap();
    b.commit().unwrap();
    assert!(
        store
            .metric_history(crate::util::run_id(5), "nope")
            .unwrap()
            .is_empty()
    );
    let err = store
        .metric_history("00000000000000000000000000000999".parse().unwrap(), "m0")
        .unwrap_err();
    assert!(err.is_user_error());
}
