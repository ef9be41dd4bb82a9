//! `flowcfd remote` as a user runs it, against a real `flowcfd serve` on real OpenFOAM:
//! password login saved 0600, projects, upload, submit --watch of a tiny case to exit 0,
//! download of the summary and the case; a job that fails exits 1, a cancelled one 4 and a
//! refused submission 3; an API token in FLOWCFD_TOKEN works; an unreachable server is named.
mod common;

use common::server::{sign_up, PW};
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;

/// `flowcfd remote ARGS` with HOME and XDG_CONFIG_HOME in `home`; (exit code, stdout, stderr).
fn remote(home: &Path, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> (i32, String, String) {
    let mut c = common::flowcfd_clean();
    c.arg("remote").args(args).env("HOME", home).env("XDG_CONFIG_HOME", home.join("config"));
    for (k, v) in env {
        c.env(k, v);
    }
    c.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() }).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().expect("run flowcfd remote");
    if let Some(text) = stdin {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let (o, e) = (String::from_utf8_lossy(&out.stdout).to_string(), String::from_utf8_lossy(&out.stderr).to_string());
    assert!(!e.contains("panicked"), "flowcfd panicked:\n{e}");
    eprintln!("$ flowcfd remote {}\n{o}{e}", args.join(" "));
    (out.status.code().unwrap_or(-1), o, e)
}

