//! Submitting, reading and cancelling jobs.
use super::Caller;
use crate::error::{AppError, AppResult};
use crate::foam::spec::CaseSpec;
use crate::jobs::events::JobEvent;
use crate::jobs::executor::Handle;
use crate::jobs::follow::Sample;
use crate::state::AppState;
use crate::store::{CoreLimits, Job, JobStatus, NewJob, Role, Subject};
use serde::Serialize;
use serde_json::{json, Value};

/// Cores for a cell count, as in the product plan: ≤500k → 4, ≤2M → 8, ≤10M → 16,
/// ≤50M → 32, more → 64.
pub fn cores_for_cells(cells: u64) -> u32 {
    match cells {
        0..=500_000 => 4,
        500_001..=2_000_000 => 8,
        2_000_001..=10_000_000 => 16,
        10_000_001..=50_000_000 => 32,
        _ => 64,
    }
}

/// The most cores the local executor offers: `jobs.local_max_cores`, or this machine's.
pub fn local_max_cores(cfg: &crate::config::JobsConfig) -> u32 {
    match cfg.local_max_cores {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
        n => n,
    }
}

/// The most cores one job may ask of a cluster: its `max_cores`, and on Kubernetes without
/// the MPI Operator, one node's cores.
pub fn cluster_max_cores(c: &crate::config::ClusterConfig) -> u32 {
    if c.kind == "kubernetes" && !c.mpi_operator {
        c.cores_per_node.min(c.max_cores)
    } else {
        c.max_cores
    }
}

/// A place jobs can run, as the API lists it (no connection details).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ExecutorInfo {
    pub name: String,
    /// `local`, `slurm` or `kubernetes`.
    pub kind: String,
    pub max_cores: u32,
    /// Whether this server can reach it (a cluster whose key does not unseal is not).
    pub usable: bool,
}

/// Where jobs can run: `local` and the configured clusters.
pub fn executors(st: &AppState) -> Vec<ExecutorInfo> {
    let local = ExecutorInfo {
        name: "local".into(),
        kind: "local".into(),
        max_cores: local_max_cores(&st.cfg.jobs),
        usable: true,
    };
    std::iter::once(local)
        .chain(st.cfg.clusters.iter().map(|c| ExecutorInfo {
            name: c.name.clone(),
            kind: c.kind.clone(),
            max_cores: cluster_max_cores(c),
            usable: st.executors.contains_key(&c.name),
        }))
        .collect()
}

/// Queues a run of a case on `executor` (only "local" exists so far).
pub async fn submit(
    st: &AppState,
    caller: &Caller,
    case_id: &str,
    executor: &str,
    cores: Option<u32>,
) -> AppResult<Job> {
    super::recovery::require_verified(st, caller, "submit jobs")?;
    let case = super::cases::get(st, caller, case_id).await?;
    if !case.role.can_write() {
        return Err(AppError::Forbidden("viewers cannot start jobs".into()));
    }
    let gid = case.geometry_id.clone().unwrap_or_default();
    let g =
        st.store.geometry(caller.id(), &gid).await?.ok_or(AppError::Conflict("the case's geometry is gone".into()))?;
    if g.status != crate::store::GeometryStatus::Ready {
        return Err(AppError::Conflict(format!("the case's geometry {:?} is {}, not ready", g.name, g.status)));
    }
    let spec: CaseSpec = serde_json::from_str(&case.spec).map_err(|e| AppError::Internal(e.to_string()))?;
    let project = st.store.project(caller.id(), &case.project_id).await?.ok_or(AppError::NotFound("project"))?;
    // The plan first: a user asking for more than their plan allows is told so (and where
    // to upgrade) whatever the executor offers.
    let subject = Subject::of_project(project.org_id.as_deref(), caller.id());
    let (standing, plan) = super::limits::check(st, &subject, &spec, cores).await?;
    let max = executor_max_cores(st, executor)?;
    let cores = match cores {
        Some(0) => return Err(AppError::Validation("cores must be at least 1".into())),
        Some(n) if n > max => {
            return Err(AppError::Validation(format!(
                "cores {n} is more than {executor:?} allows ({max}); ask for at most {max}"
            )))
        }
        Some(n) => n,
        None => cores_for_cells(spec.mesh.target_cells).min(max).min(standing.plan.max_cores_per_job.unwrap_or(max)),
    };
    let q = &st.cfg.jobs;
    let limits = CoreLimits { per_user: q.max_cores_per_user as i64, per_org: q.max_cores_per_org as i64 };
    let new = NewJob {
        case_id: &case.id,
        user_id: caller.id(),
        org_id: project.org_id.as_deref(),
        executor,
        cores: cores as i64,
        reason: "submitted",
    };
    // The quota checks, the job and its audit entry are one transaction, and the job is the
    // last thing this request asks of the database: an error here means nothing was queued.
    match st.store.submit_planned(&new, &limits, Some(&plan)).await? {
        Ok(job) => Ok(job),
        Err(refused) => Err(super::limits::refusal(st, &refused, &standing, &plan, cores)),
    }
}

