//! FlowCFD: CAD surface → healed geometry → OpenFOAM case → converged result.
//!
//! `geometry` and `foam` are pure libraries; `jobs` runs OpenFOAM; `bench` compares the
//! pipeline against OpenFOAM's own tutorial.
pub mod bench;
pub mod foam;
pub mod geometry;
pub mod jobs;
