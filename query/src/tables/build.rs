//! Arrow batches of the six tables, built column by column for exactly the
//! fields of the (projected) schema they are asked for.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, Float64Builder, Int64Array, MapBuilder, MapFieldNames, RecordBatch,
    RecordBatchOptions, StringBuilder, StringDictionaryBuilder, TimestampMillisecondArray,
};
use datafusion::arrow::datatypes::{DataType, Int32Type, SchemaRef};
use runstore_engine::{DatasetInput, Experiment, Run, SeriesBatch};

use crate::error::{Error, Result};

/// The Arrow type of an experiment's `tags` column: map<string, string>.
pub(crate) fn tags_map_type() -> DataType {
    use datafusion::arrow::array::Array;
    map_builder().finish().data_type().clone()
}

fn map_builder() -> MapBuilder<StringBuilder, StringBuilder> {
    let names = MapFieldNames {
        entry: "entries".into(),
        key: "key".into(),
        value: "value".into(),
    };
    MapBuilder::new(Some(names), StringBuilder::new(), StringBuilder::new())
}

fn finish(schema: &SchemaRef, columns: Vec<ArrayRef>, rows: usize) -> Result<RecordBatch> {
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    Ok(RecordBatch::try_new_with_options(
        schema.clone(),
        columns,
        &options,
    )?)
}

fn strings<'a>(values: impl Iterator<Item = &'a str>) -> ArrayRef {
    let mut b = StringBuilder::new();
    for v in values {
        b.append_value(v);
    }
    Arc::new(b.finish())
}

fn opt_strings<'a>(values: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    let mut b = StringBuilder::new();
    for v in values {
        b.append_option(v);
    }
    Arc::new(b.finish())
}

fn dictionary<'a>(values: impl Iterator<Item = &'a str>) -> ArrayRef {
    let mut b = StringDictionaryBuilder::<Int32Type>::new();
    for v in values {
        b.append_value(v);
    }
    Arc::new(b.finish())
}

fn utc(values: impl Iterator<Item = Option<i64>>) -> ArrayRef {
    Arc::new(TimestampMillisecondArray::from_iter(values).with_timezone("UTC"))
}

fn unknown(column: &str) -> Error {
    Error::Internal(format!("no column {column:?} in this table"))
}

/// A batch of the `runs` table for `runs`, with the fields of `schema`.
pub(crate) fn runs_batch(schema: &SchemaRef, runs: &[Run]) -> Result<RecordBatch> {
    let ids: Vec<String> = runs.iter().map(|r| r.run_id.to_string()).collect();
    let mut columns = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        let name = field.name().as_str();
        let col: ArrayRef = match name {
            "run_id" => strings(ids.iter().map(String::as_str)),
            "run_name" => strings(runs.iter().map(|r| r.run_name.as_str())),
            "experiment_id" => {
                let ids: Vec<String> = runs.iter().map(|r| r.experiment_id.to_string()).collect();
                dictionary(ids.iter().map(String::as_str))
            }
            "experiment" => dictionary(runs.iter().map(|r| r.experiment_name.as_str())),
            "status" => dictionary(runs.iter().map(|r| r.status.as_str())),
            "start_time" => utc(runs.iter().map(|r| Some(r.start_time))),
            "end_time" => utc(runs.iter().map(|r| r.end_time)),
            "user" => strings(runs.iter().map(|r| r.user.as_str())),
            "lifecycle_stage" => dictionary(runs.iter().map(|r| r.lifecycle_stage.as_str())),
            "artifact_uri" => strings(runs.iter().map(|r| r.artifact_uri.as_str())),
            _ => {
                if let Some(k) = name.strip_prefix("params.") {
                    opt_strings(runs.iter().map(|r| r.params.get(k).map(String::as_str)))
                } else if let Some(k) = name.strip_prefix("tags.") {
                    opt_strings(runs.iter().map(|r| r.tags.get(k).map(String::as_str)))
                } else if let Some(k) = name.strip_prefix("metrics.") {
                    let mut b = Float64Builder::with_capacity(runs.len());
                    for r in runs {
                        b.append_option(r.metrics.get(k).map(|p| p.value));
                    }
                    Arc::new(b.finish())
                } else {
                    return Err(unknown(name));
                }
            }
        };
        columns.push(col);
    }
    finish(schema, columns, runs.len())
}

/// Params or tags, long form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyValue {
    Params,
    Tags,
}

/// A batch of `params` or `tags` for `runs` (keys limited to `keys`).
pub(crate) fn key_value_batch(
    schema: &SchemaRef,
    runs: &[Run],
    which: KeyValue,
    keys: Option<&[String]>,
) -> Result<RecordBatch> {
    let mut triples: Vec<(String, &str, &str)> = Vec::new();
    for r in runs {
        let map = match which {
            KeyValue::Params => &r.params,
            KeyValue::Tags => &r.tags,
        };
        let id = r.run_id.to_string();
        for (k, v) in map {
            if keys.is_none_or(|w| w.iter().any(|x| x == k)) {
                triples.push((id.clone(), k, v));
            }
        }
    }
    let mut columns = Vec::new();
    for field in schema.fields() {
        columns.push(match field.name().as_str() {
            "run_id" => strings(triples.iter().map(|t| t.0.as_str())),
            "key" => strings(triples.iter().map(|t| t.1)),
            "value" => strings(triples.iter().map(|t| t.2)),
            other => return Err(unknown(other)),
        });
    }
    finish(schema, columns, triples.len())
}

