//! The billing task: core-hours past a plan's included ones, and an org's seats past its
//! plan's, reported to Stripe as invoice items on the subscription's upcoming invoice,
//! through a durable outbox; the sweep that
//! moves accounts whose payment stayed outstanding past the grace period to the default
//! plan; and `flowcfd admin billing reconcile`.
//!
//! Exactly once: a report is a row (subject, period, seq) before anything is sent, its
//! idempotency key `flowcfd-{subscription}-{period}-{seq}` goes both in the header and in
//! the invoice item's metadata, and a report that an earlier attempt may have sent is
//! looked up among the customer's invoice items before it is sent again.
use super::billing::{client, grace_ms, plan_for_status};
use crate::billing::stripe::{self, InvoiceItemRequest};
use crate::billing::{month_of, plan_of, previous_month, standing};
use crate::state::AppState;
use crate::store::{new_report, now_ms, OutboxRow, Subject, LIVE_STATUSES};
use std::collections::BTreeMap;
use std::time::Duration;

/// The metadata key that carries a report's idempotency key on its invoice item.
pub const KEY_METADATA: &str = "flowcfd_idempotency_key";

/// Starts the billing task when Stripe is configured. Several replicas may each run one:
/// reports are numbered per period (a second writer of the same number loses) and claimed
/// with a lease before they are sent.
pub fn spawn(st: AppState) -> Option<tokio::task::JoinHandle<()>> {
    let every = Duration::from_secs(st.cfg.billing().report_interval_s);
    if !st.cfg.billing().stripe_enabled() {
        return None;
    }
    Some(tokio::spawn(async move {
        // The first round one interval after start: the server is up and serving by then.
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = run_once(&st).await {
                tracing::warn!(error = %e, "billing task");
            }
        }
    }))
}

/// One round: the grace-period sweep, new overage reports, then sending what is due.
pub async fn run_once(st: &AppState) -> Result<(), String> {
    let b = st.cfg.billing();
    let moved =
        st.store.downgrade_overdue(now_ms() - grace_ms(&b), &b.default_plan).await.map_err(|e| e.to_string())?;
    for (subject, from) in moved {
        // Running jobs go on: the plan only decides what may be submitted from now on.
        tracing::info!(%subject, from = %from, to = %b.default_plan, "payment overdue past the grace period");
    }
    queue_overage(st).await.map_err(|e| e.to_string())?;
    send_due(st).await
}

/// Adds a report for each subject whose whole core-hours past its quota (the plan's
/// included ones or an admin's, plus credit) exceed what was reported, in this plan
/// period and the one before. A report's period is its plan period's first month.
pub async fn queue_overage(st: &AppState) -> crate::store::Result<usize> {
    let b = st.cfg.billing();
    let now = month_of(now_ms());
    let mut added = 0;
    for a in st.store.live_subscriptions().await? {
        let (Some(sub), Some(subject)) = (a.stripe_subscription_id.as_deref(), Subject::parse(&a.subject)) else {
            continue;
        };
        let plan = plan_of(&b, Some(&a));
        if let (Subject::Org(org), Some(seats), Some(_)) = (&subject, plan.seats, plan.extra_seat_usd) {
            added += queue_seats(st, &a.subject, sub, org, seats, &now).await?;
        }
        if !plan.has_overage() {
            continue;
        }
        let this = standing(st.store.as_ref(), &b, &subject, &now).await?;
        let mut standings = vec![this.clone()];
        if let Some(before) = this.period_months.first().and_then(|m| previous_month(m).ok()) {
            standings.push(standing(st.store.as_ref(), &b, &subject, &before).await?);
        }
        for s in standings {
            let Some(period) = s.period_months.first() else { continue };
            let (seq, reported) = st.store.outbox_reported(&a.subject, period).await?;
            let new = s.overage_core_hours.floor() - reported;
            if new >= 1.0 && st.store.outbox_add(&new_report(&a.subject, sub, period, seq + 1, new)).await? {
                tracing::info!(subject = %a.subject, %period, seq = seq + 1, core_hours = new, "overage report queued");
                added += 1;
            }
        }
    }
    Ok(added)
}

