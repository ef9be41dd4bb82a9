//! The database seam: one `Store` trait, over SQLite or PostgreSQL chosen from the URL scheme.
//!
//! SQLite (`sqlite://…`, the embedded default) and PostgreSQL (`postgres://…`, needed for
//! several replicas) share one schema shape (text ids, Unix-millisecond times, JSON as text)
//! and one set of queries (one module per aggregate, run on either through `db.rs`), so each
//! method is written once. Every lookup of a tenant's resource by id (`project`, `geometry`,
//! `org`) and every listing (`projects`, `orgs_for`) takes the caller's user id and returns
//! nothing the caller cannot see; the methods that change a resource take an id the service
//! has already resolved through one of those. The background worker's `claim_geometry` is
//! the one unscoped read.
use serde::{Deserialize, Serialize};
use std::sync::Arc;

mod account;
mod admin;
pub mod billing;
pub mod cache;
mod db;
mod geometries;
mod invitations;
pub mod jobs;
mod logins;
mod migrate;
mod notify;
mod orgs;
mod pool;
mod postgres;
mod projects;
mod queue;
mod quota;
mod recovery;
mod settings;
mod sql;
mod sqlite;
mod stripe;
mod usage;
pub mod usage_report;
mod users;

pub use account::{AccountStore, SignIn};
pub use admin::{AdminJob, AdminStore, JobFilter};
pub use billing::{BillingAccount, BillingChange, BillingStore, Subject};
pub use invitations::{Invitation, InvitationView};
pub use jobs::{
    Case, CoreLimits, Job, JobStatus, JobStore, NewCase, NewJob, ProgressUpdate, QuotaExceeded, QuotaKind, Transition,
};
pub use notify::{Attempt, Delivery, EndedGeometry, EndedJob, NotifyStore, Notified, Webhook};
pub use pool::PoolOptions;
pub use postgres::PgStore;
pub use quota::PlanLimits;
pub use recovery::{OutboxMail, PasswordSet, RecoveryStore};
pub use sql::SqlStore;
pub use sqlite::SqliteStore;
pub use stripe::{
    new_report, AccountChange, EventOutcome, OutboxRow, PastDue, StripeEventRecord, StripeStore, LIVE_STATUSES,
};
pub use usage::{period_of, ExecTimes, FinalUsage, UsageRecord};
pub use usage_report::{DayUsage, JobUsage, ProjectUsage, SubjectLabel, UsageReportStore};

/// What a caller may do with a project, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    /// Changes project content (called "member" before issue 24; still accepted as input).
    #[serde(alias = "member")]
    Editor,
    Admin,
    Owner,
}

impl Role {
    /// Parses the stored role name.
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "owner" => Role::Owner,
            "admin" => Role::Admin,
            "editor" | "member" => Role::Editor,
            "viewer" => Role::Viewer,
            _ => return None,
        })
    }
    /// The stored role name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Editor => "editor",
            Role::Viewer => "viewer",
        }
    }
    /// Whether the role may change project content.
    pub fn can_write(self) -> bool {
        self >= Role::Editor
    }
}

/// Where an uploaded geometry stands: stored, being read and healed, ready to mesh, or
/// failed (with a message).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum GeometryStatus {
    Pending,
    Processing,
    Ready,
    Failed,
}

impl GeometryStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            GeometryStatus::Pending => "pending",
            GeometryStatus::Processing => "processing",
            GeometryStatus::Ready => "ready",
            GeometryStatus::Failed => "failed",
        }
    }
    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<GeometryStatus> {
        [GeometryStatus::Pending, GeometryStatus::Processing, GeometryStatus::Ready, GeometryStatus::Failed]
            .into_iter()
            .find(|g| g.as_str() == s)
    }
    /// Ready to mesh.
    pub fn is_ready(self) -> bool {
        self == GeometryStatus::Ready
    }
    /// Ready or failed: the background worker is done with it.
    pub fn is_terminal(self) -> bool {
        matches!(self, GeometryStatus::Ready | GeometryStatus::Failed)
    }
}

impl std::fmt::Display for GeometryStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A person who can sign in.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: String,
    pub email: String,
    pub name: String,
    #[serde(skip)]
    pub password_hash: Option<String>,
    pub auth_provider: String,
    pub is_admin: bool,
    pub disabled: bool,
    /// The legacy column (always `free`); the plan in effect is the billing account's
    /// (`billing::plan_for`), which the API shows instead.
    #[serde(skip)]
    pub plan: String,
    pub created_at: i64,
    /// Access tokens issued before this time (ms) are refused (set by a password reset).
    #[serde(skip)]
    pub tokens_valid_after: Option<i64>,
    /// When the address was shown to be the user's (the mailed link opened), ms.
    pub email_verified_at: Option<i64>,
    /// Mail when a job the user submitted ends (the account page's setting).
    pub notify_jobs: bool,
}

