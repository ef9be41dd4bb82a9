//! Domain errors and their one mapping to HTTP: `application/problem+json` (RFC 9457).
//!
//! A user's mistake gets a 4xx that says what to fix. Internal failures are logged with
//! their detail and answered with a generic 500 that carries only the request id.
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A request a plan's limits refuse: the status, what to do, and the limit's facts as
/// extra problem+json members (`limit`, `plan`, `upgrade_url`, …).
#[derive(Debug)]
pub struct PlanRefusal {
    pub status: u16,
    pub detail: String,
    pub retry_after: Option<u64>,
    pub extra: serde_json::Value,
}

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    UnsupportedMedia(String),
    #[error("too many attempts; wait {0} s and try again")]
    RateLimited(u64),
    /// Repeated failed sign-ins to one account: it waits this many seconds between tries.
    #[error("too many failed sign-ins to this account; wait {0} s before the next try (each failure doubles the wait; a successful sign-in resets it)")]
    LoginBackoff(u64),
    /// The caller already has as much of this work running as they may (429).
    #[error("{0}")]
    Busy(String),
    /// A plan's limit: 403 (per-job limits), 429 (jobs at once), 402 (core-hours).
    #[error("{}", .0.detail)]
    PlanLimit(Box<PlanRefusal>),
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMedia(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::RateLimited(_) | AppError::LoginBackoff(_) | AppError::Busy(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::PlanLimit(r) => StatusCode::from_u16(r.status).unwrap_or(StatusCode::FORBIDDEN),
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Seconds to wait before trying again (the `Retry-After` header), for a 429.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            AppError::RateLimited(s) | AppError::LoginBackoff(s) => Some(*s),
            AppError::PlanLimit(r) => r.retry_after,
            _ => None,
        }
    }

    /// What the user is told. Internal detail never leaves the server.
    pub fn public_detail(&self) -> String {
        match self {
            AppError::Internal(_) => {
                "something went wrong on the server; the request id in the logs has the detail".into()
            }
            AppError::Unavailable(_) => "a service the server needs is not answering; try again shortly".into(),
            e => e.to_string(),
        }
    }
}

impl From<crate::store::StoreError> for AppError {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::Conflict(c) => AppError::Conflict(format!("already exists ({c})")),
            crate::store::StoreError::Unavailable(m) => AppError::Unavailable(m),
            crate::store::StoreError::Other(m) => AppError::Internal(m),
        }
    }
}

impl From<crate::blob::BlobError> for AppError {
    fn from(e: crate::blob::BlobError) -> Self {
        match e {
            crate::blob::BlobError::NotFound(_) => AppError::NotFound("file"),
            other => AppError::Unavailable(other.to_string()),
        }
    }
}

/// The problem+json body.
#[derive(Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Extension members (RFC 9457 §3.2), when the error has any.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub extra: Option<serde_json::Value>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, status = status.as_u16(), "request failed");
        }
        let body = Problem {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: self.public_detail(),
            extra: match &self {
                AppError::PlanLimit(r) if r.extra.is_object() => Some(r.extra.clone()),
                _ => None,
            },
        };
        let mut r = (status, axum::Json(body)).into_response();
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(s) = self.retry_after() {
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(s));
        } else if let AppError::Busy(_) = self {
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(1));
        }
        if status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        r
    }
}

/// What a service or handler returns.
pub type AppResult<T> = Result<T, AppError>;
