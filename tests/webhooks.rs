//! Issue 24, outbound webhooks per project, against a real HTTP receiver on loopback: the
//! events arrive signed in Stripe's scheme (checked with the same verifier Stripe's own
//! signatures are), a receiver that answers 500 gets the delivery again after the back-off,
//! the delivery log shows both attempts, a real job's end arrives as job.completed with its
//! Cd, and URLs that would reach the server's own network are refused unless the operator
//! allows private addresses.
mod common;

use axum::http::HeaderMap;
use common::db;
use common::hooks::{event_of, receiver, wait_seen};
use common::server::TestServer;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn verify(h: &HeaderMap, body: &str, secret: &str) -> Result<i64, String> {
    let sig = h.get("flowcfd-signature").and_then(|v| v.to_str().ok());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    flowcfd::billing::webhook::verify(body.as_bytes(), sig, secret, now).map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_arrive_signed_and_a_failed_delivery_is_retried_and_logged() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(&db::sqlite_in(dir.path()), |c| {
        c.webhooks.allow_private = true;
        c.webhooks.retry_base_s = 1;
    })
    .await;
    let a = s.user("a@example.org").await;
    let (_, p) = s.call("POST", "/api/projects", &a, Some(json!({"name": "wing"}))).await;
    let pid = p["id"].as_str().unwrap().to_string();
    let (url, seen) = receiver(1).await;

    // Created with a generated secret, shown once.
    let (st, hook) = s.call("POST", &format!("/api/projects/{pid}/webhooks"), &a, Some(json!({"url": url}))).await;
    assert_eq!(st, 201, "{hook}");
    let secret = hook["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_") && secret.len() > 30, "{hook}");
    assert_eq!(hook["events"], json!(["job.completed", "job.failed", "geometry.ready"]));
    let hid = hook["id"].as_str().unwrap().to_string();
    let (st, list) = s.call("GET", &format!("/api/projects/{pid}/webhooks"), &a, None).await;
    assert_eq!(st, 200);
    assert!(list[0].get("secret").is_none() && list[0].get("secret_sealed").is_none(), "never shown again: {list}");

    // A geometry becomes ready: geometry.ready, refused once (500), delivered on the retry.
    let stl = std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/cube.stl")).unwrap();
    let (_, g) = s.upload(&a, &pid, "cube.stl", stl).await;
    let gid = g["id"].as_str().unwrap().to_string();
    assert_eq!(s.settle(&a, &gid).await["status"], "ready");
    let got = wait_seen(&seen, 2, 30).await;
    let (h1, b1) = &got[0];
    let (h2, b2) = &got[1];
    assert_eq!(b1, b2, "the retry sends the same event");
    verify(h2, b2, &secret).expect("the signature checks out under the webhook's secret");
    assert!(verify(h2, b2, "whsec_some-other-secret").is_err(), "and not under another");
    assert!(verify(h2, &b2.replace("ready", "Ready"), &secret).is_err(), "a changed body fails");
    assert_eq!(h1.get("flowcfd-event").unwrap(), "geometry.ready");
    assert_eq!(h1.get("flowcfd-delivery"), h2.get("flowcfd-delivery"), "one delivery, two attempts");
    let ev: Value = serde_json::from_str(b2).unwrap();
    assert_eq!(ev["type"], "geometry.ready");
    assert!(ev["id"].as_str().unwrap().starts_with("evt_"), "{ev}");
    assert_eq!(ev["data"]["geometry"]["id"], gid.as_str());
    assert_eq!(ev["data"]["geometry"]["status"], "ready");

    // The delivery log: delivered on the second attempt, after a 500.
    let t0 = Instant::now();
    let log = loop {
        let (_, log) = s.call("GET", &format!("/api/projects/{pid}/webhooks/{hid}/deliveries"), &a, None).await;
        if log[0]["state"] == "delivered" {
            break log;
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "{log}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!((log[0]["attempts"].as_i64(), log[0]["response_status"].as_i64()), (Some(2), Some(204)), "{log}");
    let cookie = s.session("a@example.org").await;
    let (_, html) = s.page(&format!("/projects/{pid}"), &cookie).await;
    assert!(
        html.contains("id=\"webhooks\"") && html.contains(&url) && html.contains("data-state=\"delivered\""),
        "{html}"
    );

    // A ping reaches it too.
    let (st, d) = s.call("POST", &format!("/api/projects/{pid}/webhooks/{hid}/ping"), &a, None).await;
    assert_eq!((st, d["event"].as_str()), (202, Some("ping")), "{d}");
    let got = wait_seen(&seen, 3, 10).await;
    verify(&got[2].0, &got[2].1, &secret).unwrap();

    // A real job on the geometry: job.completed with its Cd, as the job's view has it.
    common::require_openfoam();
    let body = json!({"name": "cube", "geometry_id": gid, "flow": {"type": "external", "velocity": [10, 0, 0]},
                      "mesh": {"target_cells": 3000}, "solver": {"iterations": 5}});
    let (st, c) = s.call("POST", &format!("/api/projects/{pid}/cases"), &a, Some(body)).await;
    assert_eq!(st, 201, "{c}");
    let (st, job) = s
        .call("POST", &format!("/api/cases/{}/jobs", c["id"].as_str().unwrap()), &a, Some(json!({"executor": "local"})))
        .await;
    assert_eq!(st, 201, "{job}");
    let ev = event_of(&seen, "job.completed", 300).await;
    let (_, view) = s.call("GET", &format!("/api/jobs/{}", job["id"].as_str().unwrap()), &a, None).await;
    assert_eq!(view["status"], "completed", "{view}");
    let j = &ev["data"]["job"];
    assert_eq!((j["id"].as_str(), j["status"].as_str()), (job["id"].as_str(), Some("completed")), "{ev}");
    assert_eq!(
        (j["Cd"].as_f64(), j["stopped_at_quota"].as_bool()),
        (view["forces"]["Cd"].as_f64(), Some(false)),
        "{ev}"
    );
    assert!(j["Cd"].as_f64().is_some() && j["url"].as_str().unwrap().ends_with(job["id"].as_str().unwrap()), "{ev}");

    // Deleting the webhook stops deliveries.
    let (st, _) = s.call("DELETE", &format!("/api/projects/{pid}/webhooks/{hid}"), &a, None).await;
    assert_eq!(st, 204);
    let (_, list) = s.call("GET", &format!("/api/projects/{pid}/webhooks"), &a, None).await;
    assert_eq!(list, json!([]));

    // Viewers do not see where a project's events go; strangers do not see the project.
    let b = s.user("b@example.org").await;
    let (st, _) = s.call("GET", &format!("/api/projects/{pid}/webhooks"), &b, None).await;
    assert_eq!(st, 404);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urls_that_reach_the_servers_own_network_are_refused_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(&db::sqlite_in(dir.path()), |_| {}).await;
    let a = s.user("a@example.org").await;
    let (_, p) = s.call("POST", "/api/projects", &a, Some(json!({"name": "hull"}))).await;
    let path = format!("/api/projects/{}/webhooks", p["id"].as_str().unwrap());
    for (url, says) in [
        ("http://127.0.0.1:9/hook", "loopback"),
        ("http://localhost:9/hook", "loopback"),
        ("http://[::1]:9/hook", "loopback"),
        ("http://10.0.0.7/hook", "private"),
        ("http://192.168.1.20/hook", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[fd00::1]/hook", "unique local"),
        ("http://0.0.0.0/hook", "unspecified"),
        ("ftp://example.com/hook", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("https://user:pw@example.com/hook", "credentials"),
    ] {
        let (st, body) = s.call("POST", &path, &a, Some(json!({"url": url}))).await;
        assert_eq!(st, 422, "{url}: {body}");
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains(says), "{url}: {detail}");
        assert!(!detail.contains("allow_private") || says != "scheme", "{detail}");
    }
    let (st, body) = s.call("POST", &path, &a, Some(json!({"url": "http://127.0.0.1:9/hook"}))).await;
    assert!(body["detail"].as_str().unwrap().contains("allow_private"), "says how an operator allows it: {body}");
    assert_eq!(st, 422);
    let (st, body) =
        s.call("POST", &path, &a, Some(json!({"url": "https://example.com/x", "events": ["job.started"]}))).await;
    assert_eq!(st, 422, "{body}");
    let (_, list) = s.call("GET", &path, &a, None).await;
    assert_eq!(list, json!([]), "nothing was stored");
    s.stop().await;
}
