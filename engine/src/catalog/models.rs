//! The catalog tables of logged models, the model registry and the artifact
//! catalog, and their encoded rows (postcard, like every catalog row).
//!
//! All tables are new in format 2 stores: an older store gets them at its
//! next writable open (empty), with no change to existing rows.

use redb::TableDefinition;
use serde::{Deserialize, Serialize};

/// Logged model id (`m-…`) → [`LoggedModelRow`].
pub(crate) const LOGGED_MODELS: TableDefinition<&str, &[u8]> =
    TableDefinition::new("logged_models");
/// (model id, metric key, timestamp, step, run id) → [`ModelMetricRow`]:
/// the key is MLflow's primary key of `logged_model_metrics`, so a repeat
/// of the same point is one lookup.
pub(crate) const LOGGED_MODEL_METRICS: TableDefinition<(&str, &str, i64, i64, u128), &[u8]> =
    TableDefinition::new("logged_model_metrics");
/// (run id, model id) → step: the run's model outputs (`log_outputs`).
pub(crate) const RUN_MODEL_OUTPUTS: TableDefinition<(u128, &str), i64> =
    TableDefinition::new("run_model_outputs");
/// (run id, model id) → (): the run's model inputs (`log_inputs` `models`).
pub(crate) const RUN_MODEL_INPUTS: TableDefinition<(u128, &str), ()> =
    TableDefinition::new("run_model_inputs");
/// Registered model name → [`RegisteredModelRow`].
pub(crate) const REGISTERED_MODELS: TableDefinition<&str, &[u8]> =
    TableDefinition::new("registered_models");
/// (registered model name, version) → [`ModelVersionRow`], live versions only.
pub(crate) const MODEL_VERSIONS: TableDefinition<(&str, u64), &[u8]> =
    TableDefinition::new("model_versions");
/// Artifact path (relative to the artifact root) → [`ArtifactRow`].
pub(crate) const ARTIFACTS: TableDefinition<&str, &[u8]> = TableDefinition::new("artifacts");

/// Creates the tables of this module (every writable open does, so readers
/// never meet a missing one).
pub(crate) fn create_tables(txn: &redb::WriteTransaction) -> crate::error::Result<()> {
    txn.open_table(LOGGED_MODELS)?;
    txn.open_table(LOGGED_MODEL_METRICS)?;
    txn.open_table(RUN_MODEL_OUTPUTS)?;
    txn.open_table(RUN_MODEL_INPUTS)?;
    txn.open_table(REGISTERED_MODELS)?;
    txn.open_table(MODEL_VERSIONS)?;
    txn.open_table(ARTIFACTS)?;
    Ok(())
}

/// A logged model as [`LOGGED_MODELS`] holds it (metrics live in
/// [`LOGGED_MODEL_METRICS`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct LoggedModelRow {
    /// Experiment id.
    pub experiment: u32,
    /// Name.
    pub name: String,
    /// Artifact location.
    pub artifact_location: String,
    /// ms since the epoch.
    pub created: i64,
    /// ms since the epoch.
    pub updated: i64,
    /// [`crate::LoggedModelStatus`] code.
    pub status: u8,
    /// Status message.
    pub status_message: Option<String>,
    /// Model type.
    pub model_type: Option<String>,
    /// Source run id, big-endian.
    pub source_run: Option<[u8; 16]>,
    /// [`crate::LifecycleStage`] code.
    pub lifecycle: u8,
    /// Params, sorted by key.
    pub params: Vec<(String, String)>,
    /// Tags, sorted by key.
    pub tags: Vec<(String, String)>,
}

/// A metric point of a logged model (the rest is in the key).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct ModelMetricRow {
    /// Value (sanitized: never NaN or infinite).
    pub value: f64,
    /// Dataset name.
    pub dataset_name: Option<String>,
    /// Dataset digest.
    pub dataset_digest: Option<String>,
}

/// A registered model as [`REGISTERED_MODELS`] holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct RegisteredModelRow {
    /// ms since the epoch.
    pub created: i64,
    /// ms since the epoch.
    pub updated: i64,
    /// Description.
    pub description: Option<String>,
    /// Tags, sorted by key.
    pub tags: Vec<(String, String)>,
    /// Alias → version, sorted by alias.
    pub aliases: Vec<(String, u64)>,
    /// The highest version ever created (deleted ones included), so numbers
    /// are never reused.
    pub max_version: u64,
}

/// A model version as [`MODEL_VERSIONS`] holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct ModelVersionRow {
    /// ms since the epoch.
    pub created: i64,
    /// ms since the epoch.
    pub updated: i64,
    /// Description.
    pub description: Option<String>,
    /// Creator.
    pub user_id: Option<String>,
    /// [`crate::ModelVersionStage`] code.
    pub stage: u8,
    /// Source, as given.
    pub source: String,
    /// Resolved storage location of a `models:/` source.
    pub storage_location: Option<String>,
    /// Run id, as given.
    pub run_id: Option<String>,
    /// Run link.
    pub run_link: Option<String>,
    /// Status message.
    pub status_message: Option<String>,
    /// Tags, sorted by key.
    pub tags: Vec<(String, String)>,
    /// The logged model registered.
    pub model_id: Option<String>,
}

/// An artifact file as [`ARTIFACTS`] holds it (the path is the key).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ArtifactRow {
    /// Bytes.
    pub size: u64,
    /// SHA-256, lowercase hex.
    pub digest: String,
    /// ms since the epoch.
    pub modified_ms: i64,
}

/// Sets `key` in a list kept sorted by key.
pub(crate) fn set_sorted<V>(list: &mut Vec<(String, V)>, key: &str, value: V) {
    match list.binary_search_by(|(k, _)| k.as_str().cmp(key)) {
        Ok(i) => list[i].1 = value,
        Err(i) => list.insert(i, (key.to_owned(), value)),
    }
}

/// Removes `key` from a list kept sorted by key; whether it was there.
pub(crate) fn remove_sorted<V>(list: &mut Vec<(String, V)>, key: &str) -> bool {
    match list.binary_search_by(|(k, _)| k.as_str().cmp(key)) {
        Ok(i) => {
            list.remove(i);
            true
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::rows::{decode, encode};

    #[test]
    fn rows_round_trip() {
        let row = RegisteredModelRow {
            created: 1,
            updated: 2,
            description: Some("d".into()),
            tags: vec![("k".into(), "v".into())],
            aliases: vec![("champ".into(), 3)],
            max_version: 4,
        };
        let back: RegisteredModelRow = decode("rm", &encode(&row).unwrap()).unwrap();
        assert_eq!(back, row);
        let mut list = vec![];
        set_sorted(&mut list, "b", 1);
        set_sorted(&mut list, "a", 2);
        set_sorted(&mut list, "b", 3);
        assert_eq!(list, vec![("a".to_owned(), 2), ("b".to_owned(), 3)]);
        assert!(remove_sorted(&mut list, "a"));
        assert!(!remove_sorted(&mut list, "a"));
    }
}
