//! The plan's part of a submission, checked in the submission's own transaction (see
//! `queue::submit_job`): jobs at once, and core-hours (used this plan period, reserved by
//! live jobs' estimates, and the new job's estimate) against the quota; and what a new
//! job's estimate is calibrated from (past jobs' cells, iterations and core-seconds).
use super::db::{sql, Db, Tx};
use super::jobs::{QuotaExceeded, QuotaKind};
use super::{now_ms, Result};

/// A plan's limits on one submission, resolved by the caller (`billing::standing`).
#[derive(Debug, Clone, Default)]
pub struct PlanLimits {
    /// Who the job bills: `user:ID` or `org:ID`.
    pub subject: String,
    pub plan: String,
    /// Jobs the subject may have queued or running at once.
    pub concurrent_jobs: Option<i64>,
    /// Core-seconds the subject may use in the plan period (quota and credit), when the
    /// plan stops jobs at its quota; `None`: no stop (unlimited, or overage is billed).
    pub allowed_core_seconds: Option<f64>,
    /// The months (`YYYY-MM`) of the plan period.
    pub periods: Vec<String>,
    /// What the new job is expected to use.
    pub estimate_core_seconds: f64,
    /// The Slurm `--account` the plan charges, if it names one.
    pub charge_account: Option<String>,
}

/// The live jobs that bill a subject (`$1`: its id): an org's projects' jobs, or the
/// user's personal projects' jobs.
fn live_of(subject: &str) -> (&'static str, &str) {
    const ORG: &str = "FROM simulation_jobs j JOIN simulation_cases c ON c.id = j.case_id \
         JOIN projects p ON p.id = c.project_id WHERE p.org_id = $1 \
         AND j.status IN ('queued', 'preparing', 'meshing', 'solving')";
    const USER: &str = "FROM simulation_jobs j JOIN simulation_cases c ON c.id = j.case_id \
         JOIN projects p ON p.id = c.project_id WHERE p.org_id IS NULL AND p.owner_id = $1 \
         AND j.status IN ('queued', 'preparing', 'meshing', 'solving')";
    match subject.split_once(':') {
        Some(("org", id)) => (ORG, id),
        Some((_, id)) => (USER, id),
        None => (USER, subject),
    }
}

/// Seconds until the live job nearest its end is expected to end, from its estimate and
/// how long it has run (a hint for `Retry-After`), when that is within the hour.
async fn retry_hint(tx: &mut Tx<'_>, subject: &str) -> Result<Option<i64>> {
    let (from, id) = live_of(subject);
    let q = sql(format!("SELECT j.started_at, j.cores_allocated, j.estimate_core_seconds {from}")).bind(id);
    let now = now_ms();
    let mut best: Option<i64> = None;
    for r in tx.fetch_all(q).await? {
        let (started, cores, est): (Option<i64>, i64, Option<f64>) = (r.get(0)?, r.get(1)?, r.get(2)?);
        let (Some(started), Some(est)) = (started, est) else { continue };
        let left = est / cores.max(1) as f64 - (now - started) as f64 / 1000.0;
        let left = left.max(5.0).ceil() as i64;
        best = Some(best.map_or(left, |b| b.min(left)));
    }
    Ok(best.filter(|s| *s <= 3600))
}

/// Checks the plan's limits inside the submission's transaction (after its locks).
pub(super) async fn check(tx: &mut Tx<'_>, p: &PlanLimits) -> Result<Option<QuotaExceeded>> {
    let (from, id) = live_of(&p.subject);
    if let Some(limit) = p.concurrent_jobs {
        let row = tx.fetch_optional(sql(format!("SELECT COUNT(*) {from}")).bind(id)).await?;
        let live: i64 = row.map(|r| r.get(0)).transpose()?.unwrap_or(0);
        if live >= limit {
            let retry_after_s = retry_hint(tx, &p.subject).await?;
            return Ok(Some(QuotaExceeded {
                kind: QuotaKind::Concurrent,
                held: live,
                limit,
                retry_after_s,
                ..Default::default()
            }));
        }
    }
    let Some(allowed) = p.allowed_core_seconds else { return Ok(None) };
    let mut used = 0.0;
    for period in &p.periods {
        let q = sql(super::billing::SUBJECT_PERIOD_USAGE).bind(p.subject.as_str()).bind(period.as_str());
        let s: Option<f64> = tx.fetch_optional(q).await?.map(|r| r.get(0)).transpose()?.flatten();
        used += s.unwrap_or(0.0);
    }
    // What live jobs are still expected to use: their estimate less what they recorded.
    let q = sql(format!(
        "SELECT CAST(SUM(CASE WHEN COALESCE(j.estimate_core_seconds, 0) > COALESCE(j.core_seconds_used, 0) \
         THEN COALESCE(j.estimate_core_seconds, 0) - COALESCE(j.core_seconds_used, 0) ELSE 0 END) \
         AS DOUBLE PRECISION) {from}"
    ))
    .bind(id);
    let reserved: f64 =
        tx.fetch_optional(q).await?.map(|r| r.get::<Option<f64>>(0)).transpose()?.flatten().unwrap_or(0.0);
    if used >= allowed || used + reserved + p.estimate_core_seconds > allowed {
        return Ok(Some(QuotaExceeded {
            kind: QuotaKind::CoreHours,
            used_core_seconds: used,
            reserved_core_seconds: reserved,
            allowed_core_seconds: allowed,
            ..Default::default()
        }));
    }
    Ok(None)
}

/// Records the plan's facts on the new job (in the same transaction).
pub(super) async fn mark_job(tx: &mut Tx<'_>, job_id: &str, p: &PlanLimits) -> Result<()> {
    let q = sql("UPDATE simulation_jobs SET plan = $1, billing_subject = $2, estimate_core_seconds = $3, \
                 charge_account = $4 WHERE id = $5")
    .bind(p.plan.as_str())
    .bind(p.subject.as_str())
    .bind(p.estimate_core_seconds)
    .bind(p.charge_account.as_deref())
    .bind(job_id);
    tx.execute(q).await?;
    Ok(())
}

/// Core-seconds per (cell × iteration) measured over the last `n` jobs that ended with a
/// known mesh and iteration count, as (the measured values, newest first).
pub(super) async fn calibration(db: &Db, n: i64) -> Result<Vec<f64>> {
    let q = sql("SELECT core_seconds_used, mesh_cells, iterations FROM simulation_jobs \
                 WHERE status = 'completed' AND core_seconds_used > 0 AND mesh_cells > 0 AND iterations > 0 \
                 ORDER BY completed_at DESC LIMIT $1")
    .bind(n);
    let mut out = Vec::new();
    for r in db.fetch_all(q).await? {
        let (cs, cells, it): (i64, i64, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
        out.push(cs as f64 / (cells as f64 * it as f64));
    }
    Ok(out)
}
