//! Uploads that must not exhaust or stall the server, and inputs outside physics:
//! geometry processing shares its workers fairly between users (issue 19, item 8), mesh
//! suggestions reuse the healed surface, need editor rights and are bounded per user
//! (item 10), and absurd finite values are refused, naming the field, the value and the
//! range, through the API and the CLI (item 11).
mod common;

use common::{db, server::TestServer};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// A binary STL of `n` separate small triangles on a grid: slow to weld and orient.
fn many_triangles(n: u32) -> Vec<u8> {
    let mut out = vec![b' '; 80];
    out.extend_from_slice(&n.to_le_bytes());
    let side = (n as f64).sqrt().ceil() as u32;
    for i in 0..n {
        let (x, y) = ((i % side) as f32 * 0.01, (i / side) as f32 * 0.01);
        for v in [[0.0, 0.0, 1.0], [x, y, 0.0], [x + 0.005, y, 0.0], [x, y + 0.005, 0.003]] {
            for c in v {
                out.extend_from_slice(&c.to_le_bytes());
            }
        }
        out.extend_from_slice(&[0, 0]);
    }
    out
}

async fn project(s: &TestServer, token: &str, name: &str) -> String {
    let (st, p) = s.call("POST", "/api/projects", token, Some(json!({"name": name}))).await;
    assert_eq!(st, 201, "{p}");
    p["id"].as_str().unwrap().to_string()
}

async fn status(s: &TestServer, token: &str, gid: &str) -> String {
    let (_, g) = s.call("GET", &format!("/api/geometries/{gid}"), token, None).await;
    g["status"].as_str().unwrap_or_default().to_string()
}