/// The most cores `executor` offers, or why it cannot take jobs.
fn executor_max_cores(st: &AppState, executor: &str) -> AppResult<u32> {
    match executor {
        "local" => Ok(local_max_cores(&st.cfg.jobs)),
        name => match st.cfg.clusters.iter().find(|c| c.name == name) {
            Some(c) if st.executors.contains_key(name) => Ok(cluster_max_cores(c)),
            Some(_) => Err(AppError::Unavailable(format!(
                "cluster {name:?} is configured but unusable (its key cannot be unsealed; see the server log)"
            ))),
            None => {
                let mut names: Vec<&str> = vec!["local"];
                names.extend(st.cfg.clusters.iter().map(|c| c.name.as_str()));
                Err(AppError::Validation(format!(
                    "unknown cluster {executor:?}; the clusters here are: {}",
                    names.join(", ")
                )))
            }
        },
    }
}

/// A job the caller can see, with its role.
pub async fn get(st: &AppState, caller: &Caller, id: &str) -> AppResult<(Job, Role)> {
    st.store.job_for(caller.id(), id).await?.ok_or(AppError::NotFound("job"))
}

/// Asks a job to stop.
pub async fn cancel(st: &AppState, caller: &Caller, id: &str) -> AppResult<Job> {
    let (job, role) = get(st, caller, id).await?;
    if !role.can_write() {
        return Err(AppError::Forbidden("viewers cannot cancel jobs".into()));
    }
    if job.status.is_terminal() {
        return Err(AppError::Conflict(format!("the job is already {}", job.status.as_str())));
    }
    st.store.request_cancel(id, "cancelled by the user").await?;
    Ok(get(st, caller, id).await?.0)
}

/// The run's log so far, from its executor (or the object store once it has ended), and
/// its length in bytes: live `log` events past that length are new to whoever read this.
pub async fn log(st: &AppState, caller: &Caller, id: &str) -> AppResult<(String, u64)> {
    let (job, _) = get(st, caller, id).await?;
    // No run yet (queued, or between the intent to submit and the executor's answer).
    let Some(h) = job.handle.filter(|h| !crate::jobs::worker::is_intent(h)) else { return Ok((String::new(), 0)) };
    let text = |b: &[u8]| (String::from_utf8_lossy(b).into_owned(), b.len() as u64);
    if job.status.is_terminal() {
        if let Ok(b) = st.blobs.get(&format!("jobs/{}/run.log", job.id)).await {
            return Ok(text(&b));
        }
    }
    let ex = st
        .executors
        .get(&job.executor)
        .ok_or_else(|| AppError::Unavailable(format!("cluster {:?} is not configured on this server", job.executor)))?;
    // Executors hand a log over in chunks.
    let mut all = Vec::new();
    loop {
        let (bytes, _) = ex
            .read_log(&Handle(h.clone()), all.len() as u64)
            .await
            .map_err(|e| AppError::Unavailable(e.to_string()))?;
        if bytes.is_empty() {
            break;
        }
        all.extend_from_slice(&bytes);
    }
    Ok(text(&all))
}

/// The pipeline's summary.json of a completed job, passed on as the run wrote it (its keys
/// are the runner's interface, documented in the README).
pub async fn summary(st: &AppState, caller: &Caller, id: &str) -> AppResult<Value> {
    let (job, _) = get(st, caller, id).await?;
    if job.status != JobStatus::Completed {
        return Err(AppError::Conflict(format!(
            "the job is {}; its summary exists once it has completed",
            job.status.as_str()
        )));
    }
    let b = st.blobs.get(&format!("jobs/{id}/summary.json")).await?;
    serde_json::from_slice(&b).map_err(|e| AppError::Internal(e.to_string()))
}

