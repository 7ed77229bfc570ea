//! Analysis of a store: Parquet export, SQL over the live store, and curves
//! of many runs compared in one call — the facade over
//! [`runstore_query::export`], [`runstore_query::sql`] and
//! [`runstore_query::compare`], ready for the CLI, the C API and Python.
//!
//! ```
//! use runstore::{Store, analysis::{self, Selection}};
//! use runstore::ingest::{ingest, IngestOptions};
//!
//! let dir = tempfile::tempdir()?;
//! let store = Store::open(dir.path().join("store"))?;
//! let lines = r#"{"experiment": "e", "metrics": {"loss": [[0, 0.9, 1700000000000], [1, 0.5, 1700000001000]]}}"#;
//! ingest(&store, lines.as_bytes(), "example", &IngestOptions::default(), |_| {})?;
//! let report = analysis::export(&store, &dir.path().join("out"), &Selection::default(), &mut |_| {})?;
//! assert_eq!((report.runs, report.points), (1, 2));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::Path;
use std::sync::Arc;

pub use runstore_query::compare::{
    Axis, CompareRequest, Comparison, Curve, DEFAULT_MAX_POINTS, downsample,
};
pub use runstore_query::export::{ExportReport, FileReport, Progress};
pub use runstore_query::sql::{EXAMPLES as SQL_EXAMPLES, SqlAnswer};
pub use runstore_query::tables::{Pushdown, Selection, Table, TableScan, Tables};

use crate::engine::Store;
use crate::error::Result;

/// The six tables of `store`'s latest commit, showing the runs `selection` picks.
pub fn tables(store: &Arc<Store>, selection: &Selection) -> Result<Arc<Tables>> {
    Ok(Arc::new(Tables::new(store.read_view()?, selection)?))
}

/// Writes the runs `selection` picks as Parquet files into `dir` (see
/// [`runstore_query::export`]); `progress` hears of every batch written.
pub fn export(
    store: &Arc<Store>,
    dir: &Path,
    selection: &Selection,
    progress: &mut dyn FnMut(&Progress),
) -> Result<ExportReport> {
    Ok(runstore_query::export::export(
        tables(store, selection)?,
        dir,
        progress,
    )?)
}

/// Runs one SQL query over the tables of `store` (the runs `selection`
/// picks). Needs a tokio runtime of the caller's: DataFusion spawns tasks.
pub async fn sql(store: &Arc<Store>, statement: &str, selection: &Selection) -> Result<SqlAnswer> {
    Ok(runstore_query::sql::sql(tables(store, selection)?, statement).await?)
}

/// The curves of `request.metrics` across the runs it selects.
pub fn compare(store: &Arc<Store>, request: &CompareRequest) -> Result<Comparison> {
    Ok(runstore_query::compare::compare(
        &store.read_view()?,
        request,
    )?)
}
