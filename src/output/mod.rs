//! Printing results as a table (for people), JSON or CSV (for programs), and
//! as Arrow record batches (for the C API's Arrow streams).

mod arrow_batch;
mod batches;
mod compare;
mod csv;
mod experiments;
mod forward;
mod history;
mod json;
mod page_json;
pub mod plot;
mod runs;
mod table;
mod time;

pub use arrow_batch::{history_batch, runs_batch};
pub use batches::BatchWriter;
pub use compare::write_comparison;
pub use experiments::{experiment_json, write_experiments};
pub use forward::write_forward_status;
pub use history::write_history;
pub use page_json::write_page_json;
pub use runs::{RunsPage, run_json, write_runs};

use std::str::FromStr;

use crate::error::Error;

/// An output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// An aligned text table, wide values truncated.
    Table,
    /// JSON, as in `CONTRACT.md`.
    Json,
    /// CSV with a header row.
    Csv,
}

impl FromStr for Format {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "table" => Ok(Format::Table),
            "json" => Ok(Format::Json),
            "csv" => Ok(Format::Csv),
            _ => Err(Error::Usage(format!(
                "invalid format {s:?}: expected table, json or csv"
            ))),
        }
    }
}

/// A metric value as text: NaN and infinities as `NaN`, `Infinity`, `-Infinity`.
pub fn value_text(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "Infinity".into()
    } else if v == f64::NEG_INFINITY {
        "-Infinity".into()
    } else {
        let mut s = ryu_like(v);
        if s.ends_with(".0") && !s.contains('e') {
            s.truncate(s.len() - 2);
        }
        s
    }
}

/// Shortest text that reads back as exactly `v`.
fn ryu_like(v: f64) -> String {
    // serde_json prints finite floats with the shortest round-trip form.
    serde_json::to_string(&v).unwrap_or_else(|_| v.to_string())
}
