//! Group commit: the single-call writes of concurrent threads share one
//! redb transaction, so N callers pay for one fsync instead of N.
//!
//! A caller queues its write (a closure over a [`WriteBatch`]) and waits. If
//! no commit is in progress it becomes the *leader*: it takes every queued
//! write (its own and whatever arrived meanwhile), plus the buffered writes
//! ([`super::buffer`]), applies them to one batch and commits it, then wakes
//! each waiter of the group with its own result. Writes that arrive during
//! that commit wait for the next leader: the first of them is woken to lead.
//! Each call returns only once its write is durable.
//!
//! A write that breaks a rule fails alone: every [`WriteBatch`] call checks
//! its whole input before changing anything, so the others in the group
//! still commit. A failure of the batch itself (I/O, the commit) fails every
//! write in it, and none of them is stored.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use super::{Store, WriteBatch};
use crate::error::{Error, Result};

/// One queued write.
pub(crate) type Op = Box<dyn FnOnce(&mut WriteBatch<'_>) -> Result<()> + Send>;

#[derive(Default)]
struct Queue {
    /// Writes waiting for the next commit, each with its caller.
    ops: Vec<(Op, Arc<Waiter>)>,
    /// Whether some caller is leading a commit (or has been handed the
    /// lead and is about to).
    leading: bool,
}

/// One waiting caller: woken once, with its result or with the lead.
#[derive(Default)]
struct Waiter {
    slot: Mutex<Slot>,
    woken: Condvar,
}

#[derive(Default)]
enum Slot {
    #[default]
    Waiting,
    /// Lead the next commit (its own write is still queued).
    Lead,
    /// Its write was committed (or failed).
    Done(Result<()>),
}

impl Waiter {
    fn wake(&self, slot: Slot) {
        if let Ok(mut s) = self.slot.lock() {
            *s = slot;
        }
        self.woken.notify_one();
    }

    /// Waits to be woken: `Ok(None)` means lead the next commit.
    fn wait(&self) -> Result<Option<Result<()>>> {
        let mut s = self.slot.lock().map_err(|_| poisoned())?;
        loop {
            match std::mem::take(&mut *s) {
                Slot::Waiting => s = self.woken.wait(s).map_err(|_| poisoned())?,
                Slot::Lead => return Ok(None),
                Slot::Done(result) => return Ok(Some(result)),
            }
        }
    }
}

/// The queue of writes waiting for a commit.
#[derive(Default)]
pub(crate) struct GroupCommit {
    queue: Mutex<Queue>,
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
    ///
    /// Each waiting caller is woken exactly once — with its result, or to
    /// lead the next commit — never to find that the commit it was woken by
    /// was someone else's (with 32 writers, waking all of them at every
    /// commit cost more CPU than the commit).
    pub(crate) fn run(&self, store: &Store, op: Op) -> Result<()> {
        let me = Arc::new(Waiter::default());
        let mut q = self.queue.lock().map_err(|_| poisoned())?;
        q.ops.push((op, me.clone()));
        if q.leading {
            drop(q);
            if let Some(result) = me.wait()? {
                return result;
            }
            // Handed the lead: `leading` stayed set for us.
            q = self.queue.lock().map_err(|_| poisoned())?;
        } else {
            q.leading = true;
        }
        let group = std::mem::take(&mut q.ops);
        drop(q);
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.writes.fetch_add(group.len() as u64, Ordering::Relaxed);
        let (ops, waiters): (Vec<Op>, Vec<Arc<Waiter>>) = group.into_iter().unzip();
        // A panic in a write must not leave `leading` set for ever.
        let results =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| execute(store, ops)));
        let mut mine = Err(Error::corrupt(
            "group commit",
            "a write's result went missing",
        ));
        let panic = match results {
            Ok(results) => {
                for (waiter, result) in waiters.iter().zip(results) {
                    if Arc::ptr_eq(waiter, &me) {
                        mine = result;
                    } else {
                        waiter.wake(Slot::Done(result));
                    }
                }
                None
            }
            Err(panic) => {
                // Every other caller of this group hears of it too.
                for waiter in waiters.iter().filter(|w| !Arc::ptr_eq(w, &me)) {
                    waiter.wake(Slot::Done(Err(Error::corrupt(
                        "group commit",
                        "a write of this commit panicked; nothing was stored",
                    ))));
                }
                Some(panic)
            }
        };
        // Hand the lead to the first caller that queued meanwhile.
        let mut q = self.queue.lock().map_err(|_| poisoned())?;
        match q.ops.first() {
            Some((_, next)) => next.wake(Slot::Lead),
            None => q.leading = false,
        }
        drop(q);
        if let Some(panic) = panic {
            std::panic::resume_unwind(panic);
        }
        mine
    }
}

