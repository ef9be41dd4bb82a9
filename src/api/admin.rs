//! `/api/admin`: users (and their plans), orgs' plans, registration, the audit log, the executors' health and every
//! job (server administrators only). There is no impersonation: an administrator acts as themself, audited.
use crate::error::{AppError, AppResult};
use crate::http::extract::{AdminCaller, ApiJson};
use crate::service::{accounts, plans};
use crate::state::AppState;
use crate::store::{AuditEntry, BillingAccount, BillingChange, Subject, User};
use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// A user as the admin API shows it: with the plan in effect, and after a change of
/// plan, quota or credit, the billing account as it now is.
#[derive(Serialize, ToSchema)]
struct UserWithPlan {
    #[serde(flatten)]
    user: User,
    plan: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    billing: Option<BillingAccount>,
}

/// An org's billing account after an administrator's change.
#[derive(Serialize, ToSchema)]
struct OrgBilling {
    id: String,
    billing: BillingAccount,
}

/// The server's settings.
#[derive(Serialize, ToSchema)]
struct ServerSettings {
    registration_open: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Settings {
    registration_open: Option<bool>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct UserFlags {
    is_admin: Option<bool>,
    disabled: Option<bool>,
    plan: Option<String>,
    /// A custom quota in core-hours; null returns to the plan's.
    #[serde(default, deserialize_with = "plans::double_option")]
    #[schema(value_type = Option<f64>)]
    quota_core_hours: Option<Option<f64>>,
    credit_core_hours: Option<f64>,
}

/// `PATCH /api/admin/orgs/{id}`: an org's plan, custom quota or credit.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct BillingBody {
    plan: Option<String>,
    /// A custom quota in core-hours; null returns to the plan's.
    #[serde(default, deserialize_with = "plans::double_option")]
    #[schema(value_type = Option<f64>)]
    quota_core_hours: Option<Option<f64>>,
    credit_core_hours: Option<f64>,
}

/// All users (admins)
#[utoipa::path(get, path = "/api/admin/users", tag = "admin",
    responses((status = 200, description = "the users", body = Vec<UserWithPlan>)))]
async fn users(State(st): State<AppState>, _a: AdminCaller) -> AppResult<Json<Vec<UserWithPlan>>> {
    let mut out = Vec::new();
    for u in st.store.list_users().await? {
        out.push(with_plan(&st, u).await?);
    }
    Ok(Json(out))
}

/// A user as the admin API shows it: with the plan in effect.
async fn with_plan(st: &AppState, user: User) -> AppResult<UserWithPlan> {
    let plan = plans::user_plan(st, &user.id).await?;
    Ok(UserWithPlan { user, plan, billing: None })
}

/// Set is_admin / disabled, and the user's plan, custom quota (core-hours per plan period; null: the plan's) or credit (admins; billing changes are audited)
#[utoipa::path(patch, path = "/api/admin/users/{id}", tag = "admin", params(("id" = String, Path)), request_body = UserFlags,
    responses((status = 200, description = "the user", body = UserWithPlan)))]
async fn patch_user(
    State(st): State<AppState>,
    AdminCaller(a): AdminCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<UserFlags>,
) -> AppResult<Json<UserWithPlan>> {
    let change =
        BillingChange { plan: b.plan, quota_core_hours: b.quota_core_hours, credit_core_hours: b.credit_core_hours };
    let billing = if plans::is_empty(&change) {
        None
    } else {
        Some(plans::admin_change(&st, &a, &Subject::User(id.clone()), &change).await?)
    };
    let user = if b.is_admin.is_some() || b.disabled.is_some() || billing.is_none() {
        accounts::set_user_flags(&st, &a, &id, b.is_admin, b.disabled).await?
    } else {
        st.store.user(&id).await?.ok_or(AppError::NotFound("user"))?
    };
    let mut out = with_plan(&st, user).await?;
    out.billing = billing;
    Ok(Json(out))
}

