//! Registration, sign-in, token rotation, browser sessions, API tokens, SSO accounts.
use super::{login_backoff, Caller, Via};
use crate::auth::{self, oidc::Identity, API_TOKEN_PREFIX};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::{new_id, now_ms, ApiToken, NewUser, RefreshRow, User};
use serde::Serialize;
use serde_json::json;

/// Setting that closes self-registration (`"false"`).
pub const REGISTRATION_OPEN: &str = "registration_open";

/// What a successful sign-in returns to scripts.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Tokens {
    pub token: String,
    pub refresh_token: String,
    pub token_type: &'static str,
    /// Access-token lifetime, seconds.
    pub expires_in: u64,
}

fn bad(msg: impl Into<String>) -> AppError {
    AppError::Validation(msg.into())
}

/// Opens or closes self-registration (server administrators only), with an audit entry.
pub async fn set_registration_open(st: &AppState, caller: &Caller, open: bool) -> AppResult<()> {
    if !caller.user.is_admin {
        return Err(AppError::Forbidden("only server administrators can change settings".into()));
    }
    st.store.put_setting(REGISTRATION_OPEN, if open { "true" } else { "false" }).await?;
    let detail = serde_json::json!({ "open": open }).to_string();
    st.store.audit(Some(caller.id()), "admin.registration", None, &detail, None).await?;
    Ok(())
}

/// Whether anyone may create an account.
pub async fn registration_open(st: &AppState) -> AppResult<bool> {
    Ok(st.store.setting(REGISTRATION_OPEN).await?.as_deref() != Some("false"))
}

/// What registering did. The API answers both alike, so that registration tells no more
/// about which emails have accounts than signing in does.
#[derive(Debug)]
pub enum Registration {
    /// A new account.
    Created(User),
    /// The email already had an account, which was left as it was. `signed_in` is that
    /// account when the password given is its password (what the sign-in form would say).
    Existing { signed_in: Option<User> },
}

/// What `POST /api/auth/register` answers, whether the email was new or taken.
pub const REGISTERED: &str = "if this email had no account, its account is ready: sign in with POST /api/auth/login \
     (an email that already has an account keeps it and its password)";

/// Creates a password account. The first account becomes admin.
pub async fn register(
    st: &AppState,
    email: &str,
    password: &str,
    name: &str,
    ip: Option<&str>,
) -> AppResult<Registration> {
    let email = auth::normalise_email(email).map_err(bad)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(bad("name must be 1 to 100 characters"));
    }
    auth::check_password(password, &email).map_err(bad)?;
    if !registration_open(st).await? {
        return Err(AppError::Forbidden("registration is closed; ask an administrator for an account".into()));
    }
    if let Some(existing) = st.store.user_by_email(&email).await? {
        // One password check, as long as hashing a new one takes: the time says nothing either.
        let hash = existing.password_hash.clone().unwrap_or_else(dummy_hash);
        let pw = password.to_string();
        let ok = hashing(st, move || auth::verify_password(&hash, &pw)).await?;
        st.store.audit(None, "user.register_taken", Some(&existing.id), "{}", ip).await?;
        return Ok(Registration::Existing { signed_in: Some(existing).filter(|u| ok && !u.disabled) });
    }
    let pw = password.to_string();
    let hash = hashing(st, move || auth::hash_password(&pw)).await?;
    let created = st
        .store
        .create_user(NewUser {
            email: email.clone(),
            name: name.to_string(),
            password_hash: Some(hash),
            auth_provider: "email".into(),
            auth_provider_id: None,
        })
        .await;
    let user = match created {
        Ok(u) => u,
        // Registered by someone else in the meantime.
        Err(crate::store::StoreError::Conflict(_)) => return Ok(Registration::Existing { signed_in: None }),
        Err(e) => return Err(e.into()),
    };
    st.store.audit(Some(&user.id), "user.register", Some(&user.id), "{}", ip).await?;
    super::recovery::send_verification(st, &user).await?;
    Ok(Registration::Created(user))
}

/// Checks an email and password. Unknown email and wrong password get the same answer, and
/// an account that failed too often waits between tries (`login_backoff`).
pub async fn login(st: &AppState, email: &str, password: &str, ip: Option<&str>) -> AppResult<User> {
    let wrong = || AppError::Unauthorized("wrong email or password".into());
    let account = login_backoff::account_key(email);
    login_backoff::check(st, &account).await?;
    let user = st.store.user_by_email(email).await?;
    // Hash even for an unknown email so the answer takes as long either way.
    let hash = user.as_ref().and_then(|u| u.password_hash.clone()).unwrap_or_else(dummy_hash);
    let pw = password.to_string();
    let ok = hashing(st, move || auth::verify_password(&hash, &pw)).await?;
    // Tries checked in parallel with a failure that started a wait keep their answer to
    // themselves, so a burst gets no more answers than one try would.
    login_backoff::check(st, &account).await?;
    let Some(user) = user.filter(|_| ok) else {
        login_backoff::failed(st, &account).await?;
        st.store.audit(None, "user.login_failed", None, &serde_json::json!({"email": email}).to_string(), ip).await?;
        return Err(wrong());
    };
    login_backoff::succeeded(st, &account).await?;
    if user.disabled {
        return Err(AppError::Forbidden("this account is disabled; ask an administrator".into()));
    }
    st.store.audit(Some(&user.id), "user.login", Some(&user.id), "{}", ip).await?;
    Ok(user)
}

