//! `/api/admin`: users, registration and the audit log (server administrators only).
use crate::error::AppResult;
use crate::http::extract::{AdminCaller, ApiJson};
use crate::service::accounts;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::routing::{get, patch};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    registration_open: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserFlags {
    is_admin: Option<bool>,
    disabled: Option<bool>,
}

async fn users(State(st): State<AppState>, _a: AdminCaller) -> AppResult<impl IntoResponse> {
    Ok(Json(st.store.list_users().await?))
}

async fn patch_user(
    State(st): State<AppState>,
    AdminCaller(a): AdminCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<UserFlags>,
) -> AppResult<impl IntoResponse> {
    Ok(Json(accounts::set_user_flags(&st, &a, &id, b.is_admin, b.disabled).await?))
}

async fn settings(State(st): State<AppState>, _a: AdminCaller) -> AppResult<impl IntoResponse> {
    Ok(Json(json!({"registration_open": accounts::registration_open(&st).await?})))
}

async fn put_settings(
    State(st): State<AppState>,
    AdminCaller(a): AdminCaller,
    ApiJson(b): ApiJson<Settings>,
) -> AppResult<impl IntoResponse> {
    if let Some(open) = b.registration_open {
        accounts::set_registration_open(&st, &a, open).await?;
    }
    Ok(Json(json!({"registration_open": accounts::registration_open(&st).await?})))
}

async fn audit(State(st): State<AppState>, _a: AdminCaller) -> AppResult<impl IntoResponse> {
    Ok(Json(st.store.audit_log(200).await?))
}

/// `/api/admin/users`, `/api/admin/settings` and `/api/admin/audit`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/admin/users", get(users))
        .route("/api/admin/users/{id}", patch(patch_user))
        .route("/api/admin/settings", get(settings).patch(put_settings))
        .route("/api/admin/audit", get(audit))
}
