//! The encoded rows of the catalog tables (postcard: compact varints).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::metric::MetricPoint;
use crate::types::DatasetInput;

/// Encodes a row.
pub(crate) fn encode<T: Serialize>(row: &T) -> Result<Vec<u8>> {
    postcard::to_stdvec(row).map_err(|e| Error::corrupt("catalog row", format!("encode: {e}")))
}

/// Decodes a row of table `what`.
pub(crate) fn decode<'a, T: Deserialize<'a>>(what: &str, bytes: &'a [u8]) -> Result<T> {
    postcard::from_bytes(bytes).map_err(|e| Error::corrupt(what, e))
}

/// A run as the `RUNS` table holds it. Keys and param/tag values are
/// dictionary codes ([`super::dict`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct RunRow {
    /// Dense number given at creation: the run's row in the search index and
    /// the high half of its metric series ids.
    pub ordinal: u32,
    /// The run id, big-endian (the table is keyed by ordinal).
    pub id: [u8; 16],
    /// Experiment id.
    pub experiment: u32,
    /// [`crate::RunStatus`] code.
    pub status: u8,
    /// [`crate::LifecycleStage`] code.
    pub lifecycle: u8,
    /// Start, ms since the epoch.
    pub start_time: i64,
    /// End, ms since the epoch.
    pub end_time: Option<i64>,
    /// Run name (the tag `mlflow.runName` is derived from it).
    pub name: String,
    /// User (the tag `mlflow.user` is derived from it); empty when unknown.
    pub user: String,
    /// (key id, value code), sorted by key id.
    pub params: Vec<(u32, u32)>,
    /// (key id, value code), sorted by key id; never `mlflow.runName`/`mlflow.user`.
    pub tags: Vec<(u32, u32)>,
    /// Each metric's latest point, sorted by key id.
    pub metrics: Vec<LatestRow>,
    /// Dataset inputs, in logging order.
    pub inputs: Vec<DatasetInput>,
}

/// A metric's latest point.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct LatestRow {
    /// Key id.
    pub key: u32,
    /// The point.
    pub point: MetricPoint,
}

impl RunRow {
    /// Encodes the row. Times are stored relative to the start time (end
    /// time, latest-point timestamps): a few bytes each instead of six.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut stored = self.clone();
        stored.end_time = self.end_time.map(|t| t.wrapping_sub(self.start_time));
        for m in &mut stored.metrics {
            m.point.timestamp = m.point.timestamp.wrapping_sub(self.start_time);
        }
        encode(&stored)
    }

    /// Decodes a row [`RunRow::encode`] made.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut row: RunRow = decode("run", bytes)?;
        let start = row.start_time;
        row.end_time = row.end_time.map(|t| t.wrapping_add(start));
        for m in &mut row.metrics {
            m.point.timestamp = m.point.timestamp.wrapping_add(start);
        }
        Ok(row)
    }

    /// The run id as an integer.
    pub fn run_id(&self) -> u128 {
        u128::from_be_bytes(self.id)
    }

    /// The code of param `key`, if set.
    pub fn param(&self, key: u32) -> Option<u32> {
        lookup(&self.params, key)
    }

    /// Sets param or tag `key` (in `list`) to `code`, keeping the list sorted.
    pub fn set(list: &mut Vec<(u32, u32)>, key: u32, code: u32) {
        match list.binary_search_by_key(&key, |&(k, _)| k) {
            Ok(i) => list[i].1 = code,
            Err(i) => list.insert(i, (key, code)),
        }
    }

    /// The latest point of metric `key`, if any.
    pub fn latest(&self, key: u32) -> Option<MetricPoint> {
        self.metrics
            .binary_search_by_key(&key, |m| m.key)
            .ok()
            .map(|i| self.metrics[i].point)
    }

    /// Sets the latest point of metric `key`.
    pub fn set_latest(&mut self, key: u32, point: MetricPoint) {
        match self.metrics.binary_search_by_key(&key, |m| m.key) {
            Ok(i) => self.metrics[i].point = point,
            Err(i) => self.metrics.insert(i, LatestRow { key, point }),
        }
    }
}

fn lookup(list: &[(u32, u32)], key: u32) -> Option<u32> {
    list.binary_search_by_key(&key, |&(k, _)| k)
        .ok()
        .map(|i| list[i].1)
}

