//! Simulation cases and the durable job queue: claims with a lease, heartbeats, the
//! recorded state machine (see `jobs.rs`), progress samples and cancellation.
use super::db::{sql, Db, Row, Tx};
use super::jobs::{
    Case, CoreLimits, Job, JobStatus, NewCase, NewJob, ProgressUpdate, QuotaExceeded, QuotaKind, Transition,
};
use super::migrate::Dialect;
use super::projects::{role, ACCESS_JOIN, ACCESS_WHERE, ROLE_EXPR};
use super::{new_id, now_ms, settings, usage, Result, Role, StoreError};

const JOB_COLS: &str = "id, case_id, user_id, status, step, executor, cores_allocated, priority, handle, \
     lease_owner, lease_expires_at, attempts, error_message, cancel_requested, created_at, started_at, completed_at, \
     log_offset, log_step, iteration, latest, usage_until, usage_final, mesh_cells, iterations, plan, billing_subject, charge_account";

const CASE_COLS: &str = "id, project_id, geometry_id, name, spec, created_at";

/// How the claim locks the row it picks: PostgreSQL skips rows another worker is claiming,
/// so workers never wait on each other; SQLite serialises writers anyway.
fn skip_locked(d: Dialect) -> &'static str {
    match d {
        Dialect::Postgres => "FOR UPDATE SKIP LOCKED",
        Dialect::Sqlite => "",
    }
}

/// `cols` qualified by a table alias (`j.id, j.case_id, …`), for queries with joins.
fn qualified(cols: &str, alias: &str) -> String {
    cols.split(", ").map(|c| format!("{alias}.{c}")).collect::<Vec<_>>().join(", ")
}

/// A case read without the caller's role (the worker's read, a project's listing).
fn case_row(r: &Row) -> Result<Case> {
    Ok(Case {
        id: r.get("id")?,
        project_id: r.get("project_id")?,
        geometry_id: r.get("geometry_id")?,
        name: r.get("name")?,
        spec: r.get("spec")?,
        role: Role::Viewer,
        created_at: r.get("created_at")?,
    })
}

fn job_row(r: &Row) -> Result<Job> {
    let status: String = r.get("status")?;
    Ok(Job {
        id: r.get("id")?,
        case_id: r.get("case_id")?,
        user_id: r.get("user_id")?,
        status: JobStatus::parse(&status)
            .ok_or_else(|| sqlx::Error::Decode(format!("bad job status {status:?}").into()))?,
        step: r.get("step")?,
        executor: r.get("executor")?,
        cores: r.get("cores_allocated")?,
        priority: r.get("priority")?,
        handle: r.get("handle")?,
        lease_owner: r.get("lease_owner")?,
        lease_expires_at: r.get("lease_expires_at")?,
        attempts: r.get("attempts")?,
        error_message: r.get("error_message")?,
        cancel_requested: r.get("cancel_requested")?,
        created_at: r.get("created_at")?,
        started_at: r.get("started_at")?,
        completed_at: r.get("completed_at")?,
        log_offset: r.get("log_offset")?,
        log_step: r.get("log_step")?,
        iteration: r.get("iteration")?,
        latest: r.get("latest")?,
        usage_until: r.get("usage_until")?,
        usage_final: r.get("usage_final")?,
        mesh_cells: r.get("mesh_cells")?,
        plan: r.get("plan")?,
        billing_subject: r.get("billing_subject")?,
        charge_account: r.get("charge_account")?,
        iterations: r.get("iterations")?,
    })
}

fn transition_row(r: &Row) -> Result<Transition> {
    Ok(Transition {
        from: r.get("from_status")?,
        to: r.get("to_status")?,
        reason: r.get("reason")?,
        worker: r.get("worker")?,
        at: r.get("created_at")?,
    })
}

pub(super) async fn create_case(db: &Db, c: &NewCase) -> Result<String> {
    let id = new_id();
    let q = sql("INSERT INTO simulation_cases (id, project_id, geometry_id, name, spec, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6)")
    .bind(&id)
    .bind(&c.project_id)
    .bind(&c.geometry_id)
    .bind(&c.name)
    .bind(&c.spec)
    .bind(now_ms());
    db.execute(q).await?;
    Ok(id)
}

