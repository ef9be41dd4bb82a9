//! Password reset in the database: single-use account tokens (only their SHA-256 hashes are
//! kept), the mail outbox that carries their links (claimed with a lease by the sender and
//! retried with back-off, or held for an administrator to pass on while no mail server is
//! configured), and the reset itself (new hash, older access tokens refused, every refresh
//! token and session revoked) in one transaction.
use super::db::{sql, Row};
use super::settings::audit_sql;
use super::sql::SqlStore;
use super::{now_ms, Result};
use serde::Serialize;

/// How a password was set, for the audit log: through a reset link, or changed by its
/// signed-in owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordSet {
    Reset,
    Change,
}

impl PasswordSet {
    /// The audit action.
    pub fn action(self) -> &'static str {
        match self {
            PasswordSet::Reset => "user.password_reset",
            PasswordSet::Change => "user.password_change",
        }
    }
}

/// A message in the outbox: a link for a person, sealed with the server key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxMail {
    pub id: String,
    /// What it is for: `reset` (password reset).
    pub kind: String,
    pub user_id: Option<String>,
    pub to_addr: String,
    pub subject: String,
    /// The link, sealed (`Keys::seal`); never shown as it is stored.
    #[serde(skip)]
    pub link_sealed: Option<String>,
    /// What else the message's text needs (the org and inviter of an invitation), as JSON.
    pub detail: Option<String>,
    /// Kept for an administrator to pass on (no mail server is configured).
    pub held: bool,
    /// When the link stops working, ms.
    pub expires_at: Option<i64>,
    pub created_at: i64,
    /// Delivery attempts so far (a claim counts one).
    pub attempts: i64,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
}

const MAIL_COLS: &str =
    "id, kind, user_id, to_addr, subject, link_sealed, detail, held, expires_at, created_at, attempts, last_error";

fn mail_row(r: &Row) -> Result<OutboxMail> {
    Ok(OutboxMail {
        id: r.get("id")?,
        kind: r.get("kind")?,
        user_id: r.get("user_id")?,
        to_addr: r.get("to_addr")?,
        subject: r.get("subject")?,
        link_sealed: r.get("link_sealed")?,
        detail: r.get("detail")?,
        held: r.get("held")?,
        expires_at: r.get("expires_at")?,
        created_at: r.get("created_at")?,
        attempts: r.get("attempts")?,
        last_error: r.get("last_error")?,
    })
}

/// The insert of an outbox message, due at `now`.
pub(super) fn insert_mail(mail: &OutboxMail, now: i64) -> super::db::Sql<'_> {
    sql("INSERT INTO mail_outbox (id, kind, user_id, to_addr, subject, link_sealed, detail, held, expires_at, \
         created_at, attempts, next_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11)")
    .bind(mail.id.as_str())
    .bind(mail.kind.as_str())
    .bind(mail.user_id.as_deref())
    .bind(mail.to_addr.as_str())
    .bind(mail.subject.as_str())
    .bind(mail.link_sealed.as_deref())
    .bind(mail.detail.as_deref())
    .bind(mail.held)
    .bind(mail.expires_at)
    .bind(mail.created_at)
    .bind(now)
}

