//! What happens when work ends: `serve` sweeps the jobs that ended (completed, failed, or
//! stopped at the plan's quota) and the geometries that became ready, and turns each, once,
//! into its notifications: a mail to the job's submitter (unless they turned job mail off,
//! or stopped the job themselves; only when `[email]` is configured) and a delivery to each
//! of the project's webhooks that wants the event. The claim and what it queues are one
//! transaction (`NotifyStore::notify`), so a crash or a second replica sends nothing twice
//! and loses nothing; workers need no mail or HTTP configuration of their own.
use crate::state::AppState;
use crate::store::{new_id, now_ms, EndedGeometry, EndedJob, Notified, OutboxMail, Webhook};
use serde_json::{json, Value};
use std::time::Duration;

const POLL: Duration = Duration::from_secs(2);

/// Starts the sweeper.
pub fn spawn(st: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = sweep(&st).await {
                tracing::warn!(error = %e, "notifications");
            }
        }
    })
}

/// One round: notifies what has ended since the last; how many jobs and geometries.
pub async fn sweep(st: &AppState) -> Result<usize, crate::error::AppError> {
    let mut n = 0;
    for job in st.store.jobs_to_notify(50).await? {
        let hooks = st.store.webhooks(&job.project_id).await?;
        let (mail, event, data) = job_notifications(st, &job).await?;
        let deliveries: Vec<_> = wanting(&hooks, event)
            .map(|h| super::webhooks::delivery(&h.id, event.unwrap_or_default(), data.clone()))
            .collect();
        if st.store.notify(Notified::Job(&job.id), now_ms(), mail.as_ref(), &deliveries).await? {
            n += 1;
        }
    }
    for g in st.store.geometries_to_notify(50).await? {
        let hooks = st.store.webhooks(&g.project_id).await?;
        let event = (g.status == "ready").then_some("geometry.ready");
        let data = geometry_data(st, &g);
        let deliveries: Vec<_> =
            wanting(&hooks, event).map(|h| super::webhooks::delivery(&h.id, "geometry.ready", data.clone())).collect();
        if st.store.notify(Notified::Geometry(&g.id), now_ms(), None, &deliveries).await? {
            n += 1;
        }
    }
    Ok(n)
}

fn wanting<'a>(hooks: &'a [Webhook], event: Option<&'a str>) -> impl Iterator<Item = &'a Webhook> + 'a {
    hooks.iter().filter(move |h| event.is_some_and(|e| h.events.iter().any(|x| x == e)))
}

fn geometry_data(st: &AppState, g: &EndedGeometry) -> Value {
    let base = super::recovery::base_url(st);
    json!({"geometry": {
        "id": g.id, "project_id": g.project_id, "name": g.name, "status": g.status, "triangles": g.triangles,
        "url": format!("{base}/geometries/{}", g.id),
    }})
}

/// A coefficient for a mail: four decimals, or a dash when the run wrote none.
fn coefficient(v: &Value) -> String {
    v.as_f64().map(|x| format!("{x:.4}")).unwrap_or_else(|| "—".into())
}

/// The mail (if any), the webhook event (if any) and its data for an ended job.
async fn job_notifications(
    st: &AppState,
    job: &EndedJob,
) -> Result<(Option<OutboxMail>, Option<&'static str>, Value), crate::error::AppError> {
    let base = super::recovery::base_url(st);
    let link = format!("{base}/jobs/{}", job.id);
    let full = st.store.job(&job.id).await?;
    let view = match &full {
        Some(j) => Some(super::jobs::view(st, j).await?),
        None => None,
    };
    let reason = view.as_ref().and_then(|v| v.status_reason.clone());
    // Stopped at the plan's quota: gracefully (completed, results kept) or cancelled.
    let at_quota = reason.as_deref().is_some_and(|r| r.contains(crate::jobs::QUOTA_USED_UP));
    let (event, outcome) = match job.status.as_str() {
        "completed" if at_quota => (Some("job.completed"), "was stopped at your plan's quota; its results so far are kept"),
        "completed" => (Some("job.completed"), "completed"),
        "failed" => (Some("job.failed"), "failed"),
        _ if at_quota => (Some("job.failed"), "was stopped at your plan's quota"),
        _ => (None, "was cancelled"),
    };
    let (cd, cl) = view.as_ref().map(|v| (v.forces.cd.clone(), v.forces.cl.clone())).unwrap_or_default();
    let core_hours = view.as_ref().and_then(|v| v.core_hours);
    let data = json!({"job": {
        "id": job.id, "status": job.status, "stopped_at_quota": at_quota, "reason": reason,
        "case_id": job.case_id, "case_name": job.case_name, "project_id": job.project_id,
        "Cd": cd, "Cl": cl, "mesh_cells": job.mesh_cells, "iterations": job.iterations,
        "core_hours": core_hours, "error": job.error_message, "completed_at": job.completed_at, "url": link,
    }});
    // Mail for the ends the submitter did not cause, when they want it and mail is set up.
    let mail = (st.cfg.email.is_some() && job.notify_jobs && event.is_some()).then(|| {
        let detail = json!({
            "case": job.case_name, "project": job.project_name, "outcome": outcome,
            "reason": if job.status == "completed" && !at_quota { None } else { job.error_message.clone().or(reason.clone()) },
            "cd": coefficient(&cd), "cl": coefficient(&cl),
            "cells": job.mesh_cells.map(|c| c.to_string()).unwrap_or_else(|| "—".into()),
            "iterations": job.iterations.map(|c| c.to_string()).unwrap_or_else(|| "—".into()),
            "core_hours": core_hours.map(|h| format!("{h:.2}")).unwrap_or_else(|| "—".into()),
        });
        let subject = match job.status.as_str() {
            _ if at_quota => format!("{} stopped at the plan's quota", job.case_name),
            "completed" => format!("{} completed: Cd {}, Cl {}", job.case_name, coefficient(&cd), coefficient(&cl)),
            "failed" => format!("{} failed", job.case_name),
            _ => format!("{} ended", job.case_name),
        };
        OutboxMail {
            id: new_id(),
            kind: "job".into(),
            user_id: Some(job.user_id.clone()),
            to_addr: job.user_email.clone(),
            subject,
            link_sealed: Some(st.keys.seal(link.as_bytes())),
            detail: Some(detail.to_string()),
            held: false,
            expires_at: None,
            created_at: now_ms(),
            attempts: 0,
            last_error: None,
        }
    });
    Ok((mail, event, data))
}
