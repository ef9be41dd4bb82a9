//! Stripe for the hosted instance: upgrading through Checkout, managing through the
//! Customer Portal, and the webhooks that move an account's plan. Who pays is the caller,
//! or an organization whose owner or admin the caller is. The overage reports, the
//! grace-period sweep and reconciliation are in `billing_report`.
use crate::billing::stripe::{self, CheckoutRequest};
use crate::billing::webhook::{self, BillingEvent};
use crate::config::{BillingConfig, Config};
use crate::error::{AppError, AppResult};
use crate::service::Caller;
use crate::state::AppState;
use crate::store::{AccountChange, BillingAccount, EventOutcome, PastDue, StripeEventRecord, Subject, LIVE_STATUSES};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, OnceLock};
use tracing::instrument;

/// Where to send the browser (a Checkout or Portal page).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Redirect {
    pub url: String,
}

/// A subject's plan and subscription, as its owner sees them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccountView {
    pub subject: String,
    pub provider: String,
    pub plan: String,
    pub subscription_status: Option<String>,
    pub past_due_since: Option<i64>,
    /// When an unpaid account falls back to the default plan (Unix ms).
    pub grace_until: Option<i64>,
    pub has_customer: bool,
}

/// What a webhook did, for the answer to Stripe and the log.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookResult {
    pub event: String,
    pub outcome: &'static str,
}

/// A Stripe client for the configured API (one per API base and key, kept for reuse: each
/// holds a connection pool).
pub fn client(cfg: &Config) -> AppResult<stripe::Client> {
    let b = cfg.billing();
    let s = &b.stripe;
    if !b.stripe_enabled() || s.secret_key.is_empty() {
        return Err(billing_off());
    }
    let key = s.secret_key.as_str();
    static CLIENTS: OnceLock<Mutex<HashMap<String, stripe::Client>>> = OnceLock::new();
    let id = format!("{}\n{key}\n{}", s.api_base, s.timeout_s);
    let mut m = CLIENTS.get_or_init(Default::default).lock().expect("stripe clients");
    let c = m
        .entry(id)
        .or_insert_with(|| stripe::Client::new(&s.api_base, key, std::time::Duration::from_secs(s.timeout_s)));
    Ok(c.clone())
}

fn billing_off() -> AppError {
    AppError::Conflict(
        "payments are off on this server (billing.provider = \"none\"): an administrator sets plans".into(),
    )
}

fn stripe_failed(e: stripe::StripeError) -> AppError {
    // Stripe's refusal of a request FlowCFD made is the server's problem, not the user's.
    AppError::Unavailable(format!("Stripe: {e}"))
}

/// The subject the caller acts for: an organization they own or administer, or themselves.
pub async fn subject_for(st: &AppState, c: &Caller, org: Option<&str>) -> AppResult<Subject> {
    super::plans::subject_for(st, c, org, true).await
}

/// The account of `subject` (its plan, or the default plan when it has none yet).
pub async fn account(st: &AppState, subject: &Subject) -> AppResult<AccountView> {
    let b = st.cfg.billing();
    let a: Option<BillingAccount> = st.store.billing_account(&subject.key()).await?;
    let past_due_since = a.as_ref().and_then(|a| a.past_due_since);
    Ok(AccountView {
        subject: subject.key(),
        provider: b.provider.clone(),
        plan: crate::billing::plan_of(&b, a.as_ref()).name,
        subscription_status: a.as_ref().and_then(|a| a.subscription_status.clone()),
        past_due_since,
        grace_until: past_due_since.map(|t| t + grace_ms(&b)),
        has_customer: a.as_ref().is_some_and(|a| a.stripe_customer_id.is_some()),
    })
}

/// How long an unpaid account keeps its plan.
pub fn grace_ms(b: &BillingConfig) -> i64 {
    b.grace_days as i64 * 86_400_000
}

/// The subject's Stripe customer, created (once, whoever asks concurrently) on first use.
async fn customer(st: &AppState, c: &Caller, subject: &Subject, client: &stripe::Client) -> AppResult<String> {
    let key = subject.key();
    if let Some(id) = st.store.billing_account(&key).await?.and_then(|a| a.stripe_customer_id) {
        return Ok(id);
    }
    let name = match subject {
        Subject::Org(id) => st.store.org(c.id(), id).await?.map_or_else(|| c.user.name.clone(), |o| o.name),
        Subject::User(_) => c.user.name.clone(),
    };
    let meta = BTreeMap::from([("flowcfd_subject".to_string(), key.clone())]);
    let made = client
        .create_customer(&c.user.email, &name, &meta, &format!("flowcfd-customer-{key}"))
        .await
        .map_err(stripe_failed)?;
    Ok(st.store.link_customer(&key, &made.id).await?)
}

