//! FlowCFD: CAD surface → healed geometry → OpenFOAM case → converged result.
//!
//! `geometry`, `foam`, `meshai` and `post` are pure libraries; `runner` runs a case on this
//! machine; `jobs` queues runs and hands them to executors. The appliance (`flowcfd
//! serve`) is `state` (shared handles) and `server` (the router), with `config`, `store`,
//! `blob`, `auth`, `service` (what requests do), the shared HTTP plumbing `http`, and the
//! thin HTTP layers `api` and `pages`. See ARCHITECTURE.md.
// The OpenAPI document is one `json!` literal; it needs more macro depth than the default.
#![recursion_limit = "512"]

pub mod api;
pub mod auth;
pub mod billing;
pub mod blob;
pub mod config;
pub mod error;
pub mod foam;
pub mod geometry;
pub mod http;
pub mod jobs;
pub mod meshai;
pub mod metrics;
pub mod pages;
pub mod pg_listen;
pub mod post;
pub mod report;
pub mod runner;
pub mod server;
pub mod service;
pub mod state;
pub mod store;
pub mod web;
