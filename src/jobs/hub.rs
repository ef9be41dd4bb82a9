//! Live job events, fanned out to WebSocket clients.
//!
//! Inside one process each job has a tokio broadcast channel. With PostgreSQL, replicas
//! share events through LISTEN/NOTIFY: a worker publishes with NOTIFY, and every replica
//! (itself included) hears it on its listener and delivers it locally, so a client
//! connected to any replica sees the events of a job running under any other. With SQLite
//! there is one process, and events go straight to the local channel.
//!
//! Events are hints for speed; the stored samples are the truth. A client that lags, or a
//! listener that lost its connection, catches up from the store (see `api::ws`).
use crate::store::Store;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// The NOTIFY channel of job events; the payload is `JOB_ID EVENT_JSON`.
pub const CHANNEL: &str = "flowcfd_job_events";
/// PostgreSQL's NOTIFY payload limit is 8000 bytes.
const MAX_NOTIFY: usize = 7900;
/// Events kept per job for slow subscribers before they lag (and catch up from the store).
const CAPACITY: usize = 256;

/// An event as delivered: `None` means "events may have been missed, re-read the store".
pub type Delivery = Option<Arc<str>>;

#[derive(Default)]
pub struct Hub {
    chans: Mutex<HashMap<String, broadcast::Sender<Delivery>>>,
}

impl Hub {
    /// Live events of `job` from now on.
    pub fn subscribe(&self, job: &str) -> broadcast::Receiver<Delivery> {
        let mut chans = self.chans.lock().unwrap_or_else(|p| p.into_inner());
        chans.retain(|_, tx| tx.receiver_count() > 0);
        chans.entry(job.to_string()).or_insert_with(|| broadcast::channel(CAPACITY).0).subscribe()
    }

    /// Hands an event to this process's subscribers of `job`.
    pub fn deliver(&self, job: &str, event: Delivery) {
        let chans = self.chans.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = chans.get(job) {
            let _ = tx.send(event);
        }
    }

    /// Tells every subscriber that events may have been missed.
    pub fn deliver_gap_to_all(&self) {
        let chans = self.chans.lock().unwrap_or_else(|p| p.into_inner());
        for tx in chans.values() {
            let _ = tx.send(None);
        }
    }

    /// Publishes an event of `job` to every replica's subscribers.
    pub async fn publish(&self, store: &dyn Store, job: &str, event: &str) {
        if store.dialect() == "postgres" && event.len() + job.len() < MAX_NOTIFY {
            match store.notify(CHANNEL, &format!("{job} {event}")).await {
                Ok(()) => return,
                Err(e) => tracing::warn!(job, error = %e, "NOTIFY failed; delivering locally only"),
            }
        }
        self.deliver(job, Some(event.into()));
    }
}

/// On PostgreSQL, relays every replica's events to this process's subscribers.
pub fn spawn_listener(store: Arc<dyn Store>, hub: Arc<Hub>) {
    tokio::spawn(async move {
        use futures_util::StreamExt;
        loop {
            match store.listen(CHANNEL).await {
                Ok(None) => return,
                Ok(Some(mut s)) => {
                    while let Some(item) = s.next().await {
                        match item.as_deref().and_then(|p| p.split_once(' ')) {
                            Some((job, event)) => hub.deliver(job, Some(event.into())),
                            None => hub.deliver_gap_to_all(),
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot LISTEN for job events; retrying"),
            }
            hub.deliver_gap_to_all();
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        }
    });
}
