//! Param and tag value texts by catalog code, straight from the index: what
//! reading a page of runs needs to turn a run row's value codes into text
//! without a catalog lookup (or a hash lookup) per value.
//!
//! A param or tag column of the index holds the catalog's value codes and a
//! dictionary with the text of every code any of its rows uses. When the
//! column is in memory its dictionary is used as it is; when it is still only
//! in the snapshot, its dictionary section alone is read (not the per-row
//! codes) and kept beside the column's slot. A column is always loaded before
//! a row of it changes, so a dictionary read from the snapshot is never stale.

use std::sync::Arc;

use super::{ColKey, Column, SearchIndex};
use crate::error::Result;

/// A dictionary read on its own: entry `i` is `text[offsets[i]..offsets[i + 1]]`.
#[derive(Debug)]
pub(crate) struct TextTable {
    offsets: Vec<u32>,
    text: String,
}

impl TextTable {
    /// The table, or `None` when an offset is out of order, out of range
    /// or inside a character.
    pub(crate) fn new(offsets: Vec<u32>, text: String) -> Option<TextTable> {
        let ok = offsets.first().is_none_or(|&o| o == 0)
            && offsets.windows(2).all(|w| w[0] <= w[1])
            && offsets.iter().all(|&o| text.is_char_boundary(o as usize));
        ok.then_some(TextTable { offsets, text })
    }

    /// The text of `code`.
    #[inline]
    pub(crate) fn get(&self, code: u32) -> Option<&str> {
        let i = code as usize;
        let (a, b) = (*self.offsets.get(i)?, *self.offsets.get(i + 1)?);
        self.text.get(a as usize..b as usize)
    }
}

/// The value texts of one param or tag key, by value code.
#[derive(Clone, Debug)]
pub(crate) enum ValueTexts {
    /// The column, in memory.
    Column(Arc<Column>),
    /// Its dictionary, read from the snapshot.
    Table(Arc<TextTable>),
}

impl ValueTexts {
    /// The text of value `code`.
    #[inline]
    pub(crate) fn get(&self, code: u32) -> Option<&str> {
        match self {
            ValueTexts::Column(col) => match &**col {
                Column::Text(t) => t.dict.get(code),
                _ => None,
            },
            ValueTexts::Table(t) => t.get(code),
        }
    }
}

impl SearchIndex {
    /// The value texts of param or tag column `key`: the column's own when
    /// it is in memory, else its dictionary from the snapshot when that has
    /// at most `budget` entries (reading a huge dictionary to print a few
    /// values would cost more than looking them up). `None` when neither.
    pub(crate) fn value_texts(&self, key: ColKey, budget: usize) -> Result<Option<ValueTexts>> {
        let Some(slot) = self.slots.get(&key) else {
            return Ok(None);
        };
        if let Some(col) = slot.col.get() {
            return Ok(Some(ValueTexts::Column(col.clone())));
        }
        if let Some(t) = slot.texts.get() {
            return Ok(Some(ValueTexts::Table(t.clone())));
        }
        let Some(snap) = self.snapshot.as_ref().filter(|_| slot.in_snapshot) else {
            return Ok(None);
        };
        if snap.dict_len(key).is_none_or(|n| n > budget) {
            return Ok(None);
        }
        let table = Arc::new(snap.load_texts(key)?);
        let _ = slot.texts.set(table.clone());
        Ok(Some(ValueTexts::Table(table)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_refuses_bad_offsets_and_reads_entries() {
        let t = TextTable::new(vec![0, 1, 1, 4], "aé".to_owned() + "b").unwrap();
        assert_eq!(t.get(0), Some("a"));
        assert_eq!(t.get(1), Some(""));
        assert_eq!(t.get(2), Some("éb"));
        assert_eq!(t.get(3), None);
        assert!(
            TextTable::new(vec![0, 2], "aé".into()).is_none(),
            "inside é"
        );
        assert!(TextTable::new(vec![0, 9], "ab".into()).is_none());
        assert!(TextTable::new(vec![1, 0], "ab".into()).is_none());
        assert!(TextTable::new(vec![1, 2], "ab".into()).is_none());
    }
}
