//! `runstore forward status`: JSON, or tables for people.

use std::io::Write;

use super::Format;
use super::table::render;
use super::time::format_ms;
use crate::error::{Error, Result};
use crate::forward::{ForwardStatus, describe};

/// Most runs listed in the table of pending entries (JSON lists all).
const MAX_RUN_ROWS: usize = 20;

/// Writes `status` in `format` (`json` or `table`).
pub fn write_forward_status(
    out: &mut impl Write,
    format: Format,
    status: &ForwardStatus,
) -> Result<()> {
    let text = match format {
        Format::Json => status.to_json().to_string(),
        Format::Table => table(status),
        Format::Csv => {
            return Err(Error::Usage(
                "forward status prints json or table, not csv".into(),
            ));
        }
    };
    writeln!(out, "{text}").map_err(|e| Error::Io {
        path: "<stdout>".into(),
        source: e,
    })
}

fn table(s: &ForwardStatus) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    let when = |ms: i64| {
        format!(
            "{} UTC ({} ago)",
            format_ms(ms),
            seconds(now.saturating_sub(ms))
        )
    };
    let configured = match &s.configured {
        Some(c) => match &c.experiment {
            Some(e) => format!("{} (experiment {e})", c.uri),
            None => c.uri.clone(),
        },
        None => "not configured here".into(),
    };
    let rows = vec![
        vec!["server".into(), configured],
        vec![
            "recording".into(),
            if s.recording { "on" } else { "off" }.into(),
        ],
        vec![
            "sender".into(),
            if s.sender_active {
                "delivering (a process holds forward.lock)"
            } else {
                "not running"
            }
            .into(),
        ],
        vec![
            "pending".into(),
            format!(
                "{} entries ({} bytes) in {} runs, {} experiment operations",
                s.pending_entries,
                s.pending_bytes,
                s.pending_per_run.len(),
                s.pending_experiment_ops
            ),
        ],
        vec!["lag".into(), seconds(s.lag_ms)],
        vec![
            "last success".into(),
            s.sender.last_success_ms.map_or("never".into(), when),
        ],
        vec![
            "last error".into(),
            s.sender
                .last_error
                .as_ref()
                .map_or("none".into(), |(at, e)| format!("{}: {e}", when(*at))),
        ],
        vec![
            "delivered".into(),
            format!(
                "{} entries, {} metric points",
                s.sender.delivered_entries, s.sender.delivered_points
            ),
        ],
        vec!["parked".into(), s.parked.len().to_string()],
    ];
    let mut text = render(&["forwarding".into(), String::new()], &rows);
    if !s.pending_per_run.is_empty() {
        let mut runs: Vec<Vec<String>> = s
            .pending_per_run
            .iter()
            .take(MAX_RUN_ROWS)
            .map(|(run, n)| vec![run.to_string(), n.to_string()])
            .collect();
        if s.pending_per_run.len() > MAX_RUN_ROWS {
            runs.push(vec![
                format!("… {} more runs", s.pending_per_run.len() - MAX_RUN_ROWS),
                String::new(),
            ]);
        }
        text.push('\n');
        text.push_str(&render(&["run".into(), "pending entries".into()], &runs));
    }
    // Reasons are printed whole (table cells are cut at 40 characters).
    for p in &s.parked {
        let (run, what) = describe(&p.item.entry);
        text.push_str(&format!(
            "\nparked #{} (run {}): {what}\n  reason: {}",
            p.item.seq,
            run.unwrap_or_else(|| "-".into()),
            p.reason
        ));
    }
    text
}

fn seconds(ms: i64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}
