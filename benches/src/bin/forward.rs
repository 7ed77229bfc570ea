//! `runstore-forward`: the forwarding benchmark (run by `benches/forward.sh`,
//! which starts the MLflow server).
//!
//! ```text
//! runstore-forward throughput URI DIR RUNS     RUNS reference runs logged live with the server's
//!                                              sender stopped, then delivered: metric points/s
//! runstore-forward overhead URI DIR CALLS      single-point log_metric p50/p99: forwarding off,
//!                                              on (server up, sender delivering), on (server down)
//! runstore-forward outage DIR SECS             SECS seconds of the reference workload's rate with
//!                                              the server unreachable: outbox entries and bytes,
//!                                              catalog size, against the same writes unforwarded
//! ```
//!
//! The reference workload (`benches/gen_workload.py`) starts one run a second
//! (run i at T0 + i·1000 ms) with 20 params, 10 tags and 10 metrics of 10
//! steps 100 ms apart: live, that is one `create_run`, one `log_batch` of the
//! params and tags, ten `log_batch` calls of one step of the ten metrics, and
//! a status update per second — 100 metric points a second.

/// The allocator the `runstore` CLI uses too.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::error::Error;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use runstore::forward::{self, ForwardConfig};
use runstore::{
    ExperimentId, MetricBatch, MetricPoint, NewRun, RunStatus, RunUpdate, Store, StoreOptions,
};
use runstore_bench::measure::dir_size;

type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

const USAGE: &str =
    "usage: runstore-forward throughput URI DIR RUNS | overhead URI DIR CALLS | outage DIR SECS";
const T0: i64 = 1_700_000_000_000;

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str).ok_or(USAGE);
    let outcome = (|| -> Result<()> {
        match arg(0)? {
            "throughput" => throughput(arg(1)?, Path::new(arg(2)?), arg(3)?.parse()?),
            "overhead" => overhead(arg(1)?, Path::new(arg(2)?), arg(3)?.parse()?),
            "outage" => outage(Path::new(arg(1)?), arg(2)?.parse()?),
            _ => Err(USAGE.into()),
        }
    })();
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Run `i` of the reference workload, logged live: returns its metric points.
fn reference_run(store: &Store, exp: ExperimentId, i: u64, pace: Option<Duration>) -> Result<u64> {
    let start = T0 + i as i64 * 1000;
    let tags = (0..10)
        .map(|k| (format!("t{k:02}"), format!("v{}", (i + k) % 7)))
        .collect();
    let run = store
        .create_run(
            exp,
            NewRun {
                run_name: Some(format!("run-{i}")),
                start_time: Some(start),
                tags,
                ..NewRun::default()
            },
        )?
        .run_id;
    let params = (0..20)
        .map(|k| (format!("p{k:02}"), format!("{}", (i * 31 + k) % 1000)))
        .collect();
    store.log_batch(
        run,
        MetricBatch {
            params,
            ..MetricBatch::default()
        },
    )?;
    for step in 0..10i64 {
        let metrics = (0..10)
            .map(|k| {
                let value = ((i as f64) * 0.37 + k as f64 * 1.3 + step as f64 * 0.01).sin();
                (
                    format!("m{k:02}"),
                    MetricPoint {
                        step,
                        value,
                        timestamp: start + step * 100,
                    },
                )
            })
            .collect();
        store.log_batch(
            run,
            MetricBatch {
                metrics,
                ..MetricBatch::default()
            },
        )?;
        if let Some(p) = pace {
            std::thread::sleep(p);
        }
    }
    store.update_run(
        run,
        RunUpdate {
            status: Some(RunStatus::Finished),
            end_time: Some(start + 1000),
            ..RunUpdate::default()
        },
    )?;
    Ok(100)
}

fn quiet_store(dir: &Path) -> Result<Arc<Store>> {
    let _ = std::fs::remove_dir_all(dir);
    Ok(Store::open_with(dir, StoreOptions::default())?)
}

