//! The one error type of the search language.

use std::fmt;

/// A filter string or an `order_by` clause that runstore (and, unless the
/// documentation says otherwise, MLflow) rejects.
///
/// Every variant carries the 0-based **character** offset (not byte offset:
/// keys may be non-ASCII) of the place the problem was found, in the filter
/// or in the clause. `Display` prints one line that names the reason and the
/// 1-based character position, e.g.
/// `invalid filter: expected a number after '>' at character 15`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The filter string is invalid.
    #[error("invalid filter: {message} at character {}", .offset + 1)]
    Filter {
        /// What is wrong, in one line.
        message: String,
        /// 0-based character offset into the filter string.
        offset: usize,
    },

    /// One `order_by` clause is invalid.
    #[error(
        "invalid order_by clause {} {}: {message} at character {}",
        .index + 1, Quoted(.clause), .offset + 1
    )]
    OrderBy {
        /// 0-based index of the clause in the list.
        index: usize,
        /// The clause as given.
        clause: String,
        /// What is wrong, in one line.
        message: String,
        /// 0-based character offset into the clause.
        offset: usize,
    },

    /// Two `order_by` clauses order on the same key (aliases count:
    /// `metric.acc` = `metrics.acc`, `created` = `start_time`).
    #[error(
        "invalid order_by clause {} {}: {key} is already ordered on by clause {} at character 1",
        .index + 1, Quoted(.clause), .first + 1
    )]
    DuplicateOrderKey {
        /// 0-based index of the second clause naming the key.
        index: usize,
        /// That clause as given.
        clause: String,
        /// 0-based index of the first clause naming the key.
        first: usize,
        /// The key, printed canonically (e.g. `metrics.acc`).
        key: String,
    },
}

impl ParseError {
    /// The 0-based character offset of the problem, in the filter string or
    /// in the clause named by [`ParseError::clause_index`].
    pub fn offset(&self) -> usize {
        match self {
            ParseError::Filter { offset, .. } | ParseError::OrderBy { offset, .. } => *offset,
            ParseError::DuplicateOrderKey { .. } => 0,
        }
    }

    /// For an `order_by` error, the 0-based index of the offending clause.
    pub fn clause_index(&self) -> Option<usize> {
        match self {
            ParseError::Filter { .. } => None,
            ParseError::OrderBy { index, .. } | ParseError::DuplicateOrderKey { index, .. } => {
                Some(*index)
            }
        }
    }
}

/// Anything that stops a search: a bad request (the caller's fault, exit
/// status 2 in the CLI) or a failure underneath.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The filter or an `order_by` clause does not parse.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The request is malformed: page size, page token, unknown experiment.
    #[error("{0}")]
    InvalidRequest(String),
    /// The store failed.
    #[error(transparent)]
    Engine(#[from] runstore_engine::Error),
    /// DataFusion failed to plan or run a query.
    #[error("query engine: {0}")]
    DataFusion(String),
    /// A SQL statement does not parse or plan (the caller's fault).
    #[error("invalid SQL: {message}{}", Position(*.line, *.column))]
    Sql {
        /// What is wrong, in one line.
        message: String,
        /// 1-based line of the problem, when known.
        line: Option<u64>,
        /// 1-based column of the problem, when known.
        column: Option<u64>,
    },
    /// Writing an output file failed.
    #[error("{}: {message}", .path.display())]
    Write {
        /// The file.
        path: std::path::PathBuf,
        /// What failed.
        message: String,
    },
    /// A broken internal invariant (a bug, reported rather than panicking).
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// Whether the caller's input caused the error (rather than the store
    /// or the machine).
    pub fn is_user_error(&self) -> bool {
        match self {
            Error::Parse(_) | Error::InvalidRequest(_) | Error::Sql { .. } => true,
            Error::Engine(e) => e.is_user_error(),
            Error::DataFusion(_) | Error::Write { .. } | Error::Internal(_) => false,
        }
    }
}

impl From<datafusion::error::DataFusionError> for Error {
    fn from(e: datafusion::error::DataFusionError) -> Self {
        Error::DataFusion(e.to_string())
    }
}

impl From<datafusion::arrow::error::ArrowError> for Error {
    fn from(e: datafusion::arrow::error::ArrowError) -> Self {
        Error::DataFusion(e.to_string())
    }
}

/// ` at line L, column C` when a position is known.
struct Position(Option<u64>, Option<u64>);

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0, self.1) {
            (Some(l), Some(c)) => write!(f, " at line {l}, column {c}"),
            _ => Ok(()),
        }
    }
}

/// Result of a search-language operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Prints user text in double quotes with control characters escaped, so an
/// error message always stays on one line.
pub(crate) struct Quoted<'a>(pub(crate) &'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.0.escape_debug())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_one_line_and_one_based() {
        let e = ParseError::Filter {
            message: "expected a number after '>'".into(),
            offset: 14,
        };
        assert_eq!(
            e.to_string(),
            "invalid filter: expected a number after '>' at character 15"
        );
        let e = ParseError::OrderBy {
            index: 1,
            clause: "metrics.a\nDOWN".into(),
            message: "expected ASC or DESC".into(),
            offset: 10,
        };
        let text = e.to_string();
        assert!(!text.contains('\n'), "{text}");
        assert_eq!(
            text,
            "invalid order_by clause 2 \"metrics.a\\nDOWN\": expected ASC or DESC at character 11"
        );
        assert_eq!(e.clause_index(), Some(1));
        assert_eq!(e.offset(), 10);
    }
}
