//! Column types of the search index.
//!
//! A key present on most runs is stored *dense* (one slot per row); a rare key
//! *sparse* (sorted row numbers plus values), so a store with thousands of
//! rarely-used keys does not pay a slot per run for each. A dense column may be
//! shorter than the index: rows past its end lack the key.

use foldhash::HashMap;

use super::bitmap::Bitmap;

/// Code of "no value" in a dense text column.
pub const NO_CODE: u32 = u32::MAX;

/// Bit pattern of "no value" in a dense number column: a NaN payload that
/// [`crate::metric::search_value`] never produces (it only makes the canonical NaN).
pub const ABSENT_BITS: u64 = 0x7ff8_0000_0000_0bad;

/// The "no value" number.
#[inline]
pub fn absent() -> f64 {
    f64::from_bits(ABSENT_BITS)
}

/// True when `v` is the "no value" number.
#[inline]
pub fn is_absent(v: f64) -> bool {
    v.to_bits() == ABSENT_BITS
}

/// Per-row values of one key, dense or sparse.
#[derive(Clone, Debug, PartialEq)]
pub enum Slots<T> {
    /// One value per row; `missing` marks rows without one.
    Dense(Vec<T>),
    /// Sorted rows that have a value, and their values.
    Sparse {
        /// Rows, ascending.
        rows: Vec<u32>,
        /// Values, parallel to `rows`.
        vals: Vec<T>,
    },
}

/// How a value type marks "missing" in dense storage.
pub trait Missing: Copy + PartialEq {
    /// The marker.
    fn missing() -> Self;
    /// Whether `self` is the marker.
    fn is_missing(self) -> bool;
}

impl Missing for u32 {
    fn missing() -> Self {
        NO_CODE
    }
    fn is_missing(self) -> bool {
        self == NO_CODE
    }
}

impl Missing for f64 {
    fn missing() -> Self {
        absent()
    }
    fn is_missing(self) -> bool {
        is_absent(self)
    }
}

impl<T: Missing> Default for Slots<T> {
    fn default() -> Self {
        Slots::Sparse {
            rows: Vec::new(),
            vals: Vec::new(),
        }
    }
}

impl<T: Missing> Slots<T> {
    /// The value at `row`, if any.
    #[inline]
    pub fn get(&self, row: u32) -> Option<T> {
        match self {
            Slots::Dense(v) => v.get(row as usize).copied().filter(|x| !x.is_missing()),
            Slots::Sparse { rows, vals } => rows.binary_search(&row).ok().map(|i| vals[i]),
        }
    }

    /// Sets the value at `row`.
    pub fn set(&mut self, row: u32, value: T) {
        match self {
            Slots::Dense(v) => {
                let i = row as usize;
                if i >= v.len() {
                    v.resize(i + 1, T::missing());
                }
                v[i] = value;
            }
            Slots::Sparse { rows, vals } => match rows.last() {
                // Rows arrive in order when an index catches up with a bulk
                // load: append without searching.
                None => {
                    rows.push(row);
                    vals.push(value);
                }
                Some(&last) if last < row => {
                    rows.push(row);
                    vals.push(value);
                }
                _ => match rows.binary_search(&row) {
                    Ok(i) => vals[i] = value,
                    Err(i) => {
                        rows.insert(i, row);
                        vals.insert(i, value);
                    }
                },
            },
        }
    }

    /// Number of rows with a value.
    pub fn count(&self) -> usize {
        match self {
            Slots::Dense(v) => v.iter().filter(|x| !x.is_missing()).count(),
            Slots::Sparse { rows, .. } => rows.len(),
        }
    }

    /// Two bitmaps over `len` rows: the rows with a value, and those whose
    /// value passes `test`. Dense columns are scanned 64 rows to a word with
    /// no per-row branching, the shape a filter over a million runs needs.
    pub fn scan_bits(&self, len: usize, test: impl Fn(T) -> bool) -> (Bitmap, Bitmap) {
        match self {
            Slots::Dense(v) => {
                let words = len.div_ceil(64);
                let mut present = Vec::with_capacity(words);
                let mut hits = Vec::with_capacity(words);
                for chunk in v[..v.len().min(len)].chunks(64) {
                    let (mut p, mut h) = (0u64, 0u64);
                    for (j, &x) in chunk.iter().enumerate() {
                        let there = !x.is_missing();
                        p |= u64::from(there) << j;
                        h |= u64::from(there && test(x)) << j;
                    }
                    present.push(p);
                    hits.push(h);
                }
                (
                    Bitmap::from_words(present, len),
                    Bitmap::from_words(hits, len),
                )
            }
            Slots::Sparse { rows, vals } => {
                let mut present = Bitmap::new(len);
                let mut hits = Bitmap::new(len);
                for (&r, &x) in rows.iter().zip(vals) {
                    present.set(r as usize);
                    if test(x) {
                        hits.set(r as usize);
                    }
                }
                (present, hits)
            }
        }
    }

    /// Calls `f(row, value)` for every row with a value, ascending.
    pub fn for_each(&self, mut f: impl FnMut(u32, T)) {
        match self {
            Slots::Dense(v) => {
                for (i, x) in v.iter().enumerate() {
                    if !x.is_missing() {
                        f(i as u32, *x);
                    }
                }
            }
            Slots::Sparse { rows, vals } => {
                for (r, x) in rows.iter().zip(vals) {
                    f(*r, *x);
                }
            }
        }
    }

