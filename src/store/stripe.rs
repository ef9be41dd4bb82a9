//! Stripe's side of the billing accounts (`billing.rs`): the customer, the subscription
//! and its state, the Stripe events applied to them, and the outbox of overage reports. An
//! event is recorded in the transaction of its effect, so a replay changes nothing;
//! subscription state is applied by the event's time, so an event delivered late never
//! overwrites a newer state.
use super::billing::{account_row, BillingAccount, ACCOUNT_COLS};
use super::db::{sql, Db, Row, Tx};
use super::migrate::Dialect;
use super::settings::audit_sql;
use super::sql::SqlStore;
use super::{new_id, now_ms, Result};
use serde::Serialize;

/// A Stripe event being applied.
#[derive(Debug, Clone)]
pub struct StripeEventRecord<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    /// The event's `created`, Unix ms.
    pub created_ms: i64,
}

/// What an event does to `past_due_since`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PastDue {
    Keep,
    /// A payment failed at this time: set it unless a failure is already outstanding.
    Since(i64),
    /// Paid (or over) at this time: clear a failure from before it.
    ClearUpTo(i64),
}

/// The change an event makes to an account; `None` leaves a field as it is.
#[derive(Debug, Clone)]
pub struct AccountChange {
    /// The account, when the event names it (Checkout's `client_reference_id`, metadata);
    /// otherwise it is found by `customer_id`.
    pub subject: Option<String>,
    pub customer_id: Option<String>,
    pub subscription_id: Option<String>,
    pub status: Option<String>,
    pub plan: Option<String>,
    pub past_due: PastDue,
    /// Subscription state: ordered by event time (`state_at`). Other events (Checkout,
    /// invoices) neither advance nor wait for it.
    pub is_state: bool,
    /// Only about the account's own subscription: ignored when it names another one while
    /// the account's is live.
    pub own_subscription_only: bool,
}

/// What became of an event.
#[derive(Debug, Clone, PartialEq)]
pub enum EventOutcome {
    /// The plans before and after (`None`: the default plan).
    Applied { subject: String, from_plan: Option<String>, to_plan: Option<String> },
    /// Seen before: nothing changed.
    Duplicate,
    /// Older than the account's state: recorded, not applied.
    Stale { subject: String },
    /// About another subscription than the account's live one: recorded, not applied.
    OtherSubscription { subject: String },
    /// No account has this customer: recorded, not applied.
    Unmatched,
}

/// A report of overage waiting in (or sent from) the outbox.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxRow {
    pub id: String,
    pub subject: String,
    pub subscription_id: String,
    pub period: String,
    pub seq: i64,
    pub quantity: f64,
    pub idempotency_key: String,
    /// Attempts before this one (a claim counts one more).
    pub attempts: i64,
    pub next_at: i64,
    pub sent_at: Option<i64>,
    pub last_error: Option<String>,
}

/// Subscription statuses under which a subscription is live (its plan applies).
pub const LIVE_STATUSES: &[&str] = &["active", "trialing", "past_due"];

