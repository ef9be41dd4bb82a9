//! `/account`: the signed-in user's name, job mail, password, live sign-ins and API tokens.
//! One form handler, `POST /account`, whose `action` says which form was sent.
use super::{render, when, PageResult, PageUser};
use crate::error::AppError;
use crate::service::{account, accounts};
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;

struct SignInRow {
    id: String,
    kind: &'static str,
    signed_in: String,
    renewed: String,
    current: bool,
}

struct TokenRow {
    id: String,
    name: String,
    prefix: String,
    created: String,
    last_used: String,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    user: crate::store::User,
    csrf: String,
    has_password: bool,
    mail_configured: bool,
    sign_ins: Vec<SignInRow>,
    tokens: Vec<TokenRow>,
    /// A token just created: shown once.
    new_token: Option<String>,
    notice: Option<String>,
    error: Option<String>,
}

async fn page(st: &AppState, pu: &PageUser, new_token: Option<String>, notice: Option<String>, error: Option<String>, status: StatusCode) -> PageResult {
    let caller = pu.caller();
    let user = st.store.user(&pu.user.id).await.map_err(AppError::from)?.unwrap_or_else(|| pu.user.clone());
    let current = account::current_sign_in(st, &caller).await?;
    let sign_ins = account::sign_ins(st, &caller)
        .await?
        .into_iter()
        .map(|s| SignInRow {
            current: current.as_deref() == Some(s.id.as_str()),
            kind: if s.kind == "session" { "browser" } else { "API client (refresh token)" },
            signed_in: when(s.signed_in_at),
            renewed: when(s.renewed_at),
            id: s.id,
        })
        .collect();
    let tokens = st
        .store
        .list_api_tokens(&pu.user.id)
        .await
        .map_err(AppError::from)?
        .into_iter()
        .map(|t| TokenRow {
            id: t.id,
            name: t.name,
            prefix: t.prefix,
            created: when(t.created_at),
            last_used: t.last_used_at.map(when).unwrap_or_else(|| "never".into()),
        })
        .collect();
    let p = AccountPage {
        has_password: user.password_hash.is_some(),
        mail_configured: st.cfg.email.is_some(),
        user,
        csrf: pu.csrf.clone(),
        sign_ins,
        tokens,
        new_token,
        notice,
        error,
    };
    Ok(render(status, p))
}

async fn show(State(st): State<AppState>, pu: PageUser) -> PageResult {
    page(&st, &pu, None, None, None, StatusCode::OK).await
}

#[derive(Deserialize)]
struct AccountForm {
    csrf: String,
    action: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    notify_jobs: Option<String>,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    id: String,
}

async fn submit(State(st): State<AppState>, pu: PageUser, Form(f): Form<AccountForm>) -> PageResult {
    pu.check(&st, &f.csrf)?;
    let caller = pu.caller();
    let done = match f.action.as_str() {
        "profile" => {
            let patch = account::MePatch { name: Some(f.name.clone()), notify_jobs: Some(f.notify_jobs.is_some()) };
            account::update(&st, &caller, &patch).await.map(|_| (None, Some("Saved.".to_string())))
        }
        "password" => match account::change_password(&st, &caller, &f.current_password, &f.new_password, None).await {
            // Every sign-in ended, this one too: the browser gets a new session.
            Ok(()) => {
                let token = accounts::start_session(&st, &pu.user).await?;
                return Ok(super::sign_in::session_response(&st, &token, "/account?changed=password"));
            }
            Err(e) => Err(e),
        },
        "revoke-session" => account::revoke_sign_in(&st, &caller, &f.id).await.map(|_| (None, Some("Signed out there.".into()))),
        "create-token" => accounts::create_api_token(&st, &caller, &f.name)
            .await
            .map(|(_, token)| (Some(token), Some("Token created. Copy it now: it is not shown again.".into()))),
        "revoke-token" => match st.store.revoke_api_token(&pu.user.id, &f.id).await.map_err(AppError::from)? {
            true => Ok((None, Some("Token revoked.".into()))),
            false => Err(AppError::NotFound("API token")),
        },
        other => Err(AppError::BadRequest(format!("unknown action {other:?}"))),
    };
    match done {
        Ok((token, notice)) => page(&st, &pu, token, notice, None, StatusCode::OK).await,
        Err(e) if e.status().is_client_error() => page(&st, &pu, None, None, Some(e.public_detail()), e.status()).await,
        Err(e) => Err(e.into()),
    }
}

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/account", get(show).post(submit))
}
