//! Turns an executor's log, read in chunks by byte offset, into job progress: the step the
//! run is in, one residual/force sample per solver iteration, and live events.
//!
//! Every executor's log has the same shape: a marker line `==> flowcfd step I/N NAME`
//! before each step (written by `flowcfd run --stream-log`, or by the Slurm batch script),
//! then the step's own OpenFOAM output.
//!
//! Restart safety: [`Follower::safe_offset`] is a line boundary from which parsing can start
//! again with nothing but the step name: the start of the current iteration's `Time =` line
//! in a solver step, the end of the last complete line elsewhere. The worker stores it in
//! the same transaction as the completed samples, so a worker that takes the job over
//! re-reads from there and the history has neither gaps nor duplicates.
use super::events::JobEvent;
use crate::foam::log::{ForceCoeffSample, LogEvent, LogParser};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use crate::runner::marker::{marker, STEP_MARKER};

/// Steps whose `Time =` lines are solver iterations.
pub fn is_solver(step: &str) -> bool {
    crate::foam::case::is_solver_step(step)
}

/// One solver iteration: the initial residual of each field's first solve, and the force
/// coefficients written in it.
///
/// For a transient run (pimpleFoam, or foamRun printing `deltaT =` or fractional times) a
/// sample is a time step: `time` is the simulated time, `dt` the step that reached it, and
/// the key `iteration` is the simulated time in microseconds, which needs no counter a
/// resumed follower (or a resumed run) would have to recover, and still orders the samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub iteration: u64,
    pub residuals: BTreeMap<String, f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forces: Option<Forces>,
    /// Transient runs: the simulated time, s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<f64>,
    /// Transient runs: the time step, s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dt: Option<f64>,
}

/// The sample key of a transient time step: the simulated time in microseconds.
pub fn transient_key(time: f64) -> u64 {
    (time * 1e6).round().max(0.0) as u64
}

/// The force coefficients kept per iteration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Forces {
    #[serde(rename = "Cd", default, skip_serializing_if = "Option::is_none")]
    pub cd: Option<f64>,
    #[serde(rename = "Cl", default, skip_serializing_if = "Option::is_none")]
    pub cl: Option<f64>,
    #[serde(rename = "Cs", default, skip_serializing_if = "Option::is_none")]
    pub cs: Option<f64>,
    #[serde(rename = "CmPitch", default, skip_serializing_if = "Option::is_none")]
    pub cm_pitch: Option<f64>,
}

impl From<&ForceCoeffSample> for Forces {
    fn from(s: &ForceCoeffSample) -> Self {
        Forces { cd: s.cd, cl: s.cl, cs: s.cs, cm_pitch: s.cm_pitch }
    }
}

/// The most log text one `log` event carries: a NOTIFY payload holds under 8000 bytes, and
/// JSON escapes can nearly double a log line. A burst longer than this loses its start; the
/// page shows a tail, and the whole log stays downloadable.
pub const LOG_EVENT_MAX: usize = 3500;
/// How often new log text is published while a run goes on.
const LOG_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// Log text read but not yet published, with its byte offset in the log.
#[derive(Debug)]
struct LogTail {
    start: u64,
    bytes: Vec<u8>,
    last: std::time::Instant,
}

impl LogTail {
    fn push(&mut self, at: u64, bytes: &[u8]) {
        if self.bytes.is_empty() {
            self.start = at;
        }
        self.bytes.extend_from_slice(bytes);
        if self.bytes.len() > LOG_EVENT_MAX {
            // Keep the newest text, from the start of a line where there is one.
            let mut cut = self.bytes.len() - LOG_EVENT_MAX;
            if let Some(nl) = self.bytes[cut..].iter().position(|&b| b == b'\n') {
                cut += nl + 1;
            }
            self.bytes.drain(..cut);
            self.start += cut as u64;
        }
    }

