//! The worker's rooms around a run rather than inside it: keeping the lease alive while a
//! long step (fetching and archiving results) has no log to poll, packing the case into the
//! object store, recording the job's final use, and the crash points that tests of
//! recovery use.
use super::executor::{ExecUsage, Executor, Handle};
use super::worker::{WorkerCtx, WorkerError};
use crate::store::{ExecTimes, FinalUsage, Job};
use std::path::Path;
use std::time::Duration;

/// What the end of a run says about it, from its summary.json.
#[derive(Debug, Default, Clone)]
pub(super) struct RunFacts {
    pub mesh_cells: Option<i64>,
    pub iterations: Option<i64>,
    /// Why it was stopped early (a graceful stop), if it was.
    pub stopped: Option<String>,
}

/// Reads `out/summary.json` (absent or unreadable: nothing known).
pub(super) fn run_facts(out: &Path) -> RunFacts {
    let Some(v) =
        std::fs::read(out.join("summary.json")).ok().and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
    else {
        return RunFacts::default();
    };
    RunFacts {
        mesh_cells: v["mesh"]["cells"].as_i64(),
        iterations: v["solve"]["iterations"].as_i64(),
        stopped: v["stopped"]["reason"].as_str().map(String::from),
    }
}

/// The plan in force for the job's billing subject, stored on each usage record: the one
/// it was submitted under (None for jobs from before plans).
pub(super) async fn plan_for(_st: &WorkerCtx, job: &Job) -> Option<String> {
    job.plan.clone()
}

/// Whether the job's plan stops jobs at its quota (no overage billed, a finite quota):
/// such jobs are metered every minute at most, so that they stop close to it.
pub(super) fn stops_at_quota(st: &WorkerCtx, job: &Job) -> bool {
    job.plan.as_deref().and_then(|p| st.billing.plan(p)).is_some_and(|p| !p.has_overage())
        && job.billing_subject.is_some()
}

/// What the reason of a stop at the quota says (and what notifications look for in a job's
/// last transition).
pub const QUOTA_USED_UP: &str = "core-hours for this period are used up";

/// Why the job must stop now, if its subject has used up a quota that stops jobs: the
/// reason the run writes into its summary and the job's status shows.
pub(super) async fn quota_stop(st: &WorkerCtx, job: &Job) -> Result<Option<String>, WorkerError> {
    if !stops_at_quota(st, job) {
        return Ok(None);
    }
    let Some(subject) = job.billing_subject.as_deref().and_then(crate::store::Subject::parse) else { return Ok(None) };
    let month = crate::billing::month_of(crate::store::now_ms());
    let s = crate::billing::standing(st.store.as_ref(), &st.billing, &subject, &month).await?;
    if !s.out_of_quota() {
        return Ok(None);
    }
    Ok(Some(format!(
        "the {} plan's {:.2} {QUOTA_USED_UP} ({:.2} used)",
        s.plan.title_or_name(),
        s.included_core_hours.unwrap_or(0.0) + s.credit_core_hours,
        s.used_core_hours
    )))
}

/// How often a running job's provisional use is recorded, for this job.
pub(super) fn usage_every_for(st: &WorkerCtx, job: &Job) -> Duration {
    if stops_at_quota(st, job) {
        usage_every().min(Duration::from_secs(60))
    } else {
        usage_every()
    }
}

/// Records the job's final use once (see `store::JobStore::finish_usage`): the executor's
/// own times where it has them (the run's usage.json in `out` when the executor could not
/// be asked), else the provisional total stands.
pub(super) async fn record_final_usage(
    st: &WorkerCtx,
    ex: &dyn Executor,
    handle: &Handle,
    job: &Job,
    out: Option<&Path>,
    facts: &RunFacts,
) -> Result<Option<f64>, WorkerError> {
    let usage = match ex.usage(handle).await {
        Ok(Some(u)) if u.ended_ms.is_some() => Some(u),
        other => {
            if let Err(e) = other {
                tracing::warn!(job = %job.id, error = %e, "the executor's usage record is unreadable");
            }
            out.and_then(crate::runner::usage::read).map(ExecUsage::from)
        }
    };
    let exec = usage.as_ref().and_then(|u| {
        Some(ExecTimes { cores: u.cores as i64, started_ms: u.started_ms, ended_ms: u.ended_ms?, source: u.source })
    });
    if exec.is_none() {
        tracing::info!(job = %job.id, "no usage record from the executor; the provisional total stands");
    }
    let plan = plan_for(st, job).await;
    let fin = FinalUsage { exec, mesh_cells: facts.mesh_cells, iterations: facts.iterations, plan: plan.as_deref() };
    Ok(st.store.finish_usage(&job.id, &fin).await?)
}

