//! `/api/orgs`: organizations and their members.
use crate::error::AppResult;
use crate::http::extract::ApiJson;
use crate::service::{projects, Caller};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewOrg {
    name: String,
    slug: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetMember {
    email: String,
    role: String,
}

async fn list(State(st): State<AppState>, c: Caller) -> AppResult<impl IntoResponse> {
    Ok(Json(st.store.orgs_for(c.id()).await?))
}

async fn create(State(st): State<AppState>, c: Caller, ApiJson(b): ApiJson<NewOrg>) -> AppResult<impl IntoResponse> {
    Ok((StatusCode::CREATED, Json(projects::create_org(&st, &c, &b.name, &b.slug).await?)))
}

async fn show(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<impl IntoResponse> {
    let o = projects::org(&st, &c, &id, false).await?;
    let members = st.store.members(&o.id).await?;
    Ok(Json(json!({"org": o, "members": members})))
}

async fn set_member(
    State(st): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<SetMember>,
) -> AppResult<impl IntoResponse> {
    Ok(Json(projects::set_member(&st, &c, &id, &b.email, &b.role).await?))
}

async fn remove_member(
    State(st): State<AppState>,
    c: Caller,
    Path((id, user)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    projects::remove_member(&st, &c, &id, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `/api/orgs` and their members.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/orgs", get(list).post(create))
        .route("/api/orgs/{id}", get(show))
        .route("/api/orgs/{id}/members", axum::routing::post(set_member))
        .route("/api/orgs/{id}/members/{user}", delete(remove_member))
}
