//! The one `Store`: the same queries on SQLite or PostgreSQL (see `db.rs`).
//!
//! The queries live in one module per aggregate (`users`, `orgs`, `projects`,
//! `geometries`, `settings`, `queue`, `usage`); this file only says which function answers
//! which trait method, and holds what several of them share: the database and the listing
//! cache.
use super::cache::{self, ListingCache};
use super::db::{sql, Db};
use super::jobs::{
    Case, CoreLimits, Job, JobStatus, JobStore, NewCase, NewJob, ProgressUpdate, QuotaExceeded, Transition,
};
use super::{geometries, invitations, logins, orgs, projects, queue, settings, usage, users};
use super::{
    ApiToken, AuditEntry, Geometry, GeometryResult, GeometryStatus, Invitation, InvitationView, Member, NewUser, Org,
    PostView, Project, ProjectPatch, RefreshRow, Result, Role, Store, User,
};
use std::sync::Arc;

/// The `Store` over either database; `store::open` picks the dialect from the URL.
pub struct SqlStore {
    pub(super) db: Db,
    /// Shared with the task that follows other replicas' invalidations (PostgreSQL).
    pub(super) cache: Arc<ListingCache>,
}

impl SqlStore {
    pub(super) fn new(db: Db) -> SqlStore {
        SqlStore { db, cache: Default::default() }
    }

    /// After a committed write that can change project listings: invalidate them here and,
    /// on PostgreSQL, on every other replica. A lost NOTIFY is not an error: the other
    /// replicas' entries expire within the cache's TTL anyway.
    pub(super) async fn listings_changed(&self) {
        self.cache.bump();
        if let Db::Postgres(..) = self.db {
            let _ = self.db.execute(sql("SELECT pg_notify($1, '')").bind(cache::CHANNEL)).await;
        }
    }
}

