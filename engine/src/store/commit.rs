//! Group commit: the single-call writes of concurrent threads share one
//! redb transaction, so N callers pay for one fsync instead of N.
//!
//! A caller queues its write (a closure over a [`WriteBatch`]) and waits. If
//! no commit is in progress it becomes the *leader*: it takes every queued
//! write (its own and whatever arrived meanwhile), plus the buffered writes
//! ([`super::buffer`]), applies them to one batch and commits it, then hands
//! each waiter its own result. Writes that arrive during that commit wait
//! for the next leader, one of themselves. Each call returns only once its
//! write is durable.
//!
//! A write that breaks a rule fails alone: every [`WriteBatch`] call checks
//! its whole input before changing anything, so the others in the group
//! still commit. A failure of the batch itself (I/O, the commit) fails every
//! write in it, and none of them is stored.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};

use super::{Store, WriteBatch};
use crate::error::{Error, Result};

/// One queued write.
pub(crate) type Op = Box<dyn FnOnce(&mut WriteBatch<'_>) -> Result<()> + Send>;

#[derive(Default)]
struct Queue {
    next_ticket: u64,
    ops: Vec<(u64, Op)>,
    results: HashMap<u64, Result<()>>,
    leading: bool,
}

/// The queue of writes waiting for a commit.
#[derive(Default)]
pub(crate) struct GroupCommit {
    queue: Mutex<Queue>,
    done: Condvar,
    commits: AtomicU64,
    writes: AtomicU64,
}

/// How the single-call writes of a store handle were committed so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteStats {
    /// Group commits made (each one redb transaction, one fsync).
    pub group_commits: u64,
    /// Single-call writes they carried (more than `group_commits` when
    /// concurrent callers shared commits).
    pub grouped_writes: u64,
}

fn poisoned() -> Error {
    Error::corrupt("group commit", "queue lock poisoned")
}

impl GroupCommit {
    /// Runs `op` in the next group commit of `store`; returns once it is
    /// durable (or failed).
    pub(crate) fn run(&self, store: &Store, op: Op) -> Result<()> {
        let mut q = self.queue.lock().map_err(|_| poisoned())?;
        let ticket = q.next_ticket;
        q.next_ticket += 1;
        q.ops.push((ticket, op));
        loop {
            if let Some(result) = q.results.remove(&ticket) {
                return result;
            }
            if !q.leading {
                q.leading = true;
                let ops = std::mem::take(&mut q.ops);
                drop(q);
                self.commits.fetch_add(1, Ordering::Relaxed);
                self.writes.fetch_add(ops.len() as u64, Ordering::Relaxed);
                // A panic in a write must not leave `leading` set for ever.
                let results =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| execute(store, ops)));
                q = self.queue.lock().map_err(|_| poisoned())?;
                q.leading = false;
                match results {
                    Ok(results) => q.results.extend(results),
                    Err(panic) => {
                        self.done.notify_all();
                        drop(q);
                        std::panic::resume_unwind(panic);
                    }
                }
                self.done.notify_all();
                continue;
            }
            q = self.done.wait(q).map_err(|_| poisoned())?;
        }
    }
}

/// Applies `ops` (and the buffered writes) to one batch and commits it.
fn execute(store: &Store, ops: Vec<(u64, Op)>) -> Vec<(u64, Result<()>)> {
    let mut batch = match store.write() {
        Ok(b) => b,
        Err(e) => return ops.into_iter().map(|(t, _)| (t, Err(e.clone()))).collect(),
    };
    store.drain_buffer_into(&mut batch);
    let mut results = Vec::with_capacity(ops.len());
    for (ticket, op) in ops {
        let result = if batch.is_failed() {
            Err(Error::corrupt(
                "group commit",
                "an earlier write of this commit failed; nothing was stored",
            ))
        } else {
            op(&mut batch)
        };
        results.push((ticket, result));
    }
    let committed = if batch.is_failed() {
        // Every write that looked fine is lost with the batch: say so.
        let e = Error::corrupt("group commit", "the commit failed; nothing was stored");
        drop(batch);
        store.buffer.record_error(e.clone());
        Err(e)
    } else {
        match batch.commit() {
            Ok(_) => Ok(()),
            Err(e) => {
                store.buffer.record_error(e.clone());
                Err(e)
            }
        }
    };
    if let Err(e) = committed {
        for (_, r) in &mut results {
            if r.is_ok() {
                *r = Err(e.clone());
            }
        }
    }
    results
}

impl Store {
    /// Counts of this handle's group commits.
    pub fn write_stats(&self) -> WriteStats {
        WriteStats {
            group_commits: self.commits.commits.load(Ordering::Relaxed),
            grouped_writes: self.commits.writes.load(Ordering::Relaxed),
        }
    }

    /// Runs `f` in the next group commit and returns its value once durable.
    pub(crate) fn submit<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut WriteBatch<'_>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let slot = std::sync::Arc::new(Mutex::new(None));
        let out = slot.clone();
        let op: Op = Box::new(move |batch| {
            let value = f(batch)?;
            if let Ok(mut o) = out.lock() {
                *o = Some(value);
            }
            Ok(())
        });
        self.commits.run(self, op)?;
        slot.lock()
            .ok()
            .and_then(|mut o| o.take())
            .ok_or_else(|| Error::corrupt("group commit", "a write's result went missing"))
    }
}
