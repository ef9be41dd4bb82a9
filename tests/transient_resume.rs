//! A transient (pimpleFoam) run on the local executor, killed with SIGKILL once it has
//! written a time: the executor restarts it with `flowcfd run --resume`, pimpleFoam
//! continues from the latest written time (not from 0), and the run completes with a
//! `summary.json` whose force history spans the whole simulated time.
mod common;

use flowcfd::jobs::executor::{Bundle, ExecStatus, Executor, LocalExecutor};
use flowcfd::jobs::resume::{self, RESUMES_FILE};
use std::time::{Duration, Instant};

const END_TIME: f64 = 0.4;

#[tokio::test]
async fn a_killed_transient_run_resumes_from_its_latest_written_time() {
    common::require_openfoam();
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(common::root().join("examples/cube.stl"), dir.path().join("cube.stl")).unwrap();
    std::fs::write(
        dir.path().join("case.toml"),
        format!(
            "geometry = \"cube.stl\"\n[flow]\ntype = \"external\"\nvelocity = [10.0, 0.0, 0.0]\n\
             [turbulence]\nmodel = \"laminar\"\n[mesh]\ntarget_cells = 3000\n\
             [solver]\ntype = \"transient\"\nend_time = {END_TIME}\nwrite_interval = 0.05\n"
        ),
    )
    .unwrap();
    let ex = LocalExecutor::new(env!("CARGO_BIN_EXE_flowcfd").into());
    let bundle = Bundle { dir: dir.path().to_path_buf(), cores: 1, job: "transient".into(), attempt: 1, account: None };
    let h = ex.submit(&bundle).await.unwrap();
    let pid: i32 = h.0.split(':').nth(1).unwrap().parse().unwrap();
    let case = dir.path().join("out/.partial/case");
    let start = Instant::now();
    let written = loop {
        if let Some((t, _)) = flowcfd::foam::transient::latest_time(&case) {
            break t;
        }
        let s = ex.status(std::slice::from_ref(&h)).await.unwrap().remove(0);
        assert!(matches!(s, ExecStatus::Running { .. }), "the run ended before writing a time: {s:?}");
        assert!(start.elapsed() < Duration::from_secs(300), "no time written in 5 minutes");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // The runner is its own session and group leader: SIGKILL its group, as a crash would.
    // SAFETY: killpg has no memory-safety preconditions.
    assert_eq!(unsafe { libc::killpg(pid, libc::SIGKILL) }, 0);
    let killed_at = Instant::now();
    // The executor finds it dead with no result and restarts it.
    loop {
        let s = ex.status(std::slice::from_ref(&h)).await.unwrap().remove(0);
        assert!(matches!(s, ExecStatus::Running { .. }), "the killed run was reported as {s:?}, not resumed");
        if dir.path().join(RESUMES_FILE).exists() {
            break;
        }
        assert!(killed_at.elapsed() < Duration::from_secs(30), "not restarted within 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let record = resume::read(dir.path()).unwrap();
    assert_eq!(record.count, 1, "{record:?}");
    let from = record.from_times[0];
    assert!(from >= written && from > 0.0, "{record:?}, first written time {written}");
    loop {
        let s = ex.status(std::slice::from_ref(&h)).await.unwrap().remove(0);
        if !matches!(s, ExecStatus::Running { .. }) {
            assert_eq!(s, ExecStatus::Completed, "run.log:\n{}", run_log(dir.path()));
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(600), "the resumed run did not finish");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let out = ex.fetch_results(&h).await.unwrap();
    // pimpleFoam's new log starts from the latest written time, not from 0.
    let log = std::fs::read_to_string(out.join("case/log.pimpleFoam")).unwrap();
    let first = log.lines().find_map(|l| l.strip_prefix("Time = ")).and_then(|t| t.trim().parse::<f64>().ok());
    assert!(first.is_some_and(|t| t > from), "first time step {first:?} of the resumed log, from {from}");
    let run = run_log(dir.path());
    let marked = |step: &str| run.lines().filter(|l| l.starts_with("==> flowcfd step") && l.ends_with(step)).count();
    assert_eq!((marked(" snappyHexMesh"), marked(" potentialFoam"), marked(" pimpleFoam")), (1, 1, 2), "{run}");
    let s = common::summary(&out);
    let t = &s["transient"];
    assert_eq!(t["end_time"], END_TIME, "{s}");
    assert!(t["time_steps"].as_u64().unwrap() > 20, "{t}");
    assert!(t["Cd_mean"].as_f64().unwrap() > 0.3, "{t}");
    assert!(s.get("strouhal").is_some() && (s["strouhal"].is_number() || s["strouhal_reason"].is_string()), "{s}");
    // The force history joins both runs: from the first steps to the end time.
    let times = s["force_history"]["time"].as_array().unwrap();
    let (t0, t1) = (times[0].as_f64().unwrap(), times.last().unwrap().as_f64().unwrap());
    assert!(t0 < from && (t1 - END_TIME).abs() < 1e-6, "history {t0}..{t1}, resumed from {from}");
    assert!(times.windows(2).all(|w| w[0].as_f64() < w[1].as_f64()), "times increase across the restart");
}

fn run_log(dir: &std::path::Path) -> String {
    std::fs::read_to_string(dir.join("run.log")).unwrap_or_default()
}