/// An experiment as the `EXPERIMENTS` table holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct ExperimentRow {
    /// Unique name.
    pub name: String,
    /// [`crate::LifecycleStage`] code.
    pub lifecycle: u8,
    /// Where its runs' artifacts go.
    pub artifact_location: String,
    /// ms since the epoch.
    pub creation_time: i64,
    /// ms since the epoch.
    pub last_update_time: i64,
    /// Experiment tags, sorted by key.
    pub tags: Vec<(String, String)>,
}

/// A segment as the `SEGMENTS` manifest lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SegmentRow {
    /// File name inside the store's `segments/` folder.
    pub file: String,
    /// Number of points.
    pub rows: u64,
    /// File size.
    pub bytes: u64,
    /// Smallest series id in the file.
    pub min_series: u64,
    /// Largest series id in the file.
    pub max_series: u64,
}

/// Bytes per packed point in a `PENDING` value: step, timestamp, value bits (little-endian).
pub(crate) const PACKED_POINT: usize = 24;

/// Packs points for the `PENDING` table.
pub(crate) fn pack_points(points: &[MetricPoint]) -> Vec<u8> {
    let mut out = Vec::with_capacity(points.len() * PACKED_POINT);
    for p in points {
        out.extend_from_slice(&p.step.to_le_bytes());
        out.extend_from_slice(&p.timestamp.to_le_bytes());
        out.extend_from_slice(&p.value.to_bits().to_le_bytes());
    }
    out
}

/// Unpacks a `PENDING` value, appending to `out`.
pub(crate) fn unpack_points(bytes: &[u8], out: &mut Vec<MetricPoint>) -> Result<()> {
    if !bytes.len().is_multiple_of(PACKED_POINT) {
        return Err(Error::corrupt(
            "pending points",
            format!("{} bytes is not a whole number of points", bytes.len()),
        ));
    }
    out.reserve(bytes.len() / PACKED_POINT);
    for chunk in bytes.chunks_exact(PACKED_POINT) {
        let word = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&chunk[i * 8..i * 8 + 8]);
            b
        };
        out.push(MetricPoint {
            step: i64::from_le_bytes(word(0)),
            timestamp: i64::from_le_bytes(word(1)),
            value: f64::from_bits(u64::from_le_bytes(word(2))),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_row_round_trips() {
        let mut row = RunRow {
            ordinal: 7,
            id: 0xabcdu128.to_be_bytes(),
            experiment: 2,
            status: 2,
            lifecycle: 0,
            start_time: 1_700_000_000_000,
            end_time: None,
            name: "ラン0".into(),
            user: "alice".into(),
            params: vec![],
            tags: vec![],
            metrics: vec![],
            inputs: vec![DatasetInput {
                name: "train".into(),
                digest: "ab12".into(),
                context: Some("training".into()),
                ..Default::default()
            }],
        };
        RunRow::set(&mut row.params, 9, 1);
        RunRow::set(&mut row.params, 3, 4);
        RunRow::set(&mut row.params, 9, 2);
        assert_eq!(row.params, vec![(3, 4), (9, 2)]);
        row.set_latest(
            5,
            MetricPoint {
                step: 1,
                value: f64::NAN,
                timestamp: 3,
            },
        );
        row.end_time = Some(i64::MIN);
        row.set_latest(
            6,
            MetricPoint {
                step: 0,
                value: 1.0,
                timestamp: i64::MAX,
            },
        );
        let bytes = row.encode().unwrap();
        let back = RunRow::decode(&bytes).unwrap();
        assert_eq!(back.end_time, Some(i64::MIN));
        assert_eq!(back.latest(6).unwrap().timestamp, i64::MAX);
        assert_eq!(back.params, row.params);
        assert!(back.latest(5).unwrap().value.is_nan());
        assert_eq!(back.inputs, row.inputs);
        assert_eq!(back.param(3), Some(4));
        assert_eq!(back.param(4), None);
        assert_eq!(back.run_id(), 0xabcd);
    }

    #[test]
    fn points_pack_bit_exactly() {
        let pts = [
            MetricPoint {
                step: -1,
                value: -0.0,
                timestamp: 0,
            },
            MetricPoint {
                step: i64::MAX,
                value: f64::NEG_INFINITY,
                timestamp: 1,
            },
        ];
        let mut out = vec![];
        unpack_points(&pack_points(&pts), &mut out).unwrap();
        assert_eq!(out[0].value.to_bits(), (-0.0f64).to_bits());
        assert_eq!(out[1], pts[1]);
        assert!(unpack_points(&[0u8; 5], &mut out).is_err());
    }
}