    fn take(&mut self, now: bool) -> Option<JobEvent> {
        if self.bytes.is_empty() || !(now || self.last.elapsed() >= LOG_EVERY) {
            return None;
        }
        self.last = std::time::Instant::now();
        let bytes = std::mem::take(&mut self.bytes);
        let end = self.start + bytes.len() as u64;
        Some(JobEvent::Log { offset: self.start, end, text: String::from_utf8_lossy(&bytes).into_owned() })
    }
}

/// Follows one run's log.
#[derive(Debug)]
pub struct Follower {
    tail: LogTail,
    parser: LogParser,
    step: Option<String>,
    /// Bytes consumed up to the end of the last complete line.
    offset: u64,
    partial: Vec<u8>,
    safe: u64,
    current: Option<Sample>,
    completed: Vec<Sample>,
    /// The `deltaT =` line just read (it precedes its `Time =` line); sticky `transient`.
    dt: Option<f64>,
    transient: bool,
}

impl Follower {
    /// Starts reading at `offset` (a safe offset from an earlier follower, or 0) inside
    /// step `step` (None before the first marker).
    pub fn resume(offset: u64, step: Option<String>) -> Self {
        Follower {
            tail: LogTail { start: offset, bytes: Vec::new(), last: std::time::Instant::now() },
            parser: LogParser::new(),
            step,
            offset,
            partial: Vec::new(),
            safe: offset,
            current: None,
            completed: Vec::new(),
            dt: None,
            transient: false,
        }
    }

    /// Where the next read starts.
    pub fn read_offset(&self) -> u64 {
        self.offset + self.partial.len() as u64
    }

    /// The step the log is in.
    pub fn step(&self) -> Option<&str> {
        self.step.as_deref()
    }

    /// Where a later follower may resume, and the completed samples up to there; both are
    /// to be stored together.
    pub fn checkpoint(&mut self) -> (u64, Vec<Sample>) {
        (self.safe, std::mem::take(&mut self.completed))
    }

    /// The log text read since the last `log` event, once it is due (every half second,
    /// or `now`).
    pub fn log_event(&mut self, now: bool) -> Option<JobEvent> {
        self.tail.take(now)
    }

    /// The iteration in progress, if a solver step is running.
    pub fn current(&self) -> Option<&Sample> {
        self.current.as_ref()
    }

