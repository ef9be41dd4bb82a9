//! The Slurm-over-SSH executor: a university cluster reached with an SSH key.
//!
//! Per job, in `REMOTE_DIR/JOB` on the cluster: the bundle (`case.json` and the geometry)
//! uploaded over SFTP, `job.sh`, the run's log `run.log` (Slurm's output file), `out/`, and
//! an `exit_code` marker the batch script writes last. The batch script runs
//! `flowcfd run case.json --stream-log` (FlowCFD's own binary, uploaded once per version
//! and cached, unless the cluster has one at `flowcfd_path`), so the log has the same step
//! markers as a local run and the same `summary.json` comes back.
//!
//! Where a run stands comes from `squeue`, then `sacct`, then `scontrol show job`, then the
//! marker file, in that order, since many clusters run without accounting.
//!
//! Every word that reaches the remote shell goes through [`quote`]. The host key is checked
//! against the pinned key before authenticating. A dropped connection is re-opened with
//! backoff; the job is not failed for it.
use super::executor::{Bundle, ExecError, ExecStatus, Executor, Handle};
use crate::config::ClusterConfig;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Quotes one word for a POSIX shell: as it is when it is made only of characters no shell
/// treats specially, otherwise in single quotes (a `'` inside becomes `'\''`). NUL cannot
/// be passed to a shell at all and is dropped.
pub fn quote(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_-./=:,+@%".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        return word.to_string();
    }
    let mut out = String::with_capacity(word.len() + 2);
    out.push('\'');
    for c in word.chars().filter(|&c| c != '\0') {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// A command line from words, each quoted.
pub fn command(words: &[&str]) -> String {
    words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")
}

/// What running a remote command gave.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// An SSH connection to one cluster, opened on first use and re-opened when it drops.
pub struct Link {
    cfg: ClusterConfig,
    key: Arc<str>,
    session: Mutex<Option<ssh2::Session>>,
}

/// How often and how long to retry a dropped connection.
const RETRIES: u32 = 4;
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

impl Link {
    /// A link to `cfg`'s cluster, signing in with the private key `key` (OpenSSH PEM).
    pub fn new(cfg: ClusterConfig, key: String) -> Link {
        Link { cfg, key: key.into(), session: Mutex::new(None) }
    }

    /// The SHA-256 fingerprint of the cluster's host key, as `ssh-keygen -l` prints it,
    /// and its OpenSSH public-key line.
    pub fn fingerprint(sess: &ssh2::Session) -> Option<(String, String)> {
        use base64::Engine;
        let hash = sess.host_key_hash(ssh2::HashType::Sha256)?;
        let fp = format!("SHA256:{}", base64::engine::general_purpose::STANDARD_NO_PAD.encode(hash));
        let (key, kind) = sess.host_key()?;
        let name = match kind {
            ssh2::HostKeyType::Ed25519 => "ssh-ed25519",
            ssh2::HostKeyType::Rsa => "ssh-rsa",
            ssh2::HostKeyType::Ecdsa256 => "ecdsa-sha2-nistp256",
            ssh2::HostKeyType::Ecdsa384 => "ecdsa-sha2-nistp384",
            ssh2::HostKeyType::Ecdsa521 => "ecdsa-sha2-nistp521",
            _ => "unknown",
        };
        Some((fp, format!("{name} {}", base64::engine::general_purpose::STANDARD.encode(key))))
    }

    /// Connects without authenticating and returns the host key the server offers (for an
    /// administrator to compare and pin).
    pub fn offered_host_key(&self) -> Result<(String, String), ExecError> {
        let sess = self.handshake()?;
        Self::fingerprint(&sess).ok_or_else(|| ExecError::HostKey("the server sent no host key".into()))
    }

    fn handshake(&self) -> Result<ssh2::Session, ExecError> {
        let c = &self.cfg;
        let net = |e: std::io::Error| ExecError::Unreachable(format!("{}:{}: {e}", c.host, c.port));
        let addr = std::net::ToSocketAddrs::to_socket_addrs(&(c.host.as_str(), c.port))
            .map_err(net)?
            .next()
            .ok_or_else(|| ExecError::Unreachable(format!("{}: no address", c.host)))?;
        let tcp = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(10)).map_err(net)?;
        let mut sess = ssh2::Session::new().map_err(|e| ExecError::Io(e.to_string()))?;
        sess.set_tcp_stream(tcp);
        sess.set_timeout(60_000);
        sess.handshake().map_err(|e| ExecError::Unreachable(format!("SSH handshake with {}: {e}", c.host)))?;
        Ok(sess)
    }

    fn open(&self) -> Result<ssh2::Session, ExecError> {
        let c = &self.cfg;
        let sess = self.handshake()?;
        let (fp, line) =
            Self::fingerprint(&sess).ok_or_else(|| ExecError::HostKey("the server sent no host key".into()))?;
        match c.host_key.as_deref().map(str::trim) {
            None | Some("") => {
                return Err(ExecError::HostKey(format!(
                    "cluster {:?}: the host key of {} is not pinned; it offered {fp} ({line}). If that is the \
                     cluster's key, set host_key = \"{fp}\" for the cluster (or confirm it on the admin page)",
                    c.name, c.host
                )))
            }
            Some(pinned) => {
                let pinned_key = pinned.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
                if pinned != fp && pinned_key != line {
                    return Err(ExecError::HostKey(format!(
                        "cluster {:?}: HOST KEY MISMATCH for {}: pinned {pinned}, offered {fp}. Someone may be \
                         intercepting the connection, or the cluster's key changed; check with its administrators",
                        c.name, c.host
                    )));
                }
            }
        }
        sess.userauth_pubkey_memory(&c.user, None, &self.key, None).map_err(|e| {
            ExecError::Auth(format!(
                "cluster {:?}: {}@{} refused the key ({e}); check the user name and that the public key is in \
                 ~/.ssh/authorized_keys there",
                c.name, c.user, c.host
            ))
        })?;
        Ok(sess)
    }

    /// Runs `f` with a live session, re-opening a dropped connection with backoff.
    /// Authentication and host-key failures are not retried.
    pub fn with<T>(&self, f: impl Fn(&ssh2::Session) -> Result<T, ExecError>) -> Result<T, ExecError> {
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 0;
        loop {
            let result = {
                let mut guard = self.session.lock().unwrap_or_else(|p| p.into_inner());
                let opened = match guard.as_ref() {
                    Some(_) => Ok(()),
                    None => self.open().map(|s| *guard = Some(s)),
                };
                match opened {
                    Err(e @ (ExecError::Auth(_) | ExecError::HostKey(_))) => return Err(e),
                    // Not reachable now: retried below, like a dropped session.
                    Err(e) => Err(e),
                    Ok(()) => {
                        let r = f(guard.as_ref().expect("opened above"));
                        if matches!(r, Err(ExecError::Unreachable(_) | ExecError::Io(_))) {
                            *guard = None;
                        }
                        r
                    }
                }
            };
            match result {
                Err(ExecError::Unreachable(e) | ExecError::Io(e)) if attempt < RETRIES => {
                    tracing::warn!(cluster = %self.cfg.name, error = %e, "SSH link dropped; reconnecting");
                    std::thread::sleep(backoff);
                    backoff *= 2;
                    attempt += 1;
                }
                r => return r,
            }
        }
    }

    /// Runs a command line (built with [`quote`]) and collects its output.
    pub fn run(&self, line: &str) -> Result<Output, ExecError> {
        self.with(|s| {
            let io = |e: ssh2::Error| ExecError::Io(format!("ssh: {e}"));
            let mut ch = s.channel_session().map_err(io)?;
            ch.exec(line).map_err(io)?;
            let mut stdout = String::new();
            ch.read_to_string(&mut stdout).map_err(|e| ExecError::Io(e.to_string()))?;
            let mut stderr = String::new();
            ch.stderr().read_to_string(&mut stderr).map_err(|e| ExecError::Io(e.to_string()))?;
            ch.wait_close().map_err(io)?;
            Ok(Output { code: ch.exit_status().map_err(io)?, stdout, stderr })
        })
    }

    /// Writes `data` to the remote `path` (relative to the home directory), mode 0600.
    pub fn put(&self, path: &str, data: &[u8], mode: i32) -> Result<(), ExecError> {
        self.with(|s| {
            let sftp = s.sftp().map_err(|e| ExecError::Io(format!("sftp: {e}")))?;
            let mut f = sftp
                .open_mode(
                    Path::new(path),
                    ssh2::OpenFlags::WRITE | ssh2::OpenFlags::CREATE | ssh2::OpenFlags::TRUNCATE,
                    mode,
                    ssh2::OpenType::File,
                )
                .map_err(|e| ExecError::Io(format!("sftp create {path}: {e}")))?;
            f.write_all(data).map_err(|e| ExecError::Io(format!("sftp write {path}: {e}")))
        })
    }

    /// Up to `max` bytes of the remote `path` from `offset` (None if it does not exist).
    pub fn read_at(&self, path: &str, offset: u64, max: usize) -> Result<Option<Vec<u8>>, ExecError> {
        self.with(|s| {
            let sftp = s.sftp().map_err(|e| ExecError::Io(format!("sftp: {e}")))?;
            let mut f = match sftp.open(Path::new(path)) {
                Ok(f) => f,
                Err(e) if e.code() == ssh2::ErrorCode::SFTP(2) => return Ok(None),
                Err(e) => return Err(ExecError::Io(format!("sftp open {path}: {e}"))),
            };
            f.seek(SeekFrom::Start(offset)).map_err(|e| ExecError::Io(e.to_string()))?;
            let mut buf = Vec::new();
            f.take(max as u64).read_to_end(&mut buf).map_err(|e| ExecError::Io(e.to_string()))?;
            Ok(Some(buf))
        })
    }

    /// Drops the connection (tests use it to simulate a dropped link).
    pub fn disconnect(&self) {
        if let Some(s) = self.session.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = s.disconnect(None, "bye", None);
        }
    }
}

