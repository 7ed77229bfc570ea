//! The outbox's stored form.
//!
//! ```text
//! kind (1 byte: 1 run, 2 experiment) | run id (16 bytes, runs only) | postcard((recorded_ms, body))
//! ```
//!
//! The run id sits in a fixed place so a summary counts entries per run
//! without decoding them. In a run's body, each metric's points are
//! delta-coded — step from the previous step, timestamp from the previous
//! timestamp (the first from the commit's time) — so postcard's varints keep
//! a point at about a dozen bytes (the value's 8 bytes, bit for bit, plus a
//! byte or two each for step and timestamp).

use serde::{Deserialize, Serialize};

use super::{ExperimentOp, OutboxEntry, OutboxItem, RunCreated, RunDelta};
use crate::error::{Error, Result};
use crate::metric::MetricPoint;
use crate::types::{DatasetInput, ExperimentId, LifecycleStage, RunId, RunStatus};

const KIND_RUN: u8 = 1;
const KIND_EXPERIMENT: u8 = 2;

/// A point as stored: (step delta, timestamp delta, value).
type StoredPoint = (i64, i64, f64);

#[derive(Serialize, Deserialize)]
struct StoredRun {
    experiment: u32,
    created: Option<(i64, String, String)>,
    status: Option<u8>,
    end_time: Option<i64>,
    run_name: Option<String>,
    lifecycle: Option<u8>,
    params: Vec<(String, String)>,
    tags: Vec<(String, String)>,
    deleted_tags: Vec<String>,
    metrics: Vec<(String, Vec<StoredPoint>)>,
    inputs: Vec<DatasetInput>,
}

#[derive(Serialize, Deserialize)]
enum StoredExperiment {
    Created(u32, String, Vec<(String, String)>),
    Renamed(u32, String),
    Deleted(u32),
    Restored(u32),
    TagSet(u32, String, String),
    TagDeleted(u32, String),
}

fn corrupt(detail: impl std::fmt::Display) -> Error {
    Error::corrupt("outbox entry", detail)
}

/// Encodes `entry`, recorded at `recorded_ms`.
pub(crate) fn encode_entry(entry: &OutboxEntry, recorded_ms: i64) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(64);
    match entry {
        OutboxEntry::Run(d) => {
            out.push(KIND_RUN);
            out.extend_from_slice(&d.run_id.to_bytes());
            let body = stored_run(d, recorded_ms);
            postcard::to_io(&(recorded_ms, body), &mut out).map_err(corrupt)?;
        }
        OutboxEntry::Experiment(op) => {
            out.push(KIND_EXPERIMENT);
            postcard::to_io(&(recorded_ms, stored_experiment(op)), &mut out).map_err(corrupt)?;
        }
    }
    Ok(out)
}

/// The run an encoded entry belongs to (`None` for an experiment's), and
/// when it was recorded, without decoding the rest.
pub(crate) fn peek_run(bytes: &[u8]) -> Result<(Option<RunId>, i64)> {
    let (kind, rest) = bytes.split_first().ok_or_else(|| corrupt("empty"))?;
    let (run, rest) = match *kind {
        KIND_RUN => {
            let (id, rest) = rest
                .split_first_chunk::<16>()
                .ok_or_else(|| corrupt("truncated run id"))?;
            (Some(RunId::from_u128(u128::from_be_bytes(*id))), rest)
        }
        KIND_EXPERIMENT => (None, rest),
        other => return Err(corrupt(format!("unknown kind {other}"))),
    };
    let (recorded_ms, _) = postcard::take_from_bytes::<i64>(rest).map_err(corrupt)?;
    Ok((run, recorded_ms))
}

/// Decodes the entry stored under `seq`.
pub(crate) fn decode_item(seq: u64, bytes: &[u8]) -> Result<OutboxItem> {
    let (kind, rest) = bytes.split_first().ok_or_else(|| corrupt("empty"))?;
    match *kind {
        KIND_RUN => {
            let (id, rest) = rest
                .split_first_chunk::<16>()
                .ok_or_else(|| corrupt("truncated run id"))?;
            let run_id = RunId::from_u128(u128::from_be_bytes(*id));
            let (recorded_ms, body): (i64, StoredRun) =
                postcard::from_bytes(rest).map_err(corrupt)?;
            Ok(OutboxItem {
                seq,
                recorded_ms,
                entry: OutboxEntry::Run(run_delta(run_id, body, recorded_ms)?),
            })
        }
        KIND_EXPERIMENT => {
            let (recorded_ms, body): (i64, StoredExperiment) =
                postcard::from_bytes(rest).map_err(corrupt)?;
            Ok(OutboxItem {
                seq,
                recorded_ms,
                entry: OutboxEntry::Experiment(experiment_op(body)),
            })
        }
        other => Err(corrupt(format!("unknown kind {other}"))),
    }
}

