//! Reading requests as MLflow's server reads them, and the adapter that
//! turns a plain function `(state, request) -> response` into an axum
//! handler that runs it on the blocking pool.
//!
//! A GET request's fields come from the query string (a key given once is a
//! string, given several times an array; arrays of one are accepted where a
//! message has a repeated field); any other method's come from a JSON object
//! body (or, when the body is empty, from the query string). Field names
//! may be snake_case or protobuf's lowerCamelCase JSON names.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::AppState;
use super::error::{ApiError, ApiResult};

/// The request's fields as one JSON object.
pub(crate) fn fields(method: &Method, query: Option<&str>, body: &[u8]) -> ApiResult<Value> {
    let from_query = method == Method::GET || body.iter().all(u8::is_ascii_whitespace);
    let value = if from_query {
        query_object(query.unwrap_or(""))
    } else {
        let v: Value = serde_json::from_slice(body).map_err(|e| {
            ApiError::new(
                crate::mlflow::ErrorCode::BAD_REQUEST,
                format!("Malformed JSON request body: {e}"),
            )
        })?;
        if !v.is_object() {
            return Err(ApiError::new(
                crate::mlflow::ErrorCode::BAD_REQUEST,
                "The request body must be a JSON object",
            ));
        }
        v
    };
    Ok(snake_keys(value))
}

/// A query string as a JSON object: `a=1&b=2&b=3` is `{"a": "1", "b": ["2", "3"]}`.
pub(crate) fn query_object(query: &str) -> Value {
    let mut map = Map::new();
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        let v = Value::String(v.into_owned());
        match map.get_mut(k.as_ref()) {
            None => {
                map.insert(k.into_owned(), v);
            }
            Some(Value::Array(items)) => items.push(v),
            Some(first) => {
                let first = first.take();
                map.insert(k.into_owned(), Value::Array(vec![first, v]));
            }
        }
    }
    Value::Object(map)
}

/// Object keys in lowerCamelCase (protobuf's JSON names) as snake_case,
/// recursively; snake_case keys are left alone.
fn snake_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let k = if k.bytes().any(|b| b.is_ascii_uppercase()) {
                        to_snake(&k)
                    } else {
                        k
                    };
                    (k, snake_keys(v))
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(snake_keys).collect()),
        other => other,
    }
}

fn to_snake(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Reads the request message `T` from the request's fields.
pub(crate) fn parse<T: DeserializeOwned>(
    method: &Method,
    query: Option<&str>,
    body: &[u8],
) -> ApiResult<T> {
    let value = fields(method, query, body)?;
    serde_json::from_value(value).map_err(|e| ApiError::invalid(format!("Invalid request: {e}")))
}

/// A JSON response with status 200.
pub(crate) fn json<T: Serialize>(value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => {
            let mut r = (StatusCode::OK, body).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            r
        }
        Err(e) => ApiError::internal(format!("writing the response: {e}")).into_response(),
    }
}

/// Runs `f` on tokio's blocking pool (engine calls block: group commit,
/// fsync, catalog reads) and waits for it without blocking the runtime.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result,
        Err(e) if e.is_panic() => Err(ApiError::internal("the request's handler panicked")),
        Err(e) => Err(ApiError::internal(format!(
            "the request's handler was cancelled: {e}"
        ))),
    }
}

/// A handler body: a plain function of the state and the parsed request.
pub(crate) type Rpc<Req, Resp> = fn(&AppState, Req) -> ApiResult<Resp>;

/// An axum handler that parses `Req`, runs `f` on the blocking pool and
/// answers with its `Resp` as JSON (or its error as MLflow's error body).
pub(crate) fn rpc<Req, Resp>(
    f: Rpc<Req, Resp>,
) -> impl Fn(
    State<AppState>,
    Method,
    RawQuery,
    Bytes,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Response> + Send>>
+ Clone
+ Send
+ Sync
+ 'static
where
    Req: DeserializeOwned + Send + 'static,
    Resp: Serialize + Send + 'static,
{
    move |State(state): State<AppState>, method: Method, RawQuery(query): RawQuery, body: Bytes| {
        Box::pin(async move {
            let request: Req = match parse(&method, query.as_deref(), &body) {
                Ok(r) => r,
                Err(e) => return e.into_response(),
            };
            match blocking(move || f(&state, request)).await {
                Ok(response) => json(&response),
                Err(e) => e.into_response(),
            }
        })
    }
}

/// `value`, or MLflow's missing-parameter error when it is absent or empty.
pub(crate) fn required<'a>(value: &'a Option<String>, field: &str) -> ApiResult<&'a str> {
    match value.as_deref() {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(ApiError::missing(field)),
    }
}

/// Like [`required`], for fields that default to the empty string.
pub(crate) fn required_str<'a>(value: &'a str, field: &str) -> ApiResult<&'a str> {
    if value.is_empty() {
        Err(ApiError::missing(field))
    } else {
        Ok(value)
    }
}

/// A `Vec<String>` field that may come as one string (a GET query key
/// given once) or an array.
pub(crate) fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(
        match <Option<OneOrMany> as serde::Deserialize>::deserialize(d)? {
            None => Vec::new(),
            Some(OneOrMany::One(s)) => vec![s],
            Some(OneOrMany::Many(v)) => v,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_become_objects_with_arrays_for_repeated_keys() {
        let v = query_object("run_ids=a&metric_key=loss&run_ids=b&x=%20y");
        assert_eq!(
            v,
            serde_json::json!({"run_ids": ["a", "b"], "metric_key": "loss", "x": " y"})
        );
    }

    #[test]
    fn camel_case_keys_read_as_snake_case() {
        let v = fields(
            &Method::POST,
            None,
            br#"{"experimentId": "1", "tags": [{"key": "a"}], "run_id": "r"}"#,
        )
        .unwrap();
        assert_eq!(
            v,
            serde_json::json!({"experiment_id": "1", "tags": [{"key": "a"}], "run_id": "r"})
        );
    }

    #[test]
    fn a_body_that_is_not_an_object_is_a_bad_request() {
        let e = fields(&Method::POST, None, b"[1]").unwrap_err();
        assert_eq!(e.code, crate::mlflow::ErrorCode::BAD_REQUEST);
        let e = fields(&Method::POST, None, b"{").unwrap_err();
        assert_eq!(e.code, crate::mlflow::ErrorCode::BAD_REQUEST);
    }
}
