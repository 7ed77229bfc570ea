//! The public data model: experiments, runs and what a run holds.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::metric::MetricPoint;

/// A run's id: 128 bits, written as 32 lowercase hex characters (MLflow's `run_uuid`).
///
/// Ids order like their hex text, so sorting by `RunId` is MLflow's `run_id ASC`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RunId(u128);

impl RunId {
    /// The id as a big-endian integer (its hex text, read as a number).
    pub fn as_u128(self) -> u128 {
        self.0
    }

    /// The id from its integer form (see [`RunId::as_u128`]).
    pub fn from_u128(v: u128) -> Self {
        RunId(v)
    }

    /// The id's 32 hex digits, on the stack (what `to_string` makes, without
    /// allocating).
    pub fn hex(self) -> Hex32 {
        hex32(self.0)
    }

    /// The id's 16 bytes, big-endian.
    pub fn to_bytes(self) -> [u8; 16] {
        self.0.to_be_bytes()
    }

    /// A fresh random id (a version-4 UUID without dashes, as MLflow makes).
    pub fn random() -> Result<Self> {
        let mut b = [0u8; 16];
        getrandom::fill(&mut b)
            .map_err(|e| Error::io("/dev/urandom", std::io::Error::other(e.to_string())))?;
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        Ok(RunId(u128::from_be_bytes(b)))
    }
}

impl FromStr for RunId {
    type Err = Error;

    /// Parses exactly 32 lowercase hex characters.
    fn from_str(s: &str) -> Result<Self> {
        let ok = s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !ok {
            return Err(Error::InvalidInput(format!(
                "run_id must be 32 lowercase hex characters, got {s:?}"
            )));
        }
        u128::from_str_radix(s, 16)
            .map(RunId)
            .map_err(|e| Error::InvalidInput(format!("run_id {s:?}: {e}")))
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(hex32(self.0).as_str())
    }
}

/// The 32 lowercase hex digits of `id` — what `{:032x}` prints, several
/// times faster (search formats a run id per candidate row).
pub fn hex32(id: u128) -> Hex32 {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 32];
    for (i, byte) in id.to_be_bytes().iter().enumerate() {
        out[2 * i] = DIGITS[usize::from(byte >> 4)];
        out[2 * i + 1] = DIGITS[usize::from(byte & 0xf)];
    }
    Hex32(out)
}

/// A run id's hex text, on the stack.
#[derive(Clone, Copy)]
pub struct Hex32([u8; 32]);

impl Hex32 {
    /// The text.
    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits are ever stored, so this never fails.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Debug for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RunId({self})")
    }
}

/// An experiment's id (MLflow prints it as a decimal string).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct ExperimentId(pub u32);

