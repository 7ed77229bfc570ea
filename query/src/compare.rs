//! Curves of many runs in one call: the histories of every run a search
//! matches, on a common x axis, each downsampled to at most N points.
//!
//! **Downsampling: min/max per bucket.** A series longer than N keeps its
//! first and last points; the points between are cut into (N − 2) / 2
//! buckets of equal count, and each bucket keeps its lowest and its
//! highest point, in x order. Chosen over largest-triangle-three-buckets
//! because it is exact about what people look for in training curves: a
//! loss spike or a NaN is the maximum of its bucket and is always drawn,
//! where LTTB keeps the point of largest triangle area and can drop a spike
//! that sits next to a larger one. It is also one pass and deterministic.

use runstore_engine::{MetricPoint, ReadView, RunId};

use crate::error::{Error, Result};
use crate::search::{SearchRequest, all_rows};
use crate::tables::Selection;

/// Default and largest points per curve.
pub const DEFAULT_MAX_POINTS: usize = 1000;

/// The x axis curves are aligned on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Axis {
    /// The step.
    #[default]
    Step,
    /// Wall-clock time (ms since the epoch).
    Timestamp,
    /// Seconds since the run's first point of that metric.
    Relative,
}

impl Axis {
    /// The axis' name, as `--x` takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Axis::Step => "step",
            Axis::Timestamp => "timestamp",
            Axis::Relative => "relative",
        }
    }
}

impl std::str::FromStr for Axis {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "step" => Ok(Axis::Step),
            "timestamp" | "time" => Ok(Axis::Timestamp),
            "relative" => Ok(Axis::Relative),
            _ => Err(Error::InvalidRequest(format!(
                "invalid x axis {s:?}: expected step, timestamp or relative"
            ))),
        }
    }
}

/// What to compare.
#[derive(Clone, Debug)]
pub struct CompareRequest {
    /// The runs: a search's selection.
    pub selection: Selection,
    /// The search's order (`order_by` clauses; empty: MLflow's default).
    pub order_by: Vec<String>,
    /// The metric keys (at least one).
    pub metrics: Vec<String>,
    /// Most points per curve (at least 2).
    pub max_points: usize,
    /// The x axis.
    pub x: Axis,
}

impl Default for CompareRequest {
    fn default() -> Self {
        CompareRequest {
            selection: Selection::default(),
            order_by: Vec::new(),
            metrics: Vec::new(),
            max_points: DEFAULT_MAX_POINTS,
            x: Axis::Step,
        }
    }
}

/// One run's history of one metric, downsampled.
#[derive(Clone, Debug, PartialEq)]
pub struct Curve {
    /// The run.
    pub run_id: RunId,
    /// Its name.
    pub run_name: String,
    /// The metric.
    pub key: String,
    /// Points in x order.
    pub points: Vec<MetricPoint>,
    /// Each point's x (the step, the timestamp or seconds since the first point).
    pub x: Vec<f64>,
    /// Points the full history has.
    pub total_points: usize,
}

/// The curves of a comparison, one per (run, metric), in search order and
/// then in the order the metrics were asked for.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// The metrics compared.
    pub metrics: Vec<String>,
    /// The x axis.
    pub x: Axis,
    /// The curves.
    pub curves: Vec<Curve>,
}

/// Points a comparison reads per pass.
const COMPARE_PASS_POINTS: usize = 1 << 20;

/// One downsampled curve of `points` (a whole history, in step order).
fn curve(
    run_id: RunId,
    run_name: &str,
    key: &str,
    points: &mut [MetricPoint],
    request: &CompareRequest,
) -> Curve {
    if request.x != Axis::Step {
        points.sort_by(|a, b| {
            a.timestamp
                .cmp(&b.timestamp)
                .then(runstore_engine::metric::point_order(a, b))
        });
    }
    let origin = points.first().map_or(0, |p| p.timestamp);
    let x_of = |p: &MetricPoint| match request.x {
        Axis::Step => p.step as f64,
        Axis::Timestamp => p.timestamp as f64,
        Axis::Relative => (p.timestamp - origin) as f64 / 1000.0,
    };
    let kept: Vec<MetricPoint> = downsample(points, request.max_points)
        .into_iter()
        .map(|i| points[i])
        .collect();
    Curve {
        run_id,
        run_name: run_name.to_owned(),
        key: key.to_owned(),
        x: kept.iter().map(x_of).collect(),
        points: kept,
        total_points: points.len(),
    }
}

