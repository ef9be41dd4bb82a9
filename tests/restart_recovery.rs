//! Restart recovery: a real solve started through the API survives `kill -9` of the
//! server. The restarted server re-attaches to the running solve (it is not started again)
//! and the job completes with its full iteration count. A geometry that was processing
//! when the server died is taken over once its lease runs out.
mod common;

use serde_json::{json, Value};
use std::io::BufRead;
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

fn serve(data: &std::path::Path) -> Server {
    serve_with(data, &[])
}

fn serve_with(data: &std::path::Path, env: &[(&str, &str)]) -> Server {
    let mut child = common::flowcfd_clean()
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .envs(env.iter().copied())
        .env("FLOWCFD_JOBS__LEASE_S", "3")
        .env("FLOWCFD_LOG__FORMAT", "text")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.split_whitespace().nth(4).unwrap_or_else(|| panic!("no URL in {line:?}")).to_string();
    Server { child, url }
}

async fn call(http: &reqwest::Client, method: reqwest::Method, url: String, token: &str, body: Option<Value>) -> Value {
    let mut r = http.request(method, url).bearer_auth(token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    r.send().await.unwrap().json().await.unwrap_or(Value::Null)
}

#[tokio::test]
async fn a_solve_survives_kill_9_of_the_server() {
    common::require_openfoam();
    let data = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let first = serve(data.path());
    let u = |s: &Server, p: &str| format!("{}{p}", s.url);
    let token = common::server::sign_up(&http, &first.url, "crash@example.org").await;
    let p =
        call(&http, reqwest::Method::POST, u(&first, "/api/projects"), &token, Some(json!({"name": "crash"}))).await;
    let pid = p["id"].as_str().unwrap();
    let stl = std::fs::read(common::root().join("examples/cube.stl")).unwrap();
    let form = reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(stl).file_name("cube.stl"));
    let g: Value = http
        .post(u(&first, &format!("/api/projects/{pid}/geometries")))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let gid = g["id"].as_str().unwrap().to_string();
    let start = Instant::now();
    while call(&http, reqwest::Method::GET, u(&first, &format!("/api/geometries/{gid}")), &token, None).await["status"]
        != "ready"
    {
        assert!(start.elapsed() < Duration::from_secs(60));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let spec = json!({"name": "cube", "geometry_id": gid, "flow": {"type": "external", "velocity": [10, 0, 0]},
                      "mesh": {"target_cells": 20000}, "solver": {"iterations": 400,
                        "residual_targets": {"p": 1e-12, "U": 1e-12, "k": 1e-12, "omega": 1e-12}}});
    let c =
        call(&http, reqwest::Method::POST, u(&first, &format!("/api/projects/{pid}/cases")), &token, Some(spec)).await;
    let cid = c["id"].as_str().unwrap_or_else(|| panic!("{c}"));
    let j = call(
        &http,
        reqwest::Method::POST,
        u(&first, &format!("/api/cases/{cid}/jobs")),
        &token,
        Some(json!({"executor": "local", "cores": 1})),
    )
    .await;
    let jid = j["id"].as_str().unwrap().to_string();
    let job = |s: &Server| u(s, &format!("/api/jobs/{jid}"));

    // Wait for the solver, then kill the server without warning.
    let start = Instant::now();
    loop {
        let st = call(&http, reqwest::Method::GET, job(&first), &token, None).await;
        if st["status"] == "solving" {
            break;
        }
        assert!(!matches!(st["status"].as_str(), Some("failed" | "completed" | "cancelled")), "{st}");
        assert!(start.elapsed() < Duration::from_secs(300), "{st}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    unsafe { libc::kill(first.child.id() as i32, libc::SIGKILL) };
    drop(first);

    // A new server takes the job over once the dead worker's lease runs out.
    let second = serve(data.path());
    let start = Instant::now();
    let end = loop {
        let st = call(&http, reqwest::Method::GET, job(&second), &token, None).await;
        if matches!(st["status"].as_str(), Some("failed" | "completed" | "cancelled")) {
            break st;
        }
        assert!(start.elapsed() < Duration::from_secs(600), "{st}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(end["status"], "completed", "{end}");
    assert_eq!(end["iteration"], 400, "the solve ran to the end: {end}");
    let workers: std::collections::HashSet<&str> =
        end["transitions"].as_array().unwrap().iter().filter_map(|t| t["worker"].as_str()).collect();
    assert_eq!(workers.len(), 2, "a second worker finished the job: {end}");
    let starts = end["transitions"].as_array().unwrap().iter().filter(|t| t["to"] == "preparing").count();
    assert_eq!(starts, 1, "the run was re-attached, not started again: {end}");
    let log = std::fs::read_to_string(data.path().join("jobs").join(&jid).join("run.log")).unwrap();
    assert_eq!(log.matches("==> flowcfd step 1/").count(), 1, "one run in the log:\n{log}");
    // The residual history, written by two workers, has every iteration exactly once.
    let hist = call(&http, reqwest::Method::GET, u(&second, &format!("/api/jobs/{jid}/samples")), &token, None).await;
    let its: Vec<u64> = hist.as_array().unwrap().iter().map(|s| s["iteration"].as_u64().unwrap()).collect();
    assert_eq!(its, (1..=400).collect::<Vec<_>>(), "no gap and no duplicate across the restart");
}

/// Registers and signs in on `s`; the access token.
async fn token(http: &reqwest::Client, s: &Server, email: &str) -> String {
    common::server::sign_up(http, &s.url, email).await
}

#[tokio::test]
async fn a_geometry_processing_at_kill_9_is_ready_soon_after_the_restart() {
    let data = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    // A test-build hook makes processing take ten minutes: the kill lands during it.
    let first = serve_with(data.path(), &[("FLOWCFD_TEST_GEOMETRY_DELAY_MS", "600000")]);
    let token = token(&http, &first, "geometry-crash@example.org").await;
    let p =
        call(&http, reqwest::Method::POST, format!("{}/api/projects", first.url), &token, Some(json!({"name": "g"})))
            .await;
    let pid = p["id"].as_str().unwrap();
    let stl = std::fs::read(common::root().join("examples/cube.stl")).unwrap();
    let form = reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(stl).file_name("cube.stl"));
    let g: Value = http
        .post(format!("{}/api/projects/{pid}/geometries", first.url))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let gid = g["id"].as_str().unwrap().to_string();
    let geometry = |s: &Server| format!("{}/api/geometries/{gid}", s.url);
    let start = Instant::now();
    while call(&http, reqwest::Method::GET, geometry(&first), &token, None).await["status"] != "processing" {
        assert!(start.elapsed() < Duration::from_secs(30), "the geometry never started processing");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Held for a few heartbeats, then the server dies without warning.
    tokio::time::sleep(Duration::from_secs(2)).await;
    unsafe { libc::kill(first.child.id() as i32, libc::SIGKILL) };
    drop(first);

    let second = serve(data.path());
    let start = Instant::now();
    let end = loop {
        let g = call(&http, reqwest::Method::GET, geometry(&second), &token, None).await;
        if g["status"] != "processing" && g["status"] != "pending" {
            break g;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "still {} 30 s after the restart", g["status"]);
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(end["status"], "ready", "{end}");
}
