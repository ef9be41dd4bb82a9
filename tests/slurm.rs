//! The Slurm-over-SSH executor against a real one-node Slurm and a real sshd on loopback,
//! which `.ci/test` starts with tests/slurm/up.sh (FLOWCFD_TEST_SLURM_* variables), with the
//! static musl runner it builds (FLOWCFD_TEST_RUNNER): a real OpenFOAM case through sbatch with its connection dropped twice mid-run (and its
//! recorded core-seconds checked against Slurm's own elapsed time × CPUs), a cancelled run,
//! and each way a cluster can refuse a job.
mod common;

use common::{db, server::TestServer};
use flowcfd::config::ClusterConfig;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// The tests share one cluster and check what is left on it, so they run one at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const SECRET: &str = "slurm-test-server-secret-0123456789abcdef";

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the tests with .ci/test, which starts Slurm and sshd (tests/slurm/up.sh)")
    })
}

/// The test cluster, and variants of it that must fail in one specific way.
fn clusters() -> Vec<ClusterConfig> {
    let keys = flowcfd::auth::Keys::new(SECRET.as_bytes());
    let key = std::fs::read(env("FLOWCFD_TEST_SLURM_KEY")).unwrap();
    let host_key = std::fs::read_to_string(env("FLOWCFD_TEST_SLURM_HOST_KEY")).unwrap();
    let good = ClusterConfig {
        name: "campus".into(),
        host: env("FLOWCFD_TEST_SLURM_HOST"),
        port: env("FLOWCFD_TEST_SLURM_PORT").parse().unwrap(),
        user: env("FLOWCFD_TEST_SLURM_USER"),
        key_sealed: Some(keys.seal(&key)),
        host_key: Some(host_key.trim().to_string()),
        partition: Some("debug".into()),
        time_limit_min: Some(30),
        // What a campus cluster's admin writes: Environment Modules, then OpenFOAM's module
        // (tests/slurm/up.sh writes the modulefile).
        preamble: vec![
            ". /etc/profile.d/modules.sh".into(),
            format!("module use {}", env("FLOWCFD_TEST_SLURM_MODULES")),
            "module load openfoam/1912".into(),
        ],
        max_cores: 2,
        ..Default::default()
    };
    vec![
        good.clone(),
        ClusterConfig { name: "campus-down".into(), port: 1, ..good.clone() },
        ClusterConfig { name: "campus-wronguser".into(), user: "nobody".into(), ..good.clone() },
        ClusterConfig {
            name: "campus-mitm".into(),
            host_key: Some("SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into()),
            ..good.clone()
        },
        ClusterConfig { name: "campus-nopartition".into(), partition: Some("gpu-h100".into()), ..good },
    ]
}

async fn start() -> (TestServer, String, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = db::sqlite_in(dir.path());
    std::mem::forget(dir);
    let s = TestServer::start(&url, |c| {
        c.auth.secret = Some(SECRET.into());
        c.jobs.slots = 4;
        c.clusters = clusters();
        // The static runner .ci/test builds (musl): what a packaged server uploads.
        c.jobs.runner_bin = Some(env("FLOWCFD_TEST_RUNNER").into());
        // A campus allocation: no limits here, but its jobs charge the group's Slurm account.
        let campus = flowcfd::config::Plan {
            name: "campus".into(),
            slurm_account: Some("cfd-group".into()),
            ..Default::default()
        };
        c.billing = Some(flowcfd::config::BillingConfig {
            default_plan: "campus".into(),
            plans: vec![campus],
            ..Default::default()
        });
    })
    .await;
    let a = s.user("hpc@example.org").await;
    let (_, p) = s.call("POST", "/api/projects", &a, Some(json!({"name": "slurm"}))).await;
    let pid = p["id"].as_str().unwrap().to_string();
    let stl = std::fs::read(common::root().join("examples/cube.stl")).unwrap();
    let (_, g) = s.upload(&a, &pid, "cube.stl", stl).await;
    let gid = g["id"].as_str().unwrap().to_string();
    assert_eq!(s.settle(&a, &gid).await["status"], "ready");
    (s, a, pid, gid)
}

async fn case(s: &TestServer, a: &str, pid: &str, gid: &str, iterations: u32) -> String {
    let mut spec = json!({"name": "cube", "geometry_id": gid, "flow": {"type": "external", "velocity": [10, 0, 0]},
                      "mesh": {"target_cells": 20000}, "solver": {"iterations": iterations}});
    if iterations > 1000 {
        // A long case must still be solving when the test stops or cancels it: this cube
        // meets the default residual targets in about 400 iterations (15 s), and a cancel
        // that came after the refused submissions once found it completed (409).
        let never = json!({"p": 1e-12, "U": 1e-12, "k": 1e-12, "omega": 1e-12});
        spec["solver"]["residual_targets"] = never;
    }
    let (st, c) = s.call("POST", &format!("/api/projects/{pid}/cases"), a, Some(spec)).await;
    assert_eq!(st, 201, "{c}");
    c["id"].as_str().unwrap().to_string()
}

async fn submit(s: &TestServer, a: &str, cid: &str, cluster: &str) -> String {
    let (st, j) =
        s.call("POST", &format!("/api/cases/{cid}/jobs"), a, Some(json!({"executor": cluster, "cores": 1}))).await;
    assert_eq!(st, 201, "{j}");
    j["id"].as_str().unwrap().to_string()
}

async fn until(s: &TestServer, a: &str, jid: &str, limit: Duration, done: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let (_, j) = s.call("GET", &format!("/api/jobs/{jid}"), a, None).await;
        if done(&j) {
            return j;
        }
        assert!(start.elapsed() < limit, "job stuck: {j}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

fn ended(j: &Value) -> bool {
    matches!(j["status"].as_str(), Some("completed" | "failed" | "cancelled"))
}

/// Kills the SSH sessions of the cluster account (the per-connection sshd processes), as a
/// dropped network link would end them.
fn drop_ssh_sessions() -> usize {
    let user = env("FLOWCFD_TEST_SLURM_USER");
    let out = std::process::Command::new("pkill").args(["-u", &user, "-x", "sshd"]).status().unwrap();
    usize::from(out.success())
}

fn home() -> std::path::PathBuf {
    let user = env("FLOWCFD_TEST_SLURM_USER");
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    let line = passwd.lines().find(|l| l.starts_with(&format!("{user}:"))).unwrap();
    line.split(':').nth(5).unwrap().into()
}

#[tokio::test]
async fn a_case_runs_through_sbatch_survives_dropped_links_and_comes_back() {
    common::require_openfoam();
    let _serial = ONE_AT_A_TIME.lock().await;
    let (s, a, pid, gid) = start().await;
    let cid = case(&s, &a, &pid, &gid, 80).await;
    let jid = submit(&s, &a, &cid, "campus").await;
    // Drop the SSH link twice while the job runs; the worker reconnects and carries on.
    let mut drops = 0;
    let solving = until(&s, &a, &jid, Duration::from_secs(600), |j| j["status"] == "solving" || ended(j)).await;
    assert_eq!(solving["status"], "solving", "{solving}");
    for _ in 0..2 {
        drops += drop_ssh_sessions();
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    assert!(drops >= 1, "there were SSH sessions to drop");
    let done = until(&s, &a, &jid, Duration::from_secs(600), ended).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert!(done["transitions"].as_array().unwrap().iter().any(|t| t["to"] == "solving"), "{done}");
    assert!(done["forces"]["Cd"].as_f64().is_some(), "{done}");
    let n = done["iteration"].as_u64().unwrap();
    let (_, hist) = s.call("GET", &format!("/api/jobs/{jid}/samples"), &a, None).await;
    let its: Vec<u64> = hist.as_array().unwrap().iter().map(|x| x["iteration"].as_u64().unwrap()).collect();
    assert_eq!(its, (1..=n).collect::<Vec<_>>(), "residual history complete despite the drops");
    let log =
        s.http.get(s.u(&format!("/api/jobs/{jid}/log"))).bearer_auth(&a).send().await.unwrap().text().await.unwrap();
    assert!(log.contains("==> flowcfd step") && log.contains("simpleFoam"), "{log}");
    // The preamble's `module load openfoam/1912` is what the runner found OpenFOAM through:
    // the module's own WM_PROJECT_DIR, the module itself, and its WM_PROJECT_VERSION's flavour.
    let modules = std::path::Path::new(&env("FLOWCFD_TEST_SLURM_MODULES")).parent().unwrap().join("openfoam-v1912");
    let found =
        log.lines().find(|l| l.starts_with("OpenFOAM: ")).unwrap_or_else(|| panic!("no OpenFOAM line in {log}"));
    assert!(
        found.contains(&format!("WM_PROJECT_DIR={} (already set)", modules.display()))
            && found.contains("modules loaded: openfoam/1912")
            && found.contains("OpenFOAM v1912 (ESI"),
        "{found}"
    );
    let tgz = s.http.get(s.u(&format!("/api/jobs/{jid}/case.tar.gz"))).bearer_auth(&a).send().await.unwrap();
    assert_eq!(tgz.status(), 200);
    assert!(tgz.bytes().await.unwrap().len() > 10_000);
    // The cluster's scratch directory is gone.
    assert!(!home().join("flowcfd-jobs").join(&jid).exists(), "remote scratch cleaned");
    // The run used the static runner, uploaded under its version.
    let runner = std::fs::read(env("FLOWCFD_TEST_RUNNER")).unwrap();
    let want = format!("flowcfd-runner-{}-", env!("CARGO_PKG_VERSION"));
    let uploaded = std::fs::read_dir(home().join("flowcfd-jobs/bin"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(&want) && std::fs::read(p).unwrap() == runner)
        .expect("the static runner is on the cluster under its version");
    let ldd = std::process::Command::new("ldd").arg(&uploaded).output().unwrap();
    let ldd = String::from_utf8_lossy(&ldd.stdout).to_string() + &String::from_utf8_lossy(&ldd.stderr);
    assert!(ldd.contains("statically linked") || ldd.contains("not a dynamic executable"), "ldd: {ldd}");
    // Metering: the job's core-seconds are Slurm's elapsed time × allocated CPUs, within 1 %
    // (not the time since the worker handed it over, nor the worker's clock).
    let store = &s.running.as_ref().unwrap().state.store;
    let row = store.job(&jid).await.unwrap().unwrap();
    let slurm_id = row.handle.as_deref().unwrap().split(':').nth(2).unwrap().to_string();
    let (cpus, elapsed) = slurm_elapsed(&slurm_id);
    let want = cpus * elapsed;
    let used = store.usage_of_job(&jid).await.unwrap();
    assert!(
        want > 0.0 && (used - want).abs() <= 0.01 * want,
        "recorded {used} core-seconds, Slurm says {cpus} × {elapsed} s"
    );
    let recs = store.usage_records_of_job(&jid).await.unwrap();
    let fin: Vec<_> = recs.iter().filter(|r| r.step.as_deref() == Some("final")).collect();
    assert_eq!(fin.len(), 1, "{recs:?}");
    assert!(matches!(fin[0].source.as_deref(), Some("sacct" | "sacct -c" | "scontrol")), "{recs:?}");
    assert_eq!(fin[0].executor.as_deref(), Some("campus"));
    // The plan's Slurm account was charged, and the records name the plan.
    assert_eq!(fin[0].plan.as_deref(), Some("campus"), "{recs:?}");
    let show = std::process::Command::new("scontrol").args(["show", "job", "-o", &slurm_id]).output().unwrap();
    let show = String::from_utf8_lossy(&show.stdout);
    assert!(show.split_whitespace().any(|w| w == "Account=cfd-group"), "{show}");
    s.stop().await;
}

#[tokio::test]
async fn a_graceful_stop_reaches_the_case_on_the_cluster_and_keeps_the_results() {
    common::require_openfoam();
    let _serial = ONE_AT_A_TIME.lock().await;
    let (s, a, pid, gid) = start().await;
    let cid = case(&s, &a, &pid, &gid, 20000).await;
    let jid = submit(&s, &a, &cid, "campus").await;
    let j = until(&s, &a, &jid, Duration::from_secs(600), |j| j["iteration"].as_u64() >= Some(5) || ended(j)).await;
    assert_eq!(j["status"], "solving", "{j}");
    // What the quota enforcement does: ask the run through its executor.
    let state = &s.running.as_ref().unwrap().state;
    let handle = state.store.job(&jid).await.unwrap().unwrap().handle.unwrap();
    let ex = state.executors.get("campus").unwrap().clone();
    let reason = "it's the quota: 20 core-hours; `$(no shell)`";
    assert!(ex.stop_gracefully(&flowcfd::jobs::executor::Handle(handle), reason).await.unwrap());
    let done = until(&s, &a, &jid, Duration::from_secs(300), ended).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert!(done["error"].is_null() || done["error"] == "", "{done}");
    let why = done["transitions"].as_array().unwrap().last().unwrap()["reason"].as_str().unwrap().to_string();
    assert!(why.contains("stopped early") && why.contains(reason), "{why}");
    let (st, summary) = s.call("GET", &format!("/api/jobs/{jid}/summary"), &a, None).await;
    assert_eq!(st, 200);
    assert_eq!(summary["stopped"]["reason"], reason, "{summary}");
    let n = summary["solve"]["iterations"].as_u64().unwrap();
    assert!((5..20000).contains(&n), "{n}");
    let tgz = s.http.get(s.u(&format!("/api/jobs/{jid}/case.tar.gz"))).bearer_auth(&a).send().await.unwrap();
    let bytes = tgz.bytes().await.unwrap();
    let mut names = Vec::new();
    for e in tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..])).entries().unwrap() {
        names.push(e.unwrap().path().unwrap().display().to_string());
    }
    assert!(names.contains(&format!("case/{n}/U")), "the last iteration is in the archive: {names:?}");
    let used = state.store.usage_of_job(&jid).await.unwrap();
    assert!(used > 0.0, "a stopped job's use is recorded");
    s.stop().await;
}

/// Slurm's own record of a job, read here (as root, beside the cluster): its allocated
/// CPUs and elapsed seconds, from `scontrol show job` (StartTime to EndTime), checked
/// against the job-completion log's ElapsedRaw where it has the job.
fn slurm_elapsed(id: &str) -> (f64, f64) {
    let out = std::process::Command::new("scontrol")
        .args(["show", "job", "-o", id])
        .env("SLURM_TIME_FORMAT", "%s")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let field = |k: &str| -> f64 {
        let w = text
            .split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("{k} in {text}"));
        w.parse().unwrap_or_else(|_| panic!("{k}={w} in {text}"))
    };
    let (cpus, elapsed) = (field("NumCPUs"), field("EndTime") - field("StartTime"));
    let sacct = std::process::Command::new("sacct")
        .args(["-c", "-j", id, "-X", "-n", "-P", "-o", "ElapsedRaw,AllocCPUS"])
        .output()
        .unwrap();
    if let Some((e, c)) = String::from_utf8_lossy(&sacct.stdout).trim().split_once('|') {
        assert_eq!(
            (e.parse::<f64>().ok(), c.parse::<f64>().ok()),
            (Some(elapsed), Some(cpus)),
            "sacct -c and scontrol agree"
        );
    }
    (cpus, elapsed)
}

#[tokio::test]
async fn a_cancelled_slurm_job_leaves_nothing_running_and_refusals_are_clear() {
    common::require_openfoam();
    let _serial = ONE_AT_A_TIME.lock().await;
    let (s, a, pid, gid) = start().await;
    let (_, cl) = s.call("GET", "/api/clusters", &a, None).await;
    assert_eq!(cl[0]["name"], "local");
    let campus = cl.as_array().unwrap().iter().find(|c| c["name"] == "campus").unwrap();
    assert_eq!(
        (campus["kind"].as_str(), campus["max_cores"].as_u64(), campus["usable"].as_bool()),
        (Some("slurm"), Some(2), Some(true))
    );
    // The admin page's health check reaches the cluster over SSH and reads sinfo.
    let (st, health) = s.call("GET", "/api/admin/clusters", &a, None).await;
    assert_eq!(st, 200, "{health}");
    let campus = health.as_array().unwrap().iter().find(|c| c["name"] == "campus").unwrap();
    assert_eq!(campus["ok"], true, "{campus}");
    assert!(campus["detail"].as_str().unwrap().contains("sinfo"), "{campus}");
    assert!(campus["detail"].as_str().unwrap().contains(" up "), "a partition that is up: {campus}");
    assert!(!cl.to_string().contains("sealed1:"), "no secrets in the listing");
    let long = case(&s, &a, &pid, &gid, 20000).await;
    let jid = submit(&s, &a, &long, "campus").await;

    // Each way a cluster can refuse, with a message that says what to do.
    let short = case(&s, &a, &pid, &gid, 5).await;
    let expect = [
        ("campus-down", "cannot reach the cluster"),
        ("campus-wronguser", "refused the key"),
        ("campus-mitm", "HOST KEY MISMATCH"),
        ("campus-nopartition", "sbatch refused the job"),
    ];
    let mut refused = Vec::new();
    for (cluster, _) in &expect {
        refused.push(submit(&s, &a, &short, cluster).await);
    }
    for ((cluster, want), id) in expect.iter().zip(&refused) {
        let j = until(&s, &a, id, Duration::from_secs(120), ended).await;
        assert_eq!(j["status"], "failed", "{cluster}: {j}");
        assert!(j["error"].as_str().unwrap_or("").contains(want), "{cluster}: want {want:?} in {j}");
    }
    let (st, p) =
        s.call("POST", &format!("/api/cases/{short}/jobs"), &a, Some(json!({"executor": "campus", "cores": 8}))).await;
    assert_eq!(st, 422, "more cores than the cluster allows: {p}");

    until(&s, &a, &jid, Duration::from_secs(600), |j| j["status"] == "solving" || ended(j)).await;
    let (st, _) = s.call("POST", &format!("/api/jobs/{jid}/cancel"), &a, None).await;
    if st != 202 {
        // It ended by itself before the cancel: say how, with its log's end.
        let (_, j) = s.call("GET", &format!("/api/jobs/{jid}"), &a, None).await;
        let r = s.http.get(s.u(&format!("/api/jobs/{jid}/log?tail=3000"))).bearer_auth(&a).send().await.unwrap();
        let log = r.text().await.unwrap_or_default();
        panic!("cancel answered {st}: the job was {j}; its log ends:\n{log}");
    }
    let end = until(&s, &a, &jid, Duration::from_secs(120), ended).await;
    assert_eq!(end["status"], "cancelled", "{end}");
    let user = env("FLOWCFD_TEST_SLURM_USER");
    let squeue = std::process::Command::new("squeue").args(["-h", "-u", &user]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&squeue.stdout).trim(), "", "no Slurm job left");
    let mut left = String::new();
    for _ in 0..50 {
        let ps = std::process::Command::new("pgrep").args(["-u", &user, "-l", "Foam|flowcfd|mpirun"]).output().unwrap();
        left = String::from_utf8_lossy(&ps.stdout).trim().to_string();
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(left, "", "no process of the run left on the cluster");
    s.stop().await;
}

/// Peak resident memory of this process so far, bytes (VmHWM).
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb = status.lines().find_map(|l| l.strip_prefix("VmHWM:")).unwrap();
    kb.trim().trim_end_matches("kB").trim().parse::<u64>().unwrap() * 1024
}

