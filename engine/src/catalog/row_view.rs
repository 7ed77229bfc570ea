//! Decoding a run row ([`super::rows::RunRow`]) without allocating: the
//! attributes are borrowed from the row's bytes and the params, tags and
//! latest points are appended to caller-owned lists, so reading a page of
//! thousands of runs makes no per-run `String`s or `Vec`s.
//!
//! The bytes are postcard's encoding of `RunRow` (fields in declaration
//! order; integers as LEB128 varints, signed ones zigzagged; `u8` and `f64`
//! as raw little-endian bytes; a string or list as its length then its
//! items; an option as a 0/1 byte then the value). The tests check this
//! decoder against postcard's on every field.

use super::rows::LatestRow;
use crate::error::{Error, Result};
use crate::metric::MetricPoint;
use crate::types::DatasetInput;

/// A run row's attributes, borrowed from its bytes. Times are absolute
/// (the stored relative times are resolved).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct RowHead<'a> {
    /// The run's ordinal.
    pub ordinal: u32,
    /// The run id as an integer.
    pub id: u128,
    /// Experiment id.
    pub experiment: u32,
    /// Status code.
    pub status: u8,
    /// Lifecycle code.
    pub lifecycle: u8,
    /// Start, ms since the epoch.
    pub start_time: i64,
    /// End, ms since the epoch.
    pub end_time: Option<i64>,
    /// Run name.
    pub name: &'a str,
    /// User; empty when unknown.
    pub user: &'a str,
}

/// Where [`decode_row`] appends a row's lists; `None` skips that list.
pub(crate) struct RowLists<'l> {
    /// (key id, value code) of each param, sorted by key id.
    pub params: Option<&'l mut Vec<(u32, u32)>>,
    /// (key id, value code) of each tag, sorted by key id.
    pub tags: Option<&'l mut Vec<(u32, u32)>>,
    /// Each metric's latest point, sorted by key id (absolute timestamps).
    pub metrics: Option<&'l mut Vec<LatestRow>>,
    /// Dataset inputs.
    pub inputs: Option<&'l mut Vec<DatasetInput>>,
}

/// Decodes the run row `bytes`, appending its lists to `lists`.
pub(crate) fn decode_row<'a>(bytes: &'a [u8], lists: RowLists<'_>) -> Result<RowHead<'a>> {
    let mut r = Reader { bytes, pos: 0 };
    let ordinal = r.u32()?;
    let mut id = [0u8; 16];
    id.copy_from_slice(r.take(16)?);
    let experiment = r.u32()?;
    let status = r.byte()?;
    let lifecycle = r.byte()?;
    let start_time = r.i64()?;
    let end_time = match r.byte()? {
        0 => None,
        1 => Some(r.i64()?.wrapping_add(start_time)),
        _ => return Err(bad("option tag")),
    };
    let name = r.str()?;
    let user = r.str()?;
    r.pairs(lists.params)?;
    r.pairs(lists.tags)?;
    let n = r.len()?;
    match lists.metrics {
        Some(out) => {
            out.reserve(n);
            for _ in 0..n {
                let key = r.u32()?;
                let step = r.i64()?;
                let value = f64::from_bits(u64::from_le_bytes(arr8(r.take(8)?)));
                let timestamp = r.i64()?.wrapping_add(start_time);
                out.push(LatestRow {
                    key,
                    point: MetricPoint {
                        step,
                        value,
                        timestamp,
                    },
                });
            }
        }
        None => {
            for _ in 0..n {
                r.u32()?;
                r.i64()?;
                r.take(8)?;
                r.i64()?;
            }
        }
    }
    if let Some(out) = lists.inputs {
        let rest = bytes.get(r.pos..).unwrap_or_default();
        // Rare, and made of optional strings: postcard decodes them.
        if rest.first().is_some_and(|&b| b != 0) {
            let (inputs, _): (Vec<DatasetInput>, _) =
                postcard::take_from_bytes(rest).map_err(|e| Error::corrupt("run", e))?;
            out.extend(inputs);
        }
    }
    Ok(RowHead {
        ordinal,
        id: u128::from_be_bytes(id),
        experiment,
        status,
        lifecycle,
        start_time,
        end_time,
        name,
        user,
    })
}

