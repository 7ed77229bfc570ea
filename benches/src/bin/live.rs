//! `runstore-live`: the live-logging benchmark — what a training loop, a
//! sweep of trial processes and a long-lived tracker do to a store.
//!
//! ```text
//! runstore-live prepare DIR RUNS            a store of RUNS reference-workload runs (batch API)
//! runstore-live latency DIR [CALLS]         single-point log_metric p50/p99 at 1, 8 and 32 threads
//! runstore-live processes DIR PROCS STEPS   PROCS processes x STEPS steps x 5 metrics, one call a point
//! runstore-live jsonl DIR CALLS [PROCS]     one JSON Lines record a call (what rs_ingest_jsonl does)
//! runstore-live buffered DIR CALLS          buffered log_metric calls/s from one thread, then flush
//! runstore-live soak DIR SECS               single-point commits for SECS; size and RSS every 10 s
//! runstore-live page DIR [RUNS]             reading a page of RUNS runs in-process (median of 20)
//! ```
//!
//! Every command writes into the store at DIR (runs of its own, next to what
//! `prepare` put there) and prints one markdown table. `benches/live.sh`
//! runs them all on a 100,000-run store.

/// The allocator the `runstore` CLI uses too, so in-process figures match it.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::error::Error;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use runstore::ingest::{IngestOptions, ingest_bytes};
use runstore::{MetricPoint, NewRun, RunId, Store};
use runstore_bench::measure::{dir_size, peak_rss_kib, status_field_kib};
use runstore_bench::workload::Workload;

type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

const USAGE: &str = "usage: runstore-live prepare|latency|processes|jsonl|buffered|soak DIR … (see the doc comment)";
const METRICS: usize = 5;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str);
    let num = |i: usize, default: u64| -> Result<u64> {
        Ok(match arg(i) {
            Some(s) => s.parse()?,
            None => default,
        })
    };
    let outcome = (|| -> Result<()> {
        let dir = Path::new(arg(1).ok_or(USAGE)?);
        match arg(0) {
            Some("prepare") => prepare(dir, num(2, 100_000)?),
            Some("latency") => latency(dir, num(2, 2000)?),
            Some("processes") => processes(dir, num(2, 8)?, num(3, 2000)?),
            Some("child") => child(dir, num(2, 0)?, num(3, 0)?),
            Some("jsonl") => jsonl(dir, num(2, 2000)?, num(3, 1)?),
            Some("jsonl-child") => jsonl_child(dir, num(2, 0)?, num(3, 0)?),
            Some("buffered") => buffered(dir, num(2, 1_000_000)?),
            Some("soak") => soak(dir, num(2, 600)?),
            Some("page") => page(dir, num(2, 1000)?),
            _ => Err(USAGE.into()),
        }
    })();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn point(step: i64, value: f64) -> MetricPoint {
    MetricPoint {
        step,
        value,
        timestamp: 1_700_000_000_000 + step,
    }
}

/// A fresh run for benchmark writer `who` (ids apart from the workload's).
fn new_run(store: &Store, tag: &str, who: u64) -> Result<RunId> {
    let exp = store.get_or_create_experiment("live-bench")?;
    let run = store.create_run(
        exp,
        NewRun {
            run_name: Some(format!("{tag}-{who}")),
            ..NewRun::default()
        },
    )?;
    Ok(run.run_id)
}

fn prepare(dir: &Path, runs: u64) -> Result<()> {
    let store = Store::open(dir)?;
    let mut w = Workload::new(10);
    let started = Instant::now();
    let mut done = 0;
    while done < runs {
        let mut batch = store.write()?;
        for _ in 0..(runs - done).min(50_000) {
            batch.upsert_run(w.next_record())?;
            done += 1;
        }
        batch.commit()?;
    }
    store.refresh_index_snapshot()?;
    store.compact_points_now()?;
    drop(store);
    println!(
        "prepared {runs} runs in {:.1} s ({:.1} MB)",
        started.elapsed().as_secs_f64(),
        dir_size(dir)? as f64 / 1e6
    );
    Ok(())
}

/// Percentile `q` (0..=1) of sorted `samples`, in ms.
fn pct(samples: &[Duration], q: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    let i = ((samples.len() - 1) as f64 * q).round() as usize;
    samples[i].as_secs_f64() * 1e3
}