    /// Consumes the next bytes of the log (read from [`Follower::read_offset`]).
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<JobEvent> {
        self.tail.push(self.read_offset(), bytes);
        let mut live = Vec::new();
        let mut rest = bytes;
        while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
            self.partial.extend_from_slice(&rest[..=nl]);
            rest = &rest[nl + 1..];
            let line = std::mem::take(&mut self.partial);
            self.line(&line, &mut live);
            self.offset += line.len() as u64;
        }
        self.partial.extend_from_slice(rest);
        live
    }

    /// The run ended: the iteration in progress is complete.
    pub fn finish(&mut self) -> Vec<JobEvent> {
        let mut live = Vec::new();
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.line(&line, &mut live);
            self.offset += line.len() as u64;
        }
        for ev in self.parser.finish() {
            self.event(ev, &mut live);
        }
        self.complete(&mut live);
        self.safe = self.offset;
        live
    }

    fn complete(&mut self, live: &mut Vec<JobEvent>) {
        if let Some(s) = self.current.take() {
            live.push(JobEvent::Sample(s.clone()));
            self.completed.push(s);
        }
    }

    fn line(&mut self, line: &[u8], live: &mut Vec<JobEvent>) {
        let text = String::from_utf8_lossy(line);
        if let Some(rest) = text.strip_prefix(STEP_MARKER) {
            for ev in self.parser.finish() {
                self.event(ev, live);
            }
            self.complete(live);
            let name = rest.split_whitespace().nth(1).unwrap_or("").to_string();
            self.parser = LogParser::new();
            (self.dt, self.transient) = (None, false);
            self.step = Some(name.clone());
            self.safe = self.offset;
            live.push(JobEvent::Step { step: name });
            return;
        }
        let solver = self.step.as_deref().is_some_and(is_solver);
        let before = self.offset;
        let (mut iteration_started, mut ended) = (false, false);
        for ev in self.parser.feed(line) {
            iteration_started |= matches!(ev, LogEvent::Time { .. });
            ended |= matches!(ev, LogEvent::End);
            self.event(ev, live);
        }
        if !solver || ended {
            self.safe = self.offset + line.len() as u64;
        } else if iteration_started {
            // Resume at this `Time =` line: it re-opens the iteration in progress.
            self.safe = before;
        }
    }

    fn event(&mut self, ev: LogEvent, live: &mut Vec<JobEvent>) {
        if !self.step.as_deref().is_some_and(is_solver) {
            return;
        }
        match ev {
            LogEvent::Time { time } => {
                self.complete(live);
                self.transient |= self.dt.is_some() || self.step.as_deref() == Some("pimpleFoam") || time.fract() != 0.0;
                let (iteration, t, dt) = if self.transient {
                    (transient_key(time), Some(time), self.dt.take())
                } else {
                    (time.round() as u64, None, None)
                };
                self.current = Some(Sample { iteration, residuals: BTreeMap::new(), forces: None, time: t, dt });
            }
            LogEvent::DeltaT { dt } => self.dt = Some(dt),
            LogEvent::Residual { field, initial, .. } => {
                if let Some(cur) = &mut self.current {
                    if !cur.residuals.contains_key(&field) {
                        cur.residuals.insert(field, initial);
                        let (iteration, residuals) = (cur.iteration, cur.residuals.clone());
                        match live.last_mut() {
                            Some(JobEvent::Residuals { iteration: i, residuals: r }) if *i == iteration => {
                                *r = residuals
                            }
                            _ => live.push(JobEvent::Residuals { iteration, residuals }),
                        }
                    }
                }
            }
            LogEvent::ForceCoeffs(s) => {
                if let Some(cur) = &mut self.current {
                    cur.forces = Some(Forces::from(&s));
                }
            }
            LogEvent::End => self.complete(live),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "==> flowcfd step 1/2 blockMesh\nCreating block mesh\nEnd\n\
==> flowcfd step 2/2 simpleFoam\nStarting time loop\n\nTime = 1\n\n\
smoothSolver:  Solving for Ux, Initial residual = 1, Final residual = 0.05, No Iterations 3\n\
GAMG:  Solving for p, Initial residual = 1, Final residual = 0.009, No Iterations 20\n\
GAMG:  Solving for p, Initial residual = 0.5, Final residual = 0.009, No Iterations 20\n\
forceCoeffs forces execute:\n    Cd       : 0.5\n    Cl       : 0.1\n\n\
ExecutionTime = 0.1 s  ClockTime = 0 s\n\nTime = 2\n\n\
smoothSolver:  Solving for Ux, Initial residual = 0.4, Final residual = 0.02, No Iterations 3\n\
GAMG:  Solving for p, Initial residual = 0.3, Final residual = 0.009, No Iterations 20\n\
ExecutionTime = 0.2 s  ClockTime = 0 s\n\nEnd\n";

    fn all(f: &mut Follower, bytes: &[u8]) -> Vec<Sample> {
        f.feed(bytes);
        f.finish();
        f.checkpoint().1
    }

    #[test]
    fn samples_per_iteration_with_first_solve_residuals_and_forces() {
        let s = all(&mut Follower::resume(0, None), LOG.as_bytes());
        assert_eq!(s.len(), 2, "{s:?}");
        assert_eq!(s[0].iteration, 1);
        assert_eq!(s[0].residuals["p"], 1.0, "first solve of p, not the corrector");
        assert_eq!(s[0].forces.unwrap().cd, Some(0.5));
        assert_eq!(s[1].residuals["Ux"], 0.4);
        assert!(s[1].forces.is_none());
    }

    #[test]
    fn any_chunking_gives_the_same_samples() {
        let whole = all(&mut Follower::resume(0, None), LOG.as_bytes());
        for size in [1, 7, 64] {
            let mut f = Follower::resume(0, None);
            for c in LOG.as_bytes().chunks(size) {
                f.feed(c);
            }
            f.finish();
            assert_eq!(f.checkpoint().1, whole, "chunks of {size}");
        }
    }

    #[test]
    fn resuming_at_the_safe_offset_loses_and_repeats_nothing() {
        let bytes = LOG.as_bytes();
        // Stop after every possible prefix, checkpoint, and carry on in a new follower.
        for cut in 0..bytes.len() {
            let mut a = Follower::resume(0, None);
            a.feed(&bytes[..cut]);
            let (safe, mut got) = a.checkpoint();
            let mut b = Follower::resume(safe, a.step().map(String::from));
            b.feed(&bytes[safe as usize..]);
            b.finish();
            got.extend(b.checkpoint().1);
            assert_eq!(got, all(&mut Follower::resume(0, None), bytes), "cut at {cut}");
        }
    }

    #[test]
    fn transient_samples_are_time_steps_keyed_by_simulated_time() {
        let log = "==> flowcfd step 7/7 pimpleFoam\nCourant Number mean: 0.1 max: 0.5\ndeltaT = 0.0012\nTime = 0.0012\n\n\
smoothSolver:  Solving for Ux, Initial residual = 1, Final residual = 0.05, No Iterations 3\n\
Courant Number mean: 0.1 max: 0.6\ndeltaT = 0.0014\nTime = 0.0026\n\n\
smoothSolver:  Solving for Ux, Initial residual = 0.5, Final residual = 0.05, No Iterations 3\nEnd\n";
        let s = all(&mut Follower::resume(0, None), log.as_bytes());
        assert_eq!(s.iter().map(|s| (s.iteration, s.time, s.dt)).collect::<Vec<_>>(), [
            (1200, Some(0.0012), Some(0.0012)),
            (2600, Some(0.0026), Some(0.0014))
        ]);
        let json = serde_json::to_value(&s[1]).unwrap();
        assert_eq!((json["time"].as_f64(), json["dt"].as_f64()), (Some(0.0026), Some(0.0014)));
        // Steady samples carry neither.
        let steady = serde_json::to_value(&all(&mut Follower::resume(0, None), LOG.as_bytes())[0]).unwrap();
        assert!(steady.get("time").is_none() && steady.get("dt").is_none(), "{steady}");
    }

    #[test]
    fn live_events_name_steps_and_show_residuals_before_the_iteration_ends() {
        let mut f = Follower::resume(0, None);
        let cut = LOG.find("GAMG").unwrap();
        let ev = f.feed(&LOG.as_bytes()[..cut]);
        assert!(ev.contains(&JobEvent::Step { step: "simpleFoam".into() }));
        assert!(matches!(ev.last(), Some(JobEvent::Residuals { iteration: 1, residuals }) if residuals["Ux"] == 1.0));
    }

    #[test]
    fn log_events_carry_the_byte_range_and_keep_the_newest_lines_of_a_burst() {
        let mut f = Follower::resume(0, None);
        let cut = LOG.find("Time = 1").unwrap();
        f.feed(&LOG.as_bytes()[..cut]);
        assert_eq!(f.log_event(false), None, "not due yet");
        f.feed(&LOG.as_bytes()[cut..]);
        let Some(JobEvent::Log { offset, end, text }) = f.log_event(true) else { panic!("a log event") };
        assert_eq!((offset, end, text.as_str()), (0, LOG.len() as u64, LOG));
        assert_eq!(f.log_event(true), None, "nothing new");

        // A resumed follower starts at its offset; a long burst keeps whole lines at its end.
        let line = "smoothSolver:  Solving for Ux, Initial residual = 0.1, Final residual = 0.01\n";
        let burst = line.repeat(200);
        let mut g = Follower::resume(1000, Some("simpleFoam".into()));
        g.feed(burst.as_bytes());
        let Some(JobEvent::Log { offset, end, text }) = g.log_event(true) else { panic!("a log event") };
        assert_eq!(end, 1000 + burst.len() as u64);
        assert_eq!(end - offset, text.len() as u64);
        assert!(text.len() <= LOG_EVENT_MAX && text.len() > LOG_EVENT_MAX - line.len(), "{}", text.len());
        assert!(text.starts_with("smoothSolver") && text.ends_with('\n'));
    }
}
