//! `/api/projects`.
use crate::error::AppResult;
use crate::http::extract::ApiJson;
use crate::service::{projects, Caller};
use crate::state::AppState;
use crate::store::{Project, ProjectPatch};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewProject {
    #[schema(min_length = 1, max_length = 120)]
    name: String,
    #[serde(default)]
    description: String,
    /// Create the project in this organization instead of as a personal one.
    #[serde(default)]
    org_id: Option<String>,
}

/// Projects the caller can see
#[utoipa::path(get, path = "/api/projects", tag = "projects",
    responses((status = 200, description = "the projects", body = Vec<Project>)))]
async fn list(State(st): State<AppState>, c: Caller) -> AppResult<Json<Vec<Project>>> {
    Ok(Json(st.store.projects(c.id()).await?))
}

/// Create a project
#[utoipa::path(post, path = "/api/projects", tag = "projects", request_body = NewProject,
    responses((status = 201, description = "the project", body = Project)))]
async fn create(
    State(st): State<AppState>,
    c: Caller,
    ApiJson(b): ApiJson<NewProject>,
) -> AppResult<impl IntoResponse> {
    let p = projects::create(&st, &c, &b.name, &b.description, b.org_id.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(p)))
}

/// A project
#[utoipa::path(get, path = "/api/projects/{id}", tag = "projects", params(("id" = String, Path)),
    responses((status = 200, description = "the project", body = Project)))]
async fn show(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<Json<Project>> {
    Ok(Json(projects::get(&st, &c, &id, false).await?))
}

/// Rename or re-describe
#[utoipa::path(patch, path = "/api/projects/{id}", tag = "projects", params(("id" = String, Path)),
    request_body = ProjectPatch, responses((status = 200, description = "the project", body = Project)))]
async fn patch(
    State(st): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ProjectPatch>,
) -> AppResult<Json<Project>> {
    Ok(Json(projects::update(&st, &c, &id, &b).await?))
}

/// Delete with its files (owner or org admin)
#[utoipa::path(delete, path = "/api/projects/{id}", tag = "projects", params(("id" = String, Path)),
    responses((status = 204, description = "deleted")))]
async fn remove(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<StatusCode> {
    projects::delete(&st, &c, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `/api/projects` and `/api/projects/{id}`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(show, patch, remove))
}
