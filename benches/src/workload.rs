//! Run records shaped like the reference workload, generated in memory.
//!
//! `shared/bench/gen_workload.py` is the reference: 10 experiments
//! (`exp-00`..`exp-09`, run `i` in `exp-(i % 10)`), per run 20 params
//! (`p00`..`p19`), 10 tags (`t00`..`t09`) and 10 metrics (`m00`..`m09`) of `S`
//! steps, 10% of runs nested under an earlier run of the same experiment,
//! statuses FINISHED 80%, FAILED 10%, RUNNING 5%, KILLED 5%, and optionally a
//! metric `long` of `L` points on run 0.
//!
//! [`Workload`] draws from the same value domains with the same shapes, but
//! with its own random generator (not Python's Mersenne Twister) and its own
//! run ids, so its records are not byte-identical to the script's: use it for
//! criterion benches, and the script's file for the figures of record.
//!
//! ```
//! use runstore_bench::workload::Workload;
//!
//! let mut w = Workload::new(10);
//! let first = w.next_record();
//! assert_eq!(first.experiment.as_deref(), Some("exp-00"));
//! assert_eq!(first.params.len(), 20);
//! assert_eq!(first.metrics.iter().map(|(_, p)| p.len()).sum::<usize>(), 100);
//! ```

use std::collections::HashMap;
use std::fmt::Write as _;

use runstore::engine::TAG_PARENT_RUN_ID;
use runstore::{MetricPoint, RunId, RunRecord, RunStatus, Store};

/// The workload's time origin, ms since the epoch.
pub const T0: i64 = 1_700_000_000_000;

/// Number of experiments runs are spread over.
pub const EXPERIMENTS: u64 = 10;

/// Name of run 0's long metric.
pub const LONG_METRIC: &str = "long";

const WORDS: [&str; 8] = [
    "alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta",
];

/// A small, fast, deterministic generator (SplitMix64).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform double in `[0, 1)`, a multiple of 2^-53 like Python's `random()`.
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform integer in `[0, n)` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        // Multiply-shift: unbiased enough for benchmark data.
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A uniformly chosen element of `items` (non-empty).
    pub fn choose<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// The id of run `i` of a generated workload (deterministic).
pub fn run_id(i: u64) -> RunId {
    let mut rng = Rng::new(i ^ 0x5eed_0000_0000_0000);
    RunId::from_u128((u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64()))
}

/// Run 0's long metric: `n` points, steps `0..n`, random values, timestamp `T0 + step`.
pub fn long_metric(n: i64) -> Vec<MetricPoint> {
    let mut rng = Rng::new(43);
    (0..n)
        .map(|step| MetricPoint {
            step,
            value: rng.f64(),
            timestamp: T0 + step,
        })
        .collect()
}

/// Generates the runs of a workload in order, remembering the nesting so that
/// [`Workload::top_parent`] can name Q10's parent.
#[derive(Clone, Debug)]
pub struct Workload {
    rng: Rng,
    steps: i64,
    next: u64,
    parents: Vec<Vec<RunId>>,
    children: HashMap<RunId, u64>,
}

impl Workload {
    /// A workload whose runs log `steps` points per metric.
    pub fn new(steps: i64) -> Self {
        Workload {
            rng: Rng::new(42),
            steps,
            next: 0,
            parents: vec![Vec::new(); EXPERIMENTS as usize],
            children: HashMap::new(),
        }
    }

    /// How many records were generated so far.
    pub fn generated(&self) -> u64 {
        self.next
    }

