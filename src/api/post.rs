//! `/api/jobs/{id}/post/...`: extractions of a job's result for the viewer, and its saved
//! views.
use crate::error::AppResult;
use crate::http::extract::ApiJson;
use crate::service::{post, Caller};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use post::{ResultIndex, SavedView};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// What to extract. The query names depend on the kind; unknown names are ignored.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the query the service reads from a map
struct ExtractionQuery {
    /// The field (`p`, `U`, `U:x`, `U:mag`, …); probe and range need it.
    field: Option<String>,
    /// Colour a surface, slice or streamlines by this field.
    color_by: Option<String>,
    /// surface: the patches (comma-separated), all by default.
    patches: Option<String>,
    /// slice: a point on the plane, `X,Y,Z`.
    origin: Option<String>,
    /// slice: the plane's normal, `X,Y,Z`.
    normal: Option<String>,
    /// iso: the value of the isosurface.
    value: Option<String>,
    /// streamlines: seed points on a line, `X,Y,Z:X,Y,Z`.
    seed_line: Option<String>,
    /// streamlines: seeds in a box, `X,Y,Z:X,Y,Z`.
    seed_box: Option<String>,
    /// streamlines: seeds on a plane through this point.
    seed_plane: Option<String>,
    /// streamlines: the seed plane's normal.
    seed_normal: Option<String>,
    /// streamlines: the seed plane's size, m.
    seed_size: Option<String>,
    /// streamlines: how many seeds.
    count: Option<String>,
    /// streamlines: `forward`, `backward` or `both`.
    direction: Option<String>,
    /// streamlines: the integration method.
    method: Option<String>,
    /// streamlines: the longest line, m.
    max_length: Option<String>,
    /// The most triangles to send (a whole number); larger results are decimated.
    max_triangles: Option<String>,
    /// probe: the points, `X,Y,Z;X,Y,Z`.
    points: Option<String>,
    /// probe: along a line, `X,Y,Z:X,Y,Z`, with `n` points (2 to 10000).
    line: Option<String>,
    /// probe: the number of points along `line`.
    n: Option<String>,
}

/// The extractions: four answer the chunked binary stream, two answer JSON.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // a path parameter's schema
#[serde(rename_all = "lowercase")]
enum Kind {
    Surface,
    Slice,
    Iso,
    Streamlines,
    Probe,
    Range,
}

/// `probe` answers values at points, `range` a field's range.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // a response's schema
#[serde(untagged)]
enum JsonExtraction {
    Probe(post::Probe),
    Range(post::FieldRange),
}

/// What a job's result holds: times, fields, patches, bounds
#[utoipa::path(get, path = "/api/jobs/{id}/post", tag = "post", params(("id" = String, Path)),
    responses((status = 200, description = "the result's index", body = ResultIndex)))]
async fn index(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<Json<ResultIndex>> {
    Ok(Json(post::index(&st, &c, &id).await?))
}

/// An extraction of a job's result for the viewer
///
/// `surface`, `slice`, `iso` and `streamlines` answer the chunked binary stream
/// (`application/vnd.flowcfd.post`); `probe` (values at points) and `range` (a field's
/// range, for sliders) answer JSON.
#[utoipa::path(get, path = "/api/jobs/{id}/post/{kind}", tag = "post",
    params(("id" = String, Path), ("kind" = inline(Kind), Path), ExtractionQuery),
    responses((status = 200, description = "the extraction", content(
        (Vec<u8> = "application/vnd.flowcfd.post"),
        (JsonExtraction = "application/json"),
    ))))]
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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewView {
    name: String,
    config: serde_json::Value,
}

/// The job's saved views
#[utoipa::path(get, path = "/api/jobs/{id}/views", tag = "post", params(("id" = String, Path)),
    responses((status = 200, description = "the views", body = Vec<SavedView>)))]
async fn views(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<Json<Vec<SavedView>>> {
    Ok(Json(post::list_views(&st, &c, &id).await?))
}

/// Save a view of the result (`config` as the viewer writes it)
#[utoipa::path(post, path = "/api/jobs/{id}/views", tag = "post", params(("id" = String, Path)), request_body = NewView,
    responses((status = 201, description = "the saved view", body = SavedView)))]
async fn save_view(
    State(st): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    ApiJson(v): ApiJson<NewView>,
) -> AppResult<impl IntoResponse> {
    Ok((StatusCode::CREATED, Json(post::save_view(&st, &c, &id, &v.name, v.config).await?)))
}

/// Delete a saved view
#[utoipa::path(delete, path = "/api/jobs/{id}/views/{view}", tag = "post",
    params(("id" = String, Path), ("view" = String, Path)), responses((status = 204, description = "deleted")))]
async fn delete_view(
    State(st): State<AppState>,
    c: Caller,
    Path((id, vid)): Path<(String, String)>,
) -> AppResult<impl IntoResponse> {
    post::delete_view(&st, &c, &id, &vid).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `/api/jobs/{id}/post*` and `/api/jobs/{id}/views*`: a job's results and saved views.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(index))
        .routes(routes!(extraction))
        .routes(routes!(views, save_view))
        .routes(routes!(delete_view))
}
