//! What the administration page reads across tenants: every job, filtered.
use super::db::sql;
use super::sql::SqlStore;
use super::Result;
use serde::{Deserialize, Serialize};

/// Which jobs an administrator lists (each filter optional).
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobFilter {
    /// `queued`, `running`, … (any stored status).
    pub status: Option<String>,
    /// `local` or a cluster's name.
    pub executor: Option<String>,
    /// Part of the submitter's email, any case.
    pub user: Option<String>,
}

/// A job as the administration page lists it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AdminJob {
    pub id: String,
    pub status: String,
    pub executor: String,
    pub cores: i64,
    pub user_email: String,
    pub project_id: String,
    pub project_name: String,
    pub case_name: String,
    pub created_at: i64,
    pub completed_at: Option<i64>,
    pub error: Option<String>,
}

#[async_trait::async_trait]
pub trait AdminStore: Send + Sync {
    /// Jobs of every tenant matching `f`, newest first, at most `limit`.
    async fn all_jobs(&self, f: &JobFilter, limit: i64) -> Result<Vec<AdminJob>>;
}

#[async_trait::async_trait]
impl AdminStore for SqlStore {
    async fn all_jobs(&self, f: &JobFilter, limit: i64) -> Result<Vec<AdminJob>> {
        let blank = |o: &Option<String>| o.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
        let (status, executor) = (blank(&f.status), blank(&f.executor));
        let user = blank(&f.user).map(|u| format!("%{}%", u.to_lowercase().replace(['%', '_'], "")));
        let q = sql("SELECT j.id, j.status, j.executor, j.cores_allocated AS cores, u.email, p.id AS project_id, p.name AS project_name, \
                     c.name AS case_name, j.created_at, j.completed_at, j.error_message \
                     FROM simulation_jobs j JOIN simulation_cases c ON c.id = j.case_id \
                     JOIN projects p ON p.id = c.project_id JOIN users u ON u.id = j.user_id \
                     WHERE ($1 IS NULL OR j.status = $1) AND ($2 IS NULL OR j.executor = $2) \
                     AND ($3 IS NULL OR LOWER(u.email) LIKE $3) \
                     ORDER BY j.created_at DESC, j.id LIMIT $4")
        .bind(status.as_deref())
        .bind(executor.as_deref())
        .bind(user.as_deref())
        .bind(limit);
        self.db
            .all(q, |r| {
                Ok(AdminJob {
                    id: r.get("id")?,
                    status: r.get("status")?,
                    executor: r.get("executor")?,
                    cores: r.get("cores")?,
                    user_email: r.get("email")?,
                    project_id: r.get("project_id")?,
                    project_name: r.get("project_name")?,
                    case_name: r.get("case_name")?,
                    created_at: r.get("created_at")?,
                    completed_at: r.get("completed_at")?,
                    error: r.get("error_message")?,
                })
            })
            .await
    }
}
