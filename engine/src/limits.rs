//! MLflow's limits and name rules, checked before anything is stored.
//!
//! Lengths count characters, as MLflow (Python's `len`) does. Where MLflow
//! would silently truncate a long value, runstore refuses it instead: a store
//! should never keep something other than what it was given.

use crate::error::{Error, Result};

/// Longest param, tag or metric key.
pub const MAX_ENTITY_KEY_LENGTH: usize = 250;
/// Longest param value.
pub const MAX_PARAM_VAL_LENGTH: usize = 6000;
/// Longest tag value.
pub const MAX_TAG_VAL_LENGTH: usize = 8000;
/// Longest experiment name.
pub const MAX_EXPERIMENT_NAME_LENGTH: usize = 500;
/// Longest experiment tag value.
pub const MAX_EXPERIMENT_TAG_VAL_LENGTH: usize = 20000;
/// Most params, or most tags, in one `log_batch`.
pub const MAX_PARAMS_TAGS_PER_BATCH: usize = 100;
/// Most metric points in one `log_batch`.
pub const MAX_METRICS_PER_BATCH: usize = 1000;
/// Most metrics, params and tags together in one `log_batch`.
pub const MAX_ENTITIES_PER_BATCH: usize = 1000;
/// Longest dataset name.
pub const MAX_DATASET_NAME_SIZE: usize = 500;
/// Longest dataset digest.
pub const MAX_DATASET_DIGEST_SIZE: usize = 36;
/// Longest dataset source.
pub const MAX_DATASET_SOURCE_SIZE: usize = 65535;
/// Longest dataset schema.
pub const MAX_DATASET_SCHEMA_SIZE: usize = 1_048_575;
/// Longest dataset profile.
pub const MAX_DATASET_PROFILE_SIZE: usize = 16_777_215;
/// Longest input tag value (the dataset's context).
pub const MAX_INPUT_TAG_VALUE_SIZE: usize = 500;

/// What kind of key is being checked (for messages).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// A param key.
    Param,
    /// A tag key.
    Tag,
    /// A metric key.
    Metric,
}

impl KeyKind {
    fn noun(self) -> &'static str {
        match self {
            KeyKind::Param => "param",
            KeyKind::Tag => "tag",
            KeyKind::Metric => "metric",
        }
    }
}

/// Checks a param, tag or metric key against MLflow's rules: 1 to 250
/// characters of letters, digits, `_ - . / :` and space, and not a path that
/// would resolve to another name (`a//b`, `./a`, `a/..`, `/a`, `..a`).
pub fn check_key(kind: KeyKind, key: &str) -> Result<()> {
    let noun = kind.noun();
    if key.is_empty() {
        return Err(Error::InvalidInput(format!("{noun} key must not be empty")));
    }
    if let Some(bad) = key
        .chars()
        .find(|&c| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | ' ' | ':')))
    {
        return Err(Error::InvalidInput(format!(
            "invalid {noun} key {key:?}: character {bad:?} is not allowed; names may only contain \
             alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colons (:) and slashes (/)"
        )));
    }
    if !is_unique_path(key) {
        return Err(Error::InvalidInput(format!(
            "invalid {noun} key {key:?}: names may be treated as file paths and must not resolve \
             to another name (no leading '/', no '..' prefix, no empty, '.' or '..' parts)"
        )));
    }
    check_length(|| format!("{noun} key {key:?}"), key, MAX_ENTITY_KEY_LENGTH)
}

/// True when `name` is its own normalised path (Python's `posixpath.normpath`)
/// and neither `.`, nor starting with `..` or `/`.
fn is_unique_path(name: &str) -> bool {
    if name.starts_with('/') || name.starts_with("..") {
        return false;
    }
    name.split('/')
        .all(|part| !part.is_empty() && part != "." && part != "..")
}

/// Checks that `value` is at most `limit` characters; `what` names it in
/// the error (built only on failure: this runs for every param and tag).
pub fn check_length(what: impl FnOnce() -> String, value: &str, limit: usize) -> Result<()> {
    // Byte length bounds the character count from above: skip the count when it can't matter.
    if value.len() > limit {
        let chars = value.chars().count();
        if chars > limit {
            return Err(Error::InvalidInput(format!(
                "{} is {chars} characters long; the limit is {limit}",
                what()
            )));
        }
    }
    Ok(())
}

/// Checks a param.
pub fn check_param(key: &str, value: &str) -> Result<()> {
    check_key(KeyKind::Param, key)?;
    check_length(
        || format!("value of param {key:?}"),
        value,
        MAX_PARAM_VAL_LENGTH,
    )
}