    /// Re-picks dense or sparse for an index of `rows` rows: dense when at
    /// least a quarter of the rows have a value.
    pub fn rebalance(&mut self, total_rows: u32) {
        let count = self.count();
        let want_dense = count * 4 >= total_rows as usize && count > 0;
        match (&*self, want_dense) {
            (Slots::Sparse { rows, vals }, true) => {
                let mut v = vec![T::missing(); total_rows as usize];
                for (r, x) in rows.iter().zip(vals) {
                    if let Some(slot) = v.get_mut(*r as usize) {
                        *slot = *x;
                    }
                }
                *self = Slots::Dense(v);
            }
            (Slots::Dense(_), false) => {
                let mut rows = Vec::with_capacity(count);
                let mut vals = Vec::with_capacity(count);
                self.for_each(|r, x| {
                    rows.push(r);
                    vals.push(x);
                });
                *self = Slots::Sparse { rows, vals };
            }
            _ => {}
        }
    }
}

/// A dictionary of strings: code → string, plus (built on demand) string → code.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dictionary {
    values: Vec<Box<str>>,
    lookup: Option<HashMap<Box<str>, u32>>,
}

impl Dictionary {
    /// A dictionary holding `values` under codes 0, 1, ….
    pub fn from_values(values: Vec<Box<str>>) -> Self {
        Dictionary {
            values,
            lookup: None,
        }
    }

    /// The string with `code`.
    #[inline]
    pub fn get(&self, code: u32) -> Option<&str> {
        self.values.get(code as usize).map(|s| &**s)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Every entry, by code.
    pub fn values(&self) -> &[Box<str>] {
        &self.values
    }

    /// Sets the entry for `code` (growing the dictionary; gaps are empty strings
    /// until filled).
    pub fn put(&mut self, code: u32, value: &str) {
        let i = code as usize;
        if i >= self.values.len() {
            self.values.resize(i + 1, Box::from(""));
        }
        if &*self.values[i] != value {
            self.values[i] = value.into();
            self.lookup = None;
        }
    }

    /// The code of `value`, adding it when new (for index-local dictionaries).
    pub fn intern(&mut self, value: &str) -> u32 {
        let values = &self.values;
        let lookup = self.lookup.get_or_insert_with(|| {
            values
                .iter()
                .enumerate()
                .map(|(i, v)| (v.clone(), i as u32))
                .collect()
        });
        if let Some(code) = lookup.get(value) {
            return *code;
        }
        let code = self.values.len() as u32;
        self.values.push(value.into());
        lookup.insert(value.into(), code);
        code
    }
}

/// A text column: dictionary codes per row.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TextColumn {
    /// code → string.
    pub dict: Dictionary,
    /// Per-row codes.
    pub codes: Slots<u32>,
}

impl TextColumn {
    /// The string at `row`, if any.
    pub fn get(&self, row: u32) -> Option<&str> {
        self.codes.get(row).and_then(|c| self.dict.get(c))
    }
}

/// One dataset input of a run, as the index keeps it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct InputEntry {
    /// The run's row.
    pub row: u32,
    /// Dataset name.
    pub name: Box<str>,
    /// Dataset digest.
    pub digest: Box<str>,
    /// Input context, if any.
    pub context: Option<Box<str>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_dense_and_sparse_agree() {
        let mut sparse: Slots<u32> = Slots::default();
        sparse.set(5, 1);
        sparse.set(2, 7);
        sparse.set(5, 3);
        let mut dense = sparse.clone();
        dense.rebalance(6);
        assert!(matches!(dense, Slots::Dense(_)));
        for s in [&sparse, &dense] {
            assert_eq!(s.get(2), Some(7));
            assert_eq!(s.get(5), Some(3));
            assert_eq!(s.get(3), None);
            assert_eq!(s.get(100), None);
            assert_eq!(s.count(), 2);
        }
        dense.rebalance(1000);
        assert_eq!(dense, sparse);
    }

    #[test]
    fn sparse_set_appends_updates_and_inserts_in_row_order() {
        let mut s: Slots<u32> = Slots::default();
        let mut model = std::collections::BTreeMap::new();
        // Appends, a rewrite of the last row, inserts before it, rewrites
        // in the middle, then appends again.
        for (row, v) in [
            (3, 1),
            (8, 2),
            (8, 3),
            (1, 4),
            (5, 5),
            (3, 6),
            (9, 7),
            (0, 8),
            (12, 9),
        ] {
            s.set(row, v);
            model.insert(row, v);
        }
        let Slots::Sparse { rows, vals } = &s else {
            panic!("still sparse: {s:?}");
        };
        assert_eq!(rows, &model.keys().copied().collect::<Vec<_>>());
        assert_eq!(vals, &model.values().copied().collect::<Vec<_>>());
        for row in 0..14 {
            assert_eq!(s.get(row), model.get(&row).copied(), "row {row}");
        }
    }

    #[test]
    fn absent_is_not_nan() {
        assert!(is_absent(absent()));
        assert!(!is_absent(f64::NAN));
        assert!(!is_absent(crate::metric::search_value(-f64::NAN)));
    }

    #[test]
    fn dictionary_interns() {
        let mut d = Dictionary::from_values(vec!["a".into()]);
        assert_eq!(d.intern("a"), 0);
        assert_eq!(d.intern("b"), 1);
        d.put(3, "d");
        assert_eq!(d.get(2), Some(""));
        assert_eq!(d.intern("d"), 3);
    }
}
