//! Runs a case's steps as local child processes, each in its own process group, with a
//! timeout, its log kept as `log.<step>`, and the log parsed as it is written.
//!
//! The Executor trait of the jobs layer wraps this runner; the CLI drives it directly.

use super::mpi;
use super::openfoam::{version_from_log, OpenFoamEnv};
use super::process::GroupGuard;
use crate::foam::case::Step;
use crate::foam::log::{CheckMeshReport, LayerReport, LogEvent, LogParser, SolverProgress};
use crate::foam::physics::{STOP_FILE, STOP_REQUEST};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Set by SIGINT, SIGTERM or SIGHUP once [`cancel_on_signals`] is installed. The steps run
/// in their own process groups, so Ctrl-C reaches only FlowCFD, which then stops them.
pub static SIGNALLED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    SIGNALLED.store(true, Ordering::Relaxed);
}

/// Routes SIGINT, SIGTERM and SIGHUP to [`SIGNALLED`], so that a run stops its process
/// groups and records the cancellation instead of leaving OpenFOAM running.
pub fn cancel_on_signals() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: the handler only stores to an atomic.
        unsafe {
            libc::signal(sig, on_signal as *const () as libc::sighandler_t);
        }
    }
}

/// Receives progress while the run goes on.
pub trait Observer {
    /// A step begins (`index` counts from 0).
    fn step_started(&mut self, _index: usize, _total: usize, _step: &Step) {}
    /// Raw output of the step, as it arrives.
    fn output(&mut self, _step: &Step, _bytes: &[u8]) {}
    /// A parsed log event; `progress` already includes it.
    fn event(&mut self, _step: &Step, _event: &LogEvent, _progress: &SolverProgress) {}
    /// A step ended successfully after `seconds`.
    fn step_finished(&mut self, _step: &Step, _seconds: f64) {}
    /// Something the user should know as it happens (a diverged solve restarted).
    fn note(&mut self, _text: &str) {}
}

/// An observer that ignores everything.
pub struct Quiet;
impl Observer for Quiet {}

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// MPI ranks for parallel steps.
    pub cores: u32,
    /// Wall-clock limit per step.
    pub step_timeout: Duration,
}

/// What a successful run produced.
#[derive(Debug, Clone, Default)]
pub struct RunReport {
    /// Seconds per step.
    pub timing: BTreeMap<String, f64>,
    /// checkMesh's verdict.
    pub check_mesh: Option<CheckMeshReport>,
    /// snappyHexMesh's layer table.
    pub layers: Option<LayerReport>,
    /// The solver's residuals and forces.
    pub solver: SolverProgress,
    /// OpenFOAM version from the first log banner.
    pub openfoam_version: Option<String>,
    /// Set when a graceful stop was asked for (see [`stop_request`]): the run ended early,
    /// normally, with what it had.
    pub stopped: Option<Stopped>,
    /// Set when the steady solver diverged and was restarted with first-order numerics
    /// (see the pipeline): why the first attempt was stopped.
    pub recovered_from: Option<String>,
}

/// A graceful stop: why, and the step it came in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stopped {
    /// The reason the request gave.
    pub reason: String,
    /// The step running (or about to run) when it came.
    pub step: String,
}

/// The graceful stop asked for in `case` (the text of its `flowcfd.stop`), if any.
///
/// The solver is stopped through OpenFOAM's `abort` function object: it writes the iteration
/// it is on and ends normally, and the steps after it (reconstructPar) still run, so the
/// last iteration is kept. A step before the solver (meshing) is stopped at once and the
/// rest skipped.
pub fn stop_request(case: &Path) -> Option<String> {
    let text = std::fs::read(case.join(STOP_REQUEST)).ok()?;
    let reason: String = String::from_utf8_lossy(&text).trim().chars().take(500).collect();
    Some(if reason.is_empty() { "a stop was requested".into() } else { reason })
}

/// Removes the stop request and trigger from a finished case (the archive is the user's).
pub fn clear_stop(case: &Path) {
    let _ = std::fs::remove_file(case.join(STOP_REQUEST));
    let _ = std::fs::remove_file(case.join(STOP_FILE));
}

