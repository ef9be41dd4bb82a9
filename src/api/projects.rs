//! `/api/projects`.
use crate::error::AppResult;
use crate::http::extract::ApiJson;
use crate::service::{projects, Caller};
use crate::state::AppState;
use crate::store::ProjectPatch;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewProject {
    name: String,
    #[serde(default)]
    description: String,
    /// Create the project in this organization instead of as a personal one.
    #[serde(default)]
    org_id: Option<String>,
}

async fn list(State(st): State<AppState>, c: Caller) -> AppResult<impl IntoResponse> {
    Ok(Json(st.store.projects(c.id()).await?))
}

async fn create(
    State(st): State<AppState>,
    c: Caller,
    ApiJson(b): ApiJson<NewProject>,
) -> AppResult<impl IntoResponse> {
    let p = projects::create(&st, &c, &b.name, &b.description, b.org_id.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(p)))
}

async fn show(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<impl IntoResponse> {
    Ok(Json(projects::get(&st, &c, &id, false).await?))
}

async fn patch(
    State(st): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ProjectPatch>,
) -> AppResult<impl IntoResponse> {
    Ok(Json(projects::update(&st, &c, &id, &b).await?))
}

async fn remove(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<StatusCode> {
    projects::delete(&st, &c, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `/api/projects` and `/api/projects/{id}`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/projects", get(list).post(create))
        .route("/api/projects/{id}", get(show).patch(patch).delete(remove))
}