/// Runs password hashing on the blocking pool, at most one per core at a time.
pub(super) async fn hashing<T: Send + 'static>(st: &AppState, f: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
    let _permit = st.hashing.acquire().await.map_err(|e| AppError::Internal(e.to_string()))?;
    tokio::task::spawn_blocking(f).await.map_err(|e| AppError::Internal(e.to_string()))
}

/// An argon2id hash of a random password; only the time to check it matters.
fn dummy_hash() -> String {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| auth::hash_password(&auth::random_b64(16))).clone()
}

async fn new_refresh(st: &AppState, user_id: &str, family: &str, kind: &str) -> AppResult<(RefreshRow, String)> {
    let token = auth::new_token("");
    let row = RefreshRow {
        id: new_id(),
        user_id: user_id.to_string(),
        family_id: family.to_string(),
        kind: kind.to_string(),
        token_hash: auth::token_hash(&token),
        expires_at: now_ms() + st.cfg.auth.refresh_ttl_s as i64 * 1000,
        revoked_at: None,
    };
    Ok((row, token))
}

/// A fresh access token and a refresh token starting a new rotation family.
pub async fn issue_tokens(st: &AppState, user: &User) -> AppResult<Tokens> {
    let (row, refresh) = new_refresh(st, &user.id, &new_id(), "refresh").await?;
    st.store.insert_refresh(&row).await?;
    Ok(Tokens {
        token: st.keys.access_token(&user.id, st.cfg.auth.access_ttl_s),
        refresh_token: refresh,
        token_type: "Bearer",
        expires_in: st.cfg.auth.access_ttl_s,
    })
}

/// Trades a refresh token for a new pair. A refresh token works once: presenting a used
/// one revokes its whole family (it was probably stolen).
pub async fn refresh(st: &AppState, refresh_token: &str) -> AppResult<Tokens> {
    let invalid = |m: &str| AppError::Unauthorized(format!("{m}; sign in again"));
    let row = st
        .store
        .refresh_by_hash(&auth::token_hash(refresh_token))
        .await?
        .filter(|r| r.kind == "refresh")
        .ok_or_else(|| invalid("the refresh token is not known"))?;
    if row.revoked_at.is_some() {
        st.store.revoke_family(&row.family_id).await?;
        st.store.audit(Some(&row.user_id), "token.reuse", Some(&row.family_id), "{}", None).await?;
        return Err(invalid("the refresh token was already used or revoked"));
    }
    if row.expires_at < now_ms() {
        return Err(invalid("the refresh token has expired"));
    }
    let user =
        st.store.user(&row.user_id).await?.filter(|u| !u.disabled).ok_or_else(|| invalid("the account is gone"))?;
    let (next, token) = new_refresh(st, &user.id, &row.family_id, "refresh").await?;
    if !st.store.rotate_refresh(&row.id, &next).await? {
        st.store.revoke_family(&row.family_id).await?;
        return Err(invalid("the refresh token was already used"));
    }
    Ok(Tokens {
        token: st.keys.access_token(&user.id, st.cfg.auth.access_ttl_s),
        refresh_token: token,
        token_type: "Bearer",
        expires_in: st.cfg.auth.access_ttl_s,
    })
}

/// Revokes a refresh token's family (sign-out of a script or the CLI).
pub async fn logout(st: &AppState, refresh_token: &str) -> AppResult<()> {
    if let Some(r) = st.store.refresh_by_hash(&auth::token_hash(refresh_token)).await? {
        st.store.revoke_family(&r.family_id).await?;
    }
    Ok(())
}

/// Starts a browser session; returns the cookie value.
pub async fn start_session(st: &AppState, user: &User) -> AppResult<String> {
    let (row, token) = new_refresh(st, &user.id, &new_id(), "session").await?;
    st.store.insert_refresh(&row).await?;
    Ok(token)
}

/// The user behind a session cookie, if the session is live.
pub async fn session_user(st: &AppState, token: &str) -> AppResult<Option<User>> {
    let Some(row) = st.store.refresh_by_hash(&auth::token_hash(token)).await? else { return Ok(None) };
    if row.kind != "session" || row.revoked_at.is_some() || row.expires_at < now_ms() {
        return Ok(None);
    }
    Ok(st.store.user(&row.user_id).await?.filter(|u| !u.disabled))
}

/// Ends a browser session.
pub async fn end_session(st: &AppState, token: &str) -> AppResult<()> {
    logout(st, token).await
}

