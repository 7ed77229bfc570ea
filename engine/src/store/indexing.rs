//! The store's side of the search index: handing a current index to reads,
//! and snapshotting it (the maintenance owner's job).

use std::sync::Arc;

use redb::ReadTransaction;

use super::Store;
use crate::error::Result;
use crate::index::{self, SearchIndex};

impl Store {
    /// The search index as of the latest commit, with a catalog read
    /// transaction at that same commit. A search never writes: snapshots
    /// are the maintenance owner's.
    pub(crate) fn search_index(&self) -> Result<(Arc<SearchIndex>, ReadTransaction)> {
        self.index.current(&|| self.begin_read())
    }

    /// Brings the shared search index up to the latest commit. A bulk
    /// ingest calls this from a second thread after each commit, so the
    /// index work overlaps the writing instead of following it.
    pub fn catch_up_index(&self) -> Result<()> {
        self.search_index().map(|_| ())
    }

    /// Whether the change log has grown long enough for a snapshot.
    pub(crate) fn snapshot_due(&self) -> Result<bool> {
        index::snapshot_due(&self.begin_read()?)
    }

    /// Brings the index up to date and writes a fresh snapshot of it, so the
    /// next process to open the store starts fast; then (on a writable
    /// handle) drops the change-log entries and snapshot files it makes
    /// unnecessary. The owner calls this; so do bulk loads before they exit.
    /// On a read-only handle it only catches the index up: read-only
    /// handles write nothing into the store directory.
    pub fn refresh_index_snapshot(&self) -> Result<()> {
        if !self.is_writable() {
            return self.catch_up_index();
        }
        let newest = self.index.write_snapshot(&|| self.begin_read())?;
        if let Some(seq) = newest {
            self.trim_changes_upto(seq)?;
            self.index.remove_older(seq)?;
        }
        Ok(())
    }
}
