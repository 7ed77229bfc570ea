//! The sender thread: one per process and store, delivering only while it
//! holds `DIR/forward.lock` (so one process of the many that may write a
//! store delivers its outbox; another takes over when it ends or dies).
//!
//! It reads the outbox's oldest entries, delivers them ([`super::deliver`])
//! and goes round again; when the outbox is empty it looks again every
//! [`IDLE_POLL`] (writes of other processes land there too). When the server
//! cannot be reached it waits before trying again — half a second, doubling
//! to at most [`MAX_BACKOFF`], with random jitter so that many senders do
//! not retry in step — for ever: local writes never wait for it.

use std::fs::{File, OpenOptions};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::client::Client;
use super::config::ForwardConfig;
use super::context::{Stop, StoreRef};
use super::deliver::Delivery;
use super::resolve::Resolver;
use crate::engine::{ForwardProgress, Store};
use crate::error::{Error, Result};

/// The lock file whose holder delivers the store's outbox.
pub const LOCK_FILE: &str = "forward.lock";
/// How often an idle sender looks at the outbox again.
pub const IDLE_POLL: Duration = Duration::from_millis(100);
/// How often a process whose sender does not hold the lock tries to take it.
const LOCK_RETRY: Duration = Duration::from_secs(1);
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// The longest wait between two attempts while the server is unavailable.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Entries (and metric points) read per window.
const WINDOW_ENTRIES: usize = 4096;
const WINDOW_POINTS: usize = 200_000;

/// What a running sender shares with its handles.
#[derive(Default)]
pub(crate) struct Shared {
    flags: Mutex<Flags>,
    wake: Condvar,
}

#[derive(Default)]
struct Flags {
    stop: bool,
    nudged: bool,
    owner: bool,
    finished: bool,
}

impl Shared {
    /// Asks the thread to end.
    pub fn stop(&self) {
        if let Ok(mut f) = self.flags.lock() {
            f.stop = true;
        }
        self.wake.notify_all();
    }

    /// Wakes the thread from a wait (new entries, a flush).
    pub fn nudge(&self) {
        if let Ok(mut f) = self.flags.lock() {
            f.nudged = true;
        }
        self.wake.notify_all();
    }

    /// Whether the thread holds the forward lock (delivers).
    pub fn is_owner(&self) -> bool {
        self.flags.lock().map(|f| f.owner).unwrap_or(false)
    }

    /// Whether the thread has ended.
    pub fn is_finished(&self) -> bool {
        self.flags.lock().map(|f| f.finished).unwrap_or(true)
    }

    /// Waits up to `timeout` or until stopped or (when `nudgeable`) nudged;
    /// true when stopped. A backoff is not nudgeable: a waiting flush must
    /// not make the sender hammer a server that is down.
    fn wait(&self, timeout: Duration, nudgeable: bool) -> bool {
        let Ok(flags) = self.flags.lock() else {
            return true;
        };
        let Ok((mut flags, _)) = self
            .wake
            .wait_timeout_while(flags, timeout, |f| !(f.stop || nudgeable && f.nudged))
        else {
            return true;
        };
        flags.nudged = false;
        flags.stop
    }

    fn set(&self, f: impl FnOnce(&mut Flags)) {
        if let Ok(mut flags) = self.flags.lock() {
            f(&mut flags);
        }
    }
}

/// Starts a sender thread for `store`, delivering to `config`'s server.
pub(crate) fn spawn(store: &Arc<Store>, config: ForwardConfig) -> Result<Arc<Shared>> {
    let shared = Arc::new(Shared::default());
    let weak = StoreRef::new(store);
    let thread_shared = shared.clone();
    std::thread::Builder::new()
        .name("runstore-forward".into())
        .spawn(move || {
            run(&weak, config, &thread_shared);
            thread_shared.set(|f| {
                f.finished = true;
                f.owner = false;
            });
        })
        .map_err(|e| Error::Io {
            path: store.dir().to_path_buf(),
            source: e,
        })?;
    Ok(shared)
}

