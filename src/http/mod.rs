//! HTTP plumbing shared by the JSON API (`api`) and the server-rendered pages (`pages`):
//! request extractors, the client address, rate limits, request-size limits, CORS and
//! multipart uploads. Neither `api` nor `pages` imports the other; both import this.
use crate::config::Config;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use axum::http::{HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

pub mod extract;
pub mod upload;

/// Counts an attempt against the per-address limit.
pub fn auth_limit(st: &AppState, ip: Option<&str>, what: &str) -> AppResult<()> {
    let key = format!("{what}:{}", ip.unwrap_or_default());
    st.limiter.check(&key).map_err(AppError::RateLimited)
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