/// `POST /api/billing/checkout`: a Checkout Session in subscription mode for `plan`.
/// `origin` is where the browser comes back to (public_url, else the request's host).
#[instrument(skip_all, fields(plan = %plan))]
pub async fn checkout(st: &AppState, c: &Caller, plan: &str, org: Option<&str>, origin: &str) -> AppResult<Redirect> {
    let client = client(&st.cfg)?;
    let b = st.cfg.billing();
    let p = b.plan(plan).ok_or_else(|| {
        let names: Vec<String> = b.plans().into_iter().map(|p| p.name).collect();
        AppError::BadRequest(format!("unknown plan {plan:?}; the plans are {}", names.join(", ")))
    })?;
    let price = b.stripe.prices.get(plan).ok_or_else(|| {
        AppError::BadRequest(format!(
            "the {plan} plan cannot be bought here: it has no Stripe price (billing.stripe.prices.{plan})"
        ))
    })?;
    if p.pooled && org.is_none() {
        return Err(AppError::BadRequest(format!(
            "the {plan} plan is for an organization: give \"org\" with the organization's id"
        )));
    }
    let subject = subject_for(st, c, org).await?;
    let key = subject.key();
    if let Some(a) = st.store.billing_account(&key).await? {
        if a.subscription_status.as_deref().is_some_and(|s| LIVE_STATUSES.contains(&s)) {
            return Err(AppError::Conflict(format!(
                "{key} already has a subscription (the {} plan): change plans in the Customer Portal \
                 (POST /api/billing/portal)",
                crate::billing::plan_of(&b, Some(&a)).name
            )));
        }
    }
    let customer = customer(st, c, &subject, &client).await?;
    let meta =
        BTreeMap::from([("flowcfd_subject".to_string(), key.clone()), ("flowcfd_plan".to_string(), plan.to_string())]);
    let (ok, cancel) = (format!("{origin}/billing?checkout=success"), format!("{origin}/billing?checkout=cancel"));
    let req = CheckoutRequest {
        customer: &customer,
        price,
        success_url: &ok,
        cancel_url: &cancel,
        client_reference_id: &key,
        metadata: &meta,
    };
    let session = client
        .create_checkout_session(&req, &format!("flowcfd-{}", uuid::Uuid::new_v4()))
        .await
        .map_err(stripe_failed)?;
    let detail = serde_json::json!({"plan": plan, "session": session.id}).to_string();
    st.store.audit(Some(c.id()), "billing.checkout", Some(&key), &detail, None).await?;
    let url =
        session.url.ok_or_else(|| AppError::Unavailable("Stripe returned a Checkout Session without a URL".into()))?;
    Ok(Redirect { url })
}

/// `POST /api/billing/portal`: a Customer Portal session for the subject's customer.
#[instrument(skip_all)]
pub async fn portal(st: &AppState, c: &Caller, org: Option<&str>, origin: &str) -> AppResult<Redirect> {
    let client = client(&st.cfg)?;
    let key = subject_for(st, c, org).await?.key();
    let customer = st.store.billing_account(&key).await?.and_then(|a| a.stripe_customer_id).ok_or_else(|| {
        AppError::Conflict(format!(
            "{key} has no Stripe customer yet: choose a plan first (POST /api/billing/checkout)"
        ))
    })?;
    let session = client
        .create_portal_session(&customer, &format!("{origin}/billing"), &format!("flowcfd-{}", uuid::Uuid::new_v4()))
        .await
        .map_err(stripe_failed)?;
    let url =
        session.url.ok_or_else(|| AppError::Unavailable("Stripe returned a portal session without a URL".into()))?;
    Ok(Redirect { url })
}