/// The suffix of a report's period for extra seats (`2026-12/seats`): a seat report is
/// numbered apart from the core-hours of the same month.
pub const SEATS: &str = "/seats";

/// Reports an org's seats past its plan's for this month: the most members it had so
/// far this month, less the plan's seats, less what was already reported.
async fn queue_seats(
    st: &AppState,
    subject: &str,
    sub: &str,
    org: &str,
    seats: u32,
    month: &str,
) -> crate::store::Result<usize> {
    let extra = st.store.members(org).await?.len() as f64 - seats as f64;
    let period = format!("{month}{SEATS}");
    let (seq, reported) = st.store.outbox_reported(subject, &period).await?;
    let new = extra - reported;
    if new >= 1.0 && st.store.outbox_add(&new_report(subject, sub, &period, seq + 1, new)).await? {
        tracing::info!(%subject, %period, seq = seq + 1, seats = new, "extra seats report queued");
        return Ok(1);
    }
    Ok(0)
}

/// Sends the due reports; a failure is retried with exponential back-off (5 s, doubling,
/// at most an hour).
pub async fn send_due(st: &AppState) -> Result<(), String> {
    let client = client(&st.cfg).map_err(|e| e.to_string())?;
    // Longer than one attempt can take, so that no other replica takes a report in flight.
    let lease_ms = (2 * st.cfg.billing().stripe.timeout_s as i64 + 1) * 1000;
    let due = st.store.outbox_claim(now_ms(), lease_ms, 20).await.map_err(|e| e.to_string())?;
    for row in due {
        match send(st, &client, &row).await {
            Ok(how) => {
                st.store.outbox_sent(&row.id, now_ms()).await.map_err(|e| e.to_string())?;
                tracing::info!(key = %row.idempotency_key, how, "overage report sent");
            }
            Err(e) => {
                let wait = 5_000i64.saturating_mul(1 << row.attempts.clamp(0, 10)).min(3_600_000);
                tracing::warn!(key = %row.idempotency_key, attempt = row.attempts + 1, error = %e, "overage report failed");
                st.store.outbox_retry(&row.id, now_ms() + wait, &e).await.map_err(|e| e.to_string())?;
            }
        }
    }
    Ok(())
}

/// Sends one report: "posted", or "found" when an earlier attempt had reached Stripe.
async fn send(st: &AppState, client: &stripe::Client, row: &OutboxRow) -> Result<&'static str, String> {
    let account = st.store.billing_account(&row.subject).await.map_err(|e| e.to_string())?;
    let customer = account.as_ref().and_then(|a| a.stripe_customer_id.clone()).ok_or("no Stripe customer")?;
    if row.attempts > 0 {
        // An earlier attempt may have reached Stripe before its process died: Stripe keeps
        // idempotency keys for a day only, and not every Stripe honours them.
        let items = client.list_invoice_items(&customer).await.map_err(|e| e.to_string())?;
        if items.iter().any(|i| i.metadata.get(KEY_METADATA) == Some(&row.idempotency_key)) {
            return Ok("found");
        }
    }
    let plan = plan_of(&st.cfg.billing(), account.as_ref());
    let seats = row.period.ends_with(SEATS);
    let (rate, what, unit) = if seats {
        (plan.extra_seat_usd, "seats past the plan's", "flowcfd_seats")
    } else {
        (plan.overage_usd_per_core_hour, "core-hours past the plan", "flowcfd_core_hours")
    };
    let rate = rate.ok_or_else(|| format!("the plan {:?} has no price for {what}", plan.name))?;
    let cents = (row.quantity * rate * 100.0).round() as i64;
    let description = format!("FlowCFD {}: {} {what} at ${rate} each", row.period, row.quantity);
    let metadata = BTreeMap::from([
        (KEY_METADATA.to_string(), row.idempotency_key.clone()),
        ("flowcfd_subject".to_string(), row.subject.clone()),
        ("flowcfd_period".to_string(), row.period.clone()),
        (unit.to_string(), row.quantity.to_string()),
    ]);
    let req = InvoiceItemRequest {
        customer: &customer,
        subscription: &row.subscription_id,
        amount: cents,
        currency: "usd",
        description: &description,
        metadata: &metadata,
    };
    client.create_invoice_item(&req, &row.idempotency_key).await.map_err(|e| e.to_string())?;
    crash_point("billing_post");
    Ok("posted")
}

