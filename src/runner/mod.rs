//! The in-process pipeline runner: what `flowcfd run` does on this machine. It finds
//! OpenFOAM, turns a geometry and a spec into a case (through `foam`), runs the case's
//! steps as child processes in their own process groups, and writes `summary.json`.
//!
//! It knows nothing of the job queue, the store or HTTP: the local executor (`jobs`)
//! starts `flowcfd run` as a process, the Slurm and Kubernetes executors run the same
//! command remotely, and the CLI calls it directly.
pub mod marker;
pub mod meshai_eval;
pub mod mpi;
pub mod openfoam;
pub mod outdir;
pub mod pipeline;
pub mod process;
pub mod steps;
pub mod usage;
pub mod yplus;
