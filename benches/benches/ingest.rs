//! Write-path benches: a batch of new runs through the Rust API and through
//! the JSON Lines ingest, and latest-metric updates (new points on existing
//! runs). Throughput is in metric points.
//!
//! ```text
//! cargo bench -p runstore-bench --bench ingest
//! ```
//!
//! Every iteration writes runs (or steps) it has not written before into a
//! store that grows across iterations, as a tracker's store does; only the
//! write and its commit are timed, not making the records.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use runstore::ingest::{IngestOptions, ingest};
use runstore::{MetricPoint, RunRecord, Store};
use runstore_bench::workload::{Workload, points_of, populate, run_id, to_jsonl};

const STEPS: i64 = 10;

fn fresh_store() -> (tempfile::TempDir, std::sync::Arc<Store>) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Store::open(dir.path()).expect("a fresh store opens");
    (dir, store)
}

fn records(workload: &mut Workload, runs: usize) -> Vec<RunRecord> {
    (0..runs).map(|_| workload.next_record()).collect()
}

/// `Store::write()` → `upsert_run` × runs → `commit()`, for a bulk batch
/// (written straight into a segment) and a tracker-sized one (staged in the catalog).
fn api_batch(c: &mut Criterion) {
    let mut group = c.benchmark_group("ingest/api");
    for runs in [1000usize, 10] {
        let (_dir, store) = fresh_store();
        let mut workload = Workload::new(STEPS);
        let points = runs as u64 * 10 * STEPS as u64;
        group.throughput(Throughput::Elements(points));
        group.bench_function(format!("upsert_run+commit/{runs} runs"), |b| {
            b.iter_batched(
                || records(&mut workload, runs),
                |batch| {
                    let mut w = store.write().expect("write batch");
                    for r in batch {
                        w.upsert_run(r).expect("upsert");
                    }
                    black_box(w.commit().expect("commit"))
                },
                BatchSize::PerIteration,
            );
        });
    }
    group.finish();
}

/// `runstore::ingest::ingest` of 1000 runs of JSON Lines (parsing included;
/// the index snapshot refresh at the end is off).
fn jsonl(c: &mut Criterion) {
    let mut group = c.benchmark_group("ingest/jsonl");
    let runs = 1000usize;
    let (_dir, store) = fresh_store();
    let mut workload = Workload::new(STEPS);
    let options = IngestOptions {
        refresh_index: false,
        ..IngestOptions::default()
    };
    group.throughput(Throughput::Elements(runs as u64 * 10 * STEPS as u64));
    group.bench_function(format!("ingest/{runs} runs"), |b| {
        b.iter_batched(
            || {
                let mut text = String::new();
                for r in records(&mut workload, runs) {
                    text.push_str(&to_jsonl(&r));
                    text.push('\n');
                }
                text
            },
            |text| {
                black_box(
                    ingest(&store, text.as_bytes(), "bench", &options, |_| {}).expect("ingest"),
                )
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

/// New points on existing runs: the next step of all 10 metrics of 1000 runs
/// in one commit (a sweep of trackers), and of one run (one tracker's
/// `log_batch`, which commits alone).
fn latest_update(c: &mut Criterion) {
    let mut group = c.benchmark_group("ingest/latest_metric_update");
    let existing = 10_000u64;
    let (_dir, store) = fresh_store();
    let mut workload = Workload::new(STEPS);
    populate(&store, &mut workload, existing, 5000, 0).expect("populate");
    store.refresh_index_snapshot().expect("index");
    for runs in [1000u64, 1] {
        let mut step = STEPS + if runs == 1 { 1_000_000 } else { 0 };
        let mut first = 0u64;
        group.throughput(Throughput::Elements(runs * 10));
        group.bench_function(format!("next step, 10 metrics/{runs} runs"), |b| {
            b.iter_batched(
                || {
                    // Runs `first..first + runs`, wrapping; each round a new step.
                    let batch: Vec<RunRecord> = (0..runs)
                        .map(|k| {
                            let i = (first + k) % existing;
                            let point = MetricPoint {
                                step,
                                value: (i as f64 * 0.37 + step as f64).fract(),
                                timestamp: 1_800_000_000_000 + step,
                            };
                            RunRecord {
                                run_id: Some(run_id(i)),
                                metrics: (0..10)
                                    .map(|m| (format!("m{m:02}"), vec![point]))
                                    .collect(),
                                ..RunRecord::default()
                            }
                        })
                        .collect();
                    first += runs;
                    if first >= existing {
                        first = 0;
                        step += 1;
                    }
                    batch
                },
                |batch| {
                    let mut w = store.write().expect("write batch");
                    for r in batch {
                        debug_assert_eq!(points_of(&r), 10);
                        w.upsert_run(r).expect("append");
                    }
                    black_box(w.commit().expect("commit"))
                },
                BatchSize::PerIteration,
            );
        });
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
}

criterion_group! {
    name = benches;
    config = config();
    targets = api_batch, jsonl, latest_update
}
criterion_main!(benches);