/// User A's large upload is processing; user B's small one, uploaded after it, is ready
/// before A's is done. With one server-wide serial queue (before), B waited for A.
#[tokio::test]
async fn another_users_small_upload_is_ready_while_a_large_one_processes() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(&db::sqlite_in(dir.path()), |c| {
        c.limits.geometry_workers = 2;
        c.limits.geometry_per_user = 1;
    })
    .await;
    let a = s.user("big@example.org").await;
    let b = s.user("small@example.org").await;
    let (pa, pb) = (project(&s, &a, "a").await, project(&s, &b, "b").await);

    let (st, big) = s.upload(&a, &pa, "big.stl", many_triangles(400_000)).await;
    assert_eq!(st, 202, "{big}");
    let big = big["id"].as_str().unwrap().to_string();
    // A second large upload of A's waits for A's turn; it must not take B's worker either.
    let (_, big2) = s.upload(&a, &pa, "big2.stl", many_triangles(400_000)).await;
    let big2 = big2["id"].as_str().unwrap().to_string();
    let t = Instant::now();
    while status(&s, &a, &big).await == "pending" {
        assert!(t.elapsed() < Duration::from_secs(30), "the large upload never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let cube = std::fs::read(common::root().join("examples/cube.stl")).unwrap();
    let (st, small) = s.upload(&b, &pb, "cube.stl", cube).await;
    assert_eq!(st, 202, "{small}");
    let small = small["id"].as_str().unwrap().to_string();
    loop {
        let st = status(&s, &b, &small).await;
        if st == "ready" {
            break;
        }
        assert!(st == "pending" || st == "processing", "{st}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (a1, a2) = (status(&s, &a, &big).await, status(&s, &a, &big2).await);
    assert_eq!(a1, "processing", "B's upload waited for A's to finish");
    assert_eq!(a2, "pending", "A's second upload waits for A's first (one at a time per user)");
    assert_eq!(s.settle(&a, &big).await["status"], "ready");
    assert_eq!(s.settle(&a, &big2).await["status"], "ready");
    s.stop().await;
}

async fn ready_cube(s: &TestServer, token: &str, pid: &str) -> String {
    let cube = std::fs::read(common::root().join("examples/cube.stl")).unwrap();
    let (st, g) = s.upload(token, pid, "cube.stl", cube).await;
    assert_eq!(st, 202, "{g}");
    let gid = g["id"].as_str().unwrap().to_string();
    assert_eq!(s.settle(token, &gid).await["status"], "ready");
    gid
}

#[tokio::test]
async fn mesh_suggestions_need_editor_rights_reuse_the_healed_surface_and_are_bounded_per_user() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(&db::sqlite_in(dir.path()), |c| c.limits.mesh_suggestions_per_user = 1).await;
    let st = s.running.as_ref().unwrap().state.clone();
    let a = s.user("editor@example.org").await;
    let v = s.user("viewer@example.org").await;
    let (code, org) = s.call("POST", "/api/orgs", &a, Some(json!({"name": "Lab", "slug": "lab"}))).await;
    assert_eq!(code, 201, "{org}");
    let oid = org["id"].as_str().unwrap();
    let viewer = st.store.user_by_email("viewer@example.org").await.unwrap().unwrap();
    st.store.set_member(oid, &viewer.id, flowcfd::store::Role::Viewer).await.unwrap();
    let (_, p) = s.call("POST", "/api/projects", &a, Some(json!({"name": "car", "org_id": oid}))).await;
    let pid = p["id"].as_str().unwrap().to_string();
    let gid = ready_cube(&s, &a, &pid).await;
    let url = format!("/api/geometries/{gid}/mesh-suggestion");
    let ask = |scale: f64| {
        Some(
            json!({"target_cells": 20000, "spec": {"scale": scale, "flow": {"type": "external", "velocity": [10, 0, 0]}}}),
        )
    };

    // Viewers see the geometry but cannot spend the server's CPU on suggestions.
    assert_eq!(s.call("GET", &format!("/api/geometries/{gid}"), &v, None).await.0, 200);
    let (code, p) = s.call("POST", &url, &v, ask(1.0)).await;
    assert_eq!(code, 403, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("member rights"), "{p}");

    // The healed surface is kept: with the original gone, suggestions at any scale work.
    let g = st.store.geometry_for_worker(&gid).await.unwrap().unwrap();
    st.blobs.delete(&g.original_key).await.unwrap();
    for scale in [1.0, 2.0, 0.5] {
        let (code, p) = s.call("POST", &url, &a, ask(scale)).await;
        assert_eq!(code, 200, "scale {scale}: {p}");
    }
    // Its size follows the case's scale (the cube is 1 m; 2 m needs a coarser base cell).
    let (_, one) = s.call("POST", &url, &a, ask(1.0)).await;
    let (_, two) = s.call("POST", &url, &a, ask(2.0)).await;
    assert!(two["base_cell_size"].as_f64().unwrap() > one["base_cell_size"].as_f64().unwrap(), "{one} {two}");

    // One suggestion at a time per user: a second while one runs is refused, not queued.
    let slot = st.suggestions.try_acquire(&g_owner(&st, "editor@example.org").await).unwrap();
    let (code, p) = s.call("POST", &url, &a, ask(1.0)).await;
    assert_eq!(code, 429, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("mesh_suggestions_per_user"), "{p}");
    drop(slot);
    assert_eq!(s.call("POST", &url, &a, ask(1.0)).await.0, 200);
    s.stop().await;
}

async fn g_owner(st: &flowcfd::state::AppState, email: &str) -> String {
    st.store.user_by_email(email).await.unwrap().unwrap().id
}

/// Values that parse but describe no flow are refused with field, value and range.
#[tokio::test]
async fn absurd_values_are_refused_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(&db::sqlite_in(dir.path()), |_| {}).await;
    let a = s.user("physics@example.org").await;
    let pid = project(&s, &a, "p").await;
    let gid = ready_cube(&s, &a, &pid).await;
    let case = |extra: Value| {
        let mut c = json!({"geometry_id": gid, "flow": {"type": "external", "velocity": [10, 0, 0]}});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    let cases = format!("/api/projects/{pid}/cases");
    for (extra, says) in [
        (
            json!({"flow": {"type": "external", "velocity": [1.7e308, 0, 0]}}),
            vec!["flow.velocity", "1.7e308 m/s", "102.9 m/s", "incompressible"],
        ),
        (json!({"flow": {"type": "external", "velocity": [104, 0, 0]}}), vec!["flow.velocity", "Mach 0.3"]),
        (json!({"flow": {"type": "external", "velocity": [1e-7, 0, 0]}}), vec!["flow.velocity", "1e-6"]),
        (json!({"fluid": {"nu": 1.0}}), vec!["fluid.nu = 1e0 m²/s", "1e-8 to 1e-1"]),
        (json!({"fluid": {"nu": 1e-12}}), vec!["fluid.nu", "1e-12"]),
        (json!({"fluid": {"rho": 1e30}}), vec!["fluid.rho = 1e30 kg/m³", "1e-2 to 2e4"]),
        (json!({"fluid": {"rho": 1e-5}}), vec!["fluid.rho"]),
        (json!({"scale": 1e30}), vec!["geometry size", "1e30 m", "100 km"]),
        (json!({"scale": 1e-7}), vec!["geometry size", "1 µm"]),
    ] {
        let (code, p) = s.call("POST", &cases, &a, Some(case(extra.clone()))).await;
        assert_eq!(code, 422, "{extra}: {p}");
        let d = p["detail"].as_str().unwrap();
        for w in says {
            assert!(d.contains(w), "{extra}: {w:?} not in {d}");
        }
    }
    // The limits themselves are accepted.
    for extra in
        [json!({"fluid": {"nu": 1e-8, "rho": 2e4}}), json!({"flow": {"type": "external", "velocity": [102, 0, 0]}})]
    {
        let (code, p) = s.call("POST", &cases, &a, Some(case(extra.clone()))).await;
        assert_eq!(code, 201, "{extra}: {p}");
    }
    // The mesh wizard refuses the same.
    let (code, p) =
        s.call("POST", &format!("/api/geometries/{gid}/mesh-suggestion"), &a, Some(json!({"velocity": 1e9}))).await;
    assert_eq!(code, 422, "{p}");
    // An upload whose scale makes it 10^30 m across fails processing, saying why.
    let part = reqwest::multipart::Part::bytes(std::fs::read(common::root().join("examples/cube.stl")).unwrap())
        .file_name("cube.stl");
    let form = reqwest::multipart::Form::new().text("scale", "1e30").part("file", part);
    let r = s.http.post(s.u(&format!("/api/projects/{pid}/geometries"))).bearer_auth(&a).multipart(form);
    let g: Value = r.send().await.unwrap().json().await.unwrap();
    let g = s.settle(&a, g["id"].as_str().unwrap()).await;
    assert_eq!(g["status"], "failed", "{g}");
    assert!(g["error"].as_str().unwrap().contains("geometry size"), "{g}");
    s.stop().await;
}

/// The same limits through `flowcfd case` (flags and case files).
#[test]
fn absurd_values_are_refused_through_the_cli() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    std::fs::copy(common::root().join("examples/cube.stl"), d.join("cube.stl")).unwrap();
    let fails = |args: &[&str], says: &[&str]| {
        let mut all = vec!["case", "--mesh-params", "rules", "--out", "o"];
        all.extend_from_slice(args);
        let (ok, _, err) = common::run(common::flowcfd().current_dir(d).args(&all));
        assert!(!ok, "{args:?} was accepted");
        let line = err.lines().find(|l| l.starts_with("error:")).unwrap_or_else(|| panic!("{err}"));
        for w in says {
            assert!(line.contains(w), "{args:?}: {w:?} not in {line}");
        }
    };
    fails(
        &["--geometry", "cube.stl", "--velocity", "1.7e308"],
        &["flow.velocity", "1.7e308 m/s", "102.9 m/s", "incompressible"],
    );
    fails(&["--geometry", "cube.stl", "--velocity", "1e-7"], &["flow.velocity", "1e-6"]);
    fails(&["--geometry", "cube.stl", "--scale", "1e30"], &["geometry size", "1e30 m", "100 km"]);
    fails(&["--geometry", "cube.stl", "--scale", "1e-9"], &["geometry size", "1 µm"]);
    let spec = |fluid: &str| {
        format!("geometry = \"cube.stl\"\n[flow]\ntype = \"external\"\nvelocity = [10, 0, 0]\n[fluid]\n{fluid}\n")
    };
    std::fs::write(d.join("nu.toml"), spec("nu = 1.0")).unwrap();
    fails(&["nu.toml"], &["fluid.nu = 1e0 m²/s", "1e-8 to 1e-1"]);
    std::fs::write(d.join("rho.toml"), spec("rho = 1e30")).unwrap();
    fails(&["rho.toml"], &["fluid.rho = 1e30 kg/m³", "1e-2 to 2e4"]);
    std::fs::write(
        d.join("inlet.toml"),
        spec("").replace("[fluid]\n", "[boundaries]\ncube = { type = \"velocity_inlet\", velocity = [500, 0, 0] }\n"),
    )
    .unwrap();
    fails(&["inlet.toml"], &["boundaries.cube.velocity", "Mach 0.3"]);
    // Within range, the case is written.
    let (ok, _, err) = common::run(common::flowcfd().current_dir(d).args([
        "case",
        "--mesh-params",
        "rules",
        "--out",
        "ok",
        "--geometry",
        "cube.stl",
        "--velocity",
        "100",
    ]));
    assert!(ok, "{err}");
}