#[async_trait::async_trait]
impl Store for SqlStore {
    fn dialect(&self) -> &'static str {
        match self.db {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(..) => "postgres",
        }
    }

    async fn migrate(&self) -> Result<()> {
        self.db.migrate().await
    }

    async fn ping(&self) -> Result<()> {
        self.db.execute(sql("SELECT 1")).await?;
        Ok(())
    }

    async fn create_user(&self, u: NewUser) -> Result<User> {
        users::create_user(&self.db, u).await
    }

    async fn user(&self, id: &str) -> Result<Option<User>> {
        users::user(&self.db, id).await
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        users::user_by_email(&self.db, email).await
    }

    async fn user_by_provider(&self, provider: &str, subject: &str) -> Result<Option<User>> {
        users::user_by_provider(&self.db, provider, subject).await
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        users::list_users(&self.db).await
    }

    async fn set_user_flags(&self, id: &str, is_admin: bool, disabled: bool) -> Result<bool> {
        users::set_user_flags(&self.db, id, is_admin, disabled).await
    }

    async fn set_password(&self, id: &str, hash: &str) -> Result<bool> {
        users::set_password(&self.db, id, hash).await
    }

    async fn login_locked_until(&self, account: &str) -> Result<Option<i64>> {
        logins::login_locked_until(&self.db, account).await
    }

    async fn login_failed(&self, account: &str, now: i64, forget_before: i64) -> Result<i64> {
        logins::login_failed(&self.db, account, now, forget_before).await
    }

    async fn lock_login(&self, account: &str, until: i64) -> Result<()> {
        logins::lock_login(&self.db, account, until).await
    }

    async fn login_succeeded(&self, account: &str) -> Result<()> {
        logins::login_succeeded(&self.db, account).await
    }

    async fn insert_refresh(&self, r: &RefreshRow) -> Result<()> {
        users::insert_refresh(&self.db, r).await
    }

    async fn refresh_by_hash(&self, hash: &str) -> Result<Option<RefreshRow>> {
        users::refresh_by_hash(&self.db, hash).await
    }

    async fn rotate_refresh(&self, old_id: &str, new: &RefreshRow) -> Result<bool> {
        users::rotate_refresh(&self.db, old_id, new).await
    }

    async fn revoke_family(&self, family_id: &str) -> Result<()> {
        users::revoke_family(&self.db, family_id).await
    }

    async fn revoke_user_tokens(&self, user_id: &str) -> Result<()> {
        users::revoke_user_tokens(&self.db, user_id).await
    }

    async fn insert_api_token(&self, t: &ApiToken, hash: &str) -> Result<()> {
        users::insert_api_token(&self.db, t, hash).await
    }

    async fn api_token_user(&self, hash: &str) -> Result<Option<String>> {
        users::api_token_user(&self.db, hash).await
    }

    async fn list_api_tokens(&self, user_id: &str) -> Result<Vec<ApiToken>> {
        users::list_api_tokens(&self.db, user_id).await
    }

    async fn revoke_api_token(&self, user_id: &str, id: &str) -> Result<bool> {
        users::revoke_api_token(&self.db, user_id, id).await
    }

    async fn create_org(&self, owner_id: &str, name: &str, slug: &str) -> Result<Org> {
        orgs::create_org(self, owner_id, name, slug).await
    }

    async fn orgs_for(&self, user_id: &str) -> Result<Vec<Org>> {
        orgs::orgs_for(&self.db, user_id).await
    }

    async fn org(&self, user_id: &str, org_id: &str) -> Result<Option<Org>> {
        orgs::org(&self.db, user_id, org_id).await
    }

    async fn members(&self, org_id: &str) -> Result<Vec<Member>> {
        orgs::members(&self.db, org_id).await
    }

    async fn set_member(&self, org_id: &str, user_id: &str, role: Role) -> Result<()> {
        orgs::set_member(self, org_id, user_id, role).await
    }

    async fn remove_member(&self, org_id: &str, user_id: &str) -> Result<bool> {
        orgs::remove_member(self, org_id, user_id).await
    }

    async fn set_member_role(&self, org_id: &str, user_id: &str, role: Role) -> Result<bool> {
        invitations::set_member_role(self, org_id, user_id, role).await
    }

    async fn invite(&self, org_id: &str, email: &str, role: Role, invited_by: &str, expires_at: i64) -> Result<String> {
        invitations::invite(self, org_id, email, role, invited_by, expires_at).await
    }

    async fn org_invitations(&self, org_id: &str) -> Result<Vec<Invitation>> {
        invitations::org_invitations(self, org_id).await
    }

    async fn revoke_invitation(&self, org_id: &str, id: &str) -> Result<bool> {
        invitations::revoke_invitation(self, org_id, id).await
    }

    async fn invitations_for(&self, email: &str) -> Result<Vec<InvitationView>> {
        invitations::invitations_for(self, email).await
    }

    async fn accept_invitation(&self, user_id: &str, email: &str, id: &str) -> Result<Option<(String, Role)>> {
        invitations::accept_invitation(self, user_id, email, id).await
    }

    async fn decline_invitation(&self, email: &str, id: &str) -> Result<bool> {
        invitations::decline_invitation(self, email, id).await
    }

    async fn create_project(
        &self,
        owner_id: &str,
        org_id: Option<&str>,
        name: &str,
        description: &str,
    ) -> Result<Project> {
        projects::create_project(self, owner_id, org_id, name, description).await
    }

    async fn projects(&self, user_id: &str) -> Result<Vec<Project>> {
        projects::projects(self, user_id).await
    }

    async fn project(&self, user_id: &str, id: &str) -> Result<Option<Project>> {
        projects::project(&self.db, user_id, id).await
    }

    async fn update_project(&self, id: &str, patch: &ProjectPatch) -> Result<()> {
        projects::update_project(self, id, patch).await
    }

    async fn delete_project(&self, id: &str) -> Result<()> {
        projects::delete_project(self, id).await
    }

    async fn create_geometry(&self, g: &Geometry) -> Result<()> {
        geometries::create_geometry(self, g).await
    }

    async fn geometry(&self, user_id: &str, id: &str) -> Result<Option<Geometry>> {
        geometries::geometry(&self.db, user_id, id).await
    }

    async fn geometries(&self, project_id: &str) -> Result<Vec<Geometry>> {
        geometries::geometries(&self.db, project_id).await
    }

    async fn pending_geometries(&self) -> Result<Vec<Geometry>> {
        geometries::pending_geometries(&self.db).await
    }

    async fn claim_geometry(&self, id: &str, worker: &str, lease_ms: i64) -> Result<Option<Geometry>> {
        geometries::claim_geometry(&self.db, id, worker, lease_ms).await
    }

    async fn heartbeat_geometry(&self, id: &str, worker: &str, lease_ms: i64) -> Result<bool> {
        geometries::heartbeat_geometry(&self.db, id, worker, lease_ms).await
    }

    async fn orphaned_geometries(&self, idle_ms: i64) -> Result<Vec<(String, String)>> {
        geometries::orphaned_geometries(&self.db, idle_ms).await
    }

    async fn geometry_for_worker(&self, id: &str) -> Result<Option<Geometry>> {
        geometries::geometry_for_worker(&self.db, id).await
    }

    async fn set_geometry_status(&self, id: &str, status: GeometryStatus, error: Option<&str>) -> Result<()> {
        geometries::set_geometry_status(&self.db, id, status, error).await
    }

    async fn set_geometry_cad(&self, id: &str, name: &str, key: &str) -> Result<()> {
        geometries::set_geometry_cad(&self.db, id, name, key).await
    }

    async fn finish_geometry(&self, id: &str, r: &GeometryResult) -> Result<()> {
        geometries::finish_geometry(&self.db, id, r).await
    }

    async fn delete_geometry(&self, id: &str) -> Result<()> {
        geometries::delete_geometry(&self.db, id).await
    }

    async fn setting(&self, key: &str) -> Result<Option<String>> {
        settings::setting(&self.db, key).await
    }

    async fn put_setting(&self, key: &str, value: &str) -> Result<()> {
        settings::put_setting(&self.db, key, value).await
    }

    async fn audit(
        &self,
        actor: Option<&str>,
        action: &str,
        target: Option<&str>,
        detail: &str,
        ip: Option<&str>,
    ) -> Result<()> {
        settings::audit(&self.db, actor, action, target, detail, ip).await
    }

    async fn audit_log(&self, limit: i64) -> Result<Vec<AuditEntry>> {
        settings::audit_log(&self.db, limit).await
    }

    async fn job_counts(&self) -> Result<Vec<(String, i64)>> {
        queue::job_counts(&self.db).await
    }

    async fn create_view(&self, v: &PostView) -> Result<()> {
        settings::create_view(&self.db, v).await
    }

    async fn views(&self, job_id: &str) -> Result<Vec<PostView>> {
        settings::views(&self.db, job_id).await
    }

    async fn delete_view(&self, job_id: &str, id: &str) -> Result<bool> {
        settings::delete_view(&self.db, job_id, id).await
    }
}

