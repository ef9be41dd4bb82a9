//! The per-account sign-in back-off, beside the per-address limit: after
//! `limits.login_backoff_after` failed sign-ins to one account, each further try waits 1 s,
//! then 2, 4, … up to `limits.login_backoff_max_s` (exponential back-off, as Okta and
//! fail2ban's `bantime.increment` do, rather than a lock that an administrator must lift).
//! The right password works again as soon as the current wait is over, and a success
//! resets the count. The counts live in the database, so every replica sees them.
//!
//! Accounts are keyed by the SHA-256 of the normalised email, whether or not the account
//! exists: unknown and known emails back off alike (no enumeration), and addresses typed
//! by strangers are not stored.
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::now_ms;

/// A failure streak is forgotten after a day without failures (or twice the longest wait).
const FORGET_MS: i64 = 24 * 3600 * 1000;

/// The key of the account an email names.
pub fn account_key(email: &str) -> String {
    crate::auth::sha256_hex(email.trim().to_lowercase().as_bytes())
}

/// The wait after the `failures`-th failure in a row, seconds (0: none).
pub fn wait_s(failures: i64, after: u32, max_s: u64) -> u64 {
    if after == 0 || failures < i64::from(after) {
        return 0;
    }
    let doublings = u32::try_from(failures - i64::from(after)).unwrap_or(u32::MAX).min(62);
    (1u64 << doublings).min(max_s)
}

/// `Err(LoginBackoff)` while the account must wait.
pub async fn check(st: &AppState, account: &str) -> AppResult<()> {
    if st.cfg.limits.login_backoff_after == 0 {
        return Ok(());
    }
    let now = now_ms();
    match st.store.login_locked_until(account).await? {
        Some(until) if until > now => Err(AppError::LoginBackoff(((until - now + 999) / 1000).max(1) as u64)),
        _ => Ok(()),
    }
}

/// Counts a failed sign-in and starts the account's next wait.
pub async fn failed(st: &AppState, account: &str) -> AppResult<()> {
    let l = &st.cfg.limits;
    if l.login_backoff_after == 0 {
        return Ok(());
    }
    let now = now_ms();
    let forget = FORGET_MS.max(2000 * l.login_backoff_max_s as i64);
    let failures = st.store.login_failed(account, now, now - forget).await?;
    let wait = wait_s(failures, l.login_backoff_after, l.login_backoff_max_s);
    if wait > 0 {
        st.store.lock_login(account, now + wait as i64 * 1000).await?;
    }
    Ok(())
}

/// Forgets the account's failures after a successful sign-in.
pub async fn succeeded(st: &AppState, account: &str) -> AppResult<()> {
    if st.cfg.limits.login_backoff_after == 0 {
        return Ok(());
    }
    Ok(st.store.login_succeeded(account).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_from_one_second_up_to_the_cap() {
        let w: Vec<u64> = (1..=16).map(|n| wait_s(n, 5, 900)).collect();
        assert_eq!(w, [0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]);
        assert_eq!(wait_s(10_000, 5, 900), 900, "no overflow");
        assert_eq!(wait_s(50, 0, 900), 0, "0 turns it off");
        assert_eq!(account_key(" Alice@Example.org "), account_key("alice@example.org"));
    }
}
