//! Geometry uploads (multipart, streamed to the blob store) and their results.
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::service::{geometries, projects, Caller};
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::StreamExt;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadQuery {
    /// Factor to metres (0.001 for a model drawn in millimetres).
    scale: Option<f64>,
}

/// Maps multipart failures to what the client should do.
pub fn multipart_error(e: axum::extract::multipart::MultipartError) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::TooLarge("the upload is larger than limits.max_upload_bytes".into())
    } else {
        AppError::BadRequest(format!(
            "the upload was cut off or is not valid multipart ({}); send it again",
            e.body_text()
        ))
    }
}

fn multipart_rejection(r: MultipartRejection) -> AppError {
    AppError::UnsupportedMedia(format!(
        "send the file as multipart/form-data with a field named \"file\" ({})",
        r.body_text()
    ))
}

/// Reads multipart fields until `file`, taking a `scale` field met on the way; streams
/// the file to the store.
pub async fn upload_multipart(
    st: &AppState,
    c: &Caller,
    project_id: &str,
    mut scale: f64,
    mut mp: Multipart,
) -> AppResult<crate::store::Geometry> {
    while let Some(field) = mp.next_field().await.map_err(multipart_error)? {
        match field.name() {
            Some("file") => {
                let name = field.file_name().unwrap_or("upload").to_string();
                let body = field.map(|r| r.map_err(multipart_error));
                let g = geometries::upload(st, c, project_id, &name, scale, Box::pin(body)).await?;
                // A STEP or IGES original that the browser tessellated follows the surface.
                return match mp.next_field().await.map_err(multipart_error)? {
                    Some(cad) if cad.name() == Some("cad") => {
                        let cad_name = cad.file_name().unwrap_or("model.step").to_string();
                        let body = cad.map(|r| r.map_err(multipart_error));
                        match geometries::attach_cad(st, &g, &cad_name, Box::pin(body)).await {
                            Ok(g) => Ok(g),
                            Err(e) => {
                                // All or nothing: no surface without the original it came with.
                                let _ = geometries::delete(st, c, &g.id).await;
                                Err(e)
                            }
                        }
                    }
                    _ => Ok(g),
                };
            }
            Some("scale") => {
                let t = field.text().await.map_err(multipart_error)?;
                if !t.trim().is_empty() {
                    scale = t.trim().parse().map_err(|_| {
                        AppError::Validation(format!("scale {t:?}: expected a number such as 0.001 for millimetres"))
                    })?;
                }
            }
            _ => {}
        }
    }
    Err(AppError::Validation("the form has no field named \"file\"".into()))
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
    Ok((StatusCode::ACCEPTED, Json(geometries::to_json(&g))))
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
            geometries::to_json(&g)
        })
        .collect();
    Ok(Json(list))
}

async fn show(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<impl IntoResponse> {
    Ok(Json(geometries::to_json(&geometries::get(&st, &c, &id, false).await?)))
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
    super::extract::ApiJson(req): super::extract::ApiJson<geometries::SuggestionRequest>,
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
    Ok((StatusCode::ACCEPTED, Json(geometries::to_json(&geometries::retry(&st, &c, &id).await?))))
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
