//! A small blocking client for MLflow's REST API (ureq, rustls: no OpenSSL),
//! and the one rule that decides what happens to a failed call.
//!
//! * **Refused**: a 4xx answer that is MLflow's own verdict on the request —
//!   400, 404 with an MLflow error code (`RESOURCE_DOES_NOT_EXIST`), 409, 413,
//!   422. Sending it again cannot succeed: the entry is parked.
//! * **Unavailable**: everything else — no connection, a timeout, a 5xx,
//!   429 or 408, an answer that is not MLflow's (a proxy's error page, a 404
//!   without an MLflow error code: a wrong URI), and 401/403/405 (wrong
//!   credentials or URI: a setting to fix, not a write to drop). Tried again
//!   later, with backoff, for ever.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::config::{Auth, ForwardConfig};
use crate::mlflow::ErrorBody;

/// Why a call did not succeed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum CallError {
    /// The server refused the request for good.
    Refused {
        /// The HTTP status.
        status: u16,
        /// MLflow's error code, when it sent one.
        code: String,
        /// The server's message.
        message: String,
    },
    /// Not now; try again later.
    Unavailable(String),
}

impl CallError {
    /// Whether the server answered `code` (`RESOURCE_DOES_NOT_EXIST`…).
    pub fn is_code(&self, code: &str) -> bool {
        matches!(self, CallError::Refused { code: c, .. } if c == code)
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Refused {
                status,
                code,
                message,
            } if code.is_empty() => write!(f, "HTTP {status}: {message}"),
            CallError::Refused {
                status,
                code,
                message,
            } => write!(f, "HTTP {status} {code}: {message}"),
            CallError::Unavailable(why) => f.write_str(why),
        }
    }
}

/// The result of a call.
pub(crate) type CallResult<T> = std::result::Result<T, CallError>;

/// A connection to one MLflow tracking server.
pub(crate) struct Client {
    agent: ureq::Agent,
    api: String,
    authorization: Option<String>,
}

/// The longest a call may take, the answer's body included.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest answer read (a `runs/search` page of a few runs is small).
const MAX_ANSWER: u64 = 64 << 20;

impl Client {
    /// A client of the server `config` names.
    pub fn new(config: &ForwardConfig) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(CALL_TIMEOUT))
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .user_agent(concat!("runstore/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let authorization = match &config.auth {
            Auth::None => None,
            Auth::Token(t) => Some(format!("Bearer {t}")),
            Auth::Basic { username, password } => {
                use base64::Engine;
                let pair = format!("{username}:{password}");
                Some(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                ))
            }
        };
        Client {
            agent,
            api: format!("{}/api/2.0/mlflow/", config.base()),
            authorization,
        }
    }

    /// `POST api/2.0/mlflow/ENDPOINT` with `body` as JSON.
    pub fn post<R: DeserializeOwned>(
        &self,
        endpoint: &str,
        body: &impl Serialize,
    ) -> CallResult<R> {
        let json = serde_json::to_vec(body)
            .map_err(|e| CallError::Unavailable(format!("encoding {endpoint}: {e}")))?;
        let mut request = self
            .agent
            .post(format!("{}{endpoint}", self.api))
            .header("Content-Type", "application/json");
        if let Some(a) = &self.authorization {
            request = request.header("Authorization", a);
        }
        answer(endpoint, request.send(&json[..]))
    }

    /// `GET api/2.0/mlflow/ENDPOINT?query`.
    pub fn get<R: DeserializeOwned>(
        &self,
        endpoint: &str,
        query: &[(&str, &str)],
    ) -> CallResult<R> {
        let mut request = self.agent.get(format!("{}{endpoint}", self.api));
        for (k, v) in query {
            request = request.query(*k, *v);
        }
        if let Some(a) = &self.authorization {
            request = request.header("Authorization", a);
        }
        answer(endpoint, request.call())
    }
}

/// Reads an answer: its body as `R` on success, else the error it means.
fn answer<R: DeserializeOwned>(
    endpoint: &str,
    sent: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> CallResult<R> {
    let response = sent.map_err(|e| CallError::Unavailable(format!("{endpoint}: {e}")))?;
    let status = response.status().as_u16();
    let text = response
        .into_body()
        .into_with_config()
        .limit(MAX_ANSWER)
        .read_to_string()
        .map_err(|e| CallError::Unavailable(format!("{endpoint}: reading the answer: {e}")))?;
    if (200..300).contains(&status) {
        let text = if text.trim().is_empty() { "{}" } else { &text };
        return serde_json::from_str(text).map_err(|e| {
            CallError::Unavailable(format!(
                "{endpoint}: HTTP {status}, but the answer is not MLflow's: {e}: {}",
                snippet(text)
            ))
        });
    }
    Err(classify(endpoint, status, &text))
}

/// The error an unsuccessful answer means (see the module docs).
fn classify(endpoint: &str, status: u16, body: &str) -> CallError {
    let mlflow: Option<ErrorBody> = serde_json::from_str(body).ok();
    let (code, message) = match &mlflow {
        Some(b) => (b.error_code.clone(), b.message.clone()),
        None => (String::new(), snippet(body)),
    };
    let refused = match status {
        400 | 409 | 413 | 422 => true,
        404 => mlflow.is_some(),
        _ => false,
    };
    if refused {
        return CallError::Refused {
            status,
            code,
            message,
        };
    }
    let hint = match status {
        401 | 403 => {
            " (check the credentials: MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/PASSWORD)"
        }
        404 | 405 => " (is the forwarding URI an MLflow tracking server?)",
        _ => "",
    };
    CallError::Unavailable(
        format!("{endpoint}: HTTP {status} {code} {message}{hint}").replace("  ", " "),
    )
}

fn snippet(text: &str) -> String {
    let t = text.trim();
    match t.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &t[..i]),
        None => t.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mlflow_verdicts_are_refusals_and_the_rest_is_retried() {
        let body = r#"{"error_code": "INVALID_PARAMETER_VALUE", "message": "bad"}"#;
        assert_eq!(
            classify("runs/log-batch", 400, body),
            CallError::Refused {
                status: 400,
                code: "INVALID_PARAMETER_VALUE".into(),
                message: "bad".into()
            }
        );
        let missing = r#"{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no run"}"#;
        assert!(classify("runs/delete-tag", 404, missing).is_code("RESOURCE_DOES_NOT_EXIST"));
        for (status, body) in [
            (404, "<html>Not Found</html>"),
            (429, ""),
            (503, body),
            (500, body),
            (401, ""),
            (403, body),
            (408, ""),
        ] {
            assert!(
                matches!(classify("x", status, body), CallError::Unavailable(_)),
                "{status}"
            );
        }
    }
}
