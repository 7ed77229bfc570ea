//! The JSON Lines run record (see `CONTRACT.md`): one run per line.
//!
//! ```json
//! {"experiment": "churn", "run_id": "0f3a…", "run_name": "rf-1", "status": "FINISHED",
//!  "start_time": 1700000000000, "end_time": 1700000060000, "user": "alice",
//!  "parent_run_id": null, "lifecycle_stage": "active",
//!  "params": {"lr": "0.01"}, "tags": {"team": "fraud"},
//!  "metrics": {"loss": [[0, 0.91, 1700000001000], [1, 0.55, 1700000002000]]},
//!  "inputs": [{"name": "train", "digest": "ab12", "source_type": "local",
//!              "source": "data/train.csv", "context": "training"}]}
//! ```
//!
//! Parsing is strict: an unknown field, a param that is neither a string nor a
//! number, a step that is not an integer… is an error naming the field.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::engine::{
    DatasetInput, LifecycleStage, MetricPoint, RunId, RunRecord, RunStatus, TAG_PARENT_RUN_ID,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordJson<'a> {
    #[serde(borrow)]
    experiment: Cow<'a, str>,
    #[serde(default, borrow)]
    run_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    run_name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    status: Option<Cow<'a, str>>,
    #[serde(default)]
    start_time: Option<i64>,
    #[serde(default)]
    end_time: Option<i64>,
    #[serde(default, borrow)]
    user: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    parent_run_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    lifecycle_stage: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    params: Option<BTreeMap<Cow<'a, str>, &'a RawValue>>,
    #[serde(default, borrow)]
    tags: Option<BTreeMap<Cow<'a, str>, &'a RawValue>>,
    #[serde(default, borrow)]
    metrics: Option<BTreeMap<Cow<'a, str>, Vec<PointJson>>>,
    #[serde(default)]
    inputs: Option<Vec<InputJson>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InputJson {
    name: String,
    digest: String,
    #[serde(default)]
    source_type: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    schema: Option<String>,
    #[serde(default)]
    profile: Option<String>,
    #[serde(default)]
    context: Option<String>,
}

/// `[step, value, timestamp]`.
struct PointJson(MetricPoint);

impl<'de> Deserialize<'de> for PointJson {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PointJson;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a metric point [step, value, timestamp]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PointJson, A::Error> {
                let step: i64 = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let value: ValueJson = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(1, &self))?;
                let timestamp: i64 = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(2, &self))?;
                if seq.next_element::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::invalid_length(4, &self));
                }
                Ok(PointJson(MetricPoint {
                    step,
                    value: value.0,
                    timestamp,
                }))
            }
        }
        d.deserialize_seq(V)
    }
}

/// A metric value: a number, or `"NaN"`, `"Infinity"`, `"-Infinity"`.
struct ValueJson(f64);