/// A new user row.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub password_hash: Option<String>,
    pub auth_provider: String,
    pub auth_provider_id: Option<String>,
}

/// An organization.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Org {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub owner_id: String,
    /// The caller's role in it.
    pub role: Role,
    pub created_at: i64,
}

/// A member of an organization.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Member {
    pub user_id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
}

/// A project, with the caller's role in it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Project {
    pub id: String,
    pub owner_id: String,
    pub org_id: Option<String>,
    pub name: String,
    pub description: String,
    pub role: Role,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A geometry upload and what processing made of it.
#[derive(Debug, Clone, Serialize)]
pub struct Geometry {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub format: String,
    #[serde(skip)]
    pub original_key: String,
    pub original_bytes: i64,
    #[serde(skip)]
    pub processed_key: Option<String>,
    pub scale: f64,
    pub status: GeometryStatus,
    pub error_message: Option<String>,
    pub triangle_count: Option<i64>,
    pub surface_area: Option<f64>,
    pub volume: Option<f64>,
    /// JSON text: `{"min":[..],"max":[..]}`.
    pub bounding_box: Option<String>,
    /// JSON text: `[{"name","area","triangles"}]`.
    pub surface_groups: String,
    /// JSON text: the healing report.
    pub healing: Option<String>,
    /// JSON text: the full analysis.
    pub analysis: Option<String>,
    /// The STEP or IGES file the surface was tessellated from in the browser.
    pub cad_name: Option<String>,
    #[serde(skip)]
    pub cad_key: Option<String>,
    /// The caller's role in the geometry's project.
    #[serde(skip)]
    pub role: Role,
    pub created_at: i64,
}

impl Geometry {
    /// A stored upload waiting to be processed.
    pub fn pending(
        project_id: &str,
        name: &str,
        format: &str,
        original_key: &str,
        original_bytes: i64,
        scale: f64,
    ) -> Geometry {
        Geometry {
            id: new_id(),
            project_id: project_id.into(),
            name: name.into(),
            format: format.into(),
            original_key: original_key.into(),
            original_bytes,
            processed_key: None,
            scale,
            status: GeometryStatus::Pending,
            error_message: None,
            triangle_count: None,
            surface_area: None,
            volume: None,
            bounding_box: None,
            surface_groups: "[]".into(),
            healing: None,
            analysis: None,
            cad_name: None,
            cad_key: None,
            role: Role::Owner,
            created_at: now_ms(),
        }
    }
}

/// The outcome of processing a geometry.
#[derive(Debug, Clone, Default)]
pub struct GeometryResult {
    pub processed_key: String,
    pub triangle_count: i64,
    pub surface_count: i64,
    pub surface_area: f64,
    pub volume: Option<f64>,
    pub bounding_box: String,
    pub surface_groups: String,
    pub healing: String,
    pub analysis: String,
}

/// A refresh token or browser session row (the token itself is never stored).
#[derive(Debug, Clone)]
pub struct RefreshRow {
    pub id: String,
    pub user_id: String,
    pub family_id: String,
    pub kind: String,
    pub token_hash: String,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

/// An API token as listed to its owner.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApiToken {
    pub id: String,
    pub user_id: String,
    pub name: String,
    /// The first characters of the token, to recognise it.
    pub prefix: String,
    pub last_used_at: Option<i64>,
    pub created_at: i64,
}

/// One audit-log entry.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub detail: String,
    pub ip: Option<String>,
    pub created_at: i64,
}

/// A saved post-processing view of a job's result (`postprocessing_views`): `config` is
/// the view's JSON (`post::view::View`), `data_key` its cached extraction.
#[derive(Debug, Clone, Serialize)]
pub struct PostView {
    pub id: String,
    pub job_id: String,
    pub name: String,
    pub view_type: String,
    pub config: String,
    pub data_key: Option<String>,
    pub created_at: i64,
}

/// Changes to a project; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectPatch {
    pub name: Option<String>,
    pub description: Option<String>,
}

/// Database failures. Constraint violations are told apart so the API can say what to fix.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("already exists: {0}")]
    Conflict(String),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database: {0}")]
    Other(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                StoreError::Conflict(d.constraint().unwrap_or("unique").to_string())
            }
            sqlx::Error::Io(_) | sqlx::Error::Protocol(_) | sqlx::Error::Tls(_) | sqlx::Error::WorkerCrashed => {
                pool::note_io_error();
                StoreError::Unavailable(e.to_string())
            }
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => StoreError::Unavailable(e.to_string()),
            _ => StoreError::Other(e.to_string()),
        }
    }
}

