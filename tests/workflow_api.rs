//! What the browser workflow stands on, through the real server: the mesh suggestion
//! (shape, reasons, target and overrides, bad input, tenant scope), CAD originals kept
//! beside their surface, a mesh-only run on real OpenFOAM whose plan is the suggestion,
//! the log tail, and the geometry and job pages (rendered, escaped, tenant-scoped).
mod common;

use common::{db, server::TestServer};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

async fn ready_cube(s: &TestServer, token: &str) -> (String, String) {
    let (_, p) = s.call("POST", "/api/projects", token, Some(json!({"name": "wind <tunnel>"}))).await;
    let pid = p["id"].as_str().unwrap().to_string();
    let stl = std::fs::read(common::root().join("examples/cube.stl")).unwrap();
    let (st, g) = s.upload(token, &pid, "cube.stl", stl).await;
    assert_eq!(st, 202, "{g}");
    let gid = g["id"].as_str().unwrap().to_string();
    assert_eq!(s.settle(token, &gid).await["status"], "ready");
    (pid, gid)
}

#[tokio::test]
async fn mesh_suggestion_shape_reasons_and_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(&db::sqlite_in(dir.path()), |_| {}).await;
    let a = s.user("mesh@example.org").await;
    let (_, gid) = ready_cube(&s, &a).await;
    let url = format!("/api/geometries/{gid}/mesh-suggestion");

    let (st, small) = s.call("POST", &url, &a, Some(json!({"target_cells": 20000, "velocity": 10}))).await;
    assert_eq!(st, 200, "{small}");
    // The built-in mesh AI answers for a cube at an ordinary budget.
    assert_eq!(small["source"], "ai", "{small}");
    assert!(small["reason"].is_null(), "{small}");
    assert!(small["why"]["base_cell_size"].as_str().unwrap().contains("mesh AI"), "{small}");
    for k in ["base_cell_size", "predicted_cells"] {
        assert!(small[k].as_f64().unwrap() > 0.0, "{k}: {small}");
    }
    let lv = small["surface_refinement"].as_array().unwrap();
    assert!(lv[0].as_u64().unwrap() <= lv[1].as_u64().unwrap(), "{small}");
    let layers = &small["layers"];
    assert!(layers["count"].as_u64().unwrap() > 0 && layers["expansion_ratio"].as_f64().unwrap() >= 1.0, "{small}");
    assert!(layers["first_layer_thickness"].as_f64().unwrap() > 0.0, "{small}");
    assert_eq!(small["refinement_boxes"].as_array().unwrap().len(), 1, "the automatic wake box: {small}");
    assert_eq!(small["wake_box"], true, "{small}");
    for k in ["base_cell_size", "surface_level", "layers", "wake_box"] {
        assert!(small["why"][k].as_str().is_some_and(|w| w.len() > 10), "no reason for {k}: {small}");
    }
    // The prediction lands in the target's neighbourhood (the model card has the measured
    // accuracy).
    let ratio = small["predicted_cells"].as_f64().unwrap() / 20000.0;
    assert!((0.33..3.0).contains(&ratio), "{small}");

    // A budget beyond the model's training range: the model answers for the largest it was
    // trained on and the base cell is scaled by the cube root of the ratio; finer cells, and
    // the predicted count within a factor 2 of the budget.
    let (_, big) = s.call("POST", &url, &a, Some(json!({"target_cells": 3000000, "velocity": 10}))).await;
    assert_eq!(big["source"], "ai", "{big}");
    assert!(big["why"]["budget"].as_str().unwrap().contains("cube root"), "{big}");
    let ratio = big["predicted_cells"].as_f64().unwrap() / 3e6;
    assert!((0.5..2.0).contains(&ratio), "{big}");
    let fine = |v: &Value| {
        v["base_cell_size"].as_f64().unwrap() / 2f64.powi(v["surface_refinement"][0].as_i64().unwrap() as i32)
    };
    assert!(fine(&big) < fine(&small), "small {small}\nbig {big}");

    // Explicit values win, exactly as in a run.
    let spec = json!({"flow": {"type": "external", "velocity": [10, 0, 0]},
                      "mesh": {"base_cell_size": 0.25, "wake_box": false, "layers": {"count": 2}}});
    let (st, o) = s.call("POST", &url, &a, Some(json!({"target_cells": 20000, "spec": spec}))).await;
    assert_eq!(st, 200, "{o}");
    assert_eq!(o["base_cell_size"], 0.25);
    assert_eq!(o["layers"]["count"], 2);
    assert_eq!(o["wake_box"], false);
    assert!(o["refinement_boxes"].as_array().unwrap().is_empty(), "{o}");

    // Bad input: a clear 4xx naming what is wrong.
    for (body, says) in [
        (json!({"target_cells": 10}), "target_cells"),
        (json!({"velocity": [0, 0, 0]}), "velocity"),
        (json!({"spec": "external"}), "JSON object"),
        (json!({"spec": {"flow": {"type": "internal", "velocity": [1, 0, 0]}}}), "inlet"),
        (
            json!({"spec": {"flow": {"type": "external", "velocity": [1, 0, 0]}, "boundaries": {"wing": {"type": "wall"}}}}),
            "wing",
        ),
        (json!({"target_cells": "many"}), "target_cells"),
    ] {
        let (st, p) = s.call("POST", &url, &a, Some(body.clone())).await;
        assert!((400..500).contains(&st), "{body} -> {st} {p}");
        assert!(p["detail"].as_str().unwrap_or_default().contains(says), "{body} -> {p}");
    }
    // Another tenant's geometry does not exist for them.
    let b = s.user("other@example.org").await;
    assert_eq!(s.call("POST", &url, &b, Some(json!({}))).await.0, 404);
    s.stop().await;
}

