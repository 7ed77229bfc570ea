//! The facade's error type: what the library and the CLI report.

/// Errors of runstore's library facade.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The storage engine failed or refused.
    #[error(transparent)]
    Engine(#[from] crate::engine::Error),

    /// A search was refused (bad filter, order_by, page token…) or failed.
    #[error(transparent)]
    Query(#[from] runstore_query::Error),

    /// A line of an ingested file is not a valid run record.
    #[error("{file}:{line}: {message}")]
    BadRecord {
        /// The file (or `-` for stdin).
        file: String,
        /// 1-based line number.
        line: u64,
        /// What is wrong with it.
        message: String,
    },

    /// Reading input or writing output failed.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file involved.
        path: std::path::PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A command-line argument is invalid.
    #[error("{0}")]
    Usage(String),

    /// Rendering output (a chart, a column of a SQL answer) failed.
    #[error("{0}")]
    Output(String),

    /// Forwarding to an MLflow server could not do what was asked (a
    /// flush timed out, nothing can deliver the outbox).
    #[error("forwarding: {0}")]
    Forward(String),
}

impl Error {
    /// True when the caller is at fault (bad input), false for failures.
    pub fn is_user_error(&self) -> bool {
        match self {
            Error::Engine(e) => e.is_user_error(),
            Error::Query(e) => e.is_user_error(),
            Error::BadRecord { .. } | Error::Usage(_) => true,
            Error::Io { .. } | Error::Output(_) | Error::Forward(_) => false,
        }
    }

    /// MLflow's error code for this error (`INVALID_PARAMETER_VALUE`,
    /// `RESOURCE_DOES_NOT_EXIST`, `RESOURCE_ALREADY_EXISTS`,
    /// `TEMPORARILY_UNAVAILABLE` or `INTERNAL_ERROR`).
    pub fn mlflow_error_code(&self) -> &'static str {
        match self {
            Error::Engine(e) | Error::Query(runstore_query::Error::Engine(e)) => {
                e.mlflow_error_code()
            }
            Error::Query(e) if e.is_user_error() => "INVALID_PARAMETER_VALUE",
            Error::BadRecord { .. } | Error::Usage(_) => "INVALID_PARAMETER_VALUE",
            Error::Query(_) | Error::Io { .. } | Error::Output(_) => "INTERNAL_ERROR",
            Error::Forward(_) => "TEMPORARILY_UNAVAILABLE",
        }
    }

    /// The process exit status for this error: 2 for bad input, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        if self.is_user_error() { 2 } else { 1 }
    }
}

/// The facade's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