    /// The next run record (run `self.generated()`).
    pub fn next_record(&mut self) -> RunRecord {
        let i = self.next;
        self.next += 1;
        let rng = &mut self.rng;
        let exp = i % EXPERIMENTS;
        let start = T0 + i as i64 * 1000;
        let x = rng.f64();
        let status = if x < 0.80 {
            RunStatus::Finished
        } else if x < 0.90 {
            RunStatus::Failed
        } else if x < 0.95 {
            RunStatus::Running
        } else {
            RunStatus::Killed
        };
        let mut params = vec![
            (
                "p00".into(),
                rng.choose(&["0.1", "0.01", "0.001", "0.0001"]).to_string(),
            ),
            (
                "p01".into(),
                rng.choose(&["16", "32", "64", "128"]).to_string(),
            ),
            (
                "p02".into(),
                rng.choose(&["adam", "sgd", "adamw"]).to_string(),
            ),
            (
                "p03".into(),
                rng.choose(&["rf", "xgb", "mlp", "cnn", "transformer"])
                    .to_string(),
            ),
        ];
        for k in 4..20 {
            params.push((format!("p{k:02}"), rng.below(1000).to_string()));
        }
        let mut tags = vec![
            ("t00".to_owned(), format!("team-{}", rng.below(20))),
            ("t01".to_owned(), format!("v{}", 1 + rng.below(5))),
        ];
        for k in 2..10 {
            let value = if k % 2 == 1 {
                rng.choose(&WORDS).to_string()
            } else {
                rng.below(10_000).to_string()
            };
            tags.push((format!("t{k:02}"), value));
        }
        let (final_acc, final_loss) = (rng.f64(), rng.f64());
        let steps = self.steps;
        let mut metrics = Vec::with_capacity(10);
        for k in 0..10 {
            let points = (0..steps)
                .map(|s| {
                    let frac = (s + 1) as f64 / steps as f64;
                    let value = match k {
                        0 => final_acc * frac + rng.f64() * 0.01 * (1.0 - frac),
                        1 => final_loss + (1.0 - final_loss) * (1.0 - frac) * rng.f64(),
                        _ => rng.f64(),
                    };
                    MetricPoint {
                        step: s,
                        value,
                        timestamp: start + s * 100,
                    }
                })
                .collect();
            metrics.push((format!("m{k:02}"), points));
        }
        let id = run_id(i);
        let siblings = &mut self.parents[exp as usize];
        if !siblings.is_empty() && rng.f64() < 0.10 {
            let parent = *rng.choose(siblings);
            *self.children.entry(parent).or_default() += 1;
            tags.push((TAG_PARENT_RUN_ID.to_owned(), parent.to_string()));
        } else {
            siblings.push(id);
            if siblings.len() > 50 {
                siblings.remove(0);
            }
        }
        let user = rng.choose(&["alice", "bob", "carol", "dave"]).to_string();
        RunRecord {
            experiment: Some(format!("exp-{exp:02}")),
            run_id: Some(id),
            run_name: Some(format!("run-{i}")),
            status: Some(status),
            start_time: Some(start),
            end_time: (status != RunStatus::Running).then_some(start + 60_000),
            user: Some(user),
            params,
            tags,
            metrics,
            ..RunRecord::default()
        }
    }

    /// The parent with most children so far (ties: the larger id, as the
    /// script breaks them), with its number of children.
    pub fn top_parent(&self) -> Option<(RunId, u64)> {
        self.children
            .iter()
            .map(|(&id, &n)| (n, id))
            .max()
            .map(|(n, id)| (id, n))
    }
}

/// Points in a record.
pub fn points_of(record: &RunRecord) -> u64 {
    record.metrics.iter().map(|(_, p)| p.len() as u64).sum()
}

/// Writes the next `runs` records of `workload` into `store`, committing every
/// `batch_runs` runs; returns the number of metric points written. With
/// `long_steps > 0`, run 0 (if among them) also gets [`long_metric`]`(long_steps)`.
pub fn populate(
    store: &Store,
    workload: &mut Workload,
    runs: u64,
    batch_runs: usize,
    long_steps: i64,
) -> runstore::engine::Result<u64> {
    let mut points = 0;
    let end = workload.generated() + runs;
    while workload.generated() < end {
        let mut batch = store.write()?;
        for _ in 0..batch_runs {
            if workload.generated() == end {
                break;
            }
            let first = workload.generated() == 0;
            let mut record = workload.next_record();
            if first && long_steps > 0 {
                record
                    .metrics
                    .push((LONG_METRIC.to_owned(), long_metric(long_steps)));
            }
            points += points_of(&record);
            batch.upsert_run(record)?;
        }
        batch.commit()?;
    }
    Ok(points)
}

