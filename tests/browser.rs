//! A real browser (Debian's chromium, driven by playwright-core) against a real server:
//! register, sign in, create a project, upload an STL, see it ready (saves a screenshot);
//! the usage page (meter, daily chart), the billing page (plans, Upgrade to a Stripe
//! Checkout URL, answered by a stub) and the plan limits in the set-up wizard.
mod common;

use common::{db, server::TestServer};
use std::process::Command;

#[tokio::test]
async fn register_login_project_upload_ready_in_chromium() {
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "chromium is not installed: run .ci/test (it installs Debian's chromium)"
    );
    let js = common::root().join("tests/js");
    assert!(js.join("node_modules/playwright-core").exists(), "run `npm ci --prefix tests/js` (.ci/test does)");
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(&db::sqlite_in(dir.path()), |_| {}).await;
    let shot = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser-geometry-ready.png");
    let _ = std::fs::remove_file(&shot);
    let _ = std::fs::remove_file(shot.with_file_name("browser-geometry-ready-failed.png"));
    let url = s.url.clone();
    let stl = common::root().join("examples/cube.stl");
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node").arg(js.join("browser-flow.mjs")).arg(&url).arg(&stl).arg(&shot).output().unwrap()
    })
    .await
    .unwrap();
    let (o, e) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "browser flow failed:\n{o}\n{e}");
    assert!(o.contains("ok:") && o.contains("ready"), "{o}");
    let shot = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser-geometry-ready.png");
    assert!(std::fs::metadata(&shot).unwrap().len() > 10_000, "screenshot saved at {}", shot.display());
    eprintln!("screenshot: {}", shot.display());
    s.stop().await;
}

/// A stand-in for Stripe's API on a loopback port: a customer, a Checkout Session whose
/// URL is the stub's own Checkout page, and that page. Returns its URL and the requests it
/// saw (`METHOD PATH BODY`).
async fn stripe_stub() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (url, log) = (base.clone(), seen.clone());
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = l.accept().await {
            let (base, log) = (base.clone(), log.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                let (head, body) = loop {
                    let Ok(n) = sock.read(&mut chunk).await else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
                    let head = String::from_utf8_lossy(&buf[..end]).to_string();
                    let len = head
                        .lines()
                        .filter_map(|l| l.split_once(':'))
                        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + len {
                        break (head, String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).to_string());
                    }
                };
                let mut first = head.lines().next().unwrap_or_default().split(' ');
                let (method, target) = (first.next().unwrap_or_default(), first.next().unwrap_or_default());
                let path = target.split('?').next().unwrap_or_default();
                log.lock().unwrap().push(format!("{method} {path} {body}"));
                let json = "application/json";
                let (status, kind, out) = match (method, path) {
                    ("POST", "/v1/customers") => {
                        ("200 OK", json, serde_json::json!({"id": "cus_test_1", "object": "customer"}).to_string())
                    }
                    ("POST", "/v1/checkout/sessions") => (
                        "200 OK",
                        json,
                        serde_json::json!({"id": "cs_test_1", "object": "checkout.session",
                            "url": format!("{base}/checkout/cs_test_1")})
                        .to_string(),
                    ),
                    ("GET", "/checkout/cs_test_1") => (
                        "200 OK",
                        "text/html; charset=utf-8",
                        "<!doctype html><title>Checkout</title><h1>Checkout stub</h1>".to_string(),
                    ),
                    ("GET", "/favicon.ico") => ("204 No Content", "text/plain", String::new()),
                    _ => (
                        "404 Not Found",
                        json,
                        serde_json::json!({"error": {"type": "invalid_request_error", "message": "not in the stub"}})
                            .to_string(),
                    ),
                };
                let reply = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: {kind}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{out}",
                    out.len()
                );
                let _ = sock.write_all(reply.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    (url, seen)
}

/// Billing by Stripe (the stub at `api_base`), new accounts on the free plan.
fn stripe_billing(api_base: &str) -> flowcfd::config::BillingConfig {
    let mut b =
        flowcfd::config::BillingConfig { provider: "stripe".into(), default_plan: "free".into(), ..Default::default() };
    b.stripe.secret_key = "sk_test_browser".into();
    b.stripe.webhook_secret = "whsec_browser".into();
    b.stripe.api_base = api_base.into();
    for p in ["engineer", "team", "engineer_overage", "team_overage"] {
        b.stripe.prices.insert(p.into(), format!("price_{p}"));
    }
    b
}

