//! `/api/jobs/{id}/post/...`: extractions of a job's result for the viewer, and its saved
//! views.
use crate::error::AppResult;
use crate::http::extract::ApiJson;
use crate::service::{post, Caller};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use std::collections::HashMap;

async fn index(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<impl IntoResponse> {
    Ok(Json(post::index(&st, &c, &id).await?))
}

/// `surface | slice | iso | streamlines` answer the chunked stream
/// (`application/vnd.flowcfd.post`); `probe` and `range` answer JSON.
async fn extraction(
    State(st): State<AppState>,
    c: Caller,
    Path((id, kind)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<axum::response::Response> {
    if kind == "probe" {
        return Ok(Json(post::probe(&st, &c, &id, &q).await?).into_response());
    }
    if kind == "range" {
        return Ok(Json(post::range(&st, &c, &id, &q).await?).into_response());
    }
    let view = post::view_from_query(&kind, &q)?;
    let max = q
        .get("max_triangles")
        .map(|s| s.parse::<usize>())
        .transpose()
        .map_err(|_| crate::error::AppError::Validation("max_triangles must be a whole number".into()))?;
    let bytes = post::extract(&st, &c, &id, view, max).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/vnd.flowcfd.post"), (header::CACHE_CONTROL, "private, max-age=3600")],
        bytes,
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewView {
    name: String,
    config: serde_json::Value,
}

async fn views(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<impl IntoResponse> {
    Ok(Json(post::list_views(&st, &c, &id).await?))
}

async fn save_view(
    State(st): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    ApiJson(v): ApiJson<NewView>,
) -> AppResult<impl IntoResponse> {
    Ok((StatusCode::CREATED, Json(post::save_view(&st, &c, &id, &v.name, v.config).await?)))
}

async fn delete_view(
    State(st): State<AppState>,
    c: Caller,
    Path((id, vid)): Path<(String, String)>,
) -> AppResult<impl IntoResponse> {
    post::delete_view(&st, &c, &id, &vid).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `/api/jobs/{id}/post*` and `/api/jobs/{id}/views*`: a job's results and saved views.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/jobs/{id}/post", get(index))
        .route("/api/jobs/{id}/post/{kind}", get(extraction))
        .route("/api/jobs/{id}/views", get(views).post(save_view))
        .route("/api/jobs/{id}/views/{view}", delete(delete_view))
}
