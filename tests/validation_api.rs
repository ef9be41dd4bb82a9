//! Validation runs in the appliance: an administrator starts `flowcfd validate` through
//! `POST /api/validation` (one case here, `cavity-re100`, a few seconds of OpenFOAM), a
//! second start while it runs is a 409, non-admins get 403, an unknown case a 400; the run
//! is listed by `GET /api/validation` with its plots served as SVG, and the `/validation`
//! page shows the table and the plots (the start form for administrators only).
mod common;

use common::db;
use common::require_openfoam;
use common::server::TestServer;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

#[tokio::test]
async fn an_admin_runs_a_case_and_everyone_sees_it_with_its_plots() {
    require_openfoam();
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(&db::sqlite_in(dir.path()), |c| c.jobs.slots = 0).await;
    let alice = s.user("alice@example.org").await; // the first account: an admin
    let bob = s.user("bob@example.org").await;
    let (st, v) = s.call("GET", "/api/validation", &bob, None).await;
    assert_eq!((st, v), (200, Value::Null), "no run yet");
    let (st, p) = s.call("POST", "/api/validation", &bob, Some(json!({"cases": ["cavity-re100"]}))).await;
    assert_eq!(st, 403, "{p}");
    let (st, p) = s.call("POST", "/api/validation", &alice, Some(json!({"cases": ["no-such-case"]}))).await;
    assert_eq!(st, 400, "{p}");
    assert!(p.to_string().contains("cavity-re100"), "the 400 lists the cases: {p}");
    let (st, started) = s.call("POST", "/api/validation", &alice, Some(json!({"cases": ["cavity-re100"]}))).await;
    assert_eq!(st, 202, "{started}");
    let run = started["run"].as_str().unwrap().to_string();
    let (st, p) = s.call("POST", "/api/validation", &alice, Some(json!({"cases": ["cavity-re100"]}))).await;
    assert_eq!(st, 409, "one run at a time: {p}");
    let t0 = Instant::now();
    let latest = loop {
        let (st, v) = s.call("GET", "/api/validation", &bob, None).await;
        assert_eq!(st, 200);
        assert_eq!(v["run"], run.as_str());
        if v["status"] != "running" {
            break v;
        }
        assert!(t0.elapsed() < Duration::from_secs(300), "the run did not finish: {v}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(latest["status"], "passed", "{latest}");
    assert_eq!(latest["exit_code"], 0, "{latest}");
    let case = &latest["cases"][0];
    assert_eq!(case["name"], "cavity-re100");
    assert_eq!(case["pass"], true);
    let urls = case["plot_urls"].as_array().unwrap();
    assert!(!urls.is_empty(), "{case}");
    let r = s.http.get(s.u(urls[0].as_str().unwrap())).bearer_auth(&bob).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/svg+xml");
    assert!(r.text().await.unwrap().starts_with("<svg"));
    let (st, _) = s.call("GET", &format!("/api/validation/{run}/cavity-re100/results.json"), &bob, None).await;
    assert_eq!(st, 404, "only plots are served");
    let (st, _) = s.call("GET", &format!("/api/validation/{run}/..%2F..%2Fetc/passwd.svg"), &bob, None).await;
    assert_eq!(st, 404);

    let bob_page = s.session("bob@example.org").await;
    let (st, html) = s.page("/validation", &bob_page).await;
    assert_eq!(st, 200, "{html}");
    assert!(html.contains("cavity-re100") && html.contains("max_abs_dev"), "{html}");
    assert!(html.contains(urls[0].as_str().unwrap()), "the plots are shown: {html}");
    assert!(!html.contains("validation-start"), "no start form for non-admins");
    let alice_page = s.session("alice@example.org").await;
    let (_, html) = s.page("/validation", &alice_page).await;
    assert!(html.contains("validation-start"), "admins get the start form");
    let (_, home) = s.page("/", &bob_page).await;
    assert!(home.contains("href=\"/validation\""), "linked from the nav");
    s.stop().await;
}
