//! Org membership by consent: an org's owners and admins invite an email, and the person
//! signed in with that email accepts or declines. Inviting answers the same whether or not
//! the email has an account (nothing is looked up), so it cannot be used to find accounts;
//! until they accept, the invitee sees the invitation and nothing else of the org.
//! Invitations expire after seven days, like GitHub's organization invitations.
use super::{projects, Caller};
use crate::auth;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::{now_ms, Invitation, InvitationView, Member, Org, Role};
use serde_json::json;

/// How long an invitation waits for its invitee.
pub const INVITATION_TTL_MS: i64 = 7 * 24 * 3600 * 1000;

/// Pending invitations one org may have at once (GitHub allows an org 500 a day), so that
/// an admin's script cannot fill the table; renewing one already pending is always allowed.
pub const MAX_PENDING_INVITATIONS: usize = 500;

/// A role someone can be invited to or given: every role but owner.
fn grantable(role: &str) -> AppResult<Role> {
    match Role::parse(role) {
        Some(Role::Owner) | None => {
            Err(AppError::Validation(format!("role {role:?}: expected admin, editor or viewer (\"member\" is accepted for editor)")))
        }
        Some(r) => Ok(r),
    }
}

/// Invites `email` to the org as `role` (owners and admins only); returns the invitation's
/// id. Whether the email has an account, or is already a member, changes nothing here.
pub async fn invite(st: &AppState, caller: &Caller, org_id: &str, email: &str, role: &str) -> AppResult<String> {
    let org = projects::org(st, caller, org_id, true).await?;
    let email = auth::normalise_email(email).map_err(AppError::Validation)?;
    let role = grantable(role)?;
    // The cap depends only on the org's own invitations, so it tells nothing about accounts.
    let pending = st.store.org_invitations(org_id).await?;
    if pending.len() >= MAX_PENDING_INVITATIONS && !pending.iter().any(|i| i.email == email) {
        return Err(AppError::Conflict(format!(
            "this organization has {} pending invitations, the most it may have at once; withdraw some \
             (DELETE /api/orgs/{org_id}/invitations/ID) or wait for them to be accepted or to expire",
            pending.len()
        )));
    }
    let expires_at = now_ms() + INVITATION_TTL_MS;
    let id = st.store.invite(org_id, &email, role, caller.id(), expires_at).await?;
    let inviter = &caller.user.name;
    super::recovery::mail_invitation(st, &email, &org.name, inviter, role.as_str(), expires_at).await?;
    let detail = json!({"invitation": id, "email": email, "role": role}).to_string();
    st.store.audit(Some(caller.id()), "org.invite", Some(org_id), &detail, None).await?;
    Ok(id)
}

/// The org's pending invitations (owners and admins only).
pub async fn org_invitations(st: &AppState, caller: &Caller, org_id: &str) -> AppResult<Vec<Invitation>> {
    projects::org(st, caller, org_id, true).await?;
    Ok(st.store.org_invitations(org_id).await?)
}

/// Withdraws a pending invitation (owners and admins only).
pub async fn revoke(st: &AppState, caller: &Caller, org_id: &str, id: &str) -> AppResult<()> {
    projects::org(st, caller, org_id, true).await?;
    if !st.store.revoke_invitation(org_id, id).await? {
        return Err(AppError::NotFound("invitation"));
    }
    st.store
        .audit(Some(caller.id()), "org.invite_revoke", Some(org_id), &json!({"invitation": id}).to_string(), None)
        .await?;
    Ok(())
}

/// The caller's pending invitations: those addressed to their account's email.
pub async fn pending(st: &AppState, caller: &Caller) -> AppResult<Vec<InvitationView>> {
    Ok(st.store.invitations_for(&caller.user.email).await?)
}

/// Accepts one of the caller's invitations: they become a member with the invited role.
/// Anyone else's invitation, or an expired one, is "not found".
pub async fn accept(st: &AppState, caller: &Caller, id: &str) -> AppResult<Org> {
    // An invitation goes to an address: only its proven owner may take it.
    super::recovery::require_verified(st, caller, "join an organization")?;
    let pending = st.store.invitations_for(&caller.user.email).await?;
    if let Some(inv) = pending.iter().find(|i| i.id == id) {
        super::limits::seat_for(st, &inv.org_id).await?;
    }
    let (org_id, role) = st
        .store
        .accept_invitation(caller.id(), &caller.user.email, id)
        .await?
        .ok_or(AppError::NotFound("invitation"))?;
    let detail = json!({"invitation": id, "role": role}).to_string();
    st.store.audit(Some(caller.id()), "org.join", Some(&org_id), &detail, None).await?;
    st.store.org(caller.id(), &org_id).await?.ok_or(AppError::NotFound("organization"))
}

/// Declines one of the caller's invitations.
pub async fn decline(st: &AppState, caller: &Caller, id: &str) -> AppResult<()> {
    if !st.store.decline_invitation(&caller.user.email, id).await? {
        return Err(AppError::NotFound("invitation"));
    }
    st.store.audit(Some(caller.id()), "org.decline", None, &json!({"invitation": id}).to_string(), None).await?;
    Ok(())
}

/// Changes a member's role (owners and admins only; the owner's role stays).
pub async fn set_role(
    st: &AppState,
    caller: &Caller,
    org_id: &str,
    user_id: &str,
    role: &str,
) -> AppResult<Vec<Member>> {
    projects::org(st, caller, org_id, true).await?;
    let role = grantable(role)?;
    if !st.store.set_member_role(org_id, user_id, role).await? {
        let members = st.store.members(org_id).await?;
        return Err(if members.iter().any(|m| m.user_id == user_id) {
            AppError::Validation("the owner's role cannot be changed".into())
        } else {
            AppError::NotFound("member")
        });
    }
    let detail = json!({"user": user_id, "role": role}).to_string();
    st.store.audit(Some(caller.id()), "org.member", Some(org_id), &detail, None).await?;
    Ok(st.store.members(org_id).await?)
}
