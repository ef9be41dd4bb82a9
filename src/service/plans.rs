//! Plans as users and admins see them: the plan list with its limits, where the caller
//! (or an org they belong to) stands, and an admin's overrides (plan, custom quota,
//! credit), each recorded in the audit log.
use super::Caller;
use crate::billing::{self, Standing};
use crate::config::Plan;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::{BillingAccount, BillingChange, Role, Subject};
use serde::Serialize;

/// `GET /api/billing/plans`: the plans in effect, which one a new account gets, and
/// whether Stripe bills this instance.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PlanList {
    pub provider: String,
    pub default_plan: String,
    pub plans: Vec<Plan>,
}

pub fn list(st: &AppState) -> PlanList {
    let b = st.cfg.billing();
    PlanList { provider: b.provider.clone(), default_plan: b.default_plan.clone(), plans: b.plans() }
}

/// The subject the caller asks about: an org they belong to (its admins and owner see its
/// bill; members see its limits) or themselves.
pub async fn subject_for(st: &AppState, caller: &Caller, org: Option<&str>, need_admin: bool) -> AppResult<Subject> {
    let Some(org_id) = org else { return Ok(Subject::User(caller.id().to_string())) };
    // The org as the caller sees it carries their role in it.
    let o = st.store.org(caller.id(), org_id).await?.ok_or(AppError::NotFound("organization"))?;
    if need_admin && o.role < Role::Admin {
        return Err(AppError::Forbidden("only the organization's owner and admins see its usage and bill".into()));
    }
    Ok(Subject::Org(o.id))
}

/// The name of the plan a user is on personally.
pub async fn user_plan(st: &AppState, user_id: &str) -> AppResult<String> {
    let subject = Subject::User(user_id.to_string());
    Ok(billing::plan_for(st.store.as_ref(), &st.cfg.billing(), &subject).await?.name)
}

/// Where a subject stands this month.
pub async fn standing_now(st: &AppState, subject: &Subject) -> AppResult<Standing> {
    let month = billing::month_of(crate::store::now_ms());
    Ok(billing::standing(st.store.as_ref(), &st.cfg.billing(), subject, &month).await?)
}

/// Checks an admin's change against the plans in effect.
fn check_change(st: &AppState, c: &BillingChange) -> AppResult<()> {
    let b = st.cfg.billing();
    if let Some(p) = &c.plan {
        if b.plan(p).is_none() {
            let names: Vec<String> = b.plans().into_iter().map(|p| p.name).collect();
            return Err(AppError::Validation(format!("unknown plan {p:?}; the plans are: {}", names.join(", "))));
        }
    }
    if let Some(Some(q)) = c.quota_core_hours {
        if !q.is_finite() || q < 0.0 {
            return Err(AppError::Validation(format!(
                "quota_core_hours {q} must be 0 or more core-hours per plan period (null: the plan's own)"
            )));
        }
    }
    if let Some(credit) = c.credit_core_hours {
        if !credit.is_finite() || credit < 0.0 {
            return Err(AppError::Validation(format!("credit_core_hours {credit} must be 0 or more core-hours")));
        }
    }
    Ok(())
}

/// An admin's change to a user's or an org's billing (`PATCH /api/admin/users/{id}`,
/// `/api/admin/orgs/{id}`), audited. Returns the account as it now is.
pub async fn admin_change(
    st: &AppState,
    admin: &Caller,
    subject: &Subject,
    c: &BillingChange,
) -> AppResult<BillingAccount> {
    check_change(st, c)?;
    let exists = match subject {
        Subject::User(id) => st.store.user(id).await?.is_some(),
        // Every org has at least its owner as a member.
        Subject::Org(id) => !st.store.members(id).await?.is_empty(),
    };
    if !exists {
        return Err(AppError::NotFound(if subject.kind() == "user" { "user" } else { "organization" }));
    }
    Ok(st.store.change_billing_account(&subject.key(), c, admin.id()).await?)
}

/// Whether a change asks for anything.
pub fn is_empty(c: &BillingChange) -> bool {
    c.plan.is_none() && c.quota_core_hours.is_none() && c.credit_core_hours.is_none()
}

/// Serde helper: a field that is absent (`None`), `null` (`Some(None)`) or a number.
pub fn double_option<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<f64>>, D::Error> {
    use serde::Deserialize;
    Option::<f64>::deserialize(d).map(Some)
}
