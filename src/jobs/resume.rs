//! Restarting a killed transient run on the local executor: a `flowcfd run` found dead
//! with neither `summary.json` nor `failure.json` (killed: a crash, the OOM killer, a
//! reboot), whose case is transient and has a time written past 0, is started again with
//! `--resume`, a bounded number of times. The record of the restarts (how many, the pid
//! of the latest, the time each resumed from) is `resumes.json` in the job's directory.
use crate::foam::spec::{CaseSpec, SolverKind};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The file in the job's directory that records the restarts.
pub const RESUMES_FILE: &str = "resumes.json";
/// How many times one job's run is resumed before a kill counts as a failure.
pub const MAX_RESUMES: u32 = 3;

/// `resumes.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Resumes {
    /// Restarts so far.
    pub count: u32,
    /// The pid of the latest restarted `flowcfd run` (its session id too).
    pub pid: i32,
    /// The simulated time each restart continued from, s.
    pub from_times: Vec<f64>,
}

/// The record in `dir`, if any.
pub fn read(dir: &Path) -> Option<Resumes> {
    serde_json::from_slice(&std::fs::read(dir.join(RESUMES_FILE)).ok()?).ok()
}

/// Writes the record (aside, then renamed).
pub fn write(dir: &Path, r: &Resumes) -> std::io::Result<()> {
    let tmp = dir.join(format!("{RESUMES_FILE}.part"));
    std::fs::write(&tmp, serde_json::to_vec_pretty(r).unwrap_or_default())?;
    std::fs::rename(tmp, dir.join(RESUMES_FILE))
}

fn is_transient(dir: &Path) -> bool {
    let (json, toml) = (dir.join("case.json"), dir.join("case.toml"));
    let spec = match std::fs::read_to_string(&json) {
        Ok(t) => CaseSpec::from_json(&t).ok(),
        Err(_) => std::fs::read_to_string(&toml).ok().and_then(|t| CaseSpec::from_toml(&t, "case.toml").ok()),
    };
    spec.is_some_and(|s| s.solver.kind == SolverKind::Transient)
}

/// The time to resume the dead run in job directory `dir` from, when it should be: no
/// result, no failure, not cancelled (`cancelled`), a transient case with a time written
/// past 0, and fewer than [`MAX_RESUMES`] restarts so far.
pub fn resumable(dir: &Path, cancelled: &Path) -> Option<f64> {
    let out = dir.join("out");
    if cancelled.exists() || out.join("summary.json").exists() || out.join("failure.json").exists() {
        return None;
    }
    if read(dir).is_some_and(|r| r.count >= MAX_RESUMES) || !is_transient(dir) {
        return None;
    }
    crate::foam::transient::latest_time(&out.join(".partial/case")).map(|(t, _)| t)
}
