//! Simulation cases and the durable job queue.
//!
//! A job is a row with a state machine: queued → preparing → meshing → solving →
//! completed, failed or cancelled. A worker claims a job with a lease (on PostgreSQL with
//! `FOR UPDATE SKIP LOCKED`, so workers never wait on each other), renews it with
//! heartbeats, and loses it when it stops renewing: another worker then claims the job
//! again and re-attaches to the executor handle recorded on it. Every state change is
//! stored with a timestamp, the worker and a reason.
use super::Result;
use serde::Serialize;

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Preparing,
    Meshing,
    Solving,
    Completed,
    Failed,
    Cancelled,
}

impl JobStatus {
    /// Every state, in order.
    pub const ALL: [JobStatus; 7] = [
        JobStatus::Queued,
        JobStatus::Preparing,
        JobStatus::Meshing,
        JobStatus::Solving,
        JobStatus::Completed,
        JobStatus::Failed,
        JobStatus::Cancelled,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Preparing => "preparing",
            JobStatus::Meshing => "meshing",
            JobStatus::Solving => "solving",
            JobStatus::Completed => "completed",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<JobStatus> {
        JobStatus::ALL.into_iter().find(|j| j.as_str() == s)
    }

    /// Completed, failed or cancelled: nothing runs any more.
    pub fn is_terminal(self) -> bool {
        matches!(self, JobStatus::Completed | JobStatus::Failed | JobStatus::Cancelled)
    }

    /// Whether the state machine allows `self → to`. Work moves forward one stage at a
    /// time (a stage may be skipped, e.g. no meshing for a premeshed case); any live job
    /// can fail or be cancelled; a terminal state is final.
    pub fn can_become(self, to: JobStatus) -> bool {
        use JobStatus::*;
        if self.is_terminal() {
            return false;
        }
        match to {
            Failed | Cancelled => true,
            Queued => false,
            _ => (to as u8) > (self as u8) && !(to == Completed && self == Queued),
        }
    }
}

/// A job as the queue sees it.
#[derive(Debug, Clone, Serialize)]
pub struct Job {
    pub id: String,
    pub case_id: String,
    pub user_id: String,
    pub status: JobStatus,
    pub step: Option<String>,
    pub executor: String,
    pub cores: i64,
    pub priority: i64,
    /// The executor's handle (process group, Slurm job id, Kubernetes Job name).
    pub handle: Option<String>,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<i64>,
    pub attempts: i64,
    pub error_message: Option<String>,
    /// A user asked to stop it; the worker holding it acts on this.
    pub cancel_requested: bool,
    pub created_at: i64,
    /// When it was handed to its executor, and when it ended.
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
    /// Where reading the executor's log resumes (see `jobs::follow`), and in which step.
    pub log_offset: i64,
    pub log_step: Option<String>,
    /// The latest completed solver iteration.
    pub iteration: i64,
    /// The latest sample as JSON (`{"iteration", "residuals", "forces"}`).
    #[serde(skip)]
    pub latest: Option<String>,
    /// Core-seconds are recorded in usage_records up to this time.
    pub usage_until: Option<i64>,
    /// When the job's final use was recorded (None: not yet; see `finish_usage`).
    pub usage_final: Option<i64>,
    /// The mesh's cells and the solver's iterations, from summary.json at the end.
    pub mesh_cells: Option<i64>,
    pub iterations: Option<i64>,
    /// The plan it was submitted under, who it bills (`user:ID`/`org:ID`), and the Slurm
    /// account that plan charges (None for jobs from before plans, or without billing).
    pub plan: Option<String>,
    pub billing_subject: Option<String>,
    pub charge_account: Option<String>,
}

/// What a worker stores after reading more of a run's log, in one transaction.
#[derive(Debug, Clone, Default)]
pub struct ProgressUpdate {
    /// The restart-safe log offset and the step there.
    pub offset: i64,
    pub step: Option<String>,
    /// The latest completed iteration.
    pub iteration: i64,
    /// The latest sample as JSON, when there is a new one.
    pub latest: Option<String>,
    /// Completed samples: (iteration, JSON).
    pub samples: Vec<(i64, String)>,
}

/// One recorded state change.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Transition {
    pub from: String,
    pub to: String,
    pub reason: String,
    pub worker: Option<String>,
    pub at: i64,
}

