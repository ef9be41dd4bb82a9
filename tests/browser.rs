//! A real browser (Debian's chromium, driven by playwright-core) against a real server:
//! register, sign in, create a project, upload an STL, see it ready. Saves a screenshot.
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
