//! Dual-write: forwarding every write of a store to an external MLflow
//! tracking server, losing nothing while that server is down.
//!
//! With forwarding configured ([`ForwardConfig`]: `runstore.toml` in the
//! store directory and/or `RUNSTORE_FORWARD_MLFLOW_URI`…), every commit also
//! records what it changed in the store's outbox, in the same transaction
//! (the engine's [`crate::engine::outbox`]). A sender thread ([`start`])
//! delivers the outbox through MLflow's REST API — runs created (found
//! again by their `runstore.run_id` tag after a crash), params, tags and
//! metric points coalesced into `runs/log-batch` calls within MLflow's
//! limits, inputs, status updates, deletes and restores, experiment
//! operations — in order per run, and removes what was delivered. Local
//! writes never wait for it or fail because of it. A write the server
//! refuses for good (a 4xx) is parked with the server's message
//! ([`retry_parked`] queues parked entries again); anything else (no
//! connection, a 5xx, 429) is retried with backoff, for ever.
//!
//! Delivery is exactly once across crashes and retries: a metric point
//! identical to a stored one is ignored by MLflow, a param logged again
//! with its value and a tag set again change nothing, and a run is created
//! only after a search for its `runstore.run_id` tag came back empty.
//!
//! ```no_run
//! use runstore::forward::{self, ForwardConfig};
//! use std::time::Duration;
//!
//! let store = runstore::Store::open("./store")?;
//! forward::configure(&store, &ForwardConfig::new("http://mlflow.internal:5000")?)?;
//! forward::start(&store)?;                       // the sender thread of this process
//! let exp = store.get_or_create_experiment("mnist")?;
//! // ... log as usual; every write is also on its way to the server ...
//! forward::flush(&store, Some(Duration::from_secs(60)))?; // wait until delivered
//! println!("{}", forward::status(&store)?.to_json());
//! # Ok::<(), runstore::Error>(())
//! ```

mod batch;
mod client;
mod config;
mod context;
mod deliver;
mod remote;
mod resolve;
mod sender;
mod status;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use config::{
    Auth, CONFIG_FILE, ENV_EXPERIMENT, ENV_PASSWORD, ENV_TOKEN, ENV_URI, ENV_USERNAME,
    ForwardConfig,
};
pub use remote::TAG_SOURCE_RUN_ID;
pub use sender::{IDLE_POLL, LOCK_FILE, MAX_BACKOFF};
pub use status::{ForwardStatus, describe};

use context::StoreRef;
use sender::Shared;

use crate::engine::Store;
use crate::error::{Error, Result};

/// A sender running in this process.
struct Running {
    store: StoreRef,
    dir: PathBuf,
    shared: Arc<Shared>,
}

/// The senders of this process (one per store).
static RUNNING: Mutex<Vec<Running>> = Mutex::new(Vec::new());

fn running() -> Result<std::sync::MutexGuard<'static, Vec<Running>>> {
    let mut r = RUNNING
        .lock()
        .map_err(|_| Error::Forward("the registry of senders is poisoned".into()))?;
    r.retain(|s| !s.shared.is_finished());
    Ok(r)
}

/// The sender of this process for `store`, if one runs.
fn sender_of(store: &Arc<Store>) -> Result<Option<Arc<Shared>>> {
    let dir = canonical(store);
    Ok(running()?
        .iter()
        .find(|r| r.store.is(store) || r.dir == dir)
        .map(|r| r.shared.clone()))
}

fn canonical(store: &Store) -> PathBuf {
    std::fs::canonicalize(store.dir()).unwrap_or_else(|_| store.dir().to_path_buf())
}