/// What store methods return.
pub type Result<T> = std::result::Result<T, StoreError>;

/// Everything the appliance keeps in its database.
#[async_trait::async_trait]
pub trait Store:
    JobStore + BillingStore + StripeStore + UsageReportStore + RecoveryStore + NotifyStore + AccountStore + AdminStore + Send + Sync + 'static
{
    /// `sqlite` or `postgres`.
    fn dialect(&self) -> &'static str;
    /// Runs the embedded migrations of this dialect.
    async fn migrate(&self) -> Result<()>;
    /// A cheap round trip, for readiness checks.
    async fn ping(&self) -> Result<()>;

    // Users. The first user ever created becomes admin.
    async fn create_user(&self, u: NewUser) -> Result<User>;
    async fn user(&self, id: &str) -> Result<Option<User>>;
    async fn user_by_email(&self, email: &str) -> Result<Option<User>>;
    async fn user_by_provider(&self, provider: &str, subject: &str) -> Result<Option<User>>;
    async fn list_users(&self) -> Result<Vec<User>>;
    async fn set_user_flags(&self, id: &str, is_admin: bool, disabled: bool) -> Result<bool>;
    async fn set_password(&self, id: &str, hash: &str) -> Result<bool>;

    // Failed sign-ins per account key (the per-account back-off).
    /// Until when (Unix ms) the account must wait; `None` if it has no failures.
    async fn login_locked_until(&self, account: &str) -> Result<Option<i64>>;
    /// Counts a failure; the failures in a row now (a streak whose last failure is older
    /// than `forget_before` starts again at 1).
    async fn login_failed(&self, account: &str, now: i64, forget_before: i64) -> Result<i64>;
    /// Makes the account wait until `until` (Unix ms), unless it already waits longer.
    async fn lock_login(&self, account: &str, until: i64) -> Result<()>;
    /// Forgets the account's failures.
    async fn login_succeeded(&self, account: &str) -> Result<()>;

    // Refresh tokens and sessions.
    async fn insert_refresh(&self, r: &RefreshRow) -> Result<()>;
    async fn refresh_by_hash(&self, hash: &str) -> Result<Option<RefreshRow>>;
    /// Revokes `old_id` in favour of `new`; false when `old_id` was already revoked (reuse).
    async fn rotate_refresh(&self, old_id: &str, new: &RefreshRow) -> Result<bool>;
    async fn revoke_family(&self, family_id: &str) -> Result<()>;
    async fn revoke_user_tokens(&self, user_id: &str) -> Result<()>;

    // API tokens.
    async fn insert_api_token(&self, t: &ApiToken, hash: &str) -> Result<()>;
    async fn api_token_user(&self, hash: &str) -> Result<Option<String>>;
    async fn list_api_tokens(&self, user_id: &str) -> Result<Vec<ApiToken>>;
    async fn revoke_api_token(&self, user_id: &str, id: &str) -> Result<bool>;

    // Organizations.
    async fn create_org(&self, owner_id: &str, name: &str, slug: &str) -> Result<Org>;
    async fn orgs_for(&self, user_id: &str) -> Result<Vec<Org>>;
    async fn org(&self, user_id: &str, org_id: &str) -> Result<Option<Org>>;
    async fn members(&self, org_id: &str) -> Result<Vec<Member>>;
    async fn set_member(&self, org_id: &str, user_id: &str, role: Role) -> Result<()>;
    async fn remove_member(&self, org_id: &str, user_id: &str) -> Result<bool>;
    /// Changes the role of a member who is not the owner; false when there is no such member.
    async fn set_member_role(&self, org_id: &str, user_id: &str, role: Role) -> Result<bool>;

    // Invitations to organizations (pending ones; an expired one is never returned).
    /// Invites `email` (lower-cased) to the org as `role` until `expires_at`, or renews that
    /// email's pending invitation; returns its id.
    async fn invite(&self, org_id: &str, email: &str, role: Role, invited_by: &str, expires_at: i64) -> Result<String>;
    /// The org's pending invitations, for its owners and admins.
    async fn org_invitations(&self, org_id: &str) -> Result<Vec<Invitation>>;
    /// Withdraws one of the org's pending invitations; false when there is none.
    async fn revoke_invitation(&self, org_id: &str, id: &str) -> Result<bool>;
    /// The pending invitations addressed to `email`.
    async fn invitations_for(&self, email: &str) -> Result<Vec<InvitationView>>;
    /// Uses the pending invitation `id` addressed to `email`: `user_id` becomes a member
    /// with the invited role (an existing membership is kept as it is). The org and role, or
    /// `None` when there is no such pending invitation.
    async fn accept_invitation(&self, user_id: &str, email: &str, id: &str) -> Result<Option<(String, Role)>>;
    /// Deletes the pending invitation `id` addressed to `email`; false when there is none.
    async fn decline_invitation(&self, email: &str, id: &str) -> Result<bool>;

    // Projects, scoped to what `user_id` can see.
    async fn create_project(
        &self,
        owner_id: &str,
        org_id: Option<&str>,
        name: &str,
        description: &str,
    ) -> Result<Project>;
    async fn projects(&self, user_id: &str) -> Result<Vec<Project>>;
    async fn project(&self, user_id: &str, id: &str) -> Result<Option<Project>>;
    async fn update_project(&self, id: &str, patch: &ProjectPatch) -> Result<()>;
    async fn delete_project(&self, id: &str) -> Result<()>;

    // Geometries, scoped through their project.
    async fn create_geometry(&self, g: &Geometry) -> Result<()>;
    async fn geometry(&self, user_id: &str, id: &str) -> Result<Option<Geometry>>;
    async fn geometries(&self, project_id: &str) -> Result<Vec<Geometry>>;
    /// Geometries whose processing has not finished (resumed at boot).
    async fn pending_geometries(&self) -> Result<Vec<Geometry>>;
    /// Claims a geometry for processing for `worker` until `now + lease_ms`: for exactly one
    /// caller when it is pending, or when an earlier claim's lease ran out (its worker
    /// died). The worker renews the lease with [`Store::heartbeat_geometry`].
    async fn claim_geometry(&self, id: &str, worker: &str, lease_ms: i64) -> Result<Option<Geometry>>;
    /// Renews a geometry's lease; false when `worker` no longer holds it.
    async fn heartbeat_geometry(&self, id: &str, worker: &str, lease_ms: i64) -> Result<bool>;
    /// Ids of geometries nobody is processing: pending ones not touched for `idle_ms`, and
    /// processing ones whose lease ran out. The geometry worker looks for them regularly.
    async fn orphaned_geometries(&self, idle_ms: i64) -> Result<Vec<(String, String)>>;
    /// A geometry by id, unscoped: for the job worker, which acts for the job's owner.
    async fn geometry_for_worker(&self, id: &str) -> Result<Option<Geometry>>;
    async fn set_geometry_status(&self, id: &str, status: GeometryStatus, error: Option<&str>) -> Result<()>;
    /// Records the CAD file a surface came from.
    async fn set_geometry_cad(&self, id: &str, name: &str, key: &str) -> Result<()>;
    async fn finish_geometry(&self, id: &str, r: &GeometryResult) -> Result<()>;
    async fn delete_geometry(&self, id: &str) -> Result<()>;

    // Settings and the audit log.
    async fn setting(&self, key: &str) -> Result<Option<String>>;
    async fn put_setting(&self, key: &str, value: &str) -> Result<()>;
    async fn audit(
        &self,
        actor: Option<&str>,
        action: &str,
        target: Option<&str>,
        detail: &str,
        ip: Option<&str>,
    ) -> Result<()>;
    async fn audit_log(&self, limit: i64) -> Result<Vec<AuditEntry>>;

    /// Jobs per state, for `/metrics`.
    async fn job_counts(&self) -> Result<Vec<(String, i64)>>;

    // Saved views of a job's result; callers scope by the job, which they fetched for
    // the caller first.
    async fn create_view(&self, v: &PostView) -> Result<()>;
    async fn views(&self, job_id: &str) -> Result<Vec<PostView>>;
    async fn delete_view(&self, job_id: &str, id: &str) -> Result<bool>;
}

/// Opens (and creates, for SQLite) the store named by `url`.
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    open_with(url, PoolOptions::default()).await
}

/// As [`open`], with the connection pool sized and timed by `pool`.
pub async fn open_with(url: &str, pool: PoolOptions) -> Result<Arc<dyn Store>> {
    if is_postgres(url) {
        Ok(Arc::new(PgStore::connect_with(url, pool).await?))
    } else if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        Ok(Arc::new(SqliteStore::open_with(std::path::Path::new(path), pool).await?))
    } else {
        Err(StoreError::Other(format!("unsupported database URL {}", crate::config::mask_url(url))))
    }
}

/// Whether a database URL names PostgreSQL (anything else is SQLite or an error).
pub fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// A fresh random identifier.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
