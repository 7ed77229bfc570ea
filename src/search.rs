//! Run search: MLflow's `search_runs` over a store.
//!
//! The query crate parses the filter and `order_by` strings and plans the
//! search on DataFusion over the engine's in-memory search index; this module
//! turns the page of index rows it returns into whole [`Run`]s read from the
//! same catalog snapshot.
//!
//! ```
//! use runstore::{Store, ingest::{ingest, IngestOptions}, search::{search, SearchRequest}};
//!
//! let dir = tempfile::tempdir()?;
//! let store = Store::open(dir.path())?;
//! let lines = concat!(
//!     r#"{"experiment": "e", "run_id": "00000000000000000000000000000001", "metrics": {"acc": [[0, 0.7, 1]]}}"#, "\n",
//!     r#"{"experiment": "e", "run_id": "00000000000000000000000000000002", "metrics": {"acc": [[0, 0.9, 1]]}}"#,
//! );
//! ingest(&store, lines.as_bytes(), "example", &IngestOptions::default(), |_| {})?;
//! let page = search(&store, &SearchRequest {
//!     filter: "metrics.acc > 0.8".into(),
//!     ..SearchRequest::default()
//! })?;
//! assert_eq!(page.runs.len(), 1);
//! assert_eq!(page.runs[0].run_id.to_string(), "00000000000000000000000000000002");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::engine::{Error as EngineError, Store};
use crate::error::Result;
use crate::output::RunsPage;

pub use runstore_query::{
    DEFAULT_MAX_RESULTS, Dialect, MAX_MAX_RESULTS, SearchPage, SearchRequest,
};

/// Runs `request` over `store` and reads the page's runs.
pub fn search(store: &Store, request: &SearchRequest) -> Result<RunsPage> {
    let (index, txn) = store.search_index()?;
    let page = runstore_query::search(&index, request)?;
    let runs = store
        .runs_at_rows(&txn, &page.rows)?
        .into_iter()
        .zip(&page.rows)
        .map(|(run, row)| {
            run.ok_or_else(|| {
                EngineError::corrupt("search index", format!("row {row} not in catalog"))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RunsPage {
        runs,
        next_page_token: page.next_page_token,
    })
}
