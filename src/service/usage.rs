//! Metered use as people see it: where a user or an org stands in its plan period (used
//! against included, credit, overage and its cost), with the period's use per project, per
//! job and per day. One report serves the usage API (`/api/usage`, `/api/usage.csv`), the
//! usage page and `flowcfd admin usage`; `usage_text` writes it as CSV or a table.
//!
//! A report names a month (`YYYY-MM`, UTC) and covers the plan period that holds it: the
//! month itself on monthly plans, the term or the year on a campus allocation, so that the
//! lists add up to the core-hours counted against the quota.
use super::{plans, Caller};
use crate::billing;
use crate::config::BillingConfig;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::{Store, Subject};
use serde::Serialize;

/// A project's share of the period.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProjectRow {
    pub project_id: Option<String>,
    /// The project's name, or what became of it ("deleted project").
    pub name: String,
    pub core_hours: f64,
}

/// A job's share of the period.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobRow {
    /// `None`: deleted jobs, summed in one row.
    pub job_id: Option<String>,
    pub project_id: Option<String>,
    pub project: String,
    pub case_name: Option<String>,
    pub executor: Option<String>,
    pub cores: Option<i64>,
    pub status: Option<String>,
    pub core_hours: f64,
}

/// One UTC day of the period (every day is listed, with 0 where nothing ran).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DayRow {
    pub date: String,
    pub core_hours: f64,
}

/// A subject's plan and quota in a plan period, and what it used of it (core-hours).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Allowance {
    pub plan: String,
    /// `None`: unlimited.
    pub included_core_hours: Option<f64>,
    /// Core-hours an admin granted on top of the included ones.
    pub credit_core_hours: f64,
    pub used_core_hours: f64,
    /// `None`: unlimited.
    pub remaining_core_hours: Option<f64>,
    pub overage_core_hours: f64,
    /// What the overage so far costs (0 on plans without overage: their jobs stop).
    pub overage_usd: f64,
}

impl Allowance {
    fn of(s: &billing::Standing) -> Allowance {
        Allowance {
            plan: s.plan.name.clone(),
            included_core_hours: s.included_core_hours,
            credit_core_hours: s.credit_core_hours,
            used_core_hours: s.used_core_hours,
            remaining_core_hours: s.remaining_core_hours,
            overage_core_hours: s.overage_core_hours,
            overage_usd: s.overage_usd,
        }
    }
}

/// Where a subject stands in the plan period that holds `period`, and what used it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UsageReport {
    /// The month asked for (`YYYY-MM`).
    pub period: String,
    /// The months of the plan period that holds it, first to last.
    pub period_months: Vec<String>,
    /// `user:ID` or `org:ID`.
    pub subject: String,
    pub plan_title: String,
    #[serde(flatten)]
    pub allowance: Allowance,
    pub overage_usd_per_core_hour: Option<f64>,
    pub by_project: Vec<ProjectRow>,
    pub by_job: Vec<JobRow>,
    pub daily: Vec<DayRow>,
}

impl UsageReport {
    /// The first and last day of the plan period (`YYYY-MM-DD`).
    pub fn span(&self) -> (String, String) {
        let first = self.period_months.first().cloned().unwrap_or_else(|| self.period.clone());
        let last = self.period_months.last().cloned().unwrap_or_else(|| self.period.clone());
        (format!("{first}-01"), days_of(&last).last().cloned().unwrap_or_default())
    }
}

/// The month asked for, or this one (UTC); a malformed one is a 400 that shows the format.
pub fn month_or_now(period: Option<&str>) -> AppResult<String> {
    match period.map(str::trim).filter(|p| !p.is_empty()) {
        None => Ok(billing::month_of(crate::store::now_ms())),
        Some(p) => {
            billing::parse_month(p).map_err(AppError::BadRequest)?;
            Ok(p.to_string())
        }
    }
}

/// The days (`YYYY-MM-DD`) of a month `YYYY-MM`.
fn days_of(month: &str) -> Vec<String> {
    let Ok((y, m)) = billing::parse_month(month) else { return Vec::new() };
    (1..=31)
        .filter_map(|d| chrono::NaiveDate::from_ymd_opt(y, m, d))
        .map(|d| d.format("%Y-%m-%d").to_string())
        .collect()
}

fn hours(core_seconds: f64) -> f64 {
    core_seconds / 3600.0
}

