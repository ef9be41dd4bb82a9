//! The usage and billing pages, and the plan limits the set-up wizard shows before a job
//! is submitted. `/usage` (`?org=ID`, `?period=YYYY-MM`): a meter of used against
//! included core-hours (with credit), a daily chart (the `usage.ts` island), the top
//! projects and jobs and the cost of overage so far. `/billing` (`?org=ID`): the plans
//! with their limits, the current one marked, and, when Stripe bills this server, Upgrade
//! and Manage buttons (the `billing.ts` island calls the checkout and portal API).
use super::workflow::{group_digits, num};
use super::{render, PageResult, PageUser};
use crate::config::Plan;
use crate::error::AppError;
use crate::service::{plans, usage, Caller};
use crate::state::AppState;
use crate::store::{Role, Subject};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use serde_json::json;

/// Core-hours with their unit, for people.
fn ch(h: f64) -> String {
    format!("{} core-hours", num(h))
}

/// US dollars, for people.
fn usd(d: f64) -> String {
    format!("${d:.2}")
}

/// Whom a page is about: the caller, or one of the orgs they run.
struct Choice {
    href: String,
    label: String,
    current: bool,
}

/// The caller's own account and the orgs they own or administer, as links to `page`.
async fn choices(st: &AppState, pu: &PageUser, page: &str, subject: &Subject) -> Result<Vec<Choice>, AppError> {
    let mut out =
        vec![Choice { href: page.to_string(), label: "Personal".into(), current: matches!(subject, Subject::User(_)) }];
    for o in st.store.orgs_for(&pu.user.id).await? {
        if matches!(o.role, Role::Owner | Role::Admin) {
            let current = subject == &Subject::Org(o.id.clone());
            out.push(Choice { href: format!("{page}?org={}", o.id), label: o.name, current });
        }
    }
    Ok(out)
}

#[derive(Deserialize)]
pub(super) struct Which {
    org: Option<String>,
    period: Option<String>,
}

struct ProjectLine {
    id: Option<String>,
    name: String,
    hours: String,
    share_pct: f64,
}

struct JobLine {
    id: Option<String>,
    name: String,
    project: String,
    executor: String,
    cores: String,
    status: String,
    hours: String,
}

#[derive(Template)]
#[template(path = "usage.html")]
struct UsagePage {
    user: crate::store::User,
    csrf: String,
    choices: Vec<Choice>,
    org: Option<String>,
    period: String,
    span: String,
    prev: String,
    next: String,
    plan_title: String,
    unlimited: bool,
    used: f64,
    allowed: f64,
    used_text: String,
    allowed_text: String,
    credit_text: Option<String>,
    remaining_text: String,
    overage_text: String,
    overage_usd: String,
    overage_rate: Option<String>,
    stops_at_quota: bool,
    projects: Vec<ProjectLine>,
    jobs: Vec<JobLine>,
    job_count: usize,
    csv_href: String,
    data_json: String,
}

/// The month before or after `YYYY-MM`.
fn step_month(m: &str, by: i32) -> String {
    let (y, mo) = crate::billing::parse_month(m).unwrap_or((2000, 1));
    let k = y * 12 + mo as i32 - 1 + by;
    format!("{:04}-{:02}", k.div_euclid(12), k.rem_euclid(12) + 1)
}

