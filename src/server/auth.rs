//! Who may call: a bearer token (`--token`, `RUNSTORE_SERVE_TOKEN`, what
//! MLflow's client sends for `MLFLOW_TRACKING_TOKEN`) and/or HTTP basic
//! credentials (MLflow's `MLFLOW_TRACKING_USERNAME`/`PASSWORD`). Required
//! when the server listens on anything but a loopback address.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;

use super::error::ApiError;
use crate::mlflow::ErrorCode;

/// The credentials a caller must present (none set: anyone may call).
#[derive(Clone, Debug, Default)]
pub struct Auth {
    /// A bearer token.
    pub token: Option<String>,
    /// A user name and password for HTTP basic authentication.
    pub basic: Option<(String, String)>,
}

impl Auth {
    /// Whether any credential is required.
    pub fn is_set(&self) -> bool {
        self.token.is_some() || self.basic.is_some()
    }

    /// Whether `authorization` (the header's value) carries a valid credential.
    fn admits(&self, authorization: Option<&str>) -> bool {
        let Some(value) = authorization else {
            return false;
        };
        if let (Some(token), Some(given)) = (&self.token, value.strip_prefix("Bearer ")) {
            return constant_time_eq(token.as_bytes(), given.trim().as_bytes());
        }
        if let (Some((user, password)), Some(given)) = (&self.basic, value.strip_prefix("Basic ")) {
            let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(given.trim()) else {
                return false;
            };
            let expected = format!("{user}:{password}");
            return constant_time_eq(expected.as_bytes(), &decoded);
        }
        false
    }
}

/// Compares without an early exit, so timing does not reveal a prefix.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Paths anyone may call: liveness probes, and multipart part uploads
/// (authorised by their unguessable upload id, as presigned URLs are).
fn is_open(path: &str) -> bool {
    matches!(path, "/health" | "/version")
        || path.starts_with("/api/2.0/mlflow-artifacts/mpu/part/")
        || path.starts_with("/ajax-api/2.0/mlflow-artifacts/mpu/part/")
}

/// The middleware: refuses a request without a valid credential with 401.
pub(crate) async fn check(State(auth): State<Auth>, request: Request, next: Next) -> Response {
    if !auth.is_set() || is_open(request.uri().path()) {
        return next.run(request).await;
    }
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if auth.admits(given) {
        return next.run(request).await;
    }
    let mut response = ApiError::new(
        ErrorCode::UNAUTHENTICATED,
        "You are not authenticated. Please see https://www.mlflow.org/docs/latest/auth/index.html#authenticating-to-mlflow on how to authenticate.",
    )
    .into_response();
    if auth.basic.is_some() {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"runstore\""),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_basic_credentials_are_checked() {
        let auth = Auth {
            token: Some("s3cret".into()),
            basic: Some(("alice".into(), "pw".into())),
        };
        assert!(auth.admits(Some("Bearer s3cret")));
        assert!(!auth.admits(Some("Bearer s3cre")));
        let basic = base64::engine::general_purpose::STANDARD.encode("alice:pw");
        assert!(auth.admits(Some(&format!("Basic {basic}"))));
        let wrong = base64::engine::general_purpose::STANDARD.encode("alice:px");
        assert!(!auth.admits(Some(&format!("Basic {wrong}"))));
        assert!(!auth.admits(None));
        assert!(!Auth::default().is_set());
    }
}
