//! Jobs through the API on real OpenFOAM: submit, follow to completion over the WebSocket
//! and by polling, read the summary, the log, the residual history and the case archive;
//! post-process the result (extractions, probes, saved views; tenant-scoped); cancel a
//! long run and find no process left; bad and over-quota submissions are refused.
mod common;

use common::{db, server::TestServer};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

async fn until(s: &TestServer, token: &str, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let (st, j) = s.call("GET", &format!("/api/jobs/{id}"), token, None).await;
        assert_eq!(st, 200, "{j}");
        if done(&j) {
            return j;
        }
        assert!(start.elapsed() < Duration::from_secs(600), "job stuck: {j}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn submit_follow_cancel_on_real_openfoam() {
    common::require_openfoam();
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(&db::sqlite_in(dir.path()), |c| c.jobs.max_cores_per_user = 1).await;
    let a = s.user("runner@example.org").await;
    let (_, p) = s.call("POST", "/api/projects", &a, Some(json!({"name": "cube"}))).await;
    let pid = p["id"].as_str().unwrap().to_string();
    let stl = std::fs::read(common::root().join("examples/cube.stl")).unwrap();
    let (_, g) = s.upload(&a, &pid, "cube.stl", stl).await;
    let gid = g["id"].as_str().unwrap().to_string();
    assert_eq!(s.settle(&a, &gid).await["status"], "ready");
    let case = |iterations: u32| {
        json!({"name": "cube", "geometry_id": gid, "flow": {"type": "external", "velocity": [10, 0, 0]},
               "mesh": {"target_cells": 20000}, "solver": {"iterations": iterations}})
    };
    let (st, c) = s.call("POST", &format!("/api/projects/{pid}/cases"), &a, Some(case(60))).await;
    assert_eq!(st, 201, "{c}");
    let cid = c["id"].as_str().unwrap().to_string();

    // Refused submissions.
    let (st, p) = s.call("POST", &format!("/api/cases/{cid}/jobs"), &a, Some(json!({"executor": "campus"}))).await;
    assert_eq!(st, 422, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("unknown cluster"), "{p}");
    let (st, p) =
        s.call("POST", &format!("/api/cases/{cid}/jobs"), &a, Some(json!({"executor": "local", "cores": 4096}))).await;
    assert_eq!(st, 422, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("at most"), "{p}");
    let other = s.user("other@example.org").await;
    assert_eq!(
        s.call("POST", &format!("/api/cases/{cid}/jobs"), &other, Some(json!({"executor": "local"}))).await.0,
        404
    );

    // A run followed to the end.
    let (st, j) =
        s.call("POST", &format!("/api/cases/{cid}/jobs"), &a, Some(json!({"executor": "local", "cores": 1}))).await;
    assert_eq!(st, 201, "{j}");
    assert_eq!(j["status"], "queued");
    let jid = j["id"].as_str().unwrap().to_string();
    assert_eq!(s.call("GET", &format!("/api/jobs/{jid}"), &other, None).await.0, 404);
    let ws_url = |token: &str| {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut r = format!("{}/api/jobs/{jid}/ws", s.url.replacen("http", "ws", 1)).into_client_request().unwrap();
        r.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
        r
    };
    let denied = tokio_tungstenite::connect_async(ws_url(&other)).await;
    assert!(denied.is_err(), "another tenant cannot watch the job");
    let (mut socket, _) = tokio_tungstenite::connect_async(ws_url(&a)).await.expect("websocket");
    let watcher = tokio::spawn(async move {
        use futures_util::StreamExt;
        let mut got = Vec::new();
        while let Some(Ok(m)) = socket.next().await {
            if let tokio_tungstenite::tungstenite::Message::Text(t) = m {
                got.push(serde_json::from_str::<Value>(&t).unwrap());
            }
        }
        got
    });
    // The quota (1 core here) counts the live job.
    let (st, p) =
        s.call("POST", &format!("/api/cases/{cid}/jobs"), &a, Some(json!({"executor": "local", "cores": 1}))).await;
    assert_eq!(st, 422, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("hold 1 of your 1 cores"), "{p}");
    let done =
        until(&s, &a, &jid, |j| matches!(j["status"].as_str(), Some("completed" | "failed" | "cancelled"))).await;
    assert_eq!(done["status"], "completed", "{done}");

    // The socket: a snapshot, then residual samples while the solver ran, each iteration
    // once and in order, and the end.
    let msgs = tokio::time::timeout(Duration::from_secs(30), watcher).await.expect("socket closes").unwrap();
    assert_eq!(msgs[0]["type"], "snapshot", "{}", msgs[0]);
    let live: Vec<&Value> = msgs[1..].iter().filter(|m| m["type"] == "sample").collect();
    assert!(live.len() >= 10, "residual samples arrived live: {msgs:?}");
    assert!(msgs.iter().any(|m| m["type"] == "residuals"), "partial residuals of the iteration in progress");
    assert!(msgs.iter().any(|m| m["type"] == "step" && m["step"] == "simpleFoam"));
    // The log as it was written, each piece once and in order of its byte range.
    let logs: Vec<&Value> = msgs.iter().filter(|m| m["type"] == "log").collect();
    assert!(logs.iter().any(|m| m["text"].as_str().unwrap().contains("Time =")), "live log output: {logs:?}");
    assert!(logs.windows(2).all(|w| w[0]["end"].as_u64() <= w[1]["offset"].as_u64()), "{logs:?}");
    let mut iterations: Vec<u64> =
        msgs[0]["samples"].as_array().unwrap().iter().map(|x| x["iteration"].as_u64().unwrap()).collect();
    iterations.extend(live.iter().map(|x| x["iteration"].as_u64().unwrap()));
    let n = done["iteration"].as_u64().unwrap();
    assert_eq!(iterations, (1..=n).collect::<Vec<_>>(), "every iteration once, in order");
    assert!(live.iter().all(|x| x["residuals"]["p"].as_f64().is_some()), "{live:?}");
    let end = msgs.last().unwrap();
    assert_eq!((end["type"].as_str(), end["status"].as_str()), (Some("status"), Some("completed")), "{end}");
    // The stored history says the same, and a client resuming after iteration k gets k+1….
    let (_, hist) = s.call("GET", &format!("/api/jobs/{jid}/samples"), &a, None).await;
    assert_eq!(hist.as_array().unwrap().len() as u64, n);
    let (_, tail) = s.call("GET", &format!("/api/jobs/{jid}/samples?after={}", n - 5), &a, None).await;
    assert_eq!(tail[0]["iteration"].as_u64(), Some(n - 4));
    // Core-seconds are recorded for billing: cores × the run's own wall time (its
    // usage.json), within 1 %, however long the worker took to notice the end and finish.
    let store = &s.running.as_ref().unwrap().state.store;
    let used = store.usage_of_job(&jid).await.unwrap();
    let run = flowcfd::runner::usage::read(&s.dir.path().join("jobs").join(&jid).join("out")).expect("usage.json");
    let want = run.core_seconds();
    assert!(want > 0.0 && (used - want).abs() <= 0.01 * want, "recorded {used} core-seconds, the run took {want}");
    assert!((used - done["core_seconds"].as_f64().unwrap()).abs() < 1.0, "{used} vs {done}");
    let recs = store.usage_records_of_job(&jid).await.unwrap();
    assert_eq!(recs.iter().filter(|r| r.step.as_deref() == Some("final")).count(), 1, "{recs:?}");
    let row = store.job(&jid).await.unwrap().unwrap();
    let me = format!("user:{}", row.user_id);
    assert!(
        recs.iter().all(|r| r.subject.as_deref() == Some(me.as_str())),
        "a personal project bills its user: {recs:?}"
    );
    assert_eq!(row.iterations, Some(n as i64), "iterations from summary.json");
    assert!(row.mesh_cells.is_some_and(|c| c > 1000), "{row:?}");
    // The exportable case.
    let tgz = s.http.get(s.u(&format!("/api/jobs/{jid}/case.tar.gz"))).bearer_auth(&a).send().await.unwrap();
    assert_eq!(tgz.status(), 200);
    let bytes = tgz.bytes().await.unwrap();
    let mut names = Vec::new();
    for e in tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..])).entries().unwrap() {
        names.push(e.unwrap().path().unwrap().display().to_string());
    }
    for want in ["case/system/controlDict", "case/constant/polyMesh/faces", "case/log.simpleFoam"] {
        assert!(names.iter().any(|n| n == want), "{want} in the archive: {names:?}");
    }
    let path: Vec<&str> = done["transitions"].as_array().unwrap().iter().map(|t| t["to"].as_str().unwrap()).collect();
    assert_eq!(path.first(), Some(&"queued"));
    assert!(path.contains(&"preparing") && path.last() == Some(&"completed"), "{path:?}");
    assert!(done["forces"]["Cd"].as_f64().is_some() && done["iteration"].as_u64().is_some(), "{done}");
    assert!(done["core_seconds"].as_f64().unwrap() >= 0.0);
    let (st, summary) = s.call("GET", &format!("/api/jobs/{jid}/summary"), &a, None).await;
    assert_eq!(st, 200);
    assert_eq!(summary["forces"]["Cd"], done["forces"]["Cd"]);
    let log =
        s.http.get(s.u(&format!("/api/jobs/{jid}/log"))).bearer_auth(&a).send().await.unwrap().text().await.unwrap();
    assert!(log.contains("simpleFoam"), "{log}");
    let (_, list) = s.call("GET", &format!("/api/jobs?project={pid}"), &a, None).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(
        s.call("POST", &format!("/api/jobs/{jid}/cancel"), &a, None).await.0,
        409,
        "a finished job cannot be cancelled"
    );

    // Post-processing of the result: what it holds, each extraction as the chunked stream
    // (the second ask served from the object-store cache), probes, ranges and saved views;
    // another tenant gets 404 everywhere; bad parameters get 422 with the reason.
    let (st, idx) = s.call("GET", &format!("/api/jobs/{jid}/post"), &a, None).await;
    assert_eq!(st, 200, "{idx}");
    assert!(idx["fields"].as_array().unwrap().iter().any(|f| f["name"] == "p"), "{idx}");
    assert!(idx["patches"].as_array().unwrap().iter().any(|p| p["type"] == "wall"), "{idx}");
    assert_eq!(s.call("GET", &format!("/api/jobs/{jid}/post"), &other, None).await.0, 404);
    let get = |token: &str, url: String| {
        let req = s.http.get(s.u(&url)).bearer_auth(token);
        async move { req.send().await.unwrap() }
    };
    for (kind, q) in [
        ("surface", "field=p"),
        ("slice", "origin=0.5,0,0.5&normal=0,1,0&field=U:mag"),
        ("iso", "field=p&value=-20&color_by=U:mag"),
        ("streamlines", "seed_line=-1,0,0.1:-1,0,1.5&count=10"),
    ] {
        let url = format!("/api/jobs/{jid}/post/{kind}?{q}");
        let r = get(&a, url.clone()).await;
        assert_eq!(r.status(), 200, "{kind}");
        assert_eq!(r.headers()["content-type"], "application/vnd.flowcfd.post");
        let first = r.bytes().await.unwrap();
        let (meta, tris, segs) = flowcfd::post::chunk::decode(&first).expect("a well-formed stream");
        assert_eq!(meta["kind"], kind, "{meta}");
        assert!(tris > 0 || segs > 0, "{kind}: {meta}");
        let again = get(&a, url.clone()).await.bytes().await.unwrap();
        assert_eq!(first, again, "{kind}: the second answer is the cached one (same timing inside)");
        assert_eq!(get(&other, url).await.status(), 404, "{kind} for another tenant");
    }
    let (st, pr) = s.call("GET", &format!("/api/jobs/{jid}/post/probe?field=p&points=-1,0,0.5;99,0,0"), &a, None).await;
    assert_eq!(st, 200, "{pr}");
    assert!(pr["values"][0].as_f64().is_some() && pr["values"][1].is_null(), "{pr}");
    let (st, rg) = s.call("GET", &format!("/api/jobs/{jid}/post/range?field=U:mag"), &a, None).await;
    assert_eq!(st, 200, "{rg}");
    assert!(rg["max"].as_f64().unwrap() > 5.0, "{rg}");
    for (q, want) in [
        ("slice?origin=0,0,0", "normal"),
        ("slice?origin=0,0,0&normal=0,0,0", "non-zero normal"),
        ("iso?field=nope&value=1", "no field 'nope'"),
        ("iso?field=p&value=abc", "not a number"),
        ("streamlines?seed_line=0,0,0&count=5", "X,Y,Z:X,Y,Z"),
        ("streamlines?seed_line=0,0,0:1,1,1&count=999999", "1 to 20000"),
    ] {
        let (st, p) = s.call("GET", &format!("/api/jobs/{jid}/post/{q}"), &a, None).await;
        assert_eq!(st, 422, "{q}: {p}");
        assert!(p["detail"].as_str().unwrap().contains(want), "{q}: {p}");
    }
    assert_eq!(s.call("GET", &format!("/api/jobs/{jid}/post/warp"), &a, None).await.0, 404);
    let view = json!({"name": "wake", "config": {"kind": "slice", "origin": [2.0, 0.0, 0.5], "normal": [1.0, 0.0, 0.0], "field": "U:mag"}});
    let (st, v) = s.call("POST", &format!("/api/jobs/{jid}/views"), &a, Some(view.clone())).await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["kind"], "slice");
    let (st, p) = s
        .call("POST", &format!("/api/jobs/{jid}/views"), &a, Some(json!({"name": "x", "config": {"kind": "warp"}})))
        .await;
    assert_eq!(st, 422, "{p}");
    assert_eq!(s.call("POST", &format!("/api/jobs/{jid}/views"), &other, Some(view)).await.0, 404);
    let (_, list) = s.call("GET", &format!("/api/jobs/{jid}/views"), &a, None).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["config"]["origin"][0], 2.0);
    assert_eq!(s.call("GET", &format!("/api/jobs/{jid}/views"), &other, None).await.0, 404);
    let vid = v["id"].as_str().unwrap();
    assert_eq!(s.call("DELETE", &format!("/api/jobs/{jid}/views/{vid}"), &other, None).await.0, 404);
    assert_eq!(s.call("DELETE", &format!("/api/jobs/{jid}/views/{vid}"), &a, None).await.0, 204);
    let (_, list) = s.call("GET", &format!("/api/jobs/{jid}/views"), &a, None).await;
    assert_eq!(list.as_array().unwrap().len(), 0);

    // A long run, cancelled while it runs: nothing is left behind.
    let (_, c2) = s.call("POST", &format!("/api/projects/{pid}/cases"), &a, Some(case(20000))).await;
    let cid2 = c2["id"].as_str().unwrap();
    let (_, j2) =
        s.call("POST", &format!("/api/cases/{cid2}/jobs"), &a, Some(json!({"executor": "local", "cores": 1}))).await;
    let jid2 = j2["id"].as_str().unwrap().to_string();
    until(&s, &a, &jid2, |j| matches!(j["status"].as_str(), Some("meshing" | "solving"))).await;
    let (st, _) = s.call("POST", &format!("/api/jobs/{jid2}/cancel"), &a, None).await;
    assert_eq!(st, 202);
    let end =
        until(&s, &a, &jid2, |j| matches!(j["status"].as_str(), Some("completed" | "failed" | "cancelled"))).await;
    assert_eq!(end["status"], "cancelled", "{end}");
    let job_dir = s.dir.path().join("jobs").join(&jid2);
    for _ in 0..50 {
        if common::processes_under(&job_dir).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(common::processes_under(&job_dir), Vec::<String>::new(), "processes left in {}", job_dir.display());
    s.stop().await;
}

