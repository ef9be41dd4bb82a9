//! Who pays and what they may use: billing accounts (a plan, an admin's custom quota or
//! credit, Stripe's customer and subscription), and the metered usage summed per subject
//! and period. A subject is `user:ID` (personal projects) or `org:ID` (an org's).
use super::db::{sql, Db, Row};
use super::sql::SqlStore;
use super::{now_ms, settings, Result};
use serde::Serialize;

/// Who a job bills: the org of an org's project, else the user.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    User(String),
    Org(String),
}

impl Subject {
    /// The subject of a job in a project of `org_id` (if any), submitted by `user_id`.
    pub fn of_project(org_id: Option<&str>, user_id: &str) -> Subject {
        match org_id {
            Some(o) => Subject::Org(o.to_string()),
            None => Subject::User(user_id.to_string()),
        }
    }
    /// `user:ID` or `org:ID`, as stored.
    pub fn key(&self) -> String {
        match self {
            Subject::User(id) => format!("user:{id}"),
            Subject::Org(id) => format!("org:{id}"),
        }
    }
    /// Reads the stored form.
    pub fn parse(s: &str) -> Option<Subject> {
        match s.split_once(':')? {
            ("user", id) if !id.is_empty() => Some(Subject::User(id.into())),
            ("org", id) if !id.is_empty() => Some(Subject::Org(id.into())),
            _ => None,
        }
    }
    /// `user` or `org`.
    pub fn kind(&self) -> &'static str {
        match self {
            Subject::User(_) => "user",
            Subject::Org(_) => "org",
        }
    }
    pub fn id(&self) -> &str {
        match self {
            Subject::User(id) | Subject::Org(id) => id,
        }
    }
}

/// A stored billing account (absent: the default plan, nothing else).
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BillingAccount {
    pub subject: String,
    /// None: the configured default plan.
    pub plan: Option<String>,
    /// An admin's quota, core-hours per plan period, instead of the plan's.
    pub quota_core_hours: Option<f64>,
    /// Core-hours an admin granted on top of the quota.
    pub credit_core_hours: f64,
    pub stripe_customer_id: Option<String>,
    pub stripe_subscription_id: Option<String>,
    pub subscription_status: Option<String>,
    /// The Stripe event time (ms) the subscription state is from.
    pub state_at: Option<i64>,
    pub past_due_since: Option<i64>,
    pub updated_at: i64,
}

/// An admin's change to an account; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, Serialize)]
pub struct BillingChange {
    pub plan: Option<String>,
    /// `Some(None)` removes a custom quota (back to the plan's).
    pub quota_core_hours: Option<Option<f64>>,
    pub credit_core_hours: Option<f64>,
}

pub(super) const ACCOUNT_COLS: &str = "subject, plan, quota_core_hours, credit_core_hours, stripe_customer_id, \
     stripe_subscription_id, subscription_status, state_at, past_due_since, updated_at";

pub(super) fn account_row(r: &Row) -> Result<BillingAccount> {
    Ok(BillingAccount {
        subject: r.get("subject")?,
        plan: r.get("plan")?,
        quota_core_hours: r.get("quota_core_hours")?,
        credit_core_hours: r.get("credit_core_hours")?,
        stripe_customer_id: r.get("stripe_customer_id")?,
        stripe_subscription_id: r.get("stripe_subscription_id")?,
        subscription_status: r.get("subscription_status")?,
        state_at: r.get("state_at")?,
        past_due_since: r.get("past_due_since")?,
        updated_at: r.get("updated_at")?,
    })
}

async fn account(db: &Db, subject: &str) -> Result<Option<BillingAccount>> {
    db.optional(
        sql(format!("SELECT {ACCOUNT_COLS} FROM billing_accounts WHERE subject = $1")).bind(subject),
        account_row,
    )
    .await
}

