//! The Slurm-over-SSH executor: a university cluster reached with an SSH key.
//!
//! Per job, in `REMOTE_DIR/JOB` on the cluster: the bundle (`case.json` and the geometry)
//! uploaded over SFTP, `job.sh`, the run's log `run.log` (Slurm's output file), `out/`, and
//! an `exit_code` marker the batch script writes last. The batch script runs
//! `flowcfd run case.json --stream-log` (the static runner build, uploaded once per version
//! and checked to run there, unless the cluster has one at `flowcfd_path`: `runner`), so the
//! log has the same step markers as a local run and the same `summary.json` comes back.
//!
//! Every word that reaches the remote shell goes through [`quote`] (`shell`). The host key
//! is checked against the pinned key before authenticating, and a dropped connection is
//! re-opened with backoff; the job is not failed for it (`link`). The batch script and the
//! `sbatch` line are built in `script`; where a run stands (`squeue`, `sacct`, `scontrol`,
//! then the marker file) is found in `state`. This room is the executor itself.
pub mod accounting;
mod link;
pub mod runner;
mod script;
mod shell;
mod state;

pub use link::{Link, Output};
pub use script::batch_script;
pub use shell::{command, quote};

use super::executor::{stop_reason, Bundle, ExecError, ExecStatus, ExecUsage, Executor, Handle};
use crate::config::ClusterConfig;
use crate::foam::physics::{STOP_FILE, STOP_REQUEST};
use script::sbatch_words;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Runs jobs on a Slurm cluster over SSH.
pub struct SlurmExecutor {
    cfg: ClusterConfig,
    link: Arc<Link>,
    /// The runner (`runner::locate`), uploaded to clusters without `flowcfd_path`.
    exe: PathBuf,
    /// The remote path of the uploaded binary, once uploaded this process.
    uploaded: Mutex<Option<String>>,
    /// Where results are downloaded to (`DATA_DIR`).
    data_dir: PathBuf,
    /// `remote_dir` made absolute (relative to the account's home), once known.
    base: Mutex<Option<String>>,
    /// The wall-time limit (jobs.max_wall_s), the default Slurm time limit.
    max_wall_s: u64,
}

/// The most log bytes one read returns.
const LOG_CHUNK: usize = 4 << 20;

impl SlurmExecutor {
    /// An executor for `cfg`, signing in with `key`; the runner `exe` is uploaded when the
    /// cluster has no `flowcfd_path`.
    pub fn new(cfg: ClusterConfig, key: String, exe: PathBuf, data_dir: PathBuf, max_wall_s: u64) -> SlurmExecutor {
        let link = Arc::new(Link::new(cfg.clone(), key));
        SlurmExecutor { cfg, link, exe, uploaded: Mutex::new(None), data_dir, base: Mutex::new(None), max_wall_s }
    }

