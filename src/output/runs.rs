//! A page of search results in each format.

use std::collections::BTreeSet;
use std::io::Write;

use serde_json::Value;

use super::{Format, csv, json::Number, table, time, value_text};
use crate::engine::Run;
use crate::error::{Error, Result};

/// One page of runs and the token for the next.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunsPage {
    /// The runs, in order.
    pub runs: Vec<Run>,
    /// Opaque token for the next page, when there is one.
    pub next_page_token: Option<String>,
}

/// Most metric columns a table shows.
const TABLE_METRICS: usize = 6;

/// Writes `page`.
pub fn write_runs(out: &mut dyn Write, format: Format, page: &RunsPage) -> Result<()> {
    let io = |e| Error::Io {
        path: "<stdout>".into(),
        source: e,
    };
    match format {
        Format::Json => {
            // Streamed from the runs: a page of thousands of runs builds no
            // JSON tree (allocating one cost more than reading the runs).
            let doc = PageOut {
                runs: page.runs.iter().map(RunOut::new).collect(),
                next_page_token: page.next_page_token.as_deref(),
            };
            serde_json::to_writer(&mut *out, &doc).map_err(|e| io(e.into()))?;
            writeln!(out).map_err(io)
        }
        Format::Csv => {
            let (header, rows) = flat(page);
            csv::write(out, &header, &rows)
        }
        Format::Table => {
            let metric_keys: BTreeSet<&str> = page
                .runs
                .iter()
                .flat_map(|r| r.metrics.keys().map(String::as_str))
                .collect();
            let shown: Vec<&str> = metric_keys.iter().copied().take(TABLE_METRICS).collect();
            let mut header: Vec<String> = [
                "run_id",
                "run_name",
                "experiment",
                "status",
                "start_time (UTC)",
            ]
            .map(String::from)
            .to_vec();
            header.extend(shown.iter().map(|k| format!("metrics.{k}")));
            header.push("params".into());
            let rows: Vec<Vec<String>> = page
                .runs
                .iter()
                .map(|r| {
                    let mut row = vec![
                        r.run_id.to_string(),
                        r.run_name.clone(),
                        r.experiment_name.clone(),
                        r.status.to_string(),
                        time::format_ms(r.start_time),
                    ];
                    row.extend(shown.iter().map(|k| {
                        r.metrics
                            .get(*k)
                            .map(|m| short(m.value))
                            .unwrap_or_default()
                    }));
                    row.push(
                        r.params
                            .iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<_>>()
                            .join(" "),
                    );
                    row
                })
                .collect();
            writeln!(out, "{}", table::render(&header, &rows)).map_err(io)?;
            let more = if page.next_page_token.is_some() {
                " (more: pass --page-token to see the next page)"
            } else {
                ""
            };
            writeln!(out, "{} runs{more}", page.runs.len()).map_err(io)?;
            if let Some(t) = &page.next_page_token {
                writeln!(out, "next page token: {t}").map_err(io)?;
            }
            Ok(())
        }
    }
}

fn short(v: f64) -> String {
    if v.is_finite() && v != 0.0 && (v.abs() >= 1e6 || v.abs() < 1e-4) {
        format!("{v:.4e}")
    } else if v.is_finite() {
        let s = format!("{v:.6}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        value_text(v)
    }
}

/// A run as JSON, per the contract (plus `experiment_id`, `artifact_uri` and `inputs`).
pub fn run_json(r: &Run) -> Value {
    serde_json::to_value(RunOut::new(r)).unwrap_or(Value::Null)
}

/// The contract's search page, borrowing its runs.
#[derive(serde::Serialize)]
struct PageOut<'a> {
    runs: Vec<RunOut<'a>>,
    next_page_token: Option<&'a str>,
}