fn bad(what: &str) -> Error {
    Error::corrupt("run", format!("bad {what} in run row"))
}

fn arr8(b: &[u8]) -> [u8; 8] {
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    a
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    #[inline]
    fn byte(&mut self) -> Result<u8> {
        let b = *self.bytes.get(self.pos).ok_or_else(|| bad("length"))?;
        self.pos += 1;
        Ok(b)
    }

    #[inline]
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or_else(|| bad("length"))?;
        let out = self.bytes.get(self.pos..end).ok_or_else(|| bad("length"))?;
        self.pos = end;
        Ok(out)
    }

    /// A LEB128 varint of at most `max` bytes whose last byte is at most
    /// `last_max` (postcard's overflow rule).
    #[inline]
    fn varint(&mut self, max: u32, last_max: u8) -> Result<u64> {
        let mut out = 0u64;
        for i in 0..max {
            let b = self.byte()?;
            out |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                if i == max - 1 && b > last_max {
                    break;
                }
                return Ok(out);
            }
        }
        Err(bad("varint"))
    }

    /// The next byte when it is a whole varint (below 128): most are.
    #[inline(always)]
    fn small(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.pos)?;
        if b < 0x80 {
            self.pos += 1;
            Some(b)
        } else {
            None
        }
    }

    #[inline]
    fn u32(&mut self) -> Result<u32> {
        if let Some(b) = self.small() {
            return Ok(u32::from(b));
        }
        // 5 bytes; the last carries bits 28..32.
        Ok(self.varint(5, 0x0f)? as u32)
    }

    #[inline]
    fn i64(&mut self) -> Result<i64> {
        let z = match self.small() {
            Some(b) => u64::from(b),
            // 10 bytes; the last carries bit 63.
            None => self.varint(10, 0x01)?,
        };
        Ok(((z >> 1) as i64) ^ -((z & 1) as i64))
    }

    #[inline]
    fn len(&mut self) -> Result<usize> {
        let n = match self.small() {
            Some(b) => usize::from(b),
            None => usize::try_from(self.varint(10, 0x01)?).map_err(|_| bad("length"))?,
        };
        // Every item takes at least one byte: a length beyond the bytes
        // left is corrupt (and must not size an allocation).
        if n > self.bytes.len().saturating_sub(self.pos) {
            return Err(bad("length"));
        }
        Ok(n)
    }

    #[inline]
    fn str(&mut self) -> Result<&'a str> {
        let n = self.len()?;
        std::str::from_utf8(self.take(n)?).map_err(|_| bad("text"))
    }

    fn pairs(&mut self, out: Option<&mut Vec<(u32, u32)>>) -> Result<()> {
        let n = self.len()?;
        match out {
            Some(out) => {
                out.reserve(n);
                for _ in 0..n {
                    let k = self.u32()?;
                    let v = self.u32()?;
                    out.push((k, v));
                }
            }
            None => {
                for _ in 0..n {
                    self.u32()?;
                    self.u32()?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::rows::RunRow;

    fn decode_all(bytes: &[u8]) -> Result<RunRow> {
        let (mut params, mut tags, mut metrics, mut inputs) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let head = decode_row(
            bytes,
            RowLists {
                params: Some(&mut params),
                tags: Some(&mut tags),
                metrics: Some(&mut metrics),
                inputs: Some(&mut inputs),
            },
        )?;
        Ok(RunRow {
            ordinal: head.ordinal,
            id: head.id.to_be_bytes(),
            experiment: head.experiment,
            status: head.status,
            lifecycle: head.lifecycle,
            start_time: head.start_time,
            end_time: head.end_time,
            name: head.name.to_owned(),
            user: head.user.to_owned(),
            params,
            tags,
            metrics,
            inputs,
        })
    }

    fn sample(rng: &mut fastrand::Rng) -> RunRow {
        let extreme = |rng: &mut fastrand::Rng| match rng.u8(0..6) {
            0 => i64::MIN,
            1 => i64::MAX,
            2 => 0,
            3 => -1,
            _ => rng.i64(..),
        };
        let text = |rng: &mut fastrand::Rng| -> String {
            let n = rng.usize(0..200);
            (0..n)
                .map(|_| match rng.u8(0..4) {
                    0 => 'é',
                    1 => '🙂',
                    _ => rng.alphanumeric(),
                })
                .collect()
        };
        let pairs = |rng: &mut fastrand::Rng| -> Vec<(u32, u32)> {
            let mut v: Vec<(u32, u32)> = (0..rng.usize(0..40))
                .map(|_| (rng.u32(..), rng.u32(..)))
                .collect();
            v.sort_unstable();
            v.dedup_by_key(|p| p.0);
            v
        };
        let start_time = extreme(rng);
        let mut metrics: Vec<LatestRow> = (0..rng.usize(0..30))
            .map(|_| LatestRow {
                key: rng.u32(..),
                point: MetricPoint {
                    step: extreme(rng),
                    value: match rng.u8(0..5) {
                        0 => f64::NAN,
                        1 => f64::NEG_INFINITY,
                        2 => -0.0,
                        _ => f64::from_bits(rng.u64(..)),
                    },
                    timestamp: extreme(rng),
                },
            })
            .collect();
        metrics.sort_by_key(|m| m.key);
        metrics.dedup_by_key(|m| m.key);
        RunRow {
            ordinal: rng.u32(..),
            id: rng.u128(..).to_be_bytes(),
            experiment: rng.u32(..),
            status: rng.u8(..),
            lifecycle: rng.u8(..),
            start_time,
            end_time: rng.bool().then(|| extreme(rng)),
            name: text(rng),
            user: text(rng),
            params: pairs(rng),
            tags: pairs(rng),
            metrics,
            inputs: (0..rng.usize(0..3))
                .map(|_| DatasetInput {
                    name: text(rng),
                    digest: text(rng),
                    source_type: text(rng),
                    source: text(rng),
                    schema: rng.bool().then(|| text(rng)),
                    profile: rng.bool().then(|| text(rng)),
                    context: rng.bool().then(|| text(rng)),
                })
                .collect(),
        }
    }

    /// Equal, with NaNs compared by bits.
    fn same(a: &RunRow, b: &RunRow) -> bool {
        let bits = |r: &RunRow| -> Vec<u64> {
            r.metrics.iter().map(|m| m.point.value.to_bits()).collect()
        };
        let mut a2 = a.clone();
        let mut b2 = b.clone();
        for m in a2.metrics.iter_mut().chain(b2.metrics.iter_mut()) {
            m.point.value = 0.0;
        }
        a2 == b2 && bits(a) == bits(b)
    }

    #[test]
    fn decodes_what_postcard_decodes() {
        let mut rng = fastrand::Rng::with_seed(9);
        for _ in 0..2000 {
            let row = sample(&mut rng);
            let bytes = row.encode().unwrap();
            let ours = decode_all(&bytes).unwrap();
            let theirs = RunRow::decode(&bytes).unwrap();
            assert!(same(&ours, &theirs), "{ours:?} != {theirs:?}");
            assert!(same(&ours, &row));
        }
    }

    #[test]
    fn skipped_lists_leave_the_head_alone() {
        let mut rng = fastrand::Rng::with_seed(10);
        for _ in 0..200 {
            let row = sample(&mut rng);
            let bytes = row.encode().unwrap();
            let lists = RowLists {
                params: None,
                tags: None,
                metrics: None,
                inputs: None,
            };
            let head = decode_row(&bytes, lists).unwrap();
            assert_eq!(head.name, row.name);
            assert_eq!(head.end_time, row.end_time);
        }
    }

    #[test]
    fn truncated_or_damaged_rows_are_errors_not_panics() {
        let mut rng = fastrand::Rng::with_seed(11);
        for _ in 0..300 {
            let bytes = sample(&mut rng).encode().unwrap();
            let cut = rng.usize(0..bytes.len());
            let _ = decode_all(&bytes[..cut]);
            let mut damaged = bytes.clone();
            let i = rng.usize(0..damaged.len());
            damaged[i] = rng.u8(..);
            let _ = decode_all(&damaged);
        }
        // A run of continuation bytes is a bad varint.
        assert!(decode_all(&[0xff; 12]).is_err());
        assert!(decode_all(&[]).is_err());
    }
}
