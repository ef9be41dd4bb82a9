//! A plan's limits on a job, checked before it is queued: cores per job and cells (403,
//! with the limit and where to upgrade), jobs at once (429, with `Retry-After` when a live
//! job is near its end), and core-hours (402: none left, or the estimate does not fit, with
//! what to lower). The jobs-at-once and core-hours checks run again inside the submission's
//! transaction (`store::quota`), so parallel submissions cannot pass them together.
use crate::billing::{self, Standing};
use crate::error::{AppError, AppResult, PlanRefusal};
use crate::foam::spec::CaseSpec;
use crate::state::AppState;
use crate::store::{PlanLimits, QuotaExceeded, QuotaKind, Subject};
use serde_json::json;

/// Core-seconds per (cell × iteration) before any job has been measured: about 3 µs per
/// cell and iteration of a k-ω SST simpleFoam run on one core, with meshing on top.
const DEFAULT_RATE: f64 = 3.0e-6;
/// Meshing and post-processing, core-seconds per cell.
const FIXED_PER_CELL: f64 = 1.0e-4;

/// What a job of `cells` and `iterations` is expected to use, core-seconds, calibrated by
/// the median measured rate of recent completed jobs (when there are at least three).
pub async fn estimate_core_seconds(st: &AppState, cells: u64, iterations: u32) -> AppResult<f64> {
    let mut rates = st.store.estimate_calibration(50).await?;
    rates.retain(|r| r.is_finite() && *r > 0.0);
    let rate = if rates.len() >= 3 {
        rates.sort_by(f64::total_cmp);
        rates[rates.len() / 2]
    } else {
        DEFAULT_RATE + FIXED_PER_CELL / iterations.max(1) as f64
    };
    Ok(cells as f64 * iterations.max(1) as f64 * rate)
}

/// Where to change plans.
fn upgrade_url(st: &AppState) -> String {
    format!("{}/billing", st.cfg.public_url.as_deref().unwrap_or("").trim_end_matches('/'))
}

fn refuse(status: u16, detail: String, retry_after: Option<u64>, extra: serde_json::Value) -> AppError {
    AppError::PlanLimit(Box::new(PlanRefusal { status, detail, retry_after, extra }))
}

/// The plan's per-job limits (cores, cells) and the quota as it stands before the
/// transaction; returns the limits the transaction checks again.
pub async fn check(
    st: &AppState,
    subject: &Subject,
    spec: &CaseSpec,
    cores: Option<u32>,
) -> AppResult<(Standing, PlanLimits)> {
    let b = st.cfg.billing();
    let month = billing::month_of(crate::store::now_ms());
    let s = billing::standing(st.store.as_ref(), &b, subject, &month).await?;
    let plan = &s.plan;
    let whose = if subject.kind() == "org" { "the organization's" } else { "your" };
    if let (Some(n), Some(max)) = (cores, plan.max_cores_per_job) {
        if n > max {
            return Err(refuse(
                403,
                format!(
                    "{n} cores is more than {whose} {} plan allows per job ({max}); ask for at most {max} cores, \
                     or upgrade at {}",
                    plan.title_or_name(),
                    upgrade_url(st)
                ),
                None,
                json!({"limit": "max_cores_per_job", "plan": plan.name, "max_cores_per_job": max,
                       "upgrade_url": upgrade_url(st)}),
            ));
        }
    }
    let cells = spec.mesh.target_cells;
    if let Some(max) = plan.max_cells {
        if cells > max {
            return Err(refuse(
                403,
                format!(
                    "a mesh of {cells} cells is more than {whose} {} plan allows ({max} cells); lower the target \
                     cells, or upgrade at {}",
                    plan.title_or_name(),
                    upgrade_url(st)
                ),
                None,
                json!({"limit": "max_cells", "plan": plan.name, "max_cells": max, "upgrade_url": upgrade_url(st)}),
            ));
        }
    }
    if s.out_of_quota() {
        return Err(no_quota(st, &s, None));
    }
    let estimate = estimate_core_seconds(st, cells, spec.solver.iterations).await?;
    let limits = PlanLimits {
        subject: subject.key(),
        plan: plan.name.clone(),
        concurrent_jobs: plan.concurrent_jobs.map(i64::from),
        allowed_core_seconds: if plan.has_overage() {
            None
        } else {
            s.included_core_hours.map(|i| (i + s.credit_core_hours) * 3600.0)
        },
        periods: s.period_months.clone(),
        estimate_core_seconds: estimate,
        charge_account: plan.slurm_account.clone(),
    };
    Ok((s, limits))
}