pub(super) async fn case(db: &Db, user_id: &str, id: &str) -> Result<Option<Case>> {
    let q = format!(
        "SELECT c.id, c.project_id, c.geometry_id, c.name, c.spec, c.created_at, {ROLE_EXPR} AS role \
         FROM simulation_cases c JOIN projects p ON p.id = c.project_id {ACCESS_JOIN} \
         WHERE {ACCESS_WHERE} AND c.id = $2"
    );
    db.optional(sql(q).bind(user_id).bind(id), |r| Ok(Case { role: role(r)?, ..case_row(r)? })).await
}

pub(super) async fn cases(db: &Db, project_id: &str) -> Result<Vec<Case>> {
    let q = format!("SELECT {CASE_COLS} FROM simulation_cases WHERE project_id = $1 ORDER BY created_at DESC, id");
    db.all(sql(q).bind(project_id), case_row).await
}

pub(super) async fn case_for_worker(db: &Db, id: &str) -> Result<Option<Case>> {
    db.optional(sql(format!("SELECT {CASE_COLS} FROM simulation_cases WHERE id = $1")).bind(id), case_row).await
}

/// Inserts a queued job and its first transition in `tx`, and reads it back there: the
/// caller gets the job on the connection it already holds, never waiting for a second one
/// (which, with the pool exhausted, would fail after the job was committed).
async fn insert_job(tx: &mut Tx<'_>, j: &NewJob<'_>) -> Result<Job> {
    let id = new_id();
    let now = now_ms();
    let q = sql("INSERT INTO simulation_jobs (id, case_id, user_id, status, executor, cores_allocated, created_at, \
                 updated_at) VALUES ($1, $2, $3, 'queued', $4, $5, $6, $6)")
    .bind(&id)
    .bind(j.case_id)
    .bind(j.user_id)
    .bind(j.executor)
    .bind(j.cores)
    .bind(now);
    tx.execute(q).await?;
    let q = sql("INSERT INTO job_transitions (id, job_id, seq, from_status, to_status, reason, created_at) \
                 VALUES ($1, $2, 0, '', 'queued', $3, $4)")
    .bind(new_id())
    .bind(&id)
    .bind(j.reason)
    .bind(now);
    tx.execute(q).await?;
    job_in(tx, &id).await
}

/// A job as `tx` sees it.
async fn job_in(tx: &mut Tx<'_>, id: &str) -> Result<Job> {
    let row = tx.fetch_optional(sql(format!("SELECT {JOB_COLS} FROM simulation_jobs WHERE id = $1")).bind(id)).await?;
    job_row(&row.ok_or_else(|| StoreError::Other(format!("new job {id} is not there")))?)
}

pub(super) async fn create_job(
    db: &Db,
    case_id: &str,
    user_id: &str,
    executor: &str,
    cores: i64,
    reason: &str,
) -> Result<Job> {
    let mut conn = db.conn().await?;
    let mut tx = conn.begin().await?;
    let j = NewJob { case_id, user_id, org_id: None, executor, cores, reason };
    let job = insert_job(&mut tx, &j).await?;
    tx.commit().await?;
    Ok(job)
}

/// The cores held by live jobs, read in `tx`.
async fn cores_in(tx: &mut Tx<'_>, q: &'static str, owner: &str) -> Result<i64> {
    let row = tx.fetch_optional(sql(q).bind(owner)).await?;
    Ok(row.map(|r| r.get::<Option<i64>>(0)).transpose()?.flatten().unwrap_or(0))
}

