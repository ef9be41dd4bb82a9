//! The caller's own account: name and job-mail setting, password change, and the live
//! sign-ins with their revocation (the account page and `/api/me`).
use super::accounts::hashing;
use super::Caller;
use crate::auth;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::{now_ms, SignIn, User};
use serde::Deserialize;

/// What `PATCH /api/me` changes (absent keys stay).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MePatch {
    pub name: Option<String>,
    /// Mail when a job you submitted ends.
    pub notify_jobs: Option<bool>,
}

/// Applies `patch` to the caller's account; the account after it.
pub async fn update(st: &AppState, caller: &Caller, patch: &MePatch) -> AppResult<User> {
    if let Some(name) = &patch.name {
        let n = name.trim();
        if n.is_empty() || n.chars().count() > 120 || n.chars().any(char::is_control) {
            return Err(AppError::Validation("name must be 1 to 120 characters, with no control characters".into()));
        }
        st.store.rename_user(caller.id(), n).await?;
    }
    if let Some(on) = patch.notify_jobs {
        st.store.set_notify_jobs(caller.id(), on).await?;
    }
    st.user_cache.forget(caller.id());
    st.store.user(caller.id()).await?.ok_or(AppError::NotFound("user"))
}

/// Changes the caller's password after checking the current one. Like a reset, it ends
/// every sign-in and refuses earlier access tokens (the page starts a new session for the
/// browser it came from); API tokens stay.
pub async fn change_password(st: &AppState, caller: &Caller, current: &str, new: &str, ip: Option<&str>) -> AppResult<()> {
    let Some(hash) = caller.user.password_hash.clone() else {
        return Err(AppError::BadRequest(format!(
            "this account signs in through {} and has no password here; change it there",
            caller.user.auth_provider
        )));
    };
    let cur = current.to_string();
    if !hashing(st, move || auth::verify_password(&hash, &cur)).await? {
        return Err(AppError::BadRequest("the current password is not right; nothing was changed".into()));
    }
    auth::check_password(new, &caller.user.email).map_err(AppError::BadRequest)?;
    let pw = new.to_string();
    let new_hash = hashing(st, move || auth::hash_password(&pw)).await?;
    st.store.reset_password(caller.id(), &new_hash, now_ms(), ip, crate::store::PasswordSet::Change).await?;
    st.user_cache.forget(caller.id());
    Ok(())
}

/// The caller's live sign-ins.
pub async fn sign_ins(st: &AppState, caller: &Caller) -> AppResult<Vec<SignIn>> {
    Ok(st.store.sign_ins(caller.id(), now_ms()).await?)
}

/// Ends one of the caller's sign-ins.
pub async fn revoke_sign_in(st: &AppState, caller: &Caller, id: &str) -> AppResult<()> {
    if !st.store.revoke_sign_in(caller.id(), id).await? {
        return Err(AppError::NotFound("session"));
    }
    st.store.audit(Some(caller.id()), "user.session_revoke", Some(id), "{}", None).await?;
    Ok(())
}

/// The family id of the browser session the caller came with, if any (to mark it "this
/// browser" and keep the page from revoking itself unawares).
pub async fn current_sign_in(st: &AppState, caller: &Caller) -> AppResult<Option<String>> {
    match &caller.via {
        super::Via::Session(token) => Ok(st.store.refresh_by_hash(&auth::token_hash(token)).await?.map(|r| r.family_id)),
        _ => Ok(None),
    }
}