/// Stripe's side of the billing accounts, and the overage outbox.
#[async_trait::async_trait]
pub trait StripeStore: Send + Sync {
    /// Every account with a Stripe customer.
    async fn stripe_accounts(&self) -> Result<Vec<BillingAccount>>;
    /// Accounts with a live subscription (those that can owe overage).
    async fn live_subscriptions(&self) -> Result<Vec<BillingAccount>>;
    /// Gives `subject` the Stripe customer `customer_id` unless it already has one (then
    /// that one is kept), creating the account (on the default plan) if there is none. The
    /// customer id in effect.
    async fn link_customer(&self, subject: &str, customer_id: &str) -> Result<String>;
    /// Records a Stripe event and applies `change`, in one transaction.
    async fn apply_stripe_event(&self, ev: &StripeEventRecord<'_>, change: &AccountChange) -> Result<EventOutcome>;
    /// Sets the subscription fields and plan of an account (reconciliation), audited.
    async fn set_subscription(
        &self,
        subject: &str,
        subscription_id: Option<&str>,
        status: Option<&str>,
        plan: &str,
        why: &str,
    ) -> Result<bool>;
    /// Moves accounts whose payment has been outstanding since before `before` to `plan`;
    /// the subjects moved and the plans they had.
    async fn downgrade_overdue(&self, before: i64, plan: &str) -> Result<Vec<(String, String)>>;
    /// The last report's number and the core-hours reported so far for (subject, period).
    async fn outbox_reported(&self, subject: &str, period: &str) -> Result<(i64, f64)>;
    /// Adds a report; false when report `seq` of that period exists already.
    async fn outbox_add(&self, row: &OutboxRow) -> Result<bool>;
    /// Claims up to `limit` unsent reports that are due, each until `now + lease_ms`.
    async fn outbox_claim(&self, now: i64, lease_ms: i64, limit: i64) -> Result<Vec<OutboxRow>>;
    /// Marks a report sent.
    async fn outbox_sent(&self, id: &str, now: i64) -> Result<()>;
    /// Schedules a report's next attempt after a failure.
    async fn outbox_retry(&self, id: &str, next_at: i64, error: &str) -> Result<()>;
    /// Every report of `subject`, oldest first.
    async fn outbox_of(&self, subject: &str) -> Result<Vec<OutboxRow>>;
}

const OUTBOX_COLS: &str =
    "id, subject, subscription_id, period, seq, quantity, idempotency_key, attempts, next_at, sent_at, last_error";

fn outbox_row(r: &Row) -> Result<OutboxRow> {
    Ok(OutboxRow {
        id: r.get("id")?,
        subject: r.get("subject")?,
        subscription_id: r.get("subscription_id")?,
        period: r.get("period")?,
        seq: r.get("seq")?,
        quantity: r.get("quantity")?,
        idempotency_key: r.get("idempotency_key")?,
        attempts: r.get("attempts")?,
        next_at: r.get("next_at")?,
        sent_at: r.get("sent_at")?,
        last_error: r.get("last_error")?,
    })
}

/// Locks the account row read in a write transaction (SQLite's `BEGIN IMMEDIATE` already
/// holds the database's write lock).
fn for_update(d: Dialect) -> &'static str {
    match d {
        Dialect::Postgres => " FOR UPDATE",
        Dialect::Sqlite => "",
    }
}

async fn read_account(tx: &mut Tx<'_>, d: Dialect, col: &str, v: &str) -> Result<Option<BillingAccount>> {
    let q = sql(format!("SELECT {ACCOUNT_COLS} FROM billing_accounts WHERE {col} = $1{}", for_update(d))).bind(v);
    tx.fetch_optional(q).await?.as_ref().map(account_row).transpose()
}

fn insert_account<'a>(subject: &'a str, customer: Option<&'a str>) -> super::db::Sql<'a> {
    sql("INSERT INTO billing_accounts (subject, stripe_customer_id, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (subject) DO NOTHING")
    .bind(subject)
    .bind(customer)
    .bind(now_ms())
}

/// Whether `change` applies to `a`, and if not, why.
fn refuse(a: &BillingAccount, ev: &StripeEventRecord<'_>, change: &AccountChange) -> Option<EventOutcome> {
    let subject = a.subject.clone();
    if change.own_subscription_only {
        let live = a.subscription_status.as_deref().is_some_and(|s| LIVE_STATUSES.contains(&s));
        if let (Some(mine), Some(theirs)) = (&a.stripe_subscription_id, &change.subscription_id) {
            if mine != theirs && live {
                return Some(EventOutcome::OtherSubscription { subject });
            }
        }
    }
    if change.is_state {
        let at = a.state_at.unwrap_or(i64::MIN);
        // At the same second, a subscription that ended stays ended.
        let ended_same = ev.created_ms == at
            && a.subscription_status.as_deref() == Some("canceled")
            && a.stripe_subscription_id == change.subscription_id;
        if ev.created_ms < at || ended_same {
            return Some(EventOutcome::Stale { subject });
        }
    }
    None
}