/// Whether a step in progress must end now for a graceful stop. The solver is left to its
/// `abort` function object, whose trigger file is kept present while it runs (the function
/// object deletes a file it finds at start-up); `post_solve` steps finish.
fn graceful(case: &Path, step: &str, solver: bool, post_solve: bool, stopped: &mut Option<Stopped>) -> bool {
    if post_solve {
        return false;
    }
    let Some(reason) = stop_request(case) else { return false };
    if stopped.is_none() {
        *stopped = Some(Stopped { reason, step: step.to_string() });
    }
    if solver {
        let trigger = case.join(STOP_FILE);
        if !trigger.exists() {
            let _ = std::fs::write(trigger, b"");
        }
        return false;
    }
    true
}

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The program could not start.
    #[error("{step}: cannot start {program}: {source}")]
    Spawn {
        /// Step.
        step: String,
        /// Program.
        program: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The step ran past its limit and was killed.
    #[error("{step} ran longer than its {seconds} s limit and was stopped; raise solver.step_timeout_s or lower the cell count. Last lines of log.{step}:\n{excerpt}")]
    Timeout {
        /// Step.
        step: String,
        /// Limit.
        seconds: u64,
        /// Last log lines.
        excerpt: String,
    },
    /// Non-zero exit.
    #[error("{step} failed (exit {code}); from log.{step}:\n{excerpt}")]
    Failed {
        /// Step.
        step: String,
        /// Exit code (-1 when killed by a signal).
        code: i32,
        /// Relevant log lines.
        excerpt: String,
    },
    /// The solver diverged and was stopped.
    #[error("{step} diverged and was stopped: {reason}. Try a finer or better mesh, lower relaxation factors, or check the boundary conditions. Last lines of log.{step}:\n{excerpt}")]
    Diverged {
        /// Step.
        step: String,
        /// What was seen.
        reason: String,
        /// Last log lines.
        excerpt: String,
    },
    /// Stopped on request.
    #[error("cancelled during {0}")]
    Cancelled(String),
    /// Local I/O.
    #[error("{0}")]
    Io(String),
}

