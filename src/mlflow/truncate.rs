//! MLflow's `MLFLOW_TRUNCATE_LONG_VALUES`: its tracking store cuts a param
//! value over 6,000 characters, or a run tag value over 8,000, to the limit
//! (with a warning) instead of refusing it; set to `false` (or `0`), it
//! refuses. The REST server does as MLflow's does, so a script that logs a
//! long value works against either; the engine itself always refuses.

use crate::engine::limits::{MAX_PARAM_VAL_LENGTH, MAX_TAG_VAL_LENGTH};

/// The environment variable, as MLflow names it.
pub const ENV_TRUNCATE_LONG_VALUES: &str = "MLFLOW_TRUNCATE_LONG_VALUES";

/// Whether long values are cut (MLflow's default) rather than refused.
pub fn truncation_enabled() -> bool {
    match std::env::var(ENV_TRUNCATE_LONG_VALUES) {
        Ok(v) => !matches!(v.trim().to_ascii_lowercase().as_str(), "false" | "0"),
        Err(_) => true,
    }
}

/// `value` cut to its first `limit` characters (not bytes, as MLflow counts).
pub fn truncate_chars(mut value: String, limit: usize) -> String {
    if let Some((at, _)) = value.char_indices().nth(limit) {
        value.truncate(at);
    }
    value
}

/// A param value as MLflow's store keeps it (see the module docs).
pub fn param_value(value: String, enabled: bool) -> String {
    if enabled {
        truncate_chars(value, MAX_PARAM_VAL_LENGTH)
    } else {
        value
    }
}

/// A run tag value as MLflow's store keeps it (see the module docs).
pub fn tag_value(value: String, enabled: bool) -> String {
    if enabled {
        truncate_chars(value, MAX_TAG_VAL_LENGTH)
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_cut_by_characters_at_mlflows_limits() {
        let long = "é".repeat(6001);
        let cut = param_value(long.clone(), true);
        assert_eq!(cut.chars().count(), 6000);
        assert!(long.starts_with(&cut));
        assert_eq!(param_value(long.clone(), false), long);
        let short = "ü".repeat(6000);
        assert_eq!(param_value(short.clone(), true), short);
        assert_eq!(tag_value("x".repeat(9000), true).len(), 8000);
        assert_eq!(truncate_chars(String::new(), 0), "");
    }
}