/// A stored simulation case.
#[derive(Debug, Clone, Serialize)]
pub struct Case {
    pub id: String,
    pub project_id: String,
    pub geometry_id: Option<String>,
    pub name: String,
    /// The full case spec (defaults filled in) as JSON text.
    #[serde(skip)]
    pub spec: String,
    /// The caller's role in the case's project.
    #[serde(skip)]
    pub role: super::Role,
    pub created_at: i64,
}

/// A new simulation case.
#[derive(Debug, Clone)]
pub struct NewCase {
    pub project_id: String,
    pub geometry_id: Option<String>,
    pub name: String,
    /// The case spec as JSON.
    pub spec: String,
}

/// A job to queue.
#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    pub case_id: &'a str,
    pub user_id: &'a str,
    /// The organization of the case's project, whose quota applies too.
    pub org_id: Option<&'a str>,
    pub executor: &'a str,
    pub cores: i64,
    /// Why it was queued (the first transition's reason).
    pub reason: &'a str,
}

/// The cores live jobs may hold together: one user's, and those in one organization's
/// projects.
#[derive(Debug, Clone, Copy)]
pub struct CoreLimits {
    pub per_user: i64,
    pub per_org: i64,
}

/// Which quota refused a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QuotaKind {
    /// `jobs.max_cores_per_user`: cores a user's live jobs hold.
    #[default]
    User,
    /// `jobs.max_cores_per_org`.
    Org,
    /// The plan's jobs at once.
    Concurrent,
    /// The plan's core-hours for the period (used, reserved by live jobs, and the estimate).
    CoreHours,
}

/// A submission refused by a quota: for cores and jobs at once, what live jobs already
/// held under it and its limit (and when one is expected to end); for core-hours, what
/// was used, what live jobs reserve and what is allowed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QuotaExceeded {
    pub kind: QuotaKind,
    pub held: i64,
    pub limit: i64,
    pub retry_after_s: Option<i64>,
    pub used_core_seconds: f64,
    pub reserved_core_seconds: f64,
    pub allowed_core_seconds: f64,
}

