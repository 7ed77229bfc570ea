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
}

impl Error {
    /// True when the caller is at fault (bad input), false for failures.
    pub fn is_user_error(&self) -> bool {
        match self {
            Error::Engine(e) => e.is_user_error(),
            Error::Query(e) => e.is_user_error(),
            Error::BadRecord { .. } | Error::Usage(_) => true,
            Error::Io { .. } | Error::Output(_) => false,
        }
    }

    /// The process exit status for this error: 2 for bad input, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        if self.is_user_error() { 2 } else { 1 }
    }
}

/// The facade's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
