//! The password reset pages: `/forgot-password` (ask for a link; the same answer whether or
//! not the address has an account) and `/reset-password?token=…` (the link: choose a new
//! password), with the sign-in forms' pre-session CSRF cookie; and the email verification
//! link's page `/verify-email?token=…`, with the dashboard's "send a new link" form.
use super::sign_in::{pre_ok, with_pre};
use super::{render, PageResult, PageUser};
use crate::auth::random_b64;
use crate::http::extract::ClientIp;
use crate::service::recovery;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect};
use axum::Form;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "forgot.html")]
struct ForgotPage {
    csrf: String,
    email: String,
    error: Option<String>,
    /// Set once a request was made: the same sentence for every address.
    done: Option<String>,
}

#[derive(Template)]
#[template(path = "reset.html")]
struct ResetPage {
    csrf: String,
    token: String,
    error: Option<String>,
    done: bool,
}

fn forgot(st: &AppState, status: StatusCode, email: String, error: Option<String>, done: Option<String>) -> PageResult {
    let pre = random_b64(18);
    Ok(with_pre(st, status, pre.clone(), render(status, ForgotPage { csrf: pre, email, error, done })))
}

fn reset(st: &AppState, status: StatusCode, token: String, error: Option<String>, done: bool) -> PageResult {
    let pre = random_b64(18);
    Ok(with_pre(st, status, pre.clone(), render(status, ResetPage { csrf: pre, token, error, done })))
}

async fn forgot_page(State(st): State<AppState>) -> PageResult {
    forgot(&st, StatusCode::OK, String::new(), None, None)
}

#[derive(Deserialize)]
struct ForgotForm {
    csrf: String,
    email: String,
}

async fn forgot_submit(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(f): Form<ForgotForm>,
) -> PageResult {
    if !pre_ok(&headers, &f.csrf) {
        return forgot(&st, StatusCode::FORBIDDEN, f.email, Some("The form expired; please submit it again.".into()), None);
    }
    let asked = match crate::http::auth_limit(&st, ip.as_deref(), "reset") {
        Ok(()) => recovery::request_reset(&st, &f.email, ip.as_deref()).await,
        Err(e) => Err(e),
    };
    match asked {
        Ok(()) => forgot(&st, StatusCode::OK, f.email, None, Some(recovery::REQUESTED.into())),
        Err(e) if e.status().is_client_error() => forgot(&st, e.status(), f.email, Some(e.public_detail()), None),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: String,
}

async fn reset_page(State(st): State<AppState>, Query(q): Query<TokenQuery>) -> PageResult {
    if q.token.is_empty() {
        let msg = "This page needs the link from the reset message: ask for one below.".to_string();
        return forgot(&st, StatusCode::BAD_REQUEST, String::new(), Some(msg), None);
    }
    reset(&st, StatusCode::OK, q.token, None, false)
}

#[derive(Deserialize)]
struct ResetForm {
    csrf: String,
    token: String,
    password: String,
    confirm: String,
}

async fn reset_submit(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(f): Form<ResetForm>,
) -> PageResult {
    if !pre_ok(&headers, &f.csrf) {
        return reset(&st, StatusCode::FORBIDDEN, f.token, Some("The form expired; please submit it again.".into()), false);
    }
    if f.password != f.confirm {
        let msg = "The two passwords differ; type the same new password twice.".to_string();
        return reset(&st, StatusCode::BAD_REQUEST, f.token, Some(msg), false);
    }
    let done = match crate::http::auth_limit(&st, ip.as_deref(), "reset") {
        Ok(()) => recovery::confirm_reset(&st, &f.token, &f.password, ip.as_deref()).await,
        Err(e) => Err(e),
    };
    match done {
        Ok(()) => reset(&st, StatusCode::OK, String::new(), None, true),
        Err(e) if e.status().is_client_error() => reset(&st, e.status(), f.token, Some(e.public_detail()), false),
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "verify.html")]
struct VerifyPage {
    /// The verified address, or None with `error`.
    email: Option<String>,
    error: Option<String>,
}

/// The mailed link: verifies at once (the token is the proof; no form to fill).
async fn verify_page(State(st): State<AppState>, Query(q): Query<TokenQuery>) -> PageResult {
    match recovery::verify_email(&st, &q.token).await {
        Ok(email) => Ok(render(StatusCode::OK, VerifyPage { email: Some(email), error: None })),
        Err(e) if e.status().is_client_error() => {
            Ok(render(e.status(), VerifyPage { email: None, error: Some(e.public_detail()) }))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

/// The dashboard's "send a new link" button.
async fn verify_resend(State(st): State<AppState>, pu: PageUser, Form(f): Form<CsrfForm>) -> PageResult {
    pu.check(&st, &f.csrf)?;
    match recovery::resend_verification(&st, &pu.caller()).await {
        Ok(()) => Ok(Redirect::to("/?verification=sent").into_response()),
        Err(e) if e.status().is_client_error() => {
            super::dashboard_page(&st, &pu, Some(e.public_detail()), e.status()).await
        }
        Err(e) => Err(e.into()),
    }
}

pub(super) fn routes() -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/forgot-password", get(forgot_page).post(forgot_submit))
        .route("/reset-password", get(reset_page).post(reset_submit))
        .route("/verify-email", get(verify_page))
        .route("/verify-email/resend", post(verify_resend))
}
