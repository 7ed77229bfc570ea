//! Experiments in each format.

use std::io::Write;

use serde_json::{Value, json};

use super::{Format, csv, table, time};
use crate::engine::Experiment;
use crate::error::{Error, Result};

/// An experiment as JSON (MLflow's fields; `experiment_id` as text, like MLflow's).
pub fn experiment_json(e: &Experiment) -> Value {
    json!({
        "experiment_id": e.id.to_string(),
        "name": e.name,
        "artifact_location": e.artifact_location,
        "lifecycle_stage": e.lifecycle_stage.as_str(),
        "creation_time": e.creation_time,
        "last_update_time": e.last_update_time,
        "tags": e.tags,
    })
}

/// Writes `experiments` (`{"experiments": [...], "next_page_token": ...}` in JSON).
pub fn write_experiments(
    out: &mut dyn Write,
    format: Format,
    experiments: &[Experiment],
    next_page_token: Option<&str>,
) -> Result<()> {
    let io = |e| Error::Io {
        path: "<stdout>".into(),
        source: e,
    };
    match format {
        Format::Json => {
            let list: Vec<Value> = experiments.iter().map(experiment_json).collect();
            let doc = json!({"experiments": list, "next_page_token": next_page_token});
            serde_json::to_writer(&mut *out, &doc).map_err(|e| io(e.into()))?;
            writeln!(out).map_err(io)
        }
        Format::Csv => {
            let header = [
                "experiment_id",
                "name",
                "lifecycle_stage",
                "creation_time",
                "last_update_time",
                "artifact_location",
                "tags",
            ]
            .map(String::from)
            .to_vec();
            let rows: Vec<Vec<String>> = experiments
                .iter()
                .map(|e| {
                    vec![
                        e.id.to_string(),
                        e.name.clone(),
                        e.lifecycle_stage.to_string(),
                        e.creation_time.to_string(),
                        e.last_update_time.to_string(),
                        e.artifact_location.clone(),
                        tags_text(e),
                    ]
                })
                .collect();
            csv::write(out, &header, &rows)
        }
        Format::Table => {
            let header = [
                "id",
                "name",
                "stage",
                "created (UTC)",
                "updated (UTC)",
                "tags",
            ]
            .map(String::from)
            .to_vec();
            let rows: Vec<Vec<String>> = experiments
                .iter()
                .map(|e| {
                    vec![
                        e.id.to_string(),
                        e.name.clone(),
                        e.lifecycle_stage.to_string(),
                        time::format_ms(e.creation_time),
                        time::format_ms(e.last_update_time),
                        tags_text(e),
                    ]
                })
                .collect();
            writeln!(out, "{}", table::render(&header, &rows)).map_err(io)?;
            writeln!(out, "{} experiments", experiments.len()).map_err(io)?;
            if let Some(t) = next_page_token {
                writeln!(out, "next page token: {t}").map_err(io)?;
            }
            Ok(())
        }
    }
}

fn tags_text(e: &Experiment) -> String {
    e.tags
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}
