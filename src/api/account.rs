//! The caller's account: `PATCH /api/me` (name, job mail), `POST /api/me/password`, and
//! the live sign-ins under `/api/me/sessions`; an org's rename and deletion.
use crate::error::AppResult;
use crate::http::extract::{ApiJson, ClientIp};
use crate::service::{account, Caller};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

/// `PATCH /api/me` (routed with `GET /api/me` in `auth`).
pub(super) async fn patch_me(
    State(st): State<AppState>,
    c: Caller,
    ApiJson(b): ApiJson<account::MePatch>,
) -> AppResult<impl IntoResponse> {
    let u = account::update(&st, &c, &b).await?;
    Ok(Json(json!({"id": u.id, "email": u.email, "name": u.name, "notify_jobs": u.notify_jobs})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordChange {
    current_password: String,
    new_password: String,
}

async fn password(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    c: Caller,
    ApiJson(b): ApiJson<PasswordChange>,
) -> AppResult<StatusCode> {
    account::change_password(&st, &c, &b.current_password, &b.new_password, ip.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn sessions(State(st): State<AppState>, c: Caller) -> AppResult<impl IntoResponse> {
    let current = account::current_sign_in(&st, &c).await?;
    let list: Vec<_> = account::sign_ins(&st, &c)
        .await?
        .into_iter()
        .map(|s| {
            let this = current.as_deref() == Some(s.id.as_str());
            let mut v = serde_json::to_value(&s).unwrap_or_default();
            v["current"] = json!(this);
            v
        })
        .collect();
    Ok(Json(list))
}

async fn revoke(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<StatusCode> {
    account::revoke_sign_in(&st, &c, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OrgRename {
    name: String,
}

/// `PATCH /api/orgs/{id}` (routed in `orgs`): renames the org.
pub(super) async fn rename_org(
    State(st): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<OrgRename>,
) -> AppResult<impl IntoResponse> {
    Ok(Json(crate::service::projects::rename_org(&st, &c, &id, &b.name).await?))
}

#[derive(Deserialize)]
pub(super) struct OrgDelete {
    /// The org's name, typed again.
    #[serde(default)]
    confirm: String,
}

/// `DELETE /api/orgs/{id}?confirm=NAME` (routed in `orgs`).
pub(super) async fn delete_org(
    State(st): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<OrgDelete>,
) -> AppResult<StatusCode> {
    crate::service::projects::delete_org(&st, &c, &id, &q.confirm).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/me/password", post(password))
        .route("/api/me/sessions", get(sessions))
        .route("/api/me/sessions/{id}", delete(revoke))
}
