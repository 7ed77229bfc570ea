//! # runstore-engine
//!
//! The storage engine of runstore: an embedded, crash-safe store for machine
//! learning runs (MLflow's model: experiments → runs with params, tags, metric
//! histories and dataset inputs).
//!
//! * A **redb catalog** is the source of truth: experiments, runs (attributes,
//!   dictionary-coded params and tags, each metric's latest value, inputs),
//!   the key/value dictionaries, staged metric points and the manifest of
//!   segments. Every write is one ACID transaction.
//! * **Parquet segments** hold metric histories, sorted by series so a read
//!   touches only the pages of the series it wants, through a memory map.
//! * A columnar **search index**, derived from the catalog and snapshotted to
//!   disk, answers filters over millions of runs.
//! * MLflow 3's **logged models**, the **model registry** (registered models,
//!   versions, stages, aliases) and the server's **artifact catalog** live in
//!   tables of their own in the same catalog, written through the same group
//!   commit ([`Store::create_logged_model`], [`Store::create_model_version`],
//!   [`Store::record_artifact`] and their neighbours; rules in [`model_limits`]).
//!
//! ```
//! use runstore_engine::{MetricPoint, RunRecord, Store};
//!
//! let dir = tempfile::tempdir()?;
//! let store = Store::open(dir.path())?;
//! let mut batch = store.write()?;
//! let run_id = batch.upsert_run(RunRecord {
//!     experiment: Some("churn".into()),
//!     params: vec![("lr".into(), "0.01".into())],
//!     metrics: vec![("loss".into(), vec![
//!         MetricPoint { step: 0, value: 0.9, timestamp: 1_700_000_000_000 },
//!         MetricPoint { step: 1, value: 0.5, timestamp: 1_700_000_001_000 },
//!     ])],
//!     ..Default::default()
//! })?;
//! batch.commit()?;
//!
//! let run = store.get_run(run_id)?;
//! assert_eq!(run.params["lr"], "0.01");
//! assert_eq!(run.metrics["loss"].value, 0.5);
//! assert_eq!(store.metric_history(run_id, "loss")?.len(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod catalog;
mod error;
pub mod index;
pub mod limits;
pub mod metric;
mod mmap;
pub mod model_limits;
mod model_types;
mod names;
pub mod outbox;
mod segment;
mod store;
mod types;

pub use error::{Error, Result};
pub use metric::MetricPoint;
pub use model_types::{
    ArtifactEntry, ArtifactListing, LoggedModel, LoggedModelStatus, ModelMetric, ModelMetricInput,
    ModelVersion, ModelVersionStage, NewLoggedModel, NewModelVersion, RegisteredModel, RunModelIo,
    RunModelOutput, VersionArg, check_artifact_dir, check_artifact_path,
};
pub use outbox::{
    ExperimentOp, ForwardProgress, ForwardSettings, OutboxEntry, OutboxItem, OutboxSummary,
    ParkedItem, RemoteRun, RunCreated, RunDelta, SenderStatus,
};
pub use store::{
    CommitSummary, KeySets, MaintenanceStatus, MetricBatch, NewRun, PageRun, PageRuns, PointPlan,
    ReadView, RunDigests, RunParts, RunRecord, RunUpdate, Series, SeriesBatch, Store, StoreOptions,
    WriteBatch, WriteStats,
};
pub use types::{
    DatasetInput, Experiment, ExperimentId, Hex32, LifecycleStage, Run, RunId, RunStatus,
    TAG_PARENT_RUN_ID, TAG_RUN_NAME, TAG_USER, ViewType,
};
