//! The step marker lines of a streamed run log (`flowcfd run --stream-log`): one line
//! `==> flowcfd step I/N NAME` before each step's own OpenFOAM output. The runner writes
//! them; the job queue's log follower (`jobs::follow`) reads them back.

/// The prefix of a step marker line.
pub const STEP_MARKER: &str = "==> flowcfd step ";

/// The marker line for step `index` (from 0) of `total`.
pub fn marker(index: usize, total: usize, name: &str) -> String {
    format!("{STEP_MARKER}{}/{total} {name}\n", index + 1)
}