pub(super) async fn submit_job(
    db: &Db,
    j: &NewJob<'_>,
    limits: &CoreLimits,
    plan: Option<&super::PlanLimits>,
) -> Result<std::result::Result<Job, QuotaExceeded>> {
    let mut conn = db.conn().await?;
    let mut tx = conn.begin_write().await?;
    if matches!(db.dialect(), Dialect::Postgres) {
        // Submissions of one user, and of one organization, take their turn here; each
        // then counts what the ones before it committed. The user's row is always locked
        // before the organization's, so two submissions never wait on each other in a
        // cycle. (SQLite's BEGIN IMMEDIATE has already serialised every writer.)
        tx.execute(sql("SELECT id FROM users WHERE id = $1 FOR UPDATE").bind(j.user_id)).await?;
        if let Some(o) = j.org_id {
            tx.execute(sql("SELECT id FROM organizations WHERE id = $1 FOR UPDATE").bind(o)).await?;
        }
    }
    let mine = cores_in(&mut tx, usage::USER_CORES, j.user_id).await?;
    if mine + j.cores > limits.per_user {
        tx.rollback().await?;
        return Ok(Err(QuotaExceeded {
            kind: QuotaKind::User,
            held: mine,
            limit: limits.per_user,
            ..Default::default()
        }));
    }
    if let Some(o) = j.org_id {
        let org = cores_in(&mut tx, usage::ORG_CORES, o).await?;
        if org + j.cores > limits.per_org {
            tx.rollback().await?;
            return Ok(Err(QuotaExceeded {
                kind: QuotaKind::Org,
                held: org,
                limit: limits.per_org,
                ..Default::default()
            }));
        }
    }
    if let Some(p) = plan {
        if let Some(refused) = super::quota::check(&mut tx, p).await? {
            tx.rollback().await?;
            return Ok(Err(refused));
        }
    }
    let mut job = insert_job(&mut tx, j).await?;
    if let Some(p) = plan {
        super::quota::mark_job(&mut tx, &job.id, p).await?;
        job = job_in(&mut tx, &job.id).await?;
    }
    tx.execute(settings::audit_sql(Some(j.user_id), "job.submit", Some(job.id.as_str()), "{}", None)).await?;
    tx.commit().await?;
    Ok(Ok(job))
}

pub(super) async fn job(db: &Db, id: &str) -> Result<Option<Job>> {
    db.optional(sql(format!("SELECT {JOB_COLS} FROM simulation_jobs WHERE id = $1")).bind(id), job_row).await
}

pub(super) async fn claim_job(db: &Db, worker: &str, lease_ms: i64) -> Result<Option<Job>> {
    let now = now_ms();
    // Taking over a lease that ran out records why the last attempt ended (a released
    // lease has no owner and keeps the reason its worker gave), so that a job which keeps
    // killing its workers fails with that reason once it runs out of attempts.
    let q = format!(
        "UPDATE simulation_jobs SET lease_owner = $1, lease_expires_at = $2, attempts = attempts + 1, \
         error_message = CASE WHEN lease_owner IS NOT NULL \
         THEN 'worker ' || lease_owner || ' stopped renewing its lease (it crashed or lost the \
         database)' ELSE error_message END, \
         updated_at = $3 WHERE id = (SELECT id FROM simulation_jobs WHERE \
         (status = 'queued' AND (lease_expires_at IS NULL OR lease_expires_at < $3)) OR \
         (status IN ('preparing', 'meshing', 'solving') AND lease_expires_at < $3) \
         ORDER BY priority DESC, created_at, id LIMIT 1 {}) \
         AND (lease_expires_at IS NULL OR lease_expires_at < $3) RETURNING {JOB_COLS}",
        skip_locked(db.dialect())
    );
    db.optional(sql(q).bind(worker).bind(now + lease_ms).bind(now), job_row).await
}

pub(super) async fn heartbeat(db: &Db, job_id: &str, worker: &str, lease_ms: i64) -> Result<bool> {
    let now = now_ms();
    let q = sql("UPDATE simulation_jobs SET lease_expires_at = $1, updated_at = $2 \
                 WHERE id = $3 AND lease_owner = $4 AND lease_expires_at >= $2")
    .bind(now + lease_ms)
    .bind(now)
    .bind(job_id)
    .bind(worker);
    Ok(db.execute(q).await? == 1)
}