impl fmt::Display for ExperimentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal),* $(,)? } what = $what:literal) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
        pub enum $name { $($(#[$vm])* $v),* }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$v),*];

            /// MLflow's text for the value.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s),* }
            }

            /// The value's position in [`Self::ALL`] (its stored code).
            pub fn code(self) -> u8 {
                self as u8
            }

            /// The value with stored code `code`.
            pub fn from_code(code: u8) -> Option<Self> {
                Self::ALL.get(usize::from(code)).copied()
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                match s {
                    $($s => Ok($name::$v),)*
                    _ => Err(Error::InvalidInput(format!(
                        concat!("invalid ", $what, " {:?}: expected one of {}"),
                        s,
                        [$($s),*].join(", ")
                    ))),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(
    /// A run's status, as in MLflow.
    RunStatus {
        /// Still running.
        Running = "RUNNING",
        /// Scheduled, not started.
        Scheduled = "SCHEDULED",
        /// Ended successfully.
        Finished = "FINISHED",
        /// Ended with an error.
        Failed = "FAILED",
        /// Stopped from outside.
        Killed = "KILLED",
    } what = "status"
);

text_enum!(
    /// Whether a run or experiment is live or (softly) deleted.
    LifecycleStage {
        /// Live.
        Active = "active",
        /// Soft-deleted: hidden from searches unless asked for.
        Deleted = "deleted",
    } what = "lifecycle_stage"
);

/// Which runs a search sees, by lifecycle stage (MLflow's `ViewType`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum ViewType {
    /// Only active runs (the default).
    #[default]
    ActiveOnly,
    /// Only deleted runs.
    DeletedOnly,
    /// Both.
    All,
}

impl ViewType {
    /// Whether a run in `stage` is visible.
    pub fn admits(self, stage: LifecycleStage) -> bool {
        match self {
            ViewType::ActiveOnly => stage == LifecycleStage::Active,
            ViewType::DeletedOnly => stage == LifecycleStage::Deleted,
            ViewType::All => true,
        }
    }
}

impl FromStr for ViewType {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "active" | "active_only" | "ACTIVE_ONLY" => Ok(ViewType::ActiveOnly),
            "deleted" | "deleted_only" | "DELETED_ONLY" => Ok(ViewType::DeletedOnly),
            "all" | "ALL" => Ok(ViewType::All),
            _ => Err(Error::InvalidInput(format!(
                "invalid view {s:?}: expected active, deleted or all"
            ))),
        }
    }
}

/// An experiment: a named group of runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Experiment {
    /// Its id.
    pub id: ExperimentId,
    /// Its unique name.
    pub name: String,
    /// Live or deleted.
    pub lifecycle_stage: LifecycleStage,
    /// Where its runs' artifacts go (`<artifact root>/<id>`).
    pub artifact_location: String,
    /// Creation time, ms since the epoch.
    pub creation_time: i64,
    /// Last change, ms since the epoch.
    pub last_update_time: i64,
    /// Experiment tags.
    pub tags: BTreeMap<String, String>,
}

/// A dataset a run used (MLflow's run input), with its context (`training`, `eval`…).
#[derive(Clone, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct DatasetInput {
    /// Dataset name.
    pub name: String,
    /// Dataset digest (a short hash).
    pub digest: String,
    /// Kind of source (`local`, `s3`, `hf`…).
    pub source_type: String,
    /// Where the data came from.
    pub source: String,
    /// Schema, as JSON text, when known.
    pub schema: Option<String>,
    /// Profile, as JSON text, when known.
    pub profile: Option<String>,
    /// How the run used it (MLflow's input tag `mlflow.data.context`).
    pub context: Option<String>,
}

/// A run, everything but its metric histories (ask [`crate::Store::metric_history`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    /// Its id.
    pub run_id: RunId,
    /// Its name (also the tag `mlflow.runName`).
    pub run_name: String,
    /// Its experiment.
    pub experiment_id: ExperimentId,
    /// The experiment's name.
    pub experiment_name: String,
    /// Status.
    pub status: RunStatus,
    /// Start, ms since the epoch.
    pub start_time: i64,
    /// End, ms since the epoch, if ended.
    pub end_time: Option<i64>,
    /// Who ran it (also the tag `mlflow.user`); empty when unknown.
    pub user: String,
    /// Live or deleted.
    pub lifecycle_stage: LifecycleStage,
    /// Where its artifacts go.
    pub artifact_uri: String,
    /// Params (immutable once logged).
    pub params: BTreeMap<String, String>,
    /// Tags, including `mlflow.runName` and `mlflow.user`.
    pub tags: BTreeMap<String, String>,
    /// Each metric's latest point (MLflow's rule: highest step, then latest
    /// timestamp, then largest value).
    pub metrics: BTreeMap<String, MetricPoint>,
    /// Dataset inputs.
    pub inputs: Vec<DatasetInput>,
}

/// The tag MLflow mirrors the run name in.
pub const TAG_RUN_NAME: &str = "mlflow.runName";
/// The tag MLflow mirrors the user in.
pub const TAG_USER: &str = "mlflow.user";
/// The tag that names a nested run's parent.
pub const TAG_PARENT_RUN_ID: &str = "mlflow.parentRunId";