impl<'de> Deserialize<'de> for ValueJson {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ValueJson;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"a number or one of "NaN", "Infinity", "-Infinity""#)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ValueJson, E> {
                Ok(ValueJson(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ValueJson, E> {
                Ok(ValueJson(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ValueJson, E> {
                Ok(ValueJson(v as f64))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ValueJson, E> {
                match v {
                    "NaN" => Ok(ValueJson(f64::NAN)),
                    "Infinity" => Ok(ValueJson(f64::INFINITY)),
                    "-Infinity" => Ok(ValueJson(f64::NEG_INFINITY)),
                    _ => Err(de::Error::invalid_value(de::Unexpected::Str(v), &self)),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// Parses one line into a run record. Errors name the field and, for JSON
/// syntax, the column.
pub fn parse_record(line: &str) -> Result<RunRecord, String> {
    let json: RecordJson<'_> = serde_json::from_str(line).map_err(|e| {
        // The line number in serde's message is always 1: report the column only.
        let msg = e.to_string();
        match msg.rfind(" at line ") {
            Some(i) => format!("{} (column {})", &msg[..i], e.column()),
            None => msg,
        }
    })?;
    let run_id = json
        .run_id
        .map(|s| s.parse::<RunId>())
        .transpose()
        .map_err(|e| e.to_string())?;
    let status = json
        .status
        .map(|s| s.parse::<RunStatus>())
        .transpose()
        .map_err(|e| e.to_string())?;
    let lifecycle_stage = json
        .lifecycle_stage
        .map(|s| s.parse::<LifecycleStage>())
        .transpose()
        .map_err(|e| e.to_string())?;
    let params = text_map("params", json.params)?;
    let mut tags = text_map("tags", json.tags)?;
    if let Some(parent) = json.parent_run_id {
        let parent: RunId = parent.parse().map_err(|e| format!("parent_run_id: {e}"))?;
        if let Some((_, existing)) = tags.iter().find(|(k, _)| k == TAG_PARENT_RUN_ID)
            && *existing != parent.to_string()
        {
            return Err(format!(
                "parent_run_id {parent} and tag {TAG_PARENT_RUN_ID} {existing:?} differ"
            ));
        }
        tags.retain(|(k, _)| k != TAG_PARENT_RUN_ID);
        tags.push((TAG_PARENT_RUN_ID.to_owned(), parent.to_string()));
    }
    let metrics = json
        .metrics
        .unwrap_or_default()
        .into_iter()
        .map(|(k, pts)| (k.into_owned(), pts.into_iter().map(|p| p.0).collect()))
        .collect();
    let inputs = json
        .inputs
        .unwrap_or_default()
        .into_iter()
        .map(|i| DatasetInput {
            name: i.name,
            digest: i.digest,
            source_type: i.source_type.unwrap_or_default(),
            source: i.source.unwrap_or_default(),
            schema: i.schema,
            profile: i.profile,
            context: i.context,
        })
        .collect();
    Ok(RunRecord {
        experiment: Some(json.experiment.into_owned()),
        run_id,
        run_name: json.run_name.map(Cow::into_owned),
        status,
        start_time: json.start_time,
        end_time: json.end_time,
        user: json.user.map(Cow::into_owned),
        lifecycle_stage,
        params,
        tags,
        metrics,
        inputs,
    })
}

/// Params and tags: string values, or numbers kept as their JSON text.
fn text_map(
    what: &str,
    map: Option<BTreeMap<Cow<'_, str>, &RawValue>>,
) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (k, raw) in map.unwrap_or_default() {
        let text = raw.get();
        let value = match text.as_bytes().first() {
            Some(b'"') => {
                serde_json::from_str::<String>(text).map_err(|e| format!("{what}.{k}: {e}"))?
            }
            Some(b'-' | b'0'..=b'9') => text.to_owned(),
            _ => {
                return Err(format!(
                    "{what}.{k}: expected a string or a number, got {text}"
                ));
            }
        };
        out.push((k.into_owned(), value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_contract_example() {
        let rec = parse_record(
            r#"{"experiment": "churn", "run_id": "0f3a0000000000000000000000000001", "run_name": "rf-1",
             "status": "FINISHED", "start_time": 1700000000000, "end_time": 1700000060000,
             "user": "alice", "parent_run_id": null, "lifecycle_stage": "active",
             "params": {"lr": "0.01", "depth": 5, "alpha": 1e-3},
             "tags": {"team": "fraud"},
             "metrics": {"loss": [[0, 0.91, 1700000001000], [1, "NaN", 1700000002000], [2, "-Infinity", 3]]},
             "inputs": [{"name": "train", "digest": "ab12", "source_type": "local",
                         "source": "data/train.csv", "context": "training"}]}"#,
        )
        .unwrap();
        assert_eq!(rec.experiment.as_deref(), Some("churn"));
        assert_eq!(rec.status, Some(RunStatus::Finished));
        assert!(rec.params.contains(&("depth".into(), "5".into())));
        assert!(rec.params.contains(&("alpha".into(), "1e-3".into())));
        let loss = &rec.metrics[0].1;
        assert!(loss[1].value.is_nan());
        assert_eq!(loss[2].value, f64::NEG_INFINITY);
        assert_eq!(rec.inputs[0].context.as_deref(), Some("training"));
    }

    #[test]
    fn only_experiment_is_required() {
        let rec = parse_record(r#"{"experiment": "e"}"#).unwrap();
        assert!(rec.run_id.is_none() && rec.params.is_empty());
        assert!(
            parse_record(r#"{"run_name": "x"}"#)
                .unwrap_err()
                .contains("experiment")
        );
    }

    #[test]
    fn rejects_bad_fields_with_a_reason() {
        for (line, needle) in [
            (r#"{"experiment": "e", "run_id": "XYZ"}"#, "run_id"),
            (r#"{"experiment": "e", "status": "DONE"}"#, "status"),
            (r#"{"experiment": "e", "params": {"a": true}}"#, "params.a"),
            (
                r#"{"experiment": "e", "metrics": {"m": [[0.5, 1, 2]]}}"#,
                "invalid type",
            ),
            (
                r#"{"experiment": "e", "metrics": {"m": [[0, "nan", 2]]}}"#,
                "NaN",
            ),
            (
                r#"{"experiment": "e", "metrics": {"m": [[0, 1]]}}"#,
                "length",
            ),
            (r#"{"experiment": "e", "colour": 1}"#, "unknown field"),
            (r#"{"experiment": "e""#, "column"),
            (
                r#"{"experiment": "e", "parent_run_id": "nope"}"#,
                "parent_run_id",
            ),
        ] {
            let err = parse_record(line).unwrap_err();
            assert!(err.contains(needle), "{line}: {err}");
        }
    }

    #[test]
    fn parent_becomes_a_tag() {
        let rec = parse_record(
            r#"{"experiment": "e", "parent_run_id": "00000000000000000000000000000001"}"#,
        )
        .unwrap();
        assert_eq!(
            rec.tags,
            vec![(
                TAG_PARENT_RUN_ID.to_owned(),
                "00000000000000000000000000000001".to_owned()
            )]
        );
    }
}
