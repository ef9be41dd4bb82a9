//! `/api/orgs` and `/api/invitations`: organizations, their members, and invitations to
//! join them (an invitee accepts before becoming a member), and the org's logo (a PNG for
//! the title block of its reports).
use crate::error::AppError;
use crate::error::AppResult;
use crate::http::extract::ApiJson;
use crate::service::{invitations, org_logo, projects, Caller};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
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
struct Invite {
    email: String,
    role: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetRole {
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

async fn set_role(
    State(st): State<AppState>,
    c: Caller,
    Path((id, user)): Path<(String, String)>,
    ApiJson(b): ApiJson<SetRole>,
) -> AppResult<impl IntoResponse> {
    Ok(Json(invitations::set_role(&st, &c, &id, &user, &b.role).await?))
}

async fn remove_member(
    State(st): State<AppState>,
    c: Caller,
    Path((id, user)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    projects::remove_member(&st, &c, &id, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// 202 and the invitation's id, whatever the email: the answer says nothing about accounts.
async fn invite(
    State(st): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<Invite>,
) -> AppResult<impl IntoResponse> {
    let inv = invitations::invite(&st, &c, &id, &b.email, &b.role).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"id": inv}))))
}

async fn org_invitations(
    State(st): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
) -> AppResult<impl IntoResponse> {
    Ok(Json(invitations::org_invitations(&st, &c, &id).await?))
}

async fn revoke(
    State(st): State<AppState>,
    c: Caller,
    Path((id, inv)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    invitations::revoke(&st, &c, &id, &inv).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn mine(State(st): State<AppState>, c: Caller) -> AppResult<impl IntoResponse> {
    Ok(Json(invitations::pending(&st, &c).await?))
}

async fn accept(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<impl IntoResponse> {
    Ok(Json(invitations::accept(&st, &c, &id).await?))
}

async fn decline(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<StatusCode> {
    invitations::decline(&st, &c, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /api/orgs/{id}/logo`: the body is the PNG itself. The caller's right is checked
/// before the body is read, and no more than the largest logo is read.
async fn put_logo(
    State(st): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    body: axum::body::Body,
) -> AppResult<impl IntoResponse> {
    org_logo::may_change(&st, &c, &id).await?;
    let data = axum::body::to_bytes(body, org_logo::MAX_BYTES)
        .await
        .map_err(|_| AppError::TooLarge(format!("the logo is larger than 512 KB; {}", org_logo::WHAT_TO_SEND)))?;
    if data.is_empty() {
        return Err(AppError::BadRequest(format!("the body is empty; {}", org_logo::WHAT_TO_SEND)));
    }
    Ok(Json(org_logo::put(&st, &c, &id, data).await?))
}

async fn get_logo(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<impl IntoResponse> {
    let png = org_logo::get(&st, &c, &id).await?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "image/png"), (axum::http::header::CACHE_CONTROL, "private, no-cache")],
        png,
    ))
}

async fn delete_logo(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<StatusCode> {
    org_logo::delete(&st, &c, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `/api/orgs`, their members and invitations, and `/api/invitations`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/orgs", get(list).post(create))
        .route("/api/orgs/{id}", get(show).patch(super::account::rename_org).delete(super::account::delete_org))
        .route("/api/orgs/{id}/logo", get(get_logo).put(put_logo).delete(delete_logo))
        .route("/api/orgs/{id}/members/{user}", delete(remove_member).patch(set_role))
        .route("/api/orgs/{id}/invitations", get(org_invitations).post(invite))
        .route("/api/orgs/{id}/invitations/{invitation}", delete(revoke))
        .route("/api/invitations", get(mine))
        .route("/api/invitations/{id}/accept", post(accept))
        .route("/api/invitations/{id}/decline", post(decline))
}
