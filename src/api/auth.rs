//! `/api/auth/*` (with the password reset), `/api/me` and `/api/tokens`.
use crate::error::{AppError, AppResult};
use crate::http::extract::{ApiJson, ClientIp};
use crate::service::{accounts, recovery, Caller};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use crate::store::{ApiToken, Org, User};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Register {
    #[schema(format = Email)]
    email: String,
    /// At least 10 characters, not a common password.
    #[schema(min_length = 10)]
    password: String,
    #[schema(min_length = 1, max_length = 100)]
    name: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Login {
    email: String,
    password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Refresh {
    refresh_token: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ResetRequest {
    email: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ResetConfirm {
    token: String,
    password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct VerifyToken {
    token: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewToken {
    #[schema(min_length = 1, max_length = 100)]
    name: String,
}

/// A request that was taken: what happens next.
#[derive(Serialize, ToSchema)]
pub(super) struct Detail {
    pub detail: String,
}

/// The caller and their organizations.
#[derive(Serialize, ToSchema)]
struct Me {
    user: MeUser,
    orgs: Vec<Org>,
}

/// The caller's account, with the plan in effect and whether the email is verified.
#[derive(Serialize, ToSchema)]
struct MeUser {
    #[serde(flatten)]
    user: User,
    plan: String,
    email_verified: bool,
}

/// A new API token: `token` is shown this once.
#[derive(Serialize, ToSchema)]
struct CreatedToken {
    id: String,
    name: String,
    prefix: String,
    token: String,
}

/// Create an account (the first becomes admin), then sign in; the same answer whether or not the email already has an account
#[utoipa::path(post, path = "/api/auth/register", tag = "auth", security(()), request_body = Register,
    responses((status = 202, description = "taken; sign in next", body = Detail)))]
async fn register(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(b): ApiJson<Register>,
) -> AppResult<impl IntoResponse> {
    crate::http::auth_limit(&st, ip.as_deref(), "register")?;
    // New or taken, the same answer: the caller learns which by signing in, as they would
    // without registering.
    accounts::register(&st, &b.email, &b.password, &b.name, ip.as_deref()).await?;
    Ok((StatusCode::ACCEPTED, Json(Detail { detail: accounts::REGISTERED.into() })))
}

/// Sign in (429 with Retry-After while the address or the account must wait)
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", security(()), request_body = Login,
    responses((status = 200, description = "signed in", body = accounts::Tokens)))]
async fn login(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(b): ApiJson<Login>,
) -> AppResult<Json<accounts::Tokens>> {
    crate::http::auth_limit(&st, ip.as_deref(), "login")?;
    let u = accounts::login(&st, &b.email, &b.password, ip.as_deref()).await?;
    Ok(Json(accounts::issue_tokens(&st, &u).await?))
}

/// Rotate a refresh token
#[utoipa::path(post, path = "/api/auth/refresh", tag = "auth", security(()), request_body = Refresh,
    responses((status = 200, description = "a new access token and refresh token", body = accounts::Tokens)))]
async fn refresh(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(b): ApiJson<Refresh>,
) -> AppResult<Json<accounts::Tokens>> {
    crate::http::auth_limit(&st, ip.as_deref(), "refresh")?;
    Ok(Json(accounts::refresh(&st, &b.refresh_token).await?))
}

/// Revoke a refresh token and its family
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", security(()), request_body = Refresh,
    responses((status = 204, description = "revoked")))]
async fn logout(State(st): State<AppState>, ApiJson(b): ApiJson<Refresh>) -> AppResult<StatusCode> {
    accounts::logout(&st, &b.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ask for a password reset link (the same answer whether or not the email has an account)
#[utoipa::path(post, path = "/api/auth/password-reset", tag = "auth", security(()), request_body = ResetRequest,
    responses((status = 202, description = "taken", body = Detail)))]
async fn password_reset(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(b): ApiJson<ResetRequest>,
) -> AppResult<impl IntoResponse> {
    crate::http::auth_limit(&st, ip.as_deref(), "reset")?;
    recovery::request_reset(&st, &b.email, ip.as_deref()).await?;
    Ok((StatusCode::ACCEPTED, Json(Detail { detail: recovery::REQUESTED.into() })))
}

