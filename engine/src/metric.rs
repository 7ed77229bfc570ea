//! MLflow's rules for metric values: how a value is compared, which point is a
//! run's *latest*, and when two points are the same point.
//!
//! MLflow's SQL store keeps a value as `(value, is_nan)` where NaN is stored as
//! `0.0` with `is_nan = true` and ±Infinity as ±`f64::MAX`. Every rule below
//! works on that stored form, so NaN and infinities behave exactly as there:
//! NaN counts as 0 when choosing the latest point, +Infinity equals `f64::MAX`,
//! and `-0.0` equals `0.0`.

use std::cmp::Ordering;

/// One point of a metric's history.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MetricPoint {
    /// Training step (MLflow's `step`, 0 when not given).
    pub step: i64,
    /// The value; NaN and ±Infinity are allowed and kept.
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    pub timestamp: i64,
}

/// A value as MLflow's SQL store keeps it: `(value, is_nan)`.
///
/// NaN becomes `(0.0, true)`, ±Infinity becomes `(±f64::MAX, false)` and `-0.0`
/// becomes `0.0`, so that ordinary `f64` comparison on the first field gives
/// MLflow's answers.
#[inline]
pub fn stored_form(value: f64) -> (f64, bool) {
    if value.is_nan() {
        (0.0, true)
    } else if value == f64::INFINITY {
        (f64::MAX, false)
    } else if value == f64::NEG_INFINITY {
        (-f64::MAX, false)
    } else if value == 0.0 {
        (0.0, false)
    } else {
        (value, false)
    }
}

/// The value a search compares and sorts on: NaN stays (a canonical) NaN so a
/// filter can reject it, infinities become ±`f64::MAX`, and `-0.0` becomes `0.0`.
#[inline]
pub fn search_value(value: f64) -> f64 {
    if value.is_nan() {
        f64::NAN
    } else {
        stored_form(value).0
    }
}

/// Orders two points of one series: by step, then timestamp, then stored value
/// (NaN as 0), then non-NaN before NaN. Points that compare equal are the same
/// point in MLflow's eyes (see [`same_point`]).
#[inline]
pub fn point_order(a: &MetricPoint, b: &MetricPoint) -> Ordering {
    let (av, an) = stored_form(a.value);
    let (bv, bn) = stored_form(b.value);
    a.step
        .cmp(&b.step)
        .then(a.timestamp.cmp(&b.timestamp))
        .then(av.total_cmp(&bv))
        .then(an.cmp(&bn))
}

/// True when two points are the same point: same step, timestamp and stored
/// value. Such a point is stored once, as in MLflow's SQL store.
#[inline]
pub fn same_point(a: &MetricPoint, b: &MetricPoint) -> bool {
    point_order(a, b) == Ordering::Equal
}

/// MLflow's latest-value rule: `candidate` replaces `current` as the latest
/// point when its step is higher, or the step is equal and its timestamp is
/// later, or both are equal and its stored value is larger (NaN counting as 0).
/// Ties keep the point logged first.
#[inline]
pub fn is_later(candidate: &MetricPoint, current: &MetricPoint) -> bool {
    let (cv, _) = stored_form(candidate.value);
    let (lv, _) = stored_form(current.value);
    match candidate.step.cmp(&current.step) {
        Ordering::Greater => true,
        Ordering::Less => false,
        Ordering::Equal => match candidate.timestamp.cmp(&current.timestamp) {
            Ordering::Greater => true,
            Ordering::Less => false,
            Ordering::Equal => cv > lv,
        },
    }
}

/// Picks the latest point of `points` in logging order, starting from `current`.
pub fn latest_of<'a>(
    current: Option<MetricPoint>,
    points: impl IntoIterator<Item = &'a MetricPoint>,
) -> Option<MetricPoint> {
    let mut latest = current;
    for p in points {
        match latest {
            Some(cur) if !is_later(p, &cur) => {}
            _ => latest = Some(*p),
        }
    }
    latest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(step: i64, value: f64, timestamp: i64) -> MetricPoint {
        MetricPoint {
            step,
            value,
            timestamp,
        }
    }

    #[test]
    fn higher_step_wins_even_if_logged_first() {
        let pts = [p(9, 1.0, 1), p(2, 5.0, 50), p(5, 3.0, 99)];
        assert_eq!(latest_of(None, &pts), Some(p(9, 1.0, 1)));
    }

    #[test]
    fn equal_step_later_timestamp_wins() {
        let pts = [p(3, 8.8, 200), p(3, 6.9, 100)];
        assert_eq!(latest_of(None, &pts), Some(p(3, 8.8, 200)));
    }

    #[test]
    fn equal_step_and_time_larger_value_wins_with_nan_as_zero() {
        let nan_vs_neg = [p(1, -1.0, 5), p(1, f64::NAN, 5)];
        assert!(latest_of(None, &nan_vs_neg).unwrap().value.is_nan());
        let nan_vs_half = [p(1, f64::NAN, 5), p(1, 0.5, 5)];
        assert_eq!(latest_of(None, &nan_vs_half).unwrap().value, 0.5);
        // A tie (NaN counts as 0) keeps the first logged.
        let tie = [p(1, 0.0, 5), p(1, f64::NAN, 5)];
        assert_eq!(latest_of(None, &tie).unwrap().value, 0.0);
    }

    #[test]
    fn infinity_ties_with_max() {
        let pts = [p(1, f64::MAX, 5), p(1, f64::INFINITY, 5)];
        assert_eq!(latest_of(None, &pts).unwrap().value, f64::MAX);
        assert!(same_point(&p(1, f64::MAX, 5), &p(1, f64::INFINITY, 5)));
    }

    #[test]
    fn negative_zero_is_zero() {
        assert!(same_point(&p(0, -0.0, 1), &p(0, 0.0, 1)));
        assert_eq!(search_value(-0.0).to_bits(), 0.0f64.to_bits());
        assert_eq!(search_value(f64::NEG_INFINITY), -f64::MAX);
    }

    #[test]
    fn nan_and_zero_are_different_points() {
        assert!(!same_point(&p(0, f64::NAN, 1), &p(0, 0.0, 1)));
        assert!(same_point(&p(0, f64::NAN, 1), &p(0, -f64::NAN, 1)));
        assert_eq!(
            point_order(&p(0, 0.0, 1), &p(0, f64::NAN, 1)),
            Ordering::Less
        );
    }
}
