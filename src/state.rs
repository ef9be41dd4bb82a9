//! The appliance's shared state: the handles every request and background task reaches
//! (configuration, store, event bus, blobs, keys, caches, executors). It knows nothing of
//! HTTP routes or services; `server` builds the router on top of it, and the job worker
//! takes a narrow `jobs::worker::WorkerCtx` cut from it.
use crate::auth::Keys;
use crate::blob::Blobs;
use crate::config::Config;
use crate::jobs::events::{EventBus, LocalBus, PgBus};
use crate::jobs::worker::{Executors, WorkerCtx};
use crate::metrics::Metrics;
use crate::store::Store;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

pub mod fair;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub cfg: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub blobs: Blobs,
    pub keys: Keys,
    pub metrics: Arc<Metrics>,
    pub limiter: Arc<RateLimiter>,
    /// Bounds concurrent password hashing (argon2id takes ~19 MiB and tens of ms each): a
    /// burst of sign-ins queues here instead of exhausting memory and every core.
    pub hashing: Arc<tokio::sync::Semaphore>,
    /// Users behind bearer tokens, for a moment (see `service::accounts::bearer`).
    pub user_cache: Arc<UserCache>,
    /// Live job events, from the worker to WebSocket clients (see `jobs::events`).
    pub events: Arc<dyn EventBus>,
    /// Where jobs run: `local` and the configured clusters (SSH links are kept open).
    pub executors: Arc<Executors>,
    /// Healed surfaces of recent mesh suggestions (see `service::geometries::mesh_suggestion`).
    pub surfaces: Arc<SurfaceCache>,
    /// Mesh suggestions running per user (`limits.mesh_suggestions_per_user`).
    pub suggestions: Arc<fair::PerUserLimit>,
    geometry_queue: mpsc::UnboundedSender<QueuedGeometry>,
}

/// A geometry waiting for processing, with the user whose share of the workers it uses.
#[derive(Debug, Clone)]
pub struct QueuedGeometry {
    /// Who queued it (the uploader; the project after a restart).
    pub owner: String,
    /// The geometry.
    pub id: String,
}

/// The last few healed surfaces the mesh wizard asked about, by geometry and case scale:
/// the wizard re-suggests as the user moves the target slider, and even decoding the stored
/// healed surface (`service::healed`) of a large upload takes a while. Geometries never
/// change once processed.
#[derive(Default)]
pub struct SurfaceCache(std::sync::Mutex<std::collections::VecDeque<(String, Arc<crate::geometry::Surface>)>>);

impl SurfaceCache {
    /// How many surfaces are kept (a 2M-triangle surface takes about 100 MB).
    pub const CAPACITY: usize = 4;

    /// The surface stored under `key`, now the most recently used.
    pub fn get(&self, key: &str) -> Option<Arc<crate::geometry::Surface>> {
        let mut q = self.0.lock().expect("surface cache");
        let i = q.iter().position(|(k, _)| k == key)?;
        let hit = q.remove(i).expect("present");
        let s = hit.1.clone();
        q.push_front(hit);
        Some(s)
    }

    /// Keeps `s` under `key`, forgetting the least recently used beyond the capacity.
    pub fn put(&self, key: String, s: Arc<crate::geometry::Surface>) {
        let mut q = self.0.lock().expect("surface cache");
        q.retain(|(k, _)| *k != key);
        q.push_front((key, s));
        q.truncate(Self::CAPACITY);
    }
}

/// A short-lived cache of users by id, so that a token-authenticated request does not read
/// the user row every time. Changes made through this process invalidate it at once; other
/// replicas see them within `USER_CACHE_TTL`.
#[derive(Default)]
pub struct UserCache(std::sync::Mutex<std::collections::HashMap<String, (Instant, crate::store::User)>>);

/// How long a cached user is trusted.
pub const USER_CACHE_TTL: Duration = Duration::from_secs(2);

impl UserCache {
    /// The cached user, if fresh.
    pub fn get(&self, id: &str) -> Option<crate::store::User> {
        let m = self.0.lock().expect("user cache");
        m.get(id).filter(|(t, _)| t.elapsed() < USER_CACHE_TTL).map(|(_, u)| u.clone())
    }
    /// Remembers a user.
    pub fn put(&self, u: &crate::store::User) {
        let mut m = self.0.lock().expect("user cache");
        if m.len() > 100_000 {
            m.retain(|_, (t, _)| t.elapsed() < USER_CACHE_TTL);
        }
        m.insert(u.id.clone(), (Instant::now(), u.clone()));
    }
    /// Forgets a user whose account changed.
    pub fn forget(&self, id: &str) {
        self.0.lock().expect("user cache").remove(id);
    }
}

impl AppState {
    /// Queues a stored geometry for background processing, in `owner`'s fair share of the
    /// geometry workers (see [`fair::FairQueue`]).
    pub fn enqueue_geometry(&self, owner: &str, id: &str) {
        let _ = self.geometry_queue.send(QueuedGeometry { owner: owner.to_string(), id: id.to_string() });
    }
}

