//! The appliance: state shared by every request, the router, and `flowcfd serve`.
use crate::auth::Keys;
use crate::blob::Blobs;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::store::Store;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderName, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};

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
    /// Live job events for WebSocket clients (see `jobs::hub`).
    pub hub: Arc<crate::jobs::hub::Hub>,
    /// Where jobs run: `local` and the configured clusters (SSH links are kept open).
    pub executors: Arc<crate::jobs::worker::Executors>,
    /// Healed surfaces of recent mesh suggestions (see `service::geometries::mesh_suggestion`).
    pub surfaces: Arc<SurfaceCache>,
    geometry_queue: mpsc::UnboundedSender<String>,
}

/// The last few healed surfaces the mesh wizard asked about, by stored original and scale:
/// the wizard re-suggests as the user moves the target slider, and parsing and healing a
/// large upload again each time took seconds. Originals never change once stored.
#[derive(Default)]
pub struct SurfaceCache(std::sync::Mutex<std::collections::VecDeque<(String, Arc<crate::geometry::Surface>)>>);

impl SurfaceCache {
    /// How many surfaces are kept (a 2M-triangle surface takes about 100 MB).
    pub const CAPACITY: usize = 4;

    pub fn get(&self, key: &str) -> Option<Arc<crate::geometry::Surface>> {
        let mut q = self.0.lock().expect("surface cache");
        let i = q.iter().position(|(k, _)| k == key)?;
        let hit = q.remove(i).expect("present");
        let s = hit.1.clone();
        q.push_front(hit);
        Some(s)
    }

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
    /// Queues a stored geometry for background processing.
    pub fn enqueue_geometry(&self, id: &str) {
        let _ = self.geometry_queue.send(id.to_string());
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
pub async fn state(cfg: Config) -> Result<(AppState, mpsc::UnboundedReceiver<String>), StartError> {
    let store = crate::store::open(&cfg.database_url()).await?;
    store.migrate().await?;
    let blobs = Blobs::from_config(&cfg)?;
    let keys = Keys::load(cfg.auth.secret.as_deref(), &cfg.data_dir)
        .map_err(|source| StartError::Secret { dir: cfg.data_dir.display().to_string(), source })?;
    let (tx, rx) = mpsc::unbounded_channel();
    let limiter = Arc::new(RateLimiter::new(cfg.limits.auth_per_minute));
    let executors = Arc::new(crate::jobs::worker::executors(&cfg, &keys, &blobs));
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
            hub: Arc::default(),
            executors,
            surfaces: Arc::default(),
            geometry_queue: tx,
        },
        rx,
    ))
}

/// Processes queued geometries one at a time, and resumes those left pending by a restart.
pub fn spawn_geometry_worker(st: AppState, mut rx: mpsc::UnboundedReceiver<String>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        match st.store.pending_geometries().await {
            Ok(list) => list.iter().for_each(|g| st.enqueue_geometry(&g.id)),
            Err(e) => tracing::error!(error = %e, "cannot list pending geometries"),
        }
        while let Some(id) = rx.recv().await {
            let t = Instant::now();
            match crate::service::geometries::process(&st, &id).await {
                Ok(()) => tracing::info!(geometry = %id, ms = t.elapsed().as_millis() as u64, "geometry processed"),
                Err(e) => tracing::error!(geometry = %id, error = %e, "geometry processing failed"),
            }
        }
    })
}

/// The whole HTTP surface: API, pages, static assets, health and metrics.
pub fn router(st: AppState) -> Router {
    let x_request_id = HeaderName::from_static("x-request-id");
    Router::new()
        .merge(crate::api::routes(&st))
        .merge(crate::pages::routes(crate::api::upload_limit(&st.cfg)))
        .merge(crate::web::routes())
        .merge(crate::metrics::routes())
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(st.clone(), observe))
        .layer(middleware::from_fn_with_state(st.clone(), security_headers))
        .layer(crate::api::cors(&st.cfg))
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
        .with_state(st)
}

/// Unknown paths: problem+json under `/api`, a page elsewhere.
async fn not_found(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        axum::response::IntoResponse::into_response(crate::error::AppError::NotFound("API route"))
    } else {
        crate::pages::not_found()
    }
}

