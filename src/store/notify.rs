//! Notifications in the database: the jobs and geometries whose end has not yet been turned
//! into mail and webhook deliveries (claimed once, in the same transaction that queues what
//! they cause, so a crash loses nothing and nothing is sent twice), projects' webhooks, and
//! the webhook outbox, which is also the delivery log.
use super::db::{sql, Row};
use super::recovery::insert_mail;
use super::sql::SqlStore;
use super::{now_ms, OutboxMail, Result};
use serde::Serialize;

/// A project's webhook.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Webhook {
    pub id: String,
    pub project_id: String,
    pub url: String,
    /// The events it receives (`job.completed`, `job.failed`, `geometry.ready`).
    pub events: Vec<String>,
    /// The signing secret, sealed with the server key; never shown after creation.
    #[serde(skip)]
    pub secret_sealed: String,
    pub created_by: Option<String>,
    pub created_at: i64,
}

/// One event for one webhook: queued, then delivered, retried, or given up.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Delivery {
    pub id: String,
    pub webhook_id: String,
    pub event: String,
    /// The JSON body, exactly as signed and sent.
    pub payload: String,
    /// Attempts so far (a claim counts one).
    pub attempts: i64,
    /// When the next attempt is due (ms), while pending.
    pub next_at: i64,
    pub delivered_at: Option<i64>,
    /// When it was given up.
    pub failed_at: Option<i64>,
    /// The receiver's last HTTP status, if it answered.
    pub response_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
}

impl Delivery {
    /// `pending`, `delivered` or `failed`.
    pub fn state(&self) -> &'static str {
        match (self.delivered_at, self.failed_at) {
            (Some(_), _) => "delivered",
            (_, Some(_)) => "failed",
            _ => "pending",
        }
    }
}

/// A job that has ended and not yet been notified, with what its notifications say.
#[derive(Debug, Clone)]
pub struct EndedJob {
    pub id: String,
    pub status: String,
    pub cancel_requested: bool,
    pub error_message: Option<String>,
    pub completed_at: Option<i64>,
    pub mesh_cells: Option<i64>,
    pub iterations: Option<i64>,
    pub case_id: String,
    pub case_name: String,
    pub project_id: String,
    pub project_name: String,
    /// The submitter, and whether they want mail about it.
    pub user_id: String,
    pub user_email: String,
    pub notify_jobs: bool,
}

/// A geometry whose processing has ended and not yet been notified.
#[derive(Debug, Clone)]
pub struct EndedGeometry {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub status: String,
    pub triangles: Option<i64>,
}

/// What was notified: the row whose `notified_at` is claimed.
#[derive(Debug, Clone, Copy)]
pub enum Notified<'a> {
    Job(&'a str),
    Geometry(&'a str),
}

/// How a delivery attempt ended.
#[derive(Debug, Clone)]
pub enum Attempt {
    Delivered { status: i64 },
    Retry { next_at: i64, status: Option<i64>, error: String },
    GaveUp { status: Option<i64>, error: String },
}

const HOOK_COLS: &str = "id, project_id, url, secret_sealed, events, created_by, created_at";
const DELIVERY_COLS: &str = "id, webhook_id, event, payload, attempts, next_at, delivered_at, failed_at, \
                             response_status, last_error, created_at";

fn hook_row(r: &Row) -> Result<Webhook> {
    hook_from(r, r.get("id")?, "created_at")
}

/// A webhook from a row holding its columns, with its id given and its creation time in the
/// column `created_at_col` (a join with its deliveries renames both).
fn hook_from(r: &Row, id: String, created_at_col: &str) -> Result<Webhook> {
    let events: String = r.get("events")?;
    Ok(Webhook {
        id,
        project_id: r.get("project_id")?,
        url: r.get("url")?,
        events: events.split(',').filter(|e| !e.is_empty()).map(str::to_string).collect(),
        secret_sealed: r.get("secret_sealed")?,
        created_by: r.get("created_by")?,
        created_at: r.get(created_at_col)?,
    })
}

fn delivery_row(r: &Row) -> Result<Delivery> {
    Ok(Delivery {
        id: r.get("id")?,
        webhook_id: r.get("webhook_id")?,
        event: r.get("event")?,
        payload: r.get("payload")?,
        attempts: r.get("attempts")?,
        next_at: r.get("next_at")?,
        delivered_at: r.get("delivered_at")?,
        failed_at: r.get("failed_at")?,
        response_status: r.get("response_status")?,
        last_error: r.get("last_error")?,
        created_at: r.get("created_at")?,
    })
}

fn insert_delivery(d: &Delivery) -> super::db::Sql<'_> {
    sql("INSERT INTO webhook_deliveries (id, webhook_id, event, payload, attempts, next_at, created_at) \
         VALUES ($1, $2, $3, $4, 0, $5, $6)")
    .bind(d.id.as_str())
    .bind(d.webhook_id.as_str())
    .bind(d.event.as_str())
    .bind(d.payload.as_str())
    .bind(d.next_at)
    .bind(d.created_at)
}