/// An org's plan, custom quota or credit (admins; audited)
#[utoipa::path(patch, path = "/api/admin/orgs/{id}", tag = "admin", params(("id" = String, Path)), request_body = BillingBody,
    responses((status = 200, description = "the org's billing account", body = OrgBilling)))]
async fn patch_org(
    State(st): State<AppState>,
    AdminCaller(a): AdminCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<BillingBody>,
) -> AppResult<Json<OrgBilling>> {
    let change =
        BillingChange { plan: b.plan, quota_core_hours: b.quota_core_hours, credit_core_hours: b.credit_core_hours };
    if plans::is_empty(&change) {
        return Err(AppError::Validation("give at least one of plan, quota_core_hours and credit_core_hours".into()));
    }
    let acc = plans::admin_change(&st, &a, &Subject::Org(id.clone()), &change).await?;
    Ok(Json(OrgBilling { id, billing: acc }))
}

/// Server settings (admins)
#[utoipa::path(get, path = "/api/admin/settings", tag = "admin",
    responses((status = 200, description = "the settings", body = ServerSettings)))]
async fn settings(State(st): State<AppState>, _a: AdminCaller) -> AppResult<Json<ServerSettings>> {
    Ok(Json(ServerSettings { registration_open: accounts::registration_open(&st).await? }))
}

/// Open or close registration (admins)
#[utoipa::path(patch, path = "/api/admin/settings", tag = "admin", request_body = Settings,
    responses((status = 200, description = "the settings", body = ServerSettings)))]
async fn put_settings(
    State(st): State<AppState>,
    AdminCaller(a): AdminCaller,
    ApiJson(b): ApiJson<Settings>,
) -> AppResult<Json<ServerSettings>> {
    if let Some(open) = b.registration_open {
        accounts::set_registration_open(&st, &a, open).await?;
    }
    Ok(Json(ServerSettings { registration_open: accounts::registration_open(&st).await? }))
}

/// The latest 200 audit-log entries (admins)
#[utoipa::path(get, path = "/api/admin/audit", tag = "admin",
    responses((status = 200, description = "the entries, newest first", body = Vec<AuditEntry>)))]
async fn audit(State(st): State<AppState>, _a: AdminCaller) -> AppResult<Json<Vec<AuditEntry>>> {
    Ok(Json(st.store.audit_log(200).await?))
}

/// The executors with their health (each checked now, within 25 s)
#[utoipa::path(get, path = "/api/admin/clusters", tag = "admin",
    responses((status = 200, description = "local and each configured cluster", body = Vec<crate::service::admin::ClusterHealth>)))]
async fn clusters(
    State(st): State<AppState>,
    AdminCaller(c): AdminCaller,
) -> AppResult<Json<Vec<crate::service::admin::ClusterHealth>>> {
    Ok(Json(crate::service::admin::clusters(&st, &c).await?))
}

/// Every tenant's jobs, newest first (at most 200), filtered
#[utoipa::path(get, path = "/api/admin/jobs", tag = "admin", params(crate::store::JobFilter),
    responses((status = 200, description = "the jobs", body = Vec<crate::store::AdminJob>)))]
async fn jobs(
    State(st): State<AppState>,
    AdminCaller(c): AdminCaller,
    axum::extract::Query(f): axum::extract::Query<crate::store::JobFilter>,
) -> AppResult<Json<Vec<crate::store::AdminJob>>> {
    Ok(Json(crate::service::admin::jobs(&st, &c, &f).await?))
}

/// `/api/admin/users`, `/api/admin/orgs`, `/api/admin/settings`, `/api/admin/audit`, and the
/// executors' health and every job (`/api/admin/clusters`, `/api/admin/jobs`).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(users))
        .routes(routes!(patch_user))
        .routes(routes!(patch_org))
        .routes(routes!(settings, put_settings))
        .routes(routes!(audit))
        .routes(routes!(clusters))
        .routes(routes!(jobs))
}
