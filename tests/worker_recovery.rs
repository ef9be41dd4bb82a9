//! The worker's edge cases, with real `flowcfd serve` processes that crash where a test
//! build lets them (`FLOWCFD_TEST_CRASH_AFTER`, `FLOWCFD_TEST_SLOW_FETCH_MS`; release builds
//! have neither): a crash between submitting a run and recording its handle does not start
//! the run twice, a job whose workers keep dying fails after `jobs.max_attempts` with the
//! last reason, a slow finishing phase keeps its lease, and a restart mid-run or right after
//! the final usage record does not count the job's core-seconds twice.
//!
//! The local executor starts a stand-in for `flowcfd run` (`jobs.flowcfd_bin`) that counts
//! its starts, so these tests need no OpenFOAM and take seconds.
#![cfg(debug_assertions)]
mod common;

use serde_json::{json, Value};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Waits for the process to end by itself (a crash point); true if it did.
    fn exits_within(&mut self, limit: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            if self.child.try_wait().unwrap().is_some() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }
}

/// A `flowcfd serve` on `data` with a 2 s lease and the stand-in run binary; `env` adds
/// the crash switches.
fn serve(data: &Path, env: &[(&str, &str)]) -> Server {
    serve_with(data, None, env)
}

/// [`serve`] with a configuration file (clusters).
fn serve_with(data: &Path, config: Option<&Path>, env: &[(&str, &str)]) -> Server {
    let mut cmd = common::flowcfd_clean();
    if let Some(c) = config {
        cmd.arg("serve").arg("--config").arg(c);
    } else {
        cmd.arg("serve");
    }
    cmd.args(["--bind", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .env("FLOWCFD_JOBS__LEASE_S", "2")
        .env("FLOWCFD_JOBS__FLOWCFD_BIN", fake_run(data))
        .env("FLOWCFD_LOG__FORMAT", "text")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.split_whitespace().nth(4).unwrap_or_else(|| panic!("no URL in {line:?}")).to_string();
    Server { child, url }
}

/// The stand-in for `flowcfd run CASE --out OUT …`: appends a line to `DATA/starts` per
/// start, writes a log line, runs for `FAKE_RUN_S` seconds (default 3), then writes a
/// summary, a case directory and its usage.json (its own start and end) as a real run would.
fn fake_run(data: &Path) -> PathBuf {
    let path = data.join("fake-flowcfd-run");
    if !path.exists() {
        let script = format!(
            "#!/bin/sh\necho \"$$ $*\" >> '{starts}'\nt0=$(date +%s%3N)\necho '==> flowcfd step 1/1 blockMesh'\n\
             sleep \"${{FAKE_RUN_S:-3}}\"\nmkdir -p \"$4/case/system\"\necho FoamFile > \"$4/case/system/controlDict\"\n\
             echo '{{\"mesh\": {{\"cells\": 1}}}}' > \"$4/summary.json\"\n\
             echo \"{{\\\"started_at\\\": $t0, \\\"ended_at\\\": $(date +%s%3N), \\\"cores\\\": 1, \\\"steps\\\": []}}\" \
             > \"$4/usage.json\"\n",
            starts = data.join("starts").display()
        );
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
    path
}

fn starts(data: &Path) -> usize {
    std::fs::read_to_string(data.join("starts")).unwrap_or_default().lines().count()
}

struct Api {
    http: reqwest::Client,
    token: String,
}

impl Api {
    async fn call(&self, s: &Server, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut r = self.http.request(method, format!("{}{path}", s.url)).bearer_auth(&self.token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// Registers, uploads the cube, makes a case and submits it to the local executor;
    /// returns the API and the job id.
    async fn submit(s: &Server) -> (Api, String) {
        Self::submit_to(s, "local").await
    }

    /// [`Api::submit`] to the executor named `executor`.
    async fn submit_to(s: &Server, executor: &str) -> (Api, String) {
        let http = reqwest::Client::new();
        let token = common::server::sign_up(&http, &s.url, "w@example.org").await;
        let api = Api { http, token };
        let (_, p) = api.call(s, reqwest::Method::POST, "/api/projects", Some(json!({"name": "w"}))).await;
        let pid = p["id"].as_str().unwrap().to_string();
        let stl = std::fs::read(common::root().join("examples/cube.stl")).unwrap();
        let form =
            reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(stl).file_name("cube.stl"));
        let g: Value = api
            .http
            .post(format!("{}/api/projects/{pid}/geometries", s.url))
            .bearer_auth(&api.token)
            .multipart(form)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let gid = g["id"].as_str().unwrap().to_string();
        let start = Instant::now();
        while api.call(s, reqwest::Method::GET, &format!("/api/geometries/{gid}"), None).await.1["status"] != "ready" {
            assert!(start.elapsed() < Duration::from_secs(60), "geometry not ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let spec = json!({"name": "cube", "geometry_id": gid, "flow": {"type": "external", "velocity": [10, 0, 0]},
                          "mesh": {"target_cells": 20000}, "solver": {"iterations": 5}});
        let (st, c) = api.call(s, reqwest::Method::POST, &format!("/api/projects/{pid}/cases"), Some(spec)).await;
        assert_eq!(st, 201, "{c}");
        let cid = c["id"].as_str().unwrap();
        let body = json!({"executor": executor, "cores": 1});
        let (st, j) = api.call(s, reqwest::Method::POST, &format!("/api/cases/{cid}/jobs"), Some(body)).await;
        assert_eq!(st, 201, "{j}");
        (api, j["id"].as_str().unwrap().to_string())
    }

    async fn ended(&self, s: &Server, jid: &str, limit: Duration) -> Value {
        let start = Instant::now();
        loop {
            let (_, j) = self.call(s, reqwest::Method::GET, &format!("/api/jobs/{jid}"), None).await;
            if matches!(j["status"].as_str(), Some("failed" | "completed" | "cancelled")) {
                return j;
            }
            assert!(start.elapsed() < limit, "job stuck: {j}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

fn workers(job: &Value) -> std::collections::BTreeSet<String> {
    job["transitions"].as_array().unwrap().iter().filter_map(|t| t["worker"].as_str().map(String::from)).collect()
}

#[tokio::test]
async fn a_crash_between_submit_and_set_handle_does_not_run_the_job_twice() {
    let data = tempfile::tempdir().unwrap();
    let mut first = serve(data.path(), &[("FLOWCFD_TEST_CRASH_AFTER", "submit")]);
    let (api, jid) = Api::submit(&first).await;
    assert!(first.exits_within(Duration::from_secs(30)), "the worker crashed right after submitting");
    drop(first);
    assert_eq!(starts(data.path()), 1, "the first worker started the run");

    // The next worker finds the intent (no handle), submits the same attempt again, and the
    // executor finds the run that is already going instead of starting another.
    let second = serve(data.path(), &[]);
    let end = api.ended(&second, &jid, Duration::from_secs(60)).await;
    assert_eq!(end["status"], "completed", "{end}");
    assert_eq!(starts(data.path()), 1, "one run, not two: {:?}", std::fs::read_to_string(data.path().join("starts")));
    let log = std::fs::read_to_string(data.path().join("jobs").join(&jid).join("run.log")).unwrap();
    assert_eq!(log.matches("==> flowcfd step 1/").count(), 1, "one run in the log:\n{log}");
    let preparing = end["transitions"].as_array().unwrap().iter().filter(|t| t["to"] == "preparing").count();
    assert_eq!(preparing, 1, "{end}");
}

#[tokio::test]
async fn a_job_whose_worker_keeps_dying_fails_after_three_attempts_with_the_last_reason() {
    let data = tempfile::tempdir().unwrap();
    let crash = [("FLOWCFD_TEST_CRASH_AFTER", "claim")];
    let mut s = serve(data.path(), &crash);
    let (api, jid) = Api::submit(&s).await;
    // Every worker dies as soon as it claims the job; each new one waits out the lease.
    let mut deaths = 0;
    while s.exits_within(Duration::from_secs(10)) {
        deaths += 1;
        assert!(deaths <= 3, "a fourth worker claimed the job and died: the attempts are not capped");
        s = serve(data.path(), &crash);
    }
    assert_eq!(deaths, 3, "three attempts died, then the fourth claim gave up");
    let end = api.ended(&s, &jid, Duration::from_secs(30)).await;
    assert_eq!(end["status"], "failed", "{end}");
    let why = end["error"].as_str().unwrap_or("");
    assert!(why.contains("gave up after 3 attempts") && why.contains("stopped renewing its lease"), "{why}");
    assert_eq!(starts(data.path()), 0, "no run was ever started");
}

#[tokio::test]
async fn a_slow_finishing_phase_keeps_its_lease() {
    // Two servers share the data directory and database: when the finishing phase (here a
    // 7 s fetch, over three 2 s leases) stops renewing the lease, the other takes the job
    // over and finishes it a second time.
    let data = tempfile::tempdir().unwrap();
    let slow = [("FLOWCFD_TEST_SLOW_FETCH_MS", "7000")];
    let a = serve(data.path(), &slow);
    let (api, jid) = Api::submit(&a).await;
    let b = serve(data.path(), &slow);
    let end = api.ended(&b, &jid, Duration::from_secs(90)).await;
    assert_eq!(end["status"], "completed", "{end}");
    assert_eq!(workers(&end).len(), 1, "one worker held the job from claim to end: {end}");
    assert_eq!(starts(data.path()), 1);
    drop(a);
}

/// The server's store (the embedded SQLite in the data directory), opened beside it.
async fn store_of(data: &Path) -> std::sync::Arc<dyn flowcfd::store::Store> {
    flowcfd::store::open(&format!("sqlite://{}", data.join("flowcfd.db").display())).await.unwrap()
}

#[tokio::test]
async fn a_restart_mid_run_and_a_crash_after_the_final_record_count_the_job_once() {
    let data = tempfile::tempdir().unwrap();
    // Provisional use every 300 ms, over a 6 s run.
    let env = [("FLOWCFD_TEST_USAGE_EVERY_MS", "300"), ("FAKE_RUN_S", "6")];
    let a = serve(data.path(), &env);
    let (api, jid) = Api::submit(&a).await;
    let store = store_of(data.path()).await;
    let start = Instant::now();
    while store.usage_records_of_job(&jid).await.unwrap().len() < 2 {
        assert!(start.elapsed() < Duration::from_secs(30), "no provisional usage recorded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // kill -9 of the first server mid-run; the next re-attaches, records more, records the
    // final use and dies before it can say the job ended; the third finishes it.
    drop(a);
    let mut b = serve(data.path(), &[env[0], env[1], ("FLOWCFD_TEST_CRASH_AFTER", "usage")]);
    assert!(b.exits_within(Duration::from_secs(60)), "the second worker crashed after the final usage record");
    drop(b);
    let c = serve(data.path(), &env);
    let end = api.ended(&c, &jid, Duration::from_secs(60)).await;
    assert_eq!(end["status"], "completed", "{end}");
    assert_eq!(starts(data.path()), 1, "one run");
    assert!(workers(&end).len() >= 2, "the job changed hands: {end}");

    let run = flowcfd::runner::usage::read(&data.path().join("jobs").join(&jid).join("out")).expect("usage.json");
    let want = run.core_seconds();
    let recs = store.usage_records_of_job(&jid).await.unwrap();
    let used: f64 = recs.iter().map(|r| r.quantity).sum();
    assert!((used - want).abs() < 1e-6, "recorded {used} core-seconds, the run's own wall time says {want}: {recs:#?}");
    assert!((store.usage_of_job(&jid).await.unwrap() - used).abs() < 1e-6);
    let finals: Vec<_> = recs.iter().filter(|r| r.step.as_deref() == Some("final")).collect();
    assert_eq!(finals.len(), 1, "one final record: {recs:#?}");
    assert_eq!(finals[0].source.as_deref(), Some("usage.json"));
    assert!(recs.len() >= 3, "provisional records before the final one: {recs:#?}");
    let job = store.job(&jid).await.unwrap().unwrap();
    assert!(job.usage_final.is_some() && job.mesh_cells == Some(1), "{job:?}");
}

/// The loopback Slurm cluster that `.ci/test` starts (tests/slurm/up.sh).
fn slurm_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the tests with .ci/test, which starts Slurm and sshd (tests/slurm/up.sh)")
    })
}

fn slurm_home(user: &str) -> PathBuf {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    let line = passwd.lines().find(|l| l.starts_with(&format!("{user}:"))).unwrap();
    line.split(':').nth(5).unwrap().into()
}

/// Runs a shell line as root (the tests that use the loopback cluster run as root).
fn sh(line: &str) -> String {
    let out = std::process::Command::new("sh").arg("-c").arg(line).output().unwrap();
    assert!(out.status.success(), "{line}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn a_crash_between_sbatch_and_set_handle_runs_the_slurm_job_once() {
    const SECRET: &str = "worker-recovery-test-secret-0123456789abcdef";
    let user = slurm_env("FLOWCFD_TEST_SLURM_USER");
    let home = slurm_home(&user);
    let data = tempfile::tempdir().unwrap();
    // A stand-in for flowcfd on the cluster (flowcfd_path): it counts its starts in the
    // cluster account's home, runs a few seconds, and leaves a summary and a case.
    let tag = format!("recovery-{}", std::process::id());
    let bin = home.join(format!("{tag}-flowcfd"));
    let counter = home.join(format!("{tag}-starts"));
    std::fs::write(
        &bin,
        format!(
            "#!/bin/sh\necho \"$SLURM_JOB_ID\" >> '{c}'\necho '==> flowcfd step 1/1 blockMesh'\nsleep 3\n\
             mkdir -p out/case/system && echo FoamFile > out/case/system/controlDict\n\
             echo '{{\"mesh\": {{\"cells\": 1}}}}' > out/summary.json\n",
            c = counter.display()
        ),
    )
    .unwrap();
    sh(&format!("chown {user}: '{}' && chmod 755 '{}'", bin.display(), bin.display()));
    let keys = flowcfd::auth::Keys::new(SECRET.as_bytes());
    let key = std::fs::read(slurm_env("FLOWCFD_TEST_SLURM_KEY")).unwrap();
    let host_key = std::fs::read_to_string(slurm_env("FLOWCFD_TEST_SLURM_HOST_KEY")).unwrap();
    let config = data.path().join("flowcfd.toml");
    let toml = format!(
        "[auth]\nsecret = {secret:?}\n\n[[clusters]]\nname = \"campus\"\nkind = \"slurm\"\nhost = {host:?}\n\
         port = {port}\nuser = {user:?}\nkey_sealed = {key:?}\nhost_key = {hk:?}\npartition = \"debug\"\n\
         time_limit_min = 10\nmax_cores = 2\nremote_dir = {dir:?}\nflowcfd_path = {bin:?}\n",
        secret = SECRET,
        host = slurm_env("FLOWCFD_TEST_SLURM_HOST"),
        port = slurm_env("FLOWCFD_TEST_SLURM_PORT"),
        key = keys.seal(&key),
        hk = host_key.trim(),
        dir = format!("{tag}-jobs"),
        bin = bin.display().to_string(),
    );
    std::fs::write(&config, toml).unwrap();

    let mut first = serve_with(data.path(), Some(&config), &[("FLOWCFD_TEST_CRASH_AFTER", "submit")]);
    let (api, jid) = Api::submit_to(&first, "campus").await;
    assert!(first.exits_within(Duration::from_secs(60)), "the worker crashed right after sbatch");
    drop(first);
    let second = serve_with(data.path(), Some(&config), &[]);
    let end = api.ended(&second, &jid, Duration::from_secs(120)).await;
    assert_eq!(end["status"], "completed", "{end}");
    // One Slurm job by that name, and one start of the run.
    let jobs = sh(&format!("squeue -h -t all -u {user} -o %j"));
    let ours: Vec<&str> = jobs.lines().filter(|n| n.contains(&jid)).collect();
    assert_eq!(ours, [format!("flowcfd-{jid}-1")], "one Slurm job for the job: {jobs}");
    let started = std::fs::read_to_string(&counter).unwrap_or_default();
    assert_eq!(started.lines().count(), 1, "the run started once: {started:?}");
    let _ = std::fs::remove_file(&bin);
    let _ = std::fs::remove_file(&counter);
    let _ = std::fs::remove_dir_all(home.join(format!("{tag}-jobs")));
}
