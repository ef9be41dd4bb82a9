//! Failed sign-ins per account, for the per-account back-off (`service::login_backoff`):
//! one row per account key with the failures in a row and when the next try may come.
use super::db::{sql, Db};
use super::Result;

pub(super) async fn login_locked_until(db: &Db, account: &str) -> Result<Option<i64>> {
    let q = sql("SELECT locked_until FROM login_failures WHERE account = $1").bind(account);
    db.optional(q, |r| r.get("locked_until")).await
}

pub(super) async fn login_failed(db: &Db, account: &str, now: i64, forget_before: i64) -> Result<i64> {
    // One statement, so that failures racing each other are all counted.
    let q = sql("INSERT INTO login_failures (account, failures, last_failure_at, locked_until) VALUES ($1, 1, $2, 0) \
                 ON CONFLICT (account) DO UPDATE SET \
                 failures = CASE WHEN login_failures.last_failure_at < $3 THEN 1 ELSE login_failures.failures + 1 END, \
                 last_failure_at = $2 RETURNING failures")
    .bind(account)
    .bind(now)
    .bind(forget_before);
    let failures: i64 = db.fetch_one(q).await?.get("failures")?;
    if failures == 1 {
        // A new streak: a good moment to drop the streaks nobody continued.
        db.execute(sql("DELETE FROM login_failures WHERE last_failure_at < $1").bind(forget_before)).await?;
    }
    Ok(failures)
}

pub(super) async fn lock_login(db: &Db, account: &str, until: i64) -> Result<()> {
    let q = sql("UPDATE login_failures SET locked_until = $1 WHERE account = $2 AND locked_until < $1")
        .bind(until)
        .bind(account);
    db.execute(q).await?;
    Ok(())
}

pub(super) async fn login_succeeded(db: &Db, account: &str) -> Result<()> {
    db.execute(sql("DELETE FROM login_failures WHERE account = $1").bind(account)).await?;
    Ok(())
}
