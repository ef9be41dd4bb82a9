//! Metered use: the core-seconds a job ran, recorded in `usage_records` once however many
//! workers try, and the cores live jobs hold (for quota checks).
//!
//! While a job runs, its worker records provisional use (cores × time since the last
//! record, by the worker's clock) with a compare-and-set on `usage_until`. At the end it
//! records one `final` correction that makes the job's total cores × the executor's own
//! wall time, and sets `usage_final` in the same transaction (compare-and-set on it and on
//! `usage_until`): a re-attached or second worker, or a provisional record racing it,
//! cannot count the job again. Every record carries whom it bills (`subject`), the
//! project, the executor, the period (UTC month of its end), the step and the plan.
use super::db::{sql, Db, Row, Tx};
use super::{new_id, now_ms, Result};
use serde::Serialize;

/// The cores a user's live jobs hold (`$1`: the user).
pub(super) const USER_CORES: &str = "SELECT CAST(SUM(cores_allocated) AS BIGINT) FROM simulation_jobs \
     WHERE user_id = $1 AND status IN ('queued', 'preparing', 'meshing', 'solving')";

/// The cores the live jobs in an organization's projects hold (`$1`: the org).
pub(super) const ORG_CORES: &str = "SELECT CAST(SUM(j.cores_allocated) AS BIGINT) FROM simulation_jobs j \
     JOIN simulation_cases c ON c.id = j.case_id JOIN projects p ON p.id = c.project_id \
     WHERE p.org_id = $1 AND j.status IN ('queued', 'preparing', 'meshing', 'solving')";

/// The executor's own record of a finished run, as metering stores it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExecTimes<'a> {
    pub cores: i64,
    pub started_ms: i64,
    pub ended_ms: i64,
    /// `usage.json`, `sacct`, `sacct -c`, `scontrol`, `pod`.
    pub source: &'a str,
}

/// What the end of a job records (see [`super::JobStore::finish_usage`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FinalUsage<'a> {
    /// The executor's times; None keeps the provisional total (counted up to now).
    pub exec: Option<ExecTimes<'a>>,
    /// From summary.json, for the estimate's calibration.
    pub mesh_cells: Option<i64>,
    pub iterations: Option<i64>,
    /// The plan in force for the job's subject (billing fills it; NULL without).
    pub plan: Option<&'a str>,
}

/// One row of `usage_records`.
#[derive(Debug, Clone, Serialize)]
pub struct UsageRecord {
    pub id: String,
    pub user_id: String,
    pub org_id: Option<String>,
    pub project_id: Option<String>,
    pub job_id: Option<String>,
    pub executor: Option<String>,
    /// `org:ID` or `user:ID`.
    pub subject: Option<String>,
    /// `YYYY-MM`, the UTC month of the record's end.
    pub period: Option<String>,
    /// `preparing`, `meshing`, `solving`, or `final`.
    pub step: Option<String>,
    pub plan: Option<String>,
    pub source: Option<String>,
    /// Core-seconds (a `final` correction may be negative).
    pub quantity: f64,
    pub period_start: String,
    pub period_end: String,
    pub created_at: i64,
}

/// Unix milliseconds as RFC 3339 text (usage periods are stored as text).
fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The billing period of a time: its UTC month, `YYYY-MM`.
pub fn period_of(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().format("%Y-%m").to_string()
}

/// What a record needs to know of its job.
struct JobFacts {
    user_id: String,
    cores: i64,
    started_at: Option<i64>,
    usage_until: Option<i64>,
    usage_final: Option<i64>,
    status: String,
    executor: String,
    project_id: String,
    org_id: Option<String>,
}

impl JobFacts {
    fn subject(&self) -> String {
        match &self.org_id {
            Some(o) => format!("org:{o}"),
            None => format!("user:{}", self.user_id),
        }
    }
}

async fn facts(tx: &mut Tx<'_>, job_id: &str) -> Result<Option<JobFacts>> {
    let q = sql("SELECT j.user_id, j.cores_allocated, j.started_at, j.usage_until, j.usage_final, j.status, \
                 j.executor, c.project_id, p.org_id FROM simulation_jobs j \
                 JOIN simulation_cases c ON c.id = j.case_id JOIN projects p ON p.id = c.project_id WHERE j.id = $1")
    .bind(job_id);
    let Some(r) = tx.fetch_optional(q).await? else { return Ok(None) };
    Ok(Some(JobFacts {
        user_id: r.get(0)?,
        cores: r.get(1)?,
        started_at: r.get(2)?,
        usage_until: r.get(3)?,
        usage_final: r.get(4)?,
        status: r.get(5)?,
        executor: r.get(6)?,
        project_id: r.get(7)?,
        org_id: r.get(8)?,
    }))
}

