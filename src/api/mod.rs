//! The JSON API under `/api`: thin handlers that parse, call a service function, and
//! answer JSON or problem+json.
use crate::http::upload_limit;
use crate::state::AppState;
use axum::extract::DefaultBodyLimit;
use axum::Router;

mod account;
mod admin;
mod auth;
mod billing;
mod cases;
mod geometries;
mod health;
mod jobs;
mod openapi;
mod orgs;
mod plans;
mod post;
mod projects;
mod report;
mod usage;
mod validation;
mod webhooks;
mod ws;

/// Every API route, plus health checks.
pub fn routes(st: &AppState) -> Router<AppState> {
    let upload_limit = upload_limit(&st.cfg);
    Router::new()
        .merge(auth::routes())
        .merge(account::routes())
        .merge(webhooks::routes())
        .merge(projects::routes())
        .merge(cases::routes())
        .merge(jobs::routes())
        .merge(post::routes())
        .merge(orgs::routes())
        .merge(report::routes())
        .merge(admin::routes())
        .merge(plans::routes())
        .merge(usage::routes())
        .merge(billing::routes())
        .merge(validation::routes())
        .merge(openapi::routes())
        .layer(DefaultBodyLimit::max(st.cfg.limits.max_body_bytes))
        .merge(geometries::routes(upload_limit, st.cfg.limits.max_body_bytes))
        .merge(health::routes())
}
