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

use crate::engine::Store;
use crate::error::Result;
use crate::output::RunsPage;

pub use runstore_query::{
    DEFAULT_MAX_RESULTS, DatasetFilter, Dialect, ExperimentSearch, ExperimentsPage,
    LoggedModelOrder, LoggedModelSearch, LoggedModelsPage, MAX_MAX_RESULTS, ModelVersionSearch,
    ModelVersionsPage, PageResults, RegisteredModelSearch, RegisteredModelsPage, SearchRequest,
    SearchResults, search_async,
};

/// MLflow's `search_registered_models` over `store`'s registry.
pub fn search_registered_models(
    store: &Store,
    request: &RegisteredModelSearch,
) -> Result<RegisteredModelsPage> {
    Ok(runstore_query::search_registered_models(
        store.registered_models()?,
        request,
    )?)
}

/// MLflow's `search_model_versions` over `store`'s registry.
pub fn search_model_versions(
    store: &Store,
    request: &ModelVersionSearch,
) -> Result<ModelVersionsPage> {
    Ok(runstore_query::search_model_versions(
        store.model_versions()?,
        request,
    )?)
}

/// MLflow 3's `search_logged_models` over `store`'s logged models: the
/// request is checked whole before any model is read.
pub fn search_logged_models(
    store: &Store,
    request: &LoggedModelSearch,
) -> Result<LoggedModelsPage> {
    Ok(runstore_query::search_logged_models(
        request,
        |experiments| store.logged_models(experiments),
    )?)
}

/// MLflow's `search_experiments` over `store`'s experiments.
pub fn search_experiments(store: &Store, request: &ExperimentSearch) -> Result<ExperimentsPage> {
    Ok(runstore_query::search_experiments(
        store.experiments()?,
        request,
    )?)
}

/// Runs `request` over one consistent read of `store` and reads the page's
/// runs. Runtime-free: safe from any thread (see [`runstore_query::search`]).
pub fn search(store: &std::sync::Arc<Store>, request: &SearchRequest) -> Result<RunsPage> {
    let view = store.read_view()?;
    let found = runstore_query::search(&view, request)?;
    Ok(RunsPage {
        runs: found.runs,
        next_page_token: found.next_page_token,
    })
}

/// [`search`], with the page's runs read as a
/// [`PageRuns`](crate::engine::PageRuns): the same runs, borrowed from one
/// page-wide buffer instead of owned `String`s and maps — what `runstore
/// search` prints from ([`crate::output::write_page_json`]).
pub fn search_page(store: &std::sync::Arc<Store>, request: &SearchRequest) -> Result<PageResults> {
    let view = store.read_view()?;
    Ok(runstore_query::search_page(&view, request)?)
}
