//! A metric history in each format.

use std::io::Write;

use serde_json::{Value, json};

use super::{Format, csv, json::number, table, time, value_text};
use crate::engine::{MetricPoint, RunId};
use crate::error::{Error, Result};

/// Writes `points` of metric `key` of `run_id`.
pub fn write_history(
    out: &mut dyn Write,
    format: Format,
    run_id: RunId,
    key: &str,
    points: &[MetricPoint],
) -> Result<()> {
    let io = |e| Error::Io {
        path: "<stdout>".into(),
        source: e,
    };
    match format {
        Format::Json => {
            let history: Vec<Value> = points
                .iter()
                .map(|p| json!([p.step, number(p.value), p.timestamp]))
                .collect();
            let doc = json!({"run_id": run_id.to_string(), "key": key, "history": history});
            serde_json::to_writer(&mut *out, &doc).map_err(|e| io(e.into()))?;
            writeln!(out).map_err(io)
        }
        Format::Csv => {
            let header = ["step", "value", "timestamp"].map(String::from);
            let rows: Vec<Vec<String>> = points
                .iter()
                .map(|p| {
                    vec![
                        p.step.to_string(),
                        value_text(p.value),
                        p.timestamp.to_string(),
                    ]
                })
                .collect();
            csv::write(out, &header, &rows)
        }
        Format::Table => {
            let header = ["step", "value", "timestamp (UTC)"].map(String::from);
            let rows: Vec<Vec<String>> = points
                .iter()
                .map(|p| {
                    vec![
                        p.step.to_string(),
                        value_text(p.value),
                        time::format_ms(p.timestamp),
                    ]
                })
                .collect();
            writeln!(out, "{}", table::render(&header, &rows)).map_err(io)?;
            writeln!(out, "{} points of {key:?} for run {run_id}", points.len()).map_err(io)
        }
    }
}
