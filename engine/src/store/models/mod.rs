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