/// Test builds only: `FLOWCFD_TEST_CRASH_AFTER=billing_post` aborts the process between
/// Stripe's answer and recording the report as sent, as `kill -9` would.
fn crash_point(at: &str) {
    #[cfg(debug_assertions)]
    if std::env::var("FLOWCFD_TEST_CRASH_AFTER").is_ok_and(|v| v == at) {
        eprintln!("FLOWCFD_TEST_CRASH_AFTER={at}: aborting");
        std::process::abort();
    }
    #[cfg(not(debug_assertions))]
    let _ = at;
}

/// One difference between FlowCFD's and Stripe's view of a subscription.
#[derive(Debug, Clone, PartialEq)]
pub struct Drift {
    pub subject: String,
    pub field: &'static str,
    pub local: Option<String>,
    pub stripe: Option<String>,
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
        write!(f, "{}: {} is {} here, {} in Stripe", self.subject, self.field, show(&self.local), show(&self.stripe))
    }
}

/// Compares every account that has a Stripe customer with its subscriptions in Stripe
/// (the live one, else the newest); with `fix`, makes the account agree.
pub async fn reconcile(st: &AppState, fix: bool) -> Result<Vec<Drift>, String> {
    let b = st.cfg.billing();
    let client = client(&st.cfg).map_err(|e| e.to_string())?;
    let mut drifts = Vec::new();
    for a in st.store.stripe_accounts().await.map_err(|e| e.to_string())? {
        let customer = a.stripe_customer_id.clone().unwrap_or_default();
        let mut subs = client.list_subscriptions(&customer).await.map_err(|e| format!("{}: {e}", a.subject))?;
        subs.sort_by_key(|s| (LIVE_STATUSES.contains(&s.status.as_str()), s.created));
        let theirs = subs.last();
        let (sub, status) = (theirs.map(|s| s.id.clone()), theirs.map(|s| s.status.clone()));
        // An account whose grace period is over stays on the default plan while Stripe
        // still retries the payment.
        let lapsed = a.past_due_since.is_some_and(|t| t + grace_ms(&b) <= now_ms());
        let local = plan_of(&b, Some(&a)).name;
        let plan = match theirs {
            Some(s) if s.status == "past_due" && lapsed => b.default_plan.clone(),
            Some(s) => plan_for_status(&b, &s.status, s).unwrap_or_else(|| local.clone()),
            None if a.stripe_subscription_id.is_some() => b.default_plan.clone(),
            None => local.clone(),
        };
        let mut mine = Vec::new();
        let mut differ = |field, local: &Option<String>, stripe: &Option<String>| {
            if local != stripe {
                mine.push(Drift { subject: a.subject.clone(), field, local: local.clone(), stripe: stripe.clone() });
            }
        };
        differ("subscription", &a.stripe_subscription_id, &sub);
        differ("status", &a.subscription_status, &status);
        differ("plan", &Some(local.clone()), &Some(plan.clone()));
        if fix && !mine.is_empty() {
            st.store
                .set_subscription(
                    &a.subject,
                    sub.as_deref(),
                    status.as_deref(),
                    &plan,
                    "flowcfd admin billing reconcile --fix",
                )
                .await
                .map_err(|e| e.to_string())?;
        }
        drifts.extend(mine);
    }
    Ok(drifts)
}