/// Logs each request with its id and feeds the metrics.
async fn observe(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let route =
        req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string()).unwrap_or_else(|| "unmatched".into());
    let id = req.extensions().get::<RequestId>().and_then(|r| r.header_value().to_str().ok()).unwrap_or("").to_string();
    let span = tracing::info_span!("request", request_id = %id, method = %method, route = %route);
    let resp = tracing::Instrument::instrument(next.run(req), span).await;
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    let status = resp.status().as_u16();
    st.metrics.observe(method.as_str(), &route, status, ms);
    tracing::info!(request_id = %id, method = %method, route = %route, status, ms, "request");
    resp
}

/// CSP, no sniffing, no framing, HSTS under TLS.
async fn security_headers(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    // A response may bring its own, narrower-purpose policy (the OpenCASCADE worker).
    if h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        return resp;
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
             connect-src 'self'; worker-src 'self' blob:; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; \
             form-action 'self'",
        ),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("strict-origin-when-cross-origin"));
    if st.cfg.tls() {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    resp
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

/// Starts logging: JSON lines (default) or text.
pub fn init_logging(cfg: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&cfg.log.filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let b = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if cfg.log.format == "text" { b.try_init() } else { b.json().flatten_event(true).try_init() };
}

/// A running server: where it listens and how to stop it.
pub struct Running {
    pub addr: SocketAddr,
    pub state: AppState,
    shutdown: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), StartError>>,
}

impl Running {
    /// Stops accepting, drains in-flight requests, and waits.
    pub async fn stop(self) -> Result<(), StartError> {
        let _ = self.shutdown.send(());
        self.task.await.map_err(|e| StartError::Serve(std::io::Error::other(e)))?
    }
}

/// Binds and serves in the background (tests use port 0).
pub async fn start(cfg: Config) -> Result<Running, StartError> {
    let addr_s = cfg.bind.clone();
    let listener = tokio::net::TcpListener::bind(&addr_s)
        .await
        .map_err(|source| StartError::Bind { addr: addr_s.clone(), source })?;
    let addr = listener.local_addr().map_err(StartError::Serve)?;
    let (st, rx) = state(cfg).await?;
    spawn_geometry_worker(st.clone(), rx);
    crate::jobs::hub::spawn_listener(st.store.clone(), st.hub.clone());
    if st.cfg.jobs.slots > 0 {
        crate::jobs::worker::spawn(st.clone());
    }
    let app = router(st.clone());
    let (tx, stop) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move {
                let _ = stop.await;
            })
            .await
            .map_err(StartError::Serve)
    });
    Ok(Running { addr, state: st, shutdown: tx, task })
}

/// `flowcfd serve`: runs until SIGINT or SIGTERM, then drains.
pub async fn serve(cfg: Config) -> Result<(), StartError> {
    init_logging(&cfg);
    let shown = cfg.public_url.clone();
    let running = start(cfg).await?;
    let url = shown.unwrap_or_else(|| format!("http://{}", running.addr));
    println!(
        "FlowCFD is running at {url}  (database: {}, blobs: {})",
        running.state.store.dialect(),
        running.state.blobs.kind()
    );
    tracing::info!(addr = %running.addr, "listening");
    shutdown_signal().await;
    tracing::info!("shutting down: draining in-flight requests");
    running.stop().await
}

/// `flowcfd worker`: runs jobs from the shared database without serving HTTP. Several
/// workers (and servers) can share one PostgreSQL; their runs survive a worker restart.
pub async fn worker(cfg: Config) -> Result<(), StartError> {
    init_logging(&cfg);
    let slots = cfg.jobs.slots.max(1);
    let (st, _geometry_queue) = state(cfg).await?;
    let task = crate::jobs::worker::spawn(st.clone());
    println!("FlowCFD worker running {slots} job(s) at a time (database: {})", st.store.dialect());
    shutdown_signal().await;
    // Runs are detached: they go on, and the next worker re-attaches to them.
    task.abort();
    Ok(())
}

async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term => {},
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
