//! Running simulations: OpenFOAM discovery, the local runner, the pipeline service.
pub mod local;
pub mod openfoam;
pub mod pipeline;
pub mod progress;
