//! FlowCFD: CAD surface → healed geometry → OpenFOAM case → converged result.
//!
//! `geometry`, `foam`, `meshai` and `post` are pure libraries; `runner` runs a case on this
//! machine; `jobs` queues runs and hands them to executors. The appliance (`flowcfd
//! serve`) is `state` (shared handles) and `server` (the router), with `config`, `store`,
//! `blob`, `auth`, `service` (what requests do), the shared HTTP plumbing `http`, and the
//! thin HTTP layers `api` and `pages`. See ARCHITECTURE.md.
//!
//! The appliance and the reports need the `server` feature (on by default); without it the
//! crate is the runner's: `geometry`, `foam`, `meshai`, `post` and `runner`.
// The OpenAPI document is one `json!` literal; it needs more macro depth than the default.
#![recursion_limit = "512"]

/// The appliance's rooms, built with the `server` feature only.
macro_rules! server_modules {
    ($($name:ident),* $(,)?) => { $( #[cfg(feature = "server")] pub mod $name; )* };
}

pub mod foam;
pub mod geometry;
pub mod meshai;
pub mod post;
pub mod runner;
server_modules!(
    api, auth, billing, blob, config, error, http, jobs, metrics, pages, pg_listen, report, server, service, state,
    store, validate, web,
);
