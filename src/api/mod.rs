//! The JSON API under `/api`: thin handlers that parse, call a service function, and
//! answer JSON or problem+json.
//!
//! Every route is documented where it is routed: a handler carries `#[utoipa::path]` and
//! its module's `routes()` lists it with `routes!(handler)`, so a route cannot be added
//! without its entry in the OpenAPI document (`openapi`). `tests/openapi.rs` walks the
//! router against the document.
use crate::http::upload_limit;
use crate::state::AppState;
use axum::extract::DefaultBodyLimit;
use axum::Router;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

mod account;
mod admin;
mod auth;
mod billing;
mod cases;
mod docs;
mod geometries;
mod health;
mod jobs;
mod openapi;
mod orgs;
mod plans;
mod post;
mod problem;
mod projects;
mod report;
mod usage;
mod validation;
mod webhooks;
mod ws;

/// Every API route with its documentation, plus health checks.
fn router(upload_limit: usize, body_limit: usize) -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(auth::routes())
        .merge(account::routes())
        .merge(webhooks::routes())
        .merge(projects::routes())
        .merge(cases::routes())
        .merge(jobs::routes())
        .merge(ws::routes())
        .merge(post::routes())
        .merge(orgs::routes())
        .merge(report::routes())
        .merge(admin::routes())
        .merge(plans::routes())
        .merge(usage::routes())
        .merge(billing::routes())
        .merge(validation::routes())
        .merge(openapi::routes())
        .merge(docs::routes())
        .layer(DefaultBodyLimit::max(body_limit))
        .merge(geometries::routes(upload_limit, body_limit))
        .merge(health::routes())
}

/// Every API route, plus health checks. Errors that axum itself answers (a query string
/// or path that does not parse, a method the path does not have) become problem+json too.
pub fn routes(st: &AppState) -> Router<AppState> {
    let (routes, _) = router(upload_limit(&st.cfg), st.cfg.limits.max_body_bytes).split_for_parts();
    routes.layer(axum::middleware::from_fn(problem::as_problem))
}

/// The OpenAPI document of every route (served at `GET /api/openapi.json`).
pub fn document() -> utoipa::openapi::OpenApi {
    openapi::finish(router(0, 0).into_openapi())
}
