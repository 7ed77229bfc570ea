//! Serde helpers for MLflow's JSON numbers.

use serde::{Deserialize, Deserializer, Serializer, de};

/// A double as MLflow prints it: a number, or `"NaN"`, `"Infinity"`,
/// `"-Infinity"` (JSON has no literal for them).
pub fn ser_f64<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_finite() {
        s.serialize_f64(*v)
    } else if v.is_nan() {
        s.serialize_str("NaN")
    } else if *v > 0.0 {
        s.serialize_str("Infinity")
    } else {
        s.serialize_str("-Infinity")
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum NumOrText {
    Int(i64),
    Float(f64),
    Text(String),
}

/// A double from a number or its text (`"0.5"`, `"NaN"`, `"Infinity"`, `"-Infinity"`).
pub fn de_f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    match NumOrText::deserialize(d)? {
        NumOrText::Int(i) => Ok(i as f64),
        NumOrText::Float(f) => Ok(f),
        NumOrText::Text(t) => {
            parse_f64(&t).ok_or_else(|| de::Error::custom(format!("{t:?} is not a number")))
        }
    }
}

/// Parses a double as protobuf's JSON mapping writes one.
pub fn parse_f64(t: &str) -> Option<f64> {
    match t {
        "NaN" | "nan" => Some(f64::NAN),
        "Infinity" | "inf" => Some(f64::INFINITY),
        "-Infinity" | "-inf" => Some(f64::NEG_INFINITY),
        _ => t.trim().parse().ok(),
    }
}

/// An int64 from a number or its decimal text.
pub fn de_i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    match NumOrText::deserialize(d)? {
        NumOrText::Int(i) => Ok(i),
        NumOrText::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e18 => Ok(f as i64),
        NumOrText::Float(f) => Err(de::Error::custom(format!("{f} is not an integer"))),
        NumOrText::Text(t) => t
            .trim()
            .parse()
            .map_err(|_| de::Error::custom(format!("{t:?} is not an integer"))),
    }
}

/// An optional enum or text field from a string, a number (an enum's
/// integer value) or a bool, as text; null is absent.
pub fn de_opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Any {
        Text(String),
        Int(i64),
        Bool(bool),
    }
    Ok(Option::<Any>::deserialize(d)?.map(|v| match v {
        Any::Text(t) => t,
        Any::Int(i) => i.to_string(),
        Any::Bool(b) => b.to_string(),
    }))
}

/// An optional int64 from a number, its decimal text, or null.
pub fn de_opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    struct Wrap(#[serde(deserialize_with = "de_i64")] i64);
    Ok(Option::<Wrap>::deserialize(d)?.map(|Wrap(v)| v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize, Deserialize)]
    struct M {
        #[serde(serialize_with = "ser_f64", deserialize_with = "de_f64")]
        v: f64,
        #[serde(deserialize_with = "de_i64")]
        n: i64,
        #[serde(default, deserialize_with = "de_opt_i64")]
        o: Option<i64>,
    }

    #[test]
    fn numbers_read_from_numbers_and_text_and_nan_prints_as_text() {
        let m: M = serde_json::from_str(r#"{"v": "NaN", "n": "17", "o": 3}"#).unwrap();
        assert!(m.v.is_nan());
        assert_eq!((m.n, m.o), (17, Some(3)));
        let m: M = serde_json::from_str(r#"{"v": 1, "n": 5, "o": null}"#).unwrap();
        assert_eq!((m.v, m.n, m.o), (1.0, 5, None));
        let out = serde_json::to_string(&M {
            v: f64::NEG_INFINITY,
            n: 1,
            o: None,
        })
        .unwrap();
        assert_eq!(out, r#"{"v":"-Infinity","n":1,"o":null}"#);
        assert!(serde_json::from_str::<M>(r#"{"v": "x", "n": 1}"#).is_err());
        assert!(serde_json::from_str::<M>(r#"{"v": 1, "n": 1.5}"#).is_err());
    }
}