/// Runs jobs on a Slurm cluster over SSH.
pub struct SlurmExecutor {
    cfg: ClusterConfig,
    link: Arc<Link>,
    /// The local `flowcfd` binary, uploaded to clusters without `flowcfd_path`.
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
    /// An executor for `cfg`, signing in with `key`; `exe` is uploaded when the cluster has
    /// no `flowcfd_path`.
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

    /// The remote flowcfd: the configured one, or this binary uploaded once per version.
    async fn remote_flowcfd(&self) -> Result<String, ExecError> {
        if let Some(p) = &self.cfg.flowcfd_path {
            return Ok(p.clone());
        }
        if let Some(p) = self.uploaded.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            return Ok(p);
        }
        let exe = self.exe.clone();
        let dir = self.base().await?;
        let path = self
            .blocking(move |l| {
                let bytes = std::fs::read(&exe).map_err(|e| ExecError::Submit(format!("{}: {e}", exe.display())))?;
                let digest = crate::auth::sha256_hex(&bytes);
                let path = format!("{dir}/bin/flowcfd-{}", &digest[..16]);
                let have = l.run(&format!("test -x {} && echo yes", quote(&path)))?;
                if have.stdout.trim() != "yes" {
                    l.run(&command(&["mkdir", "-p", &format!("{dir}/bin")]))?;
                    let tmp = format!("{path}.part");
                    l.put(&tmp, &bytes, 0o700)?;
                    l.run(&command(&["mv", &tmp, &path]))?;
                }
                Ok(path)
            })
            .await?;
        *self.uploaded.lock().unwrap_or_else(|p| p.into_inner()) = Some(path.clone());
        Ok(path)
    }

    fn state_of(word: &str, reason: &str) -> Option<ExecStatus> {
        let w = word.split_whitespace().next().unwrap_or("").trim_end_matches('+');
        Some(match w {
            "PENDING" | "CONFIGURING" | "REQUEUED" | "RESIZING" | "SUSPENDED" => {
                ExecStatus::Running { step: "preparing" }
            }
            "RUNNING" | "COMPLETING" | "STAGE_OUT" => ExecStatus::Running { step: "running" },
            "COMPLETED" => ExecStatus::Completed,
            "CANCELLED" => ExecStatus::Cancelled,
            "" => return None,
            other => ExecStatus::Failed(format!("Slurm reports the job {other}{reason}")),
        })
    }

    fn status_blocking(l: &Link, id: &str, dir: &str) -> Result<ExecStatus, ExecError> {
        // 1. squeue: jobs still queued or running.
        let q = l.run(&command(&["squeue", "-h", "-j", id, "-o", "%T|%r"]))?;
        if q.code == 0 {
            if let Some((state, reason)) = q.stdout.trim().split_once('|') {
                let why = if reason.is_empty() || reason == "None" { String::new() } else { format!(" ({reason})") };
                if let Some(s) = Self::state_of(state, &why) {
                    return Ok(s);
                }
            }
        }
        // 2. sacct, from accounting or the job-completion log.
        for args in [
            &["sacct", "-n", "-X", "-P", "-j", id, "--format=State"][..],
            &["sacct", "-c", "-n", "-X", "-P", "-j", id, "--format=State"][..],
        ] {
            let a = l.run(&command(args))?;
            if a.code == 0 {
                if let Some(s) = a.stdout.lines().next().and_then(|line| Self::state_of(line, "")) {
                    return Ok(s);
                }
            }
        }
        // 3. scontrol, while the controller still remembers the job (MinJobAge).
        let c = l.run(&command(&["scontrol", "show", "job", id]))?;
        if c.code == 0 {
            if let Some(state) = c.stdout.split_whitespace().find_map(|w| w.strip_prefix("JobState=")) {
                if let Some(s) = Self::state_of(state, "") {
                    return Ok(s);
                }
            }
        }
        // 4. The marker the batch script writes as its last act.
        match l.read_at(&format!("{dir}/exit_code"), 0, 64)? {
            Some(b) if String::from_utf8_lossy(&b).trim() == "0" => Ok(ExecStatus::Completed),
            Some(b) => {
                Ok(ExecStatus::Failed(format!("the run exited with code {}", String::from_utf8_lossy(&b).trim())))
            }
            None => Ok(ExecStatus::Failed(format!(
                "Slurm no longer knows job {id} (no squeue, sacct or scontrol record) and it left no exit code"
            ))),
        }
    }

    /// The failure the run recorded in out/failure.json, if any.
    fn failure_reason(l: &Link, dir: &str) -> Option<String> {
        let b = l.read_at(&format!("{dir}/out/failure.json"), 0, 1 << 20).ok()??;
        let v: serde_json::Value = serde_json::from_slice(&b).ok()?;
        let e = v["error"].as_str()?;
        Some(match v["step"].as_str() {
            Some(s) if !s.is_empty() => format!("{s}: {e}"),
            _ => e.to_string(),
        })
    }
}