fn stored_run(d: &RunDelta, recorded_ms: i64) -> StoredRun {
    StoredRun {
        experiment: d.experiment.0,
        created: d
            .created
            .as_ref()
            .map(|c| (c.start_time, c.run_name.clone(), c.user.clone())),
        status: d.status.map(RunStatus::code),
        end_time: d.end_time,
        run_name: d.run_name.clone(),
        lifecycle: d.lifecycle.map(LifecycleStage::code),
        params: d.params.clone(),
        tags: d.tags.clone(),
        deleted_tags: d.deleted_tags.clone(),
        metrics: d
            .metrics
            .iter()
            .map(|(key, points)| (key.clone(), delta_code(points, recorded_ms)))
            .collect(),
        inputs: d.inputs.clone(),
    }
}

fn run_delta(run_id: RunId, s: StoredRun, recorded_ms: i64) -> Result<RunDelta> {
    let status = match s.status {
        None => None,
        Some(c) => Some(RunStatus::from_code(c).ok_or_else(|| corrupt(format!("status {c}")))?),
    };
    let lifecycle = match s.lifecycle {
        None => None,
        Some(c) => {
            Some(LifecycleStage::from_code(c).ok_or_else(|| corrupt(format!("lifecycle {c}")))?)
        }
    };
    Ok(RunDelta {
        run_id,
        experiment: ExperimentId(s.experiment),
        created: s.created.map(|(start_time, run_name, user)| RunCreated {
            start_time,
            run_name,
            user,
        }),
        status,
        end_time: s.end_time,
        run_name: s.run_name,
        lifecycle,
        params: s.params,
        tags: s.tags,
        deleted_tags: s.deleted_tags,
        metrics: s
            .metrics
            .into_iter()
            .map(|(key, points)| (key, delta_decode(&points, recorded_ms)))
            .collect(),
        inputs: s.inputs,
    })
}

fn delta_code(points: &[MetricPoint], recorded_ms: i64) -> Vec<StoredPoint> {
    let (mut step, mut ts) = (0i64, recorded_ms);
    points
        .iter()
        .map(|p| {
            let out = (
                p.step.wrapping_sub(step),
                p.timestamp.wrapping_sub(ts),
                p.value,
            );
            (step, ts) = (p.step, p.timestamp);
            out
        })
        .collect()
}

fn delta_decode(points: &[StoredPoint], recorded_ms: i64) -> Vec<MetricPoint> {
    let (mut step, mut ts) = (0i64, recorded_ms);
    points
        .iter()
        .map(|&(ds, dt, value)| {
            step = step.wrapping_add(ds);
            ts = ts.wrapping_add(dt);
            MetricPoint {
                step,
                value,
                timestamp: ts,
            }
        })
        .collect()
}

fn stored_experiment(op: &ExperimentOp) -> StoredExperiment {
    match op.clone() {
        ExperimentOp::Created { id, name, tags } => StoredExperiment::Created(id.0, name, tags),
        ExperimentOp::Renamed { id, name } => StoredExperiment::Renamed(id.0, name),
        ExperimentOp::Deleted { id } => StoredExperiment::Deleted(id.0),
        ExperimentOp::Restored { id } => StoredExperiment::Restored(id.0),
        ExperimentOp::TagSet { id, key, value } => StoredExperiment::TagSet(id.0, key, value),
        ExperimentOp::TagDeleted { id, key } => StoredExperiment::TagDeleted(id.0, key),
    }
}

