//! Metered use: the core-seconds a job ran, recorded once in `usage_records` however many
//! workers try, and the cores live jobs hold (for quota checks).
use super::db::{sql, Db};
use super::{new_id, now_ms, Result};

/// The cores a user's live jobs hold (`$1`: the user).
pub(super) const USER_CORES: &str = "SELECT CAST(SUM(cores_allocated) AS BIGINT) FROM simulation_jobs \
     WHERE user_id = $1 AND status IN ('queued', 'preparing', 'meshing', 'solving')";

/// The cores the live jobs in an organization's projects hold (`$1`: the org).
pub(super) const ORG_CORES: &str = "SELECT CAST(SUM(j.cores_allocated) AS BIGINT) FROM simulation_jobs j \
     JOIN simulation_cases c ON c.id = j.case_id JOIN projects p ON p.id = c.project_id \
     WHERE p.org_id = $1 AND j.status IN ('queued', 'preparing', 'meshing', 'solving')";

/// The UTC month (`YYYY-MM`) of Unix milliseconds: the period a usage record counts in.
fn month_of(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().format("%Y-%m").to_string()
}

/// Unix milliseconds as RFC 3339 text (usage periods are stored as text).
fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub(super) async fn record_usage(db: &Db, job_id: &str, until: i64) -> Result<f64> {
    let mut conn = db.conn().await?;
    let mut tx = conn.begin().await?;
    let q = sql("SELECT j.user_id, j.cores_allocated, j.started_at, j.usage_until, p.org_id, p.id, j.executor, \
                 COALESCE(j.log_step, j.step) FROM simulation_jobs j \
                 JOIN simulation_cases c ON c.id = j.case_id JOIN projects p ON p.id = c.project_id WHERE j.id = $1")
    .bind(job_id);
    let Some(row) = tx.fetch_optional(q).await? else { return Ok(0.0) };
    let (user_id, cores, started, usage_until, org_id): (String, i64, Option<i64>, Option<i64>, Option<String>) =
        (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?);
    let (project_id, executor, step): (String, String, Option<String>) = (row.get(5)?, row.get(6)?, row.get(7)?);
    let subject = super::Subject::of_project(org_id.as_deref(), &user_id).key();
    let Some(started) = started else { return Ok(0.0) };
    let from = usage_until.unwrap_or(started);
    if until <= from {
        return Ok(0.0);
    }
    let core_seconds = (until - from) as f64 / 1000.0 * cores as f64;
    let q = sql("UPDATE simulation_jobs SET usage_until = $1, \
                 core_seconds_used = COALESCE(core_seconds_used, 0) + $2 \
                 WHERE id = $3 AND COALESCE(usage_until, started_at) = $4")
    .bind(until)
    .bind(core_seconds.round() as i64)
    .bind(job_id)
    .bind(from);
    if tx.execute(q).await? != 1 {
        // Recorded concurrently by another worker; nothing is counted twice.
        tx.rollback().await?;
        return Ok(0.0);
    }
    let q = sql("INSERT INTO usage_records (id, user_id, org_id, record_type, quantity, job_id, period_start, \
                 period_end, created_at, project_id, executor, period, step, subject) \
                 VALUES ($1, $2, $3, 'core_seconds', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)")
    .bind(new_id())
    .bind(&user_id)
    .bind(&org_id)
    .bind(core_seconds)
    .bind(job_id)
    .bind(rfc3339(from))
    .bind(rfc3339(until))
    .bind(now_ms())
    .bind(&project_id)
    .bind(&executor)
    .bind(month_of(until))
    .bind(&step)
    .bind(subject);
    tx.execute(q).await?;
    tx.commit().await?;
    Ok(core_seconds)
}

pub(super) async fn usage_of_job(db: &Db, job_id: &str) -> Result<f64> {
    let q = sql("SELECT CAST(SUM(quantity) AS DOUBLE PRECISION) FROM usage_records WHERE job_id = $1 \
                 AND record_type = 'core_seconds'")
    .bind(job_id);
    let total: Option<f64> = db.fetch_one(q).await?.get(0)?;
    Ok(total.unwrap_or(0.0))
}

pub(super) async fn active_cores(db: &Db, user_id: &str, org_id: Option<&str>) -> Result<(i64, i64)> {
    let mine: Option<i64> = db.fetch_one(sql(USER_CORES).bind(user_id)).await?.get(0)?;
    let org: Option<i64> = match org_id {
        None => None,
        Some(o) => db.fetch_one(sql(ORG_CORES).bind(o)).await?.get(0)?,
    };
    Ok((mine.unwrap_or(0), org.unwrap_or(0)))
}