fn row(name: &str, mut samples: Vec<Duration>, points: u64, wall: Duration) {
    samples.sort_unstable();
    println!(
        "| {name} | {points} | {:.3} | {:.3} | {:.0} |",
        pct(&samples, 0.5),
        pct(&samples, 0.99),
        points as f64 / wall.as_secs_f64()
    );
}

fn header() {
    println!("| writer | points | p50 ms | p99 ms | points/s |");
    println!("|---|---|---|---|---|");
}

fn latency(dir: &Path, calls: u64) -> Result<()> {
    let store = Store::open(dir)?;
    header();
    for threads in [1u64, 8, 32] {
        let runs: Vec<RunId> = (0..threads)
            .map(|t| new_run(&store, &format!("latency{threads}"), t))
            .collect::<Result<_>>()?;
        let started = Instant::now();
        let samples: Vec<Vec<Duration>> = std::thread::scope(|s| {
            let handles: Vec<_> = runs
                .iter()
                .map(|&run| {
                    let store = &store;
                    s.spawn(move || -> Result<Vec<Duration>, String> {
                        let mut out = Vec::with_capacity(calls as usize);
                        for step in 0..calls as i64 {
                            let t = Instant::now();
                            store
                                .log_metric(run, "loss", point(step, 1.0 / (step + 1) as f64))
                                .map_err(|e| e.to_string())?;
                            out.push(t.elapsed());
                        }
                        Ok(out)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().map_err(|_| "a thread panicked".to_string())?)
                .collect::<Result<_, String>>()
        })?;
        let wall = started.elapsed();
        for &run in &runs {
            let n = store.metric_history(run, "loss")?.len() as u64;
            if n != calls {
                return Err(format!("run {run}: {n} of {calls} points read back").into());
            }
        }
        let all: Vec<Duration> = samples.into_iter().flatten().collect();
        row(
            &format!("log_metric, {threads} thread(s)"),
            all,
            threads * calls,
            wall,
        );
    }
    let stats = store.write_stats();
    println!(
        "\n{} writes in {} group commits ({:.1} writes a commit)",
        stats.grouped_writes,
        stats.group_commits,
        stats.grouped_writes as f64 / stats.group_commits.max(1) as f64
    );
    Ok(())
}

fn spawn_self(args: &[String]) -> Result<std::process::Child> {
    Ok(Command::new(std::env::current_exe()?)
        .args(args)
        .stdout(Stdio::piped())
        .spawn()?)
}

/// Spawns `procs` children running `mode`, waits, and returns each one's
/// printed latencies (µs, one a line) and the wall time.
fn run_children(
    dir: &Path,
    mode: &str,
    procs: u64,
    steps: u64,
) -> Result<(Vec<Duration>, Duration)> {
    let started = Instant::now();
    let children: Vec<_> = (0..procs)
        .map(|who| {
            spawn_self(&[
                mode.into(),
                dir.display().to_string(),
                who.to_string(),
                steps.to_string(),
            ])
        })
        .collect::<Result<_>>()?;
    let mut samples = Vec::new();
    for child in children {
        let out = child.wait_with_output()?;
        if !out.status.success() {
            return Err(format!("a {mode} process failed: {}", out.status).into());
        }
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            samples.push(Duration::from_micros(line.trim().parse()?));
        }
    }
    Ok((samples, started.elapsed()))
}

fn processes(dir: &Path, procs: u64, steps: u64) -> Result<()> {
    let (samples, wall) = run_children(dir, "child", procs, steps)?;
    // Nothing lost: every child's run holds every point.
    let store = Store::open_read_only(dir)?;
    let total = procs * steps * METRICS as u64;
    let found = store_points(&store, "proc", procs, steps)?;
    if found != total {
        return Err(format!("{found} of {total} points read back").into());
    }
    header();
    row(
        &format!("log_metric, {procs} processes x {steps} steps x {METRICS} metrics"),
        samples,
        total,
        wall,
    );
    Ok(())
}

/// Points of the runs named `{tag}-{who}`, checked exactly.
fn store_points(store: &std::sync::Arc<Store>, tag: &str, procs: u64, steps: u64) -> Result<u64> {
    let page = runstore::search::search(
        store,
        &runstore::search::SearchRequest {
            filter: format!("attributes.run_name LIKE '{tag}-%'"),
            experiments: vec!["live-bench".into()],
            max_results: 50_000,
            ..Default::default()
        },
    )?;
    let mut found = 0;
    for run in &page.runs {
        for m in 0..METRICS {
            let h = store.metric_history(run.run_id, &format!("m{m}"))?;
            if h.len() as u64 != steps || h.iter().enumerate().any(|(i, p)| p.step != i as i64) {
                return Err(format!("run {} m{m}: {} points", run.run_name, h.len()).into());
            }
            found += h.len() as u64;
        }
    }
    if page.runs.len() as u64 != procs {
        return Err(format!("{} of {procs} runs found", page.runs.len()).into());
    }
    Ok(found)
}

fn child(dir: &Path, who: u64, steps: u64) -> Result<()> {
    let store = Store::open(dir)?;
    let run = new_run(&store, "proc", who)?;
    let mut out = String::new();
    for step in 0..steps as i64 {
        for m in 0..METRICS {
            let t = Instant::now();
            store.log_metric(run, &format!("m{m}"), point(step, step as f64))?;
            out += &format!("{}\n", t.elapsed().as_micros());
        }
    }
    print!("{out}");
    Ok(())
}

fn jsonl(dir: &Path, calls: u64, procs: u64) -> Result<()> {
    let (samples, wall) = run_children(dir, "jsonl-child", procs, calls)?;
    header();
    row(
        &format!("one JSON Lines record a call (rs_ingest_jsonl's path), {procs} process(es)"),
        samples,
        procs * calls,
        wall,
    );
    Ok(())
}

/// A training loop that logs each step as one run record through
/// `runstore::ingest::ingest_bytes`, exactly what `rs_ingest_jsonl` does.
fn jsonl_child(dir: &Path, who: u64, calls: u64) -> Result<()> {
    let store = Store::open(dir)?;
    let run = RunId::random()?;
    let options = IngestOptions::default();
    let mut out = String::new();
    for step in 0..calls {
        let line = format!(
            "{{\"experiment\": \"live-bench\", \"run_id\": \"{run}\", \"run_name\": \"jsonl-{who}\", \
             \"metrics\": {{\"loss\": [[{step}, {}, {}]]}}}}",
            1.0 / (step + 1) as f64,
            1_700_000_000_000u64 + step
        );
        let t = Instant::now();
        ingest_bytes(&store, line.as_bytes(), "input", &options)?;
        out += &format!("{}\n", t.elapsed().as_micros());
    }
    let n = store.metric_history(run, "loss")?.len() as u64;
    if n != calls {
        return Err(format!("{n} of {calls} points read back").into());
    }
    print!("{out}");
    Ok(())
}

fn buffered(dir: &Path, calls: u64) -> Result<()> {
    let store = Store::open(dir)?;
    let run = new_run(&store, "buffered", 0)?;
    let started = Instant::now();
    for step in 0..calls as i64 {
        store.log_metric_buffered(run, "loss", point(step, step as f64))?;
    }
    let called = started.elapsed();
    store.flush()?;
    let durable = started.elapsed();
    let n = store.metric_history(run, "loss")?.len() as u64;
    if n != calls {
        return Err(format!("{n} of {calls} points read back").into());
    }
    println!("| buffered log_metric | calls | calls/s | all durable after |");
    println!("|---|---|---|---|");
    println!(
        "| 1 thread | {calls} | {:.0} | {:.3} s |",
        calls as f64 / called.as_secs_f64(),
        durable.as_secs_f64()
    );
    Ok(())
}

fn soak(dir: &Path, secs: u64) -> Result<()> {
    let store: Arc<Store> = Store::open(dir)?;
    let run = new_run(&store, "soak", 0)?;
    let base = dir_size(dir)?;
    println!("| s | points | store MB | growth MB | RSS MiB |");
    println!("|---|---|---|---|---|");
    let started = Instant::now();
    let mut next_report = Duration::ZERO;
    let mut step = 0i64;
    let mut peak_growth = 0u64;
    while started.elapsed() < Duration::from_secs(secs) {
        for m in 0..METRICS {
            store.log_metric(run, &format!("m{m}"), point(step, (step as f64).sin()))?;
        }
        step += 1;
        if started.elapsed() >= next_report {
            let size = dir_size(dir)?;
            peak_growth = peak_growth.max(size.saturating_sub(base));
            println!(
                "| {} | {} | {:.1} | {:.1} | {:.0} |",
                started.elapsed().as_secs(),
                step * METRICS as i64,
                size as f64 / 1e6,
                size.saturating_sub(base) as f64 / 1e6,
                current_rss_kib() as f64 / 1024.0
            );
            next_report += Duration::from_secs(10);
        }
    }
    let points = step as u64 * METRICS as u64;
    // The same points bulk-loaded into a fresh store, for comparison.
    let bulk_dir = dir.with_extension("soak-bulk");
    let _ = std::fs::remove_dir_all(&bulk_dir);
    {
        let bulk = Store::open(&bulk_dir)?;
        let r = new_run(&bulk, "soak", 0)?;
        for m in 0..METRICS {
            let pts: Vec<MetricPoint> = (0..step).map(|s| point(s, (s as f64).sin())).collect();
            bulk.log_metric_points(r, &format!("m{m}"), &pts)?;
        }
        bulk.compact_points_now()?;
    }
    let empty_dir = dir.with_extension("soak-empty");
    let _ = std::fs::remove_dir_all(&empty_dir);
    drop(Store::open(&empty_dir)?);
    let bulk = dir_size(&bulk_dir)?.saturating_sub(dir_size(&empty_dir)?);
    println!(
        "\n{points} points in {secs} s ({:.0} points/s); peak growth {:.1} MB; the same points \
         bulk-loaded: {:.1} MB over an empty store; peak RSS {:.0} MiB",
        points as f64 / secs as f64,
        peak_growth as f64 / 1e6,
        bulk as f64 / 1e6,
        peak_rss_kib().unwrap_or(0) as f64 / 1024.0
    );
    let _ = std::fs::remove_dir_all(&bulk_dir);
    let _ = std::fs::remove_dir_all(&empty_dir);
    Ok(())
}

fn page(dir: &Path, runs: u64) -> Result<()> {
    let store = Store::open_read_only(dir)?;
    let request = runstore::search::SearchRequest {
        max_results: usize::try_from(runs)?,
        ..Default::default()
    };
    let (mut page, mut owned, mut json, mut index_only) = (vec![], vec![], vec![], vec![]);
    let first = Instant::now();
    let n = runstore::search::search_page(&store, &request)?.runs.len();
    let cold = first.elapsed();
    let mut out = Vec::new();
    for _ in 0..20 {
        // The fast path: a PageRuns, as `runstore search` reads it.
        let t = Instant::now();
        let found = runstore::search::search_page(&store, &request)?;
        page.push(t.elapsed());
        // ... and written out as the contract's JSON.
        out.clear();
        let t = Instant::now();
        runstore::output::write_page_json(&mut out, &found.runs, found.next_page_token.as_deref())?;
        json.push(t.elapsed());
        drop(found);
        // The owned API: a Vec<Run>.
        let t = Instant::now();
        runstore::search::search(&store, &request)?;
        owned.push(t.elapsed());
        let t = Instant::now();
        let view = store.read_view()?;
        runstore_query::search_page_len(&view, &request)?;
        index_only.push(t.elapsed());
    }
    for v in [&mut page, &mut owned, &mut json, &mut index_only] {
        v.sort_unstable();
    }
    let (p, o, j, i) = (
        pct(&page, 0.5),
        pct(&owned, 0.5),
        pct(&json, 0.5),
        pct(&index_only, 0.5),
    );
    println!(
        "page of {n} runs: first search {:.2} ms; then median {p:.2} ms in all as a PageRuns \
         ({i:.2} ms in the index, {:.2} ms reading the runs, {:.2} us a run), {o:.2} ms as \
         Vec<Run> ({:.2} ms reading); writing its JSON {j:.2} ms ({} bytes)",
        cold.as_secs_f64() * 1e3,
        p - i,
        (p - i) * 1e3 / n.max(1) as f64,
        o - i,
        out.len()
    );
    Ok(())
}

/// This process's resident set now, in KiB.
fn current_rss_kib() -> u64 {
    status_field_kib(Path::new("/proc/self/status"), "VmRSS:").unwrap_or(0)
}
