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
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Start {
    /// The cases to run (`flowcfd validate --list`); every CI case when empty.
    #[serde(default)]
    cases: Vec<String>,
}

/// The latest validation run (null when none)
///
/// `{run, status running|passed|failed|interrupted, started, finished, pass, exit_code,
/// cases [{name, metrics, reference, tolerance, pass, wall_s, plots, plot_urls, error}]}`
#[utoipa::path(get, path = "/api/validation", tag = "validation",
    responses((status = 200, description = "the latest run, or null", body = Option<Object>)))]
async fn latest(State(st): State<AppState>, _c: Caller) -> AppResult<impl IntoResponse> {
    Ok(Json(validation::latest(&st)))
}

/// Start a validation run (server administrators; 403 otherwise)
///
/// Runs `flowcfd validate` in the background; the body is optional, `{"cases": [names]}`
/// narrows it (400 for an unknown name); 409 while a run is in progress.
#[utoipa::path(post, path = "/api/validation", tag = "validation", request_body(content = Option<Start>),
    responses((status = 202, description = "{run, status, cases}", body = Object)))]
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

/// A plot of a run (SVG), as listed in its cases' plot_urls
#[utoipa::path(get, path = "/api/validation/{run}/{case}/{file}", tag = "validation",
    params(("run" = String, Path), ("case" = String, Path), ("file" = String, Path)),
    responses((status = 200, description = "the plot", content_type = "image/svg+xml", body = String)))]
async fn plot(
    State(st): State<AppState>,
    _c: Caller,
    Path((run, case, file)): Path<(String, String, String)>,
) -> AppResult<impl IntoResponse> {
    let bytes = validation::plot(&st, &run, &case, &file)?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "private, max-age=3600")], bytes))
}

/// The validation routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(latest, start)).routes(routes!(plot))
}