#[async_trait::async_trait]
impl Executor for SlurmExecutor {
    fn name(&self) -> &str {
        &self.cfg.name
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
        let c = self.cfg.clone();
        let script = batch_script(&c, &dir, &flowcfd);
        let name = format!("flowcfd-{}", &job[..8.min(job.len())]);
        let id = self
            .blocking(move |l| {
                l.run(&command(&["mkdir", "-p", &format!("{dir}/out")]))?;
                for (f, data) in &files {
                    l.put(&format!("{dir}/{f}"), data, 0o600)?;
                }
                l.put(&format!("{dir}/job.sh"), script.as_bytes(), 0o700)?;
                let mut words: Vec<String> = vec!["sbatch".into(), "--parsable".into()];
                words.push(format!("--job-name={name}"));
                words.push(format!("--ntasks={cores}"));
                // Relative to --chdir.
                words.push("--output=run.log".to_string());
                words.push(format!("--chdir={dir}"));
                for (flag, v) in [("partition", &c.partition), ("account", &c.account), ("qos", &c.qos)] {
                    if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                        words.push(format!("--{flag}={v}"));
                    }
                }
                // The cluster's limit, or the wall-time limit (minutes, rounded up).
                words.push(format!("--time={}", c.time_limit_min.map_or(max_wall_s.div_ceil(60), u64::from)));
                words.push(format!("{dir}/job.sh"));
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
        self.blocking(move |l| {
            parsed
                .iter()
                .map(|(id, dir)| {
                    let s = Self::status_blocking(l, id, dir)?;
                    Ok(match s {
                        ExecStatus::Failed(why) => ExecStatus::Failed(Self::failure_reason(l, dir).unwrap_or(why)),
                        s => s,
                    })
                })
                .collect()
        })
        .await
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
        self.blocking(move |l| {
            for f in ["summary.json", "failure.json"] {
                if let Some(b) = l.read_at(&format!("{dir}/out/{f}"), 0, 64 << 20)? {
                    std::fs::write(to.join(f), b).map_err(|e| ExecError::Io(e.to_string()))?;
                }
            }
            // The case directory, packed on the cluster and unpacked here.
            let case = if l.run(&command(&["test", "-d", &format!("{dir}/out/case")]))?.code == 0 {
                "case"
            } else {
                ".partial/case"
            };
            let tgz = format!("{dir}/case.tar.gz");
            let out = l.run(&command(&["tar", "-czf", &tgz, "-C", &format!("{dir}/out/{case}/.."), "case"]))?;
            if out.code == 0 {
                let mut all = Vec::new();
                let mut off = 0u64;
                while let Some(b) = l.read_at(&tgz, off, 16 << 20)? {
                    if b.is_empty() {
                        break;
                    }
                    off += b.len() as u64;
                    all.extend_from_slice(&b);
                }
                let _ = std::fs::remove_dir_all(to.join("case"));
                tar::Archive::new(flate2::read::GzDecoder::new(&all[..]))
                    .unpack(&to)
                    .map_err(|e| ExecError::Io(format!("unpacking the case: {e}")))?;
            }
            // The results are here: clean the cluster's scratch.
            l.run(&command(&["rm", "-rf", &dir]))?;
            Ok(())
        })
        .await?;
        Ok(local)
    }
}

/// The batch script: the cluster's preamble (admin configuration: `module load …`, env
/// lines), then the run, then the exit-code marker. Paths are quoted; nothing in it comes
/// from a user.
pub fn batch_script(c: &ClusterConfig, dir: &str, flowcfd: &str) -> String {
    let mut s = String::from("#!/bin/bash\n# Written by FlowCFD.\n");
    for line in &c.preamble {
        s.push_str(line);
        s.push('\n');
    }
    s.push_str(&format!("cd {} || exit 1\n", quote(dir)));
    s.push_str(&format!("{} run case.json --out out --force --stream-log\n", quote(flowcfd)));
    s.push_str("code=$?\necho $code > exit_code.part && mv exit_code.part exit_code\nexit $code\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_leaves_plain_words_and_wraps_everything_else() {
        assert_eq!(quote("flowcfd-jobs/abc_1.2"), "flowcfd-jobs/abc_1.2");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("-rf"), "-rf");
        assert_eq!(quote("it's"), "'it'\\''s'");
        assert_eq!(quote("$(rm -rf ~)"), "'$(rm -rf ~)'");
        assert_eq!(quote("a\nb"), "'a\nb'");
        assert_eq!(quote("x\0y"), "'xy'");
    }