#[tokio::test]
async fn cad_original_is_kept_beside_its_surface() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(&db::sqlite_in(dir.path()), |_| {}).await;
    let a = s.user("cad@example.org").await;
    let (_, p) = s.call("POST", "/api/projects", &a, Some(json!({"name": "cad"}))).await;
    let pid = p["id"].as_str().unwrap();
    let stl = std::fs::read(common::root().join("examples/cube.stl")).unwrap();
    let step = std::fs::read(common::root().join("web/e2e/fixtures/bracket.step")).unwrap();
    let post = |cad_name: &'static str, cad: Vec<u8>| {
        let form = reqwest::multipart::Form::new()
            .part("file", reqwest::multipart::Part::bytes(stl.clone()).file_name("bracket.stl"))
            .part("cad", reqwest::multipart::Part::bytes(cad).file_name(cad_name));
        s.http.post(s.u(&format!("/api/projects/{pid}/geometries"))).bearer_auth(&a).multipart(form).send()
    };
    let r = post("bracket.step", step.clone()).await.unwrap();
    assert_eq!(r.status(), 202);
    let g: Value = r.json().await.unwrap();
    assert_eq!(g["cad_name"], "bracket.step");
    let gid = g["id"].as_str().unwrap();
    let r = s.http.get(s.u(&format!("/api/geometries/{gid}/cad"))).bearer_auth(&a).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-disposition"].to_str().unwrap().contains("bracket.step"));
    assert_eq!(r.bytes().await.unwrap().as_ref(), step.as_slice());
    // A "CAD original" that is not STEP or IGES: refused, and no half-stored geometry left.
    let r = post("notes.txt", b"hello".to_vec()).await.unwrap();
    assert_eq!(r.status(), 415);
    let p: Value = r.json().await.unwrap();
    assert!(p["detail"].as_str().unwrap().contains("STEP or IGES"), "{p}");
    let (_, list) = s.call("GET", &format!("/api/projects/{pid}/geometries"), &a, None).await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    // A plain surface has no CAD original.
    let (_, g2) = s.upload(&a, pid, "cube.stl", stl.clone()).await;
    let (st, _) = s.call("GET", &format!("/api/geometries/{}/cad", g2["id"].as_str().unwrap()), &a, None).await;
    assert_eq!(st, 404);
    let b = s.user("nosy@example.org").await;
    assert_eq!(s.call("GET", &format!("/api/geometries/{gid}/cad"), &b, None).await.0, 404);
    s.stop().await;
}