/// 402: no core-hours left, or (with the estimate) not enough for this job.
fn no_quota(st: &AppState, s: &Standing, estimate_h: Option<(f64, f64)>) -> AppError {
    let plan = &s.plan;
    let left = s.remaining_core_hours.unwrap_or(0.0);
    let period = match (s.period_months.first(), s.period_months.last()) {
        (Some(a), Some(b)) if a != b => format!("{a} to {b}"),
        (Some(a), _) => a.clone(),
        _ => String::new(),
    };
    let mut extra = json!({"limit": "core_hours", "plan": plan.name, "included_core_hours": s.included_core_hours,
        "used_core_hours": round2(s.used_core_hours), "remaining_core_hours": round2(left),
        "upgrade_url": upgrade_url(st)});
    let detail = match estimate_h {
        None => format!(
            "the {} plan's {:.1} core-hours for {period} are used up ({:.2} used); this plan stops jobs at its \
             quota: upgrade at {} or wait for the next period",
            plan.title_or_name(),
            s.included_core_hours.unwrap_or(0.0) + s.credit_core_hours,
            s.used_core_hours,
            upgrade_url(st)
        ),
        Some((est, reserved)) => {
            extra["estimate_core_hours"] = json!(round2(est));
            extra["reserved_core_hours"] = json!(round2(reserved));
            extra["suggestions"] = json!(["lower the target cells", "lower the iterations"]);
            format!(
                "this job is expected to use about {est:.2} core-hours (cells × iterations, calibrated from past \
                 jobs), but only {:.2} of the {} plan's core-hours for {period} are left{}: lower the target cells \
                 or the iterations, or upgrade at {}",
                (left - reserved).max(0.0),
                plan.title_or_name(),
                if reserved > 0.0 {
                    format!(" after what your running jobs reserve ({reserved:.2})")
                } else {
                    String::new()
                },
                upgrade_url(st)
            )
        }
    };
    refuse(402, detail, None, extra)
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The answer to a submission the transaction refused.
pub fn refusal(st: &AppState, q: &QuotaExceeded, s: &Standing, limits: &PlanLimits, cores: u32) -> AppError {
    match q.kind {
        QuotaKind::User => AppError::Validation(format!(
            "your live jobs hold {} of your {} cores (jobs.max_cores_per_user); this job needs {cores}: wait for one \
             to finish, cancel one, or ask for fewer cores",
            q.held, q.limit
        )),
        QuotaKind::Org => AppError::Validation(format!(
            "the organization's live jobs hold {} of its {} cores (jobs.max_cores_per_org); this job needs {cores}: \
             wait for one to finish, or ask for fewer cores",
            q.held, q.limit
        )),
        QuotaKind::Concurrent => refuse(
            429,
            format!(
                "the {} plan runs {} job{} at once and {} already queued or running; wait for one to end{}, or \
                 upgrade at {}",
                s.plan.title_or_name(),
                q.limit,
                if q.limit == 1 { "" } else { "s" },
                if q.held == 1 { "one is".to_string() } else { format!("{} are", q.held) },
                q.retry_after_s.map_or(String::new(), |t| format!(" (the next in about {t} s)")),
                upgrade_url(st)
            ),
            q.retry_after_s.map(|t| t as u64),
            json!({"limit": "concurrent_jobs", "plan": s.plan.name, "concurrent_jobs": q.limit,
                   "upgrade_url": upgrade_url(st)}),
        ),
        QuotaKind::CoreHours if q.used_core_seconds >= q.allowed_core_seconds => {
            let mut s = s.clone();
            s.used_core_hours = q.used_core_seconds / 3600.0;
            s.remaining_core_hours = Some(0.0);
            no_quota(st, &s, None)
        }
        QuotaKind::CoreHours => {
            let mut s = s.clone();
            s.used_core_hours = q.used_core_seconds / 3600.0;
            s.remaining_core_hours = Some(((q.allowed_core_seconds - q.used_core_seconds) / 3600.0).max(0.0));
            no_quota(st, &s, Some((limits.estimate_core_seconds / 3600.0, q.reserved_core_seconds / 3600.0)))
        }
    }
}

/// Whether an org has a seat for one more member: a plan with `seats` and no price for
/// extra ones refuses the next member (402); with `extra_seat_usd`, extra seats are billed.
pub async fn seat_for(st: &AppState, org_id: &str) -> AppResult<()> {
    let subject = Subject::Org(org_id.to_string());
    let plan = billing::plan_for(st.store.as_ref(), &st.cfg.billing(), &subject).await?;
    let (Some(seats), None) = (plan.seats, plan.extra_seat_usd) else { return Ok(()) };
    let members = st.store.members(org_id).await?.len() as u32;
    if members < seats {
        return Ok(());
    }
    Err(refuse(
        402,
        format!(
            "the organization's {} plan has {seats} seat{} and all are taken; an owner can upgrade at {} or remove a              member first",
            plan.title_or_name(),
            if seats == 1 { "" } else { "s" },
            upgrade_url(st)
        ),
        None,
        json!({"limit": "seats", "plan": plan.name, "seats": seats, "upgrade_url": upgrade_url(st)}),
    ))
}