/// Compares `request.metrics` across the runs it selects, as of `view`.
pub fn compare(view: &ReadView, request: &CompareRequest) -> Result<Comparison> {
    if request.metrics.is_empty() {
        return Err(Error::InvalidRequest(
            "compare needs at least one metric".into(),
        ));
    }
    if request.max_points < 2 {
        return Err(Error::InvalidRequest(format!(
            "max points must be at least 2, got {}",
            request.max_points
        )));
    }
    let search = SearchRequest {
        filter: request.selection.filter.clone(),
        experiments: request.selection.experiments.clone(),
        view: request.selection.view,
        dialect: request.selection.dialect,
        order_by: request.order_by.clone(),
        ..SearchRequest::default()
    };
    let rows = all_rows(view.index(), &search)?;
    let names = view.run_names(&rows)?;
    // Passes of a bounded number of points, each downsampled before the
    // next is read: memory follows the pass, not the number of runs.
    let plan = view.plan_points(&rows, Some(&request.metrics), COMPARE_PASS_POINTS)?;
    let mut curves = Vec::new();
    let mut points: Vec<MetricPoint> = Vec::new();
    let mut histories = runstore_engine::SeriesBatch::default();
    for pass in 0..plan.passes() {
        view.read_pass_into(&plan, pass, &mut histories)?;
        let mut s = 0;
        while s < histories.series.len() {
            let position = histories.series[s].position;
            let mut end = s;
            while end < histories.series.len() && histories.series[end].position == position {
                end += 1;
            }
            let (run_id, run_name) = names
                .get(position)
                .ok_or_else(|| Error::Internal("history of a run not read".into()))?;
            for key in &request.metrics {
                let Some(series) = histories.series[s..end].iter().find(|x| *x.key == **key) else {
                    continue;
                };
                points.clear();
                points.extend(series.points.clone().map(|i| histories.point(i)));
                curves.push(curve(*run_id, run_name, key, &mut points, request));
            }
            s = end;
        }
    }
    Ok(Comparison {
        metrics: request.metrics.clone(),
        x: request.x,
        curves,
    })
}

/// The indices of `points` (in x order) that min/max-per-bucket
/// downsampling to at most `max` points keeps (see the module docs),
/// ascending. Keeps everything when `points.len() <= max`.
pub fn downsample(points: &[MetricPoint], max: usize) -> Vec<usize> {
    let n = points.len();
    if n <= max.max(2) {
        return (0..n).collect();
    }
    let buckets = (max.max(2) - 2) / 2;
    let mut out = Vec::with_capacity(max);
    out.push(0);
    let inner = n - 2;
    for b in 0..buckets {
        let lo = 1 + b * inner / buckets;
        let hi = 1 + (b + 1) * inner / buckets;
        if lo >= hi {
            continue;
        }
        let (mut min, mut max_at) = (lo, lo);
        for i in lo..hi {
            if points[i].value.total_cmp(&points[min].value).is_lt() {
                min = i;
            }
            if points[i].value.total_cmp(&points[max_at].value).is_gt() {
                max_at = i;
            }
        }
        let (a, b) = (min.min(max_at), min.max(max_at));
        out.push(a);
        if b != a {
            out.push(b);
        }
    }
    out.push(n - 1);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pts(values: &[f64]) -> Vec<MetricPoint> {
        values
            .iter()
            .enumerate()
            .map(|(i, &v)| MetricPoint {
                step: i as i64,
                timestamp: 1000 + i as i64,
                value: v,
            })
            .collect()
    }

    #[test]
    fn a_spike_survives() {
        let mut v = vec![1.0; 10_000];
        v[4321] = 1e6;
        v[7000] = -5.0;
        let p = pts(&v);
        let kept = downsample(&p, 200);
        assert!(kept.len() <= 200);
        assert!(kept.contains(&4321) && kept.contains(&7000));
        assert_eq!((kept[0], *kept.last().unwrap()), (0, 9_999));
    }

    proptest! {
        #[test]
        fn keeps_each_buckets_extremes(
            values in proptest::collection::vec(-1e9f64..1e9, 0..3000),
            max in 2usize..400,
        ) {
            let p = pts(&values);
            let kept = downsample(&p, max);
            prop_assert!(kept.len() <= max.max(2) || kept.len() == values.len());
            prop_assert!(kept.windows(2).all(|w| w[0] < w[1]));
            let n = values.len();
            if n > max {
                prop_assert_eq!(kept[0], 0);
                prop_assert_eq!(*kept.last().unwrap(), n - 1);
                let buckets = (max - 2) / 2;
                for b in 0..buckets {
                    let lo = 1 + b * (n - 2) / buckets;
                    let hi = 1 + (b + 1) * (n - 2) / buckets;
                    if lo >= hi { continue; }
                    let slice = &values[lo..hi];
                    let min = slice.iter().copied().fold(f64::INFINITY, f64::min);
                    let maxv = slice.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let in_bucket: Vec<f64> = kept.iter().filter(|&&i| (lo..hi).contains(&i)).map(|&i| values[i]).collect();
                    prop_assert!(in_bucket.contains(&min), "bucket {} lost its min", b);
                    prop_assert!(in_bucket.contains(&maxv), "bucket {} lost its max", b);
                }
            } else {
                prop_assert_eq!(kept.len(), n);
            }
        }
    }
}