#[tokio::test]
async fn a_separate_worker_process_runs_jobs_queued_by_a_server_that_runs_none() {
    common::require_openfoam();
    let dir = tempfile::tempdir().unwrap();
    let url = db::sqlite_in(dir.path());
    let s = TestServer::start(&url, |c| c.jobs.slots = 0).await;
    let a = s.user("queue-only@example.org").await;
    let (_, p) = s.call("POST", "/api/projects", &a, Some(json!({"name": "w"}))).await;
    let pid = p["id"].as_str().unwrap().to_string();
    let stl = std::fs::read(common::root().join("examples/cube.stl")).unwrap();
    let (_, g) = s.upload(&a, &pid, "cube.stl", stl).await;
    let gid = g["id"].as_str().unwrap().to_string();
    assert_eq!(s.settle(&a, &gid).await["status"], "ready");
    let spec = json!({"geometry_id": gid, "flow": {"type": "external", "velocity": [10, 0, 0]},
                      "mesh": {"target_cells": 20000}, "solver": {"iterations": 30}});
    let (_, c) = s.call("POST", &format!("/api/projects/{pid}/cases"), &a, Some(spec)).await;
    let (_, j) = s
        .call(
            "POST",
            &format!("/api/cases/{}/jobs", c["id"].as_str().unwrap()),
            &a,
            Some(json!({"executor": "local", "cores": 1})),
        )
        .await;
    let jid = j["id"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        s.call("GET", &format!("/api/jobs/{jid}"), &a, None).await.1["status"],
        "queued",
        "the server runs no jobs"
    );

    // The worker shares the server's data directory (database, blobs, secret).
    let mut worker = common::flowcfd_clean()
        .arg("worker")
        .arg("--data-dir")
        .arg(s.dir.path())
        .arg("--database-url")
        .arg(&url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let end = until(&s, &a, &jid, |j| matches!(j["status"].as_str(), Some("completed" | "failed" | "cancelled"))).await;
    unsafe { libc::kill(worker.id() as i32, libc::SIGTERM) };
    assert!(worker.wait().unwrap().success(), "the worker stops cleanly on SIGTERM");
    assert_eq!(end["status"], "completed", "{end}");
    s.stop().await;
}