async fn usage_page(State(st): State<AppState>, pu: PageUser, Query(q): Query<Which>) -> PageResult {
    let caller = pu.caller();
    let org = q.org.as_deref().filter(|o| !o.is_empty());
    let r = usage::report(&st, &caller, org, q.period.as_deref()).await?;
    let subject = Subject::parse(&r.subject).ok_or_else(|| AppError::Internal("bad subject".into()))?;
    let (from, to) = r.span();
    let allowed = r.allowance.included_core_hours.map(|i| i + r.allowance.credit_core_hours);
    let total: f64 = r.by_project.iter().map(|p| p.core_hours).sum();
    let projects = r
        .by_project
        .iter()
        .take(10)
        .map(|p| ProjectLine {
            id: p.project_id.clone(),
            name: p.name.clone(),
            hours: ch(p.core_hours),
            share_pct: if total > 0.0 { (p.core_hours / total * 1000.0).round() / 10.0 } else { 0.0 },
        })
        .collect();
    let jobs = r
        .by_job
        .iter()
        .take(10)
        .map(|j| JobLine {
            id: j.job_id.clone(),
            name: j.case_name.clone().unwrap_or_else(|| "(deleted job)".into()),
            project: j.project.clone(),
            executor: j.executor.clone().unwrap_or_default(),
            cores: j.cores.map(|c| c.to_string()).unwrap_or_default(),
            status: j.status.clone().unwrap_or_default(),
            hours: ch(j.core_hours),
        })
        .collect();
    let query = |period: &str| match org {
        Some(o) => format!("period={period}&org={o}"),
        None => format!("period={period}"),
    };
    let chart = json!({"daily": r.daily, "included": allowed, "used": r.allowance.used_core_hours});
    let page = UsagePage {
        user: pu.user.clone(),
        csrf: pu.csrf.clone(),
        choices: choices(&st, &pu, "/usage", &subject).await?,
        org: org.map(String::from),
        prev: format!("/usage?{}", query(&step_month(&r.period, -1))),
        next: format!("/usage?{}", query(&step_month(&r.period, 1))),
        csv_href: format!("/api/usage.csv?{}", query(&r.period)),
        span: if from == to { from } else { format!("{from} to {to}") },
        period: r.period.clone(),
        plan_title: r.plan_title.clone(),
        unlimited: allowed.is_none(),
        used: (r.allowance.used_core_hours * 1000.0).round() / 1000.0,
        allowed: allowed.map(|a| (a * 1000.0).round() / 1000.0).unwrap_or(0.0),
        used_text: ch(r.allowance.used_core_hours),
        allowed_text: allowed.map(ch).unwrap_or_else(|| "unlimited".into()),
        credit_text: (r.allowance.credit_core_hours > 0.0).then(|| ch(r.allowance.credit_core_hours)),
        remaining_text: r.allowance.remaining_core_hours.map(ch).unwrap_or_else(|| "unlimited".into()),
        overage_text: ch(r.allowance.overage_core_hours),
        overage_usd: usd(r.allowance.overage_usd),
        overage_rate: r.overage_usd_per_core_hour.map(|p| format!("{} per core-hour", usd(p))),
        stops_at_quota: allowed.is_some() && r.overage_usd_per_core_hour.is_none(),
        projects,
        jobs,
        job_count: r.by_job.len(),
        data_json: chart.to_string().replace('<', "\\u003c"),
    };
    Ok(render(StatusCode::OK, page))
}

struct PlanLine {
    name: String,
    title: String,
    price: String,
    included: String,
    max_cores: String,
    concurrent: String,
    max_cells: String,
    seats: String,
    overage: String,
    current: bool,
    can_upgrade: bool,
}

fn limit<T: ToString>(v: Option<T>, none: &str) -> String {
    v.map(|x| x.to_string()).unwrap_or_else(|| none.to_string())
}

fn plan_line(p: &Plan, current: &str, stripe: bool, org: bool) -> PlanLine {
    let per = if p.period_months == 1 { "month".to_string() } else { format!("{} months", p.period_months) };
    PlanLine {
        price: match p.price_usd {
            x if x <= 0.0 => "no charge".into(),
            x if x.fract() == 0.0 => format!("${x} / month"),
            x => format!("{} / month", usd(x)),
        },
        included: p.included_core_hours.map(|h| format!("{} / {per}", ch(h))).unwrap_or_else(|| "unlimited".into()),
        max_cores: limit(p.max_cores_per_job, "executor's limit"),
        concurrent: limit(p.concurrent_jobs, "executor's limit"),
        max_cells: p.max_cells.map(|c| group_digits(c as i64)).unwrap_or_else(|| "unlimited".into()),
        seats: match (p.seats, p.extra_seat_usd) {
            (Some(s), Some(x)) if x.fract() == 0.0 => format!("{s}, then ${x} a seat / month"),
            (Some(s), Some(x)) => format!("{s}, then {} a seat / month", usd(x)),
            (s, _) => limit(s, "unlimited"),
        },
        overage: match (p.included_core_hours, p.overage_usd_per_core_hour) {
            (None, _) => "–".into(),
            (_, Some(x)) => format!("{} per core-hour", usd(x)),
            (_, None) => "none: jobs stop at the quota".into(),
        },
        current: p.name == current,
        // Personal accounts take the per-user plans, orgs the pooled (team) ones.
        can_upgrade: stripe && p.price_usd > 0.0 && p.name != current && p.pooled == org,
        name: p.name.clone(),
        title: if p.title.is_empty() { p.name.clone() } else { p.title.clone() },
    }
}

