//! The `flowcfd` command line, one module per verb. `main.rs` parses and dispatches; each
//! verb's module holds its arguments and what it does. Every verb returns `anyhow::Result`
//! (the library's errors are thiserror enums); `main` prints the error as one line,
//! `error: …`, that says what to fix.
#[cfg(feature = "server")]
pub mod admin;
pub mod case;
pub mod mesh_ai;
pub mod post;
pub mod progress;
#[cfg(feature = "server")]
pub mod remote;
#[cfg(feature = "server")]
pub mod report;
#[cfg(feature = "server")]
pub mod serve;
#[cfg(feature = "server")]
pub mod usage;
#[cfg(feature = "server")]
pub mod validate;

#[cfg(feature = "server")]
/// A multi-threaded tokio runtime for the verbs that talk to the store or serve.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime")
}
