//! The maintenance owner: one background thread per writable handle that
//! does the work no caller should wait for.
//!
//! * commits buffered writes ([`super::buffer`]) at most
//!   [`StoreOptions::buffer_interval`](super::StoreOptions::buffer_interval)
//!   after they were made;
//! * flushes staged points into a segment and merges small segments
//!   ([`super::compact`]);
//! * catches the search index up and writes a snapshot of it once the change
//!   log is long, then trims the log and deletes older snapshots, so neither
//!   grows without bound under a steady stream of small commits.
//!
//! Of several processes writing one store, only the one holding the lock on
//! `owner.lock` does the last two (segment work is serialised by the write
//! lock anyway; snapshots are files only one process should write). Every
//! process still commits its own buffered writes. A failure here is kept in
//! [`MaintenanceStatus`] and retried on the next pass; it never reaches a
//! caller whose write already committed.
//!
//! The thread holds only a weak reference: when the last `Arc<Store>` goes,
//! the store's `Drop` commits what is buffered, stops the thread and joins it.

use std::fs::{File, OpenOptions};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::Store;
use crate::error::{Error, Result};

/// Least time between two maintenance passes: a burst of commits costs one
/// pass, not one each.
const MIN_PASS_GAP: Duration = Duration::from_millis(100);
/// How often a process that does not own the store tries to take over.
const OWNERSHIP_RETRY: Duration = Duration::from_secs(1);
const LOCK_FILE: &str = "owner.lock";

/// What the maintenance owner has done so far (for tests, benchmarks and
/// `runstore` diagnostics).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MaintenanceStatus {
    /// Whether this process holds the store's owner lock.
    pub owner: bool,
    /// Maintenance passes run.
    pub passes: u64,
    /// Index snapshots written.
    pub snapshots: u64,
    /// The last pass's failure, if it failed (cleared by a good pass).
    pub last_error: Option<String>,
}

#[derive(Default)]
struct Flags {
    work: bool,
    stop: bool,
}

#[derive(Default)]
struct Signal {
    flags: Mutex<Flags>,
    cond: Condvar,
}

impl Signal {
    /// Waits until there is work, a stop, or `timeout`; returns the flags
    /// seen (and clears `work`).
    fn wait(&self, timeout: Duration, for_work: bool) -> (bool, bool) {
        let Ok(mut flags) = self.flags.lock() else {
            return (false, true);
        };
        let deadline = Instant::now() + timeout;
        while !(flags.stop || for_work && flags.work) {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            match self.cond.wait_timeout(flags, deadline - now) {
                Ok((f, _)) => flags = f,
                Err(_) => return (false, true),
            }
        }
        let seen = (flags.work, flags.stop);
        if for_work {
            flags.work = false;
        }
        seen
    }

    fn raise(&self, stop: bool) {
        if let Ok(mut flags) = self.flags.lock() {
            flags.work = true;
            flags.stop |= stop;
        }
        self.cond.notify_all();
    }
}

/// The owner thread's handle, kept in the store.
#[derive(Default)]
pub(crate) struct Owner {
    signal: Arc<Signal>,
    thread: Mutex<Option<JoinHandle<()>>>,
    status: Arc<Mutex<MaintenanceStatus>>,
}

impl Owner {
    /// Tells the owner there is new work (a commit, a buffered write).
    pub(crate) fn notify(&self) {
        // Cheap when nobody waits: a lock and a flag.
        self.signal.raise(false);
    }

    /// Stops the thread and waits for it (unless called on it).
    pub(crate) fn stop(&self) {
        self.signal.raise(true);
        let handle = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(handle) = handle
            && handle.thread().id() != std::thread::current().id()
        {
            let _ = handle.join();
        }
    }

    pub(crate) fn status(&self) -> MaintenanceStatus {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

/// Starts `store`'s owner thread.
pub(crate) fn start(store: &Arc<Store>) -> Result<()> {
    let weak = Arc::downgrade(store);
    let signal = store.owner.signal.clone();
    let status = store.owner.status.clone();
    let interval = store.options.buffer_interval;
    let handle = std::thread::Builder::new()
        .name("runstore-owner".into())
        .spawn(move || run(&weak, &signal, &status, interval))
        .map_err(|e| Error::io(store.dir(), e))?;
    if let Ok(mut slot) = store.owner.thread.lock() {
        *slot = Some(handle);
    }
    Ok(())
}

fn run(weak: &Weak<Store>, signal: &Signal, status: &Mutex<MaintenanceStatus>, interval: Duration) {
    let mut lock: Option<File> = None;
    let mut next_lock_try = Instant::now();
    loop {
        let (work, stop) = signal.wait(interval, true);
        if stop {
            return;
        }
        let Some(store) = weak.upgrade() else {
            return;
        };
        // Buffered writes first: they are what a caller waits on.
        let _ = store.flush_buffer_in_background();
        if lock.is_none() && Instant::now() >= next_lock_try {
            lock = try_own(store.dir());
            next_lock_try = Instant::now() + OWNERSHIP_RETRY;
        }
        if lock.is_some() && work {
            let outcome = store.maintain_now();
            if let Ok(mut s) = status.lock() {
                s.owner = true;
                s.passes += 1;
                match outcome {
                    Ok(snapshotted) => {
                        s.snapshots += u64::from(snapshotted);
                        s.last_error = None;
                    }
                    Err(e) => s.last_error = Some(e.to_string()),
                }
            }
        }
        drop(store);
        // Let a burst of commits pile up into one pass.
        let (_, stop) = signal.wait(MIN_PASS_GAP, false);
        if stop {
            return;
        }
    }
}

/// Takes the store's owner lock, if no other process holds it.
fn try_own(dir: &std::path::Path) -> Option<File> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(LOCK_FILE))
        .ok()?;
    file.try_lock().ok().map(|()| file)
}

impl Store {
    /// Runs the maintenance that is due now, on the calling thread: flushes
    /// staged points into a segment and merges small segments when due,
    /// and snapshots the search index (trimming the change log) when the log
    /// has grown long. The owner thread calls this; so may a program that
    /// turned the owner off. Returns whether it wrote a snapshot.
    pub fn maintain_now(&self) -> Result<bool> {
        self.compact_points_now()?;
        if self.snapshot_due()? {
            self.refresh_index_snapshot()?;
            return Ok(true);
        }
        Ok(false)
    }

    /// What the maintenance owner has done (default when it is off).
    pub fn maintenance_status(&self) -> MaintenanceStatus {
        self.owner.status()
    }
}