#[derive(Template)]
#[template(path = "billing.html")]
struct BillingPage {
    user: crate::store::User,
    csrf: String,
    choices: Vec<Choice>,
    org: Option<String>,
    stripe: bool,
    current_title: String,
    subscription: Option<String>,
    can_manage: bool,
    plans: Vec<PlanLine>,
}

async fn billing_page(State(st): State<AppState>, pu: PageUser, Query(q): Query<Which>) -> PageResult {
    let caller = pu.caller();
    let org = q.org.as_deref().filter(|o| !o.is_empty());
    let subject = plans::subject_for(&st, &caller, org, true).await?;
    let standing = plans::standing_now(&st, &subject).await?;
    let list = plans::list(&st);
    let stripe = list.provider == "stripe";
    let is_org = matches!(subject, Subject::Org(_));
    let account = standing.account.as_ref();
    let page = BillingPage {
        user: pu.user.clone(),
        csrf: pu.csrf.clone(),
        choices: choices(&st, &pu, "/billing", &subject).await?,
        org: org.map(String::from),
        stripe,
        current_title: if standing.plan.title.is_empty() {
            standing.plan.name.clone()
        } else {
            standing.plan.title.clone()
        },
        subscription: account.and_then(|a| a.subscription_status.clone()),
        can_manage: stripe && account.is_some_and(|a| a.stripe_customer_id.is_some()),
        plans: list.plans.iter().map(|p| plan_line(p, &standing.plan.name, stripe, is_org)).collect(),
    };
    Ok(render(StatusCode::OK, page))
}

/// The limits of the plan that bills a project, as the set-up wizard shows them before
/// anything is submitted (and its island warns with).
pub(super) struct WizardLimits {
    /// One sentence on cores and jobs, one on cells.
    pub cores_text: String,
    pub cells_text: String,
    pub json: serde_json::Value,
}

/// The wizard's limits for `caller` in a project of `org_id` (none: a personal project).
pub(super) async fn wizard_limits(
    st: &AppState,
    caller: &Caller,
    org_id: Option<&str>,
) -> Result<WizardLimits, AppError> {
    let subject = Subject::of_project(org_id, caller.id());
    let s = plans::standing_now(st, &subject).await?;
    let p = &s.plan;
    let title = if p.title.is_empty() { p.name.clone() } else { p.title.clone() };
    let whose = if org_id.is_some() { "The organization's" } else { "Your" };
    let mut cores = format!("{whose} {title} plan: ");
    cores += &match p.max_cores_per_job {
        Some(n) => format!("up to {n} cores per job"),
        None => "no plan limit on cores per job (the executor's own applies)".into(),
    };
    if let Some(n) = p.concurrent_jobs {
        cores += &format!(", {n} job{} at a time", if n == 1 { "" } else { "s" });
    }
    cores += &match s.remaining_core_hours {
        Some(r) => format!("; {} left this period.", ch(r)),
        None => "; core-hours are not capped.".into(),
    };
    let cells_text = match p.max_cells {
        Some(c) => format!("{whose} {title} plan meshes up to {} cells.", group_digits(c as i64)),
        None => format!("{whose} {title} plan does not limit the cell count."),
    };
    let json = json!({
        "name": p.name, "title": title,
        "max_cores_per_job": p.max_cores_per_job, "max_cells": p.max_cells, "concurrent_jobs": p.concurrent_jobs,
        "remaining_core_hours": s.remaining_core_hours, "has_overage": p.has_overage(),
    });
    Ok(WizardLimits { cores_text: cores, cells_text, json })
}

/// `/usage` and `/billing`.
pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/usage", get(usage_page)).route("/billing", get(billing_page))
}

#[cfg(test)]
mod tests {
    use super::step_month;

    #[test]
    fn months_step_over_years() {
        assert_eq!(step_month("2026-12", 1), "2027-01");
        assert_eq!(step_month("2026-01", -1), "2025-12");
        assert_eq!(step_month("2026-06", 0), "2026-06");
    }
}
