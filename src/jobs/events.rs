//! Live job events: one typed enum from the worker to the browser, and the bus that carries
//! it between processes.
//!
//! The worker publishes a [`JobEvent`]; the bus hands it to every subscriber of that job in
//! every replica; `api::ws` matches on it and sends it to the browser as JSON. Nothing turns
//! an event into text before the socket does, except the PostgreSQL bus on the wire.
//!
//! Two buses, chosen where the store is chosen (`state::open`):
//! - [`LocalBus`]: a tokio broadcast channel per job, for one process (SQLite);
//! - [`PgBus`]: the same channels, fed by PostgreSQL LISTEN/NOTIFY, so that a client
//!   connected to any replica sees the events of a job running under any other.
//!
//! Events are hints for speed; the stored samples are the truth. A subscriber that lags,
//! or a listener that lost its connection, receives a gap (`None`) and catches up from the
//! store (see `api::ws`).
use super::follow::Sample;
use crate::store::JobStatus;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// Something that happened to a running job, as subscribers see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum JobEvent {
    /// A step began.
    Step { step: String },
    /// Residuals of the iteration in progress, as far as the log has got (not final: the
    /// complete iteration follows as a `sample`).
    Residuals { iteration: u64, residuals: BTreeMap<String, f64> },
    /// A completed iteration; `iteration` orders them, so a client resumes after the last
    /// one it has.
    Sample(Sample),
    /// New output in the run's log: `text` is bytes `offset..end` of it (a long burst
    /// keeps only its newest lines), so a client that already has the log up to some
    /// offset skips what it has.
    Log { offset: u64, end: u64, text: String },
    /// The job moved to another state, and why.
    Status { status: JobStatus, reason: Option<String> },
}

impl JobEvent {
    /// Whether this event ends the job (a terminal status).
    pub fn is_terminal(&self) -> bool {
        matches!(self, JobEvent::Status { status, .. } if status.is_terminal())
    }
}

/// An event as delivered: `None` means "events may have been missed, re-read the store".
pub type Delivery = Option<Arc<JobEvent>>;

/// Carries job events from publishers to subscribers.
#[async_trait::async_trait]
pub trait EventBus: Send + Sync {
    /// Live events of `job` from now on.
    fn subscribe(&self, job: &str) -> broadcast::Receiver<Delivery>;
    /// Publishes an event of `job` to every replica's subscribers.
    async fn publish(&self, job: &str, event: &JobEvent);
}

/// Events kept per job for slow subscribers before they lag (and catch up from the store).
const CAPACITY: usize = 256;

/// One process's subscribers: a broadcast channel per job with subscribers.
#[derive(Default)]
pub struct LocalBus {
    chans: Mutex<HashMap<String, broadcast::Sender<Delivery>>>,
}

impl LocalBus {
    /// Hands an event to this process's subscribers of `job`.
    fn deliver(&self, job: &str, event: Delivery) {
        let chans = self.chans.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = chans.get(job) {
            let _ = tx.send(event);
        }
    }

    /// Tells every subscriber that events may have been missed.
    fn deliver_gap_to_all(&self) {
        let chans = self.chans.lock().unwrap_or_else(|p| p.into_inner());
        for tx in chans.values() {
            let _ = tx.send(None);
        }
    }
}

#[async_trait::async_trait]
impl EventBus for LocalBus {
    fn subscribe(&self, job: &str) -> broadcast::Receiver<Delivery> {
        let mut chans = self.chans.lock().unwrap_or_else(|p| p.into_inner());
        chans.retain(|_, tx| tx.receiver_count() > 0);
        chans.entry(job.to_string()).or_insert_with(|| broadcast::channel(CAPACITY).0).subscribe()
    }

    async fn publish(&self, job: &str, event: &JobEvent) {
        self.deliver(job, Some(Arc::new(event.clone())));
    }
}

/// The NOTIFY channel of job events; the payload is `JOB_ID EVENT_JSON`.
pub const CHANNEL: &str = "flowcfd_job_events";
/// PostgreSQL's NOTIFY payload limit is 8000 bytes.
const MAX_NOTIFY: usize = 7900;

/// Job events shared by every replica through PostgreSQL LISTEN/NOTIFY: a publisher sends
/// NOTIFY, and every replica (itself included) hears it and delivers it locally.
pub struct PgBus {
    local: Arc<LocalBus>,
    opts: sqlx::postgres::PgConnectOptions,
    /// The connection NOTIFY goes out on, opened on first use and again after an error.
    notify: tokio::sync::Mutex<Option<sqlx::postgres::PgConnection>>,
}

impl PgBus {
    /// A bus over the database at `url`, listening when it returns (if the database
    /// answers); the listener reconnects by itself, and subscribers get a gap each time it
    /// had to.
    pub async fn connect(url: &str) -> Result<PgBus, sqlx::Error> {
        let opts: sqlx::postgres::PgConnectOptions = url.parse()?;
        let local = Arc::new(LocalBus::default());
        let to = local.clone();
        crate::pg_listen::follow(opts.clone(), CHANNEL, move |payload| match payload.and_then(|p| p.split_once(' ')) {
            Some((job, text)) => match serde_json::from_str::<JobEvent>(text) {
                Ok(ev) => to.deliver(job, Some(Arc::new(ev))),
                Err(e) => tracing::warn!(job, error = %e, "unreadable job event"),
            },
            None => to.deliver_gap_to_all(),
        })
        .await;
        Ok(PgBus { local, opts, notify: tokio::sync::Mutex::new(None) })
    }

    async fn notify(&self, payload: &str) -> Result<(), sqlx::Error> {
        use sqlx::ConnectOptions as _;
        let mut conn = self.notify.lock().await;
        if conn.is_none() {
            *conn = Some(self.opts.connect().await?);
        }
        let Some(c) = conn.as_mut() else { return Ok(()) };
        let sent = sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(payload).execute(&mut *c).await;
        if sent.is_err() {
            *conn = None;
        }
        sent.map(|_| ())
    }
}

#[async_trait::async_trait]
impl EventBus for PgBus {
    fn subscribe(&self, job: &str) -> broadcast::Receiver<Delivery> {
        self.local.subscribe(job)
    }

    async fn publish(&self, job: &str, event: &JobEvent) {
        match serde_json::to_string(event) {
            Ok(text) if text.len() + job.len() < MAX_NOTIFY => match self.notify(&format!("{job} {text}")).await {
                Ok(()) => return,
                Err(e) => tracing::warn!(job, error = %e, "NOTIFY failed; delivering locally only"),
            },
            Ok(_) => tracing::debug!(job, "event too large for NOTIFY; delivering locally only"),
            Err(e) => tracing::warn!(job, error = %e, "event not serialisable"),
        }
        self.local.publish(job, event).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_subscribers_get_typed_events_and_terminal_status_is_known() {
        let bus = LocalBus::default();
        let mut rx = bus.subscribe("j");
        let ev = JobEvent::Status { status: JobStatus::Completed, reason: Some("the run finished".into()) };
        bus.publish("j", &ev).await;
        bus.publish("other", &JobEvent::Step { step: "blockMesh".into() }).await;
        let got = rx.recv().await.unwrap().unwrap();
        assert_eq!(*got, ev);
        assert!(got.is_terminal());
        assert!(rx.try_recv().is_err(), "another job's events are not delivered");
        let text = serde_json::to_string(&ev).unwrap();
        assert_eq!(text, r#"{"type":"status","status":"completed","reason":"the run finished"}"#);
        assert_eq!(serde_json::from_str::<JobEvent>(&text).unwrap(), ev);
    }
}
