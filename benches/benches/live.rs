//! Live-logging benches: the cost of one durable `log_metric` call, of one
//! buffered call, and of one JSON Lines record per call (`rs_ingest_jsonl`'s
//! path), each into a store of 10,000 reference-workload runs.
//!
//! ```text
//! cargo bench -p runstore-bench --bench live
//! ```
//!
//! Percentiles, thread counts, processes and the soak are `runstore-live`'s
//! (`benches/live.sh`); criterion gives the mean cost of a call here.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use runstore::ingest::{IngestOptions, ingest_bytes};
use runstore::{MetricPoint, NewRun, RunId, Store};
use runstore_bench::workload::Workload;

fn store_with_runs(runs: usize) -> (tempfile::TempDir, Arc<Store>, RunId) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Store::open(dir.path()).expect("a fresh store opens");
    let mut workload = Workload::new(10);
    let mut batch = store.write().expect("a batch");
    for _ in 0..runs {
        batch.upsert_run(workload.next_record()).expect("a run");
    }
    batch.commit().expect("commit");
    let exp = store.get_or_create_experiment("live").expect("experiment");
    let run = store
        .create_run(exp, NewRun::default())
        .expect("a run")
        .run_id;
    (dir, store, run)
}

fn point(step: i64) -> MetricPoint {
    MetricPoint {
        step,
        value: 1.0 / (step + 1) as f64,
        timestamp: 1_700_000_000_000 + step,
    }
}

fn live(c: &mut Criterion) {
    let (_dir, store, run) = store_with_runs(10_000);
    let mut group = c.benchmark_group("live");
    let mut step = 0i64;
    group.bench_function("log_metric (durable)", |b| {
        b.iter(|| {
            step += 1;
            store.log_metric(run, "loss", point(step)).expect("log");
        });
    });
    group.bench_function("log_metric_buffered", |b| {
        b.iter(|| {
            step += 1;
            store
                .log_metric_buffered(run, "loss_async", point(step))
                .expect("log");
        });
    });
    store.flush().expect("flush");
    let options = IngestOptions::default();
    group.bench_function("one JSON Lines record (rs_ingest_jsonl)", |b| {
        b.iter(|| {
            step += 1;
            let line = format!(
                "{{\"experiment\": \"live\", \"run_id\": \"{run}\", \"metrics\": {{\"jsonl\": [[{step}, 0.5, 1700000000000]]}}}}"
            );
            black_box(ingest_bytes(&store, line.as_bytes(), "input", &options).expect("ingest"));
        });
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50);
    targets = live
}
criterion_main!(benches);