fn case_toml(extra: &str) -> String {
    format!(
        "name = \"cube, tiny\"\n{extra}[flow]\ntype = \"external\"\nvelocity = [10.0, 0.0, 0.0]\n\
         [mesh]\ntarget_cells = 5000\n[solver]\niterations = 5\ncores = 1\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_upload_submit_watch_download_on_real_openfoam() {
    common::require_openfoam();
    let t = tempfile::tempdir().unwrap();
    let (data, home, work) = (t.path().join("data"), t.path().join("home"), t.path().join("work"));
    for d in [&data, &home, &work] {
        std::fs::create_dir_all(d).unwrap();
    }
    let server = common::child::serve(&data, |c| {
        c.env("OMPI_ALLOW_RUN_AS_ROOT", "1").env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
    });
    let url = server.url.clone();
    let http = reqwest::Client::new();
    let access = sign_up(&http, &url, "lab@example.org").await;
    let r = http.post(format!("{url}/api/projects")).bearer_auth(&access).json(&json!({"name": "wind"})).send().await;
    assert_eq!(r.unwrap().status(), 201);

    // Login by password on stdin; the saved file is the user's alone.
    let (code, _, err) = remote(
        &home,
        &["login", &url, "--email", "lab@example.org", "--password-stdin"],
        &[],
        Some(&format!("{PW}\n")),
    );
    assert_eq!(code, 0, "{err}");
    let saved = home.join("config/flowcfd/remote.toml");
    assert_eq!(std::fs::metadata(&saved).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(std::fs::read_to_string(&saved).unwrap().contains("refresh_token"));
    let (code, _, err) = remote(
        &home,
        &["login", &url, "--email", "lab@example.org", "--password-stdin"],
        &[],
        Some("wrong-password\n"),
    );
    assert_eq!(code, 3, "{err}");
    assert!(err.starts_with("error: ") && err.contains("(HTTP 401)"), "{err}");

    let (code, out, err) = remote(&home, &["projects", "--json"], &[], None);
    assert_eq!(code, 0, "{err}");
    let projects: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(projects[0]["name"], "wind", "{out}");
    let (code, out, _) = remote(&home, &["projects"], &[], None);
    assert!(code == 0 && out.starts_with("ID") && out.contains("wind"), "{out}");

    // Upload, then a case file without a geometry runs on the project's only ready one.
    let cube = common::root().join("examples/cube.stl");
    let (code, out, err) = remote(&home, &["upload", "wind", cube.to_str().unwrap()], &[], None);
    assert_eq!(code, 0, "{err}");
    let gid = out.trim().to_string();
    assert!(err.contains("is ready"), "{err}");
    std::fs::write(work.join("case.toml"), case_toml("")).unwrap();
    let case = work.join("case.toml");
    let (code, out, err) = remote(&home, &["submit", "wind", case.to_str().unwrap(), "--watch"], &[], None);
    assert_eq!(code, 0, "a completed job exits 0: {out}{err}");
    assert!(err.contains(&format!("using geometry {gid}")) && err.contains("only ready geometry"), "{err}");
    let job = out.lines().next().unwrap().trim().to_string();
    assert!(out.contains(&format!("job {job} completed")), "{out}");
    assert!(out.contains("iteration") && out.contains("Cd "), "the last values are shown: {out}");

    let (code, out, err) = remote(
        &home,
        &["download", &job, "--case", "--summary", "--out", work.join("result").to_str().unwrap()],
        &[],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(work.join("result/summary.json")).unwrap()).unwrap();
    assert!(summary["mesh"]["cells"].as_u64().unwrap() > 0, "{summary}");
    assert!(work.join("result/case/system/controlDict").is_file(), "{out}");
    assert!(!work.join("result/.case.tar.gz").exists());

    let (code, out, _) = remote(&home, &["jobs", "--json", "--status", "completed"], &[], None);
    let jobs: Value = serde_json::from_str(&out).unwrap();
    assert!(code == 0 && jobs[0]["id"] == job.as_str() && jobs[0]["project"] == "wind", "{out}");
    let (code, out, _) = remote(&home, &["jobs", "--project", "wind", "--status", "running"], &[], None);
    assert!(code == 0 && out.lines().count() == 1 && out.contains("CORE-H (h)"), "header only: {out}");

    // Refused before it runs: usage/server errors are 3.
    let (code, _, err) = remote(&home, &["submit", "wind", case.to_str().unwrap(), "--cores", "4096"], &[], None);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("at most") && err.contains("(HTTP 422)"), "{err}");
    std::fs::write(work.join("bad.toml"), case_toml("").replace("iterations", "iteratoins")).unwrap();
    let (code, _, err) = remote(&home, &["submit", "wind", work.join("bad.toml").to_str().unwrap()], &[], None);
    assert!(code == 3 && err.contains("iteratoins"), "{err}");

    // A job that fails (a step past its 1 s limit) exits 1; the case names its file, which
    // is uploaded first.
    std::fs::copy(&cube, work.join("cube.stl")).unwrap();
    let failing = case_toml("geometry = \"cube.stl\"\n").replace("target_cells = 5000", "target_cells = 200000")
        + "step_timeout_s = 1\n";
    std::fs::write(work.join("fail.toml"), failing).unwrap();
    let (code, out, err) =
        remote(&home, &["submit", "wind", work.join("fail.toml").to_str().unwrap(), "--watch"], &[], None);
    assert_eq!(code, 1, "a failed job exits 1: {out}{err}");
    assert!(err.contains("uploading it to \"wind\""), "{err}");
    let failed = out.lines().next().unwrap().trim().to_string();
    assert!(out.contains(&format!("job {failed} failed")) && out.contains("reason: snappyHexMesh"), "{out}");

    // A cancelled job exits 4.
    std::fs::write(work.join("long.toml"), case_toml("").replace("iterations = 5", "iterations = 100000")).unwrap();
    // Two geometries now: the case names one with --geometry.
    let long_toml = work.join("long.toml");
    let (code, _, err) = remote(&home, &["submit", "wind", long_toml.to_str().unwrap()], &[], None);
    assert!(code == 3 && err.contains("2 ready geometries; choose one with --geometry"), "{err}");
    let (code, out, err) =
        remote(&home, &["submit", "wind", long_toml.to_str().unwrap(), "--geometry", &gid], &[], None);
    assert!(code == 0 && err.contains(&format!("using geometry {gid} (cube.stl) from --geometry")), "{err}");
    let long = out.trim().to_string();
    let r = http.post(format!("{url}/api/jobs/{long}/cancel")).bearer_auth(&access).send().await.unwrap();
    assert_eq!(r.status(), 202);
    let (code, out, err) = remote(&home, &["watch", &long], &[], None);
    assert_eq!(code, 4, "a cancelled job exits 4: {out}{err}");

    // An API token in FLOWCFD_TOKEN, with no saved login.
    let r = http
        .post(format!("{url}/api/tokens"))
        .bearer_auth(&access)
        .json(&json!({"name": "lab script"}))
        .send()
        .await
        .unwrap();
    let api_token = r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string();
    let bare = t.path().join("bare");
    std::fs::create_dir_all(&bare).unwrap();
    let env = [("FLOWCFD_URL", url.as_str()), ("FLOWCFD_TOKEN", api_token.as_str())];
    let (code, out, err) = remote(&bare, &["watch", &job], &env, None);
    assert!(code == 0 && out.contains("completed"), "{out}{err}");
    let (code, _, err) = remote(&bare, &["watch", &failed], &env, None);
    assert_eq!(code, 1, "{err}");
    let (code, _, err) =
        remote(&bare, &["projects"], &[("FLOWCFD_URL", &url), ("FLOWCFD_TOKEN", "fcfd_not_a_token")], None);
    assert!(code == 3 && err.contains("(HTTP 401)"), "{err}");

    let (code, _, err) = remote(&home, &["logout"], &[], None);
    assert!(code == 0 && !saved.exists(), "{err}");
    let (code, _, err) = remote(&home, &["projects"], &[], None);
    assert!(code == 3 && err.contains("flowcfd remote login"), "{err}");
}

#[test]
fn an_unreachable_server_is_named_and_a_bad_url_explained() {
    let home = tempfile::tempdir().unwrap();
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}");
    let (code, _, err) = remote(home.path(), &["login", &url, "--token", "fcfd_x"], &[], None);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains(&format!("cannot reach the FlowCFD server at {url}")), "{err}");
    let (code, _, err) = remote(home.path(), &["jobs"], &[("FLOWCFD_URL", &url), ("FLOWCFD_TOKEN", "fcfd_x")], None);
    assert!(code == 3 && err.contains(&url), "{err}");
    let (code, _, err) = remote(home.path(), &["login", "cfd.example.com", "--token", "x"], &[], None);
    assert!(code == 3 && (err.contains("http:// or https://") || err.contains("not a URL")), "{err}");
}

