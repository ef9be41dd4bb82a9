//! `/api/admin`: users (and their plans), orgs' plans, registration, the audit log, the executors' health and every
//! job (server administrators only). There is no impersonation: an administrator acts as themself, audited.
use crate::error::{AppError, AppResult};
use crate::http::extract::{AdminCaller, ApiJson};
use crate::service::{accounts, plans};
use crate::state::AppState;
use crate::store::{BillingChange, Subject};
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::routing::{get, patch};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    registration_open: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserFlags {
    is_admin: Option<bool>,
    disabled: Option<bool>,
    plan: Option<String>,
    #[serde(default, deserialize_with = "plans::double_option")]
    quota_core_hours: Option<Option<f64>>,
    credit_core_hours: Option<f64>,
}

/// `PATCH /api/admin/orgs/{id}`: an org's plan, custom quota or credit.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BillingBody {
    plan: Option<String>,
    #[serde(default, deserialize_with = "plans::double_option")]
    quota_core_hours: Option<Option<f64>>,
    credit_core_hours: Option<f64>,
}

async fn users(State(st): State<AppState>, _a: AdminCaller) -> AppResult<impl IntoResponse> {
    let mut out = Vec::new();
    for u in st.store.list_users().await? {
        out.push(with_plan(&st, &u).await?);
    }
    Ok(Json(out))
}

/// A user as the admin API shows it: with the plan in effect.
async fn with_plan(st: &AppState, u: &crate::store::User) -> AppResult<serde_json::Value> {
    let mut v = serde_json::to_value(u).map_err(|e| AppError::Internal(e.to_string()))?;
    v["plan"] = json!(plans::user_plan(st, &u.id).await?);
    Ok(v)
}

async fn patch_user(
    State(st): State<AppState>,
    AdminCaller(a): AdminCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<UserFlags>,
) -> AppResult<impl IntoResponse> {
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
    let mut out = with_plan(&st, &user).await?;
    if let Some(acc) = billing {
        out["billing"] = json!(acc);
    }
    Ok(Json(out))
}

async fn patch_org(
    State(st): State<AppState>,
    AdminCaller(a): AdminCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<BillingBody>,
) -> AppResult<impl IntoResponse> {
    let change =
        BillingChange { plan: b.plan, quota_core_hours: b.quota_core_hours, credit_core_hours: b.credit_core_hours };
    if plans::is_empty(&change) {
        return Err(AppError::Validation("give at least one of plan, quota_core_hours and credit_core_hours".into()));
    }
    let acc = plans::admin_change(&st, &a, &Subject::Org(id.clone()), &change).await?;
    Ok(Json(json!({"id": id, "billing": acc})))
}

async fn settings(State(st): State<AppState>, _a: AdminCaller) -> AppResult<impl IntoResponse> {
    Ok(Json(json!({"registration_open": accounts::registration_open(&st).await?})))
}

async fn put_settings(
    State(st): State<AppState>,
    AdminCaller(a): AdminCaller,
    ApiJson(b): ApiJson<Settings>,
) -> AppResult<impl IntoResponse> {
    if let Some(open) = b.registration_open {
        accounts::set_registration_open(&st, &a, open).await?;
    }
    Ok(Json(json!({"registration_open": accounts::registration_open(&st).await?})))
}

async fn audit(State(st): State<AppState>, _a: AdminCaller) -> AppResult<impl IntoResponse> {
    Ok(Json(st.store.audit_log(200).await?))
}

async fn clusters(State(st): State<AppState>, AdminCaller(c): AdminCaller) -> AppResult<impl IntoResponse> {
    Ok(Json(crate::service::admin::clusters(&st, &c).await?))
}

async fn jobs(
    State(st): State<AppState>,
    AdminCaller(c): AdminCaller,
    axum::extract::Query(f): axum::extract::Query<crate::store::JobFilter>,
) -> AppResult<impl IntoResponse> {
    Ok(Json(crate::service::admin::jobs(&st, &c, &f).await?))
}

/// `/api/admin/users`, `/api/admin/settings`, `/api/admin/audit`, and the executors' health
/// and every job (`/api/admin/clusters`, `/api/admin/jobs?status=&executor=&user=`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/admin/users", get(users))
        .route("/api/admin/users/{id}", patch(patch_user))
        .route("/api/admin/orgs/{id}", patch(patch_org))
        .route("/api/admin/settings", get(settings).patch(put_settings))
        .route("/api/admin/audit", get(audit))
        .route("/api/admin/clusters", get(clusters))
        .route("/api/admin/jobs", get(jobs))
}
