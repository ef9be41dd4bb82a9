//! Password reset. A request answers the same whether or not the address has an account. A
//! link (`{public_url}/reset-password?token=…`) carries a single-use token that expires after
//! 30 minutes; only its SHA-256 hash is stored. Confirming it sets the new password and signs
//! the account out everywhere: refresh tokens and browser sessions are revoked, and access
//! tokens issued before the reset are refused (`accounts::bearer`).
//!
//! Until mail delivery is configured, the link is held in the outbox, sealed with the server
//! key, and listed for server administrators on the admin page, who pass it on; `flowcfd
//! admin reset-link EMAIL` prints one for the operator.
//!
//! Email verification works the same way, with a 48-hour link to `/verify-email?token=…`:
//! when mail is configured, an account registered with a password can sign in at once but
//! submits no job and accepts no invitation until it has opened the link (`require_verified`).
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
/// The outbox kind and token purpose of an email verification.
const VERIFY: &str = "verify";
/// How long a verification link works.
pub const VERIFY_TTL_MS: i64 = 48 * 3600 * 1000;
/// Verification links one account may ask for in a day.
pub const VERIFY_RESENDS_PER_DAY: i64 = 5;

/// The URL people reach the server at (`public_url`, else the bind address).
pub fn base_url(st: &AppState) -> String {
    match &st.cfg.public_url {
        Some(u) => u.trim_end_matches('/').to_string(),
        None => format!("http://{}", st.cfg.bind),
    }
}

/// Makes a `purpose` token for `user`, stores its hash and the mail that carries its link
/// (mailed, or held for administrators without `[email]`), and returns the link.
async fn issue(st: &AppState, user: &User, purpose: &str) -> AppResult<String> {
    let token = auth::new_token("");
    let name = &st.cfg.server.instance_name;
    let (page, subject, ttl) = match purpose {
        VERIFY => ("verify-email", format!("Verify your email address for {name}"), VERIFY_TTL_MS),
        _ => ("reset-password", format!("Reset your {name} password"), RESET_TTL_MS),
    };
    let link = format!("{}/{page}?token={token}", base_url(st));
    let now = now_ms();
    let mail = OutboxMail {
        id: new_id(),
        kind: purpose.into(),
        user_id: Some(user.id.clone()),
        to_addr: user.email.clone(),
        subject,
        link_sealed: Some(st.keys.seal(link.as_bytes())),
        detail: None,
        // Without mail delivery the link waits for an administrator.
        held: st.cfg.email.is_none(),
        expires_at: Some(now + ttl),
        created_at: now,
        attempts: 0,
        last_error: None,
    };
    st.store.issue_user_token(purpose, &auth::token_hash(&token), &mail).await?;
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
    issue(st, &user, RESET).await?;
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
    st.store.reset_password(&user.id, &new_hash, now, ip, crate::store::PasswordSet::Reset).await?;
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
    let link = issue(st, &user, RESET).await?;
    st.store.audit(actor, "admin.reset_link", Some(&user.id), "{}", None).await?;
    Ok(Some(link))
}

/// Whether `user` still has to show that the address is theirs: only when mail is configured
/// and the account has not opened its link.
pub fn needs_verification(st: &AppState, user: &User) -> bool {
    st.cfg.email.is_some() && user.email_verified_at.is_none()
}

/// The gate of job submission and invitation acceptance.
pub fn require_verified(st: &AppState, caller: &Caller, what: &str) -> AppResult<()> {
    if needs_verification(st, &caller.user) {
        return Err(AppError::Forbidden(format!(
            "verify your email address before you {what}: open the link mailed to {}, or ask for a new one \
             (the dashboard's button, or POST /api/auth/verify/resend)",
            caller.user.email
        )));
    }
    Ok(())
}

/// Mails a new account its verification link (nothing without `[email]`).
pub async fn send_verification(st: &AppState, user: &User) -> AppResult<()> {
    if needs_verification(st, user) {
        issue(st, user, VERIFY).await?;
    }
    Ok(())
}

/// `POST /api/auth/verify/resend`: a new link, at most one a minute and
/// [`VERIFY_RESENDS_PER_DAY`] a day.
pub async fn resend_verification(st: &AppState, caller: &Caller) -> AppResult<()> {
    if st.cfg.email.is_none() {
        return Err(AppError::Conflict("this server sends no mail, so there is nothing to verify".into()));
    }
    if caller.user.email_verified_at.is_some() {
        return Err(AppError::Conflict(format!("{} is verified already", caller.user.email)));
    }
    let now = now_ms();
    if st.store.user_tokens_since(caller.id(), VERIFY, now - 60_000).await? > 0 {
        return Err(AppError::RateLimited(60));
    }
    if st.store.user_tokens_since(caller.id(), VERIFY, now - 24 * 3600 * 1000).await? >= VERIFY_RESENDS_PER_DAY {
        return Err(AppError::RateLimited(3600));
    }
    issue(st, &caller.user, VERIFY).await?;
    st.store.audit(Some(caller.id()), "user.verify_resent", Some(caller.id()), "{}", None).await?;
    Ok(())
}

/// `POST /api/auth/verify` and the mailed link's page: spends the token and records the
/// address as verified; the account's email.
pub async fn verify_email(st: &AppState, token: &str) -> AppResult<String> {
    let dead = || {
        AppError::BadRequest(
            "this verification link is unknown, already used or expired (links work for 48 hours): sign in and ask for a new one"
                .into(),
        )
    };
    let token = token.trim();
    if token.is_empty() || token.len() > 200 {
        return Err(dead());
    }
    let now = now_ms();
    let user_id = st.store.use_user_token(&auth::token_hash(token), VERIFY, now).await?.ok_or_else(dead)?;
    let user = st.store.user(&user_id).await?.ok_or_else(dead)?;
    st.store.set_email_verified(&user_id, now).await?;
    st.user_cache.forget(&user_id);
    st.store.audit(Some(&user_id), "user.email_verified", Some(&user_id), "{}", None).await?;
    Ok(user.email)
}

/// Mails `email` its invitation to `org_name` as `role` from `inviter` (held for
/// administrators without `[email]`). The link leads to sign-in or registration with that
/// address, after which the dashboard offers to accept or decline.
pub async fn mail_invitation(
    st: &AppState,
    email: &str,
    org_name: &str,
    inviter: &str,
    role: &str,
    expires_at: i64,
) -> AppResult<()> {
    let base = base_url(st);
    let now = now_ms();
    let detail = serde_json::json!({"org": org_name, "inviter": inviter, "role": role, "base": base});
    let mail = OutboxMail {
        id: new_id(),
        kind: "invite".into(),
        user_id: None,
        to_addr: email.to_string(),
        subject: format!("{inviter} invited you to {org_name} on {}", st.cfg.server.instance_name),
        link_sealed: Some(st.keys.seal(format!("{base}/").as_bytes())),
        detail: Some(detail.to_string()),
        held: st.cfg.email.is_none(),
        expires_at: Some(expires_at),
        created_at: now,
        attempts: 0,
        last_error: None,
    };
    st.store.mail_add(&mail).await?;
    Ok(())
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
