//! Password reset. A request answers the same whether or not the address has an account. A
//! link (`{public_url}/reset-password?token=…`) carries a single-use token that expires after
//! 30 minutes; only its SHA-256 hash is stored. Confirming it sets the new password and signs
//! the account out everywhere: refresh tokens and browser sessions are revoked, and access
//! tokens issued before the reset are refused (`accounts::bearer`).
//!
//! Until mail delivery is configured, the link is held in the outbox, sealed with the server
//! key, and listed for server administrators on the admin page, who pass it on; `flowcfd
//! admin reset-link EMAIL` prints one for the operator.
use super::accounts::hashing;
use super::Caller;
use crate::auth;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::{new_id, now_ms, OutboxMail, User};
use serde::Serialize;

/// How long a reset link works.
pub const RESET_TTL_MS: i64 = 30 * 60 * 1000;
/// Reset links one account may be sent per hour (more requests are answered the same, and
/// dropped).
pub const RESETS_PER_HOUR: i64 = 5;
/// The answer to every reset request.
pub const REQUESTED: &str = "if an account has this email address, a reset link is on its way to it; the link works \
     once, for 30 minutes";
/// The outbox kind and token purpose of a reset.
const RESET: &str = "reset";

/// The URL people reach the server at (`public_url`, else the bind address).
pub fn base_url(st: &AppState) -> String {
    match &st.cfg.public_url {
        Some(u) => u.trim_end_matches('/').to_string(),
        None => format!("http://{}", st.cfg.bind),
    }
}

/// Makes a reset token for `user`, stores its hash and the held mail that carries its link,
/// and returns the link.
async fn issue(st: &AppState, user: &User) -> AppResult<String> {
    let token = auth::new_token("");
    let link = format!("{}/reset-password?token={token}", base_url(st));
    let now = now_ms();
    let mail = OutboxMail {
        id: new_id(),
        kind: RESET.into(),
        user_id: Some(user.id.clone()),
        to_addr: user.email.clone(),
        subject: format!("Reset your {} password", st.cfg.server.instance_name),
        link_sealed: Some(st.keys.seal(link.as_bytes())),
        // Without mail delivery the link waits for an administrator.
        held: st.cfg.email.is_none(),
        expires_at: Some(now + RESET_TTL_MS),
        created_at: now,
        attempts: 0,
        last_error: None,
    };
    st.store.issue_user_token(RESET, &auth::token_hash(&token), &mail).await?;
    Ok(link)
}

/// `POST /api/auth/password-reset`: the same answer (and about the same work) whether or
/// not `email` has an account. A disabled or provider-only account gets no link.
pub async fn request_reset(st: &AppState, email: &str, ip: Option<&str>) -> AppResult<()> {
    let Ok(email) = auth::normalise_email(email) else {
        return Err(AppError::BadRequest(
            "email must be an email address, like ada@example.com: the reset link goes there".into(),
        ));
    };
    let Some(user) = st.store.user_by_email(&email).await? else {
        st.store.audit(None, "user.reset_unknown", None, &serde_json::json!({"email": email}).to_string(), ip).await?;
        return Ok(());
    };
    let recent = st.store.user_tokens_since(&user.id, RESET, now_ms() - 3_600_000).await?;
    if user.disabled || user.password_hash.is_none() || recent >= RESETS_PER_HOUR {
        st.store.audit(Some(&user.id), "user.reset_refused", Some(&user.id), "{}", ip).await?;
        return Ok(());
    }
    issue(st, &user).await?;
    st.store.audit(Some(&user.id), "user.reset_requested", Some(&user.id), "{}", ip).await?;
    Ok(())
}

/// `POST /api/auth/password-reset/confirm`: spends the token and sets the new password. A
/// token that is unknown, used or expired is a 400 that says to ask for a new link.
pub async fn confirm_reset(st: &AppState, token: &str, password: &str, ip: Option<&str>) -> AppResult<()> {
    let dead = || {
        AppError::BadRequest(
            "this reset link is unknown, already used or expired (links work once, for 30 minutes): ask for a new one"
                .into(),
        )
    };
    let token = token.trim();
    if token.is_empty() || token.len() > 200 {
        return Err(dead());
    }
    let hash = auth::token_hash(token);
    // The password is checked before the token is spent, so a weak password costs no link;
    // the account's email (for the check) is only known once the token names it, so the
    // email-independent rules come first and the full check after.
    auth::check_password(password, "").map_err(AppError::BadRequest)?;
    let now = now_ms();
    let user_id = st.store.use_user_token(&hash, RESET, now).await?.ok_or_else(dead)?;
    let user = st.store.user(&user_id).await?.filter(|u| !u.disabled).ok_or_else(dead)?;
    if let Err(e) = auth::check_password(password, &user.email) {
        // Spent on a password that contains the address: a new link is one request away.
        return Err(AppError::BadRequest(format!("{e}; ask for a new reset link and choose another password")));
    }
    let pw = password.to_string();
    let new_hash = hashing(st, move || auth::hash_password(&pw)).await?;
    st.store.reset_password(&user.id, &new_hash, now, ip).await?;
    st.user_cache.forget(&user.id);
    super::login_backoff::succeeded(st, &super::login_backoff::account_key(&user.email)).await?;
    Ok(())
}

/// A reset link for `email`, made by an administrator (`flowcfd admin reset-link`, the admin
/// page) to pass on; audited. None when there is no such password account.
pub async fn reset_link(st: &AppState, actor: Option<&str>, email: &str) -> AppResult<Option<String>> {
    let email = auth::normalise_email(email).map_err(AppError::BadRequest)?;
    let Some(user) = st.store.user_by_email(&email).await?.filter(|u| u.password_hash.is_some()) else {
        return Ok(None);
    };
    let link = issue(st, &user).await?;
    st.store.audit(actor, "admin.reset_link", Some(&user.id), "{}", None).await?;
    Ok(Some(link))
}

/// A held message as a server administrator sees it: the link unsealed.
#[derive(Debug, Clone, Serialize)]
pub struct HeldLink {
    pub to: String,
    pub kind: String,
    pub subject: String,
    pub link: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

/// The links waiting to be passed on (no mail server configured), for server admins.
pub async fn held_links(st: &AppState, caller: &Caller) -> AppResult<Vec<HeldLink>> {
    if !caller.user.is_admin {
        return Err(AppError::Forbidden("only server administrators see the links waiting to be passed on".into()));
    }
    let mut out = Vec::new();
    for m in st.store.held_mail(now_ms(), 100).await? {
        let Some(sealed) = &m.link_sealed else { continue };
        // A link sealed under an earlier server key cannot be read; it is skipped.
        let Ok(link) = st.keys.unseal(sealed) else { continue };
        out.push(HeldLink {
            to: m.to_addr,
            kind: m.kind,
            subject: m.subject,
            link: String::from_utf8_lossy(&link).into_owned(),
            created_at: m.created_at,
            expires_at: m.expires_at,
        });
    }
    Ok(out)
}