/// A batch of `inputs` for `runs`.
pub(crate) fn inputs_batch(schema: &SchemaRef, runs: &[Run]) -> Result<RecordBatch> {
    let rows: Vec<(String, &DatasetInput)> = runs
        .iter()
        .flat_map(|r| {
            let id = r.run_id.to_string();
            r.inputs.iter().map(move |i| (id.clone(), i))
        })
        .collect();
    let mut columns = Vec::new();
    for field in schema.fields() {
        let it = rows.iter();
        columns.push(match field.name().as_str() {
            "run_id" => strings(it.map(|r| r.0.as_str())),
            "name" => strings(it.map(|r| r.1.name.as_str())),
            "digest" => strings(it.map(|r| r.1.digest.as_str())),
            "source_type" => strings(it.map(|r| r.1.source_type.as_str())),
            "source" => strings(it.map(|r| r.1.source.as_str())),
            "context" => opt_strings(it.map(|r| r.1.context.as_deref())),
            "schema" => opt_strings(it.map(|r| r.1.schema.as_deref())),
            "profile" => opt_strings(it.map(|r| r.1.profile.as_deref())),
            other => return Err(unknown(other)),
        });
    }
    finish(schema, columns, rows.len())
}

/// The `experiments` table.
pub(crate) fn experiments_batch(
    schema: &SchemaRef,
    experiments: &[Experiment],
) -> Result<RecordBatch> {
    let ids: Vec<String> = experiments.iter().map(|e| e.id.to_string()).collect();
    let mut columns = Vec::new();
    for field in schema.fields() {
        let it = experiments.iter();
        columns.push(match field.name().as_str() {
            "experiment_id" => strings(ids.iter().map(String::as_str)),
            "name" => strings(it.map(|e| e.name.as_str())),
            "lifecycle_stage" => strings(it.map(|e| e.lifecycle_stage.as_str())),
            "artifact_location" => strings(it.map(|e| e.artifact_location.as_str())),
            "creation_time" => utc(it.map(|e| Some(e.creation_time))),
            "last_update_time" => utc(it.map(|e| Some(e.last_update_time))),
            "tags" => {
                let mut b = map_builder();
                for e in it {
                    for (k, v) in &e.tags {
                        b.keys().append_value(k);
                        b.values().append_value(v);
                    }
                    b.append(true)?;
                }
                Arc::new(b.finish()) as ArrayRef
            }
            other => return Err(unknown(other)),
        });
    }
    finish(schema, columns, experiments.len())
}

/// Where a walk over a [`SeriesBatch`] stands: a series and a point in it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PointCursor {
    pub series: usize,
    pub point: usize,
}

/// The next batch of `metrics` rows from `points`, at most `max` rows from
/// `at` on; `None` once every point was taken.
pub(crate) fn metrics_batch(
    schema: &SchemaRef,
    points: &SeriesBatch,
    at: &mut PointCursor,
    max: usize,
) -> Result<Option<RecordBatch>> {
    // The (series, point range) pieces of this batch.
    let mut pieces = Vec::new();
    let mut n = 0;
    while n < max && at.series < points.series.len() {
        let s = &points.series[at.series];
        let start = at.point.max(s.points.start);
        let end = s.points.end.min(start + (max - n));
        if start < end {
            pieces.push((at.series, start..end));
            n += end - start;
        }
        if end >= s.points.end {
            at.series += 1;
            at.point = 0;
        } else {
            at.point = end;
        }
    }
    if pieces.is_empty() {
        return Ok(None);
    }
    let mut columns = Vec::new();
    for field in schema.fields() {
        let all = || pieces.iter().flat_map(|(_, r)| r.clone());
        columns.push(match field.name().as_str() {
            "run_id" => {
                let mut b = StringBuilder::with_capacity(n, n * 32);
                for (s, r) in &pieces {
                    let id = points.series[*s].run_id.to_string();
                    for _ in r.clone() {
                        b.append_value(&id);
                    }
                }
                Arc::new(b.finish()) as ArrayRef
            }
            "key" => {
                let mut b = StringBuilder::with_capacity(n, n * 8);
                for (s, r) in &pieces {
                    let key = &*points.series[*s].key;
                    for _ in r.clone() {
                        b.append_value(key);
                    }
                }
                Arc::new(b.finish())
            }
            "step" => Arc::new(Int64Array::from_iter_values(all().map(|i| points.step[i]))),
            "timestamp" => Arc::new(TimestampMillisecondArray::from_iter_values(
                all().map(|i| points.timestamp[i]),
            )),
            "value" => Arc::new(datafusion::arrow::array::Float64Array::from_iter_values(
                all().map(|i| points.value[i]),
            )),
            other => return Err(unknown(other)),
        });
    }
    finish(schema, columns, n).map(Some)
}
