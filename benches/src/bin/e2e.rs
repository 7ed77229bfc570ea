//! `runstore-e2e`: the end-to-end benchmark of runstore on the reference
//! workload. `benches/run.sh N` builds it, generates the workload and runs
//!
//! ```text
//! runstore-e2e run --runstore target/release/runstore --workload W.jsonl --db DIR [--replace] [--reps 5]
//! ```
//!
//! which ingests the workload with the `runstore` binary, measures everything
//! issue 4 asks for, and prints one markdown table (progress goes to stderr).
//! Two subcommands are the children it spawns, each in a fresh process:
//!
//! ```text
//! runstore-e2e cold-open DIR             open DIR read-only and run Q7 once
//! runstore-e2e api-ingest W.jsonl DIR    ingest W through the Rust batch API
//! ```
//!
//! and one more is a harness for profilers (`perf record -g runstore-e2e repeat …`):
//!
//! ```text
//! runstore-e2e repeat DIR Qn TIMES [PARENT_RUN_ID] [--index-only]
//! ```

/// The allocator the `runstore` CLI uses too, so in-process figures match it.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::error::Error;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use runstore::record::parse_record;
use runstore::search::search;
use runstore::{RunId, RunRecord, Store};
use runstore_bench::measure::{dir_size, median, ms, peak_rss_kib, time};
use runstore_bench::parents::{string_field, top_parent};
use runstore_bench::queries::{Query, paging_query, reference_queries};
use runstore_bench::workload::{LONG_METRIC, points_of};

type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

/// Where `/usr/bin/time` (GNU time) reports a child's peak RSS from.
const GNU_TIME: &str = "/usr/bin/time";

/// Commit thresholds of the API ingest: those of `runstore ingest`.
const BATCH_POINTS: u64 = 4_000_000;
const BATCH_RUNS: usize = 50_000;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        Some("run") => run(&args[1..]),
        Some("cold-open") => cold_open(&args[1..]),
        Some("api-ingest") => api_ingest(&args[1..]),
        Some("repeat") => repeat(&args[1..]),
        _ => Err(USAGE.into()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage:
  runstore-e2e run --runstore BIN --workload FILE --db DIR [--replace] [--reps N]
  runstore-e2e cold-open DIR
  runstore-e2e api-ingest FILE DIR
  runstore-e2e repeat DIR Qn TIMES [PARENT_RUN_ID] [--index-only]";

/// Options of `run`.
struct RunArgs {
    runstore: PathBuf,
    workload: PathBuf,
    db: PathBuf,
    replace: bool,
    reps: usize,
}

fn parse_run_args(args: &[String]) -> Result<RunArgs> {
    let (mut runstore, mut workload, mut db) = (None, None, None);
    let (mut replace, mut reps) = (false, 5usize);
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--runstore" => runstore = Some(PathBuf::from(value()?)),
            "--workload" => workload = Some(PathBuf::from(value()?)),
            "--db" => db = Some(PathBuf::from(value()?)),
            "--reps" => {
                reps = value()?.parse().map_err(|e| format!("--reps: {e}"))?;
                if reps == 0 {
                    return Err("--reps must be at least 1".into());
                }
            }
            "--replace" => replace = true,
            other => return Err(format!("unknown argument {other:?}\n{USAGE}").into()),
        }
    }
    let need =
        |v: Option<PathBuf>, name: &str| v.ok_or_else(|| format!("{name} is required\n{USAGE}"));
    Ok(RunArgs {
        runstore: need(runstore, "--runstore")?,
        workload: need(workload, "--workload")?,
        db: need(db, "--db")?,
        replace,
        reps,
    })
}

/// One row of the figures table.
struct Row {
    figure: String,
    value: String,
    target: String,
    met: Option<bool>,
}

#[derive(Default)]
struct Table {
    rows: Vec<Row>,
}

impl Table {
    fn add(&mut self, figure: impl Into<String>, value: impl Into<String>) {
        self.rows.push(Row {
            figure: figure.into(),
            value: value.into(),
            target: String::new(),
            met: None,
        });
    }

    fn check(
        &mut self,
        figure: impl Into<String>,
        value: impl Into<String>,
        target: impl Into<String>,
        met: Option<bool>,
    ) {
        self.rows.push(Row {
            figure: figure.into(),
            value: value.into(),
            target: target.into(),
            met,
        });
    }

