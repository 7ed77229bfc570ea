//! The engine's error type: one enum, variants by cause, with the context a user needs.

use std::path::PathBuf;

/// Everything that can go wrong in the storage engine.
///
/// Variants split into two families: *bad input* (the caller asked for something
/// invalid or missing — see [`Error::is_user_error`]) and *failures* (I/O, corruption,
/// the catalog database). The CLI maps the first family to exit status 2.
///
/// The enum is `Clone` (a group commit hands one failure to every caller
/// whose write was in it) and names no third-party type: the catalog's and
/// Parquet's errors are kept as their messages.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value, key or record breaks one of MLflow's rules or limits.
    #[error("{0}")]
    InvalidInput(String),

    /// A param already holds another value; params are immutable.
    #[error(
        "param {key:?} of run {run_id} is already {old:?} and cannot be changed to {new:?} (params are immutable)"
    )]
    ParamConflict {
        /// The run.
        run_id: String,
        /// The param key.
        key: String,
        /// The stored value.
        old: String,
        /// The rejected new value.
        new: String,
    },

    /// No run has this id.
    #[error("run {0} not found")]
    RunNotFound(String),

    /// No experiment has this name or id.
    #[error("experiment {0:?} not found")]
    ExperimentNotFound(String),

    /// A run has no tag with this key (MLflow's `delete_tag`).
    #[error("No tag with name: {key} in run with id {run_id}")]
    TagNotFound {
        /// The run.
        run_id: String,
        /// The tag key.
        key: String,
    },

    /// Something that must be unique exists already (an experiment name, a run id).
    #[error("{0}")]
    AlreadyExists(String),

    /// No logged model has this id (or it was deleted, for reads).
    #[error("Logged model with ID '{0}' not found.")]
    LoggedModelNotFound(String),

    /// A logged model has no tag with this key.
    #[error("No tag with key '{key}' found for model with ID '{model_id}'.")]
    LoggedModelTagNotFound {
        /// The logged model.
        model_id: String,
        /// The tag key.
        key: String,
    },

    /// No registered model has this name.
    #[error("Registered Model with name={0} not found")]
    RegisteredModelNotFound(String),

    /// A registered model has no (live) version with this number.
    #[error("Model Version (name={name}, version={version}) not found")]
    ModelVersionNotFound {
        /// The registered model.
        name: String,
        /// The version asked for, as given.
        version: String,
    },

    /// A registered model has no versions, so no latest one
    /// (`get_model_version_by_alias(name, "latest")`).
    #[error("Latest version not found for model {0}.")]
    NoLatestVersion(String),

    /// A read was asked of a store directory that holds no store.
    #[error("no store at {}: nothing has been ingested there yet", .0.display())]
    StoreNotFound(PathBuf),

    /// Another process has the store open for writing.
    #[error("store {} is in use by another process", .0.display())]
    StoreLocked(PathBuf),

    /// Another process held the store's write lock for longer than the
    /// busy timeout ([`crate::StoreOptions::busy_timeout`]).
    #[error("store {} stayed busy (another process is writing) for {waited_ms} ms", .path.display())]
    StoreBusy {
        /// The store directory.
        path: PathBuf,
        /// How long this call waited.
        waited_ms: u64,
    },

    /// The store was written by a newer or unknown format version.
    #[error("store {path} has format version {found}; this build reads version {expected}", path = .path.display())]
    FormatVersion {
        /// The store directory.
        path: PathBuf,
        /// The version found on disk.
        found: u32,
        /// The version this build understands.
        expected: u32,
    },

    /// A file operation failed.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error (shared, so the error can be cloned).
        #[source]
        source: std::sync::Arc<std::io::Error>,
    },

    /// The catalog database (redb) failed; its message.
    #[error("catalog: {0}")]
    Catalog(String),

    /// A Parquet segment could not be written or read.
    #[error("segment {}: {message}", .path.display())]
    Segment {
        /// The segment file.
        path: PathBuf,
        /// What Parquet or Arrow reported.
        message: String,
    },

    /// Stored data is not what the engine wrote.
    #[error("corrupt store data in {what}: {detail}")]
    Corrupt {
        /// Which file, table or record.
        what: String,
        /// What was wrong.
        detail: String,
    },
}

impl Error {
    /// True when the caller is at fault (bad record, unknown run, param conflict…),
    /// false for I/O, corruption and other failures.
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            Error::InvalidInput(_)
                | Error::ParamConflict { .. }
                | Error::RunNotFound(_)
                | Error::ExperimentNotFound(_)
                | Error::TagNotFound { .. }
                | Error::AlreadyExists(_)
                | Error::StoreNotFound(_)
                | Error::LoggedModelNotFound(_)
                | Error::LoggedModelTagNotFound { .. }
                | Error::RegisteredModelNotFound(_)
                | Error::ModelVersionNotFound { .. }
                | Error::NoLatestVersion(_)
        )
    }

    /// MLflow's error code for this error (`RESOURCE_DOES_NOT_EXIST`,
    /// `INVALID_PARAMETER_VALUE`…), as its REST API and `MlflowException`
    /// name them.
    pub fn mlflow_error_code(&self) -> &'static str {
        match self {
            Error::InvalidInput(_) | Error::ParamConflict { .. } => "INVALID_PARAMETER_VALUE",
            Error::RunNotFound(_)
            | Error::ExperimentNotFound(_)
            | Error::TagNotFound { .. }
            | Error::StoreNotFound(_)
            | Error::LoggedModelNotFound(_)
            | Error::LoggedModelTagNotFound { .. }
            | Error::RegisteredModelNotFound(_)
            | Error::ModelVersionNotFound { .. }
            | Error::NoLatestVersion(_) => "RESOURCE_DOES_NOT_EXIST",
            Error::AlreadyExists(_) => "RESOURCE_ALREADY_EXISTS",
            Error::StoreLocked(_) | Error::StoreBusy { .. } => "TEMPORARILY_UNAVAILABLE",
            Error::FormatVersion { .. }
            | Error::Io { .. }
            | Error::Catalog(_)
            | Error::Segment { .. }
            | Error::Corrupt { .. } => "INTERNAL_ERROR",
        }
    }

    /// Builds an [`Error::Io`] for `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source: std::sync::Arc::new(source),
        }
    }

    /// Builds an [`Error::Segment`] for `path` from a Parquet or Arrow error.
    pub(crate) fn segment(path: impl Into<PathBuf>, source: impl std::fmt::Display) -> Self {
        Error::Segment {
            path: path.into(),
            message: source.to_string(),
        }
    }

    /// Builds an [`Error::Corrupt`].
    pub fn corrupt(what: impl Into<String>, detail: impl std::fmt::Display) -> Self {
        Error::Corrupt {
            what: what.into(),
            detail: detail.to_string(),
        }
    }
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Error::Catalog(redb::Error::from(e).to_string())
            }
        }
    )*};
}
from_redb!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::CompactionError
);

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
