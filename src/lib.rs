//! # runstore
//!
//! An embedded, columnar storage engine for machine-learning experiment
//! tracking: MLflow's model (experiments → runs with params, tags, metric
//! histories, dataset inputs), stored crash-safely and searched fast.
//!
//! This crate is the library facade and the `runstore` command-line tool. It
//! re-exports the storage engine ([`engine`]) and adds what sits around it:
//! the JSON Lines run-record format ([`record`]), batched ingest ([`ingest`]),
//! run search ([`search`]), forwarding to an MLflow server ([`forward`]), export, SQL and curve comparison ([`analysis`]), output formats ([`output`]) and the sample data of `runstore demo` ([`demo`]).
//!
//! ```
//! use runstore::{Store, ingest::{ingest, IngestOptions}};
//!
//! let dir = tempfile::tempdir()?;
//! let store = Store::open(dir.path())?;
//! let lines = r#"{"experiment": "churn", "run_id": "0f3a0000000000000000000000000001", "metrics": {"loss": [[0, 0.9, 1700000000000]]}}"#;
//! let summary = ingest(&store, lines.as_bytes(), "example", &IngestOptions::default(), |_| {})?;
//! assert_eq!((summary.runs, summary.points), (1, 1));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub use runstore_engine as engine;

pub mod analysis;
pub mod demo;
mod error;
pub mod forward;
pub mod ingest;
pub mod mlflow;
pub mod output;
pub mod record;
pub mod search;
pub mod server;

pub use engine::{
    ArtifactEntry, ArtifactListing, DatasetInput, Experiment, ExperimentId, LifecycleStage,
    LoggedModel, LoggedModelStatus, MetricBatch, MetricPoint, ModelMetric, ModelMetricInput,
    ModelVersion, ModelVersionStage, NewLoggedModel, NewModelVersion, NewRun, RegisteredModel, Run,
    RunId, RunModelOutput, RunRecord, RunStatus, RunUpdate, Store, StoreOptions, VersionArg,
    ViewType,
};
pub use error::{Error, Result};