/// Applies `ops` (and the buffered writes) to one batch and commits it; the
/// result of each, in order.
fn execute(store: &Store, ops: Vec<Op>) -> Vec<Result<()>> {
    let mut batch = match store.write() {
        Ok(b) => b,
        Err(e) => return ops.iter().map(|_| Err(e.clone())).collect(),
    };
    store.drain_buffer_into(&mut batch);
    let mut results = Vec::with_capacity(ops.len());
    for op in ops {
        let result = if batch.is_failed() {
            Err(Error::corrupt(
                "group commit",
                "an earlier write of this commit failed; nothing was stored",
            ))
        } else {
            op(&mut batch)
        };
        results.push(result);
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
        for r in &mut results {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreOptions;

    #[test]
    fn a_panicking_write_fails_its_group_and_the_store_goes_on() {
        let dir = tempfile::tempdir().expect("tempdir");
        let options = StoreOptions {
            background_owner: false,
            ..StoreOptions::default()
        };
        let store = Store::open_with(dir.path(), options).expect("open");
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            store.submit(|_| -> Result<()> { panic!("a write panicked") })
        }));
        assert!(outcome.is_err(), "the panic reaches its caller");
        // The queue is not stuck: the next writes lead and commit.
        let id = store
            .create_experiment("after", None, &[])
            .expect("a write after the panic");
        assert_eq!(store.get_experiment(id).expect("read").name, "after");
    }

    #[test]
    fn the_other_writes_of_a_panicked_group_get_an_error_not_a_hang() {
        use std::sync::mpsc;
        use std::time::Duration;
        let dir = tempfile::tempdir().expect("tempdir");
        let options = StoreOptions {
            background_owner: false,
            ..StoreOptions::default()
        };
        let store = Store::open_with(dir.path(), options).expect("open");
        let (done, finished) = mpsc::channel::<&str>();
        // Detached threads: a regression must fail the test, not hang it.
        let slow = store.clone();
        std::thread::spawn(move || {
            // A slow leader, so the next two writes queue up as one group.
            let _ = slow.submit(|_| {
                std::thread::sleep(Duration::from_millis(300));
                Ok(())
            });
        });
        std::thread::sleep(Duration::from_millis(100));
        let (s1, tx1) = (store.clone(), done.clone());
        std::thread::spawn(move || {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                s1.submit(|_| -> Result<()> { panic!("a write panicked") })
            }));
            // Its caller sees the panic, or the error if another led.
            if r.is_err() || r.as_ref().is_ok_and(Result::is_err) {
                let _ = tx1.send("panicking");
            }
        });
        let (s2, tx2) = (store.clone(), done.clone());
        std::thread::spawn(move || {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                s2.create_experiment("neighbour", None, &[])
            }));
            if r.is_err() || r.as_ref().is_ok_and(Result::is_err) {
                let _ = tx2.send("neighbour");
            }
        });
        for _ in 0..2 {
            finished
                .recv_timeout(Duration::from_secs(10))
                .expect("both writes of the panicked group returned an error");
        }
        // Nothing of that group was stored; the store goes on.
        assert!(
            store
                .experiment_by_name("neighbour")
                .expect("read")
                .is_none()
        );
        store
            .create_experiment("neighbour", None, &[])
            .expect("a later write");
    }
}
