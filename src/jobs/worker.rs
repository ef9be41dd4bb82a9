//! The worker: claims jobs from the queue, hands them to their executor, follows them to
//! the end, and keeps the job row true (state, step, handle, reason) all the way.
//!
//! A job's lease is renewed every poll, and through the finishing phase. A worker that dies
//! stops renewing; another claims the job and, since the handle is on the row, re-attaches
//! to the run instead of starting it again. Before submitting, the worker records its
//! intent (`intent:ATTEMPT` as the handle), and submitting is idempotent per attempt, so a
//! death between the two does not start the run twice. A job claimed more than
//! `jobs.max_attempts` times fails with the reason its last attempt ended.
use super::events::{EventBus, JobEvent};
use super::executor::ExecError;
use super::executor::{Bundle, ExecStatus, Executor, Handle, LocalExecutor, QUEUED};
use super::finish::usage_every_for;
use super::finish::with_heartbeat;
use super::finish::{archive_case, crash_point, plan_for, quota_stop, record_final_usage, run_facts, slow_fetch};
use super::follow::{Follower, Forces, Sample};
use super::slurm::SlurmExecutor;
use crate::blob::{BlobError, Blobs};
use crate::config::JobsConfig;
use crate::foam::spec::CaseSpec;
use crate::store::{GeometryStatus, Job, JobStatus, ProgressUpdate, Store, StoreError};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// What the worker reaches: the store, the object store, the event bus, its configuration
/// and the executors. No HTTP state, no services.
#[derive(Clone)]
pub struct WorkerCtx {
    /// The job queue and everything a job refers to.
    pub store: Arc<dyn Store>,
    /// Geometries in, logs, summaries and case archives out.
    pub blobs: Blobs,
    /// Where live events go.
    pub events: Arc<dyn EventBus>,
    /// Slots, lease and wall-time limits.
    pub jobs: JobsConfig,
    /// Job directories live under `DATA_DIR/jobs`.
    pub data_dir: PathBuf,
    /// Where jobs run, by name.
    pub executors: Arc<Executors>,
    /// The plans in effect (a job on a plan that stops at its quota is stopped there).
    pub billing: crate::config::BillingConfig,
}