    fn markdown(&self) -> String {
        let mut out = String::from("| figure | value | target | met |\n|---|---|---|---|\n");
        for r in &self.rows {
            let met = match r.met {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "",
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                r.figure.replace('|', "\\|"),
                r.value.replace('|', "\\|"),
                r.target,
                met
            );
        }
        out
    }
}

fn progress(msg: &str) {
    eprintln!("[e2e] {msg}");
}

fn run(args: &[String]) -> Result<()> {
    let args = parse_run_args(args)?;
    let started = Instant::now();
    if !args.workload.is_file() {
        return Err(format!("no workload file {}", args.workload.display()).into());
    }
    if args.db.exists() {
        if !args.replace {
            return Err(
                format!("{} exists; remove it or pass --replace", args.db.display()).into(),
            );
        }
        std::fs::remove_dir_all(&args.db)
            .map_err(|e| format!("removing {}: {e}", args.db.display()))?;
    }
    let have_gnu_time = Path::new(GNU_TIME).is_file();
    let mut table = Table::default();

    // The workload: run 0's id and Q10's parent.
    progress("scanning the workload for run 0 and the parent with most children");
    let workload_bytes = std::fs::metadata(&args.workload)?.len();
    let run0 = first_run_id(&args.workload)?;
    let (parent, children) = top_parent(BufReader::new(File::open(&args.workload)?))?
        .ok_or("the workload has no nested runs (Q10 needs a parent)")?;
    let parent = String::from_utf8(parent.into_bytes())?;
    let queries = reference_queries(&parent);

    // Ingest through the CLI.
    progress("ingesting with `runstore ingest`");
    let mut cmd = Command::new(&args.runstore);
    cmd.arg("--db")
        .arg(&args.db)
        .arg("ingest")
        .arg(&args.workload);
    let ingest = spawn_timed(cmd, have_gnu_time)?;
    let (runs, points) = parse_ingested(&ingest.stdout)?;
    table.add(
        "workload",
        format!(
            "{runs} runs, {points} metric points, {:.0} MB JSONL; Q10 parent {parent} ({children} children)",
            workload_bytes as f64 / 1e6
        ),
    );
    let cli_rate = points as f64 / ingest.wall.as_secs_f64();
    table.check(
        "ingest, `runstore ingest` (points/s)",
        format!(
            "{} ({:.2} s, peak RSS {})",
            rate(cli_rate),
            ingest.wall.as_secs_f64(),
            mib(ingest.rss_kib)
        ),
        "≥ 1,000,000",
        Some(cli_rate >= 1e6),
    );

    // API ingest, in a child (so its memory does not count as search memory here).
    progress("ingesting through the Rust batch API (fresh store, child process)");
    let api_db = sibling(&args.db, "api");
    if api_db.exists() {
        std::fs::remove_dir_all(&api_db)?;
    }
    let exe = std::env::current_exe()?;
    let mut cmd = Command::new(&exe);
    cmd.arg("api-ingest").arg(&args.workload).arg(&api_db);
    let api = spawn_timed(cmd, false)?;
    std::fs::remove_dir_all(&api_db)?;
    let api_points = field(&api.stdout, "points")?;
    let api_ms = field(&api.stdout, "write_ms")?;
    let api_rate = api_points / (api_ms / 1e3);
    table.check(
        "ingest, Rust batch API: `upsert_run` + `commit` (points/s)",
        format!(
            "{} ({:.2} s writing, batches of ≤ {BATCH_RUNS} runs / {BATCH_POINTS} points; parsing not timed)",
            rate(api_rate),
            api_ms / 1e3
        ),
        "≥ 5,000,000",
        Some(api_rate >= 5e6),
    );
    table.add(
        "search-index snapshot written after the API ingest",
        format!("{:.0} ms", field(&api.stdout, "snapshot_ms")?),
    );

    // Size on disk.
    let total = dir_size(&args.db)?;
    let part = |sub: &str| {
        let p = args.db.join(sub);
        if p.is_dir() {
            dir_size(&p).unwrap_or(0)
        } else {
            std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0)
        }
    };
    let per_point = total as f64 / points.max(1) as f64;
    table.check(
        "on-disk bytes per metric point",
        format!(
            "{per_point:.2} ({:.1} MB: catalog {:.1}, segments {:.1}, index {:.1})",
            total as f64 / 1e6,
            part("catalog.redb") as f64 / 1e6,
            part("segments") as f64 / 1e6,
            part("index") as f64 / 1e6
        ),
        "≤ 10",
        Some(per_point <= 10.0),
    );

    // Cold open, in fresh processes.
    progress("cold open: fresh processes, open_read_only → first Q7 page");
    let mut cold = Vec::new();
    let mut cold_rss = 0u64;
    for _ in 0..args.reps {
        let mut cmd = Command::new(&exe);
        cmd.arg("cold-open").arg(&args.db);
        let out = spawn_timed(cmd, false)?;
        cold.push(Duration::from_secs_f64(field(&out.stdout, "ms")? / 1e3));
        cold_rss = cold_rss.max(field(&out.stdout, "rss_kib").unwrap_or(0.0) as u64);
    }
    let cold_med = median(&cold).unwrap_or_default();
    table.check(
        format!(
            "cold open → first Q7 page, fresh process (median of {})",
            args.reps
        ),
        format!("{:.1} ms (peak RSS {})", ms(cold_med), mib(Some(cold_rss))),
        "< 1 s",
        Some(cold_med < Duration::from_secs(1)),
    );

    // In-process searches.
    progress("in-process searches");
    let store = Store::open_read_only(&args.db)?;
    let mut counts = Vec::new();
    for q in &queries {
        let request = q.request();
        search(&store, &request)?; // warm-up
        let view = store.read_view()?;
        runstore_query::search_page_len(&view, &request)?;
        let mut full = Vec::new();
        let mut page = None;
        for _ in 0..args.reps {
            let (p, d) = time(|| search(&store, &request));
            page = Some(p?);
            full.push(d);
        }
        let mut bare = Vec::new();
        for _ in 0..args.reps {
            let (p, d) = time(|| runstore_query::search_page_len(&view, &request));
            p?;
            bare.push(d);
        }
        let page = page.ok_or("no repetitions")?;
        let count = format!(
            "{}{}",
            page.runs.len(),
            if page.next_page_token.is_some() {
                "+"
            } else {
                ""
            }
        );
        let med = median(&full).unwrap_or_default();
        table.check(
            format!("{} in-process `{}`{}", q.id, q.filter, order_text(q)),
            format!(
                "{:.2} ms ({:.2} ms without reading the runs); {count} runs",
                ms(med),
                ms(median(&bare).unwrap_or_default())
            ),
            "< 50 ms",
            Some(med < Duration::from_millis(50)),
        );
        counts.push(page.runs.len());
    }

    // History of run 0's long metric.
    progress("metric history read");
    let run0_id: RunId = run0.parse()?;
    let expected = store.metric_history(run0_id, LONG_METRIC)?.len();
    let mut hist = Vec::new();
    for _ in 0..args.reps.max(11) {
        let (h, d) = time(|| store.metric_history(run0_id, LONG_METRIC));
        if h?.len() != expected {
            return Err("history length changed between reads".into());
        }
        hist.push(d);
    }
    let hist_med = median(&hist).unwrap_or_default();
    table.check(
        format!(
            "history of run 0's `{LONG_METRIC}`, in-process (median of {})",
            hist.len()
        ),
        format!("{:.2} ms for {expected} points", ms(hist_med)),
        "< 5 ms (100,000 points)",
        Some(hist_med < Duration::from_millis(5)),
    );

    // Paging through all of Q1.
    progress("paging through Q1");
    let mut passes = Vec::new();
    let (mut pages, mut paged) = (0usize, 0usize);
    for _ in 0..3 {
        let (counted, d) = time(|| page_through(&store, &paging_query(1000)));
        (pages, paged) = counted?;
        passes.push(d);
    }
    table.add(
        "page through all Q1 results, 1000 a page, in-process (median of 3)",
        format!(
            "{:.1} ms total, {pages} pages, {paged} runs ({:.2} ms a page)",
            ms(median(&passes).unwrap_or_default()),
            ms(median(&passes).unwrap_or_default()) / pages.max(1) as f64
        ),
    );
    let in_process_rss = peak_rss_kib();
    drop(store);

    // Each query as a whole `runstore search` process.
    progress("searches as fresh `runstore search` processes");
    let mut process_rss = None::<u64>;
    for (q, &count) in queries.iter().zip(&counts) {
        let mut cmd = Command::new(&args.runstore);
        cmd.arg("--db").arg(&args.db).args(q.cli_args());
        let warm = spawn_timed(cmd, have_gnu_time)?; // warm-up, and the peak RSS
        let printed = count_runs(&warm.stdout);
        if printed != count {
            return Err(format!(
                "{}: `runstore search` printed {printed} runs, the library found {count}",
                q.id
            )
            .into());
        }
        if let Some(kib) = warm.rss_kib {
            process_rss = Some(process_rss.unwrap_or(0).max(kib));
        }
        let mut walls = Vec::new();
        for _ in 0..args.reps {
            let mut cmd = Command::new(&args.runstore);
            cmd.arg("--db").arg(&args.db).args(q.cli_args());
            walls.push(spawn_timed(cmd, false)?.wall);
        }
        let med = median(&walls).unwrap_or_default();
        table.check(
            format!("{} as a `runstore search --format json` process", q.id),
            format!("{:.1} ms (peak RSS {})", ms(med), mib(warm.rss_kib)),
            "< 300 ms",
            Some(med < Duration::from_millis(300)),
        );
    }

    let under_gib = |kib: Option<u64>| kib.map(|k| k < 1 << 20);
    table.check(
        "peak RSS, in-process searches, history and paging (VmHWM)",
        mib(in_process_rss),
        "< 1 GiB",
        under_gib(in_process_rss),
    );
    table.check(
        "peak RSS, `runstore search` processes (max)",
        mib(process_rss),
        "< 1 GiB",
        under_gib(process_rss),
    );

    println!("{}", table.markdown());
    progress(&format!("done in {:.0} s", started.elapsed().as_secs_f64()));
    Ok(())
}

