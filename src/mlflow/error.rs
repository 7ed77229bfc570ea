//! MLflow's error codes, the HTTP status its server answers each with, and
//! the JSON error body.

use serde::{Deserialize, Serialize};

macro_rules! codes {
    ($($(#[$m:meta])* $v:ident = $status:literal),* $(,)?) => {
        /// An MLflow error code (`databricks.ErrorCode`), as its REST API names them.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        pub enum ErrorCode { $($(#[$m])* $v),* }

        impl ErrorCode {
            /// The code's name (`RESOURCE_DOES_NOT_EXIST`…).
            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$v => stringify!($v)),* }
            }

            /// The HTTP status MLflow's server answers this code with
            /// (`mlflow.exceptions.ERROR_CODE_TO_HTTP_STATUS`).
            pub fn http_status(self) -> u16 {
                match self { $(ErrorCode::$v => $status),* }
            }

            /// The code named `name`, if MLflow has it.
            pub fn from_name(name: &str) -> Option<ErrorCode> {
                match name { $(stringify!($v) => Some(ErrorCode::$v),)* _ => None }
            }
        }
    };
}

codes! {
    /// A failure on the server's side.
    INTERNAL_ERROR = 500,
    /// The server is in a state that forbids the call.
    INVALID_STATE = 500,
    /// Data was lost.
    DATA_LOSS = 500,
    /// Not implemented.
    NOT_IMPLEMENTED = 501,
    /// Busy; retry later.
    TEMPORARILY_UNAVAILABLE = 503,
    /// Too many requests.
    REQUEST_LIMIT_EXCEEDED = 429,
    /// A conflicting change.
    RESOURCE_CONFLICT = 409,
    /// Exists already (409 flavour).
    ALREADY_EXISTS = 409,
    /// No such route.
    ENDPOINT_NOT_FOUND = 404,
    /// No such experiment, run, model…
    RESOURCE_DOES_NOT_EXIST = 404,
    /// Not allowed.
    PERMISSION_DENIED = 403,
    /// No or wrong credentials.
    UNAUTHENTICATED = 401,
    /// A malformed request.
    BAD_REQUEST = 400,
    /// Exists already (400 flavour, the tracking API's).
    RESOURCE_ALREADY_EXISTS = 400,
    /// A field's value breaks a rule.
    INVALID_PARAMETER_VALUE = 400,
}

/// MLflow's error body: `{"error_code": "…", "message": "…"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The code's name.
    pub error_code: String,
    /// What went wrong.
    #[serde(default)]
    pub message: String,
}

impl ErrorBody {
    /// An error body of `code` saying `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ErrorBody {
            error_code: code.as_str().to_owned(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_mlflow_statuses() {
        assert_eq!(ErrorCode::RESOURCE_DOES_NOT_EXIST.http_status(), 404);
        assert_eq!(ErrorCode::INVALID_PARAMETER_VALUE.http_status(), 400);
        assert_eq!(ErrorCode::RESOURCE_ALREADY_EXISTS.http_status(), 400);
        assert_eq!(
            ErrorCode::from_name("BAD_REQUEST"),
            Some(ErrorCode::BAD_REQUEST)
        );
        assert_eq!(ErrorCode::from_name("nope"), None);
    }
}
