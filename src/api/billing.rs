//! `/api/billing`: upgrade through Stripe Checkout, manage through the Customer Portal,
//! the caller's (or an organization's) account, and Stripe's webhook, which carries no
//! session and no CSRF token: its signature is its authentication.
use crate::error::{AppError, AppResult};
use crate::http::extract::ApiJson;
use crate::service::{billing, Caller};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Checkout {
    plan: String,
    /// Buy for this organization (its owners and admins may).
    org: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ForOrg {
    org: Option<String>,
}

/// Where the browser comes back to: public_url, else the host the request was sent to.
fn origin(st: &AppState, h: &HeaderMap) -> AppResult<String> {
    if let Some(u) = &st.cfg.public_url {
        return Ok(u.trim_end_matches('/').to_string());
    }
    let host = h.get(axum::http::header::HOST).and_then(|v| v.to_str().ok()).ok_or_else(|| {
        AppError::BadRequest("no Host header: set public_url so that Stripe can send the browser back".into())
    })?;
    Ok(format!("http://{host}"))
}

async fn checkout(
    State(st): State<AppState>,
    c: Caller,
    h: HeaderMap,
    ApiJson(b): ApiJson<Checkout>,
) -> AppResult<impl IntoResponse> {
    let origin = origin(&st, &h)?;
    Ok(Json(billing::checkout(&st, &c, &b.plan, b.org.as_deref(), &origin).await?))
}

/// The body is optional: `{"org": ID}` opens the organization's portal.
async fn portal(State(st): State<AppState>, c: Caller, h: HeaderMap, body: Bytes) -> AppResult<impl IntoResponse> {
    let b: ForOrg = if body.iter().all(u8::is_ascii_whitespace) {
        ForOrg::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| AppError::BadRequest(format!("the body is not {{\"org\": ID}}: {e}")))?
    };
    let origin = origin(&st, &h)?;
    Ok(Json(billing::portal(&st, &c, b.org.as_deref(), &origin).await?))
}

async fn account(State(st): State<AppState>, c: Caller, Query(q): Query<ForOrg>) -> AppResult<impl IntoResponse> {
    let subject = billing::subject_for(&st, &c, q.org.as_deref()).await?;
    Ok(Json(billing::account(&st, &subject).await?))
}

async fn webhook(State(st): State<AppState>, h: HeaderMap, body: Bytes) -> AppResult<impl IntoResponse> {
    let sig = h.get("stripe-signature").and_then(|v| v.to_str().ok());
    Ok(Json(billing::webhook(&st, &body, sig).await?))
}

/// `/api/billing/checkout`, `/api/billing/portal`, `/api/billing/account` and
/// `/api/billing/webhook`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/billing/checkout", post(checkout))
        .route("/api/billing/portal", post(portal))
        .route("/api/billing/account", get(account))
        .route("/api/billing/webhook", post(webhook))
}