    /// The absolute scratch directory on the cluster (batch jobs run elsewhere than the
    /// home directory an SSH command starts in).
    async fn base(&self) -> Result<String, ExecError> {
        if let Some(b) = self.base.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            return Ok(b);
        }
        let dir = self.cfg.remote_dir.clone();
        let b = if dir.starts_with('/') {
            dir
        } else {
            let home = self.blocking(|l| l.run("pwd")).await?;
            let home = home.stdout.trim().to_string();
            if !home.starts_with('/') {
                return Err(ExecError::Io(format!(
                    "cannot find the home directory on the cluster (pwd said {home:?})"
                )));
            }
            format!("{}/{dir}", home.trim_end_matches('/'))
        };
        *self.base.lock().unwrap_or_else(|p| p.into_inner()) = Some(b.clone());
        Ok(b)
    }

    /// The SSH link (tests drop it on purpose).
    pub fn link(&self) -> &Link {
        &self.link
    }

    fn parse(&self, h: &Handle) -> Result<(String, String), ExecError> {
        let bad = || ExecError::BadHandle(h.0.clone());
        let rest = h.0.strip_prefix("slurm:").ok_or_else(bad)?;
        let (cluster, rest) = rest.split_once(':').ok_or_else(bad)?;
        let (id, dir) = rest.split_once(':').ok_or_else(bad)?;
        if cluster != self.cfg.name || id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        Ok((id.to_string(), dir.to_string()))
    }

    /// Blocking work off the async threads.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Link) -> Result<T, ExecError> + Send + 'static,
    ) -> Result<T, ExecError> {
        let link = self.link.clone();
        tokio::task::spawn_blocking(move || f(&link)).await.map_err(|e| ExecError::Io(e.to_string()))?
    }

    /// The remote flowcfd: the configured one, or the runner uploaded once per version
    /// (`runner`), checked to run on the cluster before the first job uses it.
    async fn remote_flowcfd(&self) -> Result<String, ExecError> {
        if let Some(p) = &self.cfg.flowcfd_path {
            return Ok(p.clone());
        }
        if let Some(p) = self.uploaded.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            return Ok(p);
        }
        let exe = self.exe.clone();
        let dir = self.base().await?;
        let cluster = self.cfg.name.clone();
        let path = self
            .blocking(move |l| {
                let bytes = std::fs::read(&exe).map_err(|e| ExecError::Submit(format!("{}: {e}", exe.display())))?;
                if runner::is_static(&bytes) != Some(true) {
                    tracing::warn!(
                        cluster = %cluster, runner = %exe.display(),
                        "uploading a dynamically linked flowcfd: it fails where the cluster's glibc is older than \
                         this machine's; install the static runner (flowcfd-runner, see the README) or set \
                         [jobs] runner_bin"
                    );
                }
                let version = runner::local_version(&exe);
                let path = format!("{dir}/bin/{}", runner::remote_name(&version, &crate::auth::sha256_hex(&bytes)));
                let have = l.run(&format!("test -x {} && echo yes", quote(&path)))?;
                if have.stdout.trim() != "yes" {
                    l.run(&command(&["mkdir", "-p", &format!("{dir}/bin")]))?;
                    // A name of its own: two uploads at once (two servers, or jobs submitted
                    // together) sharing one `.part` left one writer's handle open on the file the
                    // other had moved into place, and running it failed with "Text file busy".
                    let tmp = format!("{path}.part-{}", uuid::Uuid::new_v4().simple());
                    l.put(&tmp, &bytes, 0o700)?;
                    l.run(&command(&["mv", &tmp, &path]))?;
                }
                let out = l.run(&command(&[&path, "--version"]))?;
                if out.code != 0 {
                    return Err(ExecError::Submit(format!(
                        "the runner {} does not run on the cluster (exit {}: {}); it must be the static build \
                         (cargo build --release --no-default-features --target x86_64-unknown-linux-musl)",
                        exe.display(),
                        out.code,
                        out.stderr.trim().lines().last().unwrap_or("no message")
                    )));
                }
                tracing::info!(cluster = %cluster, runner = %path, version = %out.stdout.trim(), "runner in place");
                Ok(path)
            })
            .await?;
        *self.uploaded.lock().unwrap_or_else(|p| p.into_inner()) = Some(path.clone());
        Ok(path)
    }
}

#[async_trait::async_trait]
impl Executor for SlurmExecutor {
    fn name(&self) -> &str {
        &self.cfg.name
    }

    async fn health(&self) -> Result<String, ExecError> {
        let out = self
            .blocking(|link| link.run_for(&command(&["sinfo", "-h", "-o", "%P %a %D %T"]), Duration::from_secs(20)))
            .await?;
        if out.code != 0 {
            return Err(ExecError::Io(format!("sinfo exited with {}: {}", out.code, out.stderr.trim())));
        }
        let parts: Vec<String> = out.stdout.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect();
        Ok(format!("SSH {}@{}:{} ok; sinfo (partition, availability, nodes, state): {}", self.cfg.user, self.cfg.host, self.cfg.port, parts.join("; ")))
    }

    /// An SFTP read over the one SSH connection.
    fn log_interval(&self) -> Duration {
        Duration::from_millis(200)
    }

