//! The seam between the queue and the compute a user has: the `Executor` trait, and the
//! local executor behind it.
//!
//! The local executor runs each job as a detached `flowcfd run` in its own session and
//! process group, writing into the job's directory. Nothing about a run lives only in the
//! server's memory: the handle (`local:PID:DIR`) and the files in DIR are enough to find
//! out where it stands, so a restarted server re-attaches instead of starting it again.
use crate::foam::physics::{STOP_FILE, STOP_REQUEST};
use crate::runner::process;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What an executor needs to start a job: a directory holding `case.json` (or
/// `case.toml`) and the geometry it names.
///
/// `job` and `attempt` name the run (see [`Bundle::run_name`]): submitting the same bundle
/// twice finds the first run instead of starting a second, so a worker that died between
/// submitting and recording the handle costs nothing.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub dir: PathBuf,
    /// MPI ranks the run gets.
    pub cores: u32,
    /// The job id.
    pub job: String,
    /// The claim that first submitted it (the attempt recorded with the intent).
    pub attempt: u32,
    /// The account the job's plan charges on a cluster (Slurm `--account`), instead of the
    /// cluster's own `account`.
    pub account: Option<String>,
}

impl Bundle {
    /// The run's name on the executor (a Slurm job name, a Kubernetes Job name): derived
    /// from the job id and the attempt, lower case, at most 63 characters (a Kubernetes
    /// label value), so that it can be looked up before submitting again.
    pub fn run_name(&self) -> String {
        let mut n = format!("flowcfd-{}-{}", self.job.to_ascii_lowercase(), self.attempt);
        n.retain(|c| c.is_ascii_alphanumeric() || c == '-');
        n.truncate(63);
        n
    }
}

/// How to find a submitted run again (stored on the job row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handle(pub String);

/// Where a run stands, as its executor sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum ExecStatus {
    /// Running; the pipeline step it is in (`preparing`, `meshing`, `solving`), `running`
    /// where the executor cannot tell, or [`QUEUED`]: waiting for the scheduler, holding no
    /// cores (metering counts none of that time).
    Running {
        step: &'static str,
    },
    Completed,
    Failed(String),
    Cancelled,
}

/// The time a run held its cores, by the executor's own clock (Unix milliseconds): what
/// metering records as the job's final use.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecUsage {
    /// The cores it held (Slurm's allocated CPUs, the pod's, the run's own).
    pub cores: u32,
    pub started_ms: i64,
    /// None while it still runs.
    pub ended_ms: Option<i64>,
    /// Where the times come from: `usage.json`, `sacct`, `sacct -c`, `scontrol`, `pod`.
    pub source: &'static str,
}

impl ExecUsage {
    /// Cores × wall seconds, once the run has ended.
    pub fn core_seconds(&self) -> Option<f64> {
        let end = self.ended_ms?;
        Some(self.cores as f64 * (end - self.started_ms).max(0) as f64 / 1000.0)
    }
}

impl From<crate::runner::usage::RunUsage> for ExecUsage {
    fn from(u: crate::runner::usage::RunUsage) -> Self {
        ExecUsage { cores: u.cores, started_ms: u.started_at, ended_ms: Some(u.ended_at), source: "usage.json" }
    }
}

/// The step of a run that waits for its scheduler (a pending Slurm job, an unscheduled pod).
pub const QUEUED: &str = "queued";

/// Executor failures, each saying what to do.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("cannot start the run: {0}")]
    Submit(String),
    #[error("the handle {0:?} is not one this executor made")]
    BadHandle(String),
    #[error("{0}")]
    Io(String),
    #[error("cannot reach the cluster: {0}")]
    Unreachable(String),
    #[error("SSH authentication failed: {0}")]
    Auth(String),
    #[error("SSH host key: {0}")]
    HostKey(String),
    /// A transfer or remote command ran past the time its size allows (not retried).
    #[error("timed out: {0}")]
    Timeout(String),
}

