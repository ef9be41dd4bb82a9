//! The local executor on real OpenFOAM: a detached run that a new executor instance (a
//! restarted server) re-attaches to by its handle, and a cancel that leaves no process.
mod common;

use flowcfd::jobs::executor::{Bundle, ExecStatus, Executor, Handle, LocalExecutor};
use std::path::Path;
use std::time::{Duration, Instant};

fn bundle(dir: &Path, iterations: u32) -> Bundle {
    std::fs::copy(common::root().join("examples/cube.stl"), dir.join("cube.stl")).unwrap();
    std::fs::write(
        dir.join("case.toml"),
        format!(
            "geometry = \"cube.stl\"\n[flow]\ntype = \"external\"\nvelocity = [10.0, 0.0, 0.0]\n\
             [mesh]\ntarget_cells = 20000\n[solver]\niterations = {iterations}\ncores = 1\n"
        ),
    )
    .unwrap();
    Bundle { dir: dir.to_path_buf(), cores: 1, job: "local-test".into(), attempt: 1 }
}

fn executor() -> LocalExecutor {
    LocalExecutor::new(env!("CARGO_BIN_EXE_flowcfd").into())
}

async fn wait_until(
    ex: &LocalExecutor,
    h: &Handle,
    mut done: impl FnMut(&ExecStatus) -> bool,
) -> (ExecStatus, Vec<&'static str>) {
    let start = Instant::now();
    let mut steps = Vec::new();
    loop {
        let s = ex.status(std::slice::from_ref(h)).await.unwrap().remove(0);
        if let ExecStatus::Running { step } = s {
            if steps.last() != Some(&step) {
                steps.push(step);
            }
        }
        if done(&s) {
            return (s, steps);
        }
        assert!(start.elapsed() < Duration::from_secs(600), "the run did not finish in 10 minutes: {s:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn detached_run_completes_and_a_new_executor_reattaches() {
    common::require_openfoam();
    let dir = tempfile::tempdir().unwrap();
    let ex = executor();
    let h = ex.submit(&bundle(dir.path(), 60)).await.unwrap();
    assert!(h.0.starts_with("local:"), "{h:?}");
    // Watch it run for a moment, then "restart": a new executor knows it by its handle.
    let (first, _) = wait_until(&ex, &h, |s| !matches!(s, ExecStatus::Running { step: "preparing" })).await;
    assert!(matches!(first, ExecStatus::Running { .. } | ExecStatus::Completed), "{first:?}");
    drop(ex);
    let ex = executor();
    let (last, steps) = wait_until(&ex, &h, |s| !matches!(s, ExecStatus::Running { .. })).await;
    assert_eq!(last, ExecStatus::Completed, "steps seen: {steps:?}");
    let out = ex.fetch_results(&h).await.unwrap();
    let summary = common::summary(&out);
    assert!(summary["forces"]["Cd"].as_f64().is_some(), "{summary}");
    let (log, next) = ex.read_log(&h, 0).await.unwrap();
    assert!(next > 0 && String::from_utf8_lossy(&log).contains("simpleFoam"), "{}", String::from_utf8_lossy(&log));
    assert_eq!(ex.read_log(&h, next).await.unwrap().0.len(), 0);
    assert!(common::processes_under(dir.path()).is_empty());
    assert!(matches!(ex.status(&[Handle("slurm:1".into())]).await, Err(_)), "foreign handles are refused");
}

#[tokio::test]
async fn cancel_stops_the_run_and_every_process_it_started() {
    common::require_openfoam();
    let dir = tempfile::tempdir().unwrap();
    let ex = executor();
    let h = ex.submit(&bundle(dir.path(), 5000)).await.unwrap();
    let (s, _) = wait_until(&ex, &h, |s| matches!(s, ExecStatus::Running { step: "meshing" | "solving" })).await;
    assert!(matches!(s, ExecStatus::Running { .. }), "{s:?}");
    assert!(!common::processes_under(dir.path()).is_empty(), "OpenFOAM is running in the job directory");
    ex.cancel(&h).await.unwrap();
    assert_eq!(ex.status(&[h.clone()]).await.unwrap()[0], ExecStatus::Cancelled);
    // Give the kernel a moment to reap, then nothing may be left.
    for _ in 0..50 {
        if common::processes_under(dir.path()).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(common::processes_under(dir.path()), Vec::<String>::new(), "orphans left behind");
}

/// The pgid and session of a process (fields 5 and 6 of /proc/PID/stat).
fn group_and_session(pid: &str) -> (String, String) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let f: Vec<String> = stat.rsplit_once(')').map(|(_, r)| r.split_whitespace().map(String::from).collect()).unwrap();
    (f[2].clone(), f[3].clone())
}

#[tokio::test]
async fn cancel_of_a_hung_run_kills_every_process_group_it_started() {
    // A `flowcfd run` that hangs: it ignores SIGTERM, and so do the two steps it started,
    // each in a process group of its own (as the runner starts every OpenFOAM step).
    let dir = tempfile::tempdir().unwrap();
    let job = dir.path().join("job");
    std::fs::create_dir(&job).unwrap();
    std::fs::write(job.join("case.toml"), "").unwrap();
    // The executor starts `EXE run CASE …` in the job directory; with bash as EXE, that
    // runs the script `run` there (a script, so no executable is written and run at once).
    std::fs::write(job.join("run"), "trap '' TERM\nset -m\nsleep 600 &\nsleep 600 &\ntouch started\nwait\n").unwrap();
    let ex = LocalExecutor::new("/bin/bash".into());
    let h = ex.submit(&Bundle { dir: job.clone(), cores: 1, job: "hung-test".into(), attempt: 1 }).await.unwrap();
    for _ in 0..100 {
        if job.join("started").exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let procs = common::processes_under(&job);
    let ids: Vec<(String, String)> = procs.iter().map(|p| group_and_session(p.split(' ').next().unwrap())).collect();
    let groups: std::collections::HashSet<&String> = ids.iter().map(|(g, _)| g).collect();
    let sessions: std::collections::HashSet<&String> = ids.iter().map(|(_, s)| s).collect();
    assert_eq!((procs.len(), groups.len(), sessions.len()), (3, 3, 1), "the run and its two steps: {procs:?}");
    assert!(matches!(ex.status(std::slice::from_ref(&h)).await.unwrap()[0], ExecStatus::Running { .. }));

    // SIGTERM is ignored all round; after its grace period cancel kills every group.
    ex.cancel(&h).await.unwrap();
    for _ in 0..50 {
        if common::processes_under(&job).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(common::processes_under(&job), Vec::<String>::new(), "orphans left behind");
    assert_eq!(ex.status(&[h]).await.unwrap()[0], ExecStatus::Cancelled);
}