fn run(store: &StoreRef, mut config: ForwardConfig, shared: &Shared) {
    let mut client = Client::new(&config);
    let mut resolver = Resolver::new(config.experiment.clone());
    let mut lock: Option<File> = None;
    let mut backoff = Backoff::default();
    loop {
        if lock.is_none() {
            let Ok(dir) = store.get().map(|s| s.dir().to_path_buf()) else {
                return;
            };
            lock = try_lock(&dir);
            if lock.is_none() {
                if shared.wait(LOCK_RETRY, false) {
                    return;
                }
                continue;
            }
            shared.set(|f| f.owner = true);
        }
        let head = store
            .get()
            .and_then(|s| Ok(s.outbox_head(WINDOW_ENTRIES, WINDOW_POINTS)?));
        let outcome = match head {
            Ok(items) if items.is_empty() => {
                backoff.reset();
                if let Some(newer) = reconfigured(store, &config) {
                    config = newer;
                    client = Client::new(&config);
                    resolver = Resolver::new(config.experiment.clone());
                }
                if shared.wait(IDLE_POLL, true) {
                    return;
                }
                continue;
            }
            Ok(items) => Delivery::new(&client, store, &mut resolver).window(items),
            Err(stop) => Err(stop),
        };
        let why = match outcome {
            Ok(()) => {
                backoff.reset();
                continue;
            }
            Err(Stop::Closed) => return,
            Err(Stop::Unavailable(why)) => why,
            Err(Stop::Store(e)) => format!("the store: {e}"),
        };
        let delay = backoff.next();
        let note = ForwardProgress {
            error: Some(format!(
                "{why} (next attempt in {:.1} s)",
                delay.as_secs_f64()
            )),
            ..ForwardProgress::default()
        };
        match store.get() {
            Ok(s) => {
                let _ = s.forward_progress(note);
            }
            Err(_) => return,
        }
        if shared.wait(delay, false) {
            return;
        }
    }
}

/// A new configuration when another process configured forwarding anew
/// (the catalog names another target) and this process's settings agree.
fn reconfigured(store: &StoreRef, config: &ForwardConfig) -> Option<ForwardConfig> {
    let s = store.get().ok()?;
    let settings = s.forward_settings().ok()?;
    if settings.target == config.target() {
        return None;
    }
    let newer = ForwardConfig::load(s.dir()).ok()??;
    (newer.target() == settings.target).then_some(newer)
}

/// Takes `DIR/forward.lock`, if no other process holds it.
fn try_lock(dir: &Path) -> Option<File> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(LOCK_FILE))
        .ok()?;
    file.try_lock().ok().map(|()| file)
}

/// Whether some process's sender holds `DIR/forward.lock` now.
pub(crate) fn lock_is_held(dir: &Path) -> bool {
    let Ok(file) = OpenOptions::new().read(true).open(dir.join(LOCK_FILE)) else {
        return false;
    };
    match file.try_lock_shared() {
        Ok(()) => {
            let _ = file.unlock();
            false
        }
        Err(_) => true,
    }
}

/// Exponential backoff with jitter: each wait is between half and all of
/// a doubling step, capped.
#[derive(Default)]
struct Backoff {
    step: Option<Duration>,
}

impl Backoff {
    fn reset(&mut self) {
        self.step = None;
    }

    fn next(&mut self) -> Duration {
        let step = match self.step {
            None => FIRST_BACKOFF,
            Some(s) => (s * 2).min(MAX_BACKOFF),
        };
        self.step = Some(step);
        let half = step / 2;
        let jitter = getrandom::u64().unwrap_or(0) % (half.as_millis() as u64 + 1);
        half + Duration::from_millis(jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_its_cap() {
        let mut b = Backoff::default();
        let mut steps = Vec::new();
        for _ in 0..10 {
            steps.push(b.next());
        }
        assert!(steps[0] >= FIRST_BACKOFF / 2 && steps[0] <= FIRST_BACKOFF);
        assert!(steps[3] >= FIRST_BACKOFF * 4 && steps[3] <= FIRST_BACKOFF * 8);
        assert!(steps.iter().all(|s| *s <= MAX_BACKOFF));
        assert!(steps[9] >= MAX_BACKOFF / 2);
        b.reset();
        assert!(b.next() <= FIRST_BACKOFF);
    }
}