/// A user (`lab@example.org`, password `PW`) with a ready cube and a job of 4 cores whose
/// usage (2 h, 8 core-hours) is recorded this month; returns the geometry id.
async fn lab_with_usage(s: &TestServer) -> String {
    use flowcfd::store::{JobStatus, NewCase};
    use serde_json::json;
    let t = s.user("lab@example.org").await;
    let me = s.call("GET", "/api/me", &t, None).await.1["user"]["id"].as_str().unwrap().to_string();
    let (_, p) = s.call("POST", "/api/projects", &t, Some(json!({"name": "Wing"}))).await;
    let pid = p["id"].as_str().unwrap().to_string();
    let stl = std::fs::read(common::root().join("examples/cube.stl")).unwrap();
    let (_, g) = s.upload(&t, &pid, "cube.stl", stl).await;
    let gid = g["id"].as_str().unwrap().to_string();
    assert_eq!(s.settle(&t, &gid).await["status"], "ready");
    let store = &s.running.as_ref().unwrap().state.store;
    let spec = r#"{"flow": {"type": "external", "velocity": [20, 0, 0]}}"#;
    let case = NewCase { project_id: pid, geometry_id: Some(gid.clone()), name: "wing 2°".into(), spec: spec.into() };
    let case = store.create_case(&case).await.unwrap();
    let job = store.create_job(&case, &me, "local", 4, "browser test").await.unwrap();
    assert_eq!(store.claim_job("browser-test", 60_000).await.unwrap().unwrap().id, job.id);
    assert!(store.transition(&job.id, "browser-test", JobStatus::Preparing, "test").await.unwrap());
    let started = store.job(&job.id).await.unwrap().unwrap().started_at.unwrap();
    let month = flowcfd::billing::month_of;
    let until = if month(started + 7_200_000) == month(started) { started + 7_200_000 } else { started + 60_000 };
    assert!(store.record_usage(&job.id, until).await.unwrap() > 0.0);
    gid
}

/// Starts a server billed by Stripe (the stub) with `lab_with_usage`'s user and runs
/// tests/js/usage-flow.mjs in `mode`: its standard output, and the requests Stripe saw.
async fn usage_flow(mode: &str) -> (String, String, Vec<String>) {
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "chromium is not installed: run .ci/test (it installs Debian's chromium)"
    );
    let js = common::root().join("tests/js");
    assert!(js.join("node_modules/playwright-core").exists(), "run `npm ci --prefix tests/js` (.ci/test does)");
    let (stub, seen) = stripe_stub().await;
    let dir = tempfile::tempdir().unwrap();
    let billing = stripe_billing(&stub);
    let s = TestServer::start(&db::sqlite_in(dir.path()), move |c| {
        c.jobs.slots = 0;
        c.billing = Some(billing);
    })
    .await;
    let gid = lab_with_usage(&s).await;
    let shots = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let args: Vec<String> = vec![
        js.join("usage-flow.mjs").display().to_string(),
        mode.into(),
        s.url.clone(),
        "lab@example.org".into(),
        common::server::PW.into(),
        gid,
        shots.display().to_string(),
        stub.clone(),
    ];
    let out = tokio::task::spawn_blocking(move || Command::new("node").args(&args).output().unwrap()).await.unwrap();
    let (o, e) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "browser flow ({mode}) failed (screenshots in {}):\n{o}\n{e}", shots.display());
    s.stop().await;
    let seen = seen.lock().unwrap().clone();
    (o.to_string(), stub, seen)
}

#[tokio::test]
async fn usage_meter_and_chart_billing_plans_and_wizard_limits_in_chromium() {
    let (out, _, _) = usage_flow("usage").await;
    for want in ["ok: usage", "ok: billing", "ok: wizard"] {
        assert!(out.contains(want), "{want}: {out}");
    }
}

/// Needs `POST /api/billing/checkout` (the Stripe part of issue 20).
#[tokio::test]
async fn the_upgrade_button_goes_to_a_stripe_checkout_url_in_chromium() {
    let (out, stub, seen) = usage_flow("checkout").await;
    assert!(out.contains(&format!("ok: checkout {stub}/checkout/cs_test_1")), "{out}");
    assert!(
        seen.iter().any(|r| r.starts_with("POST /v1/checkout/sessions ") && r.contains("price_engineer")),
        "{seen:?}"
    );
}