/// Account tokens, the mail that carries them, and the password reset.
#[async_trait::async_trait]
pub trait RecoveryStore: Send + Sync {
    /// Stores the hash of a new `purpose` token of `user_id` valid until `expires_at`, and
    /// the mail that carries its link, in one transaction. The user's earlier unused tokens
    /// of that purpose are spent, and their unsent mail dropped: only the newest link works.
    async fn issue_user_token(&self, purpose: &str, token_hash: &str, mail: &OutboxMail) -> Result<()>;
    /// Queues a message that carries no token (an invitation).
    async fn mail_add(&self, mail: &OutboxMail) -> Result<()>;
    /// Spends a token: the user it belongs to when it was unused and unexpired at `now`.
    /// One statement, so of two racing uses exactly one succeeds.
    async fn use_user_token(&self, token_hash: &str, purpose: &str, now: i64) -> Result<Option<String>>;
    /// How many `purpose` tokens `user_id` was issued since `since` (ms): the rate limit.
    async fn user_tokens_since(&self, user_id: &str, purpose: &str, since: i64) -> Result<i64>;
    /// Held mail whose link still works at `now`, newest first.
    async fn held_mail(&self, now: i64, limit: i64) -> Result<Vec<OutboxMail>>;
    /// Sets `user_id`'s password hash, refuses its access tokens issued before `now`,
    /// revokes its refresh tokens and sessions and drops its held reset mail, with an audit
    /// entry, in one transaction.
    async fn reset_password(&self, user_id: &str, hash: &str, now: i64, ip: Option<&str>, how: PasswordSet)
        -> Result<()>;
    /// Claims up to `limit` unsent, unheld messages that are due at `now`, each until
    /// `now + lease_ms` (exactly one claimer wins a message).
    async fn mail_claim(&self, now: i64, lease_ms: i64, limit: i64) -> Result<Vec<OutboxMail>>;
    /// Marks a message sent and forgets its link.
    async fn mail_sent(&self, id: &str, now: i64) -> Result<()>;
    /// Schedules a message's next attempt after a failure.
    async fn mail_retry(&self, id: &str, next_at: i64, error: &str) -> Result<()>;
    /// Gives up delivering a message: it is held for an administrator, with the reason.
    async fn mail_hold(&self, id: &str, error: &str) -> Result<()>;
    /// Records that `user_id` owns its address (at `now`, unless it was already).
    async fn set_email_verified(&self, user_id: &str, now: i64) -> Result<()>;
}

