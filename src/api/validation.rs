//! `/api/validation`: the latest validation run (`GET`), a new run started by a server
//! administrator (`POST`, 202; 409 while one runs; `{"cases": [...]}` narrows it), and a
//! run's plots (`GET /api/validation/{run}/{case}/{file}`, SVG).
use crate::error::{AppError, AppResult};
use crate::http::extract::AdminCaller;
use crate::service::{validation, Caller};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Start {
    #[serde(default)]
    cases: Vec<String>,
}

async fn latest(State(st): State<AppState>, _c: Caller) -> AppResult<impl IntoResponse> {
    Ok(Json(validation::latest(&st)))
}

async fn start(
    State(st): State<AppState>,
    AdminCaller(c): AdminCaller,
    body: axum::body::Bytes,
) -> AppResult<impl IntoResponse> {
    // The body is optional: none runs every CI case.
    let cases = if body.iter().all(u8::is_ascii_whitespace) {
        Vec::new()
    } else {
        serde_json::from_slice::<Start>(&body)
            .map_err(|e| AppError::BadRequest(format!("{e}; the body is {{\"cases\": [\"cavity-re100\", ...]}} or empty")))?
            .cases
    };
    Ok((StatusCode::ACCEPTED, Json(validation::start(&st, &c, &cases)?)))
}

async fn plot(
    State(st): State<AppState>,
    _c: Caller,
    Path((run, case, file)): Path<(String, String, String)>,
) -> AppResult<impl IntoResponse> {
    let bytes = validation::plot(&st, &run, &case, &file)?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "private, max-age=3600")], bytes))
}

/// The validation routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/validation", get(latest).post(start))
        .route("/api/validation/{run}/{case}/{file}", get(plot))
}