/// A run in the contract's JSON shape, borrowing from the [`Run`].
#[derive(serde::Serialize)]
struct RunOut<'a> {
    run_id: String,
    run_name: &'a str,
    experiment: &'a str,
    experiment_id: String,
    status: &'static str,
    start_time: i64,
    end_time: Option<i64>,
    user: &'a str,
    lifecycle_stage: &'static str,
    artifact_uri: &'a str,
    params: &'a std::collections::BTreeMap<String, String>,
    metrics: MetricsOut<'a>,
    tags: &'a std::collections::BTreeMap<String, String>,
    inputs: Vec<InputOut<'a>>,
}

impl<'a> RunOut<'a> {
    fn new(r: &'a Run) -> Self {
        RunOut {
            run_id: r.run_id.to_string(),
            run_name: &r.run_name,
            experiment: &r.experiment_name,
            experiment_id: r.experiment_id.to_string(),
            status: r.status.as_str(),
            start_time: r.start_time,
            end_time: r.end_time,
            user: &r.user,
            lifecycle_stage: r.lifecycle_stage.as_str(),
            artifact_uri: &r.artifact_uri,
            params: &r.params,
            metrics: MetricsOut(&r.metrics),
            tags: &r.tags,
            inputs: r.inputs.iter().map(InputOut::new).collect(),
        }
    }
}

/// Each metric's latest value, NaN and infinities as the contract's strings.
struct MetricsOut<'a>(&'a std::collections::BTreeMap<String, crate::engine::MetricPoint>);

impl serde::Serialize for MetricsOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, p)| (k, Number(p.value))))
    }
}

#[derive(serde::Serialize)]
struct InputOut<'a> {
    name: &'a str,
    digest: &'a str,
    source_type: &'a str,
    source: &'a str,
    context: Option<&'a str>,
}

impl<'a> InputOut<'a> {
    fn new(i: &'a crate::engine::DatasetInput) -> Self {
        InputOut {
            name: &i.name,
            digest: &i.digest,
            source_type: &i.source_type,
            source: &i.source,
            context: i.context.as_deref(),
        }
    }
}

/// Runs as CSV rows: attributes, then `params.K`, `metrics.K`, `tags.K`.
fn flat(page: &RunsPage) -> (Vec<String>, Vec<Vec<String>>) {
    let keys = |f: fn(&Run) -> Vec<&String>| -> Vec<String> {
        let set: BTreeSet<&String> = page.runs.iter().flat_map(f).collect();
        set.into_iter().cloned().collect()
    };
    let params = keys(|r| r.params.keys().collect());
    let metrics = keys(|r| r.metrics.keys().collect());
    let tags = keys(|r| r.tags.keys().collect());
    let mut header: Vec<String> = [
        "run_id",
        "run_name",
        "experiment",
        "status",
        "start_time",
        "end_time",
        "user",
        "lifecycle_stage",
    ]
    .map(String::from)
    .to_vec();
    header.extend(params.iter().map(|k| format!("params.{k}")));
    header.extend(metrics.iter().map(|k| format!("metrics.{k}")));
    header.extend(tags.iter().map(|k| format!("tags.{k}")));
    let rows = page
        .runs
        .iter()
        .map(|r| {
            let mut row = vec![
                r.run_id.to_string(),
                r.run_name.clone(),
                r.experiment_name.clone(),
                r.status.to_string(),
                r.start_time.to_string(),
                r.end_time.map(|t| t.to_string()).unwrap_or_default(),
                r.user.clone(),
                r.lifecycle_stage.to_string(),
            ];
            row.extend(
                params
                    .iter()
                    .map(|k| r.params.get(k).cloned().unwrap_or_default()),
            );
            row.extend(metrics.iter().map(|k| {
                r.metrics
                    .get(k)
                    .map(|p| value_text(p.value))
                    .unwrap_or_default()
            }));
            row.extend(
                tags.iter()
                    .map(|k| r.tags.get(k).cloned().unwrap_or_default()),
            );
            row
        })
        .collect();
    (header, rows)
}
