//! Coalescing: what is left of a run's outbox entries, and `runs/log-batch`
//! calls filled from the front of consecutive entries up to MLflow's limits.
//!
//! An entry is applied in this order: restore (if it restores the run),
//! tag deletions, then its params, tags and metric points (the *batch
//! content*), then dataset inputs, the status/end time/name update, and a
//! delete (if it deletes the run). Batch content of consecutive entries is
//! merged into one call as long as no other step lies between them, so a
//! training loop's thousand single-point commits become one call.

use crate::engine::{MetricPoint, OutboxEntry, OutboxItem, RunDelta};
use crate::mlflow::{KeyValue, LogBatch, Metric};

/// MLflow's `log_batch` limits (`mlflow/utils/validation.py`).
const MAX_METRICS: usize = 1000;
const MAX_PARAMS: usize = 100;
const MAX_TAGS: usize = 100;
const MAX_ENTITIES: usize = 1000;
/// MLflow documents 1 MB as the largest `log-batch` request; stay below it.
const MAX_REQUEST_BYTES: usize = 900_000;

/// What is left of one outbox entry of a run, and what became of the rest.
#[derive(Debug)]
pub(crate) struct Pending {
    /// The entry's sequence number.
    pub seq: u64,
    /// When it was recorded.
    pub recorded_ms: i64,
    /// What is still to deliver.
    pub delta: RunDelta,
    /// Whether part of it was delivered or parked (its rest must be written back).
    pub touched: bool,
    /// Parts the server refused for good, and why.
    pub parked: Option<(RunDelta, Vec<String>)>,
}

impl Pending {
    /// The pending form of entry `seq` of a run, recorded at `recorded_ms`.
    pub fn new(seq: u64, recorded_ms: i64, delta: RunDelta) -> Self {
        Pending {
            seq,
            recorded_ms,
            delta,
            touched: false,
            parked: None,
        }
    }

    /// What to report of it: its parked part (with the reasons), and its
    /// rest when part of it was delivered.
    pub fn settle(self) -> (Option<(OutboxItem, String)>, Settled) {
        let item = |delta| OutboxItem {
            seq: self.seq,
            recorded_ms: self.recorded_ms,
            entry: OutboxEntry::Run(delta),
        };
        let parked = self
            .parked
            .map(|(part, reasons)| (item(part), reasons.join("; ")));
        let settled = if self.delta.is_empty() {
            Settled::Done(self.seq)
        } else if self.touched {
            Settled::Rest(Box::new(item(self.delta)))
        } else {
            Settled::Untouched
        };
        (parked, settled)
    }

    /// Sets `part` aside as refused for `reason`.
    pub fn park(&mut self, part: RunDelta, reason: &str) {
        self.touched = true;
        match &mut self.parked {
            Some((parked, reasons)) => {
                parked.absorb(part);
                if !reasons.iter().any(|r| r == reason) {
                    reasons.push(reason.to_owned());
                }
            }
            None => self.parked = Some((part, vec![reason.to_owned()])),
        }
    }

    /// Parks everything left of the entry.
    pub fn park_all(&mut self, reason: &str) {
        let mut rest = RunDelta::new(self.delta.run_id, self.delta.experiment);
        std::mem::swap(&mut rest, &mut self.delta);
        self.park(rest, reason);
    }

    /// Whether steps that must run before its batch content are left.
    pub fn has_pre_steps(&self) -> bool {
        self.delta.lifecycle == Some(crate::engine::LifecycleStage::Active)
            || !self.delta.deleted_tags.is_empty()
    }

    /// Whether steps that must run after its batch content are left.
    pub fn has_post_steps(&self) -> bool {
        let d = &self.delta;
        !d.inputs.is_empty()
            || d.status.is_some()
            || d.end_time.is_some()
            || d.run_name.is_some()
            || d.lifecycle == Some(crate::engine::LifecycleStage::Deleted)
    }

    /// Whether params, tags or points are left.
    pub fn has_batch_content(&self) -> bool {
        let d = &self.delta;
        !d.params.is_empty() || !d.tags.is_empty() || d.metrics.iter().any(|(_, p)| !p.is_empty())
    }
}

