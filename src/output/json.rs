//! JSON values for metric numbers.

use serde_json::Value;

/// A metric value as JSON: a number, or `"NaN"`, `"Infinity"`, `"-Infinity"`.
pub fn number(v: f64) -> Value {
    match serde_json::Number::from_f64(v) {
        Some(n) => Value::Number(n),
        None => Value::String(super::value_text(v)),
    }
}

/// A metric value serialised as [`number`] says, without building a [`Value`].
#[derive(Clone, Copy, Debug)]
pub struct Number(pub f64);

impl serde::Serialize for Number {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = self.0;
        if v.is_finite() {
            s.serialize_f64(v)
        } else {
            s.serialize_str(&super::value_text(v))
        }
    }
}