fn experiment_op(s: StoredExperiment) -> ExperimentOp {
    match s {
        StoredExperiment::Created(id, name, tags) => ExperimentOp::Created {
            id: ExperimentId(id),
            name,
            tags,
        },
        StoredExperiment::Renamed(id, name) => ExperimentOp::Renamed {
            id: ExperimentId(id),
            name,
        },
        StoredExperiment::Deleted(id) => ExperimentOp::Deleted {
            id: ExperimentId(id),
        },
        StoredExperiment::Restored(id) => ExperimentOp::Restored {
            id: ExperimentId(id),
        },
        StoredExperiment::TagSet(id, key, value) => ExperimentOp::TagSet {
            id: ExperimentId(id),
            key,
            value,
        },
        StoredExperiment::TagDeleted(id, key) => ExperimentOp::TagDeleted {
            id: ExperimentId(id),
            key,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(step: i64, value: f64, timestamp: i64) -> MetricPoint {
        MetricPoint {
            step,
            value,
            timestamp,
        }
    }

    #[test]
    fn a_run_delta_round_trips_bit_for_bit() {
        let mut d = RunDelta::new(RunId::from_u128(0xfeed), ExperimentId(3));
        d.created = Some(RunCreated {
            start_time: 1_700_000_000_000,
            run_name: "r".into(),
            user: "u".into(),
        });
        d.status = Some(RunStatus::Failed);
        d.end_time = Some(i64::MAX);
        d.lifecycle = Some(LifecycleStage::Deleted);
        d.params = vec![("lr".into(), "0.1".into())];
        d.tags = vec![("t".into(), "ラン".into())];
        d.deleted_tags = vec!["gone".into()];
        d.metrics = vec![(
            "loss".into(),
            vec![
                point(0, f64::NAN, 1_700_000_000_001),
                point(-5, -0.0, 0),
                point(i64::MAX, f64::NEG_INFINITY, i64::MIN),
            ],
        )];
        d.inputs = vec![DatasetInput {
            name: "train".into(),
            digest: "ab".into(),
            ..Default::default()
        }];
        let bytes = encode_entry(&OutboxEntry::Run(d.clone()), 1_700_000_000_000).unwrap();
        let back = decode_item(7, &bytes).unwrap();
        assert_eq!((back.seq, back.recorded_ms), (7, 1_700_000_000_000));
        let OutboxEntry::Run(got) = back.entry else {
            panic!("a run's entry")
        };
        let bits = |d: &RunDelta| -> Vec<(i64, u64, i64)> {
            d.metrics[0]
                .1
                .iter()
                .map(|p| (p.step, p.value.to_bits(), p.timestamp))
                .collect()
        };
        assert_eq!(bits(&got), bits(&d));
        let mut got = got;
        got.metrics.clear();
        d.metrics.clear();
        assert_eq!(got, d);
        assert_eq!(
            peek_run(&bytes).unwrap(),
            (Some(RunId::from_u128(0xfeed)), 1_700_000_000_000)
        );
    }

    #[test]
    fn experiment_ops_round_trip() {
        let ops = [
            ExperimentOp::Created {
                id: ExperimentId(1),
                name: "a".into(),
                tags: vec![("k".into(), "v".into())],
            },
            ExperimentOp::Renamed {
                id: ExperimentId(1),
                name: "b".into(),
            },
            ExperimentOp::Deleted {
                id: ExperimentId(1),
            },
            ExperimentOp::Restored {
                id: ExperimentId(1),
            },
            ExperimentOp::TagSet {
                id: ExperimentId(2),
                key: "k".into(),
                value: "v".into(),
            },
            ExperimentOp::TagDeleted {
                id: ExperimentId(2),
                key: "k".into(),
            },
        ];
        for op in ops {
            let bytes = encode_entry(&OutboxEntry::Experiment(op.clone()), 5).unwrap();
            assert_eq!(peek_run(&bytes).unwrap(), (None, 5));
            assert_eq!(
                decode_item(1, &bytes).unwrap().entry,
                OutboxEntry::Experiment(op)
            );
        }
        assert!(decode_item(1, &[9, 0]).is_err());
        assert!(peek_run(&[]).is_err());
    }

    #[test]
    fn a_logged_point_costs_about_a_dozen_bytes() {
        // One step of ten metrics, logged "now": what a training loop's log_batch records.
        let now = 1_700_000_123_456;
        let mut d = RunDelta::new(RunId::from_u128(1), ExperimentId(0));
        d.metrics = (0..10)
            .map(|m| (format!("m{m}"), vec![point(41, 0.123 * m as f64, now + 3)]))
            .collect();
        let one_step = encode_entry(&OutboxEntry::Run(d.clone()), now)
            .unwrap()
            .len();
        assert!(one_step < 10 * 20 + 40, "{one_step} bytes for 10 points");
        // A history of a thousand points of one key.
        d.metrics = vec![(
            "loss".into(),
            (0..1000)
                .map(|s| point(s, 1.0 / (s + 1) as f64, now + s * 50))
                .collect(),
        )];
        let history = encode_entry(&OutboxEntry::Run(d), now).unwrap().len();
        assert!(history < 1000 * 12 + 40, "{history} bytes for 1000 points");
    }
}