async fn change_account(db: &Db, subject: &str, c: &BillingChange, actor: &str) -> Result<BillingAccount> {
    let mut conn = db.conn().await?;
    let mut tx = conn.begin_write().await?;
    let now = now_ms();
    tx.execute(
        sql("INSERT INTO billing_accounts (subject, updated_at) VALUES ($1, $2) ON CONFLICT (subject) DO NOTHING")
            .bind(subject)
            .bind(now),
    )
    .await?;
    if let Some(plan) = &c.plan {
        tx.execute(sql("UPDATE billing_accounts SET plan = $1 WHERE subject = $2").bind(plan.as_str()).bind(subject))
            .await?;
    }
    if let Some(q) = c.quota_core_hours {
        tx.execute(sql("UPDATE billing_accounts SET quota_core_hours = $1 WHERE subject = $2").bind(q).bind(subject))
            .await?;
    }
    if let Some(credit) = c.credit_core_hours {
        let q = sql("UPDATE billing_accounts SET credit_core_hours = $1 WHERE subject = $2").bind(credit).bind(subject);
        tx.execute(q).await?;
    }
    tx.execute(sql("UPDATE billing_accounts SET updated_at = $1 WHERE subject = $2").bind(now).bind(subject)).await?;
    let detail = serde_json::to_string(c).unwrap_or_default();
    tx.execute(settings::audit_sql(Some(actor), "billing.change", Some(subject), &detail, None)).await?;
    let row = tx
        .fetch_optional(sql(format!("SELECT {ACCOUNT_COLS} FROM billing_accounts WHERE subject = $1")).bind(subject))
        .await?
        .ok_or_else(|| super::StoreError::Other("the billing account vanished".into()))?;
    let out = account_row(&row)?;
    tx.commit().await?;
    Ok(out)
}

/// The core-seconds recorded for a subject (`$1`) in one period (`$2`).
pub(super) const SUBJECT_PERIOD_USAGE: &str = "SELECT CAST(SUM(quantity) AS DOUBLE PRECISION) FROM usage_records \
     WHERE subject = $1 AND period = $2 AND record_type = 'core_seconds'";

/// Core-seconds recorded for `subject` in the given periods (`YYYY-MM`).
pub(super) async fn subject_usage(db: &Db, subject: &str, periods: &[String]) -> Result<f64> {
    let mut total = 0.0;
    for p in periods {
        let q = sql(SUBJECT_PERIOD_USAGE).bind(subject).bind(p.as_str());
        let s: Option<f64> = db.fetch_one(q).await?.get(0)?;
        total += s.unwrap_or(0.0);
    }
    Ok(total)
}

/// Billing accounts and metered usage.
#[async_trait::async_trait]
pub trait BillingStore: Send + Sync {
    /// The stored account of a subject (`user:ID` / `org:ID`), if any.
    async fn billing_account(&self, subject: &str) -> Result<Option<BillingAccount>>;
    /// An admin's change (plan, custom quota, credit), with its audit entry, in one
    /// transaction; returns the account as it now is.
    async fn change_billing_account(&self, subject: &str, c: &BillingChange, actor: &str) -> Result<BillingAccount>;
    /// Core-seconds recorded for a subject over the given periods (`YYYY-MM`).
    async fn subject_usage(&self, subject: &str, periods: &[String]) -> Result<f64>;
}

#[async_trait::async_trait]
impl BillingStore for SqlStore {
    async fn billing_account(&self, subject: &str) -> Result<Option<BillingAccount>> {
        account(&self.db, subject).await
    }
    async fn change_billing_account(&self, subject: &str, c: &BillingChange, actor: &str) -> Result<BillingAccount> {
        change_account(&self.db, subject, c, actor).await
    }
    async fn subject_usage(&self, subject: &str, periods: &[String]) -> Result<f64> {
        subject_usage(&self.db, subject, periods).await
    }
}

#[cfg(test)]
mod tests {
    use super::Subject;

    #[test]
    fn subjects_round_trip_and_follow_the_project() {
        assert_eq!(Subject::of_project(Some("o1"), "u1"), Subject::Org("o1".into()));
        assert_eq!(Subject::of_project(None, "u1").key(), "user:u1");
        assert_eq!(Subject::parse("org:o1"), Some(Subject::Org("o1".into())));
        assert_eq!(Subject::parse("team:x"), None);
        assert_eq!(Subject::parse("user:"), None);
    }
}
