//! Where a run stands: `squeue`, then `sacct`, then `scontrol show job`, then the marker
//! file the batch script writes last, in that order, since many clusters run without
//! accounting; and Slurm's state words mapped onto [`ExecStatus`].
use super::shell::command;
use super::{ExecError, ExecStatus, Link};
use crate::jobs::executor::QUEUED;

/// Where job `id`, working in `dir`, stands. A failure carries the reason the run recorded
/// in `out/failure.json` when it recorded one, which says more than Slurm's state word.
pub(super) fn status(l: &Link, id: &str, dir: &str) -> Result<ExecStatus, ExecError> {
    Ok(match scheduler_status(l, id, dir)? {
        ExecStatus::Failed(why) => ExecStatus::Failed(failure_reason(l, dir).unwrap_or(why)),
        s => s,
    })
}

/// A state word as squeue, sacct and scontrol print it (`CANCELLED by 1001`, `COMPLETED+`);
/// `None` for an empty one, so that the next source is asked.
fn state_of(word: &str, reason: &str) -> Option<ExecStatus> {
    let w = word.split_whitespace().next().unwrap_or("").trim_end_matches('+');
    Some(match w {
        "PENDING" | "CONFIGURING" | "REQUEUED" | "RESIZING" | "SUSPENDED" => ExecStatus::Running { step: QUEUED },
        "RUNNING" | "COMPLETING" | "STAGE_OUT" => ExecStatus::Running { step: "running" },
        "COMPLETED" => ExecStatus::Completed,
        "CANCELLED" => ExecStatus::Cancelled,
        "" => return None,
        other => ExecStatus::Failed(format!("Slurm reports the job {other}{reason}")),
    })
}

fn scheduler_status(l: &Link, id: &str, dir: &str) -> Result<ExecStatus, ExecError> {
    // 1. squeue: jobs still queued or running.
    let q = l.run(&command(&["squeue", "-h", "-j", id, "-o", "%T|%r"]))?;
    if q.code == 0 {
        if let Some((state, reason)) = q.stdout.trim().split_once('|') {
            let why = if reason.is_empty() || reason == "None" { String::new() } else { format!(" ({reason})") };
            if let Some(s) = state_of(state, &why) {
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
            if let Some(s) = a.stdout.lines().next().and_then(|line| state_of(line, "")) {
                return Ok(s);
            }
        }
    }
    // 3. scontrol, while the controller still remembers the job (MinJobAge).
    let c = l.run(&command(&["scontrol", "show", "job", id]))?;
    if c.code == 0 {
        if let Some(state) = c.stdout.split_whitespace().find_map(|w| w.strip_prefix("JobState=")) {
            if let Some(s) = state_of(state, "") {
                return Ok(s);
            }
        }
    }
    // 4. The marker the batch script writes as its last act.
    match l.read_at(&format!("{dir}/exit_code"), 0, 64)? {
        Some(b) if String::from_utf8_lossy(&b).trim() == "0" => Ok(ExecStatus::Completed),
        Some(b) => Ok(ExecStatus::Failed(format!("the run exited with code {}", String::from_utf8_lossy(&b).trim()))),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_map_from_each_source() {
        assert_eq!(state_of("PENDING", ""), Some(ExecStatus::Running { step: QUEUED }));
        assert_eq!(state_of("COMPLETED", ""), Some(ExecStatus::Completed));
        assert_eq!(state_of("CANCELLED by 1001", ""), Some(ExecStatus::Cancelled));
        assert_eq!(state_of("CANCELLED+", ""), Some(ExecStatus::Cancelled));
        assert!(matches!(state_of("TIMEOUT", ""), Some(ExecStatus::Failed(m)) if m.contains("TIMEOUT")));
        assert_eq!(state_of("", ""), None);
    }
}
