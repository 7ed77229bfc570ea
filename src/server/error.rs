//! Errors as MLflow's server answers them: `{"error_code": …, "message": …}`
//! with the HTTP status MLflow gives the code. A caller's mistake is never a
//! 5xx: MLflow's client retries those for minutes.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::mlflow::{ErrorBody, ErrorCode};

/// An error answer of the REST API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// MLflow's code.
    pub code: ErrorCode,
    /// What went wrong.
    pub message: String,
}

impl ApiError {
    /// An error of `code` saying `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }

    /// INVALID_PARAMETER_VALUE.
    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::INVALID_PARAMETER_VALUE, message)
    }

    /// RESOURCE_DOES_NOT_EXIST.
    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::RESOURCE_DOES_NOT_EXIST, message)
    }

    /// INTERNAL_ERROR.
    pub fn internal(message: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::INTERNAL_ERROR, message)
    }

    /// MLflow's message for a required field that is absent or empty.
    pub fn missing(field: &str) -> Self {
        ApiError::invalid(format!(
            "Missing value for required parameter '{field}'. See the API docs for more \
             information about request parameters."
        ))
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl From<crate::Error> for ApiError {
    fn from(e: crate::Error) -> Self {
        let code = ErrorCode::from_name(e.mlflow_error_code()).unwrap_or(ErrorCode::INTERNAL_ERROR);
        ApiError::new(code, e.to_string())
    }
}

impl From<crate::engine::Error> for ApiError {
    fn from(e: crate::engine::Error) -> Self {
        ApiError::from(crate::Error::from(e))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&ErrorBody::new(self.code, self.message))
            .unwrap_or_else(|_| b"{\"error_code\":\"INTERNAL_ERROR\"}".to_vec());
        let mut response = (status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    }
}

/// A handler's result.
pub type ApiResult<T> = std::result::Result<T, ApiError>;
