//! Geometry uploads (multipart, streamed to the blob store) and their results.
use crate::error::{AppError, AppResult};
use crate::http::upload::{multipart_rejection, upload_multipart};
use crate::service::{geometries, projects, Caller};
use crate::state::AppState;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadQuery {
    /// Factor to metres (0.001 for a model drawn in millimetres).
    scale: Option<f64>,
}

async fn upload(
    State(st): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    Query(q): Query<UploadQuery>,
    mp: Result<Multipart, MultipartRejection>,
) -> AppResult<impl IntoResponse> {
    let mp = mp.map_err(multipart_rejection)?;
    let g = upload_multipart(&st, &c, &id, q.scale.unwrap_or(1.0), mp).await?;
    Ok((StatusCode::ACCEPTED, Json(geometries::view(&g))))
}

async fn list(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<impl IntoResponse> {
    let p = projects::get(&st, &c, &id, false).await?;
    let list: Vec<_> = st
        .store
        .geometries(&p.id)
        .await?
        .into_iter()
        .map(|mut g| {
            g.role = p.role;
            geometries::view(&g)
        })
        .collect();
    Ok(Json(list))
}

async fn show(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<impl IntoResponse> {
    Ok(Json(geometries::view(&geometries::get(&st, &c, &id, false).await?)))
}

async fn surface(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<impl IntoResponse> {
    let b = geometries::surface(&st, &c, &id).await?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream"), (header::CACHE_CONTROL, "private, max-age=3600")], b))
}

async fn original(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<impl IntoResponse> {
    let g = geometries::get(&st, &c, &id, false).await?;
    download(&st, &g.original_key, &g.name).await
}

/// The STEP or IGES file the surface was tessellated from.
async fn cad(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<impl IntoResponse> {
    let g = geometries::get(&st, &c, &id, false).await?;
    match (&g.cad_key, &g.cad_name) {
        (Some(key), Some(name)) => download(&st, key, name).await,
        _ => Err(AppError::NotFound("CAD original")),
    }
}

async fn mesh_suggestion(
    State(st): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    crate::http::extract::ApiJson(req): crate::http::extract::ApiJson<geometries::SuggestionRequest>,
) -> AppResult<impl IntoResponse> {
    Ok(Json(geometries::mesh_suggestion(&st, &c, &id, req).await?))
}

/// A stored file as a download (a presigned redirect where the store offers one).
async fn download(st: &AppState, key: &str, name: &str) -> AppResult<axum::response::Response> {
    if let Some(url) = st.blobs.presigned_get(key, std::time::Duration::from_secs(600)).await? {
        return Ok(axum::response::Redirect::temporary(url.as_str()).into_response());
    }
    let stream = st.blobs.stream(key).await?;
    let disposition = format!("attachment; filename=\"{}\"", name.replace(['"', '\\'], "_"));
    Ok((
        [(header::CONTENT_TYPE, "application/octet-stream".to_string()), (header::CONTENT_DISPOSITION, disposition)],
        axum::body::Body::from_stream(stream),
    )
        .into_response())
}

async fn retry(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<impl IntoResponse> {
    Ok((StatusCode::ACCEPTED, Json(geometries::view(&geometries::retry(&st, &c, &id).await?))))
}

async fn remove(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<StatusCode> {
    geometries::delete(&st, &c, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Geometry routes; uploads get `upload_limit`, the rest `body_limit`.
pub fn routes(upload_limit: usize, body_limit: usize) -> Router<AppState> {
    Router::new()
        .route(
            "/api/projects/{id}/geometries",
            get(list).merge(post(upload).layer(DefaultBodyLimit::max(upload_limit))),
        )
        .route("/api/geometries/{id}", get(show).delete(remove))
        .route("/api/geometries/{id}/surface", get(surface))
        .route("/api/geometries/{id}/original", get(original))
        .route("/api/geometries/{id}/cad", get(cad))
        .route("/api/geometries/{id}/mesh-suggestion", post(mesh_suggestion))
        .route("/api/geometries/{id}/retry", post(retry))
        .layer(DefaultBodyLimit::max(body_limit))
}