/// What became of an entry.
#[derive(Debug)]
pub(crate) enum Settled {
    /// Nothing of it is left: remove entry `.0`.
    Done(u64),
    /// Part of it is left: write this back.
    Rest(Box<OutboxItem>),
    /// Nothing was done with it.
    Untouched,
}

/// One param, tag or metric point of a `log-batch` call.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Item {
    /// A param.
    Param(String, String),
    /// A tag.
    Tag(String, String),
    /// A metric point.
    Point(String, MetricPoint),
}

impl Item {
    /// Its part of a delta (for parking it).
    pub fn into_delta(self, template: &RunDelta) -> RunDelta {
        let mut d = RunDelta::new(template.run_id, template.experiment);
        match self {
            Item::Param(k, v) => d.params.push((k, v)),
            Item::Tag(k, v) => d.tags.push((k, v)),
            Item::Point(k, p) => d.metrics.push((k, vec![p])),
        }
        d
    }

    fn json_bytes(&self) -> usize {
        match self {
            Item::Param(k, v) | Item::Tag(k, v) => json_len(k) + json_len(v) + 24,
            Item::Point(k, _) => json_len(k) + 96,
        }
    }
}

/// How much a call takes from the front of one entry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Take {
    /// The entry's index among the run's pending entries.
    pub entry: usize,
    /// Params taken.
    pub params: usize,
    /// Tags taken.
    pub tags: usize,
    /// Metric points taken (across keys, in order).
    pub points: usize,
}

/// A `log-batch` call's worth of items.
#[derive(Debug, Default)]
pub(crate) struct Chunk {
    /// The items, each with the index of the entry it came from.
    pub items: Vec<(usize, Item)>,
    /// What the call takes from each entry.
    pub taken: Vec<Take>,
}

#[derive(Default)]
struct Counts {
    metrics: usize,
    params: usize,
    tags: usize,
    bytes: usize,
}

/// Whether an item fits the call being filled.
#[derive(PartialEq, Eq)]
enum Fit {
    Yes,
    /// Its kind's limit is reached; other kinds may still fit.
    KindFull,
    /// The call is full.
    Full,
}

impl Counts {
    fn admit(&mut self, item: &Item, first: bool) -> Fit {
        let (m, p, t) = match item {
            Item::Param(..) => (0, 1, 0),
            Item::Tag(..) => (0, 0, 1),
            Item::Point(..) => (1, 0, 0),
        };
        let bytes = item.json_bytes();
        if !first {
            if self.metrics + self.params + self.tags >= MAX_ENTITIES
                || self.bytes + bytes > MAX_REQUEST_BYTES
            {
                return Fit::Full;
            }
            if self.metrics + m > MAX_METRICS
                || self.params + p > MAX_PARAMS
                || self.tags + t > MAX_TAGS
            {
                return Fit::KindFull;
            }
        }
        (self.metrics, self.params, self.tags) = (self.metrics + m, self.params + p, self.tags + t);
        self.bytes += bytes;
        Fit::Yes
    }
}