fn throughput(uri: &str, dir: &Path, runs: u64) -> Result<()> {
    let config = ForwardConfig::new(uri)?;
    println!("| forwarding to `mlflow server` (SQLite) | figure |");
    println!("|---|---|");
    // A backlog of reference runs, recorded while no sender runs.
    let store = quiet_store(&dir.join("backlog"))?;
    forward::configure(&store, &config)?;
    let exp = store.get_or_create_experiment(&format!("bench-{}", std::process::id()))?;
    let mut points = 0;
    for i in 0..runs {
        points += reference_run(&store, exp, i, None)?;
    }
    let entries = store.outbox_summary()?.entries;
    let started = Instant::now();
    forward::start(&store)?;
    let flushed = forward::flush(&store, Some(Duration::from_secs(3600)))?;
    let took = started.elapsed();
    println!(
        "| backlog of {runs} reference runs ({points} points, {entries} outbox entries) delivered | {:.1} s: **{:.0} metric points/s**, {:.1} runs/s ({} parked) |",
        took.as_secs_f64(),
        points as f64 / took.as_secs_f64(),
        runs as f64 / took.as_secs_f64(),
        flushed.parked
    );
    drop(store);
    // One long history: 100,000 points of one metric in one call.
    let store = quiet_store(&dir.join("history"))?;
    forward::configure(&store, &config)?;
    let exp = store.get_or_create_experiment(&format!("bench-long-{}", std::process::id()))?;
    let run = store.create_run(exp, NewRun::default())?.run_id;
    let history: Vec<MetricPoint> = (0..100_000)
        .map(|s| MetricPoint {
            step: s,
            value: 1.0 / (s + 1) as f64,
            timestamp: T0 + s,
        })
        .collect();
    store.log_metric_points(run, "long", &history)?;
    let started = Instant::now();
    forward::start(&store)?;
    forward::flush(&store, Some(Duration::from_secs(3600)))?;
    let took = started.elapsed();
    println!(
        "| one history of 100,000 points delivered | {:.1} s: **{:.0} metric points/s** |",
        took.as_secs_f64(),
        100_000.0 / took.as_secs_f64()
    );
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e6
}

/// `calls` single-point log_metric calls on a fresh store; p50 and p99 in µs.
fn latencies(store: &Store, calls: u64) -> Result<(f64, f64)> {
    let exp = store.get_or_create_experiment("overhead")?;
    let run = store.create_run(exp, NewRun::default())?.run_id;
    let mut samples = Vec::with_capacity(calls as usize);
    for step in 0..calls as i64 {
        let point = MetricPoint {
            step,
            value: step as f64,
            timestamp: T0 + step,
        };
        let started = Instant::now();
        store.log_metric(run, "loss", point)?;
        samples.push(started.elapsed());
    }
    samples.sort();
    Ok((percentile(&samples, 0.5), percentile(&samples, 0.99)))
}

fn overhead(uri: &str, dir: &Path, calls: u64) -> Result<()> {
    println!("| single-point `Store::log_metric`, {calls} calls, one thread | p50 | p99 |");
    println!("|---|---|---|");
    let row = |what: &str, (p50, p99): (f64, f64)| {
        println!("| {what} | {p50:.0} µs | {p99:.0} µs |");
    };
    let off = quiet_store(&dir.join("off"))?;
    row("forwarding off", latencies(&off, calls)?);
    drop(off);
    let on = quiet_store(&dir.join("on"))?;
    forward::configure(&on, &ForwardConfig::new(uri)?)?;
    forward::start(&on)?;
    row(
        "forwarding on, server up (sender delivering meanwhile)",
        latencies(&on, calls)?,
    );
    forward::flush(&on, Some(Duration::from_secs(600)))?;
    drop(on);
    let down = quiet_store(&dir.join("down"))?;
    forward::configure(&down, &ForwardConfig::new(unreachable()?)?)?;
    forward::start(&down)?;
    row(
        "forwarding on, server down (recording only)",
        latencies(&down, calls)?,
    );
    Ok(())
}

/// An address where nothing listens.
fn unreachable() -> Result<String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    Ok(format!("http://127.0.0.1:{port}"))
}

fn outage(dir: &Path, secs: u64) -> Result<()> {
    let forwarded = quiet_store(&dir.join("forwarded"))?;
    forward::configure(&forwarded, &ForwardConfig::new(unreachable()?)?)?;
    forward::start(&forwarded)?;
    let plain = quiet_store(&dir.join("plain"))?;
    let fexp = forwarded.get_or_create_experiment("outage")?;
    let pexp = plain.get_or_create_experiment("outage")?;
    println!(
        "| seconds of outage | runs | points | outbox entries | outbox bytes | store dir, forwarded | store dir, not forwarded |"
    );
    println!("|---|---|---|---|---|---|---|");
    let started = Instant::now();
    let mut points = 0;
    for i in 0..secs {
        // One reference run a second: 10 steps 100 ms apart.
        points += reference_run(&forwarded, fexp, i, Some(Duration::from_millis(97)))?;
        reference_run(&plain, pexp, i, None)?;
        let due = Duration::from_secs(i + 1);
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            std::thread::sleep(wait);
        }
        if (i + 1) % 60 == 0 || i + 1 == secs {
            let summary = forwarded.outbox_summary()?;
            println!(
                "| {} | {} | {points} | {} | {} | {} | {} |",
                i + 1,
                i + 1,
                summary.entries,
                summary.bytes,
                dir_size(forwarded.dir())?,
                dir_size(plain.dir())?
            );
        }
    }
    let status = forwarded.sender_status()?;
    println!();
    println!(
        "sender's last error: {}",
        status
            .last_error
            .map(|(_, e)| e)
            .unwrap_or_else(|| "none".into())
    );
    Ok(())
}