/// Resolves `Authorization: Bearer …` (an access token or an API token).
pub async fn bearer(st: &AppState, token: &str) -> AppResult<Caller> {
    if token.starts_with(API_TOKEN_PREFIX) {
        let uid = st
            .store
            .api_token_user(&auth::token_hash(token))
            .await?
            .ok_or_else(|| AppError::Unauthorized("the API token is not known or was revoked".into()))?;
        let user = st
            .store
            .user(&uid)
            .await?
            .filter(|u| !u.disabled)
            .ok_or_else(|| AppError::Unauthorized("the API token's account is disabled".into()))?;
        return Ok(Caller { user, via: Via::ApiToken });
    }
    let claims = st.keys.verify_access(token).map_err(|e| AppError::Unauthorized(e.to_string()))?;
    let user = match st.user_cache.get(&claims.sub) {
        Some(u) => Some(u),
        None => {
            let u = st.store.user(&claims.sub).await?;
            if let Some(u) = &u {
                st.user_cache.put(u);
            }
            u
        }
    };
    let user =
        user.filter(|u| !u.disabled).ok_or_else(|| AppError::Unauthorized("the account is gone or disabled".into()))?;
    // A password reset ends the access tokens issued before it.
    let issued_ms = claims.iat_ms.unwrap_or(claims.iat * 1000);
    if user.tokens_valid_after.is_some_and(|after| issued_ms < after) {
        return Err(AppError::Unauthorized("the password was reset after this token was issued; sign in again".into()));
    }
    Ok(Caller { user, via: Via::Access })
}

/// Creates an API token; the token itself is shown once.
pub async fn create_api_token(st: &AppState, caller: &Caller, name: &str) -> AppResult<(ApiToken, String)> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(bad("token name must be 1 to 100 characters"));
    }
    let token = auth::new_token(API_TOKEN_PREFIX);
    let t = ApiToken {
        id: new_id(),
        user_id: caller.id().to_string(),
        name: name.to_string(),
        prefix: token[..API_TOKEN_PREFIX.len() + 6].to_string(),
        last_used_at: None,
        created_at: now_ms(),
    };
    st.store.insert_api_token(&t, &auth::token_hash(&token)).await?;
    st.store.audit(Some(caller.id()), "token.create", Some(&t.id), "{}", None).await?;
    Ok((t, token))
}

/// Finds or creates the account of someone who signed in with a provider.
pub async fn sso_user(st: &AppState, provider: &str, id: &Identity) -> AppResult<User> {
    if let Some(u) = st.store.user_by_provider(provider, &id.subject).await? {
        if u.disabled {
            return Err(AppError::Forbidden("this account is disabled; ask an administrator".into()));
        }
        return Ok(u);
    }
    let email = id
        .email
        .as_deref()
        .map(auth::normalise_email)
        .transpose()
        .map_err(bad)?
        .ok_or_else(|| bad("the identity provider did not share an email address; allow it and try again"))?;
    if st.store.user_by_email(&email).await?.is_some() {
        return Err(AppError::Conflict(format!(
            "an account with {email} already exists; sign in with its password (accounts are not merged automatically)"
        )));
    }
    if !registration_open(st).await? {
        return Err(AppError::Forbidden("registration is closed; ask an administrator for an account".into()));
    }
    let user = st
        .store
        .create_user(NewUser {
            email: email.clone(),
            name: id.name.clone().unwrap_or_else(|| email.clone()),
            password_hash: None,
            auth_provider: provider.to_string(),
            auth_provider_id: Some(id.subject.clone()),
        })
        .await?;
    st.store.audit(Some(&user.id), "user.register_sso", Some(provider), "{}", None).await?;
    // The provider vouches for the address: no verification mail.
    let now = now_ms();
    st.store.set_email_verified(&user.id, now).await?;
    Ok(User { email_verified_at: Some(now), ..user })
}

/// Changes a user's admin or disabled flag. Admins cannot lock themselves out.
pub async fn set_user_flags(
    st: &AppState,
    admin: &Caller,
    id: &str,
    is_admin: Option<bool>,
    disabled: Option<bool>,
) -> AppResult<User> {
    let u = st.store.user(id).await?.ok_or(AppError::NotFound("user"))?;
    let (a, d) = (is_admin.unwrap_or(u.is_admin), disabled.unwrap_or(u.disabled));
    if u.id == admin.id() && (!a || d) {
        return Err(AppError::Validation("you cannot remove your own admin rights or disable yourself".into()));
    }
    st.store.set_user_flags(id, a, d).await?;
    st.user_cache.forget(id);
    if d {
        st.store.revoke_user_tokens(id).await?;
    }
    st.store
        .audit(Some(admin.id()), "admin.user", Some(id), &json!({"is_admin": a, "disabled": d}).to_string(), None)
        .await?;
    st.store.user(id).await?.ok_or(AppError::NotFound("user"))
}
