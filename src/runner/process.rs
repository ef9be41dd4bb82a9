//! Child processes in their own process groups: the one place that creates, signals and
//! reaps them. The step runner uses it for each OpenFOAM step, and the local executor for
//! the detached `flowcfd run` it starts.
use std::os::unix::process::CommandExt;
use std::process::Child;
use std::time::{Duration, Instant};

/// Starts the command in a new session (and so a new process group led by the child): it
/// outlives a server restart, and its whole group can be signalled.
pub fn own_session(cmd: &mut std::process::Command) {
    // SAFETY: setsid is async-signal-safe and only touches the child after fork.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Sends `sig` to every process in group `pgid`.
pub fn signal_group(pgid: i32, sig: i32) {
    // SAFETY: kill(2) with a negative pid signals a process group; no memory is involved.
    unsafe {
        libc::kill(-pgid, sig);
    }
}

/// The live members of session `sid` whose working directory is under `under`, when
/// given: (pid, process group) each. Zombies are left out; they are already dead.
fn session_members(sid: i32, under: Option<&std::path::Path>) -> Vec<(i32, i32)> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        // After the command's closing parenthesis: state, ppid, pgrp, session, ...
        let fields: Vec<&str> = stat.rsplit_once(')').map(|(_, r)| r.split_whitespace().collect()).unwrap_or_default();
        let (Some(state), Some(pgrp), Some(session)) = (fields.first(), fields.get(2), fields.get(3)) else { continue };
        if *state == "Z" || *state == "X" || session.parse::<i32>().ok() != Some(sid) {
            continue;
        }
        if under.is_some_and(|d| !std::fs::read_link(e.path().join("cwd")).is_ok_and(|c| c.starts_with(d))) {
            continue;
        }
        out.push((pid, pgrp.parse().unwrap_or(pid)));
    }
    out
}

/// SIGKILLs every process of session `sid`, whatever group it is in, until none is left
/// (a process that forks while it is being killed cannot escape: its child is in the
/// session too). Returns how many processes were killed.
///
/// `flowcfd run` leads its own session ([`own_session`]) and starts each step in a group
/// of its own inside it, so this reaches everything a run started, MPI ranks included.
/// While the session's leader or any member lives, no new session can take its id; once
/// the leader is gone, `under` (the run's directory) keeps an unrelated session that got
/// the number since out of reach.
pub fn kill_session(sid: i32, under: Option<&std::path::Path>) -> usize {
    let mut killed = std::collections::HashSet::new();
    for _ in 0..100 {
        let members = session_members(sid, under);
        if members.is_empty() {
            break;
        }
        for (pid, pgrp) in members {
            // SAFETY: kill(2) on a pid, and on a group of the same session; no memory.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                if pgrp > 1 {
                    libc::kill(-pgrp, libc::SIGKILL);
                }
            }
            killed.insert(pid);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    killed.len()
}

/// SIGTERM to group `pgid`, then up to `grace` for `gone` to report that it has ended.
/// Returns whether it did; the caller decides whether SIGKILL is safe (it is only while the
/// leader is unreaped, since its group id cannot be reused until then).
pub fn terminate_group(pgid: i32, grace: Duration, mut gone: impl FnMut() -> bool) -> bool {
    signal_group(pgid, libc::SIGTERM);
    let t = Instant::now();
    while t.elapsed() < grace {
        if gone() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    gone()
}

/// Kills the whole process group if the child has not been reaped when dropped.
///
/// The leader is only reaped after its group has been killed: while it is a zombie its
/// PGID cannot be reused, so the group kill can never hit an unrelated process, and MPI
/// ranks that outlive mpirun die with it.
pub struct GroupGuard {
    child: Child,
    reaped: bool,
}

impl GroupGuard {
    /// Guards `child`, which must lead its own process group (`process_group(0)` or
    /// [`own_session`]).
    pub fn new(child: Child) -> GroupGuard {
        GroupGuard { child, reaped: false }
    }

    fn pgid(&self) -> i32 {
        self.child.id() as i32
    }

    /// True once the leader has exited; leaves it unreaped (WNOWAIT).
    pub fn leader_exited(&self) -> bool {
        // SAFETY: waitid writes into the zeroed siginfo_t we own.
        unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            let r = libc::waitid(
                libc::P_PID,
                self.child.id() as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            );
            r == 0 && info.si_pid() != 0
        }
    }

    /// Kills what is left of the group, then reaps the leader.
    pub fn reap(&mut self) -> std::io::Result<std::process::ExitStatus> {
        signal_group(self.pgid(), libc::SIGKILL);
        let status = self.child.wait();
        self.reaped = true;
        status
    }

    /// SIGTERM, a grace period, then SIGKILL; always reaps.
    pub fn terminate(&mut self) {
        let pgid = self.pgid();
        terminate_group(pgid, Duration::from_secs(5), || self.leader_exited());
        let _ = self.reap();
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if !self.reaped {
            self.terminate();
        }
    }
}