pub(super) async fn release_job(db: &Db, job_id: &str, worker: &str, reason: &str) -> Result<bool> {
    // No owner, so that the next claim keeps `reason` as the last attempt's. The lease still
    // runs out at its time: that spaces the attempts of a job whose worker keeps stopping.
    let q = sql("UPDATE simulation_jobs SET lease_owner = NULL, error_message = $1, \
                 updated_at = $2 WHERE id = $3 AND lease_owner = $4 AND \
                 status IN ('queued', 'preparing', 'meshing', 'solving')")
    .bind(reason)
    .bind(now_ms())
    .bind(job_id)
    .bind(worker);
    Ok(db.execute(q).await? == 1)
}

pub(super) async fn transition(db: &Db, job_id: &str, worker: &str, to: JobStatus, reason: &str) -> Result<bool> {
    let Some(job) = job(db, job_id).await? else { return Ok(false) };
    if job.lease_owner.as_deref() != Some(worker) || !job.status.can_become(to) {
        return Ok(false);
    }
    let now = now_ms();
    let update = if to.is_terminal() {
        "UPDATE simulation_jobs SET status = $1, updated_at = $2, completed_at = $2, lease_owner = NULL, \
         lease_expires_at = NULL, error_message = $3 WHERE id = $4 AND status = $5 AND lease_owner = $6"
    } else {
        "UPDATE simulation_jobs SET status = $1, updated_at = $2, started_at = COALESCE(started_at, $2), \
         step = $3 WHERE id = $4 AND status = $5 AND lease_owner = $6"
    };
    // `$3`: the error of a failed job, or the step a live job is now in.
    let detail = match to {
        JobStatus::Failed => Some(reason),
        JobStatus::Completed | JobStatus::Cancelled => None,
        _ => Some(to.as_str()),
    };
    let mut conn = db.conn().await?;
    let mut tx = conn.begin().await?;
    let q = sql(update).bind(to.as_str()).bind(now).bind(detail).bind(job_id).bind(job.status.as_str()).bind(worker);
    if tx.execute(q).await? != 1 {
        tx.rollback().await?;
        return Ok(false);
    }
    let q = sql("INSERT INTO job_transitions (id, job_id, seq, from_status, to_status, reason, worker, created_at) \
                 VALUES ($1, $2, (SELECT COUNT(*) FROM job_transitions WHERE job_id = $2), $3, $4, $5, $6, $7)")
    .bind(new_id())
    .bind(job_id)
    .bind(job.status.as_str())
    .bind(to.as_str())
    .bind(reason)
    .bind(worker)
    .bind(now);
    tx.execute(q).await?;
    tx.commit().await?;
    Ok(true)
}

pub(super) async fn set_handle(db: &Db, job_id: &str, worker: &str, handle: &str) -> Result<bool> {
    let q = sql("UPDATE simulation_jobs SET handle = $1, updated_at = $2 WHERE id = $3 AND lease_owner = $4")
        .bind(handle)
        .bind(now_ms())
        .bind(job_id)
        .bind(worker);
    Ok(db.execute(q).await? == 1)
}

pub(super) async fn transitions(db: &Db, job_id: &str) -> Result<Vec<Transition>> {
    let q = sql("SELECT from_status, to_status, reason, worker, created_at FROM job_transitions \
                 WHERE job_id = $1 ORDER BY seq")
    .bind(job_id);
    db.all(q, transition_row).await
}

pub(super) async fn job_for(db: &Db, user_id: &str, id: &str) -> Result<Option<(Job, Role)>> {
    let q = format!(
        "SELECT {}, {ROLE_EXPR} AS role FROM simulation_jobs j JOIN simulation_cases c ON c.id = j.case_id \
         JOIN projects p ON p.id = c.project_id {ACCESS_JOIN} WHERE {ACCESS_WHERE} AND j.id = $2",
        qualified(JOB_COLS, "j")
    );
    db.optional(sql(q).bind(user_id).bind(id), |r| Ok((job_row(r)?, role(r)?))).await
}