/// The API's view of a job: state, step, transitions, the latest iteration with its
/// residuals and forces (from the live log while it runs, from summary.json once it has
/// completed), and core-seconds so far.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobView {
    pub id: String,
    pub case_id: String,
    pub status: JobStatus,
    pub step: Option<String>,
    pub executor: String,
    pub cores: i64,
    /// The last (or latest complete) iteration.
    pub iteration: Value,
    /// Initial residual per field at that iteration.
    pub residuals: Value,
    /// `{"Cd", "Cl", "Cs"}`, each null until known.
    pub forces: ForceView,
    /// The core-seconds (cores × wall seconds) recorded for the job, rounded; null before
    /// it started.
    pub core_seconds: Option<f64>,
    /// The same in core-hours, as usage reports and plans count them.
    pub core_hours: Option<f64>,
    pub error: Option<String>,
    pub cancel_requested: bool,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
    pub transitions: Vec<crate::store::Transition>,
    /// Why it is in its state (the last transition's reason): for a job stopped at its
    /// plan's quota, that it was, and that its results so far are kept.
    pub status_reason: Option<String>,
    /// The plan it was submitted under (null without billing data).
    pub plan: Option<String>,
}

/// The force coefficients a job view shows (null until the solver writes them).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ForceView {
    #[serde(rename = "Cd")]
    pub cd: Value,
    #[serde(rename = "Cl")]
    pub cl: Value,
    #[serde(rename = "Cs")]
    pub cs: Value,
}

impl ForceView {
    fn of(forces: &Value) -> ForceView {
        ForceView { cd: forces["Cd"].clone(), cl: forces["Cl"].clone(), cs: forces["Cs"].clone() }
    }
}

/// The view of `job` (see [`JobView`]).
pub async fn view(st: &AppState, job: &Job) -> AppResult<JobView> {
    let transitions = st.store.transitions(&job.id).await?;
    // What is billed: the usage recorded for the job (while it runs, up to the worker's
    // latest record).
    let recorded = st.store.usage_of_job(&job.id).await?;
    let core_seconds = (job.started_at.is_some() || recorded > 0.0).then_some(recorded.round());
    let summary: Option<Value> = if job.status == JobStatus::Completed {
        match st.blobs.get(&format!("jobs/{}/summary.json", job.id)).await {
            Ok(b) => serde_json::from_slice(&b).ok(),
            Err(_) => None,
        }
    } else {
        None
    };
    let live: Value = job.latest.as_deref().and_then(|t| serde_json::from_str(t).ok()).unwrap_or_default();
    let (iteration, residuals, forces) = match &summary {
        Some(s) => {
            (s["solve"]["iterations"].clone(), s["solve"]["final_residuals"].clone(), ForceView::of(&s["forces"]))
        }
        None => (
            live.get("iteration").cloned().unwrap_or(json!(job.iteration)),
            live.get("residuals").cloned().unwrap_or(Value::Null),
            ForceView::of(&live["forces"]),
        ),
    };
    Ok(JobView {
        id: job.id.clone(),
        case_id: job.case_id.clone(),
        status: job.status,
        step: job.log_step.clone().or(job.step.clone()),
        executor: job.executor.clone(),
        cores: job.cores,
        iteration,
        residuals,
        forces,
        core_seconds,
        core_hours: core_seconds.map(|_| recorded / 3600.0),
        error: job.error_message.clone(),
        cancel_requested: job.cancel_requested,
        created_at: job.created_at,
        started_at: job.started_at,
        completed_at: job.completed_at,
        status_reason: transitions.last().map(|t| t.reason.clone()),
        plan: job.plan.clone(),
        transitions,
    })
}

/// Stored samples after iteration `after`, as the `sample` events they were live.
pub async fn samples_after(st: &AppState, job: &str, after: i64) -> AppResult<Vec<JobEvent>> {
    let rows = st.store.samples(job, after, 1_000_000).await?;
    Ok(rows.iter().filter_map(|r| serde_json::from_str::<Sample>(r).ok()).map(JobEvent::Sample).collect())
}
