//! Fuzzing on the stable toolchain: every reader of bytes the server did not write itself
//! (STL and OBJ uploads, case specs in TOML and JSON, OpenFOAM results in ascii, binary and
//! decomposed form) runs mutated inputs for a bounded time, and must not panic, hang or
//! allocate without bound. The engine is in `fuzz/engine.rs`, the targets in
//! `fuzz/targets.rs`, the seeds in `fuzz/corpus/<target>/`.
//!
//! Each test first reruns every input in `fuzz/regressions/<target>/` (crashes found
//! before, now fixed) and every seed, then fuzzes for `FLOWCFD_FUZZ_SECS` seconds (default
//! 30; the tests run in parallel). Fuzz longer locally with, for example:
//!
//! ```text
//! FLOWCFD_FUZZ_SECS=600 cargo test --release --features bench --test fuzz -- --nocapture
//! ```
//!
//! `FLOWCFD_FUZZ_SEED` replays a run (the seed is printed); a crash's input is saved under
//! `FLOWCFD_FUZZ_OUT` (default `target/tmp/fuzz-crashes/<target>/`) for
//! `fuzz/regressions/<target>/`. `FLOWCFD_FUZZ_ONLY=part` reruns only the regressions whose
//! name contains `part`; `FLOWCFD_FUZZ_SHOW=N` prints each regression's and seed's outcome
//! and the first N new outcomes.
#[path = "fuzz/engine.rs"]
mod engine;
#[path = "fuzz/targets.rs"]
mod targets;

use engine::{fuzz, Target};

#[global_allocator]
static ALLOC: engine::Counting = engine::Counting;

#[test]
fn fuzz_stl_reader() {
    fuzz(&Target { name: "stl", dict: targets::STL_DICT, max_len: 16 << 10, run: targets::stl });
}

#[test]
fn fuzz_obj_reader() {
    fuzz(&Target { name: "obj", dict: targets::OBJ_DICT, max_len: 16 << 10, run: targets::obj });
}

#[test]
fn fuzz_case_spec_parser() {
    fuzz(&Target { name: "spec", dict: targets::SPEC_DICT, max_len: 8 << 10, run: targets::spec });
}

#[test]
fn fuzz_openfoam_results_reader() {
    fuzz(&Target { name: "foam", dict: targets::FOAM_DICT, max_len: 32 << 10, run: targets::foam });
}