async fn apply_stripe_event(s: &SqlStore, ev: &StripeEventRecord<'_>, change: &AccountChange) -> Result<EventOutcome> {
    let d = s.db.dialect();
    let mut conn = s.db.conn().await?;
    let mut tx = conn.begin_write().await?;
    let now = now_ms();
    let q = sql("INSERT INTO stripe_events (id, type, created, received_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (id) DO NOTHING")
    .bind(ev.id)
    .bind(ev.kind)
    .bind(ev.created_ms)
    .bind(now);
    if tx.execute(q).await? == 0 {
        tx.rollback().await?;
        return Ok(EventOutcome::Duplicate);
    }
    let mut account = match &change.customer_id {
        Some(c) => read_account(&mut tx, d, "stripe_customer_id", c).await?,
        None => None,
    };
    if account.is_none() {
        if let Some(subject) = &change.subject {
            tx.execute(insert_account(subject, None)).await?;
            account = read_account(&mut tx, d, "subject", subject).await?;
        }
    }
    let Some(a) = account else {
        tx.commit().await?;
        return Ok(EventOutcome::Unmatched);
    };
    if let Some(no) = refuse(&a, ev, change) {
        tx.commit().await?;
        return Ok(no);
    }
    let past_due = match change.past_due {
        PastDue::Keep => a.past_due_since,
        PastDue::Since(t) => Some(a.past_due_since.unwrap_or(t)),
        PastDue::ClearUpTo(t) => a.past_due_since.filter(|since| *since > t),
    };
    let to_plan = change.plan.clone().or_else(|| a.plan.clone());
    let q = sql("UPDATE billing_accounts SET plan = $1, stripe_customer_id = COALESCE(stripe_customer_id, $2), \
                 stripe_subscription_id = COALESCE($3, stripe_subscription_id), \
                 subscription_status = COALESCE($4, subscription_status), state_at = $5, past_due_since = $6, \
                 updated_at = $7 WHERE subject = $8")
    .bind(&to_plan)
    .bind(&change.customer_id)
    .bind(&change.subscription_id)
    .bind(&change.status)
    .bind(if change.is_state { Some(ev.created_ms) } else { a.state_at })
    .bind(past_due)
    .bind(now)
    .bind(a.subject.as_str());
    tx.execute(q).await?;
    let detail = serde_json::json!({
        "event": ev.id, "type": ev.kind, "from": a.plan, "to": to_plan,
        "status": change.status, "subscription": change.subscription_id, "past_due_since": past_due,
    })
    .to_string();
    tx.execute(audit_sql(None, "billing.stripe_event", Some(&a.subject), &detail, None)).await?;
    tx.commit().await?;
    Ok(EventOutcome::Applied { subject: a.subject, from_plan: a.plan, to_plan })
}

async fn set_subscription(
    db: &Db,
    subject: &str,
    subscription_id: Option<&str>,
    status: Option<&str>,
    plan: &str,
    why: &str,
) -> Result<bool> {
    let mut conn = db.conn().await?;
    let mut tx = conn.begin_write().await?;
    let q = sql("UPDATE billing_accounts SET stripe_subscription_id = $1, subscription_status = $2, plan = $3, \
                 updated_at = $4 WHERE subject = $5")
    .bind(subscription_id)
    .bind(status)
    .bind(plan)
    .bind(now_ms())
    .bind(subject);
    if tx.execute(q).await? == 0 {
        return Ok(false);
    }
    let detail = serde_json::json!({"subscription": subscription_id, "status": status, "plan": plan, "why": why});
    tx.execute(audit_sql(None, "billing.reconcile", Some(subject), &detail.to_string(), None)).await?;
    tx.commit().await?;
    Ok(true)
}

