//! MLflow 3's logged models, the model registry and the artifact catalog,
//! over their own catalog tables ([`crate::catalog::models`]).
//!
//! Writes are [`crate::WriteBatch`] methods — each checks its whole input
//! against MLflow's rules and the stored state before changing anything,
//! then writes through `guarded` — with a [`crate::Store`] single call
//! beside each that runs it as one write of the next group commit. Reads
//! take one catalog snapshot each.
//!
//! One file per job: [`logged`] (logged models), [`model_metrics`] (metrics
//! logged against them), [`run_io`] (a run's model inputs and outputs),
//! [`registered`] (registered models, tags, aliases), [`versions`] (model
//! versions), [`registry_read`] (registry reads), [`artifacts`] (the artifact
//! catalog).

mod artifacts;
mod logged;
mod model_metrics;
mod registered;
mod registry_read;
mod run_io;
mod versions;

use redb::{Key, ReadOnlyTable, ReadTransaction, TableDefinition, TableError, Value};

use crate::error::{Error, Result};

/// Opens `def` for reading; `None` when the store predates the table (a
/// store opened read-only that no newer build has opened for writing).
pub(super) fn open_read<K: Key + 'static, V: Value + 'static>(
    txn: &ReadTransaction,
    def: TableDefinition<K, V>,
) -> Result<Option<ReadOnlyTable<K, V>>> {
    match txn.open_table(def) {
        Ok(table) => Ok(Some(table)),
        Err(TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// A stored code that does not decode.
pub(super) fn bad_code(what: &str, code: u8) -> Error {
    Error::corrupt(what, format!("unknown code {code}"))
}

#[cfg(test)]
mod tests {
    use crate::catalog::models::{
        ARTIFACTS, LOGGED_MODEL_METRICS, LOGGED_MODELS, MODEL_VERSIONS, REGISTERED_MODELS,
        RUN_MODEL_INPUTS, RUN_MODEL_OUTPUTS,
    };
    use crate::{NewRun, Store, StoreOptions};

    /// A store made before these tables existed: read-only handles read it
    /// as empty; the next writable open adds the tables and nothing else
    /// changes.
    #[test]
    fn an_older_store_opens_without_migration() {
        let dir = tempfile::tempdir().expect("tempdir");
        let options = StoreOptions {
            background_owner: false,
            ..StoreOptions::default()
        };
        let run = {
            let store = Store::open_with(dir.path(), options.clone()).expect("open");
            let exp = store.create_experiment("e", None, &[]).expect("experiment");
            store
                .create_run(exp, NewRun::default())
                .expect("run")
                .run_id
        };
        {
            // Take the new tables out again, as an older build left the file.
            let db = redb::Database::open(dir.path().join("catalog.redb")).expect("redb");
            let txn = db.begin_write().expect("txn");
            txn.delete_table(LOGGED_MODELS).expect("drop");
            txn.delete_table(LOGGED_MODEL_METRICS).expect("drop");
            txn.delete_table(RUN_MODEL_OUTPUTS).expect("drop");
            txn.delete_table(RUN_MODEL_INPUTS).expect("drop");
            txn.delete_table(REGISTERED_MODELS).expect("drop");
            txn.delete_table(MODEL_VERSIONS).expect("drop");
            txn.delete_table(ARTIFACTS).expect("drop");
            txn.commit().expect("commit");
        }
        {
            let store = Store::open_read_only(dir.path()).expect("read-only open");
            assert!(store.registered_models().expect("models").is_empty());
            assert!(store.model_versions().expect("versions").is_empty());
            assert!(store.list_artifacts("").expect("artifacts").is_empty());
            assert!(store.run_model_outputs(run).expect("outputs").is_empty());
            assert_eq!(
                store
                    .get_registered_model("m")
                    .expect_err("none")
                    .mlflow_error_code(),
                "RESOURCE_DOES_NOT_EXIST"
            );
            assert!(store.get_logged_model("m-1").is_err());
        }
        let store = Store::open_with(dir.path(), options).expect("writable open");
        assert_eq!(store.get_run(run).expect("the run is kept").run_id, run);
        store
            .create_registered_model("m", &[], None)
            .expect("the tables are back");
        assert_eq!(store.registered_models().expect("models").len(), 1);
    }
}
