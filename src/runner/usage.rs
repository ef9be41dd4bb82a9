//! What a run records of its own time: `out/usage.json`, written whenever `flowcfd run`
//! ends after claiming its output directory (a result, a failure, a cancellation by
//! SIGTERM, a graceful stop), so that metering counts the run's own start and end, by the
//! clock of the machine it ran on, not the time a worker handed it over.
//!
//! ```json
//! {"started_at": 1765000000000, "ended_at": 1765000042000, "cores": 2,
//!  "steps": [{"name": "preparing", ...}, {"name": "meshing", ...}, {"name": "solving", ...}]}
//! ```
//! Times are Unix milliseconds; `steps` are the phases that held the cores, in order.
use super::steps::Observer;
use crate::foam::case::Step;
use crate::foam::log::{LogEvent, SolverProgress};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The file's name in the output directory.
pub const USAGE_FILE: &str = "usage.json";

/// One phase of a run: `preparing` (reading and healing the geometry, writing the case),
/// `meshing` or `solving`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepTime {
    pub name: String,
    pub started_at: i64,
    pub ended_at: i64,
}

/// The run's own record of the time it held its cores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunUsage {
    pub started_at: i64,
    pub ended_at: i64,
    pub cores: u32,
    pub steps: Vec<StepTime>,
}

impl RunUsage {
    /// Cores × wall seconds.
    pub fn core_seconds(&self) -> f64 {
        self.cores as f64 * (self.ended_at - self.started_at).max(0) as f64 / 1000.0
    }
}

/// Now, as Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// The phase a step belongs to.
pub fn phase(step: &Step) -> &'static str {
    match step {
        Step::App { meshing: true, .. } => "meshing",
        _ => "solving",
    }
}

/// An observer that passes everything on and notes when each phase begins and ends.
pub struct Meter<'a> {
    inner: &'a mut dyn Observer,
    started_at: i64,
    cores: u32,
    steps: Vec<StepTime>,
}

impl<'a> Meter<'a> {
    /// A run that started at `started_at` (Unix ms) on `cores` cores; until its first step,
    /// it is `preparing`.
    pub fn new(inner: &'a mut dyn Observer, started_at: i64, cores: u32) -> Self {
        let steps = vec![StepTime { name: "preparing".into(), started_at, ended_at: started_at }];
        Meter { inner, started_at, cores: cores.max(1), steps }
    }

    fn enter(&mut self, name: &str, now: i64) {
        let last = self.steps.last_mut().expect("a phase is always open");
        last.ended_at = now;
        if last.name != name {
            self.steps.push(StepTime { name: name.into(), started_at: now, ended_at: now });
        }
    }

    /// The record, ending now.
    pub fn finish(mut self) -> RunUsage {
        let now = now_ms();
        if let Some(last) = self.steps.last_mut() {
            last.ended_at = now;
        }
        RunUsage { started_at: self.started_at, ended_at: now, cores: self.cores, steps: self.steps }
    }
}

impl Observer for Meter<'_> {
    fn step_started(&mut self, index: usize, total: usize, step: &Step) {
        self.enter(phase(step), now_ms());
        self.inner.step_started(index, total, step);
    }
    fn output(&mut self, step: &Step, bytes: &[u8]) {
        self.inner.output(step, bytes);
    }
    fn event(&mut self, step: &Step, event: &LogEvent, progress: &SolverProgress) {
        self.inner.event(step, event, progress);
    }
    fn step_finished(&mut self, step: &Step, seconds: f64) {
        self.inner.step_finished(step, seconds);
    }
    fn note(&mut self, text: &str) {
        self.inner.note(text);
    }
}

/// Writes `DIR/usage.json` atomically.
pub fn write(dir: &Path, u: &RunUsage) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join("usage.json.partial");
    std::fs::write(&tmp, serde_json::to_vec_pretty(u).map_err(std::io::Error::other)?)?;
    std::fs::rename(tmp, dir.join(USAGE_FILE))
}

/// Parses a `usage.json`; None when it is not one (a run killed before writing it leaves
/// none, and a record that ends before it starts is not believed).
pub fn parse(bytes: &[u8]) -> Option<RunUsage> {
    let u: RunUsage = serde_json::from_slice(bytes).ok()?;
    (u.ended_at >= u.started_at && u.started_at > 0 && u.cores > 0).then_some(u)
}

/// Reads `DIR/usage.json`.
pub fn read(dir: &Path) -> Option<RunUsage> {
    parse(&std::fs::read(dir.join(USAGE_FILE)).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::steps::Quiet;

    #[test]
    fn phases_follow_the_steps_and_close_at_the_end() {
        let mut q = Quiet;
        let mut m = Meter::new(&mut q, 1_000, 2);
        let app = |app, meshing| Step::App { app, args: vec![], parallel: false, meshing };
        m.enter("meshing", 2_000);
        m.enter("meshing", 2_500);
        m.enter("solving", 3_000);
        let u = m.finish();
        let names: Vec<&str> = u.steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["preparing", "meshing", "solving"]);
        assert_eq!((u.steps[0].ended_at, u.steps[1].started_at, u.steps[1].ended_at), (2_000, 2_000, 3_000));
        assert_eq!(u.steps[2].ended_at, u.ended_at);
        assert_eq!(u.cores, 2);
        assert_eq!(phase(&app("snappyHexMesh", true)), "meshing");
        assert_eq!(phase(&Step::Restore0), "solving");
    }

    #[test]
    fn parse_refuses_what_is_not_a_usage_record() {
        let good = br#"{"started_at": 1000, "ended_at": 4000, "cores": 2, "steps": []}"#;
        assert_eq!(parse(good).unwrap().core_seconds(), 6.0);
        assert!(parse(br#"{"started_at": 5000, "ended_at": 4000, "cores": 2, "steps": []}"#).is_none());
        assert!(parse(br#"{"started_at": 1000, "ended_at": 4000, "cores": 0, "steps": []}"#).is_none());
        assert!(parse(b"not json").is_none());
    }
}
