//! Running simulations: OpenFOAM discovery, the local runner, the pipeline service, and
//! the `Executor` seam the job queue hands work to.
pub mod executor;
pub mod follow;
pub mod hub;
pub mod kube;
pub mod local;
pub mod openfoam;
pub mod pipeline;
pub mod progress;
pub mod slurm;
pub mod worker;
