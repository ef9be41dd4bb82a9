//! PDF reports through the API on real OpenFOAM, on SQLite and PostgreSQL: an org's logo
//! (a real PNG accepted and readable by members; anything else, or a member who is not an
//! admin, refused with the reason); a job's report refused until the job has ended, then
//! made once (`X-Report-Cache: miss`) and served from the object store (`hit`, the same
//! bytes), with the org's name on its title block (pdftotext); another tenant gets 404;
//! concurrent first requests make it once; the job page's button shows that the report is
//! being made, then downloads it (chromium, on SQLite); a failed run still gets a report,
//! and its failure.json is kept.
mod common;

use common::{db, server::TestServer};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const ORG: &str = "Aerolab Reporting GmbH";

async fn ended(s: &TestServer, token: &str, id: &str) -> Value {
    let start = Instant::now();
    loop {
        let (st, j) = s.call("GET", &format!("/api/jobs/{id}"), token, None).await;
        assert_eq!(st, 200, "{j}");
        if matches!(j["status"].as_str(), Some("completed" | "failed" | "cancelled")) {
            return j;
        }
        assert!(start.elapsed() < Duration::from_secs(600), "job stuck: {j}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// `GET /api/jobs/{id}/report.pdf`: (status, X-Report-Cache, content type, body).
async fn report(s: &TestServer, token: &str, job: &str) -> (u16, String, String, Vec<u8>) {
    let r = s.http.get(s.u(&format!("/api/jobs/{job}/report.pdf"))).bearer_auth(token).send().await.unwrap();
    let h = |n: &str| r.headers().get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let (status, cache, kind) = (r.status().as_u16(), h("x-report-cache"), h("content-type"));
    let disposition = h("content-disposition");
    let body = r.bytes().await.unwrap().to_vec();
    if status == 200 {
        assert!(
            disposition.starts_with("attachment; filename=\"") && disposition.ends_with("-report.pdf\""),
            "{disposition}"
        );
    }
    (status, cache, kind, body)
}

/// The problem+json detail of a refused report.
fn detail(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body).map(|p| p["detail"].as_str().unwrap_or("").to_string()).unwrap_or_default()
}

/// The text of a PDF, by poppler's pdftotext.
fn pdf_text(pdf: &[u8]) -> String {
    let t = tempfile::tempdir().unwrap();
    let f = t.path().join("r.pdf");
    std::fs::write(&f, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg(&f)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils; .ci/test installs it)");
    assert!(out.status.success(), "pdftotext: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A real PNG: a small gradient.
fn logo_png() -> Vec<u8> {
    let (w, h) = (120, 40);
    let mut out = Vec::new();
    let mut e = png::Encoder::new(&mut out, w, h);
    e.set_color(png::ColorType::Rgba);
    e.set_depth(png::BitDepth::Eight);
    let mut wr = e.write_header().unwrap();
    let px: Vec<u8> = (0..w * h).flat_map(|i| [(i % w * 2) as u8, 80, (i / w * 6) as u8, 255]).collect();
    wr.write_image_data(&px).unwrap();
    wr.finish().unwrap();
    out
}

/// `PUT /api/orgs/{org}/logo` with `body`: (status, JSON).
async fn put_logo(s: &TestServer, token: &str, org: &str, body: Vec<u8>) -> (u16, Value) {
    let r = s
        .http
        .put(s.u(&format!("/api/orgs/{org}/logo")))
        .bearer_auth(token)
        .header("content-type", "image/png")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The job page's button in chromium: the "preparing" state, then the PDF downloaded.
async fn in_the_browser(s: &TestServer, email: &str, job: &str) {
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "chromium is not installed: run .ci/test (it installs Debian's chromium)"
    );
    let js = common::root().join("tests/js");
    assert!(js.join("node_modules/playwright-core").exists(), "run `npm ci --prefix tests/js` (.ci/test does)");
    let shots = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let args = [s.url.clone(), email.to_string(), common::server::PW.to_string(), job.to_string()];
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node").arg(js.join("report-flow.mjs")).args(args).arg(&shots).output().unwrap()
    })
    .await
    .unwrap();
    let (o, e) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && o.contains("ok: report"), "the report button in chromium:\n{o}\n{e}");
}

async fn scenario(url: &str, browser: bool) {
    common::require_openfoam();
    let s = TestServer::start(url, |_| {}).await;
    let owner = s.user("owner@example.org").await;
    let member = s.user("member@example.org").await;
    let other = s.user("other@example.org").await;
    let (st, o) = s.call("POST", "/api/orgs", &owner, Some(json!({"name": ORG, "slug": "aerolab"}))).await;
    assert_eq!(st, 201, "{o}");
    let oid = o["id"].as_str().unwrap().to_string();
    let body = json!({"email": "member@example.org", "role": "member"});
    let (st, inv) = s.call("POST", &format!("/api/orgs/{oid}/invitations"), &owner, Some(body)).await;
    assert_eq!(st, 202, "{inv}");
    let (st, _) =
        s.call("POST", &format!("/api/invitations/{}/accept", inv["id"].as_str().unwrap()), &member, None).await;
    assert_eq!(st, 200);

    // The logo: a real PNG from an admin, readable by members; nothing else is taken.
    let logo = logo_png();
    let (st, v) = put_logo(&s, &owner, &oid, logo.clone()).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!((v["width"].as_u64(), v["height"].as_u64()), (Some(120), Some(40)), "{v}");
    let r = s.http.get(s.u(&format!("/api/orgs/{oid}/logo"))).bearer_auth(&member).send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.headers()["content-type"].to_str().unwrap()), (200, "image/png"));
    assert_eq!(r.bytes().await.unwrap().to_vec(), logo, "members read the logo back");
    assert_eq!(s.call("GET", &format!("/api/orgs/{oid}/logo"), &other, None).await.0, 404, "not a member");
    let (st, p) = put_logo(&s, &member, &oid, logo.clone()).await;
    assert_eq!(st, 403, "a member who is not an admin: {p}");
    assert!(p["detail"].as_str().unwrap().contains("owner or admins"), "{p}");
    assert_eq!(put_logo(&s, &other, &oid, logo.clone()).await.0, 404, "another tenant");
    for (bad, want) in [(b"GIF89a\x01\x00\x01\x00".to_vec(), 415), (logo[..logo.len() / 2].to_vec(), 415)] {
        let (st, p) = put_logo(&s, &owner, &oid, bad).await;
        assert_eq!(st, want, "{p}");
        assert!(p["detail"].as_str().unwrap().contains("upload a PNG of at most 512 KB"), "{p}");
    }
    let (st, p) = put_logo(&s, &owner, &oid, vec![0x89; 600 * 1024]).await;
    assert_eq!(st, 413, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("upload a PNG of at most 512 KB"), "{p}");

    // An org project with the cube; one run that completes, one that fails (each step
    // may take 1 s, and meshing takes longer), queued behind it.
    let (st, p) = s.call("POST", "/api/projects", &owner, Some(json!({"name": "wing", "org_id": oid}))).await;
    assert_eq!(st, 201, "{p}");
    let pid = p["id"].as_str().unwrap().to_string();
    let stl = std::fs::read(common::root().join("examples/cube.stl")).unwrap();
    let (_, g) = s.upload(&owner, &pid, "cube.stl", stl).await;
    let gid = g["id"].as_str().unwrap().to_string();
    assert_eq!(s.settle(&owner, &gid).await["status"], "ready");
    let case = |name: &str, solver: Value| {
        json!({"name": name, "geometry_id": gid, "flow": {"type": "external", "velocity": [10, 0, 0]},
               "mesh": {"target_cells": 20000}, "solver": solver})
    };
    let mut jobs = Vec::new();
    for (name, solver) in [("cube", json!({"iterations": 30})), ("cube-timeout", json!({"step_timeout_s": 1}))] {
        let (st, c) = s.call("POST", &format!("/api/projects/{pid}/cases"), &owner, Some(case(name, solver))).await;
        assert_eq!(st, 201, "{c}");
        let body = json!({"executor": "local", "cores": 1});
        let (st, j) =
            s.call("POST", &format!("/api/cases/{}/jobs", c["id"].as_str().unwrap()), &owner, Some(body)).await;
        assert_eq!(st, 201, "{j}");
        jobs.push(j["id"].as_str().unwrap().to_string());
    }
    let (done, failing) = (jobs[0].clone(), jobs[1].clone());

    // Before a job ends there is no report, and the page offers none.
    let (st, _, _, body) = report(&s, &owner, &failing).await;
    assert_eq!(st, 409, "a queued job: {}", String::from_utf8_lossy(&body));
    assert!(detail(&body).contains("once it has ended"), "{}", detail(&body));
    let cookie = s.session("owner@example.org").await;
    let (st, page) = s.page(&format!("/jobs/{failing}"), &cookie).await;
    assert_eq!(st, 200);
    assert!(!page.contains("report-download"), "no report button before the job ends");

    let end = ended(&s, &owner, &done).await;
    assert_eq!(end["status"], "completed", "{end}");
    let (st, page) = s.page(&format!("/jobs/{done}"), &cookie).await;
    assert_eq!(st, 200);
    assert!(page.contains("id=\"report-download\"") && page.contains(&format!("/api/jobs/{done}/report.pdf")));

    // Made on the first request, then served from the object store, byte for byte.
    let (st, cache, kind, first) = report(&s, &owner, &done).await;
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&first));
    assert_eq!((cache.as_str(), kind.as_str()), ("miss", "application/pdf"));
    assert!(first.starts_with(b"%PDF-"), "a PDF");
    let (st, cache, _, again) = report(&s, &owner, &done).await;
    assert_eq!((st, cache.as_str()), (200, "hit"));
    assert_eq!(again, first, "the cached report is the one made");
    let (st, cache, _, theirs) = report(&s, &member, &done).await;
    assert_eq!((st, cache.as_str(), theirs == first), (200, "hit", true), "a member of the org");
    let (st, _, _, body) = report(&s, &other, &done).await;
    assert_eq!(st, 404, "another tenant: {}", String::from_utf8_lossy(&body));
    // Kept for a look (like the browser tests' screenshots).
    let _ = std::fs::write(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-api.pdf"), &first);
    let text = pdf_text(&first);
    assert!(text.contains(ORG), "the org's name on the title block:\n{text}");

    // Without the logo it is a new report; concurrent first requests make it once.
    assert_eq!(s.call("DELETE", &format!("/api/orgs/{oid}/logo"), &member, None).await.0, 403);
    assert_eq!(s.call("DELETE", &format!("/api/orgs/{oid}/logo"), &owner, None).await.0, 204);
    assert_eq!(s.call("GET", &format!("/api/orgs/{oid}/logo"), &member, None).await.0, 404, "removed");
    let answers = futures_util::future::join_all((0..3).map(|_| report(&s, &owner, &done))).await;
    let mut caches: Vec<&str> =
        answers.iter().map(|(st, c, _, _)| if *st == 200 { c.as_str() } else { "error" }).collect();
    caches.sort();
    assert_eq!(caches, ["hit", "hit", "miss"], "one build for concurrent first requests");
    assert!(answers.iter().all(|a| a.3 == answers[0].3), "all the same report");
    assert!(pdf_text(&answers[0].3).contains(ORG));
    let metrics = s.http.get(s.u("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("flowcfd_reports_built_total 2\n"), "{metrics}");
    assert!(metrics.contains("flowcfd_report_cache_hits_total 4\n"), "{metrics}");
    if browser {
        in_the_browser(&s, "owner@example.org", &done).await;
    }

    // A failed run still gets its report, from what it left.
    let end = ended(&s, &owner, &failing).await;
    assert_eq!(end["status"], "failed", "{end}");
    let blobs = s.dir.path().join("blobs").join("jobs").join(&failing);
    assert!(blobs.join("failure.json").is_file(), "the run's failure.json is kept");
    let (st, cache, kind, pdf) = report(&s, &owner, &failing).await;
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&pdf));
    assert_eq!((cache.as_str(), kind.as_str()), ("miss", "application/pdf"));
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(pdf_text(&pdf).to_lowercase().contains("failed"), "the report says the run failed");
    s.stop().await;
}

#[tokio::test]
async fn reports_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    scenario(&db::sqlite_in(dir.path()), true).await;
}

#[tokio::test]
async fn reports_on_postgres() {
    scenario(&db::fresh_postgres().await, false).await;
}