    async fn submit(&self, bundle: &Bundle) -> Result<Handle, ExecError> {
        let flowcfd = self.remote_flowcfd().await?;
        let job = bundle.dir.file_name().and_then(|n| n.to_str()).unwrap_or("job").to_string();
        let dir = format!("{}/{job}", self.base().await?);
        let mut files = Vec::new();
        for e in std::fs::read_dir(&bundle.dir).map_err(|e| ExecError::Submit(e.to_string()))? {
            let e = e.map_err(|e| ExecError::Submit(e.to_string()))?;
            if e.file_type().map(|t| t.is_file()).unwrap_or(false) {
                let name = e.file_name().to_string_lossy().into_owned();
                files.push((name, std::fs::read(e.path()).map_err(|e| ExecError::Submit(e.to_string()))?));
            }
        }
        let cores = bundle.cores.max(1);
        let max_wall_s = self.max_wall_s;
        let c = script::charging(&self.cfg, bundle.account.as_deref());
        let script = batch_script(&c, &dir, &flowcfd);
        let name = bundle.run_name();
        let id = self
            .blocking(move |l| {
                if let Some(id) = submitted(l, &name, &dir)? {
                    tracing::info!(job = %name, slurm_job = %id, "already submitted; re-attaching");
                    return Ok((id, dir));
                }
                l.run(&command(&["mkdir", "-p", &format!("{dir}/out")]))?;
                for (f, data) in &files {
                    l.put(&format!("{dir}/{f}"), data, 0o600)?;
                }
                l.put(&format!("{dir}/job.sh"), script.as_bytes(), 0o700)?;
                let words = sbatch_words(&c, &name, cores, &dir, max_wall_s);
                let refs: Vec<&str> = words.iter().map(String::as_str).collect();
                let out = l.run(&command(&refs))?;
                if out.code != 0 {
                    let _ = l.run(&command(&["rm", "-rf", &dir]));
                    return Err(ExecError::Submit(format!(
                        "sbatch refused the job: {}",
                        out.stderr.trim().lines().last().unwrap_or("no message")
                    )));
                }
                let id = out.stdout.trim().split(';').next().unwrap_or("").to_string();
                if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
                    return Err(ExecError::Submit(format!("sbatch said {:?}, not a job id", out.stdout.trim())));
                }
                Ok((id, dir))
            })
            .await?;
        Ok(Handle(format!("slurm:{}:{}:{}", self.cfg.name, id.0, id.1)))
    }

    async fn status(&self, handles: &[Handle]) -> Result<Vec<ExecStatus>, ExecError> {
        let parsed: Vec<(String, String)> = handles.iter().map(|h| self.parse(h)).collect::<Result<_, _>>()?;
        self.blocking(move |l| parsed.iter().map(|(id, dir)| state::status(l, id, dir)).collect()).await
    }

    async fn read_log(&self, handle: &Handle, offset: u64) -> Result<(Vec<u8>, u64), ExecError> {
        let (_, dir) = self.parse(handle)?;
        let bytes = self.blocking(move |l| l.read_at(&format!("{dir}/run.log"), offset, LOG_CHUNK)).await?;
        let bytes = bytes.unwrap_or_default();
        let next = offset + bytes.len() as u64;
        Ok((bytes, next))
    }

    async fn cancel(&self, handle: &Handle) -> Result<(), ExecError> {
        let (id, _) = self.parse(handle)?;
        self.blocking(move |l| {
            let out = l.run(&command(&["scancel", &id]))?;
            if out.code != 0 {
                return Err(ExecError::Io(format!("scancel {id}: {}", out.stderr.trim())));
            }
            Ok(())
        })
        .await
    }

    async fn fetch_results(&self, handle: &Handle) -> Result<PathBuf, ExecError> {
        let (_, dir) = self.parse(handle)?;
        let job = dir.rsplit('/').next().unwrap_or("job").to_string();
        let local = self.data_dir.join("jobs").join(&job).join("out");
        std::fs::create_dir_all(&local).map_err(|e| ExecError::Io(e.to_string()))?;
        let to = local.clone();
        let c = self.cfg.clone();
        self.blocking(move |l| {
            for f in ["summary.json", "failure.json", crate::runner::usage::USAGE_FILE] {
                if let Some(b) = l.read_at(&format!("{dir}/out/{f}"), 0, 64 << 20)? {
                    std::fs::write(to.join(f), b).map_err(|e| ExecError::Io(e.to_string()))?;
                }
            }
            let packed = to.join(CASE_TGZ);
            if !packed.exists() {
                fetch_case(l, &c, &dir, &to)?;
            }
            // The results are here: clean the cluster's scratch.
            l.run(&command(&["rm", "-rf", &dir]))?;
            Ok(())
        })
        .await?;
        Ok(local)
    }

    /// Slurm's record (see `accounting`), else the run's `usage.json` as fetched with the
    /// results (or, before that, as it is on the cluster).
    async fn usage(&self, handle: &Handle) -> Result<Option<ExecUsage>, ExecError> {
        let (id, dir) = self.parse(handle)?;
        let job = dir.rsplit('/').next().unwrap_or("job").to_string();
        let local = self.data_dir.join("jobs").join(job).join("out");
        self.blocking(move |l| {
            let fallback = match crate::runner::usage::read(&local) {
                Some(u) => Some(u),
                None => l
                    .read_at(&format!("{dir}/out/{}", crate::runner::usage::USAGE_FILE), 0, 1 << 20)?
                    .and_then(|b| crate::runner::usage::parse(&b)),
            };
            accounting::usage(l, &id, fallback.map(ExecUsage::from))
        })
        .await
    }

    /// Writes the request into the case the run is solving on the cluster, through the
    /// link, every path quoted.
    async fn stop_gracefully(&self, handle: &Handle, reason: &str) -> Result<bool, ExecError> {
        let (_, dir) = self.parse(handle)?;
        let case = format!("{dir}/out/.partial/case");
        let reason = stop_reason(reason);
        self.blocking(move |l| {
            let out = l.run(&command(&["test", "-f", &format!("{case}/system/controlDict")]))?;
            if out.code != 0 {
                return Ok(false);
            }
            // The reason goes in whole (written aside, then renamed): the run may look at
            // the request while it is being written.
            let part = format!("{case}/{STOP_REQUEST}.part");
            l.put(&part, reason.as_bytes(), 0o600)?;
            l.run(&command(&["mv", "-f", &part, &format!("{case}/{STOP_REQUEST}")]))?;
            l.put(&format!("{case}/{STOP_FILE}"), b"", 0o600)?;
            Ok(true)
        })
        .await
    }
}