/// A record as one line of the contract's JSON Lines format (no newline).
///
/// ```
/// use runstore_bench::workload::{Workload, to_jsonl};
///
/// let record = Workload::new(2).next_record();
/// let line = to_jsonl(&record);
/// assert_eq!(runstore::record::parse_record(&line), Ok(record));
/// ```
pub fn to_jsonl(record: &RunRecord) -> String {
    let mut out = String::with_capacity(4096);
    out.push('{');
    let mut first = true;
    let mut key = |out: &mut String, k: &str| {
        if !std::mem::take(&mut first) {
            out.push(',');
        }
        json_string(out, k);
        out.push(':');
    };
    if let Some(e) = &record.experiment {
        key(&mut out, "experiment");
        json_string(&mut out, e);
    }
    if let Some(id) = record.run_id {
        key(&mut out, "run_id");
        json_string(&mut out, &id.to_string());
    }
    if let Some(n) = &record.run_name {
        key(&mut out, "run_name");
        json_string(&mut out, n);
    }
    if let Some(s) = record.status {
        key(&mut out, "status");
        json_string(&mut out, s.as_str());
    }
    if let Some(t) = record.start_time {
        key(&mut out, "start_time");
        let _ = write!(out, "{t}");
    }
    if let Some(t) = record.end_time {
        key(&mut out, "end_time");
        let _ = write!(out, "{t}");
    }
    if let Some(u) = &record.user {
        key(&mut out, "user");
        json_string(&mut out, u);
    }
    if let Some(l) = record.lifecycle_stage {
        key(&mut out, "lifecycle_stage");
        json_string(&mut out, l.as_str());
    }
    for (name, map) in [("params", &record.params), ("tags", &record.tags)] {
        key(&mut out, name);
        out.push('{');
        for (i, (k, v)) in map.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            json_string(&mut out, k);
            out.push(':');
            json_string(&mut out, v);
        }
        out.push('}');
    }
    key(&mut out, "metrics");
    out.push('{');
    for (i, (k, points)) in record.metrics.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_string(&mut out, k);
        out.push_str(":[");
        for (j, p) in points.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            let _ = write!(out, "[{},", p.step);
            if p.value.is_finite() {
                let _ = write!(out, "{:?}", p.value);
            } else {
                json_string(&mut out, &runstore::output::value_text(p.value));
            }
            let _ = write!(out, ",{}]", p.timestamp);
        }
        out.push(']');
    }
    out.push('}');
    out.push('}');
    out
}

fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_match_the_reference_script() {
        let mut w = Workload::new(3);
        let records: Vec<RunRecord> = (0..2000).map(|_| w.next_record()).collect();
        assert_eq!(records[13].experiment.as_deref(), Some("exp-03"));
        assert!(
            records
                .iter()
                .all(|r| r.params.len() == 20 && r.metrics.len() == 10)
        );
        assert!(records.iter().all(|r| points_of(r) == 30));
        let nested = records
            .iter()
            .filter(|r| r.tags.iter().any(|(k, _)| k == TAG_PARENT_RUN_ID))
            .count();
        assert!((100..300).contains(&nested), "{nested} nested runs");
        let failed = records
            .iter()
            .filter(|r| r.status == Some(RunStatus::Failed))
            .count();
        assert!((120..280).contains(&failed), "{failed} failed runs");
        let (parent, n) = w.top_parent().expect("nested runs exist");
        assert!(n >= 2);
        assert!(records.iter().any(|r| r.run_id == Some(parent)));
    }

    #[test]
    fn jsonl_round_trips_through_the_parser() {
        let mut w = Workload::new(4);
        for _ in 0..50 {
            let mut record = w.next_record();
            record
                .tags
                .push(("quote\"back\\slash".into(), "tab\there".into()));
            record.metrics[2].1[0].value = f64::NAN;
            record.metrics[3].1[0].value = f64::NEG_INFINITY;
            let parsed = runstore::record::parse_record(&to_jsonl(&record));
            let mut parsed = parsed.expect("the line parses");
            assert!(parsed.metrics[2].1[0].value.is_nan());
            parsed.metrics[2].1[0].value = 0.0;
            record.metrics[2].1[0].value = 0.0;
            // The parser orders maps by key; compare as sets.
            for r in [&mut parsed, &mut record] {
                r.params.sort();
                r.tags.sort();
                r.metrics.sort_by(|a, b| a.0.cmp(&b.0));
            }
            assert_eq!(parsed, record);
        }
    }

    #[test]
    fn run_ids_are_distinct() {
        let ids: std::collections::HashSet<RunId> = (0..10_000).map(run_id).collect();
        assert_eq!(ids.len(), 10_000);
    }

    #[test]
    fn long_metric_is_ordered() {
        let pts = long_metric(1000);
        assert_eq!(pts.len(), 1000);
        assert!(pts.windows(2).all(|w| w[0].step < w[1].step));
    }
}