pub(super) async fn project_jobs(db: &Db, project_id: &str) -> Result<Vec<Job>> {
    let q = format!(
        "SELECT {} FROM simulation_jobs j JOIN simulation_cases c ON c.id = j.case_id \
         WHERE c.project_id = $1 ORDER BY j.created_at DESC, j.id",
        qualified(JOB_COLS, "j")
    );
    db.all(sql(q).bind(project_id), job_row).await
}

pub(super) async fn request_cancel(db: &Db, job_id: &str, reason: &str) -> Result<bool> {
    let now = now_ms();
    let mut conn = db.conn().await?;
    let mut tx = conn.begin().await?;
    let q = sql("UPDATE simulation_jobs SET status = 'cancelled', completed_at = $1, updated_at = $1, \
                 cancel_requested = TRUE WHERE id = $2 AND status = 'queued' AND \
                 (lease_owner IS NULL OR lease_expires_at < $1)")
    .bind(now)
    .bind(job_id);
    let cancelled = tx.execute(q).await? == 1;
    let q = if cancelled {
        sql("INSERT INTO job_transitions (id, job_id, seq, from_status, to_status, reason, created_at) \
             VALUES ($1, $2, (SELECT COUNT(*) FROM job_transitions WHERE job_id = $2), 'queued', \
             'cancelled', $3, $4)")
        .bind(new_id())
        .bind(job_id)
        .bind(reason)
        .bind(now)
    } else {
        // A held or running job: its worker sees the flag and stops it.
        sql("UPDATE simulation_jobs SET cancel_requested = TRUE, updated_at = $1 WHERE id = $2").bind(now).bind(job_id)
    };
    tx.execute(q).await?;
    tx.commit().await?;
    Ok(cancelled)
}

pub(super) async fn save_progress(db: &Db, job_id: &str, worker: &str, p: &ProgressUpdate) -> Result<bool> {
    let mut conn = db.conn().await?;
    let mut tx = conn.begin().await?;
    let q = sql("UPDATE simulation_jobs SET log_offset = $1, log_step = $2, \
                 iteration = CASE WHEN $3 > iteration THEN $3 ELSE iteration END, \
                 latest = COALESCE($4, latest), updated_at = $5 WHERE id = $6 AND lease_owner = $7")
    .bind(p.offset)
    .bind(&p.step)
    .bind(p.iteration)
    .bind(&p.latest)
    .bind(now_ms())
    .bind(job_id)
    .bind(worker);
    if tx.execute(q).await? != 1 {
        tx.rollback().await?;
        return Ok(false);
    }
    for (iteration, data) in &p.samples {
        let q = sql("INSERT INTO job_samples (job_id, iteration, data) VALUES ($1, $2, $3) \
                     ON CONFLICT (job_id, iteration) DO UPDATE SET data = excluded.data")
        .bind(job_id)
        .bind(*iteration)
        .bind(data);
        tx.execute(q).await?;
    }
    tx.commit().await?;
    Ok(true)
}

pub(super) async fn samples(db: &Db, job_id: &str, after: i64, limit: i64) -> Result<Vec<String>> {
    let q = sql("SELECT data FROM job_samples WHERE job_id = $1 AND iteration > $2 ORDER BY iteration LIMIT $3")
        .bind(job_id)
        .bind(after)
        .bind(limit);
    db.all(q, |r| r.get(0)).await
}

pub(super) async fn compact_samples(db: &Db, job_id: &str, before: i64, stride: i64) -> Result<u64> {
    let q = sql("DELETE FROM job_samples WHERE job_id = $1 AND iteration < $2 AND iteration % $3 <> 0")
        .bind(job_id)
        .bind(before)
        .bind(stride.max(1));
    db.execute(q).await
}

pub(super) async fn job_counts(db: &Db) -> Result<Vec<(String, i64)>> {
    let q = sql("SELECT status, COUNT(*) AS n FROM simulation_jobs GROUP BY status ORDER BY status");
    db.all(q, |r| Ok((r.get("status")?, r.get("n")?))).await
}

#[cfg(test)]
mod tests {
    use super::qualified;

    #[test]
    fn columns_are_qualified_one_by_one() {
        assert_eq!(qualified("id, case_id, status", "j"), "j.id, j.case_id, j.status");
    }
}