/// The packed case, on the cluster and (once whole) here.
const CASE_TGZ: &str = "case.tar.gz";

/// The time a transfer of `bytes` gets: `transfer_base_s` plus the bytes at the slowest
/// rate still counted as progress (`transfer_min_kib_s`).
pub fn transfer_limit(c: &ClusterConfig, bytes: u64) -> Duration {
    Duration::from_secs(c.transfer_base_s.saturating_add(bytes / (c.transfer_min_kib_s.max(1) * 1024)))
}

/// Packs the run's case on the cluster (once: the archive is written under `.part` and then
/// renamed, so a whole one is never packed again) and streams it into `to/case.tar.gz`
/// (through `.part`, resumed where a cut-short try left it). Each step gets a time sized to
/// the data. A run that left no case directory has no archive.
fn fetch_case(l: &Link, c: &ClusterConfig, dir: &str, to: &std::path::Path) -> Result<(), ExecError> {
    let tgz = format!("{dir}/{CASE_TGZ}");
    let size = match l.size(&tgz)? {
        Some(n) => n,
        None => {
            let Some(case) = ["case", ".partial/case"]
                .into_iter()
                .map(|c| format!("{dir}/out/{c}"))
                .find(|d| l.run(&command(&["test", "-d", d])).is_ok_and(|o| o.code == 0))
            else {
                return Ok(());
            };
            let du = l.run(&command(&["du", "-sb", &case]))?;
            let bytes: u64 = du.stdout.split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or(0);
            // A part of its own per try, and `timeout` on the cluster too: a try that timed
            // out here must not leave a packer behind writing into the next try's archive.
            let part = format!("{tgz}.{}.part", crate::store::new_id());
            let parent = format!("{case}/..");
            let limit = transfer_limit(c, bytes);
            let secs = limit.as_secs().to_string();
            let line = format!(
                "{} && {}",
                command(&["timeout", "-k", "10", &secs, "tar", "-czf", &part, "-C", &parent, "case"]),
                command(&["mv", &part, &tgz])
            );
            let out = l.run_for(&line, limit)?;
            if out.code == 124 {
                let _ = l.run(&command(&["rm", "-f", &part]));
                return Err(ExecError::Timeout(format!(
                    "packing the case ({bytes} bytes) on the cluster took over {secs} s (transfer_base_s, \
                     transfer_min_kib_s)"
                )));
            }
            if out.code != 0 {
                let _ = l.run(&command(&["rm", "-f", &part]));
                return Err(ExecError::Io(format!("packing the case on the cluster: {}", out.stderr.trim())));
            }
            l.size(&tgz)?.ok_or_else(|| ExecError::Io(format!("{tgz} is missing after packing")))?
        }
    };
    let part = to.join(format!("{CASE_TGZ}.part"));
    l.download(&tgz, &part, size, transfer_limit(c, size))?;
    std::fs::rename(&part, to.join(CASE_TGZ)).map_err(|e| ExecError::Io(e.to_string()))
}

/// The Slurm job already submitted under `name` (squeue, which still lists recently ended
/// jobs with `-t all`), or the one whose batch script started in `dir` (it writes
/// `slurm_job_id` first): a second submission finds the first instead of starting another.
fn submitted(l: &Link, name: &str, dir: &str) -> Result<Option<String>, ExecError> {
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    let out = l.run(&command(&["squeue", "--me", "-h", "-t", "all", "-n", name, "-o", "%i"]))?;
    if out.code == 0 {
        if let Some(id) = out.stdout.lines().map(str::trim).find(|s| digits(s)) {
            return Ok(Some(id.to_string()));
        }
    }
    let recorded = l.read_at(&format!("{dir}/slurm_job_id"), 0, 64)?.unwrap_or_default();
    let id = String::from_utf8_lossy(&recorded).trim().to_string();
    Ok(digits(&id).then_some(id))
}
