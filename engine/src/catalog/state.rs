//! Store-wide counters and settings, kept in the `META` table.

use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::rows::{decode, encode};
use crate::error::{Error, Result};

/// The on-disk format this build writes and reads.
pub(crate) const FORMAT_VERSION: u32 = 2;

const STATE_KEY: &str = "state";

/// Counters and settings of a store. Every write transaction reads it, bumps
/// what it uses and writes it back, so it is always consistent with the rest
/// of the catalog.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoreState {
    /// On-disk format version.
    pub format: u32,
    /// Sequence number of the last committed write transaction.
    pub seq: u64,
    /// Next run ordinal.
    pub next_ordinal: u32,
    /// Next experiment id.
    pub next_experiment: u32,
    /// Next segment id.
    pub next_segment: u64,
    /// Points in the `PENDING` table.
    pub pending_points: u64,
    /// The `CHANGES` log is complete for every sequence above this one.
    pub changes_floor: u64,
    /// Root that experiments' artifact locations are made from.
    pub artifact_root: String,
}

impl StoreState {
    /// The state of a new store.
    pub fn new(artifact_root: String) -> Self {
        StoreState {
            format: FORMAT_VERSION,
            seq: 0,
            next_ordinal: 0,
            next_experiment: 0,
            next_segment: 0,
            pending_points: 0,
            changes_floor: 0,
            artifact_root,
        }
    }

    /// Reads the state from the `META` table; `None` for a store never initialised.
    pub fn load(meta: &impl ReadableTable<&'static str, &'static [u8]>) -> Result<Option<Self>> {
        match meta.get(STATE_KEY)? {
            None => Ok(None),
            Some(v) => {
                let state: StoreState = decode("store state", v.value())?;
                Ok(Some(state))
            }
        }
    }

    /// Writes the state to the `META` table.
    pub fn save(&self, meta: &mut redb::Table<&'static str, &'static [u8]>) -> Result<()> {
        meta.insert(STATE_KEY, encode(self)?.as_slice())?;
        Ok(())
    }

    /// Fails unless this build can read the state's format.
    pub fn check_format(&self, path: &std::path::Path) -> Result<()> {
        if self.format != FORMAT_VERSION {
            return Err(Error::FormatVersion {
                path: path.to_path_buf(),
                found: self.format,
                expected: FORMAT_VERSION,
            });
        }
        Ok(())
    }
}