#[async_trait::async_trait]
impl JobStore for SqlStore {
    async fn create_case(&self, c: &NewCase) -> Result<String> {
        queue::create_case(&self.db, c).await
    }

    async fn case(&self, user_id: &str, id: &str) -> Result<Option<Case>> {
        queue::case(&self.db, user_id, id).await
    }

    async fn cases(&self, project_id: &str) -> Result<Vec<Case>> {
        queue::cases(&self.db, project_id).await
    }

    async fn create_job(&self, case_id: &str, user_id: &str, executor: &str, cores: i64, reason: &str) -> Result<Job> {
        queue::create_job(&self.db, case_id, user_id, executor, cores, reason).await
    }

    async fn submit_planned(
        &self,
        j: &NewJob<'_>,
        limits: &CoreLimits,
        plan: Option<&super::PlanLimits>,
    ) -> Result<std::result::Result<Job, QuotaExceeded>> {
        queue::submit_job(&self.db, j, limits, plan).await
    }

    async fn estimate_calibration(&self, n: i64) -> Result<Vec<f64>> {
        super::quota::calibration(&self.db, n).await
    }

    async fn job(&self, id: &str) -> Result<Option<Job>> {
        queue::job(&self.db, id).await
    }

    async fn claim_job(&self, worker: &str, lease_ms: i64) -> Result<Option<Job>> {
        queue::claim_job(&self.db, worker, lease_ms).await
    }