/// A place jobs run: this machine, a Slurm cluster, a Kubernetes cluster.
#[async_trait::async_trait]
pub trait Executor: Send + Sync {
    /// The name jobs choose it by.
    fn name(&self) -> &str;
    /// How often the worker reads the run's log for live progress: often where a read is
    /// cheap (a local file), less often where it is a network call.
    fn log_interval(&self) -> Duration {
        Duration::from_millis(500)
    }
    /// Starts a run, or finds the run this bundle (its [`Bundle::run_name`]) already
    /// started: submitting is idempotent, since a worker may die after starting a run and
    /// before storing its handle. The handle is stored before anything else happens.
    async fn submit(&self, bundle: &Bundle) -> Result<Handle, ExecError>;
    /// Where each run stands (one call for many, where the backend allows).
    async fn status(&self, handles: &[Handle]) -> Result<Vec<ExecStatus>, ExecError>;
    /// The run's log from byte `offset`; returns the bytes and the next offset.
    async fn read_log(&self, handle: &Handle, offset: u64) -> Result<(Vec<u8>, u64), ExecError>;
    /// Stops a run and everything it started.
    async fn cancel(&self, handle: &Handle) -> Result<(), ExecError>;
    /// Makes the results available locally; returns the directory holding `summary.json`
    /// (or `failure.json`), `usage.json` and `case/`.
    async fn fetch_results(&self, handle: &Handle) -> Result<PathBuf, ExecError>;
    /// When the run started and ended and on how many cores, by the executor's own record
    /// (after `fetch_results` where the record comes back with the results). None when
    /// there is no record (a run killed before writing one, and a scheduler that forgot it).
    async fn usage(&self, _handle: &Handle) -> Result<Option<ExecUsage>, ExecError> {
        Ok(None)
    }
    /// Asks the run to write the iteration it is on and end normally (post-processing and
    /// `summary.json` with `"stopped": {"reason"}` follow), as a quota that runs out needs.
    /// False when the request cannot be delivered (the run has no case yet, or the executor
    /// has no way in): the caller then cancels instead.
    async fn stop_gracefully(&self, _handle: &Handle, _reason: &str) -> Result<bool, ExecError> {
        Ok(false)
    }
    /// Whether it can take work now, in one line for administrators: this machine's cores
    /// and the runner, a Slurm cluster's partitions (`sinfo` over SSH), the Kubernetes API
    /// server's version. An error says what is unreachable.
    async fn health(&self) -> Result<String, ExecError>;
}

/// The text of a stop request: one line, at most 500 characters (it reaches a file the run
/// reads back into `summary.json`, never a dictionary or a shell unquoted).
pub fn stop_reason(reason: &str) -> String {
    let line: String = reason.chars().filter(|c| !c.is_control()).take(500).collect();
    let line = line.trim();
    if line.is_empty() {
        "a stop was requested".into()
    } else {
        line.to_string()
    }
}

/// Runs jobs as detached `flowcfd run` processes on this machine.
pub struct LocalExecutor {
    exe: PathBuf,
}

const CANCELLED_MARKER: &str = "cancelled";
/// How often the worker reads a local run's log (a file read; `bench events` measures it).
pub const LOCAL_LOG_INTERVAL_MS: u64 = 50;
const RUN_LOG: &str = "run.log";

impl LocalExecutor {
    /// Uses the `flowcfd` binary at `exe` (normally the running one).
    pub fn new(exe: PathBuf) -> LocalExecutor {
        LocalExecutor { exe }
    }

    fn parse(h: &Handle) -> Result<(i32, PathBuf), ExecError> {
        let bad = || ExecError::BadHandle(h.0.clone());
        let rest = h.0.strip_prefix("local:").ok_or_else(bad)?;
        let (pid, dir) = rest.split_once(':').ok_or_else(bad)?;
        Ok((pid.parse().map_err(|_| bad())?, PathBuf::from(dir)))
    }

    /// Whether `pid` is a live (not zombie) `flowcfd run` of `dir`.
    fn alive(pid: i32, dir: &Path) -> bool {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat.rsplit_once(')').and_then(|(_, r)| r.split_whitespace().next()).unwrap_or("Z");
        if state == "Z" || state == "X" {
            return false;
        }
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let needle = Self::case_file(dir);
        cmd.split(|b| *b == 0).any(|arg| arg == needle.as_os_str().as_encoded_bytes())
    }

