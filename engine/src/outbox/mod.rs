//! The forwarding outbox: what each commit changed, for a sender to deliver
//! to an external MLflow tracking server.
//!
//! When forwarding is enabled for a store ([`crate::Store::set_forwarding`],
//! kept in the catalog so every process writing the store records), each
//! write transaction also appends, in the same redb transaction, one entry
//! per run it changed ([`RunDelta`]: what was created, set, logged, deleted,
//! as the difference between the run's row before and after the commit plus
//! the metric points it stored) and one per experiment operation
//! ([`ExperimentOp`]). A commit that fails records nothing; a commit that
//! succeeds cannot lose its entries. Entries are numbered by a counter that
//! never goes back, so a sequence number names one entry for ever.
//!
//! The sender (the root crate's `forward` module) reads the oldest entries
//! ([`crate::Store::outbox_head`]), delivers them and reports what it did in
//! one commit ([`crate::Store::forward_progress`]): delivered entries are
//! removed (the outbox holds only what is undelivered), a partly delivered
//! one is replaced by its rest, rejected ones are parked with the server's
//! reason, learnt remote ids are kept. Entries are stored compactly
//! ([`codec`]): a metric point costs about a dozen bytes.

mod codec;

pub(crate) use codec::{decode_item, encode_entry, peek_run};

use crate::metric::MetricPoint;
use crate::types::{DatasetInput, ExperimentId, LifecycleStage, RunId, RunStatus};

/// One recorded change, with its place in the outbox.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxItem {
    /// Its sequence number (unique for ever, increasing in commit order).
    pub seq: u64,
    /// When the commit that recorded it happened, ms since the epoch.
    pub recorded_ms: i64,
    /// The change.
    pub entry: OutboxEntry,
}

/// A recorded change: of a run, or of an experiment.
#[derive(Clone, Debug, PartialEq)]
pub enum OutboxEntry {
    /// What one commit changed in one run.
    Run(RunDelta),
    /// One experiment operation.
    Experiment(ExperimentOp),
}

impl OutboxEntry {
    /// The run it changes, if it is a run's entry.
    pub fn run_id(&self) -> Option<RunId> {
        match self {
            OutboxEntry::Run(d) => Some(d.run_id),
            OutboxEntry::Experiment(_) => None,
        }
    }

    /// Metric points it carries.
    pub fn points(&self) -> usize {
        match self {
            OutboxEntry::Run(d) => d.points(),
            OutboxEntry::Experiment(_) => 0,
        }
    }
}

/// A run's attributes when it was created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunCreated {
    /// Start, ms since the epoch.
    pub start_time: i64,
    /// Its name.
    pub run_name: String,
    /// Its user (empty when unknown).
    pub user: String,
}

/// What one commit changed in one run. Fields left empty did not change;
/// a new run ([`RunDelta::created`]) lists everything it was created with.
/// Applying the deltas of a run in order to an MLflow run gives the run as
/// the store holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct RunDelta {
    /// The run.
    pub run_id: RunId,
    /// Its experiment.
    pub experiment: ExperimentId,
    /// Set when this commit created the run.
    pub created: Option<RunCreated>,
    /// New status (for a new run: when it is not RUNNING, MLflow's default).
    pub status: Option<RunStatus>,
    /// New end time.
    pub end_time: Option<i64>,
    /// New name (of an existing run).
    pub run_name: Option<String>,
    /// New lifecycle stage (for a new run: when it is not active).
    pub lifecycle: Option<LifecycleStage>,
    /// Params logged.
    pub params: Vec<(String, String)>,
    /// Tags set or changed (`mlflow.user` when the user was set).
    pub tags: Vec<(String, String)>,
    /// Tags deleted.
    pub deleted_tags: Vec<String>,
    /// Metric points stored, by key (points identical to stored ones are
    /// not stored, so not recorded either).
    pub metrics: Vec<(String, Vec<MetricPoint>)>,
    /// Dataset inputs added.
    pub inputs: Vec<DatasetInput>,
}

impl RunDelta {
    /// An empty delta of `run_id` in `experiment`.
    pub fn new(run_id: RunId, experiment: ExperimentId) -> Self {
        RunDelta {
            run_id,
            experiment,
            created: None,
            status: None,
            end_time: None,
            run_name: None,
            lifecycle: None,
            params: Vec::new(),
            tags: Vec::new(),
            deleted_tags: Vec::new(),
            metrics: Vec::new(),
            inputs: Vec::new(),
        }
    }

    /// Metric points it carries.
    pub fn points(&self) -> usize {
        self.metrics.iter().map(|(_, p)| p.len()).sum()
    }

    /// Adds `other`'s changes (of the same run) after this one's: lists are
    /// appended, attributes `other` sets win.
    pub fn absorb(&mut self, other: RunDelta) {
        if self.created.is_none() {
            self.created = other.created;
        }
        self.status = other.status.or(self.status);
        self.end_time = other.end_time.or(self.end_time);
        self.run_name = other.run_name.or(self.run_name.take());
        self.lifecycle = other.lifecycle.or(self.lifecycle);
        self.params.extend(other.params);
        self.tags.extend(other.tags);
        self.deleted_tags.extend(other.deleted_tags);
        for (key, points) in other.metrics {
            match self.metrics.iter_mut().find(|(k, _)| *k == key) {
                Some((_, mine)) => mine.extend(points),
                None => self.metrics.push((key, points)),
            }
        }
        self.inputs.extend(other.inputs);
    }

    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.created.is_none()
            && self.status.is_none()
            && self.end_time.is_none()
            && self.run_name.is_none()
            && self.lifecycle.is_none()
            && self.params.is_empty()
            && self.tags.is_empty()
            && self.deleted_tags.is_empty()
            && self.metrics.iter().all(|(_, p)| p.is_empty())
            && self.inputs.is_empty()
    }
}

