//! The JSON API under `/api`: thin handlers that parse, call a service function, and
//! answer JSON or problem+json.
use crate::app::AppState;
use crate::config::Config;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Method};
use axum::Router;
use tower_http::cors::{AllowOrigin, CorsLayer};

mod admin;
mod auth;
mod cases;
pub mod extract;
mod geometries;

// HTTP helpers the pages share with the API.
pub use auth::limit as auth_limit;
pub use geometries::{multipart_error as geometries_multipart_error, upload_multipart};
mod health;
mod jobs;
mod openapi;
mod orgs;
mod post;
mod projects;
mod ws;

/// Every API route, plus health checks.
pub fn routes(st: &AppState) -> Router<AppState> {
    let upload_limit = upload_limit(&st.cfg);
    Router::new()
        .merge(auth::routes())
        .merge(projects::routes())
        .merge(cases::routes())
        .merge(jobs::routes())
        .merge(post::routes())
        .merge(orgs::routes())
        .merge(admin::routes())
        .merge(openapi::routes())
        .layer(DefaultBodyLimit::max(st.cfg.limits.max_body_bytes))
        .merge(geometries::routes(upload_limit, st.cfg.limits.max_body_bytes))
        .merge(health::routes())
}

/// The request-body limit for uploads: the file limit plus room for the form around it.
pub fn upload_limit(cfg: &Config) -> usize {
    usize::try_from(cfg.limits.max_upload_bytes).unwrap_or(usize::MAX).saturating_add(64 << 10)
}

/// CORS for the API from the configured origins (none by default).
pub fn cors(cfg: &Config) -> CorsLayer {
    let origins: Vec<HeaderValue> = cfg.cors.allowed_origins.iter().filter_map(|o| o.parse().ok()).collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allow_headers([axum::http::header::AUTHORIZATION, axum::http::header::CONTENT_TYPE])
        .max_age(std::time::Duration::from_secs(600))
}
