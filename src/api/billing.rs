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
use axum::Json;
use billing::{AccountView, Redirect, WebhookResult};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Checkout {
    plan: String,
    /// Buy for this organization (its owners and admins may).
    org: Option<String>,
}

#[derive(Deserialize, Default, ToSchema, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ForOrg {
    /// The organization (its owners and admins); the caller's own account without it.
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

/// A Stripe Checkout Session in subscription mode for a plan (for an org: its owners and admins); 400 for a plan without a price, 409 with billing off
#[utoipa::path(post, path = "/api/billing/checkout", tag = "billing", request_body = Checkout,
    responses((status = 200, description = "where to send the browser", body = Redirect)))]
async fn checkout(
    State(st): State<AppState>,
    c: Caller,
    h: HeaderMap,
    ApiJson(b): ApiJson<Checkout>,
) -> AppResult<impl IntoResponse> {
    let origin = origin(&st, &h)?;
    Ok(Json(billing::checkout(&st, &c, &b.plan, b.org.as_deref(), &origin).await?))
}

/// A Stripe Customer Portal session (optional body {org})
///
/// The body is optional: `{"org": ID}` opens the organization's portal.
#[utoipa::path(post, path = "/api/billing/portal", tag = "billing", request_body(content = Option<ForOrg>),
    responses((status = 200, description = "where to send the browser", body = Redirect)))]
async fn portal(State(st): State<AppState>, c: Caller, h: HeaderMap, body: Bytes) -> AppResult<impl IntoResponse> {
    // No body, or JSON `null`, is the caller's own portal.
    let b: ForOrg = if body.iter().all(u8::is_ascii_whitespace) {
        ForOrg::default()
    } else {
        serde_json::from_slice::<Option<ForOrg>>(&body)
            .map_err(|e| AppError::BadRequest(format!("the body is not {{\"org\": ID}}: {e}")))?
            .unwrap_or_default()
    };
    let origin = origin(&st, &h)?;
    Ok(Json(billing::portal(&st, &c, b.org.as_deref(), &origin).await?))
}

/// The caller's (or ?org=ID's) plan and subscription
#[utoipa::path(get, path = "/api/billing/account", tag = "billing", params(ForOrg),
    responses((status = 200, description = "the account", body = AccountView)))]
async fn account(State(st): State<AppState>, c: Caller, Query(q): Query<ForOrg>) -> AppResult<impl IntoResponse> {
    let subject = billing::subject_for(&st, &c, q.org.as_deref()).await?;
    Ok(Json(billing::account(&st, &subject).await?))
}

/// Stripe's webhook, authenticated by its Stripe-Signature (400 and no change when it does not verify)
#[utoipa::path(post, path = "/api/billing/webhook", tag = "billing", security(()),
    params(("stripe-signature" = String, Header, description = "Stripe's signature of the body")),
    request_body(content = Object, description = "a Stripe event"),
    responses((status = 200, description = "what the event did", body = WebhookResult)))]
async fn webhook(State(st): State<AppState>, h: HeaderMap, body: Bytes) -> AppResult<impl IntoResponse> {
    // Without its signature a request is not Stripe's, whatever this server's billing.
    let Some(sig) = h.get("stripe-signature") else {
        return Err(AppError::BadRequest("no Stripe-Signature header: only Stripe sends webhooks".into()));
    };
    Ok(Json(billing::webhook(&st, &body, sig.to_str().ok()).await?))
}

/// `/api/billing/checkout`, `/api/billing/portal`, `/api/billing/account` and
/// `/api/billing/webhook`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(checkout))
        .routes(routes!(portal))
        .routes(routes!(account))
        .routes(routes!(webhook))
}
