//! `/api/projects/{id}/cases` and `/api/cases/{id}`.
use crate::error::AppResult;
use crate::http::extract::ApiJson;
use crate::service::cases::{self, CaseView};
use crate::service::{projects, Caller};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Create a case: the `flowcfd run` case spec as JSON, with `geometry_id` naming a ready geometry of the project
///
/// The spec is checked as `flowcfd run` checks it; a value out of its physical range is
/// a 422 that names it.
#[utoipa::path(post, path = "/api/projects/{id}/cases", tag = "projects", params(("id" = String, Path)),
    request_body(content = Object, description = "the case spec (`flowcfd case --help`), with `geometry_id` and `flow`"),
    responses((status = 201, description = "the case, its spec with defaults filled in", body = CaseView)))]
async fn create(
    State(st): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> AppResult<impl IntoResponse> {
    let case = cases::create(&st, &c, &id, &body).await?;
    Ok((StatusCode::CREATED, Json(cases::view(&case))))
}

/// The project's cases
#[utoipa::path(get, path = "/api/projects/{id}/cases", tag = "projects", params(("id" = String, Path)),
    responses((status = 200, description = "the cases", body = Vec<CaseView>)))]
async fn list(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<Json<Vec<CaseView>>> {
    let p = projects::get(&st, &c, &id, false).await?;
    Ok(Json(st.store.cases(&p.id).await?.iter().map(cases::view).collect()))
}

/// A case with its full spec
#[utoipa::path(get, path = "/api/cases/{id}", tag = "projects", params(("id" = String, Path)),
    responses((status = 200, description = "the case", body = CaseView)))]
async fn show(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<Json<CaseView>> {
    Ok(Json(cases::view(&cases::get(&st, &c, &id).await?)))
}

/// `/api/projects/{id}/cases` and `/api/cases/{id}`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(show))
}