/// The id of the first run in the workload file (run 0).
fn first_run_id(path: &Path) -> Result<String> {
    let mut line = Vec::new();
    BufReader::new(File::open(path)?).read_until(b'\n', &mut line)?;
    let id = string_field(&line, "run_id").ok_or("the workload's first run has no run_id")?;
    Ok(String::from_utf8(id.to_vec())?)
}

fn order_text(q: &Query) -> String {
    if q.order_by.is_empty() {
        String::new()
    } else {
        format!(" order by `{}`", q.order_by.join(", "))
    }
}

/// Pages through every result of `query`; returns (pages, runs).
fn page_through(store: &std::sync::Arc<Store>, query: &Query) -> Result<(usize, usize)> {
    let mut request = query.request();
    let (mut pages, mut runs) = (0, 0);
    loop {
        let page = search(store, &request)?;
        pages += 1;
        runs += page.runs.len();
        match page.next_page_token {
            Some(t) => request.page_token = Some(t),
            None => return Ok((pages, runs)),
        }
    }
}

/// What a spawned child did.
struct Finished {
    wall: Duration,
    stdout: String,
    rss_kib: Option<u64>,
}

/// Runs `cmd` to completion, timing it (wall clock, spawn to exit); with
/// `measure_rss`, under GNU time to learn its peak RSS.
fn spawn_timed(cmd: Command, measure_rss: bool) -> Result<Finished> {
    let rss_file = std::env::temp_dir().join(format!("runstore-e2e-rss-{}", std::process::id()));
    let mut cmd = if measure_rss {
        let mut wrapped = Command::new(GNU_TIME);
        wrapped
            .arg("-f")
            .arg("%M")
            .arg("-o")
            .arg(&rss_file)
            .arg(cmd.get_program())
            .args(cmd.get_args());
        wrapped
    } else {
        cmd
    };
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let out = cmd.output()?;
    let wall = start.elapsed();
    if !out.status.success() {
        return Err(format!(
            "{:?} failed ({}): {}",
            cmd.get_args().collect::<Vec<_>>(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into());
    }
    let rss_kib = if measure_rss {
        let text = std::fs::read_to_string(&rss_file).unwrap_or_default();
        let _ = std::fs::remove_file(&rss_file);
        text.lines().last().and_then(|l| l.trim().parse().ok())
    } else {
        None
    };
    Ok(Finished {
        wall,
        stdout: String::from_utf8(out.stdout)?,
        rss_kib,
    })
}

/// `ingested N runs, M metric points` → (N, M).
fn parse_ingested(stdout: &str) -> Result<(u64, u64)> {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("ingested "))
        .ok_or_else(|| format!("unexpected `runstore ingest` output: {stdout:?}"))?;
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        ["ingested", runs, "runs,", points, "metric", "points", ..] => {
            Ok((runs.parse()?, points.parse()?))
        }
        _ => Err(format!("unexpected `runstore ingest` output: {line:?}").into()),
    }
}

