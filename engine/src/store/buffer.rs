//! Buffered writes, MLflow's `synchronous=False`: the call returns at once
//! and the write is committed later, by the next group commit, by the owner
//! thread within [`StoreOptions::buffer_interval`](super::StoreOptions), or
//! by [`Store::flush`].
//!
//! A buffered call checks what it can without the catalog (key and value
//! limits) and fails at once when that fails. What needs the catalog (the
//! run exists and is active, a param is not changed) is checked when the
//! buffer is committed; the first such failure is kept and returned by the
//! next [`Store::flush`], and the other writes of the buffer still commit.

use std::sync::Mutex;

use super::{Store, WriteBatch};
use crate::error::{Error, Result};
use crate::limits;
use crate::metric::MetricPoint;
use crate::types::RunId;

/// One buffered write.
#[derive(Clone, Debug)]
pub(crate) enum Buffered {
    Metric {
        run: RunId,
        key: String,
        point: MetricPoint,
    },
    Param {
        run: RunId,
        key: String,
        value: String,
    },
    Tag {
        run: RunId,
        key: String,
        value: String,
    },
}

impl Buffered {
    /// The order writes are applied in: by run, then kind, then key (a
    /// stable sort keeps each key's writes in call order).
    fn order(&self) -> (RunId, u8, &str) {
        match self {
            Buffered::Metric { run, key, .. } => (*run, 0, key),
            Buffered::Param { run, key, .. } => (*run, 1, key),
            Buffered::Tag { run, key, .. } => (*run, 2, key),
        }
    }
}

#[derive(Default)]
pub(crate) struct Buffer {
    ops: Mutex<Vec<Buffered>>,
    /// The first failure of a buffered write since the last flush.
    error: Mutex<Option<Error>>,
}

impl Buffer {
    pub(crate) fn record_error(&self, e: Error) {
        if let Ok(mut slot) = self.error.lock()
            && slot.is_none()
        {
            *slot = Some(e);
        }
    }

    fn take_error(&self) -> Option<Error> {
        self.error.lock().ok().and_then(|mut e| e.take())
    }

    fn is_empty(&self) -> bool {
        self.ops.lock().map(|o| o.is_empty()).unwrap_or(true)
    }
}

impl Store {
    /// Buffers one metric point (MLflow's `log_metric(..., synchronous=False)`):
    /// returns at once; durable after [`Store::flush`] or at most
    /// [`StoreOptions::buffer_interval`](super::StoreOptions::buffer_interval)
    /// later.
    pub fn log_metric_buffered(&self, run_id: RunId, key: &str, point: MetricPoint) -> Result<()> {
        limits::check_key(limits::KeyKind::Metric, key)?;
        limits::check_metric_timestamp(key, point.timestamp)?;
        self.buffer_op(Buffered::Metric {
            run: run_id,
            key: key.to_owned(),
            point,
        })
    }

    /// Buffers one param (see [`Store::log_metric_buffered`]).
    pub fn log_param_buffered(&self, run_id: RunId, key: &str, value: &str) -> Result<()> {
        limits::check_param(key, value)?;
        self.buffer_op(Buffered::Param {
            run: run_id,
            key: key.to_owned(),
            value: value.to_owned(),
        })
    }

    /// Buffers one tag (see [`Store::log_metric_buffered`]).
    pub fn set_tag_buffered(&self, run_id: RunId, key: &str, value: &str) -> Result<()> {
        limits::check_tag(key, value)?;
        self.buffer_op(Buffered::Tag {
            run: run_id,
            key: key.to_owned(),
            value: value.to_owned(),
        })
    }

    fn buffer_op(&self, op: Buffered) -> Result<()> {
        if !self.is_writable() {
            return Err(super::read_only(self.dir()));
        }
        let len = {
            let mut ops = self
                .buffer
                .ops
                .lock()
                .map_err(|_| Error::corrupt("write buffer", "lock poisoned"))?;
            ops.push(op);
            ops.len()
        };
        if len >= self.options.buffer_max_ops {
            // Back-pressure: the caller commits the full buffer itself.
            self.commit_buffer()?;
        }
        Ok(())
    }

    /// Commits every buffered write; returns once they are durable, with the
    /// first failure of a buffered write since the last flush, if any.
    pub fn flush(&self) -> Result<()> {
        if self.is_writable() {
            self.commit_buffer()?;
        }
        match self.buffer.take_error() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// A group commit with no write of its own: it carries the buffer.
    fn commit_buffer(&self) -> Result<()> {
        self.submit(|_| Ok(()))
    }

    /// The owner thread's timed commit of the buffer (a failure stays in the
    /// buffer's error for the next flush).
    pub(crate) fn flush_buffer_in_background(&self) -> Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        self.commit_buffer()
    }

    /// Moves every buffered write into `batch` (the group commit leader's),
    /// by run and key, so a run's points go in with one call. A write that
    /// fails its checks is dropped and its error kept for [`Store::flush`].
    pub(crate) fn drain_buffer_into(&self, batch: &mut WriteBatch<'_>) {
        let mut ops = match self.buffer.ops.lock() {
            Ok(mut ops) if !ops.is_empty() => std::mem::take(&mut *ops),
            _ => return,
        };
        // Stable: a key's writes keep their order (a tag set twice keeps the last).
        ops.sort_by(|a, b| a.order().cmp(&b.order()));
        let mut points: Vec<MetricPoint> = Vec::new();
        let mut i = 0;
        while i < ops.len() {
            let outcome = match &ops[i] {
                Buffered::Metric { run, key, .. } => {
                    let (run, key) = (*run, key.clone());
                    points.clear();
                    while let Some(Buffered::Metric {
                        run: r,
                        key: k,
                        point,
                    }) = ops.get(i)
                        && *r == run
                        && *k == key
                    {
                        points.push(*point);
                        i += 1;
                    }
                    batch.log_metric_points(run, &key, &points)
                }
                Buffered::Param { run, key, value } => {
                    i += 1;
                    batch.log_param(*run, key, value)
                }
                Buffered::Tag { run, key, value } => {
                    i += 1;
                    batch.set_tag(*run, key, value)
                }
            };
            if let Err(e) = outcome {
                self.buffer.record_error(e);
            }
        }
        // Give the vector's capacity back for the next calls.
        ops.clear();
        if let Ok(mut slot) = self.buffer.ops.lock()
            && slot.is_empty()
            && slot.capacity() < ops.capacity()
        {
            *slot = ops;
        }
    }
}
