//! What a Slurm job cost, by Slurm's own record: `sacct` where accounting runs (slurmdbd),
//! `sacct -c` where only the job-completion log does, `scontrol show job` while the
//! controller remembers the job (MinJobAge), and else the run's own `usage.json`.
//!
//! Every query runs with `SLURM_TIME_FORMAT=%s`, so that times come as Unix seconds and the
//! cluster's time zone does not matter. Elapsed × allocated CPUs is what the site's own
//! accounting charges; a job cancelled while pending allocated none.
use super::shell::command;
use super::{ExecError, Link};
use crate::jobs::executor::ExecUsage;

/// The `sacct` columns asked for, in order.
const SACCT_FORMAT: &str = "ElapsedRaw,AllocCPUS,Start,End,State";

/// A time as Slurm printed it with `SLURM_TIME_FORMAT=%s`: Unix seconds, or nothing for
/// `Unknown`, `None`, `N/A` or an empty field.
fn epoch_ms(field: &str) -> Option<i64> {
    let f = field.trim();
    if f.is_empty() || !f.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    f.parse::<i64>().ok().map(|s| s * 1000)
}

/// Whether a state word (`CANCELLED by 0`, `COMPLETED+`) means the job no longer runs.
fn ended(state: &str) -> bool {
    let w = state.split_whitespace().next().unwrap_or("").trim_end_matches('+');
    !matches!(
        w,
        "" | "PENDING" | "CONFIGURING" | "RUNNING" | "COMPLETING" | "REQUEUED" | "RESIZING" | "SUSPENDED" | "STAGE_OUT"
    )
}

/// The first line of `sacct -X -n -P -o ElapsedRaw,AllocCPUS,Start,End,State`.
pub fn parse_sacct(stdout: &str, source: &'static str) -> Option<ExecUsage> {
    let line = stdout.lines().map(str::trim).find(|l| !l.is_empty())?;
    let f: Vec<&str> = line.split('|').collect();
    if f.len() < 5 {
        return None;
    }
    let elapsed_s: i64 = f[0].trim().parse().ok()?;
    let cores: u32 = f[1].trim().parse().ok()?;
    let done = ended(f[4]);
    let started_ms = match epoch_ms(f[2]) {
        Some(s) => s,
        // A job cancelled while pending never started: no time, no cores.
        None if done && elapsed_s == 0 => epoch_ms(f[3])?,
        None => return None,
    };
    // ElapsedRaw is what Slurm charges (a suspended job's End says more): the record ends
    // that long after its start.
    let ended_ms = done.then_some(started_ms + elapsed_s.max(0) * 1000);
    Some(ExecUsage { cores, started_ms, ended_ms, source })
}

/// `scontrol show job -o ID` (one line of `Key=Value` words): StartTime, EndTime, NumCPUs
/// and JobState. A running job's EndTime is its time limit, so it counts only once the
/// state says the job has ended.
pub fn parse_scontrol(stdout: &str) -> Option<ExecUsage> {
    let field = |k: &str| stdout.split_whitespace().find_map(|w| w.strip_prefix(k)?.strip_prefix('='));
    let state = field("JobState")?;
    let done = ended(state);
    let cores: u32 = field("NumCPUs")?.parse().ok()?;
    let started_ms = epoch_ms(field("StartTime")?)?;
    let ended_ms = if done { Some(epoch_ms(field("EndTime").unwrap_or(""))?.max(started_ms)) } else { None };
    Some(ExecUsage { cores, started_ms, ended_ms, source: "scontrol" })
}

