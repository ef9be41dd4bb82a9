//! `GET /api/jobs/{id}/report.pdf`: an ended job's PDF report, made on the first request
//! and then served from the object store (`X-Report-Cache: miss|hit` says which).
use crate::error::AppResult;
use crate::service::{report, Caller};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderName, HeaderValue};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

/// Whether the report came from the object store (`hit`) or was made for this request.
const REPORT_CACHE: HeaderName = HeaderName::from_static("x-report-cache");

async fn pdf(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<impl IntoResponse> {
    let r = report::pdf(&st, &c, &id).await?;
    let disposition = format!("attachment; filename=\"{}\"", r.filename);
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/pdf")),
            (header::CONTENT_DISPOSITION, HeaderValue::try_from(disposition).expect("a sanitized file name")),
            (header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache")),
            (REPORT_CACHE, HeaderValue::from_static(if r.cached { "hit" } else { "miss" })),
        ],
        r.bytes,
    ))
}

/// `/api/jobs/{id}/report.pdf`.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/jobs/{id}/report.pdf", get(pdf))
}