/// Notifications, webhooks and their deliveries.
#[async_trait::async_trait]
pub trait NotifyStore: Send + Sync {
    /// Ended jobs not yet notified, oldest first.
    async fn jobs_to_notify(&self, limit: i64) -> Result<Vec<EndedJob>>;
    /// Geometries that became ready or failed and are not yet notified, oldest first.
    async fn geometries_to_notify(&self, limit: i64) -> Result<Vec<EndedGeometry>>;
    /// Marks `what` notified at `now` and queues its mail and deliveries, in one
    /// transaction; false (and nothing queued) when another sweeper claimed it first.
    async fn notify(&self, what: Notified<'_>, now: i64, mail: Option<&OutboxMail>, deliveries: &[Delivery]) -> Result<bool>;
    async fn create_webhook(&self, w: &Webhook) -> Result<()>;
    async fn webhooks(&self, project_id: &str) -> Result<Vec<Webhook>>;
    async fn delete_webhook(&self, project_id: &str, id: &str) -> Result<bool>;
    /// A webhook's latest deliveries, newest first.
    async fn deliveries(&self, webhook_id: &str, limit: i64) -> Result<Vec<Delivery>>;
    async fn add_delivery(&self, d: &Delivery) -> Result<()>;
    /// Claims up to `limit` pending deliveries due at `now`, each until `now + lease_ms`,
    /// with their webhook (exactly one claimer wins a delivery).
    async fn claim_deliveries(&self, now: i64, lease_ms: i64, limit: i64) -> Result<Vec<(Delivery, Webhook)>>;
    /// Records how an attempt ended.
    async fn delivery_attempted(&self, id: &str, now: i64, a: &Attempt) -> Result<()>;
    /// Turns job mail on or off for `user_id`.
    async fn set_notify_jobs(&self, user_id: &str, on: bool) -> Result<()>;
}

#[async_trait::async_trait]
impl NotifyStore for SqlStore {
    async fn jobs_to_notify(&self, limit: i64) -> Result<Vec<EndedJob>> {
        let q = sql("SELECT j.id, j.status, j.cancel_requested, j.error_message, j.completed_at, j.mesh_cells, \
                     j.iterations, c.id AS case_id, c.name AS case_name, p.id AS project_id, p.name AS project_name, \
                     u.id AS user_id, u.email, u.notify_jobs \
                     FROM simulation_jobs j JOIN simulation_cases c ON c.id = j.case_id \
                     JOIN projects p ON p.id = c.project_id JOIN users u ON u.id = j.user_id \
                     WHERE j.notified_at IS NULL AND j.status IN ('completed', 'failed', 'cancelled') \
                     ORDER BY j.completed_at, j.id LIMIT $1")
        .bind(limit);
        self.db
            .all(q, |r| {
                Ok(EndedJob {
                    id: r.get("id")?,
                    status: r.get("status")?,
                    cancel_requested: r.get("cancel_requested")?,
                    error_message: r.get("error_message")?,
                    completed_at: r.get("completed_at")?,
                    mesh_cells: r.get("mesh_cells")?,
                    iterations: r.get("iterations")?,
                    case_id: r.get("case_id")?,
                    case_name: r.get("case_name")?,
                    project_id: r.get("project_id")?,
                    project_name: r.get("project_name")?,
                    user_id: r.get("user_id")?,
                    user_email: r.get("email")?,
                    notify_jobs: r.get("notify_jobs")?,
                })
            })
            .await
    }

    async fn geometries_to_notify(&self, limit: i64) -> Result<Vec<EndedGeometry>> {
        let q = sql("SELECT id, project_id, name, processing_status, triangle_count FROM geometries \
                     WHERE notified_at IS NULL AND processing_status IN ('ready', 'failed') \
                     ORDER BY updated_at, id LIMIT $1")
        .bind(limit);
        self.db
            .all(q, |r| {
                Ok(EndedGeometry {
                    id: r.get("id")?,
                    project_id: r.get("project_id")?,
                    name: r.get("name")?,
                    status: r.get("processing_status")?,
                    triangles: r.get("triangle_count")?,
                })
            })
            .await
    }

