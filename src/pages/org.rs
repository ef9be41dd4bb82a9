//! `/orgs/{id}`: an organization's members and roles, pending invitations, its name, its
//! usage, and its deletion (the owner types the name to confirm). One form handler,
//! `POST /orgs/{id}`, whose `action` says which form was sent.
use super::{render, when, PageResult, PageUser};
use crate::error::AppError;
use crate::service::{invitations, projects};
use crate::state::AppState;
use crate::store::{Member, Org, Role};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;

struct InvitationRow {
    id: String,
    email: String,
    role: &'static str,
    expires: String,
}

#[derive(Template)]
#[template(path = "org.html")]
struct OrgPage {
    user: crate::store::User,
    csrf: String,
    org: Org,
    members: Vec<Member>,
    invitations: Vec<InvitationRow>,
    /// Whether the caller manages members (owner or admin), and owns it.
    manage: bool,
    owner: bool,
    notice: Option<String>,
    error: Option<String>,
}

async fn page(st: &AppState, pu: &PageUser, id: &str, notice: Option<String>, error: Option<String>, status: StatusCode) -> PageResult {
    let caller = pu.caller();
    let org = projects::org(st, &caller, id, false).await?;
    let manage = org.role >= Role::Admin;
    let invitations = if manage {
        invitations::org_invitations(st, &caller, id)
            .await?
            .into_iter()
            .map(|i| InvitationRow { id: i.id, email: i.email, role: i.role.as_str(), expires: when(i.expires_at) })
            .collect()
    } else {
        Vec::new()
    };
    let members = st.store.members(id).await.map_err(AppError::from)?;
    let p = OrgPage {
        user: pu.user.clone(),
        csrf: pu.csrf.clone(),
        owner: org.role == Role::Owner,
        org,
        members,
        invitations,
        manage,
        notice,
        error,
    };
    Ok(render(status, p))
}

async fn show(State(st): State<AppState>, pu: PageUser, Path(id): Path<String>) -> PageResult {
    page(&st, &pu, &id, None, None, StatusCode::OK).await
}

#[derive(Deserialize)]
struct OrgForm {
    csrf: String,
    action: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    confirm: String,
}

async fn submit(State(st): State<AppState>, pu: PageUser, Path(org): Path<String>, Form(f): Form<OrgForm>) -> PageResult {
    pu.check(&st, &f.csrf)?;
    let c = pu.caller();
    let done: Result<String, AppError> = match f.action.as_str() {
        "rename" => projects::rename_org(&st, &c, &org, &f.name).await.map(|o| format!("Renamed to {}.", o.name)),
        "invite" => invitations::invite(&st, &c, &org, &f.email, &f.role)
            .await
            .map(|_| format!("Invited {} as {}.", f.email.trim(), f.role)),
        "revoke-invitation" => invitations::revoke(&st, &c, &org, &f.id).await.map(|_| "Invitation revoked.".into()),
        "set-role" => invitations::set_role(&st, &c, &org, &f.id, &f.role).await.map(|_| "Role changed.".into()),
        "remove-member" => projects::remove_member(&st, &c, &org, &f.id).await.map(|_| "Member removed.".into()),
        "delete" => match projects::delete_org(&st, &c, &org, &f.confirm).await {
            Ok(()) => return Ok(Redirect::to("/").into_response()),
            Err(e) => Err(e),
        },
        other => Err(AppError::BadRequest(format!("unknown action {other:?}"))),
    };
    match done {
        Ok(notice) => page(&st, &pu, &org, Some(notice), None, StatusCode::OK).await,
        // The page itself answers 404 if the org is gone or not the caller's.
        Err(e) if e.status().is_client_error() => page(&st, &pu, &org, None, Some(e.public_detail()), e.status()).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct NewOrgForm {
    csrf: String,
    name: String,
    slug: String,
}

/// `POST /orgs` (the dashboard's form): creates an org owned by the user and opens it.
async fn create(State(st): State<AppState>, pu: PageUser, Form(f): Form<NewOrgForm>) -> PageResult {
    pu.check(&st, &f.csrf)?;
    match projects::create_org(&st, &pu.caller(), &f.name, &f.slug).await {
        Ok(o) => Ok(Redirect::to(&format!("/orgs/{}", o.id)).into_response()),
        Err(e) if e.status().is_client_error() => {
            super::dashboard_page(&st, &pu, Some(e.public_detail()), e.status()).await
        }
        Err(e) => Err(e.into()),
    }
}

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/orgs", axum::routing::post(create)).route("/orgs/{id}", get(show).post(submit))
}
