//! The caller's account: `POST /api/me/password` and the live sign-ins under
//! `/api/me/sessions` (`PATCH /api/me` is routed with `GET /api/me` in `auth`).
use crate::error::AppResult;
use crate::http::extract::{ApiJson, ClientIp};
use crate::service::{account, Caller};
use crate::state::AppState;
use crate::store::SignIn;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// Change the password (the current one first); every sign-in ends, API tokens stay
#[utoipa::path(post, path = "/api/me/password", tag = "auth", request_body = PasswordChange,
    responses((status = 204, description = "changed; sign in again with the new password")))]
async fn password(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    c: Caller,
    ApiJson(b): ApiJson<PasswordChange>,
) -> AppResult<StatusCode> {
    account::change_password(&st, &c, &b.current_password, &b.new_password, ip.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A live sign-in, and whether it is the browser session the request came with.
#[derive(Serialize, ToSchema)]
struct SignInView {
    #[serde(flatten)]
    sign_in: SignIn,
    current: bool,
}

/// Where the caller is signed in: browser sessions and API clients' refresh-token families
#[utoipa::path(get, path = "/api/me/sessions", tag = "auth",
    responses((status = 200, description = "the live sign-ins, latest first", body = Vec<SignInView>)))]
async fn sessions(State(st): State<AppState>, c: Caller) -> AppResult<Json<Vec<SignInView>>> {
    let current = account::current_sign_in(&st, &c).await?;
    let list = account::sign_ins(&st, &c)
        .await?
        .into_iter()
        .map(|s| SignInView { current: current.as_deref() == Some(s.id.as_str()), sign_in: s })
        .collect();
    Ok(Json(list))
}

/// Sign out one of the caller's sign-ins
#[utoipa::path(delete, path = "/api/me/sessions/{id}", tag = "auth", params(("id" = String, Path, description = "the sign-in")),
    responses((status = 204, description = "signed out")))]
async fn revoke(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<StatusCode> {
    account::revoke_sign_in(&st, &c, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(password)).routes(routes!(sessions)).routes(routes!(revoke))
}