    async fn notify(&self, what: Notified<'_>, now: i64, mail: Option<&OutboxMail>, deliveries: &[Delivery]) -> Result<bool> {
        let (table, id) = match what {
            Notified::Job(id) => ("simulation_jobs", id),
            Notified::Geometry(id) => ("geometries", id),
        };
        let mut conn = self.db.conn().await?;
        let mut tx = conn.begin_write().await?;
        let claim = sql(format!("UPDATE {table} SET notified_at = $1 WHERE id = $2 AND notified_at IS NULL"))
            .bind(now)
            .bind(id);
        if tx.execute(claim).await? != 1 {
            return Ok(false);
        }
        if let Some(m) = mail {
            tx.execute(insert_mail(m, now)).await?;
        }
        for d in deliveries {
            tx.execute(insert_delivery(d)).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn create_webhook(&self, w: &Webhook) -> Result<()> {
        let q = sql(format!("INSERT INTO webhooks ({HOOK_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"))
            .bind(w.id.as_str())
            .bind(w.project_id.as_str())
            .bind(w.url.as_str())
            .bind(w.secret_sealed.as_str())
            .bind(w.events.join(","))
            .bind(w.created_by.as_deref())
            .bind(w.created_at);
        self.db.execute(q).await?;
        Ok(())
    }

    async fn webhooks(&self, project_id: &str) -> Result<Vec<Webhook>> {
        let q = sql(format!("SELECT {HOOK_COLS} FROM webhooks WHERE project_id = $1 ORDER BY created_at, id")).bind(project_id);
        self.db.all(q, hook_row).await
    }

    async fn delete_webhook(&self, project_id: &str, id: &str) -> Result<bool> {
        let q = sql("DELETE FROM webhooks WHERE project_id = $1 AND id = $2").bind(project_id).bind(id);
        Ok(self.db.execute(q).await? == 1)
    }

    async fn deliveries(&self, webhook_id: &str, limit: i64) -> Result<Vec<Delivery>> {
        let q = sql(format!(
            "SELECT {DELIVERY_COLS} FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY created_at DESC, id LIMIT $2"
        ))
        .bind(webhook_id)
        .bind(limit);
        self.db.all(q, delivery_row).await
    }

    async fn add_delivery(&self, d: &Delivery) -> Result<()> {
        self.db.execute(insert_delivery(d)).await?;
        Ok(())
    }

    async fn claim_deliveries(&self, now: i64, lease_ms: i64, limit: i64) -> Result<Vec<(Delivery, Webhook)>> {
        let cols: Vec<String> = DELIVERY_COLS.split(", ").map(|c| format!("d.{}", c.trim())).collect();
        let q = sql(format!(
            "SELECT {}, w.project_id, w.url, w.secret_sealed, w.events, w.created_by, w.created_at AS hook_created_at \
             FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
             WHERE d.delivered_at IS NULL AND d.failed_at IS NULL AND d.next_at <= $1 ORDER BY d.next_at, d.id LIMIT $2",
            cols.join(", ")
        ))
        .bind(now)
        .bind(limit);
        let rows = self
            .db
            .all(q, |r| {
                let d = delivery_row(r)?;
                let w = hook_from(r, d.webhook_id.clone(), "hook_created_at")?;
                Ok((d, w))
            })
            .await?;
        let mut claimed = Vec::new();
        for (mut d, w) in rows {
            // Exactly one claimer wins: the one whose update still sees its next_at.
            let q = sql("UPDATE webhook_deliveries SET attempts = attempts + 1, next_at = $1 \
                         WHERE id = $2 AND next_at = $3 AND delivered_at IS NULL AND failed_at IS NULL")
            .bind(now + lease_ms)
            .bind(d.id.as_str())
            .bind(d.next_at);
            if self.db.execute(q).await? == 1 {
                d.attempts += 1;
                claimed.push((d, w));
            }
        }
        Ok(claimed)
    }

    async fn delivery_attempted(&self, id: &str, now: i64, a: &Attempt) -> Result<()> {
        let q = match a {
            Attempt::Delivered { status } => sql("UPDATE webhook_deliveries SET delivered_at = $1, response_status = $2, \
                                                  last_error = NULL WHERE id = $3")
            .bind(now)
            .bind(*status)
            .bind(id),
            Attempt::Retry { next_at, status, error } => {
                sql("UPDATE webhook_deliveries SET next_at = $1, response_status = $2, last_error = $3 WHERE id = $4")
                    .bind(*next_at)
                    .bind(*status)
                    .bind(error.as_str())
                    .bind(id)
            }
            Attempt::GaveUp { status, error } => {
                sql("UPDATE webhook_deliveries SET failed_at = $1, response_status = $2, last_error = $3 WHERE id = $4")
                    .bind(now)
                    .bind(*status)
                    .bind(error.as_str())
                    .bind(id)
            }
        };
        self.db.execute(q).await?;
        Ok(())
    }

    async fn set_notify_jobs(&self, user_id: &str, on: bool) -> Result<()> {
        let q = sql("UPDATE users SET notify_jobs = $1, updated_at = $2 WHERE id = $3").bind(on).bind(now_ms()).bind(user_id);
        self.db.execute(q).await?;
        Ok(())
    }
}