/// The value of `key=value` in a child's output.
fn field(stdout: &str, key: &str) -> Result<f64> {
    let prefix = format!("{key}=");
    stdout
        .split_whitespace()
        .find_map(|w| w.strip_prefix(&prefix))
        .ok_or_else(|| format!("no {key} in {stdout:?}"))?
        .parse()
        .map_err(|e| format!("{key}: {e}").into())
}

/// Runs in a `--format json` page.
fn count_runs(json: &str) -> usize {
    json.matches("\"run_id\":").count()
}

fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{suffix}"));
    dir.with_file_name(name)
}

fn rate(per_sec: f64) -> String {
    let n = per_sec.round() as u64;
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn mib(kib: Option<u64>) -> String {
    match kib {
        Some(k) => format!("{:.0} MiB", k as f64 / 1024.0),
        None => "n/a".into(),
    }
}

/// Child: open the store read-only and run Q7 once; prints `ms=… runs=… rss_kib=…`.
fn cold_open(args: &[String]) -> Result<()> {
    let [dir] = args else {
        return Err(USAGE.into());
    };
    let q7 = reference_queries("")
        .into_iter()
        .find(|q| q.id == "Q7")
        .ok_or("Q7 missing")?;
    let request = q7.request();
    let start = Instant::now();
    let store = Store::open_read_only(dir)?;
    let page = search(&store, &request)?;
    let elapsed = start.elapsed();
    println!(
        "ms={} runs={} rss_kib={}",
        ms(elapsed),
        page.runs.len(),
        peak_rss_kib().unwrap_or(0)
    );
    Ok(())
}

/// Child: ingest a workload file through `WriteBatch::upsert_run` and
/// `commit` into a fresh store, timing only those calls (lines are parsed
/// ahead of each batch, untimed). Prints `points=… write_ms=… snapshot_ms=…`.
fn api_ingest(args: &[String]) -> Result<()> {
    let [file, dir] = args else {
        return Err(USAGE.into());
    };
    let store = Store::open(dir)?;
    let mut input = BufReader::new(File::open(file)?);
    let mut line = String::new();
    let mut batch: Vec<RunRecord> = Vec::with_capacity(BATCH_RUNS);
    let (mut points, mut written) = (0u64, 0u64);
    let mut writing = Duration::ZERO;
    let mut line_no = 0u64;
    let mut batch_points = 0u64;
    loop {
        line.clear();
        let eof = input.read_line(&mut line)? == 0;
        if !eof && !line.trim().is_empty() {
            line_no += 1;
            let record = parse_record(line.trim()).map_err(|e| format!("{file}:{line_no}: {e}"))?;
            batch_points += points_of(&record);
            batch.push(record);
        }
        if !batch.is_empty() && (eof || batch_points >= BATCH_POINTS || batch.len() >= BATCH_RUNS) {
            let (r, d) = time(|| -> Result<()> {
                let mut w = store.write()?;
                for record in batch.drain(..) {
                    w.upsert_run(record)?;
                }
                w.commit()?;
                Ok(())
            });
            r?;
            writing += d;
            written += batch_points;
            points = written;
            batch_points = 0;
        }
        if eof {
            break;
        }
    }
    let (r, snapshot) = time(|| store.refresh_index_snapshot());
    r?;
    println!(
        "points={points} write_ms={} snapshot_ms={}",
        ms(writing),
        ms(snapshot)
    );
    Ok(())
}

/// Profiling harness: runs reference query `Qn` `TIMES` times in-process
/// (whole library search, or with `--index-only` the index search alone) and
/// prints the median in ms.
fn repeat(args: &[String]) -> Result<()> {
    let index_only = args.iter().any(|a| a == "--index-only");
    let rest: Vec<&String> = args.iter().filter(|a| *a != "--index-only").collect();
    let (dir, id, times, parent) = match rest.as_slice() {
        [dir, id, times] => (*dir, *id, *times, ""),
        [dir, id, times, parent] => (*dir, *id, *times, parent.as_str()),
        _ => return Err(USAGE.into()),
    };
    let times: usize = times.parse().map_err(|e| format!("TIMES: {e}"))?;
    let q = reference_queries(parent)
        .into_iter()
        .find(|q| q.id == id.as_str())
        .ok_or_else(|| format!("no query {id}; use Q1 … Q10"))?;
    let request = q.request();
    let store = Store::open_read_only(dir)?;
    let mut samples = Vec::with_capacity(times);
    let mut found = 0;
    for _ in 0..times {
        let (n, d) = time(|| -> Result<usize> {
            Ok(if index_only {
                let view = store.read_view()?;
                runstore_query::search_page_len(&view, &request)?.0
            } else {
                search(&store, &request)?.runs.len()
            })
        });
        found = n?;
        samples.push(d);
    }
    println!(
        "{id}: median {:.3} ms over {times}, {found} runs",
        ms(median(&samples).unwrap_or_default())
    );
    Ok(())
}