#[tokio::test]
async fn mesh_only_run_pages_and_log_tail_on_real_openfoam() {
    common::require_openfoam();
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(&db::sqlite_in(dir.path()), |_| {}).await;
    let a = s.user("pages@example.org").await;
    let (pid, gid) = ready_cube(&s, &a).await;
    let (_, sug) = s
        .call(
            "POST",
            &format!("/api/geometries/{gid}/mesh-suggestion"),
            &a,
            Some(json!({"target_cells": 20000, "velocity": 10})),
        )
        .await;
    let case = json!({"name": "cube <mesh>", "geometry_id": gid, "mesh_only": true,
                      "flow": {"type": "external", "velocity": [10, 0, 0]}, "mesh": {"target_cells": 20000}});
    let (st, c) = s.call("POST", &format!("/api/projects/{pid}/cases"), &a, Some(case)).await;
    assert_eq!(st, 201, "{c}");
    assert_eq!(c["spec"]["mesh_only"], true);
    let (st, j) = s
        .call("POST", &format!("/api/cases/{}/jobs", c["id"].as_str().unwrap()), &a, Some(json!({"executor": "local"})))
        .await;
    assert_eq!(st, 201, "{j}");
    let jid = j["id"].as_str().unwrap().to_string();
    let start = Instant::now();
    let job = loop {
        let (_, j) = s.call("GET", &format!("/api/jobs/{jid}"), &a, None).await;
        if ["completed", "failed", "cancelled"].contains(&j["status"].as_str().unwrap()) {
            break j;
        }
        assert!(start.elapsed() < Duration::from_secs(300), "stuck: {j}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(job["status"], "completed", "{job}");
    let (_, summary) = s.call("GET", &format!("/api/jobs/{jid}/summary"), &a, None).await;
    assert_eq!(summary["mesh_only"], true);
    assert!(summary["mesh"]["cells"].as_u64().unwrap() > 1000, "{summary}");
    assert!(summary["timing"].get("simpleFoam").is_none(), "a mesh-only run does not solve: {}", summary["timing"]);
    // The run meshed with exactly the parameters the wizard was shown.
    assert_eq!(summary["mesh"]["plan"]["base_cell_size"], sug["base_cell_size"], "{sug}");
    assert_eq!(summary["mesh"]["plan"]["estimated_cells"], sug["predicted_cells"]);
    assert_eq!(summary["mesh"]["params_source"], sug["source"], "the job used the suggestion's source");

    // The log tail: the last bytes, whole lines only.
    let r = s.http.get(s.u(&format!("/api/jobs/{jid}/log?tail=300"))).bearer_auth(&a).send().await.unwrap();
    let tail = r.text().await.unwrap();
    assert!(!tail.is_empty() && tail.len() <= 300, "{tail}");
    let (_, full) = (
        0,
        s.http.get(s.u(&format!("/api/jobs/{jid}/log"))).bearer_auth(&a).send().await.unwrap().text().await.unwrap(),
    );
    assert!(full.ends_with(&tail) && full.len() > tail.len());
    assert!(full[..full.len() - tail.len()].ends_with('\n'), "the tail starts at a line");

    // Pages: the geometry set-up and the job with its mesh quality, escaped, no raw JSON.
    let cookie = s.session("pages@example.org").await;
    let (st, html) = s.page(&format!("/geometries/{gid}"), &cookie).await;
    assert_eq!(st, 200);
    for want in [
        "id=\"viewer\"",
        "data-surface=\"/api/geometries/",
        "Set up a simulation",
        "Apply the external-aero template",
        "Healing",
        "watertight",
    ] {
        assert!(html.contains(want), "geometry page lacks {want}");
    }
    assert!(html.contains("wind &#60;tunnel&#62;") || html.contains("wind &lt;tunnel&gt;"), "project name escaped");
    let data = html.split("id=\"setup-data\">").nth(1).unwrap().split("</script>").next().unwrap();
    assert!(!data.contains('<'), "no markup can break out of the data element");
    let setup: Value = serde_json::from_str(data).unwrap();
    assert_eq!(setup["groups"][0]["name"], "cube");
    let (st, html) = s.page(&format!("/jobs/{jid}"), &cookie).await;
    assert_eq!(st, 200);
    for want in ["Mesh quality", "checkMesh OK", "Max non-orthogonality", "Layer coverage", "mesh only", "/api/jobs/"] {
        assert!(html.contains(want), "job page lacks {want}");
    }
    assert!(!html.contains("\"mesh\":"), "no raw JSON on the page");
    // The project page lists the job.
    let (_, html) = s.page(&format!("/projects/{pid}"), &cookie).await;
    assert!(html.contains(&format!("/jobs/{jid}")) && html.contains("mesh only"));

    // Another tenant sees neither page.
    s.user("stranger@example.org").await;
    let other = s.session("stranger@example.org").await;
    assert_eq!(s.page(&format!("/geometries/{gid}"), &other).await.0, 404);
    assert_eq!(s.page(&format!("/jobs/{jid}"), &other).await.0, 404);
    // Signed out: to the sign-in page.
    let r = s.http.get(s.u(&format!("/jobs/{jid}"))).send().await.unwrap();
    assert_eq!(r.status(), 303);
    s.stop().await;
}