/// Fills one call from the batch content of `entries[start]` and, while
/// nothing else lies between, of the entries after it. Params, tags and
/// points are taken from the front of each list; a list whose kind is full
/// waits for the next call while the others go on filling this one.
pub(crate) fn build_chunk(entries: &[Pending], start: usize) -> Chunk {
    let mut chunk = Chunk::default();
    let mut counts = Counts::default();
    let mut params: Vec<(&str, &str)> = Vec::new();
    for (idx, pending) in entries.iter().enumerate().skip(start) {
        if idx > start && pending.has_pre_steps() {
            break;
        }
        let d = &pending.delta;
        let mut take = Take {
            entry: idx,
            ..Take::default()
        };
        let mut full = false;
        let mut whole = true;
        for (k, v) in &d.params {
            match params.iter().find(|(pk, _)| pk == k) {
                // The same param twice (MLflow refuses duplicate keys in one call):
                // equal values are one param, a different value waits for the next call.
                Some((_, pv)) if pv == v => {
                    take.params += 1;
                    continue;
                }
                Some(_) => {
                    whole = false;
                    break;
                }
                None => {}
            }
            let item = Item::Param(k.clone(), v.clone());
            match counts.admit(&item, chunk.items.is_empty()) {
                Fit::Yes => {}
                Fit::KindFull => {
                    whole = false;
                    break;
                }
                Fit::Full => {
                    full = true;
                    break;
                }
            }
            params.push((k, v));
            chunk.items.push((idx, item));
            take.params += 1;
        }
        if !full {
            for (k, v) in &d.tags {
                let item = Item::Tag(k.clone(), v.clone());
                match counts.admit(&item, chunk.items.is_empty()) {
                    Fit::Yes => {}
                    Fit::KindFull => {
                        whole = false;
                        break;
                    }
                    Fit::Full => {
                        full = true;
                        break;
                    }
                }
                chunk.items.push((idx, item));
                take.tags += 1;
            }
        }
        if !full {
            'keys: for (k, points) in &d.metrics {
                for p in points {
                    let item = Item::Point(k.clone(), *p);
                    match counts.admit(&item, chunk.items.is_empty()) {
                        Fit::Yes => {}
                        Fit::KindFull => {
                            whole = false;
                            break 'keys;
                        }
                        Fit::Full => {
                            full = true;
                            break 'keys;
                        }
                    }
                    chunk.items.push((idx, item));
                    take.points += 1;
                }
            }
        }
        if take
            != (Take {
                entry: idx,
                ..Take::default()
            })
        {
            chunk.taken.push(take);
        }
        if full || !whole || pending.has_post_steps() {
            break;
        }
    }
    chunk
}

/// Removes what `taken` names from the front of the entries.
pub(crate) fn consume(entries: &mut [Pending], taken: &[Take]) {
    for t in taken {
        let Some(pending) = entries.get_mut(t.entry) else {
            continue;
        };
        let d = &mut pending.delta;
        d.params.drain(..t.params.min(d.params.len()));
        d.tags.drain(..t.tags.min(d.tags.len()));
        let mut left = t.points;
        while left > 0 && !d.metrics.is_empty() {
            let points = &mut d.metrics[0].1;
            let n = left.min(points.len());
            points.drain(..n);
            left -= n;
            if points.is_empty() {
                d.metrics.remove(0);
            }
        }
        d.metrics.retain(|(_, p)| !p.is_empty());
        pending.touched = true;
    }
}

/// The `log-batch` request for `items` on remote run `run_id`.
pub(crate) fn request<'a>(run_id: &str, items: impl IntoIterator<Item = &'a Item>) -> LogBatch {
    let mut batch = LogBatch {
        run_id: run_id.to_owned(),
        ..LogBatch::default()
    };
    for item in items {
        match item {
            Item::Param(key, value) => batch.params.push(KeyValue {
                key: key.clone(),
                value: value.clone(),
            }),
            Item::Tag(key, value) => batch.tags.push(KeyValue {
                key: key.clone(),
                value: value.clone(),
            }),
            Item::Point(key, p) => batch.metrics.push(Metric {
                key: key.clone(),
                value: p.value,
                timestamp: p.timestamp,
                step: p.step,
                ..Metric::default()
            }),
        }
    }
    batch
}