/// `POST /api/billing/webhook`: checks the signature before anything else, then applies
/// the event once. A bad signature changes nothing.
#[instrument(skip_all)]
pub async fn webhook(st: &AppState, body: &[u8], signature: Option<&str>) -> AppResult<WebhookResult> {
    let b = st.cfg.billing();
    if !b.stripe_enabled() || b.stripe.webhook_secret.is_empty() {
        return Err(billing_off());
    }
    let secret = b.stripe.webhook_secret.as_str();
    let now_s = crate::store::now_ms() / 1000;
    webhook::verify(body, signature, secret, now_s)
        .map_err(|e| AppError::BadRequest(format!("Stripe-Signature refused: {e}")))?;
    let ev: webhook::Event = serde_json::from_slice(body)
        .map_err(|e| AppError::BadRequest(format!("the webhook body is not a Stripe event: {e}")))?;
    let parsed = webhook::parse(&ev).map_err(AppError::BadRequest)?;
    let created_ms = ev.created.saturating_mul(1000);
    let Some(change) = change_for(&b, &ev.kind, &parsed, created_ms) else {
        return Ok(WebhookResult { event: ev.id, outcome: "ignored" });
    };
    let rec = StripeEventRecord { id: &ev.id, kind: &ev.kind, created_ms };
    let outcome = st.store.apply_stripe_event(&rec, &change).await?;
    let word = match &outcome {
        EventOutcome::Applied { subject, from_plan, to_plan } => {
            tracing::info!(event = %ev.id, kind = %ev.kind, %subject, from = ?from_plan, to = ?to_plan, "billing event applied");
            "applied"
        }
        EventOutcome::Duplicate => "duplicate",
        EventOutcome::Stale { subject } => {
            tracing::info!(event = %ev.id, kind = %ev.kind, %subject, "billing event older than the account's state");
            "stale"
        }
        EventOutcome::OtherSubscription { subject } => {
            tracing::info!(event = %ev.id, kind = %ev.kind, %subject, "billing event about another subscription");
            "other_subscription"
        }
        EventOutcome::Unmatched => {
            tracing::warn!(event = %ev.id, kind = %ev.kind, "billing event for a customer no account has");
            "unmatched"
        }
    };
    Ok(WebhookResult { event: ev.id, outcome: word })
}

/// The plan a subscription's price stands for, if any of its items has a plan's price.
pub fn plan_of_subscription<'a>(b: &'a BillingConfig, s: &stripe::Subscription) -> Option<&'a str> {
    s.items.data.iter().find_map(|i| i.price_id().and_then(|p| b.stripe.plan_of_price(p)))
}

/// The plan a subscription in `status` gives: its price's plan while it is live, the
/// default plan once it is over, nothing yet while its first payment is pending.
pub fn plan_for_status(b: &BillingConfig, status: &str, s: &stripe::Subscription) -> Option<String> {
    if LIVE_STATUSES.contains(&status) {
        plan_of_subscription(b, s).map(str::to_string)
    } else if matches!(status, "canceled" | "unpaid" | "incomplete_expired") {
        Some(b.default_plan.clone())
    } else {
        None
    }
}

/// What an event changes, or `None` for events FlowCFD does not act on.
fn change_for(b: &BillingConfig, kind: &str, ev: &BillingEvent, at: i64) -> Option<AccountChange> {
    let subject_of = |s: Option<&String>| s.filter(|s| Subject::parse(s).is_some()).cloned();
    Some(match ev {
        BillingEvent::CheckoutCompleted { customer, subscription, subject } => AccountChange {
            subject: subject_of(subject.as_ref()),
            customer_id: customer.clone(),
            subscription_id: subscription.clone(),
            status: None,
            plan: None,
            past_due: PastDue::Keep,
            is_state: false,
            own_subscription_only: false,
        },
        BillingEvent::Subscription { subscription: s, deleted } => {
            let status = if *deleted { "canceled".to_string() } else { s.status.clone() };
            let plan = plan_for_status(b, &status, s);
            let past_due = match status.as_str() {
                "past_due" | "unpaid" => PastDue::Since(at),
                "incomplete" | "paused" => PastDue::Keep,
                _ => PastDue::ClearUpTo(at),
            };
            AccountChange {
                subject: subject_of(s.metadata.get("flowcfd_subject")),
                customer_id: Some(s.customer.clone()),
                subscription_id: Some(s.id.clone()),
                status: Some(status),
                plan,
                past_due,
                is_state: true,
                own_subscription_only: kind != "customer.subscription.created",
            }
        }
        BillingEvent::Invoice { customer, subscription, paid } => AccountChange {
            subject: None,
            customer_id: Some(customer.clone()),
            subscription_id: subscription.clone(),
            status: None,
            plan: None,
            past_due: if *paid { PastDue::ClearUpTo(at) } else { PastDue::Since(at) },
            is_state: false,
            own_subscription_only: true,
        },
        BillingEvent::Other => return None,
    })
}
