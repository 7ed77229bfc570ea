//! [`PointColumns`]: points of many series as four parallel columns, and the
//! sort order every segment is written in.

use std::cmp::Ordering;

use crate::metric::{MetricPoint, point_order, stored_form};

/// Points of many series, column by column: row `i` is the point
/// `(step[i], value[i], timestamp[i])` of series `series[i]`.
///
/// A series id is `(run ordinal as u64) << 32 | metric key id`. All four
/// vectors always have the same length.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct PointColumns {
    /// Series id of each row.
    pub series: Vec<u64>,
    /// Step of each row.
    pub step: Vec<i64>,
    /// Timestamp (ms since the epoch) of each row.
    pub timestamp: Vec<i64>,
    /// Value of each row, bit for bit as logged.
    pub value: Vec<f64>,
}

/// A row's position in segment order, as one totally ordered key: series,
/// step, timestamp, stored value (NaN as 0, ±Inf as ±MAX, -0.0 as 0.0, compared
/// with `total_cmp`), then NaN after non-NaN. Two rows have equal keys exactly
/// when they are the same series and [`same_point`](crate::metric::same_point).
pub(crate) type RowKey = (u64, i64, i64, i64, bool);

/// The [`RowKey`] of point `p` of `series`.
#[inline]
pub(crate) fn row_key(series: u64, p: &MetricPoint) -> RowKey {
    let (v, nan) = stored_form(p.value);
    // The integer image of `f64::total_cmp` (same transform as the standard
    // library's): comparing these as i64 orders like `total_cmp` on `v`.
    let bits = v.to_bits() as i64;
    let key = bits ^ ((((bits >> 63) as u64) >> 1) as i64);
    (series, p.step, p.timestamp, key, nan)
}

impl PointColumns {
    /// Empty columns with room for `n` rows.
    pub fn with_capacity(n: usize) -> Self {
        PointColumns {
            series: Vec::with_capacity(n),
            step: Vec::with_capacity(n),
            timestamp: Vec::with_capacity(n),
            value: Vec::with_capacity(n),
        }
    }

    /// Appends point `p` of `series`.
    #[inline]
    pub fn push(&mut self, series: u64, p: MetricPoint) {
        self.series.push(series);
        self.step.push(p.step);
        self.timestamp.push(p.timestamp);
        self.value.push(p.value);
    }

    /// Number of rows.
    #[inline]
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// True when there are no rows.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Rows the columns can hold without growing.
    pub fn capacity(&self) -> usize {
        self.series
            .capacity()
            .min(self.step.capacity())
            .min(self.timestamp.capacity())
            .min(self.value.capacity())
    }

    /// Removes every row, keeping the allocations.
    pub fn clear(&mut self) {
        self.series.clear();
        self.step.clear();
        self.timestamp.clear();
        self.value.clear();
    }

    /// The point at row `i` (panics when `i >= len()`).
    #[inline]
    pub fn point(&self, i: usize) -> MetricPoint {
        MetricPoint {
            step: self.step[i],
            value: self.value[i],
            timestamp: self.timestamp[i],
        }
    }

    /// The [`RowKey`] of row `i`.
    #[inline]
    pub(crate) fn key(&self, i: usize) -> RowKey {
        row_key(self.series[i], &self.point(i))
    }

    /// Appends rows `range` of `other`.
    pub(crate) fn extend_from(&mut self, other: &PointColumns, range: std::ops::Range<usize>) {
        self.series.extend_from_slice(&other.series[range.clone()]);
        self.step.extend_from_slice(&other.step[range.clone()]);
        self.timestamp
            .extend_from_slice(&other.timestamp[range.clone()]);
        self.value.extend_from_slice(&other.value[range]);
    }

    /// Compares rows `a` and `b` in segment order: by series, then
    /// [`point_order`].
    #[inline]
    pub(crate) fn cmp_rows(&self, a: usize, b: usize) -> Ordering {
        self.series[a]
            .cmp(&self.series[b])
            .then_with(|| point_order(&self.point(a), &self.point(b)))
    }