/// How often a running job's provisional use is recorded: every 10 minutes (test builds:
/// `FLOWCFD_TEST_USAGE_EVERY_MS`).
pub(super) fn usage_every() -> Duration {
    #[cfg(debug_assertions)]
    if let Some(ms) = std::env::var("FLOWCFD_TEST_USAGE_EVERY_MS").ok().and_then(|v| v.parse().ok()) {
        return Duration::from_millis(ms);
    }
    Duration::from_secs(600)
}

/// Runs `work` while renewing the job's lease every third of it. The finishing phase of a
/// big case (a download, an archive) can take far longer than a lease; without this
/// another worker would take the job over and finish it a second time.
pub(super) async fn with_heartbeat<T>(
    st: &WorkerCtx,
    me: &str,
    job: &str,
    lease_ms: i64,
    work: impl std::future::Future<Output = T>,
) -> Result<T, WorkerError> {
    let every = Duration::from_millis((lease_ms / 3).max(100) as u64);
    tokio::pin!(work);
    loop {
        tokio::select! {
            r = &mut work => return Ok(r),
            _ = tokio::time::sleep(every) => {
                if !st.store.heartbeat(job, me, lease_ms).await? {
                    return Err(WorkerError::LeaseLost);
                }
            }
        }
    }
}

/// Puts the run's case in the object store as `jobs/ID/case.tar.gz`, so that any replica
/// can serve it (`GET /api/jobs/{id}/case.tar.gz`): the archive the executor brought back
/// (`out/case.tar.gz`, streamed as it is), or else the case directory, packed here. Memory
/// stays at one buffer whatever the size.
pub(super) async fn archive_case(st: &WorkerCtx, out: &Path, job: &str) -> Result<(), WorkerError> {
    let packed = out.join("case.tar.gz");
    if packed.is_file() {
        return upload(st, &packed, job).await;
    }
    let case = [out.join("case"), out.join(".partial/case")]
        .into_iter()
        .find(|d| d.is_dir())
        .ok_or_else(|| WorkerError::Job("no case directory".into()))?;
    let tmp_dir = st.data_dir.join("tmp");
    std::fs::create_dir_all(&tmp_dir).map_err(io(tmp_dir.display()))?;
    let tmp = tmp_dir.join(format!("{job}.tar.gz"));
    let path = tmp.clone();
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        let gz = flate2::write::GzEncoder::new(std::fs::File::create(&path)?, flate2::Compression::fast());
        let mut tar = tar::Builder::new(gz);
        tar.follow_symlinks(false);
        tar.append_dir_all("case", &case)?;
        tar.into_inner()?.finish()?.sync_all()
    })
    .await
    .map_err(|e| WorkerError::Io { what: "packing the case".into(), source: std::io::Error::other(e) })?
    .map_err(io("packing the case"))?;
    let result = upload(st, &tmp, job).await;
    let _ = std::fs::remove_file(&tmp);
    result
}

/// Streams a local archive to `jobs/ID/case.tar.gz`.
async fn upload(st: &WorkerCtx, file: &Path, job: &str) -> Result<(), WorkerError> {
    use tokio::io::AsyncReadExt;
    let mut f = tokio::fs::File::open(file).await.map_err(io(file.display()))?;
    let mut w = st.blobs.writer(&format!("jobs/{job}/case.tar.gz")).await?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match f.read(&mut buf).await {
            Ok(n) => n,
            Err(e) => {
                w.abort().await;
                return Err(io(file.display())(e));
            }
        };
        if n == 0 {
            break;
        }
        w.write(&buf[..n]).await?;
    }
    w.finish().await?;
    Ok(())
}

fn io(what: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> WorkerError {
    let what = what.to_string();
    move |source| WorkerError::Io { what, source }
}

/// Test builds only: `FLOWCFD_TEST_CRASH_AFTER=claim|intent|submit|usage` aborts the process right
/// after that point, as `kill -9` would, so that tests can prove a restarted worker neither
/// loses a job nor runs it twice. Release builds have no such switch.
#[cfg(debug_assertions)]
pub(super) fn crash_point(at: &str) {
    if std::env::var("FLOWCFD_TEST_CRASH_AFTER").is_ok_and(|v| v == at) {
        eprintln!("FLOWCFD_TEST_CRASH_AFTER={at}: aborting");
        std::process::abort();
    }
}

#[cfg(not(debug_assertions))]
pub(super) fn crash_point(_: &str) {}

/// Test builds only: `FLOWCFD_TEST_SLOW_FETCH_MS=N` makes fetching a run's results take N ms
/// longer (a big download, in tests of the finishing phase's heartbeat).
pub(super) async fn slow_fetch() {
    #[cfg(debug_assertions)]
    if let Some(ms) = std::env::var("FLOWCFD_TEST_SLOW_FETCH_MS").ok().and_then(|v| v.parse().ok()) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
}