/// One record: `quantity` core-seconds of `job` over `from..until`.
#[allow(clippy::too_many_arguments)]
async fn insert(
    tx: &mut Tx<'_>,
    job_id: &str,
    f: &JobFacts,
    quantity: f64,
    (from, until): (i64, i64),
    step: &str,
    plan: Option<&str>,
    source: &str,
) -> Result<()> {
    let q = sql("INSERT INTO usage_records (id, user_id, org_id, record_type, quantity, job_id, period_start, \
                 period_end, created_at, project_id, executor, period, step, plan, subject, source) \
                 VALUES ($1, $2, $3, 'core_seconds', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)")
    .bind(new_id())
    .bind(&f.user_id)
    .bind(&f.org_id)
    .bind(quantity)
    .bind(job_id)
    .bind(rfc3339(from))
    .bind(rfc3339(until))
    .bind(now_ms())
    .bind(&f.project_id)
    .bind(&f.executor)
    .bind(period_of(until))
    .bind(step)
    .bind(plan)
    .bind(f.subject())
    .bind(source);
    tx.execute(q).await?;
    Ok(())
}

/// The step a provisional record counts, from the job's state.
fn step_of(status: &str) -> &'static str {
    match status {
        "meshing" => "meshing",
        "solving" | "completed" | "failed" | "cancelled" => "solving",
        _ => "preparing",
    }
}

pub(super) async fn record_usage(db: &Db, job_id: &str, until: i64, plan: Option<&str>) -> Result<f64> {
    let mut conn = db.conn().await?;
    let mut tx = conn.begin_write().await?;
    let Some(f) = facts(&mut tx, job_id).await? else { return Ok(0.0) };
    let Some(started) = f.started_at else { return Ok(0.0) };
    let from = f.usage_until.unwrap_or(started);
    if until <= from || f.usage_final.is_some() {
        return Ok(0.0);
    }
    let core_seconds = (until - from) as f64 / 1000.0 * f.cores as f64;
    let q = sql("UPDATE simulation_jobs SET usage_until = $1, \
                 core_seconds_used = COALESCE(core_seconds_used, 0) + $2 \
                 WHERE id = $3 AND COALESCE(usage_until, started_at) = $4 AND usage_final IS NULL")
    .bind(until)
    .bind(core_seconds.round() as i64)
    .bind(job_id)
    .bind(from);
    if tx.execute(q).await? != 1 {
        // Recorded concurrently by another worker, or finished; nothing is counted twice.
        tx.rollback().await?;
        return Ok(0.0);
    }
    insert(&mut tx, job_id, &f, core_seconds, (from, until), step_of(&f.status), plan, "worker").await?;
    tx.commit().await?;
    Ok(core_seconds)
}

pub(super) async fn skip_usage(db: &Db, job_id: &str, until: i64) -> Result<bool> {
    let q = sql("UPDATE simulation_jobs SET usage_until = $1 WHERE id = $2 AND started_at IS NOT NULL \
                 AND COALESCE(usage_until, started_at) < $1 AND usage_final IS NULL")
    .bind(until)
    .bind(job_id);
    Ok(db.execute(q).await? == 1)
}

pub(super) async fn finish_usage(db: &Db, job_id: &str, fin: &FinalUsage<'_>) -> Result<Option<f64>> {
    // A provisional record (or a skip) that moved the mark meanwhile makes the attempt
    // start again with what it wrote; a final record by another worker ends it.
    for _ in 0..5 {
        if let Some(done) = try_finish(db, job_id, fin).await? {
            return Ok(done);
        }
    }
    Ok(None)
}