fn excerpt(log: &str, progress: &SolverProgress) -> String {
    if let Some(msg) = &progress.fatal_error {
        return msg.lines().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n");
    }
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(12)..].iter().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn command(step: &Step, cores: u32, env: &OpenFoamEnv, case: &Path) -> Option<Command> {
    let Step::App { app, args, parallel, .. } = step else { return None };
    if *parallel {
        // On this machine, or across a hostfile's hosts: see runner::mpi.
        let launch = mpi::MpiLaunch::from_env(&mpi::process_env(), &env.vars, is_root());
        return Some(launch.command(cores, app, args, case));
    }
    let mut c = Command::new(app);
    c.args(args);
    Some(c)
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

fn restore0(case: &Path) -> Result<(), RunError> {
    let io = |e: std::io::Error| RunError::Io(format!("restoring 0/ from 0.orig/ in {}: {e}", case.display()));
    let zero = case.join("0");
    if zero.exists() {
        std::fs::remove_dir_all(&zero).map_err(io)?;
    }
    copy_dir(&case.join("0.orig"), &zero).map_err(io)
}

/// Runs every step in `case`, in order. `cancel` stops the run between reads.
pub fn run(
    case: &Path,
    steps: &[Step],
    env: &OpenFoamEnv,
    opts: &RunOptions,
    observer: &mut dyn Observer,
    cancel: &AtomicBool,
) -> Result<RunReport, RunError> {
    let mut report = RunReport::default();
    run_into(case, steps, env, opts, observer, cancel, &mut report)?;
    Ok(report)
}

/// As [`run`], adding to `report`, which keeps what the steps before a failure produced
/// (the mesh's checks and layers, the timings) for a caller that retries.
pub fn run_into(
    case: &Path,
    steps: &[Step],
    env: &OpenFoamEnv,
    opts: &RunOptions,
    observer: &mut dyn Observer,
    cancel: &AtomicBool,
    report: &mut RunReport,
) -> Result<(), RunError> {
    let mut solved = false;
    for (i, step) in steps.iter().enumerate() {
        if cancel.load(Ordering::Relaxed) {
            return Err(RunError::Cancelled(step.name().to_string()));
        }
        let post_solve = solved && step.name() == "reconstructPar";
        if report.stopped.is_none() {
            report.stopped = stop_request(case).map(|reason| Stopped { reason, step: step.name().to_string() });
        }
        if report.stopped.is_some() && !post_solve {
            continue;
        }
        observer.step_started(i, steps.len(), step);
        let t = Instant::now();
        match command(step, opts.cores, env, case) {
            None => restore0(case)?,
            Some(mut cmd) => {
                // PWD too: OpenFOAM warns when it disagrees with the working directory.
                let prepare = |cmd: &mut Command| {
                    cmd.current_dir(case).env("PWD", case).envs(env.vars.iter().map(|(k, v)| (k, v)));
                };
                prepare(&mut cmd);
                let parallel = matches!(step, Step::App { parallel: true, .. });
                // Staging hooks of an MPIJob (runner::mpi); a graceful stop never cuts them short.
                let hook = |h| if parallel { mpi::hook(h, &mpi::process_env(), case) } else { None };
                if let Some((s, mut c)) = hook(mpi::Hook::Before) {
                    prepare(&mut c);
                    run_one(case, &s, c, opts, observer, cancel, report, true)?;
                }
                run_one(case, step, cmd, opts, observer, cancel, report, post_solve)?;
                if let Some((s, mut c)) = hook(mpi::Hook::After) {
                    prepare(&mut c);
                    run_one(case, &s, c, opts, observer, cancel, report, true)?;
                }
            }
        }
        solved |= step.is_solver();
        let secs = t.elapsed().as_secs_f64();
        report.timing.insert(step.name().to_string(), secs);
        observer.step_finished(step, secs);
    }
    Ok(())
}

enum Chunk {
    Data(Vec<u8>),
    Closed,
}

fn run_one(
    case: &Path,
    step: &Step,
    mut cmd: Command,
    opts: &RunOptions,
    observer: &mut dyn Observer,
    cancel: &AtomicBool,
    report: &mut RunReport,
    post_solve: bool,
) -> Result<(), RunError> {
    let name = step.name().to_string();
    let log_path = case.join(format!("log.{name}"));
    let mut log = std::fs::File::create(&log_path).map_err(|e| RunError::Io(format!("{}: {e}", log_path.display())))?;
    let program = cmd.get_program().to_string_lossy().to_string();
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    let mut child = cmd.spawn().map_err(|source| RunError::Spawn { step: name.clone(), program, source })?;
    let (tx, rx) = mpsc::channel();
    for pipe in [
        child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>),
        child.stderr.take().map(|p| Box::new(p) as _),
    ]
    .into_iter()
    .flatten()
    {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut pipe = pipe;
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match pipe.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if tx.send(Chunk::Data(buf[..n].to_vec())).is_err() {
                            break;
                        }
                    }
                }
            }
            let _ = tx.send(Chunk::Closed);
        });
    }
    drop(tx);
    let mut guard = GroupGuard::new(child);
    let mut parser = LogParser::new();
    let mut progress = SolverProgress::default();
    let mut text = String::new();
    let solver = step.is_solver();
    let started = Instant::now();
    let mut stopped = report.stopped.clone();
    let mut cut_short = false;
    let mut open_pipes = 2;
    let mut handle = |bytes: &[u8], parser_events: Vec<LogEvent>, progress: &mut SolverProgress, text: &mut String| {
        let _ = log.write_all(bytes);
        observer.output(step, bytes);
        if text.len() < 4 * 1024 * 1024 {
            text.push_str(&String::from_utf8_lossy(bytes));
        } else {
            // Keep the tail only: excerpts quote the end of the log.
            let mut cut = text.len() / 2;
            while !text.is_char_boundary(cut) {
                cut += 1;
            }
            text.drain(..cut);
            text.push_str(&String::from_utf8_lossy(bytes));
        }
        for ev in parser_events {
            progress.apply(&ev);
            match &ev {
                LogEvent::CheckMesh(c) => report.check_mesh = Some(c.clone()),
                LogEvent::Layers(l) => report.layers = Some(l.clone()),
                _ => {}
            }
            observer.event(step, &ev, progress);
        }
    };
    // Why the step must be stopped now, if it must: cancellation, timeout, divergence.
    let stop = |progress: &SolverProgress, text: &str, check_divergence: bool| -> Option<RunError> {
        let step = name.clone();
        if cancel.load(Ordering::Relaxed) {
            return Some(RunError::Cancelled(step));
        }
        if started.elapsed() > opts.step_timeout {
            let (seconds, excerpt) = (opts.step_timeout.as_secs(), excerpt(text, progress));
            return Some(RunError::Timeout { step, seconds, excerpt });
        }
        let reason = progress.divergence().filter(|_| check_divergence)?;
        Some(RunError::Diverged { step, reason, excerpt: excerpt(text, progress) })
    };
    while open_pipes > 0 {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(Chunk::Data(bytes)) => {
                let events = parser.feed(&bytes);
                handle(&bytes, events, &mut progress, &mut text);
            }
            Ok(Chunk::Closed) => open_pipes -= 1,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if report.openfoam_version.is_none() {
            report.openfoam_version = version_from_log(&text);
        }
        if let Some(e) = stop(&progress, &text, solver) {
            guard.terminate();
            return Err(e);
        }
        if graceful(case, &name, solver, post_solve, &mut stopped) {
            guard.terminate();
            cut_short = true;
            break;
        }
    }
    if cut_short {
        report.stopped = stopped;
        return Ok(());
    }
    let events = parser.finish();
    handle(&[], events, &mut progress, &mut text);
    // Pipes are closed; the process is exiting. Wait, but never forever.
    while !guard.leader_exited() {
        if let Some(e) = stop(&progress, &text, false) {
            guard.terminate();
            return Err(e);
        }
        if graceful(case, &name, solver, post_solve, &mut stopped) {
            guard.terminate();
            report.stopped = stopped;
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    report.stopped = stopped;
    let status = guard.reap().map_err(|e| RunError::Io(format!("waiting for {name}: {e}")))?;
    if solver {
        if let Some(reason) = progress.divergence() {
            return Err(RunError::Diverged { step: name, reason, excerpt: excerpt(&text, &progress) });
        }
        report.solver = progress.clone();
    }
    // checkMesh's exit status counts failed checks in some versions; its verdict is parsed.
    let tolerated = matches!(step, Step::App { app: "checkMesh", .. });
    if !status.success() && !tolerated || progress.fatal_error.is_some() {
        return Err(RunError::Failed {
            step: name,
            code: status.code().unwrap_or(-1),
            excerpt: excerpt(&text, &progress),
        });
    }
    Ok(())
}