/// Slurm's record of job `id`, asked of each source in turn; a record of a job that has
/// ended wins, else the first one found of a running job. `fallback` (the run's own
/// `usage.json`) counts when Slurm knows nothing.
pub(super) fn usage(l: &Link, id: &str, fallback: Option<ExecUsage>) -> Result<Option<ExecUsage>, ExecError> {
    let mut running = None;
    let sacct = |jobcomp: bool| {
        let mut w = vec!["env", "SLURM_TIME_FORMAT=%s", "sacct"];
        if jobcomp {
            w.push("-c");
        }
        w.extend(["-j", id, "-X", "-n", "-P", "-o", SACCT_FORMAT]);
        command(&w)
    };
    let queries = [
        (sacct(false), "sacct"),
        (sacct(true), "sacct -c"),
        (command(&["env", "SLURM_TIME_FORMAT=%s", "scontrol", "show", "job", "-o", id]), "scontrol"),
    ];
    for (line, source) in queries {
        let out = l.run(&line)?;
        if out.code != 0 {
            continue;
        }
        let got = if source == "scontrol" { parse_scontrol(&out.stdout) } else { parse_sacct(&out.stdout, source) };
        match got {
            Some(u) if u.ended_ms.is_some() => return Ok(Some(u)),
            Some(u) => running = running.or(Some(u)),
            None => {}
        }
    }
    Ok(fallback.filter(|_| running.is_none()).or(running))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sacct_lines_give_elapsed_cpus_and_times() {
        let u = parse_sacct("42|2|1796592352|1796592394|COMPLETED\n", "sacct").unwrap();
        assert_eq!((u.cores, u.started_ms, u.ended_ms), (2, 1_796_592_352_000, Some(1_796_592_394_000)));
        assert_eq!(u.core_seconds(), Some(84.0));
        // Accounting's suffix on the state word, and a cancelled job.
        let u = parse_sacct("3|4|1796592360|1796592363|CANCELLED by 0", "sacct").unwrap();
        assert_eq!(u.core_seconds(), Some(12.0));
        // Still running: End is Unknown, nothing ended yet.
        let u = parse_sacct("17|2|1796592360|Unknown|RUNNING", "sacct").unwrap();
        assert_eq!((u.ended_ms, u.core_seconds()), (None, None));
        // Cancelled while pending: no CPUs, no time.
        let u = parse_sacct("0|0|Unknown|1796592364|CANCELLED by 1001", "sacct -c").unwrap();
        assert_eq!((u.core_seconds(), u.source), (Some(0.0), "sacct -c"));
        // End says more than ElapsedRaw (a suspended job): Slurm charges ElapsedRaw.
        let u = parse_sacct("10|1|1796592300|1796592400|COMPLETED", "sacct").unwrap();
        assert_eq!(u.core_seconds(), Some(10.0));
        for bad in ["", "\n", "x|2|1|2|COMPLETED", "42|2|1796592352", "42|-1|1|2|COMPLETED"] {
            assert_eq!(parse_sacct(bad, "sacct"), None, "{bad:?}");
        }
    }

    #[test]
    fn scontrol_lines_count_only_once_the_job_ended() {
        let line = "JobId=36 JobName=wrap UserId=flowcfd-hpc(1001) JobState=COMPLETED Reason=None \
                    RunTime=00:00:03 TimeLimit=UNLIMITED SubmitTime=1796592351 StartTime=1796592352 \
                    EndTime=1796592355 Deadline=N/A NumNodes=1 NumCPUs=2 NumTasks=2 CPUs/Task=1";
        let u = parse_scontrol(line).unwrap();
        assert_eq!((u.cores, u.core_seconds(), u.source), (2, Some(6.0), "scontrol"));
        let running =
            line.replace("JobState=COMPLETED", "JobState=RUNNING").replace("EndTime=1796592355", "EndTime=Unknown");
        assert_eq!(parse_scontrol(&running).unwrap().ended_ms, None);
        // A running job's EndTime is its limit, not its end.
        let limit = line.replace("JobState=COMPLETED", "JobState=RUNNING");
        assert_eq!(parse_scontrol(&limit).unwrap().core_seconds(), None);
        let cancelled = line.replace("JobState=COMPLETED", "JobState=CANCELLED");
        assert_eq!(parse_scontrol(&cancelled).unwrap().core_seconds(), Some(6.0));
        // An ended job whose end is unknown is no record; nor is a job that never started.
        assert_eq!(parse_scontrol(&line.replace("EndTime=1796592355", "EndTime=Unknown")), None);
        assert_eq!(parse_scontrol(&line.replace("StartTime=1796592352", "StartTime=Unknown")), None);
        assert_eq!(parse_scontrol("slurm_load_jobs error: Invalid job id specified"), None);
    }
}