/// One attempt: `None` when the mark moved under it (try again), `Some(None)` when the use
/// is already final, `Some(Some(total))` when this call made it final.
async fn try_finish(db: &Db, job_id: &str, fin: &FinalUsage<'_>) -> Result<Option<Option<f64>>> {
    let mut conn = db.conn().await?;
    let mut tx = conn.begin_write().await?;
    let Some(f) = facts(&mut tx, job_id).await? else { return Ok(Some(None)) };
    if f.usage_final.is_some() {
        return Ok(Some(None));
    }
    let q = sql("SELECT CAST(SUM(quantity) AS DOUBLE PRECISION) FROM usage_records \
                 WHERE job_id = $1 AND record_type = 'core_seconds'")
    .bind(job_id);
    let recorded: Option<f64> = tx.fetch_optional(q).await?.map(|r| r.get(0)).transpose()?.flatten();
    let recorded = recorded.unwrap_or(0.0);
    let now = now_ms();
    // The correction, over which times, from which source; None: nothing to record.
    let record = match (fin.exec, f.started_at) {
        (Some(t), _) => {
            let target = t.cores.max(0) as f64 * (t.ended_ms - t.started_ms).max(0) as f64 / 1000.0;
            Some((target - recorded, (t.started_ms, t.ended_ms.max(t.started_ms)), t.source))
        }
        // No record from the executor: the provisional total stands, counted up to now.
        (None, Some(started)) => {
            let from = f.usage_until.unwrap_or(started);
            (now > from).then(|| (f.cores as f64 * (now - from) as f64 / 1000.0, (from, now), "worker"))
        }
        // Never started: nothing held any cores.
        (None, None) => None,
    };
    let total = recorded + record.map_or(0.0, |r| r.0);
    let until = record.map(|r| r.1 .1).or(f.usage_until);
    let q = sql("UPDATE simulation_jobs SET usage_final = $1, usage_until = $2, core_seconds_used = $3, \
                 mesh_cells = COALESCE($4, mesh_cells), iterations = COALESCE($5, iterations) \
                 WHERE id = $6 AND usage_final IS NULL AND COALESCE(usage_until, -1) = $7")
    .bind(now)
    .bind(until)
    .bind(total.round() as i64)
    .bind(fin.mesh_cells)
    .bind(fin.iterations)
    .bind(job_id)
    .bind(f.usage_until.unwrap_or(-1));
    if tx.execute(q).await? != 1 {
        // Another worker finished it, or a provisional record just moved on: never twice.
        tx.rollback().await?;
        return Ok(None);
    }
    if let Some((quantity, span, source)) = record {
        insert(&mut tx, job_id, &f, quantity, span, "final", fin.plan, source).await?;
    }
    tx.commit().await?;
    Ok(Some(Some(total)))
}

pub(super) async fn usage_of_job(db: &Db, job_id: &str) -> Result<f64> {
    let q = sql("SELECT CAST(SUM(quantity) AS DOUBLE PRECISION) FROM usage_records WHERE job_id = $1 \
                 AND record_type = 'core_seconds'")
    .bind(job_id);
    let total: Option<f64> = db.fetch_one(q).await?.get(0)?;
    Ok(total.unwrap_or(0.0))
}

fn record_row(r: &Row) -> Result<UsageRecord> {
    Ok(UsageRecord {
        id: r.get("id")?,
        user_id: r.get("user_id")?,
        org_id: r.get("org_id")?,
        project_id: r.get("project_id")?,
        job_id: r.get("job_id")?,
        executor: r.get("executor")?,
        subject: r.get("subject")?,
        period: r.get("period")?,
        step: r.get("step")?,
        plan: r.get("plan")?,
        source: r.get("source")?,
        quantity: r.get("quantity")?,
        period_start: r.get("period_start")?,
        period_end: r.get("period_end")?,
        created_at: r.get("created_at")?,
    })
}

pub(super) async fn usage_records_of_job(db: &Db, job_id: &str) -> Result<Vec<UsageRecord>> {
    let q = sql("SELECT id, user_id, org_id, project_id, job_id, executor, subject, period, step, plan, source, \
                 quantity, period_start, period_end, created_at FROM usage_records \
                 WHERE job_id = $1 AND record_type = 'core_seconds' \
                 ORDER BY created_at, CASE WHEN step = 'final' THEN 1 ELSE 0 END, period_end, id")
    .bind(job_id);
    db.all(q, record_row).await
}

pub(super) async fn active_cores(db: &Db, user_id: &str, org_id: Option<&str>) -> Result<(i64, i64)> {
    let mine: Option<i64> = db.fetch_one(sql(USER_CORES).bind(user_id)).await?.get(0)?;
    let org: Option<i64> = match org_id {
        None => None,
        Some(o) => db.fetch_one(sql(ORG_CORES).bind(o)).await?.get(0)?,
    };
    Ok((mine.unwrap_or(0), org.unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_utc_months() {
        assert_eq!(period_of(1_796_592_352_000), "2026-12");
        // 2027-01-01T00:00:00Z less a millisecond is still December.
        assert_eq!(period_of(1_798_761_600_000 - 1), "2026-12");
        assert_eq!(period_of(1_798_761_600_000), "2027-01");
        assert_eq!((step_of("meshing"), step_of("queued"), step_of("solving")), ("meshing", "preparing", "solving"));
    }
}
