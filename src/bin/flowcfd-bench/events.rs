//! `flowcfd-bench events`: how long a residual takes from the line a solver writes to a
//! WebSocket client receiving it, on the local executor or on a configured cluster.
//!
//! A stand-in solver (a small Python script run in place of `flowcfd run`) writes one
//! iteration every `--interval-ms`, each with a residual whose value is the wall-clock time
//! it was written (Unix ms). The benchmark starts a server in this process, submits a job,
//! follows it over `GET /api/jobs/{id}/ws`, and takes now − value for each iteration's first
//! residual event. The baseline, in the same invocation, is a bare loop that polls the same
//! log file at the worker's interval for that executor: the floor of any log-polling design.
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Options of `flowcfd-bench events`.
#[derive(clap::Args, Debug)]
pub struct EventsArgs {
    /// Run on this configured cluster instead of locally (the configuration comes from
    /// --config).
    #[arg(long)]
    pub cluster: Option<String>,
    /// Configuration file with the cluster (its `[[clusters]]` entry).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Iterations the stand-in solver writes.
    #[arg(long, default_value_t = 300)]
    pub iterations: u32,
    /// Time between iterations, ms.
    #[arg(long, default_value_t = 20)]
    pub interval_ms: u64,
}

fn fake_solver(iterations: u32, interval_ms: u64) -> String {
    format!(
        r#"#!/usr/bin/env python3
# Stand-in for `flowcfd run CASE --out OUT --force --stream-log` (flowcfd-bench events).
import json, os, sys, time
out = sys.argv[sys.argv.index("--out") + 1]
print("==> flowcfd step 1/1 simpleFoam", flush=True)
for i in range(1, {iterations} + 1):
    print("Time = %d\n" % i, flush=True)
    print("smoothSolver:  Solving for t, Initial residual = %.3f, Final residual = 0, No Iterations 1" % (time.time() * 1000.0), flush=True)
    time.sleep({interval_ms} / 1000.0)
print("End", flush=True)
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "summary.json"), "w") as f:
    json.dump({{"bench": "events"}}, f)
"#
    )
}

const CUBE_STL: &str =
    "solid c\nfacet normal 0 0 -1\nouter loop\nvertex 0 0 0\nvertex 1 1 0\nvertex 1 0 0\nendloop\nendfacet\n\
facet normal 0 0 -1\nouter loop\nvertex 0 0 0\nvertex 0 1 0\nvertex 1 1 0\nendloop\nendfacet\n\
facet normal 0 0 1\nouter loop\nvertex 0 0 1\nvertex 1 0 1\nvertex 1 1 1\nendloop\nendfacet\n\
facet normal 0 0 1\nouter loop\nvertex 0 0 1\nvertex 1 1 1\nvertex 0 1 1\nendloop\nendfacet\n\
facet normal 0 -1 0\nouter loop\nvertex 0 0 0\nvertex 1 0 0\nvertex 1 0 1\nendloop\nendfacet\n\
facet normal 0 -1 0\nouter loop\nvertex 0 0 0\nvertex 1 0 1\nvertex 0 0 1\nendloop\nendfacet\n\
facet normal 0 1 0\nouter loop\nvertex 0 1 0\nvertex 1 1 1\nvertex 1 1 0\nendloop\nendfacet\n\
facet normal 0 1 0\nouter loop\nvertex 0 1 0\nvertex 0 1 1\nvertex 1 1 1\nendloop\nendfacet\n\
facet normal -1 0 0\nouter loop\nvertex 0 0 0\nvertex 0 1 1\nvertex 0 1 0\nendloop\nendfacet\n\
facet normal -1 0 0\nouter loop\nvertex 0 0 0\nvertex 0 0 1\nvertex 0 1 1\nendloop\nendfacet\n\
facet normal 1 0 0\nouter loop\nvertex 1 0 0\nvertex 1 1 0\nvertex 1 1 1\nendloop\nendfacet\n\
facet normal 1 0 0\nouter loop\nvertex 1 0 0\nvertex 1 1 1\nvertex 1 0 1\nendloop\nendfacet\nendsolid c\n";

fn now_ms() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// Percentile `p` (0–100) of `v` (sorted in place).
fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[((p / 100.0) * (v.len() - 1) as f64).round() as usize]
}

