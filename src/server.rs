//! The HTTP server on top of `state`: the router (API, pages, assets, health, metrics),
//! the middleware every request passes, and the long-running commands `flowcfd serve` and
//! `flowcfd worker`.
use crate::config::Config;
use crate::state::{AppState, StartError};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderName, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::net::SocketAddr;
use std::time::Instant;
use tokio::sync::mpsc;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};

/// Processes queued geometries, `limits.geometry_workers` at once, taking users in turn
/// with at most `limits.geometry_per_user` of each in flight (see `state::fair`), resumes
/// those left pending by a restart, and regularly takes over those whose worker died (its
/// lease ran out).
pub fn spawn_geometry_worker(
    st: AppState,
    mut rx: mpsc::UnboundedReceiver<crate::state::QueuedGeometry>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        match st.store.pending_geometries().await {
            // The uploader is not stored; the project stands for them after a restart.
            Ok(list) => list.iter().for_each(|g| st.enqueue_geometry(&g.project_id, &g.id)),
            Err(e) => tracing::error!(error = %e, "cannot list pending geometries"),
        }
        let lease_ms = crate::service::geometries::lease_ms(&st);
        let mut sweep = tokio::time::interval(std::time::Duration::from_millis((lease_ms / 2) as u64));
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let workers = st.cfg.limits.geometry_workers.max(1);
        let mut queue = crate::state::fair::FairQueue::new(st.cfg.limits.geometry_per_user);
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<String>();
        let (mut running, mut open) = (0usize, true);
        loop {
            while running < workers {
                let Some((owner, id)) = queue.pop() else { break };
                running += 1;
                let (st, done) = (st.clone(), done_tx.clone());
                tokio::spawn(async move {
                    // Reports the end even if processing panics, so the slot is not lost.
                    let _done = Finished(done, owner);
                    let t = Instant::now();
                    match crate::service::geometries::process(&st, &id).await {
                        Ok(()) => {
                            tracing::info!(geometry = %id, ms = t.elapsed().as_millis() as u64, "geometry processed")
                        }
                        Err(e) => tracing::error!(geometry = %id, error = %e, "geometry processing failed"),
                    }
                });
            }
            if !open && running == 0 {
                break;
            }
            tokio::select! {
                q = rx.recv(), if open => match q {
                    Some(q) => queue.push(&q.owner, &q.id),
                    None => open = false,
                },
                _ = sweep.tick(), if open => {
                    // Orphans: a dead worker's, or pending ones nobody was told about
                    // (queued on a replica that died). Claiming decides who takes each;
                    // the project stands for the uploader, as after a restart.
                    match st.store.orphaned_geometries(lease_ms).await {
                        Ok(list) => list.iter().for_each(|(project, id)| queue.push(project, id)),
                        Err(e) => tracing::warn!(error = %e, "cannot list orphaned geometries"),
                    }
                }
                Some(owner) = done_rx.recv() => {
                    running -= 1;
                    queue.done(&owner);
                }
            }
        }
    })
}

/// Tells the geometry dispatcher that one of its owner's geometries is finished, when dropped.
struct Finished(mpsc::UnboundedSender<String>, String);

impl Drop for Finished {
    fn drop(&mut self) {
        let _ = self.0.send(std::mem::take(&mut self.1));
    }
}

/// The whole HTTP surface: API, pages, static assets, health and metrics.
pub fn router(st: AppState) -> Router {
    let x_request_id = HeaderName::from_static("x-request-id");
    Router::new()
        .merge(crate::api::routes(&st))
        .merge(crate::pages::routes(crate::http::upload_limit(&st.cfg)))
        .merge(crate::web::routes())
        .route("/metrics", axum::routing::get(metrics))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(st.clone(), observe))
        .layer(middleware::from_fn_with_state(st.clone(), security_headers))
        .layer(crate::http::cors(&st.cfg))
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
        .with_state(st)
}

/// Unknown paths: problem+json under `/api`, a page elsewhere.
async fn not_found(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        crate::error::AppError::NotFound("API route").into_response()
    } else {
        crate::pages::not_found()
    }
}

/// `GET /metrics`: Prometheus text, requests by route and jobs by state.
async fn metrics(State(st): State<AppState>) -> impl IntoResponse {
    let jobs = st.store.job_counts().await.unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], st.metrics.render(&jobs))
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
    let (st, rx) = crate::state::open(cfg).await?;
    spawn_geometry_worker(st.clone(), rx);
    if st.cfg.jobs.slots > 0 {
        crate::jobs::worker::spawn(st.worker_ctx());
    }
    crate::service::billing_report::spawn(st.clone());
    crate::service::mail::spawn(st.clone());
    crate::service::notify::spawn(st.clone());
    crate::service::webhooks::spawn(st.clone());
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
    let stop = shutdown_signal();
    let url = shown.unwrap_or_else(|| format!("http://{}", running.addr));
    println!(
        "FlowCFD is running at {url}  (database: {}, blobs: {})",
        running.state.store.dialect(),
        running.state.blobs.kind()
    );
    tracing::info!(addr = %running.addr, "listening");
    stop.await;
    tracing::info!("shutting down: draining in-flight requests");
    running.stop().await
}

/// `flowcfd worker`: runs jobs from the shared database without serving HTTP. Several
/// workers (and servers) can share one PostgreSQL; their runs survive a worker restart.
pub async fn worker(cfg: Config) -> Result<(), StartError> {
    init_logging(&cfg);
    let slots = cfg.jobs.slots.max(1);
    let (st, _geometry_queue) = crate::state::open(cfg).await?;
    let task = crate::jobs::worker::spawn(st.worker_ctx());
    let stop = shutdown_signal();
    println!("FlowCFD worker running {slots} job(s) at a time (database: {})", st.store.dialect());
    stop.await;
    // Runs are detached: they go on, and the next worker re-attaches to them.
    task.abort();
    Ok(())
}

/// SIGTERM or SIGINT. The handlers are installed when this is called, not when the future
/// is first polled: a signal sent as soon as the server has said it is running must reach
/// them, not the default action (which kills the process without draining).
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let (term, int) = (signal(SignalKind::terminate()).ok(), signal(SignalKind::interrupt()).ok());
    async move {
        let wait = |s: Option<tokio::signal::unix::Signal>| async move {
            match s {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = wait(term) => {},
            _ = wait(int) => {},
        }
    }
}
