//! Jobs: the durable queue's worker, the `Executor` seam with its three executors (local,
//! Slurm over SSH, Kubernetes), following a run's log, and the live events it produces.
//!
//! It knows nothing of HTTP: the worker gets a [`worker::WorkerCtx`] (store, blobs, event
//! bus, jobs configuration, executors), never the server's state.
pub mod events;
pub mod executor;
mod finish;
pub use finish::QUOTA_USED_UP;
pub mod follow;
pub mod kube;
pub mod resume;
pub mod slurm;
pub mod worker;
