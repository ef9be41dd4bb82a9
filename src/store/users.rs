//! People who sign in, their refresh tokens and browser sessions, and their API tokens.
use super::db::{sql, Db, Row, Sql};
use super::migrate::Dialect;
use super::{new_id, now_ms, ApiToken, NewUser, RefreshRow, Result, User};

const USER_COLS: &str =
    "id, email, name, password_hash, auth_provider, is_admin, disabled, plan, created_at, tokens_valid_after, \
     email_verified_at, notify_jobs";

fn user_row(r: &Row) -> Result<User> {
    Ok(User {
        id: r.get("id")?,
        email: r.get("email")?,
        name: r.get("name")?,
        password_hash: r.get("password_hash")?,
        auth_provider: r.get("auth_provider")?,
        is_admin: r.get("is_admin")?,
        disabled: r.get("disabled")?,
        plan: r.get("plan")?,
        created_at: r.get("created_at")?,
        tokens_valid_after: r.get("tokens_valid_after")?,
        email_verified_at: r.get("email_verified_at")?,
        notify_jobs: r.get("notify_jobs")?,
    })
}

fn refresh_row(r: &Row) -> Result<RefreshRow> {
    Ok(RefreshRow {
        id: r.get("id")?,
        user_id: r.get("user_id")?,
        family_id: r.get("family_id")?,
        kind: r.get("kind")?,
        token_hash: r.get("token_hash")?,
        expires_at: r.get("expires_at")?,
        revoked_at: r.get("revoked_at")?,
    })
}

fn api_token_row(r: &Row) -> Result<ApiToken> {
    Ok(ApiToken {
        id: r.get("id")?,
        user_id: r.get("user_id")?,
        name: r.get("name")?,
        prefix: r.get("prefix")?,
        last_used_at: r.get("last_used_at")?,
        created_at: r.get("created_at")?,
    })
}

/// Key of the PostgreSQL advisory lock that serialises account creation (any constant
/// works; this one spells "users").
const CREATE_USER_LOCK: i64 = 0x7573_6572_73;

pub(super) async fn create_user(db: &Db, u: NewUser) -> Result<User> {
    // The first account becomes admin, decided inside the insert. That alone is not enough
    // on PostgreSQL: under READ COMMITTED two first inserts running together each see an
    // empty table, and both became admin. A transaction-scoped advisory lock makes account
    // creation one at a time, so each insert's count sees the one before it committed.
    // SQLite needs no lock: the insert takes the single write lock before it counts.
    let q = format!(
        "INSERT INTO users (id, email, name, password_hash, auth_provider, auth_provider_id, is_admin, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, \
         (SELECT COUNT(*) = 0 FROM users), $7, $7) RETURNING {USER_COLS}"
    );
    let q = sql(q)
        .bind(new_id())
        .bind(u.email.trim())
        .bind(&u.name)
        .bind(&u.password_hash)
        .bind(&u.auth_provider)
        .bind(&u.auth_provider_id)
        .bind(now_ms());
    let mut conn = db.conn().await?;
    let mut tx = conn.begin().await?;
    if matches!(db.dialect(), Dialect::Postgres) {
        tx.execute(sql("SELECT pg_advisory_xact_lock($1)").bind(CREATE_USER_LOCK)).await?;
    }
    let row = tx.fetch_optional(q).await?.ok_or(sqlx::Error::RowNotFound)?;
    let user = user_row(&row)?;
    tx.commit().await?;
    Ok(user)
}

async fn user_where(db: &Db, cond: &str, arg: &str) -> Result<Option<User>> {
    db.optional(sql(format!("SELECT {USER_COLS} FROM users WHERE {cond}")).bind(arg), user_row).await
}

pub(super) async fn user(db: &Db, id: &str) -> Result<Option<User>> {
    user_where(db, "id = $1", id).await
}

pub(super) async fn user_by_email(db: &Db, email: &str) -> Result<Option<User>> {
    user_where(db, "lower(email) = lower($1)", email.trim()).await
}

pub(super) async fn user_by_provider(db: &Db, provider: &str, subject: &str) -> Result<Option<User>> {
    let q = format!("SELECT {USER_COLS} FROM users WHERE auth_provider = $1 AND auth_provider_id = $2");
    db.optional(sql(q).bind(provider).bind(subject), user_row).await
}