/// One experiment operation, as MLflow's API names them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExperimentOp {
    /// Created with a name and tags.
    Created {
        /// The experiment.
        id: ExperimentId,
        /// Its name.
        name: String,
        /// Its tags.
        tags: Vec<(String, String)>,
    },
    /// Renamed.
    Renamed {
        /// The experiment.
        id: ExperimentId,
        /// Its new name.
        name: String,
    },
    /// Deleted (with its runs).
    Deleted {
        /// The experiment.
        id: ExperimentId,
    },
    /// Restored (with its runs).
    Restored {
        /// The experiment.
        id: ExperimentId,
    },
    /// A tag set.
    TagSet {
        /// The experiment.
        id: ExperimentId,
        /// The tag's key.
        key: String,
        /// Its value.
        value: String,
    },
    /// A tag deleted.
    TagDeleted {
        /// The experiment.
        id: ExperimentId,
        /// The tag's key.
        key: String,
    },
}

impl ExperimentOp {
    /// The experiment it changes.
    pub fn experiment(&self) -> ExperimentId {
        match self {
            ExperimentOp::Created { id, .. }
            | ExperimentOp::Renamed { id, .. }
            | ExperimentOp::Deleted { id }
            | ExperimentOp::Restored { id }
            | ExperimentOp::TagSet { id, .. }
            | ExperimentOp::TagDeleted { id, .. } => *id,
        }
    }
}

/// An entry the server refused for good, set aside with its reason.
#[derive(Clone, Debug, PartialEq)]
pub struct ParkedItem {
    /// The entry (its sequence number is its key in the parked table too).
    pub item: OutboxItem,
    /// When it was parked, ms since the epoch.
    pub parked_ms: i64,
    /// Why: the server's answer.
    pub reason: String,
}

/// How forwarding is set for a store (kept in the catalog).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ForwardSettings {
    /// Whether writes are recorded in the outbox.
    pub enabled: bool,
    /// What the recorded remote ids refer to (the server and target
    /// experiment); changing it forgets them.
    pub target: String,
    /// The next entry's sequence number.
    pub next_seq: u64,
}

/// What the sender last reported (kept in the catalog, so any process can
/// show it).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SenderStatus {
    /// When a delivery last succeeded, ms since the epoch.
    pub last_success_ms: Option<i64>,
    /// The last failure (cleared by the next success): when, and what.
    pub last_error: Option<(i64, String)>,
    /// Entries delivered so far.
    pub delivered_entries: u64,
    /// Metric points delivered so far.
    pub delivered_points: u64,
    /// Entries parked so far.
    pub parked_entries: u64,
}

/// What a sender did, reported in one commit ([`crate::Store::forward_progress`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ForwardProgress {
    /// Entries finished with (delivered, or parked whole): removed.
    pub done: Vec<u64>,
    /// Entries delivered in part: replaced by what is left of them.
    pub remainders: Vec<OutboxItem>,
    /// Entries, or parts of entries, the server refused for good, with its
    /// reason: kept in the parked table (parts of one entry are merged).
    pub parked: Vec<(OutboxItem, String)>,
    /// Runs the sender is about to create on the server, recorded before it
    /// tries (see [`RemoteRun::Intended`]).
    pub intents: Vec<RunId>,
    /// Remote run ids learnt.
    pub runs: Vec<(RunId, String)>,
    /// Remote experiment ids learnt.
    pub experiments: Vec<(ExperimentId, String)>,
    /// Metric points delivered by this report.
    pub points: u64,
    /// A failure to note in the status (`None`: this report is a success,
    /// when it finished anything).
    pub error: Option<String>,
}

impl ForwardProgress {
    /// Whether it reports nothing.
    pub fn is_empty(&self) -> bool {
        self.done.is_empty()
            && self.intents.is_empty()
            && self.remainders.is_empty()
            && self.parked.is_empty()
            && self.runs.is_empty()
            && self.experiments.is_empty()
            && self.points == 0
            && self.error.is_none()
    }
}

/// What the store knows of a run's copy on the forwarding target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RemoteRun {
    /// Nothing: no sender recorded an intent to create it.
    Unknown,
    /// A sender recorded that it was about to create it: the copy may exist
    /// (the sender may have died before learning its id), so look for it
    /// before creating it.
    Intended,
    /// The copy's id.
    Known(String),
}

/// The outbox at a glance.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OutboxSummary {
    /// Undelivered entries.
    pub entries: u64,
    /// Their encoded size, bytes.
    pub bytes: u64,
    /// When the oldest was recorded, ms since the epoch.
    pub oldest_ms: Option<i64>,
    /// Undelivered entries per run, by run id.
    pub per_run: Vec<(RunId, u64)>,
    /// Undelivered experiment operations.
    pub experiment_ops: u64,
    /// Parked entries.
    pub parked: u64,
}