/// Polls `log` every `every` until `stop`, timing each residual line as it is seen.
fn bare_tail(log: PathBuf, every: Duration, stop: std::sync::Arc<std::sync::atomic::AtomicBool>) -> Vec<f64> {
    use std::io::{Read, Seek, SeekFrom};
    let mut lat = Vec::new();
    let (mut offset, mut partial) = (0u64, String::new());
    loop {
        let done = stop.load(std::sync::atomic::Ordering::Relaxed);
        if let Ok(mut f) = std::fs::File::open(&log) {
            let mut buf = Vec::new();
            if f.seek(SeekFrom::Start(offset)).is_ok() && f.read_to_end(&mut buf).is_ok() {
                offset += buf.len() as u64;
                partial.push_str(&String::from_utf8_lossy(&buf));
                while let Some(nl) = partial.find('\n') {
                    let line: String = partial.drain(..=nl).collect();
                    if let Some(v) = line.split("Initial residual = ").nth(1).and_then(|r| r.split(',').next()) {
                        if let Ok(t) = v.trim().parse::<f64>() {
                            lat.push(now_ms() - t);
                        }
                    }
                }
            }
        }
        if done {
            return lat;
        }
        std::thread::sleep(every);
    }
}

/// A hand-made multipart body with one file field.
fn multipart(name: &str, data: &[u8]) -> (String, Vec<u8>) {
    let boundary = "flowcfd-bench-boundary-7d1f";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Runs the benchmark and prints its report.
pub fn main(a: &EventsArgs) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(run(a))
}

