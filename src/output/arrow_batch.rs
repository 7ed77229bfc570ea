//! Runs and metric histories as Arrow record batches: what the C API hands
//! out as Arrow C streams, shaped like MLflow's `search_runs` DataFrame.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Float64Array, Float64Builder, Int64Array, RecordBatch, StringArray, StringBuilder,
    TimestampMillisecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};

use crate::engine::{MetricPoint, Run, RunId};
use crate::error::{Error, Result};

/// The page's runs as one batch, a row per run in page order: `run_id`,
/// `experiment_id`, `run_name`, `status`, `artifact_uri`, `start_time` and
/// `end_time` (UTC millisecond timestamps), `lifecycle_stage`, `user_id`,
/// then `metrics.<key>` (latest value, Float64), `params.<key>` and
/// `tags.<key>` (Utf8) for every key any run of the page has, in key order;
/// null where a run lacks the key.
pub fn runs_batch(runs: &[Run]) -> Result<RecordBatch> {
    let utc = || DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()));
    let mut fields = vec![
        Field::new("run_id", DataType::Utf8, false),
        Field::new("experiment_id", DataType::Utf8, false),
        Field::new("run_name", DataType::Utf8, false),
        Field::new("status", DataType::Utf8, false),
        Field::new("artifact_uri", DataType::Utf8, false),
        Field::new("start_time", utc(), false),
        Field::new("end_time", utc(), true),
        Field::new("lifecycle_stage", DataType::Utf8, false),
        Field::new("user_id", DataType::Utf8, false),
    ];
    let text = |f: fn(&Run) -> String| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(runs.iter().map(f)))
    };
    let mut columns: Vec<ArrayRef> = vec![
        text(|r| r.run_id.to_string()),
        text(|r| r.experiment_id.to_string()),
        text(|r| r.run_name.clone()),
        text(|r| r.status.as_str().to_owned()),
        text(|r| r.artifact_uri.clone()),
        Arc::new(
            TimestampMillisecondArray::from_iter_values(runs.iter().map(|r| r.start_time))
                .with_timezone("UTC"),
        ),
        Arc::new(
            TimestampMillisecondArray::from_iter(runs.iter().map(|r| r.end_time))
                .with_timezone("UTC"),
        ),
        text(|r| r.lifecycle_stage.as_str().to_owned()),
        text(|r| r.user.clone()),
    ];

    let metric_keys: BTreeSet<&str> = runs
        .iter()
        .flat_map(|r| r.metrics.keys().map(String::as_str))
        .collect();
    for key in metric_keys {
        let mut values = Float64Builder::with_capacity(runs.len());
        for run in runs {
            values.append_option(run.metrics.get(key).map(|p| p.value));
        }
        fields.push(Field::new(
            format!("metrics.{key}"),
            DataType::Float64,
            true,
        ));
        columns.push(Arc::new(values.finish()));
    }
    let maps: [(&str, StringMapOf); 2] = [("params", |r| &r.params), ("tags", |r| &r.tags)];
    for (prefix, map) in maps {
        let keys: BTreeSet<&str> = runs
            .iter()
            .flat_map(|r| map(r).keys().map(String::as_str))
            .collect();
        for key in keys {
            let mut values = StringBuilder::new();
            for run in runs {
                values.append_option(map(run).get(key));
            }
            fields.push(Field::new(format!("{prefix}.{key}"), DataType::Utf8, true));
            columns.push(Arc::new(values.finish()));
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .map_err(|e| Error::Output(format!("building the runs batch: {e}")))
}

/// Picks one of a run's string maps (params or tags).
type StringMapOf = fn(&Run) -> &std::collections::BTreeMap<String, String>;

/// One metric's history as one batch, a row per point in history order:
/// `step` (Int64), `value` (Float64), `timestamp` (Int64, ms since the
/// epoch). The run id and key are the schema's metadata (`run_id`, `key`).
pub fn history_batch(run_id: RunId, key: &str, points: &[MetricPoint]) -> Result<RecordBatch> {
    let metadata = [
        ("run_id".to_owned(), run_id.to_string()),
        ("key".to_owned(), key.to_owned()),
    ];
    let schema = Schema::new(vec![
        Field::new("step", DataType::Int64, false),
        Field::new("value", DataType::Float64, false),
        Field::new("timestamp", DataType::Int64, false),
    ])
    .with_metadata(metadata.into_iter().collect());
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(points.iter().map(|p| p.step))),
        Arc::new(Float64Array::from_iter_values(
            points.iter().map(|p| p.value),
        )),
        Arc::new(Int64Array::from_iter_values(
            points.iter().map(|p| p.timestamp),
        )),
    ];
    RecordBatch::try_new(Arc::new(schema), columns)
        .map_err(|e| Error::Output(format!("building the history batch: {e}")))
}