pub(super) async fn list_users(db: &Db) -> Result<Vec<User>> {
    db.all(sql(format!("SELECT {USER_COLS} FROM users ORDER BY created_at, email")), user_row).await
}

pub(super) async fn set_user_flags(db: &Db, id: &str, is_admin: bool, disabled: bool) -> Result<bool> {
    let q = sql("UPDATE users SET is_admin = $1, disabled = $2, updated_at = $3 WHERE id = $4")
        .bind(is_admin)
        .bind(disabled)
        .bind(now_ms())
        .bind(id);
    Ok(db.execute(q).await? == 1)
}

pub(super) async fn set_password(db: &Db, id: &str, hash: &str) -> Result<bool> {
    let q =
        sql("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3").bind(hash).bind(now_ms()).bind(id);
    Ok(db.execute(q).await? == 1)
}

/// The insert of a refresh row, run alone or inside a rotation.
fn insert_refresh_sql(r: &RefreshRow) -> Sql<'_> {
    sql("INSERT INTO refresh_tokens (id, user_id, family_id, kind, token_hash, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)")
    .bind(&r.id)
    .bind(&r.user_id)
    .bind(&r.family_id)
    .bind(&r.kind)
    .bind(&r.token_hash)
    .bind(r.expires_at)
    .bind(now_ms())
}

pub(super) async fn insert_refresh(db: &Db, r: &RefreshRow) -> Result<()> {
    db.execute(insert_refresh_sql(r)).await?;
    Ok(())
}

pub(super) async fn refresh_by_hash(db: &Db, hash: &str) -> Result<Option<RefreshRow>> {
    let q = sql("SELECT id, user_id, family_id, kind, token_hash, expires_at, revoked_at \
                 FROM refresh_tokens WHERE token_hash = $1")
    .bind(hash);
    db.optional(q, refresh_row).await
}

pub(super) async fn rotate_refresh(db: &Db, old_id: &str, new: &RefreshRow) -> Result<bool> {
    let mut conn = db.conn().await?;
    let mut tx = conn.begin().await?;
    let q = sql("UPDATE refresh_tokens SET revoked_at = $1, replaced_by = $2 WHERE id = $3 AND revoked_at IS NULL")
        .bind(now_ms())
        .bind(&new.id)
        .bind(old_id);
    if tx.execute(q).await? != 1 {
        tx.rollback().await?;
        return Ok(false);
    }
    tx.execute(insert_refresh_sql(new)).await?;
    tx.commit().await?;
    Ok(true)
}

pub(super) async fn revoke_family(db: &Db, family_id: &str) -> Result<()> {
    let q = sql("UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL")
        .bind(now_ms())
        .bind(family_id);
    db.execute(q).await?;
    Ok(())
}

pub(super) async fn revoke_user_tokens(db: &Db, user_id: &str) -> Result<()> {
    let q = sql("UPDATE refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
        .bind(now_ms())
        .bind(user_id);
    db.execute(q).await?;
    Ok(())
}

pub(super) async fn insert_api_token(db: &Db, t: &ApiToken, hash: &str) -> Result<()> {
    let q = sql("INSERT INTO api_tokens (id, user_id, name, token_hash, prefix, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)")
    .bind(&t.id)
    .bind(&t.user_id)
    .bind(&t.name)
    .bind(hash)
    .bind(&t.prefix)
    .bind(t.created_at);
    db.execute(q).await?;
    Ok(())
}

pub(super) async fn api_token_user(db: &Db, hash: &str) -> Result<Option<String>> {
    let q = sql("UPDATE api_tokens SET last_used_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL \
                 RETURNING user_id")
    .bind(now_ms())
    .bind(hash);
    db.optional(q, |r| r.get("user_id")).await
}

pub(super) async fn list_api_tokens(db: &Db, user_id: &str) -> Result<Vec<ApiToken>> {
    let q = sql("SELECT id, user_id, name, prefix, last_used_at, created_at FROM api_tokens \
                 WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at")
    .bind(user_id);
    db.all(q, api_token_row).await
}

pub(super) async fn revoke_api_token(db: &Db, user_id: &str, id: &str) -> Result<bool> {
    let q = sql("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL")
        .bind(now_ms())
        .bind(id)
        .bind(user_id);
    Ok(db.execute(q).await? == 1)
}