async fn run(a: &EventsArgs) -> Result<(), String> {
    let work = std::env::temp_dir().join(format!("flowcfd-bench-events-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    let solver = work.join("fake-solver.py");
    std::fs::write(&solver, fake_solver(a.iterations, a.interval_ms)).map_err(|e| e.to_string())?;
    std::fs::set_permissions(&solver, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .map_err(|e| e.to_string())?;
    let over = flowcfd::config::Overrides {
        config_file: a.config.clone(),
        bind: Some("127.0.0.1:0".into()),
        data_dir: Some(work.join("data")),
        database_url: Some(format!("sqlite://{}", work.join("data/flowcfd.db").display())),
    };
    let mut cfg = flowcfd::config::Config::load(&over).map_err(|e| e.to_string())?;
    cfg.jobs.flowcfd_bin = Some(solver.clone());
    cfg.log.filter = "warn".into();
    let executor = a.cluster.clone().unwrap_or_else(|| "local".into());
    let running = flowcfd::server::start(cfg).await.map_err(|e| e.to_string())?;
    let base = format!("http://{}", running.addr);
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, token: Option<&str>, body: Option<Value>| {
        let mut r = http.request(method, format!("{base}{path}"));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        async move {
            let resp = r.send().await.map_err(|e| e.to_string())?;
            resp.json::<Value>().await.map_err(|e| e.to_string())
        }
    };
    let (email, pw) = ("bench-events@example.org", "laminar-wake-2026");
    call(
        reqwest::Method::POST,
        "/api/auth/register",
        None,
        Some(json!({"email": email, "password": pw, "name": "Bench"})),
    )
    .await?;
    let login =
        call(reqwest::Method::POST, "/api/auth/login", None, Some(json!({"email": email, "password": pw}))).await?;
    let token = login["token"].as_str().ok_or("no token")?.to_string();
    let p = call(reqwest::Method::POST, "/api/projects", Some(&token), Some(json!({"name": "bench"}))).await?;
    let pid = p["id"].as_str().ok_or("no project")?.to_string();
    let (ct, body) = multipart("cube.stl", CUBE_STL.as_bytes());
    let g: Value = http
        .post(format!("{base}/api/projects/{pid}/geometries"))
        .bearer_auth(&token)
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let gid = g["id"].as_str().ok_or_else(|| format!("upload: {g}"))?.to_string();
    let t0 = Instant::now();
    while call(reqwest::Method::GET, &format!("/api/geometries/{gid}"), Some(&token), None).await?["status"] != "ready"
    {
        if t0.elapsed() > Duration::from_secs(60) {
            return Err("the geometry did not become ready".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let spec = json!({"name": "bench", "geometry_id": gid, "flow": {"type": "external", "velocity": [10, 0, 0]},
                      "mesh": {"target_cells": 20000}, "solver": {"iterations": a.iterations}});
    let c = call(reqwest::Method::POST, &format!("/api/projects/{pid}/cases"), Some(&token), Some(spec)).await?;
    let cid = c["id"].as_str().ok_or_else(|| format!("case: {c}"))?.to_string();
    let j = call(
        reqwest::Method::POST,
        &format!("/api/cases/{cid}/jobs"),
        Some(&token),
        Some(json!({"executor": executor, "cores": 1})),
    )
    .await?;
    let jid = j["id"].as_str().ok_or_else(|| format!("job: {j}"))?.to_string();

    // The baseline tails the same log file where this machine can read it.
    let log = match &a.cluster {
        None => Some(running.state.cfg.data_dir.join("jobs").join(&jid).join("run.log")),
        Some(name) => running.state.cfg.clusters.iter().find(|c| &c.name == name).and_then(|c| {
            let home = if c.remote_dir.starts_with('/') {
                PathBuf::new()
            } else {
                let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
                let line = passwd.lines().find(|l| l.starts_with(&format!("{}:", c.user)))?;
                PathBuf::from(line.split(':').nth(5)?)
            };
            Some(home.join(&c.remote_dir).join(&jid).join("run.log"))
        }),
    };
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let every = running.state.executors.get(&executor).map_or(Duration::from_millis(500), |e| e.log_interval());
    let tail = log.clone().map(|l| {
        let stop = stop.clone();
        std::thread::spawn(move || bare_tail(l, every, stop))
    });

    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = format!("{}/api/jobs/{jid}/ws", base.replacen("http", "ws", 1))
        .into_client_request()
        .map_err(|e| e.to_string())?;
    req.headers_mut().insert("authorization", format!("Bearer {token}").parse().map_err(|_| "header")?);
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.map_err(|e| e.to_string())?;
    let mut seen = std::collections::HashSet::new();
    let mut lat = Vec::new();
    let mut end = Value::Null;
    let deadline = Instant::now() + Duration::from_secs(600);
    while let Ok(Some(Ok(m))) = tokio::time::timeout_at(deadline.into(), ws.next()).await {
        let tokio_tungstenite::tungstenite::Message::Text(t) = m else { continue };
        let v: Value = serde_json::from_str(&t).unwrap_or_default();
        match v["type"].as_str() {
            Some("residuals") | Some("sample") => {
                let it = v["iteration"].as_u64().unwrap_or(0);
                if let Some(t) = v["residuals"]["t"].as_f64() {
                    if seen.insert(it) && v["type"] == "residuals" {
                        lat.push(now_ms() - t);
                    }
                }
            }
            Some("status") if matches!(v["status"].as_str(), Some("completed" | "failed" | "cancelled")) => {
                end = v;
                break;
            }
            _ => {}
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut base_lat = tail.and_then(|h| h.join().ok()).unwrap_or_default();
    running.stop().await.map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(&work);
    if end["status"] != "completed" {
        return Err(format!("the benchmark job did not complete: {end}"));
    }
    let n = lat.len();
    let (p50, p99) = (pct(&mut lat, 50.0), pct(&mut lat, 99.0));
    let (b50, b99) = (pct(&mut base_lat, 50.0), pct(&mut base_lat, 99.0));
    let target = if a.cluster.is_some() { 2000.0 } else { 100.0 };
    println!(
        "{executor}: {n} residual events over the WebSocket: p50 {p50:.1} ms, p99 {p99:.1} ms (target p99 <= {target:.0} ms: {}) \
         | baseline, a bare poll of the same log file every {} ms (the worker's interval): p50 {b50:.1} ms, \
         p99 {b99:.1} ms | ratio p99 {:.2}x",
        if p99 <= target { "met" } else { "MISSED" },
        every.as_millis(),
        p99 / b99
    );
    println!(
        "{}",
        json!({"executor": executor, "events": n, "p50_ms": p50, "p99_ms": p99, "baseline_p50_ms": b50,
               "baseline_p99_ms": b99, "iterations": a.iterations, "interval_ms": a.interval_ms})
    );
    Ok(())
}