    #[test]
    fn quoted_words_reach_a_real_shell_unchanged() {
        let words =
            ["plain", "with space", "it's", "$HOME", "`id`", "$(id)", "a;b", "*", "\\", "\"q\"", "!x", "\ttab", "ü"];
        let line = format!("printf '%s\\n' {}", command(&words));
        let out = std::process::Command::new("sh").arg("-c").arg(&line).output().unwrap();
        let got: Vec<String> = String::from_utf8(out.stdout).unwrap().lines().map(String::from).collect();
        assert_eq!(got, words.iter().map(|w| w.to_string()).collect::<Vec<_>>());
    }

    #[test]
    fn states_map_from_each_source() {
        assert_eq!(SlurmExecutor::state_of("PENDING", ""), Some(ExecStatus::Running { step: "preparing" }));
        assert_eq!(SlurmExecutor::state_of("COMPLETED", ""), Some(ExecStatus::Completed));
        assert_eq!(SlurmExecutor::state_of("CANCELLED by 1001", ""), Some(ExecStatus::Cancelled));
        assert_eq!(SlurmExecutor::state_of("CANCELLED+", ""), Some(ExecStatus::Cancelled));
        assert!(matches!(SlurmExecutor::state_of("TIMEOUT", ""), Some(ExecStatus::Failed(m)) if m.contains("TIMEOUT")));
        assert_eq!(SlurmExecutor::state_of("", ""), None);
    }
}
