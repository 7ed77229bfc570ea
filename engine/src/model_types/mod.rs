//! The public types of logged models, the model registry and the artifact
//! catalog.

mod artifact;
mod logged;
mod registry;

pub use artifact::{ArtifactEntry, ArtifactListing, check_artifact_dir, check_artifact_path};
pub use logged::{
    LoggedModel, LoggedModelStatus, ModelMetric, ModelMetricInput, NewLoggedModel, RunModelIo,
    RunModelOutput,
};
pub use registry::{ModelVersion, ModelVersionStage, NewModelVersion, RegisteredModel, VersionArg};