#[tokio::test]
async fn an_expired_access_token_is_renewed_with_the_refresh_token_and_saved() {
    let t = tempfile::tempdir().unwrap();
    let (data, home) = (t.path().join("data"), t.path().join("home"));
    std::fs::create_dir_all(&home).unwrap();
    // Access tokens live 1 s (plus the server's 5 s leeway).
    let server = common::child::serve(&data, |c| {
        c.env("FLOWCFD_AUTH__ACCESS_TTL_S", "1");
    });
    sign_up(&reqwest::Client::new(), &server.url, "late@example.org").await;
    let args = ["login", server.url.as_str(), "--email", "late@example.org", "--password-stdin"];
    let (code, _, err) = remote(&home, &args, &[], Some(&format!("{PW}\n")));
    assert_eq!(code, 0, "{err}");
    let saved = home.join("config/flowcfd/remote.toml");
    let before = std::fs::read_to_string(&saved).unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(8)).await;
    let (code, out, err) = remote(&home, &["projects", "--json"], &[], None);
    assert!(code == 0 && out.trim() == "[]", "{out}{err}");
    let after = std::fs::read_to_string(&saved).unwrap();
    assert_ne!(before, after, "the renewed tokens are saved");
    assert_eq!(std::fs::metadata(&saved).unwrap().permissions().mode() & 0o777, 0o600);
}
