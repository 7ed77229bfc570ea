//! MLflow's default run order: `start_time DESC, run_id ASC`. Every search
//! breaks ties this way, so the index keeps the rows sorted in that order,
//! extending the cached order as runs are added (start times and ids never
//! change, so existing rows keep their relative order).

use std::cmp::Reverse;
use std::sync::Arc;

use super::{ColKey, Column, SearchIndex};
use crate::error::{Error, Result};

impl SearchIndex {
    /// Every row, in MLflow's default order (start time descending, then run id).
    pub fn default_order(&self) -> Result<Arc<Vec<u32>>> {
        let cached = self
            .order
            .read()
            .map_err(|_| Error::corrupt("index", "order lock poisoned"))?
            .clone();
        let rows = self.rows as usize;
        if let Some(order) = &cached
            && order.len() == rows
        {
            return Ok(order.clone());
        }
        let (Some(Column::I64(start)), Some(Column::U128(ids))) =
            (self.column(ColKey::StartTime)?, self.column(ColKey::RunId)?)
        else {
            return Ok(Arc::new(Vec::new()));
        };
        if start.len() < rows || ids.len() < rows {
            return Err(Error::corrupt(
                "index",
                "attribute columns are shorter than the index",
            ));
        }
        let key = |r: u32| (Reverse(start[r as usize]), ids[r as usize]);
        let old: &[u32] = cached.as_deref().map_or(&[], |v| v.as_slice());
        let covered = if old.len() <= rows { old.len() } else { 0 };
        let old = &old[..covered];
        let mut fresh: Vec<u32> = (covered as u32..rows as u32).collect();
        fresh.sort_unstable_by_key(|&r| key(r));
        let mut merged = Vec::with_capacity(rows);
        let (mut i, mut j) = (0, 0);
        while i < old.len() && j < fresh.len() {
            if key(old[i]) <= key(fresh[j]) {
                merged.push(old[i]);
                i += 1;
            } else {
                merged.push(fresh[j]);
                j += 1;
            }
        }
        merged.extend_from_slice(&old[i..]);
        merged.extend_from_slice(&fresh[j..]);
        let merged = Arc::new(merged);
        if let Ok(mut slot) = self.order.write() {
            *slot = Some(merged.clone());
        }
        Ok(merged)
    }

    /// How many rows of `order` (the default order) come at or before the
    /// run with `start_time` and `run_id` — where the page after that run
    /// starts. The run itself need not exist (it may have been deleted).
    pub fn default_order_position(
        &self,
        order: &[u32],
        start_time: i64,
        run_id: u128,
    ) -> Result<usize> {
        let (Some(Column::I64(start)), Some(Column::U128(ids))) =
            (self.column(ColKey::StartTime)?, self.column(ColKey::RunId)?)
        else {
            return Ok(0);
        };
        let cursor = (Reverse(start_time), run_id);
        let mut bad = false;
        let at = order.partition_point(|&r| match (start.get(r as usize), ids.get(r as usize)) {
            (Some(&s), Some(&id)) => (Reverse(s), id) <= cursor,
            _ => {
                bad = true;
                false
            }
        });
        if bad {
            return Err(Error::corrupt(
                "index",
                "attribute columns are shorter than the index",
            ));
        }
        Ok(at)
    }
}
