//! A comparison of curves in each format (`--format json` as in `CONTRACT.md`).

use std::io::Write;

use serde::Serialize;

use super::json::Number;
use super::{Format, table, value_text};
use crate::analysis::{Axis, Comparison};
use crate::error::{Error, Result};

fn io(e: std::io::Error) -> Error {
    Error::Io {
        path: "<stdout>".into(),
        source: e,
    }
}

#[derive(Serialize)]
struct Doc<'a> {
    metrics: &'a [String],
    x: &'static str,
    runs: Vec<Entry<'a>>,
}

#[derive(Serialize)]
struct Entry<'a> {
    run_id: String,
    run_name: &'a str,
    key: &'a str,
    points: Vec<(i64, Number, i64)>,
    /// Seconds since the curve's first point, for `--x relative`.
    #[serde(skip_serializing_if = "Option::is_none")]
    relative_s: Option<&'a [f64]>,
    /// Points the whole history has (before downsampling).
    total_points: usize,
}

/// Writes `c` in `format`.
pub fn write_comparison(out: &mut dyn Write, format: Format, c: &Comparison) -> Result<()> {
    match format {
        Format::Json => {
            let doc = Doc {
                metrics: &c.metrics,
                x: c.x.as_str(),
                runs: c
                    .curves
                    .iter()
                    .map(|curve| Entry {
                        run_id: curve.run_id.to_string(),
                        run_name: &curve.run_name,
                        key: &curve.key,
                        points: curve
                            .points
                            .iter()
                            .map(|p| (p.step, Number(p.value), p.timestamp))
                            .collect(),
                        relative_s: (c.x == Axis::Relative).then_some(&curve.x[..]),
                        total_points: curve.total_points,
                    })
                    .collect(),
            };
            serde_json::to_writer(&mut *out, &doc).map_err(|e| io(e.into()))?;
            writeln!(out).map_err(io)
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(&mut *out);
            let mut header = vec!["run_id", "run_name", "key", "step", "value", "timestamp"];
            if c.x == Axis::Relative {
                header.push("relative_s");
            }
            let err = |e: csv::Error| Error::Output(format!("csv: {e}"));
            w.write_record(&header).map_err(err)?;
            for curve in &c.curves {
                let id = curve.run_id.to_string();
                for (p, x) in curve.points.iter().zip(&curve.x) {
                    let mut row = vec![
                        id.clone(),
                        curve.run_name.clone(),
                        curve.key.clone(),
                        p.step.to_string(),
                        value_text(p.value),
                        p.timestamp.to_string(),
                    ];
                    if c.x == Axis::Relative {
                        row.push(x.to_string());
                    }
                    w.write_record(&row).map_err(err)?;
                }
            }
            w.flush().map_err(io)
        }
        Format::Table => {
            let header =
                ["run_id", "run_name", "key", "points", "of", "first", "last"].map(String::from);
            let rows: Vec<Vec<String>> = c
                .curves
                .iter()
                .map(|curve| {
                    let value = |p: Option<&crate::engine::MetricPoint>| {
                        p.map(|p| value_text(p.value)).unwrap_or_default()
                    };
                    vec![
                        curve.run_id.to_string(),
                        curve.run_name.clone(),
                        curve.key.clone(),
                        curve.points.len().to_string(),
                        curve.total_points.to_string(),
                        value(curve.points.first()),
                        value(curve.points.last()),
                    ]
                })
                .collect();
            writeln!(out, "{}", table::render(&header, &rows)).map_err(io)?;
            writeln!(out, "{} curves on x = {}", c.curves.len(), c.x.as_str()).map_err(io)
        }
    }
}