#[async_trait::async_trait]
impl RecoveryStore for SqlStore {
    async fn issue_user_token(&self, purpose: &str, token_hash: &str, mail: &OutboxMail) -> Result<()> {
        let user_id = mail.user_id.as_deref().unwrap_or_default();
        let mut conn = self.db.conn().await?;
        let mut tx = conn.begin_write().await?;
        let now = now_ms();
        let spend = sql("UPDATE user_tokens SET used_at = $1 WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL")
            .bind(now)
            .bind(user_id)
            .bind(purpose);
        tx.execute(spend).await?;
        let drop = sql("DELETE FROM mail_outbox WHERE user_id = $1 AND kind = $2 AND sent_at IS NULL")
            .bind(user_id)
            .bind(purpose);
        tx.execute(drop).await?;
        let q = sql("INSERT INTO user_tokens (id, user_id, purpose, token_hash, expires_at, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(mail.id.as_str())
        .bind(user_id)
        .bind(purpose)
        .bind(token_hash)
        .bind(mail.expires_at.unwrap_or(now))
        .bind(now);
        tx.execute(q).await?;
        tx.execute(insert_mail(mail, now)).await?;
        tx.commit().await
    }

    async fn mail_add(&self, mail: &OutboxMail) -> Result<()> {
        self.db.execute(insert_mail(mail, now_ms())).await?;
        Ok(())
    }

    async fn use_user_token(&self, token_hash: &str, purpose: &str, now: i64) -> Result<Option<String>> {
        let q = sql("UPDATE user_tokens SET used_at = $1 \
                     WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1 \
                     RETURNING user_id")
        .bind(now)
        .bind(token_hash)
        .bind(purpose);
        self.db.optional(q, |r| r.get("user_id")).await
    }

    async fn user_tokens_since(&self, user_id: &str, purpose: &str, since: i64) -> Result<i64> {
        let q = sql("SELECT COUNT(*) AS n FROM user_tokens WHERE user_id = $1 AND purpose = $2 AND created_at >= $3")
            .bind(user_id)
            .bind(purpose)
            .bind(since);
        self.db.fetch_one(q).await?.get("n")
    }

    async fn held_mail(&self, now: i64, limit: i64) -> Result<Vec<OutboxMail>> {
        let q = sql(format!(
            "SELECT {MAIL_COLS} FROM mail_outbox WHERE held = $1 AND sent_at IS NULL \
             AND (expires_at IS NULL OR expires_at > $2) ORDER BY created_at DESC, id LIMIT $3"
        ))
        .bind(true)
        .bind(now)
        .bind(limit);
        self.db.all(q, mail_row).await
    }

    async fn reset_password(
        &self,
        user_id: &str,
        hash: &str,
        now: i64,
        ip: Option<&str>,
        how: PasswordSet,
    ) -> Result<()> {
        let mut conn = self.db.conn().await?;
        let mut tx = conn.begin_write().await?;
        let q = sql("UPDATE users SET password_hash = $1, tokens_valid_after = $2, updated_at = $2 WHERE id = $3")
            .bind(hash)
            .bind(now)
            .bind(user_id);
        tx.execute(q).await?;
        let q = sql("UPDATE refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(user_id);
        tx.execute(q).await?;
        let q = sql("UPDATE user_tokens SET used_at = $1 WHERE user_id = $2 AND purpose = 'reset' AND used_at IS NULL")
            .bind(now)
            .bind(user_id);
        tx.execute(q).await?;
        tx.execute(sql("DELETE FROM mail_outbox WHERE user_id = $1 AND kind = 'reset'").bind(user_id)).await?;
        tx.execute(audit_sql(Some(user_id), how.action(), Some(user_id), "{}", ip)).await?;
        tx.commit().await
    }

    async fn mail_claim(&self, now: i64, lease_ms: i64, limit: i64) -> Result<Vec<OutboxMail>> {
        let q = sql(format!(
            "SELECT {MAIL_COLS}, next_at FROM mail_outbox WHERE held = $1 AND sent_at IS NULL AND next_at <= $2 \
             ORDER BY next_at, id LIMIT $3"
        ))
        .bind(false)
        .bind(now)
        .bind(limit);
        let rows = self.db.all(q, |r| Ok((mail_row(r)?, r.get::<i64>("next_at")?))).await?;
        let mut claimed = Vec::new();
        for (mut m, next_at) in rows {
            // Exactly one claimer wins a message: the one whose update still sees its next_at.
            let q = sql("UPDATE mail_outbox SET attempts = attempts + 1, next_at = $1 \
                         WHERE id = $2 AND next_at = $3 AND sent_at IS NULL AND held = $4")
            .bind(now + lease_ms)
            .bind(m.id.as_str())
            .bind(next_at)
            .bind(false);
            if self.db.execute(q).await? == 1 {
                m.attempts += 1;
                claimed.push(m);
            }
        }
        Ok(claimed)
    }

    async fn mail_sent(&self, id: &str, now: i64) -> Result<()> {
        let q = sql("UPDATE mail_outbox SET sent_at = $1, link_sealed = NULL, last_error = NULL WHERE id = $2")
            .bind(now)
            .bind(id);
        self.db.execute(q).await?;
        Ok(())
    }

    async fn mail_retry(&self, id: &str, next_at: i64, error: &str) -> Result<()> {
        let q = sql("UPDATE mail_outbox SET next_at = $1, last_error = $2 WHERE id = $3 AND sent_at IS NULL")
            .bind(next_at)
            .bind(error)
            .bind(id);
        self.db.execute(q).await?;
        Ok(())
    }

    async fn set_email_verified(&self, user_id: &str, now: i64) -> Result<()> {
        let q = sql("UPDATE users SET email_verified_at = $1 WHERE id = $2 AND email_verified_at IS NULL")
            .bind(now)
            .bind(user_id);
        self.db.execute(q).await?;
        Ok(())
    }

    async fn mail_hold(&self, id: &str, error: &str) -> Result<()> {
        let q = sql("UPDATE mail_outbox SET held = $1, last_error = $2 WHERE id = $3 AND sent_at IS NULL")
            .bind(true)
            .bind(error)
            .bind(id);
        self.db.execute(q).await?;
        Ok(())
    }
}
