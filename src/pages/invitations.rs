//! The dashboard's pending invitations: who invited the signed-in user to which org, as
//! what, with a form to accept and one to decline.
use super::{dashboard_page, when, PageResult, PageUser};
use crate::error::AppError;
use crate::service::invitations;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::post;
use axum::{Form, Router};
use serde::Deserialize;

/// One pending invitation on the dashboard.
pub(super) struct InvitationRow {
    pub id: String,
    pub org_name: String,
    pub role: &'static str,
    pub inviter: String,
    pub expires_at: String,
}

/// The signed-in user's pending invitations.
pub(super) async fn rows(st: &AppState, pu: &PageUser) -> Result<Vec<InvitationRow>, AppError> {
    Ok(invitations::pending(st, &pu.caller())
        .await?
        .into_iter()
        .map(|i| InvitationRow {
            id: i.id,
            org_name: i.org_name,
            role: i.role.as_str(),
            inviter: i.inviter.unwrap_or_else(|| "someone".into()),
            expires_at: when(i.expires_at),
        })
        .collect())
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn accept(
    State(st): State<AppState>,
    pu: PageUser,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    pu.check(&st, &f.csrf)?;
    match invitations::accept(&st, &pu.caller(), &id).await {
        Ok(_) => Ok(Redirect::to("/").into_response()),
        Err(e) if e.status().is_client_error() => dashboard_page(&st, &pu, Some(e.public_detail()), e.status()).await,
        Err(e) => Err(e.into()),
    }
}

async fn decline(
    State(st): State<AppState>,
    pu: PageUser,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    pu.check(&st, &f.csrf)?;
    match invitations::decline(&st, &pu.caller(), &id).await {
        Ok(()) => Ok(Redirect::to("/").into_response()),
        Err(e) if e.status().is_client_error() => dashboard_page(&st, &pu, Some(e.public_detail()), e.status()).await,
        Err(e) => Err(e.into()),
    }
}

/// `POST /invitations/{id}/accept` and `POST /invitations/{id}/decline`.
pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/invitations/{id}/accept", post(accept)).route("/invitations/{id}/decline", post(decline))
}
