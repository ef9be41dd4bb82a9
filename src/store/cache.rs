//! A per-replica cache of project listings (the dashboard's most frequent read), safe
//! across replicas.
//!
//! Every write that can change anyone's listing (projects created, renamed, touched or
//! deleted; org membership) bumps an epoch after it commits, and on PostgreSQL also sends
//! a NOTIFY that makes every other replica bump its own. A cached listing is used only if
//! it was read under the current epoch, so a reader racing a write never keeps the old
//! result. A replica whose LISTEN connection drops bumps its epoch when it reconnects
//! (notifications may have been missed), and no entry outlives `TTL` in any case. Another
//! replica may serve the old listing between a commit and its NOTIFY arriving
//! (milliseconds).
use super::Project;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The NOTIFY channel of listing invalidations.
pub const CHANNEL: &str = "flowcfd_listings";
/// The longest a cached listing is trusted.
pub const TTL: Duration = Duration::from_secs(5);
/// Entries kept at most (the least recently filled go first).
const MAX_ENTRIES: usize = 10_000;

/// Project listings by user, valid until a write here or on another replica bumps the
/// epoch (or the TTL passes).
#[derive(Default)]
pub struct ListingCache {
    epoch: AtomicU64,
    map: Mutex<HashMap<String, (u64, Instant, Vec<Project>)>>,
}

impl ListingCache {
    /// The epoch to read under (take it before reading the database).
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Something changed: every cached listing is stale.
    pub fn bump(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// The user's listing, if it was cached under the current epoch within `TTL`.
    pub fn get(&self, user: &str) -> Option<Vec<Project>> {
        let now = self.epoch();
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(user).filter(|(e, at, _)| *e == now && at.elapsed() < TTL).map(|(_, _, v)| v.clone())
    }

    /// Keeps a listing read under `epoch`.
    pub fn put(&self, user: &str, epoch: u64, v: &[Project]) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_ENTRIES {
            let now = self.epoch();
            map.retain(|_, (e, at, _)| *e == now && at.elapsed() < TTL);
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        map.insert(user.to_string(), (epoch, Instant::now(), v.to_vec()));
    }
}