    /// The run already started in `dir` (the local equivalent of a run name, since the
    /// directory is the job's): a live `flowcfd run` of it, or, when none is alive, the
    /// traces of one that ran (its log, its output), re-attached as pid 0 (never alive, so
    /// its files say how it ended).
    fn find(dir: &Path) -> Option<Handle> {
        let live = std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
            let pid: i32 = e.file_name().to_str()?.parse().ok()?;
            Self::alive(pid, dir).then_some(pid)
        });
        let ran = std::fs::metadata(dir.join(RUN_LOG)).is_ok_and(|m| m.len() > 0) || dir.join("out").exists();
        match live {
            Some(pid) => Some(Handle(format!("local:{pid}:{}", dir.display()))),
            None if ran => Some(Handle(format!("local:0:{}", dir.display()))),
            None => None,
        }
    }

    /// The live `flowcfd run` of `dir`: `pid`, or the run restarted with `--resume` after
    /// it was killed (see [`super::resume`]).
    fn live(pid: i32, dir: &Path) -> Option<i32> {
        if Self::alive(pid, dir) {
            return Some(pid);
        }
        super::resume::read(dir).map(|r| r.pid).filter(|p| *p > 0 && Self::alive(*p, dir))
    }

    /// Starts `flowcfd run` of `dir` in its own session: a new run (`--force`), or one
    /// that continues the killed run there (`--resume`). Returns its pid.
    fn spawn(&self, dir: &Path, resume: bool) -> Result<i32, ExecError> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(RUN_LOG))
            .map_err(|e| ExecError::Submit(e.to_string()))?;
        let err = log.try_clone().map_err(|e| ExecError::Submit(e.to_string()))?;
        let mut cmd = std::process::Command::new(&self.exe);
        cmd.arg("run")
            .arg(Self::case_file(dir))
            .arg("--out")
            .arg(dir.join("out"))
            .arg(if resume { "--resume" } else { "--force" })
            .arg("--stream-log")
            .current_dir(dir)
            .stdin(std::process::Stdio::null())
            .stdout(log)
            .stderr(err);
        crate::runner::process::own_session(&mut cmd);
        let mut child = cmd.spawn().map_err(|e| ExecError::Submit(format!("{}: {e}", self.exe.display())))?;
        let pid = child.id() as i32;
        // Reap it when it ends (after a restart, init does).
        std::thread::spawn(move || child.wait());
        Ok(pid)
    }

    /// Restarts the dead run of `dir` with `--resume` when [`super::resume::resumable`]
    /// says so, after stopping whatever the dead run left running there. True when it did.
    fn resume_dead(&self, pid: i32, dir: &Path) -> bool {
        let Some(from) = super::resume::resumable(dir, &dir.join(CANCELLED_MARKER)) else { return false };
        let mut record = super::resume::read(dir).unwrap_or_default();
        for sid in [pid, record.pid].into_iter().filter(|p| *p > 0) {
            process::kill_session(sid, Some(dir));
        }
        match self.spawn(dir, true) {
            Ok(new) => {
                record.count += 1;
                record.pid = new;
                record.from_times.push(from);
                if let Err(e) = super::resume::write(dir, &record) {
                    tracing::warn!(dir = %dir.display(), error = %e, "cannot record the restart");
                }
                tracing::warn!(dir = %dir.display(), from, restart = record.count, "the run was killed; resuming it");
                true
            }
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot resume the killed run");
                false
            }
        }
    }

    fn case_file(dir: &Path) -> PathBuf {
        let json = dir.join("case.json");
        if json.exists() {
            json
        } else {
            dir.join("case.toml")
        }
    }

    fn step(dir: &Path) -> &'static str {
        let case = dir.join("out/.partial/case");
        let solving = crate::foam::case::SOLVER_APPS.iter().chain(&["potentialFoam"]).any(|s| case.join(format!("log.{s}")).exists());
        if solving {
            "solving"
        } else if case.join("log.blockMesh").exists() {
            "meshing"
        } else {
            "preparing"
        }
    }

    fn settled(dir: &Path) -> ExecStatus {
        let out = dir.join("out");
        if dir.join(CANCELLED_MARKER).exists() {
            return ExecStatus::Cancelled;
        }
        if out.join("summary.json").exists() {
            return ExecStatus::Completed;
        }
        let failure = std::fs::read_to_string(out.join("failure.json")).ok();
        let reason = failure.and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok()).and_then(|v| {
            let step = v.get("step").and_then(|s| s.as_str()).unwrap_or("").to_string();
            v.get("error").and_then(|e| e.as_str()).map(|e| {
                if step.is_empty() {
                    e.to_string()
                } else {
                    format!("{step}: {e}")
                }
            })
        });
        ExecStatus::Failed(reason.unwrap_or_else(|| {
            format!("the run stopped without writing a result; see {}", dir.join(RUN_LOG).display())
        }))
    }
}

#[async_trait::async_trait]
impl Executor for LocalExecutor {
    fn name(&self) -> &str {
        "local"
    }