async fn downgrade_overdue(db: &Db, before: i64, plan: &str) -> Result<Vec<(String, String)>> {
    let q = sql(format!(
        "SELECT {ACCOUNT_COLS} FROM billing_accounts WHERE past_due_since IS NOT NULL AND past_due_since <= $1 \
         AND plan IS NOT NULL AND plan <> $2"
    ))
    .bind(before)
    .bind(plan);
    let mut moved = Vec::new();
    for a in db.all(q, account_row).await? {
        let mut conn = db.conn().await?;
        let mut tx = conn.begin_write().await?;
        // Only if it is still overdue (a payment may have come in meanwhile).
        let q = sql("UPDATE billing_accounts SET plan = $1, updated_at = $2 WHERE subject = $3 \
                     AND past_due_since IS NOT NULL AND past_due_since <= $4 AND plan IS NOT NULL AND plan <> $1")
        .bind(plan)
        .bind(now_ms())
        .bind(a.subject.as_str())
        .bind(before);
        if tx.execute(q).await? == 1 {
            let detail = serde_json::json!({"from": a.plan, "to": plan, "past_due_since": a.past_due_since});
            tx.execute(audit_sql(None, "billing.grace_expired", Some(&a.subject), &detail.to_string(), None)).await?;
            tx.commit().await?;
            moved.push((a.subject, a.plan.unwrap_or_default()));
        }
    }
    Ok(moved)
}

async fn outbox_claim(db: &Db, now: i64, lease_ms: i64, limit: i64) -> Result<Vec<OutboxRow>> {
    let q = sql(format!(
        "SELECT {OUTBOX_COLS} FROM billing_outbox WHERE sent_at IS NULL AND next_at <= $1 ORDER BY next_at, id LIMIT $2"
    ))
    .bind(now)
    .bind(limit);
    let mut claimed = Vec::new();
    for r in db.all(q, outbox_row).await? {
        // Exactly one claimer wins a row: the one whose update still sees its next_at.
        let q = sql("UPDATE billing_outbox SET attempts = attempts + 1, next_at = $1 \
                     WHERE id = $2 AND next_at = $3 AND sent_at IS NULL")
        .bind(now + lease_ms)
        .bind(r.id.as_str())
        .bind(r.next_at);
        if db.execute(q).await? == 1 {
            claimed.push(r);
        }
    }
    Ok(claimed)
}

#[async_trait::async_trait]
impl StripeStore for SqlStore {
    async fn stripe_accounts(&self) -> Result<Vec<BillingAccount>> {
        let q = sql(format!(
            "SELECT {ACCOUNT_COLS} FROM billing_accounts WHERE stripe_customer_id IS NOT NULL ORDER BY subject"
        ));
        self.db.all(q, account_row).await
    }

    async fn link_customer(&self, subject: &str, customer_id: &str) -> Result<String> {
        let mut conn = self.db.conn().await?;
        let mut tx = conn.begin_write().await?;
        tx.execute(insert_account(subject, Some(customer_id))).await?;
        let q = sql("UPDATE billing_accounts SET stripe_customer_id = $1, updated_at = $2 \
                     WHERE subject = $3 AND stripe_customer_id IS NULL")
        .bind(customer_id)
        .bind(now_ms())
        .bind(subject);
        tx.execute(q).await?;
        let a = read_account(&mut tx, self.db.dialect(), "subject", subject).await?;
        tx.commit().await?;
        Ok(a.and_then(|a| a.stripe_customer_id).unwrap_or_else(|| customer_id.to_string()))
    }

    async fn apply_stripe_event(&self, ev: &StripeEventRecord<'_>, change: &AccountChange) -> Result<EventOutcome> {
        apply_stripe_event(self, ev, change).await
    }

