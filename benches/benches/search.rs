//! Read-path benches over one store built once per run of this bench binary:
//! `RUNSTORE_BENCH_RUNS` runs (default 100,000; set 1000000 for the issue's
//! scale) of the reference workload's shape, 10 metrics × 10 steps each, plus
//! a 100,000-point metric `long` on run 0.
//!
//! ```text
//! cargo bench -p runstore-bench --bench search
//! RUNSTORE_BENCH_RUNS=1000000 cargo bench -p runstore-bench --bench search
//! ```
//!
//! * `search/materialized/Qn …`: `runstore::search::search`, the whole library
//!   search (parse, plan, DataFusion over the index, read the page's runs);
//! * `search/index/Qn …`: `runstore_query::search_page_len` on one `Store::read_view()`,
//!   the same minus reading the runs (so the two differ by materialization);
//! * `history/100000 points`: `Store::metric_history` of run 0's `long`;
//! * `paging/Q1 all pages`: every page of Q1, 1000 runs a page, via page tokens;
//! * `open/open_read_only + Q7`: a new read-only handle and its first Q7 page
//!   (the OS page cache is warm, so this is the in-process part of a cold open).

use std::hint::black_box;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use runstore::search::search;
use runstore::{RunId, Store};
use runstore_bench::queries::{Query, paging_query, reference_queries};
use runstore_bench::workload::{LONG_METRIC, Workload, populate, run_id};

const LONG_STEPS: i64 = 100_000;

/// The shared store: its directory, a read-only handle, and Q1–Q10.
struct Fixture {
    dir: tempfile::TempDir,
    store: std::sync::Arc<Store>,
    queries: Vec<Query>,
}

fn runs_wanted() -> u64 {
    match std::env::var("RUNSTORE_BENCH_RUNS") {
        Ok(v) => v
            .trim()
            .replace('_', "")
            .parse()
            .expect("RUNSTORE_BENCH_RUNS must be a positive integer"),
        Err(_) => 100_000,
    }
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let runs = runs_wanted();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let start = Instant::now();
        let mut workload = Workload::new(10);
        let points = {
            let store = Store::open(dir.path()).expect("a fresh store opens");
            let points =
                populate(&store, &mut workload, runs, 50_000, LONG_STEPS).expect("populate");
            store.refresh_index_snapshot().expect("index snapshot");
            points
        };
        let (parent, children) = workload.top_parent().expect("nested runs");
        eprintln!(
            "built a store of {runs} runs, {points} metric points in {:.1} s (Q10 parent {parent}, {children} children)",
            start.elapsed().as_secs_f64()
        );
        let store = Store::open_read_only(dir.path()).expect("the store reopens read-only");
        Fixture {
            dir,
            store,
            queries: reference_queries(&parent.to_string()),
        }
    })
}

fn searches(c: &mut Criterion) {
    let f = fixture();
    let mut group = c.benchmark_group("search/materialized");
    for q in &f.queries {
        let request = q.request();
        group.bench_function(q.label(), |b| {
            b.iter(|| black_box(search(&f.store, &request).expect("search")));
        });
    }
    group.finish();

    let mut group = c.benchmark_group("search/index");
    let view = f.store.read_view().expect("read view");
    for q in &f.queries {
        let request = q.request();
        group.bench_function(q.label(), |b| {
            b.iter(|| black_box(runstore_query::search_page_len(&view, &request).expect("search")));
        });
    }
    group.finish();
}

fn history(c: &mut Criterion) {
    let f = fixture();
    let run0: RunId = run_id(0);
    let n = f
        .store
        .metric_history(run0, LONG_METRIC)
        .expect("history")
        .len();
    assert_eq!(n as i64, LONG_STEPS, "run 0's long history");
    let mut group = c.benchmark_group("history");
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function(format!("{n} points"), |b| {
        b.iter(|| black_box(f.store.metric_history(run0, LONG_METRIC).expect("history")));
    });
    group.finish();
}

fn paging(c: &mut Criterion) {
    let f = fixture();
    let q = paging_query(1000);
    let mut group = c.benchmark_group("paging");
    group.bench_function("Q1 all pages, 1000 a page", |b| {
        b.iter(|| {
            let mut request = q.request();
            let mut runs = 0usize;
            loop {
                let page = search(&f.store, &request).expect("search");
                runs += page.runs.len();
                match page.next_page_token {
                    Some(t) => request.page_token = Some(t),
                    None => break runs,
                }
            }
        });
    });
    let view = f.store.read_view().expect("read view");
    group.bench_function("Q1 all pages, 1000 a page, index only", |b| {
        b.iter(|| {
            let mut request = q.request();
            let mut rows = 0usize;
            loop {
                let (len, token) =
                    runstore_query::search_page_len(&view, &request).expect("search");
                rows += len;
                match token {
                    Some(t) => request.page_token = Some(t),
                    None => break rows,
                }
            }
        });
    });
    group.finish();
}

fn open(c: &mut Criterion) {
    let f = fixture();
    let q7 = f
        .queries
        .iter()
        .find(|q| q.id == "Q7")
        .expect("Q7")
        .request();
    let mut group = c.benchmark_group("open");
    group.bench_function("open_read_only + Q7", |b| {
        b.iter(|| {
            let store = Store::open_read_only(f.dir.path()).expect("open");
            black_box(search(&store, &q7).expect("search"))
        });
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = searches, history, paging, open
}
criterion_main!(benches);