    async fn health(&self) -> Result<String, ExecError> {
        let exe = self.exe.clone();
        let run = exe.clone();
        let out = tokio::task::spawn_blocking(move || std::process::Command::new(&run).arg("--version").output())
            .await
            .map_err(|e| ExecError::Io(e.to_string()))?
            .map_err(|e| ExecError::Io(format!("the runner {}: {e}", exe.display())))?;
        let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let on_path = std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("simpleFoam").is_file()));
        let foam = match (on_path, std::env::var("WM_PROJECT_DIR")) {
            (true, _) => "OpenFOAM on PATH".to_string(),
            (false, Ok(dir)) => format!("OpenFOAM at {dir}"),
            (false, Err(_)) => return Err(ExecError::Io("no OpenFOAM: simpleFoam is not on PATH and WM_PROJECT_DIR is unset".into())),
        };
        if !out.status.success() {
            return Err(ExecError::Io(format!("the runner {} does not start", exe.display())));
        }
        Ok(format!("{cores} cores; {version}; {foam}"))
    }

    fn log_interval(&self) -> Duration {
        Duration::from_millis(LOCAL_LOG_INTERVAL_MS)
    }

    async fn submit(&self, bundle: &Bundle) -> Result<Handle, ExecError> {
        let dir = bundle.dir.canonicalize().map_err(|e| ExecError::Submit(format!("{}: {e}", bundle.dir.display())))?;
        if let Some(h) = Self::find(&dir) {
            tracing::info!(handle = %h.0, "the run was already started; re-attaching");
            return Ok(h);
        }
        let pid = self.spawn(&dir, false)?;
        Ok(Handle(format!("local:{pid}:{}", dir.display())))
    }

    async fn status(&self, handles: &[Handle]) -> Result<Vec<ExecStatus>, ExecError> {
        handles
            .iter()
            .map(|h| {
                let (pid, dir) = Self::parse(h)?;
                Ok(if Self::live(pid, &dir).is_some() || self.resume_dead(pid, &dir) {
                    ExecStatus::Running { step: Self::step(&dir) }
                } else {
                    Self::settled(&dir)
                })
            })
            .collect()
    }

    async fn read_log(&self, handle: &Handle, offset: u64) -> Result<(Vec<u8>, u64), ExecError> {
        use std::io::{Read, Seek, SeekFrom};
        let (_, dir) = Self::parse(handle)?;
        let mut f = match std::fs::File::open(dir.join(RUN_LOG)) {
            Ok(f) => f,
            // A run just started has not created its log yet: nothing to read so far.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), offset)),
            Err(e) => return Err(ExecError::Io(e.to_string())),
        };
        f.seek(SeekFrom::Start(offset)).map_err(|e| ExecError::Io(e.to_string()))?;
        let mut buf = Vec::new();
        f.take(4 << 20).read_to_end(&mut buf).map_err(|e| ExecError::Io(e.to_string()))?;
        let next = offset + buf.len() as u64;
        Ok((buf, next))
    }

    async fn cancel(&self, handle: &Handle) -> Result<(), ExecError> {
        let (pid, dir) = Self::parse(handle)?;
        std::fs::write(dir.join(CANCELLED_MARKER), b"").map_err(|e| ExecError::Io(e.to_string()))?;
        let pid = Self::live(pid, &dir).unwrap_or(pid);
        tokio::task::spawn_blocking(move || {
            if Self::alive(pid, &dir) {
                // `flowcfd run` stops its OpenFOAM process groups on SIGTERM; give it time.
                // The run is alive, so its session id (= its pid) is ours: kill the whole
                // session, every group it started, if it did not stop in time (a hung
                // run, a step that ignores SIGTERM).
                if !process::terminate_group(pid, Duration::from_secs(10), || !Self::alive(pid, &dir)) {
                    process::kill_session(pid, None);
                }
            }
            // Whatever a dead run left behind in its directory (its own process is gone,
            // so only processes there are taken for its own).
            process::kill_session(pid, Some(&dir));
        })
        .await
        .map_err(|e| ExecError::Io(e.to_string()))?;
        Ok(())
    }

    async fn fetch_results(&self, handle: &Handle) -> Result<PathBuf, ExecError> {
        let (_, dir) = Self::parse(handle)?;
        Ok(dir.join("out"))
    }

    async fn usage(&self, handle: &Handle) -> Result<Option<ExecUsage>, ExecError> {
        let (_, dir) = Self::parse(handle)?;
        Ok(crate::runner::usage::read(&dir.join("out")).map(ExecUsage::from))
    }

    /// Writes the request into the case the run is solving (`out/.partial/case`): the
    /// reason, then OpenFOAM's trigger file.
    async fn stop_gracefully(&self, handle: &Handle, reason: &str) -> Result<bool, ExecError> {
        let (pid, dir) = Self::parse(handle)?;
        let case = dir.join("out/.partial/case");
        if Self::live(pid, &dir).is_none() || !case.join("system/controlDict").exists() {
            return Ok(false);
        }
        let io = |e: std::io::Error| ExecError::Io(format!("{}: {e}", case.display()));
        // Written aside, then renamed: the run never reads a half-written reason.
        let part = case.join(format!("{STOP_REQUEST}.part"));
        std::fs::write(&part, stop_reason(reason)).map_err(io)?;
        std::fs::rename(&part, case.join(STOP_REQUEST)).map_err(io)?;
        std::fs::write(case.join(STOP_FILE), b"").map_err(io)?;
        Ok(true)
    }
}