/// Checks a tag.
pub fn check_tag(key: &str, value: &str) -> Result<()> {
    check_key(KeyKind::Tag, key)?;
    check_length(
        || format!("value of tag {key:?}"),
        value,
        MAX_TAG_VAL_LENGTH,
    )
}

/// Checks a metric point's key and timestamp (MLflow wants a non-negative timestamp).
pub fn check_metric(key: &str, timestamp: i64) -> Result<()> {
    check_key(KeyKind::Metric, key)?;
    check_metric_timestamp(key, timestamp)
}

/// Checks a metric point's timestamp, for a key already checked.
#[inline]
pub fn check_metric_timestamp(key: &str, timestamp: i64) -> Result<()> {
    if timestamp < 0 {
        return Err(Error::InvalidInput(format!(
            "metric {key:?}: timestamp {timestamp} must be a non-negative number of milliseconds"
        )));
    }
    Ok(())
}

/// Checks an experiment name: 1 to 500 characters.
pub fn check_experiment_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::InvalidInput(
            "experiment name must not be empty".into(),
        ));
    }
    check_length(
        || "experiment name".into(),
        name,
        MAX_EXPERIMENT_NAME_LENGTH,
    )
}

/// Checks one `log_batch` call's sizes.
pub fn check_batch(metrics: usize, params: usize, tags: usize) -> Result<()> {
    let over = |what: &str, limit: usize, n: usize| {
        Error::InvalidInput(format!(
            "a batch may hold at most {limit} {what}, got {n}; split it into several batches"
        ))
    };
    if metrics > MAX_METRICS_PER_BATCH {
        return Err(over("metrics", MAX_METRICS_PER_BATCH, metrics));
    }
    if params > MAX_PARAMS_TAGS_PER_BATCH {
        return Err(over("params", MAX_PARAMS_TAGS_PER_BATCH, params));
    }
    if tags > MAX_PARAMS_TAGS_PER_BATCH {
        return Err(over("tags", MAX_PARAMS_TAGS_PER_BATCH, tags));
    }
    let total = metrics + params + tags;
    if total > MAX_ENTITIES_PER_BATCH {
        return Err(over(
            "metrics, params and tags",
            MAX_ENTITIES_PER_BATCH,
            total,
        ));
    }
    Ok(())
}

/// Checks a dataset input's fields against MLflow's sizes.
pub fn check_input(input: &crate::types::DatasetInput) -> Result<()> {
    let what = |field: &str| format!("dataset {:?}: {field}", input.name);
    check_length(|| what("name"), &input.name, MAX_DATASET_NAME_SIZE)?;
    check_length(|| what("digest"), &input.digest, MAX_DATASET_DIGEST_SIZE)?;
    check_length(|| what("source"), &input.source, MAX_DATASET_SOURCE_SIZE)?;
    if let Some(schema) = &input.schema {
        check_length(|| what("schema"), schema, MAX_DATASET_SCHEMA_SIZE)?;
    }
    if let Some(profile) = &input.profile {
        check_length(|| what("profile"), profile, MAX_DATASET_PROFILE_SIZE)?;
    }
    if let Some(context) = &input.context {
        check_length(|| what("context"), context, MAX_INPUT_TAG_VALUE_SIZE)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_mlflow_rules() {
        for ok in [
            "lr",
            "val.acc",
            "my metric",
            "a/b",
            "名前",
            "x:y",
            "a-b_c",
            "a..b",
        ] {
            assert!(check_key(KeyKind::Param, ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "a//b", "/a", "a/", "./a", "a/./b", "a/..", "..a", ".", "a$b", "a\"b",
        ] {
            assert!(check_key(KeyKind::Param, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lengths_count_characters() {
        let key: String = "é".repeat(250);
        assert!(check_key(KeyKind::Tag, &key).is_ok());
        assert!(check_key(KeyKind::Tag, &format!("{key}é")).is_err());
        assert!(check_param("k", &"v".repeat(6000)).is_ok());
        let err = check_param("k", &"v".repeat(6001)).unwrap_err().to_string();
        assert!(err.contains("6001") && err.contains("6000"), "{err}");
        assert!(check_tag("k", &"v".repeat(8001)).is_err());
    }

    #[test]
    fn batch_limits() {
        assert!(check_batch(1000, 0, 0).is_ok());
        assert!(check_batch(1001, 0, 0).is_err());
        assert!(check_batch(0, 101, 0).is_err());
        assert!(check_batch(900, 100, 1).is_err());
    }

    #[test]
    fn negative_timestamp_rejected() {
        assert!(check_metric("m", -1).is_err());
        assert!(check_metric("m", 0).is_ok());
    }
}