/// Runs a shell line as root; its standard output.
fn sh(line: &str) -> String {
    let out = std::process::Command::new("sh").arg("-c").arg(line).output().unwrap();
    assert!(out.status.success(), "{line}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A 2 GB result (FLOWCFD_TEST_SLURM_RESULT_MB to change it) of random data, so that the
/// packed case is as big: packed on the cluster past the 60 s an SSH call waits, streamed
/// down with the link dropped in the middle (the download resumes where it was), with
/// memory far below the size, and the bytes that arrive are the bytes that were written.
#[tokio::test]
async fn a_2_gb_result_streams_down_in_bounded_memory_and_resumes_after_a_drop() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let mb: u64 = std::env::var("FLOWCFD_TEST_SLURM_RESULT_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(2048);
    let user = env("FLOWCFD_TEST_SLURM_USER");
    let job = format!("big-{}", std::process::id());
    let remote = home().join("flowcfd-jobs").join(&job);
    let big = remote.join("out/case/constant/big");
    std::fs::create_dir_all(big.parent().unwrap()).unwrap();
    std::fs::write(remote.join("out/summary.json"), r#"{"mesh": {"cells": 1}}"#).unwrap();
    let t = Instant::now();
    sh(&format!("head -c {mb}M /dev/urandom > '{}'", big.display()));
    sh(&format!("chown -R {user}: '{}'", home().join("flowcfd-jobs").display()));
    let want = sh(&format!("sha256sum '{}'", big.display())).split_whitespace().next().unwrap().to_string();
    eprintln!("{mb} MB of random data written and hashed in {:.1} s", t.elapsed().as_secs_f64());

    let data = tempfile::tempdir().unwrap();
    let cfg = clusters().remove(0);
    let key = std::fs::read_to_string(env("FLOWCFD_TEST_SLURM_KEY")).unwrap();
    let ex = flowcfd::jobs::slurm::SlurmExecutor::new(
        cfg.clone(),
        key,
        env!("CARGO_BIN_EXE_flowcfd").into(),
        data.path().to_path_buf(),
        3600,
    );
    let handle = flowcfd::jobs::executor::Handle(format!("slurm:campus:1:{}", remote.display()));
    // The size-bound limits: 2 GB at the default 1 MiB/s is over half an hour each.
    let limit = flowcfd::jobs::slurm::transfer_limit(&cfg, mb << 20);
    assert!(limit > Duration::from_secs(1800), "{limit:?}");

    // Drop the SSH link once a quarter of the archive has come down.
    let part = data.path().join("jobs").join(&job).join("out/case.tar.gz.part");
    let dropper = {
        let part = part.clone();
        std::thread::spawn(move || {
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(900) {
                if std::fs::metadata(&part).is_ok_and(|m| m.len() > (mb << 20) / 4) {
                    return drop_ssh_sessions();
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            0
        })
    };
    let before = peak_rss();
    let t = Instant::now();
    let out = flowcfd::jobs::executor::Executor::fetch_results(&ex, &handle).await.unwrap();
    let took = t.elapsed();
    let grew = peak_rss().saturating_sub(before);
    eprintln!("packed and fetched {mb} MB in {:.1} s; peak RSS grew {} MB", took.as_secs_f64(), grew >> 20);
    assert_eq!(dropper.join().unwrap(), 1, "the link was dropped mid-download");
    assert!(grew < 256 << 20, "memory grew {} MB for a {mb} MB result", grew >> 20);
    assert!(!part.exists() && out.join("summary.json").exists());
    let tgz = out.join("case.tar.gz");
    assert!(std::fs::metadata(&tgz).unwrap().len() > (mb << 20), "random data does not shrink");
    assert!(!remote.exists(), "the cluster's scratch is cleaned once the results are here");

    // The archive holds the very bytes written on the cluster.
    let got = tokio::task::spawn_blocking(move || {
        use sha2::Digest;
        let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(std::fs::File::open(tgz).unwrap()));
        let mut e = ar
            .entries()
            .unwrap()
            .map(Result::unwrap)
            .find(|e| e.path().unwrap().ends_with("constant/big"))
            .expect("the big file is in the archive");
        let mut h = sha2::Sha256::new();
        std::io::copy(&mut e, &mut h).unwrap();
        format!("{:x}", h.finalize())
    })
    .await
    .unwrap();
    assert_eq!(got, want, "the resumed download is byte for byte the archive");
}
