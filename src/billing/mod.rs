//! Plans in effect and where a subject stands against them: which plan a user or org is
//! on (an admin's choice or Stripe's, else the configured default), its quota for the plan
//! period (the plan's included core-hours, or an admin's custom quota, plus any credit),
//! and the core-hours used so far. The plans themselves are configuration
//! (`config::billing`); usage is recorded by the job worker (`store::usage`).
//!
//! Stripe, for the hosted instance: its form encoding as a typed value (`form`), a small
//! typed client (`stripe`), and webhook signatures and events (`webhook`).
pub mod form;
pub mod stripe;
pub mod webhook;

use crate::config::{BillingConfig, Plan};
use crate::store::{BillingAccount, Store, Subject};
use serde::Serialize;

/// The UTC month (`YYYY-MM`) of a Unix-millisecond time.
pub fn month_of(ms: i64) -> String {
    // The period usage records are filed under.
    crate::store::period_of(ms)
}

/// The month before `month` (`2027-01` → `2026-12`).
pub fn previous_month(month: &str) -> Result<String, String> {
    let (y, m) = parse_month(month)?;
    Ok(if m == 1 { format!("{:04}-12", y - 1) } else { format!("{y:04}-{:02}", m - 1) })
}

/// Reads `YYYY-MM` (a month from 2000 to 2999), or says what is expected.
pub fn parse_month(s: &str) -> Result<(i32, u32), String> {
    let bad = || format!("period {s:?} is not a month: use YYYY-MM, for example 2026-12");
    let (y, m) = s.split_once('-').ok_or_else(bad)?;
    if y.len() != 4 || m.len() != 2 {
        return Err(bad());
    }
    let (y, m): (i32, u32) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if !(2000..3000).contains(&y) || !(1..=12).contains(&m) {
        return Err(bad());
    }
    Ok((y, m))
}

/// The months (`YYYY-MM`, in order) of the plan period of `period_months` that holds
/// `month`: periods are aligned to January (a 4-month term: Jan–Apr, May–Aug, Sep–Dec).
pub fn plan_period(month: &str, period_months: u32) -> Result<Vec<String>, String> {
    let (y, m) = parse_month(month)?;
    let n = period_months.clamp(1, 12);
    let first = (m - 1) / n * n + 1;
    Ok((first..first + n).map(|k| format!("{y:04}-{k:02}")).collect())
}

/// Where a subject stands in a plan period.
#[derive(Debug, Clone, Serialize)]
pub struct Standing {
    /// `user:ID` or `org:ID`.
    pub subject: String,
    pub plan: Plan,
    /// The months of the plan period, first to last.
    pub period_months: Vec<String>,
    /// Core-hours the period includes (the plan's or an admin's), `None`: unlimited.
    pub included_core_hours: Option<f64>,
    /// Core-hours an admin granted on top.
    pub credit_core_hours: f64,
    /// Whether an admin set the quota (not the plan).
    pub custom_quota: bool,
    pub used_core_hours: f64,
    /// What is left before the quota (0 at or past it), `None`: unlimited.
    pub remaining_core_hours: Option<f64>,
    /// Core-hours past the quota so far, and what they cost on a plan with overage.
    pub overage_core_hours: f64,
    pub overage_usd: f64,
    /// The stored account (Stripe customer, subscription), if any.
    #[serde(skip)]
    pub account: Option<BillingAccount>,
}

impl Standing {
    /// Whether a job may not start (or go on) because the quota is used up and the plan
    /// bills no overage.
    pub fn out_of_quota(&self) -> bool {
        !self.plan.has_overage() && self.remaining_core_hours.is_some_and(|r| r <= 0.0)
    }
    /// Core-seconds still allowed before the quota stops jobs (`None`: no stop).
    pub fn stop_budget_core_seconds(&self) -> Option<f64> {
        if self.plan.has_overage() {
            None
        } else {
            self.remaining_core_hours.map(|h| h * 3600.0)
        }
    }
}

/// The plan a stored account is on: its own when that plan still exists, else the default.
pub fn plan_of(billing: &BillingConfig, account: Option<&BillingAccount>) -> Plan {
    match account.and_then(|a| a.plan.as_deref()) {
        Some(name) => billing.plan(name).unwrap_or_else(|| {
            tracing::warn!(plan = name, "an account is on a plan that is no longer configured; using the default");
            billing.default_plan()
        }),
        None => billing.default_plan(),
    }
}

/// The plan of a subject.
pub async fn plan_for(store: &dyn Store, billing: &BillingConfig, subject: &Subject) -> crate::store::Result<Plan> {
    let account = store.billing_account(&subject.key()).await?;
    Ok(plan_of(billing, account.as_ref()))
}

/// Where `subject` stands in the plan period that holds `month` (`YYYY-MM`).
pub async fn standing(
    store: &dyn Store,
    billing: &BillingConfig,
    subject: &Subject,
    month: &str,
) -> crate::store::Result<Standing> {
    let key = subject.key();
    let account = store.billing_account(&key).await?;
    let plan = plan_of(billing, account.as_ref());
    let months = plan_period(month, plan.period_months).unwrap_or_else(|_| vec![month.to_string()]);
    let used_core_hours = store.subject_usage(&key, &months).await? / 3600.0;
    let custom = account.as_ref().and_then(|a| a.quota_core_hours);
    let credit = account.as_ref().map_or(0.0, |a| a.credit_core_hours);
    let included = custom.or(plan.included_core_hours);
    let allowed = included.map(|i| i + credit);
    let remaining = allowed.map(|a| (a - used_core_hours).max(0.0));
    let overage = allowed.map_or(0.0, |a| (used_core_hours - a).max(0.0));
    let overage_usd = overage * plan.overage_usd_per_core_hour.unwrap_or(0.0);
    Ok(Standing {
        subject: key,
        plan,
        period_months: months,
        included_core_hours: included,
        credit_core_hours: credit,
        custom_quota: custom.is_some(),
        used_core_hours,
        remaining_core_hours: remaining,
        overage_core_hours: overage,
        overage_usd,
        account,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_and_plan_periods() {
        assert_eq!(month_of(1_796_000_000_000), "2026-11");
        assert_eq!(plan_period("2026-12", 1).unwrap(), vec!["2026-12"]);
        assert_eq!(previous_month("2027-01").unwrap(), "2026-12");
        assert_eq!(previous_month("2026-12").unwrap(), "2026-11");
        assert_eq!(plan_period("2026-06", 4).unwrap(), vec!["2026-05", "2026-06", "2026-07", "2026-08"]);
        assert_eq!(plan_period("2026-12", 12).unwrap().first().map(String::as_str), Some("2026-01"));
        for bad in ["2026-13", "2026-1", "26-12", "december", "2026-00", ""] {
            assert!(parse_month(bad).unwrap_err().contains("YYYY-MM"), "{bad}");
        }
    }
}