    /// The first row `i` that is not strictly after row `i - 1` in segment
    /// order (out of order, or the same point again), if any. `None` means
    /// the columns are sorted and free of duplicates, as a segment needs.
    pub(crate) fn first_disorder(&self) -> Option<usize> {
        (1..self.len()).find(|&i| self.cmp_rows(i - 1, i) != Ordering::Less)
    }

    /// Sorts the rows by series and then [`point_order`], stably, and drops
    /// every row that is the [`same_point`](crate::metric::same_point) of the
    /// same series as an earlier row, so the copy that came first in the
    /// input is the one kept.
    pub fn sort_dedup(&mut self) {
        let n = self.len();
        let mut sorted = true;
        let mut unique = true;
        for i in 1..n {
            match self.cmp_rows(i - 1, i) {
                Ordering::Less => {}
                Ordering::Equal => unique = false,
                Ordering::Greater => {
                    sorted = false;
                    break;
                }
            }
        }
        if sorted {
            if !unique {
                self.dedup_sorted();
            }
            return;
        }
        // Sort (key, input position): unstable sort on a key that ends with
        // the position is a stable sort, and it is much faster than sorting
        // indices with a comparator that chases four vectors.
        let mut order: Vec<(RowKey, usize)> = (0..n).map(|i| (self.key(i), i)).collect();
        order.sort_unstable();
        let mut out = PointColumns::with_capacity(n);
        let mut last: Option<RowKey> = None;
        for (key, i) in order {
            if last == Some(key) {
                continue;
            }
            last = Some(key);
            out.push(self.series[i], self.point(i));
        }
        *self = out;
    }

