//! JSON values for metric numbers.

use serde_json::Value;

/// A metric value as JSON: a number, or `"NaN"`, `"Infinity"`, `"-Infinity"`.
pub fn number(v: f64) -> Value {
    match serde_json::Number::from_f64(v) {
        Some(n) => Value::Number(n),
        None => Value::String(super::value_text(v)),
    }
}