/// Starts forwarding for a writable `store` when it is configured
/// (`runstore.toml` or the environment): turns recording on for the store
/// (in its catalog, so every process writing it records) and starts this
/// process's sender thread, unless one runs already. The thread delivers
/// while it holds the store's `forward.lock` and ends when the store is
/// closed. Returns whether forwarding is configured.
pub fn start(store: &Arc<Store>) -> Result<bool> {
    match prepare(store)? {
        Some(config) => {
            start_with(store, config)?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Turns recording on for a writable `store` when forwarding is configured
/// for it, without starting a sender: what a short-lived writer (a CLI
/// command) does, so that its writes wait in the outbox for a sender.
/// Returns the configuration, if any.
pub fn prepare(store: &Store) -> Result<Option<ForwardConfig>> {
    if !store.is_writable() {
        return Ok(None);
    }
    let Some(config) = ForwardConfig::load(store.dir())? else {
        return Ok(None);
    };
    let settings = store.forward_settings()?;
    if !settings.enabled || settings.target != config.target() {
        store.set_forwarding(true, &config.target())?;
    }
    Ok(Some(config))
}

/// [`start`] with an explicit configuration (not read from, nor written to,
/// `runstore.toml`).
pub fn start_with(store: &Arc<Store>, config: ForwardConfig) -> Result<()> {
    if !store.is_writable() {
        return Err(Error::Usage(format!(
            "store {} was opened read-only: a sender needs a writable handle",
            store.dir().display()
        )));
    }
    let settings = store.forward_settings()?;
    if !settings.enabled || settings.target != config.target() {
        store.set_forwarding(true, &config.target())?;
    }
    let mut senders = running()?;
    let dir = canonical(store);
    if senders.iter().any(|r| r.store.is(store) || r.dir == dir) {
        return Ok(());
    }
    let shared = sender::spawn(store, config)?;
    senders.push(Running {
        store: StoreRef::new(store),
        dir,
        shared,
    });
    Ok(())
}

/// Saves `config` in the store's `runstore.toml` and turns recording on,
/// from the next commit on. (The sender starts with [`start`].)
pub fn configure(store: &Store, config: &ForwardConfig) -> Result<()> {
    config.save(store.dir())?;
    store.set_forwarding(true, &config.target())?;
    Ok(())
}

/// Turns forwarding off: removes `[forward]` from the store's
/// `runstore.toml` and stops recording. Entries already recorded stay in
/// the outbox (`forward status` shows them) and are delivered by any
/// sender that runs.
pub fn disable(store: &Store) -> Result<()> {
    ForwardConfig::remove(store.dir())?;
    let settings = store.forward_settings()?;
    store.set_forwarding(false, &settings.target)?;
    Ok(())
}

/// What [`flush`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flushed {
    /// Entries the server refused for good (not delivered, set aside).
    pub parked: u64,
    /// How long it waited.
    pub waited: Duration,
}

/// Commits buffered writes, then waits until every recorded write is
/// delivered (or parked) — by this process's sender, started if needed, or
/// by another process's. Fails with [`Error::Forward`] when `timeout`
/// passes first (saying what is left and the sender's last error), or
/// when entries wait and no sender can run (forwarding not configured here
/// and no other process delivering).
pub fn flush(store: &Arc<Store>, timeout: Option<Duration>) -> Result<Flushed> {
    let started = Instant::now();
    if store.is_writable() {
        store.flush()?;
    }
    let mut shared = sender_of(store)?;
    if shared.is_none() && store.is_writable() && start(store)? {
        shared = sender_of(store)?;
    }
    if let Some(s) = &shared {
        s.nudge();
    }
    loop {
        if store.outbox_is_empty()? {
            return Ok(Flushed {
                parked: store.outbox_summary()?.parked,
                waited: started.elapsed(),
            });
        }
        if shared.is_none() && !sender::lock_is_held(store.dir()) {
            let left = store.outbox_summary()?.entries;
            return Err(Error::Forward(format!(
                "{left} outbox entries wait and nothing delivers them: forwarding is not configured \
                 here (set {ENV_URI} or run `runstore forward configure --uri URI`)"
            )));
        }
        if let Some(limit) = timeout
            && started.elapsed() >= limit
        {
            let summary = store.outbox_summary()?;
            let last = store
                .sender_status()?
                .last_error
                .map(|(_, e)| format!("; last error: {e}"))
                .unwrap_or_default();
            return Err(Error::Forward(format!(
                "timed out after {:.1} s: {} outbox entries ({} runs) not yet delivered{last}",
                limit.as_secs_f64(),
                summary.entries,
                summary.per_run.len()
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Forwarding's state for `store`.
pub fn status(store: &Store) -> Result<ForwardStatus> {
    ForwardStatus::read(store)
}

/// Puts every parked entry back in the outbox to be delivered again (after
/// the cause was fixed on the server); returns how many.
pub fn retry_parked(store: &Arc<Store>) -> Result<u64> {
    let moved = store.retry_parked()?;
    if let Some(s) = sender_of(store)? {
        s.nudge();
    }
    Ok(moved)
}

/// Whether this process's sender for `store` holds the forward lock (is
/// the one delivering).
pub fn is_delivering(store: &Arc<Store>) -> Result<bool> {
    Ok(sender_of(store)?.is_some_and(|s| s.is_owner()))
}

/// Stops this process's sender for `store` (it ends after its current
/// call); what is undelivered stays in the outbox.
pub fn stop(store: &Arc<Store>) -> Result<()> {
    let dir = canonical(store);
    let mut senders = running()?;
    senders.retain(|r| {
        let this = r.store.is(store) || r.dir == dir;
        if this {
            r.shared.stop();
        }
        !this
    });
    Ok(())
}