/// Set a new password with a reset link's token (works once, for 30 minutes)
#[utoipa::path(post, path = "/api/auth/password-reset/confirm", tag = "auth", security(()), request_body = ResetConfirm,
    responses((status = 204, description = "the password is set; every session and refresh token is revoked")))]
async fn password_reset_confirm(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(b): ApiJson<ResetConfirm>,
) -> AppResult<StatusCode> {
    crate::http::auth_limit(&st, ip.as_deref(), "reset")?;
    recovery::confirm_reset(&st, &b.token, &b.password, ip.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Verify the account's email address with the mailed link's token
#[utoipa::path(post, path = "/api/auth/verify", tag = "auth", security(()), request_body = VerifyToken,
    responses((status = 204, description = "verified")))]
async fn verify(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(b): ApiJson<VerifyToken>,
) -> AppResult<StatusCode> {
    crate::http::auth_limit(&st, ip.as_deref(), "verify")?;
    recovery::verify_email(&st, &b.token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Mail a new verification link (one a minute, five a day)
#[utoipa::path(post, path = "/api/auth/verify/resend", tag = "auth",
    responses((status = 202, description = "on its way", body = Detail)))]
async fn verify_resend(State(st): State<AppState>, c: Caller) -> AppResult<impl IntoResponse> {
    recovery::resend_verification(&st, &c).await?;
    let detail = format!("a new verification link is on its way to {}", c.user.email);
    Ok((StatusCode::ACCEPTED, Json(Detail { detail })))
}

/// The caller and their organizations
#[utoipa::path(get, path = "/api/me", tag = "auth", responses((status = 200, description = "the caller", body = Me)))]
async fn me(State(st): State<AppState>, c: Caller) -> AppResult<Json<Me>> {
    let orgs = st.store.orgs_for(c.id()).await?;
    let plan = crate::service::plans::user_plan(&st, c.id()).await?;
    let email_verified = !recovery::needs_verification(&st, &c.user);
    Ok(Json(Me { user: MeUser { user: c.user, plan, email_verified }, orgs }))
}

/// The account after `PATCH /api/me`.
#[derive(Serialize, ToSchema)]
struct MePatched {
    id: String,
    email: String,
    name: String,
    notify_jobs: bool,
}

/// Change the caller's name or job mail (absent keys stay)
#[utoipa::path(patch, path = "/api/me", tag = "auth", request_body = crate::service::account::MePatch,
    responses((status = 200, description = "the account", body = MePatched)))]
async fn patch_me(
    State(st): State<AppState>,
    c: Caller,
    ApiJson(b): ApiJson<crate::service::account::MePatch>,
) -> AppResult<Json<MePatched>> {
    let u = crate::service::account::update(&st, &c, &b).await?;
    Ok(Json(MePatched { id: u.id, email: u.email, name: u.name, notify_jobs: u.notify_jobs }))
}

/// The caller's API tokens
#[utoipa::path(get, path = "/api/tokens", tag = "auth",
    responses((status = 200, description = "the tokens (without their secrets)", body = Vec<ApiToken>)))]
async fn list_tokens(State(st): State<AppState>, c: Caller) -> AppResult<Json<Vec<ApiToken>>> {
    Ok(Json(st.store.list_api_tokens(c.id()).await?))
}

/// Create an API token (shown once)
#[utoipa::path(post, path = "/api/tokens", tag = "auth", request_body = NewToken,
    responses((status = 201, description = "created", body = CreatedToken)))]
async fn create_token(
    State(st): State<AppState>,
    c: Caller,
    ApiJson(b): ApiJson<NewToken>,
) -> AppResult<impl IntoResponse> {
    let (t, token) = accounts::create_api_token(&st, &c, &b.name).await?;
    Ok((StatusCode::CREATED, Json(CreatedToken { id: t.id, name: t.name, prefix: t.prefix, token })))
}

/// Revoke an API token
#[utoipa::path(delete, path = "/api/tokens/{id}", tag = "auth", params(("id" = String, Path, description = "the token's id")),
    responses((status = 204, description = "revoked")))]
async fn revoke_token(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<StatusCode> {
    if !st.store.revoke_api_token(c.id(), &id).await? {
        return Err(AppError::NotFound("API token"));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `/api/auth/*`, `/api/me` and `/api/tokens`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(password_reset))
        .routes(routes!(password_reset_confirm))
        .routes(routes!(verify))
        .routes(routes!(verify_resend))
        .routes(routes!(me, patch_me))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
}
