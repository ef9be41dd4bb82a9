//! FlowCFD: CAD surface → healed geometry → OpenFOAM case → converged result.
//!
//! `geometry` and `foam` are pure libraries; `jobs` runs OpenFOAM; `bench` compares the
//! pipeline against OpenFOAM's own tutorial. The appliance (`flowcfd serve`) is `app`,
//! with `config`, `store`, `blob`, `auth`, `service` (what requests do), and the thin
//! HTTP layers `api` and `pages`.
// The OpenAPI document is one `json!` literal; it needs more macro depth than the default.
#![recursion_limit = "512"]

pub mod api;
pub mod app;
pub mod auth;
pub mod bench;
pub mod blob;
pub mod config;
pub mod error;
pub mod foam;
pub mod geometry;
pub mod jobs;
pub mod meshai;
pub mod metrics;
pub mod pages;
pub mod post;
pub mod service;
pub mod store;
pub mod web;
