//! What administrators see across tenants: the executors with their health, and every job.
use super::jobs::{executors, ExecutorInfo};
use super::Caller;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::{AdminJob, JobFilter};
use serde::Serialize;
use std::time::{Duration, Instant};

/// How long one executor's check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(25);

fn admin_only(caller: &Caller) -> AppResult<()> {
    if caller.user.is_admin {
        Ok(())
    } else {
        Err(AppError::Forbidden("only server administrators can see this".into()))
    }
}

/// An executor and how its check went.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClusterHealth {
    #[serde(flatten)]
    pub executor: ExecutorInfo,
    /// Whether it answered.
    pub ok: bool,
    /// What it said (cores and OpenFOAM, `sinfo`, the API's version), or what failed.
    pub detail: String,
    /// How long the check took, ms.
    pub took_ms: u64,
}

/// Checks every configured executor at once (each within 25 s).
pub async fn clusters(st: &AppState, caller: &Caller) -> AppResult<Vec<ClusterHealth>> {
    admin_only(caller)?;
    let checks = executors(st).into_iter().map(|info| async move {
        let t0 = Instant::now();
        let result = match st.executors.get(&info.name) {
            None => Err("not usable: its SSH key or kubeconfig could not be read (see the server's log)".to_string()),
            Some(ex) => match tokio::time::timeout(CHECK_TIMEOUT, ex.health()).await {
                Ok(r) => r.map_err(|e| e.to_string()),
                Err(_) => Err(format!("no answer within {} s", CHECK_TIMEOUT.as_secs())),
            },
        };
        let took_ms = t0.elapsed().as_millis() as u64;
        let (ok, detail) = match result {
            Ok(d) => (true, d),
            Err(e) => (false, e),
        };
        ClusterHealth { executor: info, ok, detail, took_ms }
    });
    Ok(futures_util::future::join_all(checks).await)
}

/// Every tenant's jobs matching `f`, newest first (at most 200).
pub async fn jobs(st: &AppState, caller: &Caller, f: &JobFilter) -> AppResult<Vec<AdminJob>> {
    admin_only(caller)?;
    Ok(st.store.all_jobs(f, 200).await?)
}