/// The length of `s` as a JSON string's contents (escapes counted).
fn json_len(s: &str) -> usize {
    s.bytes()
        .map(|b| match b {
            b'"' | b'\\' => 2,
            0..=0x1f => 6,
            _ => 1,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{ExperimentId, LifecycleStage, RunId};

    fn entry(seq: u64, f: impl FnOnce(&mut RunDelta)) -> Pending {
        let mut d = RunDelta::new(RunId::from_u128(1), ExperimentId(0));
        f(&mut d);
        Pending {
            seq,
            recorded_ms: 0,
            delta: d,
            touched: false,
            parked: None,
        }
    }

    fn points(n: i64) -> Vec<MetricPoint> {
        (0..n)
            .map(|s| MetricPoint {
                step: s,
                value: s as f64,
                timestamp: 1000 + s,
            })
            .collect()
    }

    #[test]
    fn consecutive_entries_fill_calls_to_mlflows_limits() {
        // 2,500 single-point commits: three calls of 1000, 1000 and 500 points.
        let mut entries: Vec<Pending> = (0..2500)
            .map(|s| {
                entry(s as u64, |d| {
                    d.metrics = vec![("loss".into(), vec![points(2500)[s]])]
                })
            })
            .collect();
        let mut sizes = Vec::new();
        let mut start = 0;
        while start < entries.len() {
            if !entries[start].has_batch_content() {
                start += 1;
                continue;
            }
            let chunk = build_chunk(&entries, start);
            sizes.push(chunk.items.len());
            consume(&mut entries, &chunk.taken);
        }
        assert_eq!(sizes, vec![1000, 1000, 500]);
        assert!(entries.iter().all(|e| !e.has_batch_content() && e.touched));
    }

    #[test]
    fn params_and_tags_have_their_own_limits() {
        let entries = vec![entry(0, |d| {
            d.params = (0..150).map(|i| (format!("p{i}"), "v".into())).collect();
            d.tags = (0..10).map(|i| (format!("t{i}"), "v".into())).collect();
            d.metrics = vec![("m".into(), points(2000))];
        })];
        let mut entries = entries;
        let mut calls = Vec::new();
        while entries[0].has_batch_content() {
            let chunk = build_chunk(&entries, 0);
            let t = chunk.taken[0];
            calls.push((t.params, t.tags, t.points));
            consume(&mut entries, &chunk.taken);
        }
        // 100 params fill their share and the tags and points fill the rest.
        assert_eq!(calls, vec![(100, 10, 890), (50, 0, 950), (0, 0, 160)]);
    }

    #[test]
    fn other_steps_end_a_call() {
        let entries = vec![
            entry(0, |d| d.metrics = vec![("m".into(), points(3))]),
            entry(1, |d| {
                d.metrics = vec![("m".into(), points(3))];
                d.status = Some(crate::engine::RunStatus::Finished);
            }),
            entry(2, |d| d.metrics = vec![("m".into(), points(3))]),
            entry(3, |d| {
                d.lifecycle = Some(LifecycleStage::Active);
                d.metrics = vec![("m".into(), points(3))];
            }),
        ];
        // Entry 1's update must follow its points and precede entry 2's.
        let chunk = build_chunk(&entries, 0);
        assert_eq!(chunk.items.len(), 6);
        assert_eq!(chunk.taken.len(), 2);
        // A restore must come before the points that follow it.
        let chunk = build_chunk(&entries, 2);
        assert_eq!(chunk.taken.len(), 1);
    }

    #[test]
    fn a_param_twice_is_sent_once_or_waits() {
        let entries = vec![
            entry(0, |d| d.params = vec![("lr".into(), "0.1".into())]),
            entry(1, |d| {
                d.params = vec![("lr".into(), "0.1".into()), ("b".into(), "1".into())]
            }),
            entry(2, |d| d.params = vec![("lr".into(), "0.2".into())]),
        ];
        let chunk = build_chunk(&entries, 0);
        let request = request("r", chunk.items.iter().map(|(_, i)| i));
        assert_eq!(request.params.len(), 2);
        assert_eq!(chunk.taken.iter().map(|t| t.params).sum::<usize>(), 3);
    }

    #[test]
    fn large_values_split_calls_below_a_megabyte() {
        let big = "x".repeat(6000);
        let entries = vec![entry(0, |d| {
            d.params = (0..100).map(|i| (format!("p{i}"), big.clone())).collect();
            d.tags = (0..100)
                .map(|i| (format!("t{i}"), "y".repeat(8000)))
                .collect();
        })];
        let chunk = build_chunk(&entries, 0);
        let request = request("r", chunk.items.iter().map(|(_, i)| i));
        let bytes = serde_json::to_vec(&request).unwrap().len();
        assert!(bytes < 1_000_000, "{bytes}");
        assert!(chunk.items.len() < 200);
    }
}
