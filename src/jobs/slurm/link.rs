//! The SSH session to one cluster: host-key pinning before authentication, commands, SFTP
//! reads and writes, and re-opening a dropped connection with backoff.
use super::ExecError;
use crate::config::ClusterConfig;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What running a remote command gave.
#[derive(Debug)]
pub struct Output {
    /// The exit status.
    pub code: i32,
    /// Standard output, whole.
    pub stdout: String,
    /// Standard error, whole (kept for error messages).
    pub stderr: String,
}

/// An SSH connection to one cluster, opened on first use and re-opened when it drops.
pub struct Link {
    cfg: ClusterConfig,
    key: Arc<str>,
    session: Mutex<Option<ssh2::Session>>,
}

/// How long one SSH call may wait for the server before the link counts as dropped.
const CALL_TIMEOUT_MS: u32 = 60_000;

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
        sess.set_timeout(CALL_TIMEOUT_MS);
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
                        // A timed-out call may leave the session mid-channel: start afresh.
                        if matches!(r, Err(ExecError::Unreachable(_) | ExecError::Io(_) | ExecError::Timeout(_))) {
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
        self.with(|s| exec(s, line))
    }

    /// Runs a command line that may be silent for long (packing a big case): the SSH
    /// call waits up to `limit` instead of the usual minute, and a command still running
    /// then is a [`ExecError::Timeout`], not a dropped link to retry.
    pub fn run_for(&self, line: &str, limit: Duration) -> Result<Output, ExecError> {
        let ms = u32::try_from(limit.as_millis()).unwrap_or(u32::MAX).max(CALL_TIMEOUT_MS);
        let start = std::time::Instant::now();
        let out = self.with(|s| {
            s.set_timeout(ms);
            let r = exec(s, line);
            s.set_timeout(CALL_TIMEOUT_MS);
            match r {
                Err(ExecError::Io(e)) if start.elapsed() >= limit => {
                    Err(ExecError::Timeout(format!("{line:?} ran past {} s ({e})", limit.as_secs())))
                }
                r => r,
            }
        });
        out
    }

    /// The size of the remote `path`, or None if it does not exist.
    pub fn size(&self, path: &str) -> Result<Option<u64>, ExecError> {
        self.with(|s| {
            let sftp = s.sftp().map_err(|e| ExecError::Io(format!("sftp: {e}")))?;
            match sftp.stat(Path::new(path)) {
                Ok(st) => Ok(Some(st.size.unwrap_or(0))),
                Err(e) if e.code() == ssh2::ErrorCode::SFTP(2) => Ok(None),
                Err(e) => Err(ExecError::Io(format!("sftp stat {path}: {e}"))),
            }
        })
    }

    /// Copies the remote `path` (`size` bytes, not changing) to the local file `to`,
    /// streaming one buffer at a time. What `to` already holds is kept: a download that a
    /// dropped link (or a restart) cut short goes on from there. Past `limit` it stops with
    /// [`ExecError::Timeout`], leaving `to` to be resumed.
    pub fn download(&self, path: &str, to: &Path, size: u64, limit: Duration) -> Result<(), ExecError> {
        let deadline = std::time::Instant::now() + limit;
        let local = |e: std::io::Error| ExecError::Io(format!("{}: {e}", to.display()));
        self.with(|s| {
            let mut out = std::fs::OpenOptions::new().create(true).append(true).open(to).map_err(local)?;
            let mut off = out.metadata().map_err(local)?.len();
            if off > size {
                // Not a prefix of this archive: start again.
                out.set_len(0).map_err(local)?;
                off = 0;
            }
            let sftp = s.sftp().map_err(|e| ExecError::Io(format!("sftp: {e}")))?;
            let mut f = sftp.open(Path::new(path)).map_err(|e| ExecError::Io(format!("sftp open {path}: {e}")))?;
            f.seek(SeekFrom::Start(off)).map_err(|e| ExecError::Io(e.to_string()))?;
            let mut buf = vec![0u8; 1 << 20];
            while off < size {
                if std::time::Instant::now() > deadline {
                    return Err(ExecError::Timeout(format!(
                        "downloading {path}: {off} of {size} bytes after {} s; the next try resumes it",
                        limit.as_secs()
                    )));
                }
                let want = buf.len().min((size - off) as usize);
                let n = f.read(&mut buf[..want]).map_err(|e| ExecError::Io(format!("sftp read {path}: {e}")))?;
                if n == 0 {
                    return Err(ExecError::Io(format!("{path} ended at {off} of {size} bytes")));
                }
                out.write_all(&buf[..n]).map_err(local)?;
                off += n as u64;
            }
            out.sync_all().map_err(local)
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

/// Runs one command line on a session's new channel and collects its output.
fn exec(s: &ssh2::Session, line: &str) -> Result<Output, ExecError> {
    let io = |e: ssh2::Error| ExecError::Io(format!("ssh: {e}"));
    let mut ch = s.channel_session().map_err(io)?;
    ch.exec(line).map_err(io)?;
    let mut stdout = String::new();
    ch.read_to_string(&mut stdout).map_err(|e| ExecError::Io(e.to_string()))?;
    let mut stderr = String::new();
    ch.stderr().read_to_string(&mut stderr).map_err(|e| ExecError::Io(e.to_string()))?;
    ch.wait_close().map_err(io)?;
    Ok(Output { code: ch.exit_status().map_err(io)?, stdout, stderr })
}
