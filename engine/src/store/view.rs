//! [`ReadView`]: one consistent read of a store — the search index and the
//! catalog as of the same commit. A search filters the view's index and
//! reads its page of runs from the view's catalog snapshot, so what it
//! returns is exactly one commit's state, whatever commits meanwhile.

use std::sync::Arc;

use redb::ReadTransaction;

use super::Store;
use super::read::RunParts;
use crate::error::Result;
use crate::index::SearchIndex;
use crate::types::{Run, RunId};

/// A consistent read: see the module docs. Cheap to make once the index is
/// current (an `Arc` clone and a redb read transaction); hold it only for
/// the length of one search or export, since it keeps that commit's pages alive.
pub struct ReadView {
    pub(super) store: Arc<Store>,
    index: Arc<SearchIndex>,
    pub(super) txn: ReadTransaction,
}

impl Store {
    /// A consistent read of the latest commit (the search index is brought
    /// up to it first). Never writes.
    pub fn read_view(self: &Arc<Self>) -> Result<ReadView> {
        let (index, txn) = self.search_index()?;
        Ok(ReadView {
            store: self.clone(),
            index,
            txn,
        })
    }
}

impl ReadView {
    /// The search index of this read.
    pub fn index(&self) -> &Arc<SearchIndex> {
        &self.index
    }

    /// The runs in `rows` of this read's index, in the order given.
    pub fn runs_at_rows(&self, rows: &[u32]) -> Result<Vec<Run>> {
        self.runs_at_rows_with(rows, RunParts::ALL)
    }

    /// [`ReadView::runs_at_rows`] filling in only `parts` of each run.
    pub fn runs_at_rows_with(&self, rows: &[u32], parts: RunParts) -> Result<Vec<Run>> {
        Ok(self.page_at_rows_with(rows, parts)?.to_runs())
    }

    /// The runs `ids` as of this read, in the order given; `None` for an id
    /// with no run.
    pub fn runs(&self, ids: &[RunId]) -> Result<Vec<Option<Run>>> {
        self.store.runs_at(&self.txn, ids)
    }
}
