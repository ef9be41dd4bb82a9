//! Errors that axum answers before a handler runs (a query string or path parameter that
//! does not parse, a method the path does not have, a WebSocket request that is not one)
//! come as plain text or an empty body. This middleware turns them into the same
//! problem+json every handler's error is, with axum's text as the `detail`, so that every
//! API error has the one documented shape.
use crate::error::Problem;
use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The longest error text kept from axum's answer.
const MAX_TEXT: usize = 4096;

/// Leaves every answer alone but an error that is not problem+json already.
pub async fn as_problem(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    // A handler's own answer (problem+json, or JSON such as /health/ready's) stays as it is.
    let is_json = resp.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
        v.as_bytes().starts_with(b"application/problem+json") || v.as_bytes().starts_with(b"application/json")
    });
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, MAX_TEXT).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().to_string();
    let reason = status.canonical_reason().unwrap_or("Error");
    let detail = match (text.is_empty(), status.as_u16()) {
        (false, _) => text,
        (true, 405) => "the path does not take this method; /api/docs lists the ones it takes".to_string(),
        (true, _) => reason.to_lowercase(),
    };
    let problem = Problem { kind: "about:blank", title: reason.to_string(), status: status.as_u16(), detail, extra: None };
    let mut out = (status, axum::Json(problem)).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().append(name, value.clone());
        }
    }
    out.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    out
}
