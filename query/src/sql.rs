//! SQL over the live store: DataFusion SQL with the six [`Tables`]
//! registered as table providers (projection and filter pushdown, no
//! export step). Errors in the statement come back as [`Error::Sql`] with
//! the line and column DataFusion found them at.

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::error::DataFusionError;
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::error::{Error, Result};
use crate::tables::{Tables, register_tables};

/// Examples of what `runstore sql` answers, each a name and a statement
/// (shown in `--help`, and run by the tests against DuckDB over an export).
pub const EXAMPLES: [(&str, &str); 3] = [
    (
        "the best run of each experiment by a metric",
        "SELECT experiment, run_id, \"metrics.accuracy\" AS accuracy FROM (SELECT experiment, run_id, \"metrics.accuracy\", ROW_NUMBER() OVER (PARTITION BY experiment ORDER BY \"metrics.accuracy\" DESC, run_id) AS rn FROM runs WHERE \"metrics.accuracy\" IS NOT NULL) t WHERE rn = 1 ORDER BY experiment",
    ),
    (
        "the mean loss per step across the runs with a param value",
        "SELECT m.step, AVG(m.value) AS mean_loss, COUNT(*) AS n FROM metrics m JOIN params p ON m.run_id = p.run_id WHERE m.key = 'loss' AND p.key = 'optimizer' AND p.value = 'adam' GROUP BY m.step ORDER BY m.step",
    ),
    (
        "metrics joined to params: the best loss for each learning rate",
        "SELECT p.value AS lr, MIN(m.value) AS best_loss, COUNT(DISTINCT m.run_id) AS runs FROM metrics m JOIN params p ON p.run_id = m.run_id AND p.key = 'lr' WHERE m.key = 'loss' GROUP BY p.value ORDER BY p.value",
    ),
];

/// A statement's answer, as a stream of batches.
pub struct SqlAnswer {
    /// The answer's columns.
    pub schema: SchemaRef,
    batches: SendableRecordBatchStream,
}

impl SqlAnswer {
    /// The next batch of rows, `None` after the last.
    pub async fn next(&mut self) -> Result<Option<RecordBatch>> {
        use futures::StreamExt;
        self.batches.next().await.transpose().map_err(sql_error)
    }
}

impl std::fmt::Debug for SqlAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlAnswer")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

/// Runs one SQL statement (a query: DDL and DML are refused) over `tables`.
///
/// Needs a tokio runtime (DataFusion's joins and sorts spawn tasks): call it
/// from a runtime the caller owns, on a thread allowed to block, since the
/// scans read the store synchronously.
pub async fn sql(tables: Arc<Tables>, statement: &str) -> Result<SqlAnswer> {
    let mut config = SessionConfig::new()
        .with_target_partitions(1)
        .with_information_schema(true);
    config.options_mut().sql_parser.collect_spans = true;
    let ctx = SessionContext::new_with_config(config);
    register_tables(&ctx, tables)?;
    let options = datafusion::execution::context::SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false);
    let df = ctx
        .sql_with_options(statement, options)
        .await
        .map_err(sql_error)?;
    let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
    let batches = df.execute_stream().await.map_err(sql_error)?;
    Ok(SqlAnswer { schema, batches })
}

/// A planning failure as the caller's error, with its position; anything
/// else (a failure while reading) as it is.
pub(crate) fn sql_error(e: DataFusionError) -> Error {
    if let Some(DataFusionError::External(inner)) =
        e.iter().find(|e| matches!(e, DataFusionError::External(_)))
        && let Some(ours) = inner.downcast_ref::<Error>()
    {
        return match ours {
            Error::Engine(e) => Error::Engine(e.clone()),
            other => Error::Internal(other.to_string()),
        };
    }
    let user = e.iter().any(|e| {
        matches!(
            e,
            DataFusionError::SQL(..)
                | DataFusionError::Plan(_)
                | DataFusionError::SchemaError(..)
                | DataFusionError::NotImplemented(_)
                | DataFusionError::Diagnostic(..)
        )
    });
    if !user {
        return Error::from(e);
    }
    let (mut line, mut column) = (None, None);
    if let Some(span) = e.diagnostic().and_then(|d| d.span) {
        (line, column) = (Some(span.start.line), Some(span.start.column));
    }
    let root = e.find_root().to_string();
    let mut message = root.lines().next().unwrap_or_default().trim().to_owned();
    // sqlparser puts the position in the text: "... at Line: 1, Column: 8".
    if let Some(at) = message.find(" at Line: ") {
        let tail = &message[at + " at Line: ".len()..];
        let mut parts = tail.split(", Column: ");
        let l = parts.next().and_then(|v| v.trim().parse().ok());
        let c = parts
            .next()
            .and_then(|v| v.trim_matches(|ch: char| !ch.is_ascii_digit()).parse().ok());
        if line.is_none() {
            (line, column) = (l, c);
        }
        message.truncate(at);
    }
    for prefix in [
        "SQL error: ",
        "sql parser error: ",
        "Error during planning: ",
        "Schema error: ",
        "This feature is not implemented: ",
    ] {
        if let Some(rest) = message.strip_prefix(prefix) {
            message = rest.to_owned();
        }
    }
    Error::Sql {
        message,
        line,
        column,
    }
}
