//! The local executor on real OpenFOAM: a detached run that a new executor instance (a
//! restarted server) re-attaches to by its handle, and a cancel that leaves no process.
mod common;

use flowcfd::jobs::executor::{Bundle, ExecStatus, Executor, Handle, LocalExecutor};
use std::path::Path;
use std::time::{Duration, Instant};

fn bundle(dir: &Path, iterations: u32) -> Bundle {
    bundle_on(dir, iterations, 1)
}

fn bundle_on(dir: &Path, iterations: u32, cores: u32) -> Bundle {
    std::fs::copy(common::root().join("examples/cube.stl"), dir.join("cube.stl")).unwrap();
    std::fs::write(
        dir.join("case.toml"),
        format!(
            "geometry = \"cube.stl\"\n[flow]\ntype = \"external\"\nvelocity = [10.0, 0.0, 0.0]\n\
             [mesh]\ntarget_cells = 20000\n[solver]\niterations = {iterations}\ncores = {cores}\n"
        ),
    )
    .unwrap();
    Bundle { dir: dir.to_path_buf(), cores, job: "local-test".into(), attempt: 1, account: None }
}

fn now_ms() -> i64 {
    flowcfd::runner::usage::now_ms()
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
    let submitted = now_ms();
    let h = ex.submit(&bundle(dir.path(), 60)).await.unwrap();
    assert!(h.0.starts_with("local:"), "{h:?}");
    // Watch it run for a moment, then "restart": a new executor knows it by its handle.
    let (first, _) = wait_until(&ex, &h, |s| !matches!(s, ExecStatus::Running { step: "preparing" })).await;
    assert!(matches!(first, ExecStatus::Running { .. } | ExecStatus::Completed), "{first:?}");
    drop(ex);
    let ex = executor();
    let (last, steps) = wait_until(&ex, &h, |s| !matches!(s, ExecStatus::Running { .. })).await;
    assert_eq!(last, ExecStatus::Completed, "steps seen: {steps:?}");
    let seen_end = now_ms();
    let out = ex.fetch_results(&h).await.unwrap();
    // The run's own record of its time: within what the test saw of it, in phases.
    let u = ex.usage(&h).await.unwrap().expect("usage.json");
    assert_eq!((u.cores, u.source), (1, "usage.json"));
    let end = u.ended_ms.unwrap();
    assert!(submitted <= u.started_ms && u.started_ms < end && end <= seen_end, "{u:?} within {submitted}..{seen_end}");
    let record = flowcfd::runner::usage::read(&out).unwrap();
    let phases: Vec<&str> = record.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(phases, ["preparing", "meshing", "solving"], "{record:?}");
    assert!(record.steps.windows(2).all(|w| w[0].ended_at == w[1].started_at), "{record:?}");
    assert_eq!((record.steps[0].started_at, record.steps[2].ended_at), (record.started_at, record.ended_at));
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
    // Stopped by SIGTERM, the run still recorded its time.
    let u = ex.usage(&h).await.unwrap().expect("usage.json of a cancelled run");
    assert!(u.ended_ms.unwrap() > u.started_ms, "{u:?}");
}

#[tokio::test]
async fn a_graceful_stop_while_solving_keeps_the_last_iteration_and_says_why() {
    common::require_openfoam();
    let dir = tempfile::tempdir().unwrap();
    let ex = executor();
    // Two ranks: the stop crosses MPI (the abort function object on the master) and the
    // last iteration is reconstructed.
    let h = ex.submit(&bundle_on(dir.path(), 5000, 2)).await.unwrap();
    let start = Instant::now();
    loop {
        let (log, _) = ex.read_log(&h, 0).await.unwrap();
        if String::from_utf8_lossy(&log).contains("\nTime = 5\n") {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(600), "the solver did not reach iteration 5");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let reason = "free plan: 20 core-hours used";
    assert!(ex.stop_gracefully(&h, reason).await.unwrap(), "the request reached the running case");
    let (last, _) = wait_until(&ex, &h, |s| !matches!(s, ExecStatus::Running { .. })).await;
    assert_eq!(last, ExecStatus::Completed, "a graceful stop ends the run normally");
    let out = ex.fetch_results(&h).await.unwrap();
    let summary = common::summary(&out);
    assert_eq!(summary["stopped"]["reason"], reason, "{summary}");
    let n = summary["solve"]["iterations"].as_u64().unwrap();
    assert!((5..5000).contains(&n), "stopped early, after iteration 5: {n}");
    // The last iteration is written (and reconstructed from the two ranks).
    let last_time = out.join("case").join(n.to_string());
    assert!(last_time.join("U").is_file() && last_time.join("p").is_file(), "{} holds U and p", last_time.display());
    assert!(!out.join("case/STOP").exists() && !out.join("case/flowcfd.stop").exists(), "no stop files left");
    assert!(summary["forces"]["Cd"].as_f64().is_some(), "post-processing ran: {summary}");
    let u = ex.usage(&h).await.unwrap().expect("usage.json");
    assert_eq!(u.cores, 2);
    assert!(common::processes_under(dir.path()).is_empty());
    assert!(
        !ex.stop_gracefully(&h, "again").await.unwrap(),
        "a run that has ended cannot be asked (the caller cancels)"
    );
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
    let h = ex
        .submit(&Bundle { dir: job.clone(), cores: 1, job: "hung-test".into(), attempt: 1, account: None })
        .await
        .unwrap();
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
