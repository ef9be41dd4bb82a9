//! `GET /api/jobs/{id}/report.pdf`: an ended job's PDF report, made on the first request
//! and then served from the object store (`X-Report-Cache: miss|hit` says which).
use crate::error::AppResult;
use crate::service::{report, Caller};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderName, HeaderValue};
use axum::response::IntoResponse;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Whether the report came from the object store (`hit`) or was made for this request.
const REPORT_CACHE: HeaderName = HeaderName::from_static("x-report-cache");

/// The PDF report of an ended job
///
/// Completed, failed, or cancelled with its case kept; 409 before it ends. Made on the
/// first request, then served from the object store; `[report]` paper and units set its
/// layout.
#[utoipa::path(get, path = "/api/jobs/{id}/report.pdf", tag = "jobs", params(("id" = String, Path)),
    responses((status = 200, description = "the report (Content-Disposition: attachment)", content_type = "application/pdf", body = Vec<u8>,
        headers(("x-report-cache" = String, description = "`hit` (from the object store) or `miss` (made for this request)")))))]
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
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(pdf))
}