    /// Drops same-point duplicates from sorted rows, keeping the first of
    /// each run of equal rows, in place.
    fn dedup_sorted(&mut self) {
        let n = self.len();
        if n == 0 {
            return;
        }
        let mut w = 1;
        for r in 1..n {
            if self.cmp_rows(w - 1, r) == Ordering::Equal {
                continue;
            }
            self.series[w] = self.series[r];
            self.step[w] = self.step[r];
            self.timestamp[w] = self.timestamp[r];
            self.value[w] = self.value[r];
            w += 1;
        }
        self.series.truncate(w);
        self.step.truncate(w);
        self.timestamp.truncate(w);
        self.value.truncate(w);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::same_point;
    use crate::segment::tests::special_value;
    use proptest::prelude::*;

    fn p(step: i64, value: f64, timestamp: i64) -> MetricPoint {
        MetricPoint {
            step,
            value,
            timestamp,
        }
    }

    fn cols(rows: &[(u64, MetricPoint)]) -> PointColumns {
        let mut c = PointColumns::default();
        for (s, pt) in rows {
            c.push(*s, *pt);
        }
        c
    }

    fn rows_bits(c: &PointColumns) -> Vec<(u64, i64, i64, u64)> {
        (0..c.len())
            .map(|i| (c.series[i], c.step[i], c.timestamp[i], c.value[i].to_bits()))
            .collect()
    }

    /// The obvious implementation: stable sort with the comparator, then keep
    /// the first of each run of same points.
    fn reference(rows: &[(u64, MetricPoint)]) -> Vec<(u64, MetricPoint)> {
        let mut v = rows.to_vec();
        v.sort_by(|a, b| a.0.cmp(&b.0).then(point_order(&a.1, &b.1)));
        let mut out: Vec<(u64, MetricPoint)> = Vec::new();
        for r in v {
            if let Some(last) = out.last()
                && last.0 == r.0
                && same_point(&last.1, &r.1)
            {
                continue;
            }
            out.push(r);
        }
        out
    }

    #[test]
    fn nan_and_zero_are_both_kept_zero_first() {
        let mut c = cols(&[(1, p(0, f64::NAN, 5)), (1, p(0, 0.0, 5))]);
        c.sort_dedup();
        assert_eq!(c.len(), 2);
        assert_eq!(c.value[0].to_bits(), 0.0f64.to_bits());
        assert!(c.value[1].is_nan());
    }

    #[test]
    fn negative_zero_duplicates_zero_and_first_is_kept() {
        let mut c = cols(&[(1, p(0, -0.0, 5)), (1, p(0, 0.0, 5))]);
        c.sort_dedup();
        assert_eq!(c.len(), 1);
        assert_eq!(c.value[0].to_bits(), (-0.0f64).to_bits());

        let mut c = cols(&[(1, p(0, 0.0, 5)), (1, p(0, -0.0, 5))]);
        c.sort_dedup();
        assert_eq!(c.len(), 1);
        assert_eq!(c.value[0].to_bits(), 0.0f64.to_bits());
    }

    #[test]
    fn infinity_duplicates_max_and_first_is_kept() {
        let mut c = cols(&[
            (2, p(1, f64::INFINITY, 5)),
            (2, p(1, f64::MAX, 5)),
            (2, p(1, -f64::MAX, 5)),
            (2, p(1, f64::NEG_INFINITY, 5)),
        ]);
        c.sort_dedup();
        assert_eq!(c.len(), 2);
        assert_eq!(c.value[0], -f64::MAX);
        assert_eq!(c.value[1], f64::INFINITY);
    }

    #[test]
    fn nan_payloads_are_duplicates() {
        let other_nan = f64::from_bits(f64::NAN.to_bits() | 1);
        let mut c = cols(&[(1, p(0, other_nan, 5)), (1, p(0, f64::NAN, 5))]);
        c.sort_dedup();
        assert_eq!(c.len(), 1);
        assert_eq!(c.value[0].to_bits(), other_nan.to_bits());
    }

    #[test]
    fn same_point_in_other_series_is_kept() {
        let mut c = cols(&[(2, p(0, 1.0, 5)), (1, p(0, 1.0, 5)), (2, p(0, 1.0, 5))]);
        c.sort_dedup();
        assert_eq!(rows_bits(&c).len(), 2);
        assert_eq!(c.series, vec![1, 2]);
    }

    #[test]
    fn sorted_input_with_duplicates_is_deduped_in_place() {
        let mut c = cols(&[
            (1, p(0, 1.0, 5)),
            (1, p(0, 1.0, 5)),
            (1, p(1, 1.0, 5)),
            (3, p(0, -0.0, 5)),
            (3, p(0, 0.0, 5)),
        ]);
        c.sort_dedup();
        assert_eq!(c.series, vec![1, 1, 3]);
        assert_eq!(c.value[2].to_bits(), (-0.0f64).to_bits());
        assert_eq!(c.first_disorder(), None);
    }

    #[test]
    fn first_disorder_finds_duplicates_and_disorder() {
        assert_eq!(cols(&[]).first_disorder(), None);
        assert_eq!(
            cols(&[(1, p(0, 1.0, 5)), (1, p(0, 1.0, 5))]).first_disorder(),
            Some(1)
        );
        assert_eq!(
            cols(&[(1, p(0, 1.0, 5)), (1, p(1, 1.0, 5)), (0, p(9, 1.0, 5))]).first_disorder(),
            Some(2)
        );
    }

    fn row() -> impl Strategy<Value = (u64, MetricPoint)> {
        (0u64..4, -2i64..3, 0i64..3, special_value())
            .prop_map(|(s, step, ts, v)| (s, p(step, v, ts)))
    }

    proptest! {
        #[test]
        fn sort_dedup_matches_reference(rows in proptest::collection::vec(row(), 0..200)) {
            let mut c = cols(&rows);
            c.sort_dedup();
            let want = cols(&reference(&rows));
            prop_assert_eq!(rows_bits(&c), rows_bits(&want));
            prop_assert_eq!(c.first_disorder(), None);
            // Idempotent.
            let again = {
                let mut a = c.clone();
                a.sort_dedup();
                a
            };
            prop_assert_eq!(rows_bits(&again), rows_bits(&c));
        }

        #[test]
        fn row_key_orders_like_point_order(
            a in (0u64..2, -1i64..2, 0i64..2, special_value()),
            b in (0u64..2, -1i64..2, 0i64..2, special_value()),
        ) {
            let pa = p(a.1, a.3, a.2);
            let pb = p(b.1, b.3, b.2);
            let want = a.0.cmp(&b.0).then(point_order(&pa, &pb));
            prop_assert_eq!(row_key(a.0, &pa).cmp(&row_key(b.0, &pb)), want);
        }
    }
}
