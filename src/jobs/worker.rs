//! The worker: claims jobs from the queue, hands them to their executor, follows them to
//! the end, and keeps the job row true (state, step, handle, reason) all the way.
//!
//! A job's lease is renewed every poll. A worker that dies stops renewing; another claims
//! the job and, since the handle is on the row, re-attaches to the run instead of starting
//! it again.
use super::executor::{Bundle, ExecStatus, Executor, Handle, LocalExecutor};
use crate::app::AppState;
use crate::foam::spec::CaseSpec;
use crate::store::{Job, JobStatus};
use std::sync::Arc;
use std::time::Duration;

const POLL: Duration = Duration::from_millis(500);

/// Runs a worker until the process ends: at most `jobs.slots` jobs at a time.
pub fn spawn(st: AppState) -> tokio::task::JoinHandle<()> {
    let me = format!("{}-{}", hostname(), crate::store::new_id());
    let local: Arc<dyn Executor> = Arc::new(LocalExecutor::new(st.cfg.flowcfd_bin()));
    let slots = Arc::new(tokio::sync::Semaphore::new(st.cfg.jobs.slots));
    let lease_ms = st.cfg.jobs.lease_s as i64 * 1000;
    tokio::spawn(async move {
        loop {
            let Ok(permit) = slots.clone().acquire_owned().await else { return };
            match st.store.claim_job(&me, lease_ms).await {
                Ok(Some(job)) => {
                    let (st, me, local) = (st.clone(), me.clone(), local.clone());
                    tokio::spawn(async move {
                        let id = job.id.clone();
                        if let Err(e) = drive(&st, &me, local.as_ref(), job, lease_ms).await {
                            tracing::error!(job = %id, error = %e, "job driver stopped");
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
async fn bundle(st: &AppState, job: &Job) -> Result<Bundle, String> {
    let case = st.store.case_for_worker(&job.case_id).await.map_err(|e| e.to_string())?.ok_or("the case is gone")?;
    let mut spec: CaseSpec = serde_json::from_str(&case.spec).map_err(|e| format!("stored spec: {e}"))?;
    let gid = case.geometry_id.clone().ok_or("the case has no geometry")?;
    let g = st.store.geometry_for_worker(&gid).await.map_err(|e| e.to_string())?.ok_or("the geometry is gone")?;
    if g.status != "ready" {
        return Err(format!("geometry {:?} is {}, not ready", g.name, g.status));
    }
    let dir = st.cfg.data_dir.join("jobs").join(&job.id);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let file = format!("geometry.{}", g.format);
    let data = st.blobs.get(&g.original_key).await.map_err(|e| e.to_string())?;
    std::fs::write(dir.join(&file), &data).map_err(|e| e.to_string())?;
    spec.geometry = Some(file.into());
    spec.geometry_id = None;
    spec.scale *= g.scale;
    spec.solver.cores = job.cores.max(1) as u32;
    let text = serde_json::to_string_pretty(&spec).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("case.json"), text).map_err(|e| e.to_string())?;
    Ok(Bundle { dir })
}

fn status_of(step: &str) -> JobStatus {
    match step {
        "meshing" => JobStatus::Meshing,
        "solving" => JobStatus::Solving,
        _ => JobStatus::Preparing,
    }
}

/// Follows one claimed job to its end (or until the lease is lost).
async fn drive(st: &AppState, me: &str, ex: &dyn Executor, job: Job, lease_ms: i64) -> Result<(), String> {
    let e = |e: crate::store::StoreError| e.to_string();
    if job.executor != ex.name() {
        let why = format!("unknown cluster {:?}: this server runs jobs on \"local\" only", job.executor);
        st.store.transition(&job.id, me, JobStatus::Failed, &why).await.map_err(e)?;
        return Ok(());
    }
    let handle = match &job.handle {
        Some(h) => {
            tracing::info!(job = %job.id, handle = %h, "re-attaching");
            Handle(h.clone())
        }
        None => {
            let b = match bundle(st, &job).await {
                Ok(b) => b,
                Err(why) => {
                    st.store.transition(&job.id, me, JobStatus::Failed, &why).await.map_err(e)?;
                    return Ok(());
                }
            };
            let h = match ex.submit(&b).await {
                Ok(h) => h,
                Err(err) => {
                    st.store.transition(&job.id, me, JobStatus::Failed, &err.to_string()).await.map_err(e)?;
                    return Ok(());
                }
            };
            st.store.set_handle(&job.id, me, &h.0).await.map_err(e)?;
            st.store
                .transition(&job.id, me, JobStatus::Preparing, "submitted to the local executor")
                .await
                .map_err(e)?;
            h
        }
    };
    let mut cancelling = false;
    loop {
        tokio::time::sleep(POLL).await;
        if !st.store.heartbeat(&job.id, me, lease_ms).await.map_err(e)? {
            return Err("lost the lease; another worker has the job".into());
        }
        let now = st.store.job(&job.id).await.map_err(e)?.ok_or("the job is gone")?;
        if now.cancel_requested && !cancelling {
            cancelling = true;
            ex.cancel(&handle).await.map_err(|x| x.to_string())?;
        }
        let status = ex.status(std::slice::from_ref(&handle)).await.map_err(|x| x.to_string())?.remove(0);
        match status {
            ExecStatus::Running { step } => {
                let to = status_of(step);
                if to != now.status && now.status.can_become(to) {
                    st.store.transition(&job.id, me, to, &format!("{step} started")).await.map_err(e)?;
                }
            }
            ExecStatus::Completed => {
                let out = ex.fetch_results(&handle).await.map_err(|x| x.to_string())?;
                if let Ok(s) = std::fs::read(out.join("summary.json")) {
                    st.blobs
                        .put(&format!("jobs/{}/summary.json", job.id), s.into())
                        .await
                        .map_err(|x| x.to_string())?;
                }
                st.store.transition(&job.id, me, JobStatus::Completed, "the run finished").await.map_err(e)?;
                return Ok(());
            }
            ExecStatus::Failed(why) => {
                st.store.transition(&job.id, me, JobStatus::Failed, &why).await.map_err(e)?;
                return Ok(());
            }
            ExecStatus::Cancelled => {
                st.store.transition(&job.id, me, JobStatus::Cancelled, "cancelled by the user").await.map_err(e)?;
                return Ok(());
            }
        }
    }
}
