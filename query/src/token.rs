//! Page tokens: opaque to callers, they hold the sort keys of the last run of
//! a page (a keyset cursor) and a fingerprint of the search they belong to.
//! Unlike an offset, a cursor stays correct while new runs arrive.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};

const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Token {
    v: u32,
    q: String,
    k: Vec<Value>,
}

/// A fingerprint of a search (FNV-1a over its canonical description), so a
/// token cannot be replayed against a different search.
pub fn fingerprint(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain([0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

/// Encodes a cursor.
pub fn encode(fingerprint: &str, keys: Vec<Value>) -> String {
    let token = Token {
        v: VERSION,
        q: fingerprint.to_owned(),
        k: keys,
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&token).unwrap_or_default())
}

/// Decodes a cursor, checking it belongs to the search with `fingerprint`.
pub fn decode(token: &str, fingerprint: &str) -> Result<Vec<Value>> {
    let invalid = |why: &str| Error::InvalidRequest(format!("invalid page token: {why}"));
    let bytes = URL_SAFE_NO_PAD
        .decode(token.trim())
        .map_err(|_| invalid("not a token this store made"))?;
    let token: Token =
        serde_json::from_slice(&bytes).map_err(|_| invalid("not a token this store made"))?;
    if token.v != VERSION {
        return Err(invalid("made by another version"));
    }
    if token.q != fingerprint {
        return Err(invalid(
            "it belongs to another search (filter, order, view or experiments differ)",
        ));
    }
    Ok(token.k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_mismatch() {
        let f = fingerprint(&["metrics.a > 1", "ASC"]);
        let t = encode(&f, vec![Value::from(1.5), Value::Null, Value::from("x")]);
        assert_eq!(decode(&t, &f).unwrap().len(), 3);
        let other = fingerprint(&["metrics.a > 2", "ASC"]);
        assert!(decode(&t, &other).is_err());
        assert!(decode("!!!", &f).is_err());
        assert!(decode(&URL_SAFE_NO_PAD.encode(b"{}"), &f).is_err());
        assert_ne!(fingerprint(&["ab", "c"]), fingerprint(&["a", "bc"]));
    }
}
