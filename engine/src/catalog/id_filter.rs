//! [`IdFilter`]: the writer's Bloom filter of stored run ids.
//!
//! Upserting a run first asks whether its id is stored; in a bulk load the
//! answer is almost always no, and asking the catalog costs a B-tree descent
//! per run. The filter answers "certainly not" from ~10 bits per run, and
//! only a "maybe" goes to the catalog. It may hold ids that were never
//! committed (a dropped batch's): those cost a lookup, never a wrong answer.
//! It must hold every committed id, so every id a writer inserts goes in first.

/// Bits per expected id: with [`PROBES`] probes, about 1% false positives.
const BITS_PER_ID: usize = 10;

/// Probes per id.
const PROBES: u64 = 4;

/// A Bloom filter over `u128` run ids, sized for a number of ids.
#[derive(Debug)]
pub(crate) struct IdFilter {
    words: Vec<u64>,
    ids: usize,
    capacity: usize,
}

impl IdFilter {
    /// An empty filter with room for `capacity` ids at its false-positive rate.
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.max(1024);
        let words = (capacity * BITS_PER_ID).div_ceil(64);
        IdFilter {
            words: vec![0; words],
            ids: 0,
            capacity,
        }
    }

    /// True once more ids went in than the filter was sized for: rebuild it
    /// larger, or false positives climb.
    pub fn is_full(&self) -> bool {
        self.ids > self.capacity
    }

    /// Adds `id`.
    pub fn insert(&mut self, id: u128) {
        let bits = self.words.len() as u64 * 64;
        for pos in positions(id, bits) {
            self.words[(pos / 64) as usize] |= 1 << (pos % 64);
        }
        self.ids += 1;
    }

    /// False when `id` was certainly never inserted.
    pub fn may_contain(&self, id: u128) -> bool {
        let bits = self.words.len() as u64 * 64;
        positions(id, bits).all(|pos| self.words[(pos / 64) as usize] & (1 << (pos % 64)) != 0)
    }
}

/// The bit positions of `id` in a filter of `bits` bits (double hashing over
/// a 64-bit mix of both halves, so sequential or patterned ids spread too).
fn positions(id: u128, bits: u64) -> impl Iterator<Item = u64> {
    let h1 = mix(id as u64 ^ mix((id >> 64) as u64));
    let h2 = mix(h1 ^ 0x9e37_79b9_7f4a_7c15) | 1;
    (0..PROBES).map(move |i| h1.wrapping_add(i.wrapping_mul(h2)) % bits)
}

/// splitmix64's finalizer.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_every_inserted_id_and_rejects_most_others() {
        let mut f = IdFilter::with_capacity(10_000);
        // Patterned ids, as tests and some trackers make them.
        let id = |i: u128| 0xabcd_0000_0000_0000_0000_0000_0000_0000 | i;
        for i in 0..10_000 {
            f.insert(id(i));
        }
        assert!(!f.is_full());
        assert!((0..10_000).all(|i| f.may_contain(id(i))));
        let false_positives = (10_000..110_000).filter(|&i| f.may_contain(id(i))).count();
        assert!(false_positives < 3_000, "{false_positives} of 100000");
        f.insert(id(10_000));
        assert!(f.is_full());
    }

    #[test]
    fn empty_filter_contains_nothing() {
        let f = IdFilter::with_capacity(0);
        assert!(!f.may_contain(0));
        assert!(!f.may_contain(u128::MAX));
    }
}
