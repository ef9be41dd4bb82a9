//! `/api/auth/*` (with the password reset), `/api/me` and `/api/tokens`.
use crate::error::{AppError, AppResult};
use crate::http::extract::{ApiJson, ClientIp};
use crate::service::{accounts, recovery, Caller};
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
struct Register {
    email: String,
    password: String,
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    email: String,
    password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Refresh {
    refresh_token: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetRequest {
    email: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetConfirm {
    token: String,
    password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyToken {
    token: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: String,
}

async fn register(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(b): ApiJson<Register>,
) -> AppResult<impl IntoResponse> {
    crate::http::auth_limit(&st, ip.as_deref(), "register")?;
    // New or taken, the same answer: the caller learns which by signing in, as they would
    // without registering.
    accounts::register(&st, &b.email, &b.password, &b.name, ip.as_deref()).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"detail": accounts::REGISTERED}))))
}

async fn login(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(b): ApiJson<Login>,
) -> AppResult<impl IntoResponse> {
    crate::http::auth_limit(&st, ip.as_deref(), "login")?;
    let u = accounts::login(&st, &b.email, &b.password, ip.as_deref()).await?;
    Ok(Json(accounts::issue_tokens(&st, &u).await?))
}

async fn refresh(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(b): ApiJson<Refresh>,
) -> AppResult<impl IntoResponse> {
    crate::http::auth_limit(&st, ip.as_deref(), "refresh")?;
    Ok(Json(accounts::refresh(&st, &b.refresh_token).await?))
}

async fn logout(State(st): State<AppState>, ApiJson(b): ApiJson<Refresh>) -> AppResult<StatusCode> {
    accounts::logout(&st, &b.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn password_reset(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(b): ApiJson<ResetRequest>,
) -> AppResult<impl IntoResponse> {
    crate::http::auth_limit(&st, ip.as_deref(), "reset")?;
    recovery::request_reset(&st, &b.email, ip.as_deref()).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"detail": recovery::REQUESTED}))))
}

async fn password_reset_confirm(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(b): ApiJson<ResetConfirm>,
) -> AppResult<StatusCode> {
    crate::http::auth_limit(&st, ip.as_deref(), "reset")?;
    recovery::confirm_reset(&st, &b.token, &b.password, ip.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn verify(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(b): ApiJson<VerifyToken>,
) -> AppResult<StatusCode> {
    crate::http::auth_limit(&st, ip.as_deref(), "verify")?;
    recovery::verify_email(&st, &b.token).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn verify_resend(State(st): State<AppState>, c: Caller) -> AppResult<impl IntoResponse> {
    recovery::resend_verification(&st, &c).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"detail": format!("a new verification link is on its way to {}", c.user.email)}))))
}

async fn me(State(st): State<AppState>, c: Caller) -> AppResult<impl IntoResponse> {
    let orgs = st.store.orgs_for(c.id()).await?;
    let plan = crate::service::plans::user_plan(&st, c.id()).await?;
    let mut user = serde_json::to_value(&c.user).map_err(|e| crate::error::AppError::Internal(e.to_string()))?;
    user["plan"] = json!(plan);
    user["email_verified"] = json!(!recovery::needs_verification(&st, &c.user));
    Ok(Json(json!({"user": user, "orgs": orgs})))
}

async fn list_tokens(State(st): State<AppState>, c: Caller) -> AppResult<impl IntoResponse> {
    Ok(Json(st.store.list_api_tokens(c.id()).await?))
}

async fn create_token(
    State(st): State<AppState>,
    c: Caller,
    ApiJson(b): ApiJson<NewToken>,
) -> AppResult<impl IntoResponse> {
    let (t, token) = accounts::create_api_token(&st, &c, &b.name).await?;
    Ok((StatusCode::CREATED, Json(json!({"id": t.id, "name": t.name, "prefix": t.prefix, "token": token}))))
}

async fn revoke_token(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<StatusCode> {
    if !st.store.revoke_api_token(c.id(), &id).await? {
        return Err(AppError::NotFound("API token"));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `/api/auth/*`, `/api/me` and `/api/tokens`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/auth/register", post(register))
        .route("/api/auth/login", post(login))
        .route("/api/auth/refresh", post(refresh))
        .route("/api/auth/logout", post(logout))
        .route("/api/auth/password-reset", post(password_reset))
        .route("/api/auth/password-reset/confirm", post(password_reset_confirm))
        .route("/api/auth/verify", post(verify))
        .route("/api/auth/verify/resend", post(verify_resend))
        .route("/api/me", get(me).patch(super::account::patch_me))
        .route("/api/tokens", get(list_tokens).post(create_token))
        .route("/api/tokens/{id}", delete(revoke_token))
}
