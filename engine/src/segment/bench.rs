//! Measurements behind the settings in [`format`](mod@super::format): ignored
//! tests, run in release with output shown:
//!
//! ```text
//! cargo test --release -p runstore-engine segment::bench -- --ignored --nocapture --test-threads 1
//! ```
//!
//! The data is shaped like the reference workload (`shared/bench/gen_workload.py`):
//! per run 10 metrics of S steps, step 0..S, timestamp = run start + step * 100,
//! metric 0 accuracy-like, metric 1 loss-like, metrics 2..9 uniform random
//! doubles with Python's 53-bit `random()`; series sorted.

use std::ops::Range;
use std::path::Path;
use std::time::{Duration, Instant};

use super::format::SegmentOptions;
use super::merge::merge_segments_with;
use super::writer::{SegmentWriter, write_segment_with};
use super::{PointColumns, Segment};
use crate::metric::MetricPoint;
use parquet::basic::Encoding;

const T0: i64 = 1_700_000_000_000;

/// Python's `random.random()`: a multiple of 2^-53 in `[0, 1)`.
fn py_random(rng: &mut fastrand::Rng) -> f64 {
    (rng.u64(..) >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Appends the metric points of runs `runs` with `steps` steps each.
fn workload(runs: Range<u32>, steps: i64, rng: &mut fastrand::Rng, out: &mut PointColumns) {
    for i in runs {
        let start = T0 + i64::from(i) * 1000;
        let (final_acc, final_loss) = (py_random(rng), py_random(rng));
        for k in 0..10u32 {
            let series = (u64::from(i) << 32) | u64::from(k);
            for s in 0..steps {
                let frac = (s + 1) as f64 / steps as f64;
                let value = match k {
                    0 => final_acc * frac + py_random(rng) * 0.01 * (1.0 - frac),
                    1 => final_loss + (1.0 - final_loss) * (1.0 - frac) * py_random(rng),
                    _ => py_random(rng),
                };
                out.push(
                    series,
                    MetricPoint {
                        step: s,
                        value,
                        timestamp: start + s * 100,
                    },
                );
            }
        }
    }
}

/// The workload's "long" metric: `n` points, random values, timestamp T0 + step.
fn long_series(series: u64, n: i64, rng: &mut fastrand::Rng, out: &mut PointColumns) {
    for s in 0..n {
        out.push(
            series,
            MetricPoint {
                step: s,
                value: py_random(rng),
                timestamp: T0 + s,
            },
        );
    }
}

fn options(zstd_level: i32, page_rows: usize, value: Encoding, ints: Encoding) -> SegmentOptions {
    SegmentOptions {
        zstd_level,
        page_rows,
        value_encoding: value,
        int_encoding: ints,
        ..SegmentOptions::default()
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Compressed bytes of each column, summed over row groups.
fn column_bytes(path: &Path) -> [u64; 4] {
    let seg = Segment::open(path).unwrap();
    let mut out = [0u64; 4];
    for rg in seg.meta.metadata().row_groups() {
        for (i, c) in rg.columns().iter().enumerate() {
            out[i] += c.compressed_size() as u64;
        }
    }
    out
}

#[test]
#[ignore = "measurement; run in release with --nocapture"]
fn bench_bytes_per_point() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = fastrand::Rng::with_seed(42);
    let mut s10 = PointColumns::default();
    workload(0..10_000, 10, &mut rng, &mut s10);
    let mut s100 = PointColumns::default();
    workload(0..1_000, 100, &mut rng, &mut s100);
    let mut long = PointColumns::default();
    long_series(10, 100_000, &mut rng, &mut long);
    let sets = [("S=10", &s10), ("S=100", &s100), ("100k series", &long)];

    let bss = Encoding::BYTE_STREAM_SPLIT;
    let delta = Encoding::DELTA_BINARY_PACKED;
    let plain = Encoding::PLAIN;
    let configs = [
        (
            "zstd6 p8192 bss delta (chosen)",
            options(6, 8192, bss, delta),
        ),
        ("zstd1 p8192 bss delta", options(1, 8192, bss, delta)),
        ("zstd3 p8192 bss delta", options(3, 8192, bss, delta)),
        ("zstd9 p8192 bss delta", options(9, 8192, bss, delta)),
        ("zstd15 p8192 bss delta", options(15, 8192, bss, delta)),
        ("zstd6 p4096 bss delta", options(6, 4096, bss, delta)),
        ("zstd6 p16384 bss delta", options(6, 16_384, bss, delta)),
        ("zstd6 p20000 bss delta", options(6, 20_000, bss, delta)),
        ("zstd6 p8192 plain delta", options(6, 8192, plain, delta)),
        ("zstd6 p8192 bss plain-ints", options(6, 8192, bss, plain)),
        ("zstd9 p8192 bss plain-ints", options(9, 8192, bss, plain)),
    ];
    println!(
        "config | set | bytes/point | series+step+ts bytes/point | value bytes/point | write Mpoints/s"
    );
    for (name, opts) in &configs {
        for (set, points) in &sets {
            let f = dir.path().join("b.parquet");
            let t = Instant::now();
            let info = write_segment_with(&f, points, opts).unwrap();
            let secs = t.elapsed().as_secs_f64();
            let cols = column_bytes(&f);
            let n = points.len() as f64;
            println!(
                "{name} | {set} | {:.3} | {:.3} | {:.3} | {:.1}",
                info.bytes as f64 / n,
                (cols[0] + cols[1] + cols[2]) as f64 / n,
                cols[3] as f64 / n,
                n / secs / 1e6,
            );
        }
    }
}

/// Writes runs `0..runs` (S = 10) with a 100,000-point series in the middle,
/// streaming; returns the long series' id and the write time.
fn write_big(path: &Path, runs: u32, opts: &SegmentOptions) -> (u64, Duration, u64) {
    let mut rng = fastrand::Rng::with_seed(42);
    let long = (u64::from(runs / 2) << 32) | 10;
    let mut w = SegmentWriter::create(path, opts).unwrap();
    let mut chunk = PointColumns::default();
    let mut gen_time = Duration::ZERO;
    let t = Instant::now();
    let mut run = 0;
    while run < runs {
        let end = (run + 10_000).min(runs);
        let g = Instant::now();
        chunk.clear();
        if run <= runs / 2 && runs / 2 < end {
            workload(run..runs / 2 + 1, 10, &mut rng, &mut chunk);
            long_series(long, 100_000, &mut rng, &mut chunk);
            workload(runs / 2 + 1..end, 10, &mut rng, &mut chunk);
        } else {
            workload(run..end, 10, &mut rng, &mut chunk);
        }
        gen_time += g.elapsed();
        w.write(&chunk).unwrap();
        run = end;
    }
    let info = w.finish().unwrap();
    (long, t.elapsed() - gen_time, info.rows)
}

#[test]
#[ignore = "measurement; run in release with --nocapture"]
fn bench_read_write() {
    let dir = tempfile::tempdir().unwrap();
    // PAGES=rows,rows,... and ZSTD=level override the settings measured.
    let pages: Vec<usize> = match std::env::var("PAGES") {
        Ok(list) => list.split(',').map(|r| r.parse().unwrap()).collect(),
        Err(_) => vec![8192, 4096, 20_000],
    };
    let level =
        std::env::var("ZSTD").map_or(SegmentOptions::default().zstd_level, |z| z.parse().unwrap());
    for page_rows in pages {
        let opts = SegmentOptions {
            page_rows,
            zstd_level: level,
            ..SegmentOptions::default()
        };
        println!("--- page_rows {page_rows}, zstd {level}");
        read_write(dir.path(), &opts);
    }
}

fn read_write(dir: &Path, opts: &SegmentOptions) {
    let runs = 100_000;
    let path = dir.join("big.parquet");
    let (long, write_time, rows) = write_big(&path, runs, opts);
    let bytes = std::fs::metadata(&path).unwrap().len();
    println!(
        "write: {rows} points in {:.2} s = {:.2} Mpoints/s, {:.3} bytes/point",
        write_time.as_secs_f64(),
        rows as f64 / write_time.as_secs_f64() / 1e6,
        bytes as f64 / rows as f64
    );

    let t = Instant::now();
    let seg = Segment::open(&path).unwrap();
    println!(
        "open (map + footer + page index of {} pages): {:?}",
        seg.pages.len(),
        t.elapsed()
    );

    // Warm up, then time.
    let mut out = Vec::with_capacity(100_000);
    seg.read_series(long, &mut out).unwrap();
    assert_eq!(out.len(), 100_000);
    let mut times = Vec::new();
    for _ in 0..50 {
        out.clear();
        let t = Instant::now();
        seg.read_series(long, &mut out).unwrap();
        times.push(t.elapsed());
    }
    let best = *times.iter().min().unwrap();
    println!(
        "read_series 100k points: median {:?}, best {best:?}",
        median(times)
    );

    let mut rng = fastrand::Rng::with_seed(5);
    let mut times = Vec::new();
    for _ in 0..2000 {
        let series = (u64::from(rng.u32(0..runs)) << 32) | u64::from(rng.u32(0..10));
        out.clear();
        let t = Instant::now();
        seg.read_series(series, &mut out).unwrap();
        times.push(t.elapsed());
        assert_eq!(out.len(), 10);
    }
    let best = *times.iter().min().unwrap();
    println!(
        "read_series 10 points (random series): median {:?}, best {best:?}",
        median(times)
    );
    let mut times = Vec::new();
    for _ in 0..2000 {
        let series = (u64::from(rng.u32(0..runs)) << 32) | u64::from(rng.u32(0..10));
        out.clear();
        let t = Instant::now();
        seg.read_series_one_pass(series, &mut out).unwrap();
        times.push(t.elapsed());
        assert_eq!(out.len(), 10);
    }
    let best = *times.iter().min().unwrap();
    println!(
        "  (one-pass design: median {:?}, best {best:?})",
        median(times)
    );

    let mut times = Vec::new();
    for _ in 0..50 {
        let mut ids: Vec<u64> = (0..100)
            .map(|_| (u64::from(rng.u32(0..runs)) << 32) | u64::from(rng.u32(0..10)))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let mut cols = PointColumns::default();
        let t = Instant::now();
        seg.read_series_many(&ids, &mut cols).unwrap();
        times.push(t.elapsed());
        assert_eq!(cols.len(), ids.len() * 10);
    }
    println!(
        "read_series_many 100 random 10-point series: median {:?}",
        median(times)
    );
    let mut times = Vec::new();
    for _ in 0..20 {
        let run = rng.u32(0..runs - 200);
        let ids: Vec<u64> = (run..run + 100)
            .flat_map(|r| (0..10).map(move |k| (u64::from(r) << 32) | k))
            .collect();
        let mut cols = PointColumns::default();
        let t = Instant::now();
        seg.read_series_many(&ids, &mut cols).unwrap();
        times.push(t.elapsed());
        assert_eq!(cols.len(), 10_000);
    }
    println!(
        "read_series_many 1000 adjacent series (100 runs): median {:?}",
        median(times)
    );

    let t = Instant::now();
    let mut n = 0;
    for b in seg.scan().unwrap() {
        n += b.unwrap().len();
    }
    println!(
        "scan: {n} points in {:.2} s = {:.1} Mpoints/s",
        t.elapsed().as_secs_f64(),
        n as f64 / t.elapsed().as_secs_f64() / 1e6
    );
    drop(seg);
    std::fs::remove_file(&path).unwrap();
}

#[test]
#[ignore = "measurement; run in release with --nocapture"]
fn bench_merge() {
    let dir = tempfile::tempdir().unwrap();
    let opts = SegmentOptions::default();

    // Merge: 4 inputs of 2.5M points interleaved run by run (every 10 rows
    // the next row comes from another input), then 4 inputs over disjoint
    // run ranges, then an input merged with itself (all duplicates).
    let mut rng = fastrand::Rng::with_seed(1);
    let quarter = 25_000u32;
    for (label, split) in [("interleaved by run", true), ("disjoint run ranges", false)] {
        let mut inputs = Vec::new();
        for k in 0..4u32 {
            let mut c = PointColumns::default();
            if split {
                // Runs k, k+4, k+8, ...
                for r in 0..quarter {
                    workload(r * 4 + k..r * 4 + k + 1, 10, &mut rng, &mut c);
                }
            } else {
                workload(k * quarter..(k + 1) * quarter, 10, &mut rng, &mut c);
            }
            let f = dir.path().join(format!("in{k}.parquet"));
            write_segment_with(&f, &c, &opts).unwrap();
            inputs.push(Segment::open(&f).unwrap());
        }
        let refs: Vec<&Segment> = inputs.iter().collect();
        let out = dir.path().join("merged.parquet");
        let t = Instant::now();
        let info = merge_segments_with(&refs, &PointColumns::default(), &out, &opts).unwrap();
        let secs = t.elapsed().as_secs_f64();
        println!(
            "merge 4 x 2.5M ({label}): {} points out in {secs:.2} s = {:.2} Mpoints/s",
            info.rows,
            info.rows as f64 / secs / 1e6
        );
        std::fs::remove_file(&out).unwrap();
        if !split {
            let t = Instant::now();
            let info =
                merge_segments_with(&[refs[0], refs[0]], &PointColumns::default(), &out, &opts)
                    .unwrap();
            let secs = t.elapsed().as_secs_f64();
            println!(
                "merge 2 x 2.5M identical (all duplicates): {} points in, {} out in {secs:.2} s = {:.2} Mpoints/s in",
                2 * info.rows,
                info.rows,
                2.0 * info.rows as f64 / secs / 1e6
            );
        }
    }
}

#[test]
#[ignore = "profiling loop"]
fn profile_short_reads() {
    let path = std::path::PathBuf::from("/tmp/segbench-big.parquet");
    let runs = 100_000;
    if !path.exists() {
        write_big(&path, runs, &SegmentOptions::default());
    }
    let seg = Segment::open(&path).unwrap();
    let mut rng = fastrand::Rng::with_seed(5);
    let mut out = Vec::new();
    // Any real process has made and freed a large allocation by now, which
    // lifts glibc's dynamic mmap/trim thresholds; without this, glibc would
    // return the readers' freed buffers to the OS after every read and
    // fault them back in on the next one.
    drop(std::hint::black_box(vec![0u8; 8 << 20]));
    let t = Instant::now();
    let mut n = 0;
    while t.elapsed() < Duration::from_secs(4) {
        let series = (u64::from(rng.u32(0..runs)) << 32) | u64::from(rng.u32(0..10));
        out.clear();
        if std::env::var_os("ONE_PASS").is_some() {
            seg.read_series_one_pass(series, &mut out).unwrap();
        } else {
            seg.read_series(series, &mut out).unwrap();
        }
        n += 1;
    }
    println!("{n} reads, {:?} each", t.elapsed() / n);
}