    async fn heartbeat(&self, job_id: &str, worker: &str, lease_ms: i64) -> Result<bool> {
        queue::heartbeat(&self.db, job_id, worker, lease_ms).await
    }

    async fn transition(&self, job_id: &str, worker: &str, to: JobStatus, reason: &str) -> Result<bool> {
        queue::transition(&self.db, job_id, worker, to, reason).await
    }

    async fn release_job(&self, job_id: &str, worker: &str, reason: &str) -> Result<bool> {
        queue::release_job(&self.db, job_id, worker, reason).await
    }

    async fn set_handle(&self, job_id: &str, worker: &str, handle: &str) -> Result<bool> {
        queue::set_handle(&self.db, job_id, worker, handle).await
    }

    async fn transitions(&self, job_id: &str) -> Result<Vec<Transition>> {
        queue::transitions(&self.db, job_id).await
    }

    async fn job_for(&self, user_id: &str, id: &str) -> Result<Option<(Job, Role)>> {
        queue::job_for(&self.db, user_id, id).await
    }

    async fn project_jobs(&self, project_id: &str) -> Result<Vec<Job>> {
        queue::project_jobs(&self.db, project_id).await
    }

    async fn request_cancel(&self, job_id: &str, reason: &str) -> Result<bool> {
        queue::request_cancel(&self.db, job_id, reason).await
    }

    async fn save_progress(&self, job_id: &str, worker: &str, p: &ProgressUpdate) -> Result<bool> {
        queue::save_progress(&self.db, job_id, worker, p).await
    }

    async fn samples(&self, job_id: &str, after: i64, limit: i64) -> Result<Vec<String>> {
        queue::samples(&self.db, job_id, after, limit).await
    }

    async fn compact_samples(&self, job_id: &str, before: i64, stride: i64) -> Result<u64> {
        queue::compact_samples(&self.db, job_id, before, stride).await
    }

    async fn record_usage_as(&self, job_id: &str, until: i64, plan: Option<&str>) -> Result<f64> {
        usage::record_usage(&self.db, job_id, until, plan).await
    }

    async fn skip_usage(&self, job_id: &str, until: i64) -> Result<bool> {
        usage::skip_usage(&self.db, job_id, until).await
    }

    async fn finish_usage(&self, job_id: &str, fin: &super::FinalUsage<'_>) -> Result<Option<f64>> {
        usage::finish_usage(&self.db, job_id, fin).await
    }

    async fn usage_of_job(&self, job_id: &str) -> Result<f64> {
        usage::usage_of_job(&self.db, job_id).await
    }

    async fn usage_records_of_job(&self, job_id: &str) -> Result<Vec<super::UsageRecord>> {
        usage::usage_records_of_job(&self.db, job_id).await
    }

    async fn active_cores(&self, user_id: &str, org_id: Option<&str>) -> Result<(i64, i64)> {
        usage::active_cores(&self.db, user_id, org_id).await
    }

    async fn case_for_worker(&self, id: &str) -> Result<Option<Case>> {
        queue::case_for_worker(&self.db, id).await
    }
}