impl AppState {
    /// The narrow view the job worker gets: no HTTP, no services, no caches.
    pub fn worker_ctx(&self) -> WorkerCtx {
        WorkerCtx {
            store: self.store.clone(),
            blobs: self.blobs.clone(),
            events: self.events.clone(),
            jobs: self.cfg.jobs.clone(),
            data_dir: self.cfg.data_dir.clone(),
            executors: self.executors.clone(),
            billing: self.cfg.billing(),
        }
    }
}

/// The event bus that goes with the database: LISTEN/NOTIFY between the replicas sharing a
/// PostgreSQL, one process's channels with SQLite (one process owns the file).
async fn event_bus(database_url: &str) -> Result<Arc<dyn EventBus>, StartError> {
    if crate::store::is_postgres(database_url) {
        let bus = PgBus::connect(database_url).await.map_err(|e| {
            crate::store::StoreError::Unavailable(format!("{}: {e}", crate::config::mask_url(database_url)))
        })?;
        Ok(Arc::new(bus))
    } else {
        Ok(Arc::new(LocalBus::default()))
    }
}

/// Start-up failures, each saying what to fix.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("database: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("{0}")]
    Blob(#[from] crate::blob::BlobError),
    #[error("server secret in {dir}: {source}")]
    Secret { dir: String, source: std::io::Error },
    #[error("cannot listen on {addr}: {source} (is another server using the port? choose one with --bind)")]
    Bind { addr: String, source: std::io::Error },
    #[error("server: {0}")]
    Serve(std::io::Error),
}

/// Opens the store (running migrations), the blob store and the keys.
pub async fn open(cfg: Config) -> Result<(AppState, mpsc::UnboundedReceiver<QueuedGeometry>), StartError> {
    let url = cfg.database_url();
    let pool = crate::store::PoolOptions {
        size: Some(cfg.database.pool_size),
        acquire_timeout: Some(std::time::Duration::from_millis(cfg.database.acquire_timeout_ms.max(1))),
    };
    let store = crate::store::open_with(&url, pool).await?;
    store.migrate().await?;
    let events = event_bus(&url).await?;
    let blobs = Blobs::from_config(&cfg)?;
    let keys = Keys::load(cfg.auth.secret.as_deref(), &cfg.data_dir)
        .map_err(|source| StartError::Secret { dir: cfg.data_dir.display().to_string(), source })?;
    let (tx, rx) = mpsc::unbounded_channel();
    let limiter = Arc::new(RateLimiter::new(cfg.limits.auth_per_minute));
    let executors = Arc::new(crate::jobs::worker::executors(&cfg, &keys, &blobs));
    let suggestions = Arc::new(fair::PerUserLimit::new(cfg.limits.mesh_suggestions_per_user));
    Ok((
        AppState {
            cfg: Arc::new(cfg),
            store,
            blobs,
            keys,
            metrics: Arc::new(Metrics::default()),
            limiter,
            hashing: Arc::new(tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))),
            user_cache: Arc::default(),
            events,
            executors,
            surfaces: Arc::default(),
            suggestions,
            geometry_queue: tx,
        },
        rx,
    ))
}

/// A fixed-window counter per client address, for sign-in and registration.
pub struct RateLimiter {
    per_minute: u32,
    windows: std::sync::Mutex<std::collections::HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    /// Allows `per_minute` attempts per key per minute.
    pub fn new(per_minute: u32) -> RateLimiter {
        RateLimiter { per_minute, windows: Default::default() }
    }

    /// Counts an attempt; `Err(seconds)` when the key must wait.
    pub fn check(&self, key: &str) -> Result<(), u64> {
        let now = Instant::now();
        let mut w = self.windows.lock().expect("limiter lock");
        if w.len() > 10_000 {
            w.retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(60));
        }
        let e = w.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(e.0) >= Duration::from_secs(60) {
            *e = (now, 0);
        }
        e.1 += 1;
        if e.1 > self.per_minute {
            Err(60u64.saturating_sub(now.duration_since(e.0).as_secs()).max(1))
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod surface_cache_tests {
    use super::SurfaceCache;
    use std::sync::Arc;

    #[test]
    fn keeps_the_most_recently_used_few() {
        let c = SurfaceCache::default();
        let s = |n: usize| Arc::new(crate::geometry::Surface { points: vec![[n as f64; 3]], ..Default::default() });
        for i in 0..SurfaceCache::CAPACITY {
            c.put(format!("k{i}"), s(i));
        }
        // Using k0 makes k1 the oldest; one more evicts k1, not k0.
        assert_eq!(c.get("k0").unwrap().points[0][0], 0.0);
        c.put("new".into(), s(99));
        assert!(c.get("k1").is_none());
        assert!(c.get("k0").is_some() && c.get("new").is_some());
        // Putting a key again replaces it rather than keeping two.
        c.put("k0".into(), s(7));
        assert_eq!(c.get("k0").unwrap().points[0][0], 7.0);
        assert_eq!(c.0.lock().unwrap().len(), SurfaceCache::CAPACITY);
    }
}
