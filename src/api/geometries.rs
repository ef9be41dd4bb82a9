//! Geometry uploads (multipart, streamed to the blob store) and their results.
use crate::error::{AppError, AppResult};
use crate::http::upload::{multipart_rejection, upload_multipart};
use crate::service::{geometries, projects, Caller};
use crate::state::AppState;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use geometries::{GeometryView, SuggestionRequest};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

/// The multipart form of an upload.
#[derive(ToSchema)]
#[allow(dead_code)] // a request body's schema: `upload_multipart` reads the stream
struct UploadForm {
    /// The STL or OBJ file (optionally `.gz`), or a STEP/IGES file's tessellation.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// Factor to metres, as the query's `scale`.
    scale: Option<f64>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct UploadQuery {
    /// Factor to metres (0.001 for a model drawn in millimetres).
    scale: Option<f64>,
}

/// Upload STL/OBJ (multipart field `file`; optional `scale` field or query)
#[utoipa::path(post, path = "/api/projects/{id}/geometries", tag = "projects", params(("id" = String, Path), UploadQuery),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 202, description = "stored; processing follows (status pending)", body = GeometryView)))]
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

/// The project's geometries
#[utoipa::path(get, path = "/api/projects/{id}/geometries", tag = "projects", params(("id" = String, Path)),
    responses((status = 200, description = "the geometries", body = Vec<GeometryView>)))]
async fn list(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<Json<Vec<GeometryView>>> {
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

/// Status, surface_groups [{name, area, triangles}], bounding_box, healing
#[utoipa::path(get, path = "/api/geometries/{id}", tag = "geometries", params(("id" = String, Path)),
    responses((status = 200, description = "the geometry", body = GeometryView)))]
async fn show(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<Json<GeometryView>> {
    Ok(Json(geometries::view(&geometries::get(&st, &c, &id, false).await?)))
}

/// Binary surface for the viewer (FCS1: positions, indices, group ids)
#[utoipa::path(get, path = "/api/geometries/{id}/surface", tag = "geometries", params(("id" = String, Path)),
    responses((status = 200, description = "the surface", content_type = "application/octet-stream", body = Vec<u8>)))]
async fn surface(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<impl IntoResponse> {
    let b = geometries::surface(&st, &c, &id).await?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream"), (header::CACHE_CONTROL, "private, max-age=3600")], b))
}

/// The uploaded file (a presigned redirect on S3)
#[utoipa::path(get, path = "/api/geometries/{id}/original", tag = "geometries", params(("id" = String, Path)),
    responses((status = 200, description = "the file", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 307, description = "a presigned URL of the object store")))]
async fn original(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<impl IntoResponse> {
    let g = geometries::get(&st, &c, &id, false).await?;
    download(&st, &g.original_key, &g.name).await
}

/// The STEP or IGES file the surface was tessellated from (404 for an STL or OBJ upload)
#[utoipa::path(get, path = "/api/geometries/{id}/cad", tag = "geometries", params(("id" = String, Path)),
    responses((status = 200, description = "the file", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 307, description = "a presigned URL of the object store")))]
async fn cad(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<impl IntoResponse> {
    let g = geometries::get(&st, &c, &id, false).await?;
    match (&g.cad_key, &g.cad_name) {
        (Some(key), Some(name)) => download(&st, key, name).await,
        _ => Err(AppError::NotFound("CAD original")),
    }
}

/// Mesh parameters for a ready geometry, exactly as a run of the same spec would use them, with a one-line reason for each
#[utoipa::path(post, path = "/api/geometries/{id}/mesh-suggestion", tag = "geometries", params(("id" = String, Path)),
    request_body = SuggestionRequest, responses((status = 200, description = "what the mesh wizard shows", body = Object)))]
async fn mesh_suggestion(
    State(st): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    crate::http::extract::ApiJson(req): crate::http::extract::ApiJson<SuggestionRequest>,
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

/// Process a failed geometry again
#[utoipa::path(post, path = "/api/geometries/{id}/retry", tag = "geometries", params(("id" = String, Path)),
    responses((status = 202, description = "the geometry, pending again", body = GeometryView)))]
async fn retry(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<impl IntoResponse> {
    Ok((StatusCode::ACCEPTED, Json(geometries::view(&geometries::retry(&st, &c, &id).await?))))
}

/// Delete a geometry and its files
#[utoipa::path(delete, path = "/api/geometries/{id}", tag = "geometries", params(("id" = String, Path)),
    responses((status = 204, description = "deleted")))]
async fn remove(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<StatusCode> {
    geometries::delete(&st, &c, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Geometry routes; uploads get `upload_limit`, the rest `body_limit`.
pub fn routes(upload_limit: usize, body_limit: usize) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload).layer(DefaultBodyLimit::max(upload_limit)))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(list))
                .routes(routes!(show, remove))
                .routes(routes!(surface))
                .routes(routes!(original))
                .routes(routes!(cad))
                .routes(routes!(mesh_suggestion))
                .routes(routes!(retry))
                .layer(DefaultBodyLimit::max(body_limit)),
        )
}