/// Why the worker could not go on with a job (the job's own failures are states, not
/// errors: these are the worker's).
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error("object store: {0}")]
    Blob(#[from] BlobError),
    #[error("executor: {0}")]
    Exec(#[from] ExecError),
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
    /// The job cannot be prepared; the reason becomes the job's failure message.
    #[error("{0}")]
    Job(String),
    #[error("lost the lease; another worker has the job")]
    LeaseLost,
}

/// Local file work of the worker, with what it was doing.
fn io(what: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> WorkerError {
    let what = what.to_string();
    move |source| WorkerError::Io { what, source }
}

/// The executors jobs can be handed to, by name: `local`, and each configured cluster.
pub type Executors = std::collections::HashMap<String, Arc<dyn Executor>>;

/// Builds [`Executors`] from the configuration (cluster keys are unsealed with `keys`).
pub fn executors(cfg: &crate::config::Config, keys: &crate::auth::Keys, blobs: &crate::blob::Blobs) -> Executors {
    let mut m: Executors = std::collections::HashMap::new();
    m.insert("local".into(), Arc::new(LocalExecutor::new(cfg.flowcfd_bin())));
    for c in &cfg.clusters {
        if c.kind == "kubernetes" {
            let ex =
                super::kube::KubeExecutor::new(c.clone(), blobs.clone(), cfg.jobs.max_wall_s, cfg.data_dir.clone());
            m.insert(c.name.clone(), Arc::new(ex));
            continue;
        }
        let key = c.key_sealed.as_deref().map(|k| keys.unseal(k));
        match key {
            Some(Ok(k)) => {
                let ex = SlurmExecutor::new(
                    c.clone(),
                    String::from_utf8_lossy(&k).into_owned(),
                    super::slurm::runner::locate(cfg.jobs.runner_bin.as_deref(), &cfg.flowcfd_bin()),
                    cfg.data_dir.clone(),
                    cfg.jobs.max_wall_s,
                );
                m.insert(c.name.clone(), Arc::new(ex));
            }
            Some(Err(e)) => tracing::error!(cluster = %c.name, error = %e, "cluster unusable: its key"),
            None => tracing::error!(cluster = %c.name, "cluster unusable: no key_sealed"),
        }
    }
    m
}

/// Runs a worker until the process ends: at most `jobs.slots` jobs at a time.
pub fn spawn(st: WorkerCtx) -> tokio::task::JoinHandle<()> {
    let me = format!("{}-{}", hostname(), crate::store::new_id());
    let executors = st.executors.clone();
    let slots = Arc::new(tokio::sync::Semaphore::new(st.jobs.slots));
    let lease_ms = st.jobs.lease_s as i64 * 1000;
    tokio::spawn(async move {
        loop {
            let Ok(permit) = slots.clone().acquire_owned().await else { return };
            match st.store.claim_job(&me, lease_ms).await {
                Ok(Some(job)) => {
                    let (st, me, executors) = (st.clone(), me.clone(), executors.clone());
                    tokio::spawn(async move {
                        let id = job.id.clone();
                        let max = st.jobs.max_attempts.max(1) as i64;
                        if job.attempts > max {
                            let why = format!(
                                "gave up after {max} attempts (jobs.max_attempts); the last one ended: {}",
                                job.error_message.as_deref().unwrap_or("for no recorded reason")
                            );
                            tracing::warn!(job = %id, reason = %why, "failing the job");
                            if let Err(e) = set_status(&st, &me, &id, JobStatus::Failed, &why).await {
                                tracing::error!(job = %id, error = %e, "cannot fail the job");
                            }
                            drop(permit);
                            return;
                        }
                        crash_point("claim");
                        let Some(ex) = executors.get(&job.executor).cloned() else {
                            let why = format!(
                                "unknown cluster {:?}: this worker runs jobs on {}",
                                job.executor,
                                executors.keys().map(|k| format!("{k:?}")).collect::<Vec<_>>().join(", ")
                            );
                            if let Err(e) = set_status(&st, &me, &id, JobStatus::Failed, &why).await {
                                tracing::error!(job = %id, error = %e, "cannot fail the job");
                            }
                            drop(permit);
                            return;
                        };
                        match drive(&st, &me, ex.as_ref(), job, lease_ms).await {
                            Ok(()) | Err(WorkerError::LeaseLost) => {}
                            Err(e) => {
                                tracing::error!(job = %id, error = %e, "job driver stopped");
                                // Kept as this attempt's reason; the next claim retries.
                                let why = format!("the worker stopped: {e}");
                                if let Err(e) = st.store.release_job(&id, &me, &why).await {
                                    tracing::error!(job = %id, error = %e, "cannot release the job");
                                }
                            }
                        }
                        drop(permit);
                    });
                }
                Ok(None) => {
                    drop(permit);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Err(e) => {
                    drop(permit);
                    tracing::error!(error = %e, "cannot claim jobs");
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
            }
        }
    })
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "worker".into())
}

/// Writes the job's directory: `case.json` and the geometry it names.
async fn bundle(st: &WorkerCtx, job: &Job, attempt: u32) -> Result<Bundle, WorkerError> {
    let gone = |what: &str| WorkerError::Job(format!("the {what} is gone"));
    let case = st.store.case_for_worker(&job.case_id).await?.ok_or_else(|| gone("case"))?;
    let mut spec: CaseSpec =
        serde_json::from_str(&case.spec).map_err(|e| WorkerError::Job(format!("stored spec: {e}")))?;
    let gid = case.geometry_id.clone().ok_or_else(|| WorkerError::Job("the case has no geometry".into()))?;
    let g = st.store.geometry_for_worker(&gid).await?.ok_or_else(|| gone("geometry"))?;
    if g.status != GeometryStatus::Ready {
        return Err(WorkerError::Job(format!("geometry {:?} is {}, not ready", g.name, g.status)));
    }
    let dir = st.data_dir.join("jobs").join(&job.id);
    std::fs::create_dir_all(&dir).map_err(io(dir.display()))?;
    let file = format!("geometry.{}", g.format);
    let data = st.blobs.get(&g.original_key).await?;
    std::fs::write(dir.join(&file), &data).map_err(io(&file))?;
    spec.geometry = Some(file.into());
    spec.geometry_id = None;
    spec.scale *= g.scale;
    spec.solver.cores = job.cores.max(1) as u32;
    let text = serde_json::to_string_pretty(&spec).map_err(|e| WorkerError::Job(e.to_string()))?;
    std::fs::write(dir.join("case.json"), text).map_err(io("case.json"))?;
    Ok(Bundle {
        dir,
        cores: job.cores.max(1) as u32,
        job: job.id.clone(),
        attempt,
        account: job.charge_account.clone(),
    })
}

/// The job state a step means (executor step names, or the OpenFOAM application the log
/// is in).
fn status_of(step: &str) -> JobStatus {
    match step {
        "meshing"
        | "blockMesh"
        | "surfaceFeatureExtract"
        | "surfaceFeatures"
        | "snappyHexMesh"
        | "extrudeMesh"
        | "createPatch"
        | "checkMesh"
        | "decomposePar" => JobStatus::Meshing,
        "solving" | "potentialFoam" | "reconstructPar" | "postProcess" => JobStatus::Solving,
        s if crate::foam::case::is_solver_step(s) => JobStatus::Solving,
        _ => JobStatus::Preparing,
    }
}

/// The handle a job carries between the decision to submit and the executor's answer:
/// `intent:ATTEMPT`, the attempt whose run name the submission uses.
const INTENT: &str = "intent:";

/// Whether `handle` only records the intent to submit: no run exists for it yet, so it has
/// no log to read.
pub fn is_intent(handle: &str) -> bool {
    handle.starts_with(INTENT)
}

/// How often the executor is asked where the run stands (and the lease renewed, and
/// progress stored); the log is read at the executor's own `log_interval`.
const STATUS_POLL: Duration = Duration::from_millis(500);
/// History compaction: past this many iterations, the older ones are thinned so that about
/// `KEEP` remain at full resolution and the rest at a stride.
const KEEP: i64 = 2000;

/// Moves the job to `to` and tells its live subscribers.
async fn set_status(st: &WorkerCtx, me: &str, job: &str, to: JobStatus, reason: &str) -> Result<bool, WorkerError> {
    let ok = st.store.transition(job, me, to, reason).await?;
    if ok {
        st.events.publish(job, &JobEvent::Status { status: to, reason: Some(reason.to_string()) }).await;
    }
    Ok(ok)
}

/// Reads what is new in the run's log and publishes the live events in it.
async fn read_more(st: &WorkerCtx, ex: &dyn Executor, h: &Handle, f: &mut Follower, job: &str, end: bool) {
    loop {
        let (bytes, _) = match ex.read_log(h, f.read_offset()).await {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(job, error = %e, "log not readable yet");
                break;
            }
        };
        let more = bytes.len() >= READ_CHUNK;
        let mut events = f.feed(&bytes);
        if end && !more {
            events.extend(f.finish());
        }
        for ev in events.iter().filter(|e| !matches!(e, JobEvent::Sample(_))) {
            st.events.publish(job, ev).await;
        }
        if !more {
            break;
        }
    }
    if let Some(ev) = f.log_event(end) {
        st.events.publish(job, &ev).await;
    }
}

/// The most log bytes taken per read; more means read again at once.
const READ_CHUNK: usize = 4 << 20;

/// Stores the completed samples with the restart-safe offset, then publishes them.
async fn checkpoint(
    st: &WorkerCtx,
    me: &str,
    job: &str,
    f: &mut Follower,
    latest: &mut Latest,
) -> Result<bool, WorkerError> {
    let (offset, samples) = f.checkpoint();
    for s in &samples {
        latest.take(s);
    }
    let rows: Vec<(i64, String)> =
        samples.iter().map(|s| (s.iteration as i64, serde_json::to_string(s).unwrap_or_default())).collect();
    let update = ProgressUpdate {
        offset: offset as i64,
        step: f.step().map(String::from),
        iteration: samples.last().map_or(0, |s| s.iteration as i64),
        latest: (!samples.is_empty()).then(|| latest.json()),
        samples: rows,
    };
    if !st.store.save_progress(job, me, &update).await? {
        return Ok(false);
    }
    for s in samples {
        st.events.publish(job, &JobEvent::Sample(s)).await;
    }
    if let Some(it) = update.samples.last().map(|(i, _)| *i) {
        // Thin out older history each time another KEEP iterations have gone by.
        if it > 2 * KEEP && it % KEEP < update.samples.len() as i64 {
            let stride = 1i64 << ((it - KEEP) / KEEP).max(1).ilog2().min(16);
            let gone = st.store.compact_samples(job, it - KEEP, stride * 2).await?;
            tracing::debug!(job, gone, "compacted residual history");
        }
    }
    Ok(true)
}

/// The latest residuals and the latest forces, as stored on the job row.
#[derive(Default)]
struct Latest {
    iteration: u64,
    residuals: std::collections::BTreeMap<String, f64>,
    forces: Option<Forces>,
}

impl Latest {
    fn from_json(text: Option<&str>) -> Self {
        let v: serde_json::Value = text.and_then(|t| serde_json::from_str(t).ok()).unwrap_or_default();
        Latest {
            iteration: v["iteration"].as_u64().unwrap_or(0),
            residuals: serde_json::from_value(v["residuals"].clone()).unwrap_or_default(),
            forces: serde_json::from_value(v["forces"].clone()).ok(),
        }
    }
    fn take(&mut self, s: &Sample) {
        self.iteration = s.iteration;
        self.residuals = s.residuals.clone();
        if s.forces.is_some() {
            self.forces = s.forces;
        }
    }
    fn json(&self) -> String {
        serde_json::json!({"iteration": self.iteration, "residuals": self.residuals, "forces": self.forces}).to_string()
    }
}

/// Follows one claimed job to its end (or until the lease is lost).
async fn drive(st: &WorkerCtx, me: &str, ex: &dyn Executor, job: Job, lease_ms: i64) -> Result<(), WorkerError> {
    let intent = job.handle.as_deref().and_then(|h| h.strip_prefix(INTENT)).and_then(|a| a.parse::<u32>().ok());
    let handle = match &job.handle {
        Some(h) if intent.is_none() => {
            tracing::info!(job = %job.id, handle = %h, "re-attaching");
            Handle(h.clone())
        }
        _ => {
            // The attempt that first meant to submit names the run; a later one finds it.
            let attempt = intent.unwrap_or(job.attempts.max(1) as u32);
            let b = match bundle(st, &job, attempt).await {
                Ok(b) => b,
                Err(why) => {
                    set_status(st, me, &job.id, JobStatus::Failed, &why.to_string()).await?;
                    return Ok(());
                }
            };
            if intent.is_none() && !st.store.set_handle(&job.id, me, &format!("{INTENT}{attempt}")).await? {
                return Err(WorkerError::LeaseLost);
            }
            crash_point("intent");
            let h = match ex.submit(&b).await {
                Ok(h) => h,
                Err(err) => {
                    set_status(st, me, &job.id, JobStatus::Failed, &err.to_string()).await?;
                    return Ok(());
                }
            };
            crash_point("submit");
            if !st.store.set_handle(&job.id, me, &h.0).await? {
                return Err(WorkerError::LeaseLost);
            }
            set_status(st, me, &job.id, JobStatus::Preparing, &format!("submitted to the {} executor", ex.name()))
                .await?;
            h
        }
    };
    let mut follower = Follower::resume(job.log_offset.max(0) as u64, job.log_step.clone());
    let mut latest = Latest::from_json(job.latest.as_deref());
    let mut cancelling: Option<&'static str> = None;
    // Why the run was asked to stop at its plan's quota, once it was.
    let mut quota_reason: Option<String> = None;
    let mut last_status = std::time::Instant::now();
    let mut last_usage = std::time::Instant::now();
    let mut queued = false;
    let max_wall_ms = st.jobs.max_wall_s.saturating_mul(1000) as i64;
    loop {
        tokio::time::sleep(ex.log_interval()).await;
        read_more(st, ex, &handle, &mut follower, &job.id, false).await;
        if last_status.elapsed() < STATUS_POLL {
            continue;
        }
        last_status = std::time::Instant::now();
        if !checkpoint(st, me, &job.id, &mut follower, &mut latest).await?
            || !st.store.heartbeat(&job.id, me, lease_ms).await?
        {
            return Err(WorkerError::LeaseLost);
        }
        let now = st.store.job(&job.id).await?.ok_or_else(|| WorkerError::Job("the job is gone".into()))?;
        let over_time = now.started_at.is_some_and(|t| crate::store::now_ms() - t > max_wall_ms);
        if cancelling.is_none() && (now.cancel_requested || over_time) {
            cancelling = Some(if now.cancel_requested { "user" } else { "wall time" });
            ex.cancel(&handle).await?;
        }
        // Provisional use while it runs (quotas need it); the end corrects it to the
        // executor's own wall time.
        // Time the run waits for its scheduler is not counted (skipped, not recorded).
        if last_usage.elapsed() >= usage_every_for(st, &job) {
            last_usage = std::time::Instant::now();
            if queued {
                st.store.skip_usage(&job.id, crate::store::now_ms()).await?;
            } else {
                let plan = plan_for(st, &job).await;
                st.store.record_usage_as(&job.id, crate::store::now_ms(), plan.as_deref()).await?;
                // A plan that stops jobs at its quota: the run writes the iteration it is
                // on and ends normally (its results stay); a run that cannot be reached
                // that way (still meshing on an executor without a way in) is cancelled.
                if quota_reason.is_none() && cancelling.is_none() {
                    if let Some(reason) = quota_stop(st, &job).await? {
                        tracing::info!(job = %job.id, %reason, "stopping at the quota");
                        if !ex.stop_gracefully(&handle, &reason).await? {
                            cancelling = Some("quota");
                            ex.cancel(&handle).await?;
                        }
                        quota_reason = Some(reason);
                    }
                }
            }
        }
        let status = ex.status(std::slice::from_ref(&handle)).await?.remove(0);
        let (to, why) = match status {
            ExecStatus::Running { step } => {
                if std::mem::replace(&mut queued, step == QUEUED) && step != QUEUED {
                    st.store.skip_usage(&job.id, crate::store::now_ms()).await?;
                }
                let to = status_of(if step == "preparing" { step } else { follower.step().unwrap_or(step) });
                if to != now.status && now.status.can_become(to) {
                    set_status(st, me, &job.id, to, &format!("{step} started")).await?;
                }
                continue;
            }
            ExecStatus::Completed => (JobStatus::Completed, "the run finished".to_string()),
            ExecStatus::Failed(why) => (JobStatus::Failed, why),
            ExecStatus::Cancelled if cancelling == Some("wall time") => (
                JobStatus::Failed,
                format!(
                    "stopped at the wall-time limit of {} s ({:.1} h; jobs.max_wall_s)",
                    st.jobs.max_wall_s,
                    st.jobs.max_wall_s as f64 / 3600.0
                ),
            ),
            ExecStatus::Cancelled if cancelling == Some("quota") => {
                (JobStatus::Cancelled, format!("stopped at the quota: {}", quota_reason.clone().unwrap_or_default()))
            }
            ExecStatus::Cancelled => (JobStatus::Cancelled, "cancelled by the user".to_string()),
        };
        // The end: the rest of the log (kept in the object store), the results (which
        // also cleans a cluster's scratch), summary.json, the exportable case, the last
        // samples, the final core-seconds (once), the state.
        let finishing = async {
            read_more(st, ex, &handle, &mut follower, &job.id, true).await;
            if let Ok((log, _)) = ex.read_log(&handle, 0).await {
                if let Err(x) = st.blobs.put(&format!("jobs/{}/run.log", job.id), log.into()).await {
                    tracing::warn!(job = %job.id, error = %x, "cannot keep the log");
                }
            }
            let (mut to, mut why) = (to, why);
            let mut fetched = None;
            slow_fetch().await;
            match ex.fetch_results(&handle).await {
                Ok(out) => {
                    fetched = Some(out.clone());
                    if to == JobStatus::Completed {
                        match std::fs::read(out.join("summary.json")) {
                            Ok(s) => st.blobs.put(&format!("jobs/{}/summary.json", job.id), s.into()).await?,
                            Err(_) => {
                                (to, why) = (JobStatus::Failed, "the run ended without a summary.json".to_string())
                            }
                        }
                    }
                    // What the run recorded about its failure (the step, the log lines
                    // quoted): the report of a failed job shows it.
                    if to == JobStatus::Failed {
                        if let Ok(f) = std::fs::read(out.join("failure.json")) {
                            if let Err(x) = st.blobs.put(&format!("jobs/{}/failure.json", job.id), f.into()).await {
                                tracing::warn!(job = %job.id, error = %x, "cannot keep failure.json");
                            }
                        }
                    }
                    if to != JobStatus::Cancelled {
                        if let Err(x) = archive_case(st, &out, &job.id).await {
                            tracing::warn!(job = %job.id, error = %x, "no case archive");
                        }
                    }
                }
                // Not the run's failure: this attempt stops, and the next one fetches again
                // (resuming a cut-short download), within jobs.max_attempts.
                Err(x) if to == JobStatus::Completed => return Err(WorkerError::Exec(x)),
                Err(x) => tracing::warn!(job = %job.id, error = %x, "no results to fetch"),
            }
            let facts = fetched.as_deref().map(run_facts).unwrap_or_default();
            if let (JobStatus::Completed, Some(reason)) = (to, &facts.stopped) {
                why = format!("stopped early: {reason}; the results so far are kept");
            }
            let used = record_final_usage(st, ex, &handle, &job, fetched.as_deref(), &facts).await?;
            tracing::info!(job = %job.id, core_seconds = ?used, "final usage");
            Ok::<_, WorkerError>((to, why))
        };
        let (to, why) = with_heartbeat(st, me, &job.id, lease_ms, finishing).await??;
        crash_point("usage");
        checkpoint(st, me, &job.id, &mut follower, &mut latest).await?;
        set_status(st, me, &job.id, to, &why).await?;
        return Ok(());
    }
}