/// Cases and the job queue.
#[async_trait::async_trait]
pub trait JobStore: Send + Sync {
    async fn create_case(&self, c: &NewCase) -> Result<String>;
    /// A case the caller can see (through its project).
    async fn case(&self, user_id: &str, id: &str) -> Result<Option<Case>>;
    /// A project's cases, newest first.
    async fn cases(&self, project_id: &str) -> Result<Vec<Case>>;
    /// Queues a job; the first transition (→ queued) is recorded with `reason`.
    async fn create_job(&self, case_id: &str, user_id: &str, executor: &str, cores: i64, reason: &str) -> Result<Job>;
    /// Queues a job if it fits in the core quotas, in one transaction that also records
    /// the `job.submit` audit entry: parallel submissions are checked one after the other
    /// against what the earlier ones committed, so together they cannot pass a quota.
    async fn submit_job(&self, j: &NewJob<'_>, limits: &CoreLimits) -> Result<std::result::Result<Job, QuotaExceeded>> {
        self.submit_planned(j, limits, None).await
    }
    /// [`JobStore::submit_job`] with the plan's limits (jobs at once, core-hours) checked in
    /// the same transaction, and the plan, subject and estimate recorded on the job.
    async fn submit_planned(
        &self,
        j: &NewJob<'_>,
        limits: &CoreLimits,
        plan: Option<&super::PlanLimits>,
    ) -> Result<std::result::Result<Job, QuotaExceeded>>;
    /// Core-seconds per (cell × iteration) of the latest completed jobs, newest first.
    async fn estimate_calibration(&self, n: i64) -> Result<Vec<f64>>;
    async fn job(&self, id: &str) -> Result<Option<Job>>;
    /// Claims the next job for `worker` until `now + lease_ms`: a queued one, or a live one
    /// whose lease expired (its worker died; the new one re-attaches). Highest priority,
    /// then oldest first.
    async fn claim_job(&self, worker: &str, lease_ms: i64) -> Result<Option<Job>>;
    /// Renews a lease; false when the worker no longer holds it.
    async fn heartbeat(&self, job_id: &str, worker: &str, lease_ms: i64) -> Result<bool>;
    /// Moves a job the worker holds to `to` (checked against the state machine), recording
    /// the reason; a terminal state releases the lease. False when not allowed or not held.
    async fn transition(&self, job_id: &str, worker: &str, to: JobStatus, reason: &str) -> Result<bool>;
    /// Gives up the worker's hold on a live job, keeping `reason` (why this attempt stopped)
    /// for the next attempt's record; another worker claims it when the lease runs out.
    /// False when the worker does not hold it.
    async fn release_job(&self, job_id: &str, worker: &str, reason: &str) -> Result<bool>;
    /// Records the executor's handle so a restarted worker can re-attach.
    async fn set_handle(&self, job_id: &str, worker: &str, handle: &str) -> Result<bool>;
    async fn transitions(&self, job_id: &str) -> Result<Vec<Transition>>;
    /// A job the caller can see (through its case's project), with the caller's role.
    async fn job_for(&self, user_id: &str, id: &str) -> Result<Option<(Job, super::Role)>>;
    /// Jobs of a project, newest first.
    async fn project_jobs(&self, project_id: &str) -> Result<Vec<Job>>;
    /// Asks for a job to stop. A queued job nobody holds is cancelled at once (true).
    async fn request_cancel(&self, job_id: &str, reason: &str) -> Result<bool>;
    /// Stores what a worker read from a run's log (samples, offset, latest), if it still
    /// holds the job; replaying a stored sample replaces it.
    async fn save_progress(&self, job_id: &str, worker: &str, p: &ProgressUpdate) -> Result<bool>;
    /// Samples (JSON) after `after`, by iteration, at most `limit`.
    async fn samples(&self, job_id: &str, after: i64, limit: i64) -> Result<Vec<String>>;
    /// Thins the history of a long run: below iteration `before`, keeps every `stride`-th.
    async fn compact_samples(&self, job_id: &str, before: i64, stride: i64) -> Result<u64>;
    /// Records the provisional core-seconds of a running job from where the last record
    /// ended to `until` in usage_records (step from the job's state, no plan); returns them
    /// (0 if nothing new, if another worker just did, or once the job's use is final).
    async fn record_usage(&self, job_id: &str, until: i64) -> Result<f64> {
        self.record_usage_as(job_id, until, None).await
    }
    /// [`JobStore::record_usage`] with the plan in force for the job's subject.
    async fn record_usage_as(&self, job_id: &str, until: i64, plan: Option<&str>) -> Result<f64>;
    /// Moves a running job's usage mark to `until` without recording anything: time the run
    /// spent waiting for its scheduler, which held no cores. False when nothing moved.
    async fn skip_usage(&self, job_id: &str, until: i64) -> Result<bool>;
    /// Records a finished job's final use, once: a `final` correction that makes its total
    /// cores × the executor's wall time (or, without the executor's times, the provisional
    /// total counted up to now), with `usage_final`, `mesh_cells` and `iterations`, in one
    /// transaction. Returns the job's total, or None when its use was already final (a
    /// re-attached or second worker) or moved on concurrently.
    async fn finish_usage(&self, job_id: &str, fin: &super::FinalUsage<'_>) -> Result<Option<f64>>;
    /// Core-seconds recorded for a job.
    async fn usage_of_job(&self, job_id: &str) -> Result<f64>;
    /// A job's usage records, oldest first.
    async fn usage_records_of_job(&self, job_id: &str) -> Result<Vec<super::UsageRecord>>;
    /// Cores held by live jobs: the user's, and those in the org's projects.
    async fn active_cores(&self, user_id: &str, org_id: Option<&str>) -> Result<(i64, i64)>;
    /// The worker's unscoped reads: a case and a geometry by id.
    async fn case_for_worker(&self, id: &str) -> Result<Option<Case>>;
}

#[cfg(test)]
mod tests {
    use super::JobStatus::*;

    #[test]
    fn the_state_machine_moves_forward_and_ends() {
        assert!(Queued.can_become(Preparing) && Preparing.can_become(Meshing) && Meshing.can_become(Solving));
        assert!(Solving.can_become(Completed) && Preparing.can_become(Solving));
        assert!(Queued.can_become(Cancelled) && Solving.can_become(Failed));
        assert!(!Queued.can_become(Completed), "a job completes only after it ran");
        assert!(!Solving.can_become(Meshing) && !Solving.can_become(Queued));
        assert!(!Completed.can_become(Failed) && !Cancelled.can_become(Solving));
    }
}
