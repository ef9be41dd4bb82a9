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

#[cfg(feature = "server")]
pub mod api;
#[cfg(feature = "server")]
pub mod auth;
#[cfg(feature = "server")]
pub mod billing;
#[cfg(feature = "server")]
pub mod blob;
#[cfg(feature = "server")]
pub mod config;
#[cfg(feature = "server")]
pub mod error;
pub mod foam;
pub mod geometry;
#[cfg(feature = "server")]
pub mod http;
#[cfg(feature = "server")]
pub mod jobs;
pub mod meshai;
#[cfg(feature = "server")]
pub mod metrics;
#[cfg(feature = "server")]
pub mod pages;
#[cfg(feature = "server")]
pub mod pg_listen;
pub mod post;
#[cfg(feature = "server")]
pub mod report;
pub mod runner;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "server")]
pub mod service;
#[cfg(feature = "server")]
pub mod state;
#[cfg(feature = "server")]
pub mod store;
#[cfg(feature = "server")]
pub mod web;
