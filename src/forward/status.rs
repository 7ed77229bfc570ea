//! What `runstore forward status` reports: the outbox (pending entries per
//! run, the oldest one's age), parked entries with their reasons, and the
//! sender's last error and last success.

use serde_json::{Value, json};

use super::config::ForwardConfig;
use crate::engine::{OutboxEntry, ParkedItem, RunId, SenderStatus, Store};
use crate::error::Result;

/// Forwarding's state for one store.
#[derive(Clone, Debug, PartialEq)]
pub struct ForwardStatus {
    /// The server this process would forward to (runstore.toml and the
    /// environment), if any.
    pub configured: Option<ForwardConfig>,
    /// Whether writes are being recorded in the outbox (a catalog setting,
    /// shared by every process writing the store).
    pub recording: bool,
    /// What the recorded remote ids refer to (server and experiment).
    pub target: String,
    /// Whether some process's sender holds the store's forward lock now.
    pub sender_active: bool,
    /// Undelivered entries.
    pub pending_entries: u64,
    /// Their size in the catalog, bytes.
    pub pending_bytes: u64,
    /// Undelivered entries per run, most first.
    pub pending_per_run: Vec<(RunId, u64)>,
    /// Undelivered experiment operations.
    pub pending_experiment_ops: u64,
    /// When the oldest undelivered entry was recorded, ms since the epoch.
    pub oldest_ms: Option<i64>,
    /// How far behind the server is: now minus the oldest undelivered
    /// entry's time, ms (0 when nothing is pending).
    pub lag_ms: i64,
    /// Entries the server refused for good.
    pub parked: Vec<ParkedItem>,
    /// The sender's counters, last error and last success.
    pub sender: SenderStatus,
}

impl ForwardStatus {
    /// Reads the status of `store` (any handle, read-only too).
    pub fn read(store: &Store) -> Result<Self> {
        let settings = store.forward_settings()?;
        let summary = store.outbox_summary()?;
        let now = now_ms();
        Ok(ForwardStatus {
            configured: ForwardConfig::load(store.dir())?,
            recording: settings.enabled,
            target: settings.target,
            sender_active: super::sender::lock_is_held(store.dir()),
            pending_entries: summary.entries,
            pending_bytes: summary.bytes,
            pending_per_run: summary.per_run,
            pending_experiment_ops: summary.experiment_ops,
            oldest_ms: summary.oldest_ms,
            lag_ms: summary.oldest_ms.map_or(0, |o| (now - o).max(0)),
            parked: store.parked_entries()?,
            sender: store.sender_status()?,
        })
    }

    /// The status as JSON (what `forward status --format json` prints).
    pub fn to_json(&self) -> Value {
        json!({
            "configured": self.configured.as_ref().map(|c| json!({
                "mlflow_uri": c.uri,
                "experiment": c.experiment,
            })),
            "recording": self.recording,
            "target": self.target,
            "sender_active": self.sender_active,
            "pending": {
                "entries": self.pending_entries,
                "bytes": self.pending_bytes,
                "experiment_ops": self.pending_experiment_ops,
                "oldest_ms": self.oldest_ms,
                "lag_ms": self.lag_ms,
                "runs": self.pending_per_run.iter().map(|(run, n)| json!({
                    "run_id": run.to_string(),
                    "entries": n,
                })).collect::<Vec<_>>(),
            },
            "parked": self.parked.iter().map(parked_json).collect::<Vec<_>>(),
            "last_error": self.sender.last_error.as_ref().map(|(at, message)| json!({
                "at_ms": at,
                "message": message,
            })),
            "last_success_ms": self.sender.last_success_ms,
            "delivered": {
                "entries": self.sender.delivered_entries,
                "points": self.sender.delivered_points,
            },
            "parked_total": self.sender.parked_entries,
        })
    }
}

fn parked_json(p: &ParkedItem) -> Value {
    let (run_id, what) = describe(&p.item.entry);
    json!({
        "seq": p.item.seq,
        "run_id": run_id,
        "what": what,
        "reason": p.reason,
        "recorded_ms": p.item.recorded_ms,
        "parked_ms": p.parked_ms,
    })
}

/// An entry's run (if a run's) and a short account of what it holds.
pub fn describe(entry: &OutboxEntry) -> (Option<String>, String) {
    match entry {
        OutboxEntry::Experiment(op) => (None, format!("experiment {op:?}")),
        OutboxEntry::Run(d) => {
            let mut parts = Vec::new();
            if d.created.is_some() {
                parts.push("creation".to_owned());
            }
            let keys = |pairs: &[(String, String)]| {
                pairs
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            if !d.params.is_empty() {
                parts.push(format!("params {}", keys(&d.params)));
            }
            if !d.tags.is_empty() {
                parts.push(format!("tags {}", keys(&d.tags)));
            }
            if !d.deleted_tags.is_empty() {
                parts.push(format!("tag deletions {}", d.deleted_tags.join(", ")));
            }
            if d.points() > 0 {
                parts.push(format!("{} metric points", d.points()));
            }
            if !d.inputs.is_empty() {
                parts.push(format!("{} inputs", d.inputs.len()));
            }
            if d.status.is_some() || d.end_time.is_some() || d.run_name.is_some() {
                parts.push("status/end/name update".to_owned());
            }
            if let Some(l) = d.lifecycle {
                parts.push(format!("lifecycle {l}"));
            }
            (Some(d.run_id.to_string()), parts.join("; "))
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