    async fn set_subscription(
        &self,
        subject: &str,
        subscription_id: Option<&str>,
        status: Option<&str>,
        plan: &str,
        why: &str,
    ) -> Result<bool> {
        set_subscription(&self.db, subject, subscription_id, status, plan, why).await
    }

    async fn downgrade_overdue(&self, before: i64, plan: &str) -> Result<Vec<(String, String)>> {
        downgrade_overdue(&self.db, before, plan).await
    }

    async fn live_subscriptions(&self) -> Result<Vec<BillingAccount>> {
        let q = sql(format!(
            "SELECT {ACCOUNT_COLS} FROM billing_accounts WHERE stripe_customer_id IS NOT NULL \
             AND stripe_subscription_id IS NOT NULL AND subscription_status IN ('active', 'trialing', 'past_due') \
             ORDER BY subject"
        ));
        self.db.all(q, account_row).await
    }

    async fn outbox_reported(&self, subject: &str, period: &str) -> Result<(i64, f64)> {
        let q = sql("SELECT CAST(MAX(seq) AS BIGINT), CAST(SUM(quantity) AS DOUBLE PRECISION) FROM billing_outbox \
                     WHERE subject = $1 AND period = $2")
        .bind(subject)
        .bind(period);
        let r = self.db.fetch_one(q).await?;
        let (seq, sum): (Option<i64>, Option<f64>) = (r.get(0)?, r.get(1)?);
        Ok((seq.unwrap_or(0), sum.unwrap_or(0.0)))
    }

    async fn outbox_add(&self, row: &OutboxRow) -> Result<bool> {
        let q =
            sql("INSERT INTO billing_outbox (id, subject, subscription_id, period, seq, quantity, idempotency_key, \
                     attempts, next_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9) \
                     ON CONFLICT DO NOTHING")
            .bind(row.id.as_str())
            .bind(row.subject.as_str())
            .bind(row.subscription_id.as_str())
            .bind(row.period.as_str())
            .bind(row.seq)
            .bind(row.quantity)
            .bind(row.idempotency_key.as_str())
            .bind(row.next_at)
            .bind(now_ms());
        Ok(self.db.execute(q).await? == 1)
    }

    async fn outbox_claim(&self, now: i64, lease_ms: i64, limit: i64) -> Result<Vec<OutboxRow>> {
        outbox_claim(&self.db, now, lease_ms, limit).await
    }

    async fn outbox_sent(&self, id: &str, now: i64) -> Result<()> {
        let q = sql("UPDATE billing_outbox SET sent_at = $1, last_error = NULL WHERE id = $2").bind(now).bind(id);
        self.db.execute(q).await?;
        Ok(())
    }

    async fn outbox_retry(&self, id: &str, next_at: i64, error: &str) -> Result<()> {
        let q = sql("UPDATE billing_outbox SET next_at = $1, last_error = $2 WHERE id = $3 AND sent_at IS NULL")
            .bind(next_at)
            .bind(error)
            .bind(id);
        self.db.execute(q).await?;
        Ok(())
    }

    async fn outbox_of(&self, subject: &str) -> Result<Vec<OutboxRow>> {
        let q = sql(format!("SELECT {OUTBOX_COLS} FROM billing_outbox WHERE subject = $1 ORDER BY period, seq"))
            .bind(subject);
        self.db.all(q, outbox_row).await
    }
}

/// A new report (id and key made here): `quantity` core-hours of `subject`'s `period`,
/// report number `seq`, due at once.
pub fn new_report(subject: &str, subscription_id: &str, period: &str, seq: i64, quantity: f64) -> OutboxRow {
    OutboxRow {
        id: new_id(),
        subject: subject.into(),
        subscription_id: subscription_id.into(),
        period: period.into(),
        seq,
        quantity,
        idempotency_key: format!("flowcfd-{subscription_id}-{period}-{seq}"),
        attempts: 0,
        next_at: now_ms(),
        sent_at: None,
        last_error: None,
    }
}