/// The report of `subject` for the plan period that holds `month` (a valid `YYYY-MM`).
pub async fn build(
    store: &dyn Store,
    billing_cfg: &BillingConfig,
    subject: &Subject,
    month: &str,
) -> crate::store::Result<UsageReport> {
    let s = billing::standing(store, billing_cfg, subject, month).await?;
    let first = s.period_months.first().cloned().unwrap_or_else(|| month.to_string());
    let last = s.period_months.last().cloned().unwrap_or_else(|| month.to_string());
    let key = subject.key();
    let by_project: Vec<ProjectRow> = store
        .usage_by_project(&key, &first, &last)
        .await?
        .into_iter()
        .map(|p| ProjectRow {
            name: match (&p.name, &p.project_id) {
                (Some(n), _) => n.clone(),
                (None, Some(_)) => "(deleted project)".into(),
                (None, None) => "(no project recorded)".into(),
            },
            project_id: p.project_id,
            core_hours: hours(p.core_seconds),
        })
        .collect();
    let project_name = |id: &Option<String>| {
        by_project.iter().find(|p| &p.project_id == id).map(|p| p.name.clone()).unwrap_or_default()
    };
    let by_job = store
        .usage_by_job(&key, &first, &last)
        .await?
        .into_iter()
        .map(|j| JobRow {
            project: project_name(&j.project_id),
            job_id: j.job_id,
            project_id: j.project_id,
            case_name: j.case_name,
            executor: j.executor,
            cores: j.cores,
            status: j.status,
            core_hours: hours(j.core_seconds),
        })
        .collect();
    let recorded = store.usage_by_day(&key, &first, &last).await?;
    let daily = s
        .period_months
        .iter()
        .flat_map(|m| days_of(m))
        .map(|date| {
            let cs: f64 = recorded.iter().filter(|d| d.date == date).map(|d| d.core_seconds).sum();
            DayRow { date, core_hours: hours(cs) }
        })
        .collect();
    Ok(UsageReport {
        period: month.to_string(),
        period_months: s.period_months.clone(),
        subject: key,
        plan_title: if s.plan.title.is_empty() { s.plan.name.clone() } else { s.plan.title.clone() },
        allowance: Allowance::of(&s),
        overage_usd_per_core_hour: s.plan.overage_usd_per_core_hour,
        by_project,
        by_job,
        daily,
    })
}

/// `GET /api/usage`: the caller's own usage, or an org's (`org`) for its owner and admins
/// (403 for its other members, 404 for everyone else).
pub async fn report(st: &AppState, caller: &Caller, org: Option<&str>, period: Option<&str>) -> AppResult<UsageReport> {
    let month = month_or_now(period)?;
    // `?org=` (empty, as a form sends it) is the caller's own usage.
    let org = org.map(str::trim).filter(|o| !o.is_empty());
    let subject = plans::subject_for(st, caller, org, true).await?;
    Ok(build(st.store.as_ref(), &st.cfg.billing(), &subject, &month).await?)
}

/// The file name of a report's CSV: `flowcfd-usage-2026-12.csv`, with the org's slug for
/// an org (`flowcfd-usage-acme-2026-12.csv`).
pub async fn csv_name(st: &AppState, caller: &Caller, r: &UsageReport) -> AppResult<String> {
    let org = match Subject::parse(&r.subject) {
        Some(Subject::Org(id)) => st.store.org(caller.id(), &id).await?.map(|o| format!("{}-", o.slug)),
        _ => None,
    };
    // Slugs are lower-case letters, digits and hyphens; keep the header safe regardless.
    let org: String =
        org.unwrap_or_default().chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    Ok(format!("flowcfd-usage-{org}{}.csv", r.period))
}

/// One line of the administrator's report: a subject and where it stands.
#[derive(Debug, Clone, Serialize)]
pub struct SubjectRow {
    pub subject: String,
    pub label: String,
    /// The first and last month of the subject's plan period.
    pub from: String,
    pub to: String,
    #[serde(flatten)]
    pub allowance: Allowance,
}

/// Every user and org of the instance, where each stands in the plan period that holds
/// `month`, most used first (`flowcfd admin usage` without a subject).
pub async fn instance(
    store: &dyn Store,
    billing_cfg: &BillingConfig,
    month: &str,
) -> crate::store::Result<Vec<SubjectRow>> {
    let mut out = Vec::new();
    for s in store.billing_subjects().await? {
        let Some(subject) = Subject::parse(&s.subject) else { continue };
        let st = billing::standing(store, billing_cfg, &subject, month).await?;
        out.push(SubjectRow {
            subject: s.subject,
            label: s.label,
            from: st.period_months.first().cloned().unwrap_or_default(),
            to: st.period_months.last().cloned().unwrap_or_default(),
            allowance: Allowance::of(&st),
        });
    }
    out.sort_by(|a, b| {
        b.allowance.used_core_hours.total_cmp(&a.allowance.used_core_hours).then_with(|| a.label.cmp(&b.label))
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_default_to_now_and_bad_ones_show_the_format() {
        assert_eq!(month_or_now(Some("2026-12")).unwrap(), "2026-12");
        assert_eq!(month_or_now(None).unwrap(), billing::month_of(crate::store::now_ms()));
        assert_eq!(month_or_now(Some(" ")).unwrap(), billing::month_of(crate::store::now_ms()));
        let e = month_or_now(Some("12/2026")).unwrap_err();
        assert_eq!(e.status(), axum::http::StatusCode::BAD_REQUEST);
        assert!(e.to_string().contains("YYYY-MM"), "{e}");
        assert_eq!(days_of("2026-02").len(), 28);
        assert_eq!(days_of("2028-02").last().unwrap(), "2028-02-29");
        assert_eq!(days_of("2026-12").first().unwrap(), "2026-12-01");
    }
}
