//! OpenFOAM knowledge: typed dictionaries, case assembly, log parsing. No I/O except writing a case.
pub mod case;
pub mod dict;
pub mod flavour;
pub mod friction;
pub mod limits;
pub mod log;
pub mod mesh;
pub mod patches;
pub mod physics;
pub mod rules;
pub mod shedding;
pub mod spec;
pub mod transient;
pub mod turbulence;
pub mod twod;
