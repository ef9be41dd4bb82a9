//! The upload corpus (`tests/fixtures/corpus/`, made by `make_corpus.py` there): every
//! malformed file is refused with its clear message and no panic or 500, and every valid
//! but unusual file (a BOM and CRLF ASCII STL, an OBJ group named `bottom`, gzip, quads,
//! relative indices, …) gives a case, through the CLI and through the upload API.
mod common;

use common::{db, server::TestServer};
use serde_json::json;
use std::path::{Path, PathBuf};

fn corpus(kind: &str) -> PathBuf {
    common::root().join("tests/fixtures/corpus").join(kind)
}

/// `(file, CLI message, API message)` from `malformed/EXPECT.tsv`.
fn malformed() -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(corpus("malformed").join("EXPECT.tsv")).unwrap();
    let rows: Vec<_> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let api = if f[2] == "=" { f[1] } else { f[2] };
            (f[0].to_string(), f[1].to_string(), api.to_string())
        })
        .collect();
    assert!(rows.len() >= 20, "at least 20 malformed files, found {}", rows.len());
    for (f, _, _) in &rows {
        assert!(corpus("malformed").join(f).exists(), "{f} is listed but missing");
    }
    rows
}

fn valid() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(corpus("valid"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    assert!(v.len() >= 15, "at least 15 valid files, found {}", v.len());
    v
}

/// Writes a case for `file` with `flowcfd case`; returns (success, stderr).
fn cli_case(file: &Path, out: &Path) -> (bool, String) {
    let (ok, _, err) = common::run(common::flowcfd().args([
        "case",
        "--geometry",
        file.to_str().unwrap(),
        "--mesh-params",
        "rules",
        "--out",
        out.to_str().unwrap(),
    ]));
    (ok, err)
}

#[test]
fn malformed_files_are_refused_by_the_cli_with_their_message() {
    let t = tempfile::tempdir().unwrap();
    for (i, (file, says, _)) in malformed().iter().enumerate() {
        let out = t.path().join(format!("o{i}"));
        let (ok, err) = cli_case(&corpus("malformed").join(file), &out);
        assert!(!ok, "{file} was accepted");
        assert!(!err.contains("panicked"), "{file}: {err}");
        let line =
            err.lines().find(|l| l.starts_with("error:")).unwrap_or_else(|| panic!("{file}: no error line: {err}"));
        assert!(line.to_lowercase().contains(&says.to_lowercase()), "{file}: expected {says:?} in {line}");
        assert!(!out.join("case").exists(), "{file}: no case for a refused file");
    }
}

#[test]
fn valid_unusual_files_give_a_case_through_the_cli() {
    let t = tempfile::tempdir().unwrap();
    for (i, file) in valid().iter().enumerate() {
        let out = t.path().join(format!("o{i}"));
        let (ok, err) = cli_case(&corpus("valid").join(file), &out);
        assert!(ok, "{file}: {err}");
        assert!(out.join("case/system/snappyHexMeshDict").exists(), "{file}: no case written");
    }
    // The group called `bottom` became `body_bottom`, so the tunnel keeps its floor.
    let i = valid().iter().position(|f| f == "group_named_bottom.obj").unwrap();
    let surf = std::fs::read_dir(t.path().join(format!("o{i}/case/constant/triSurface"))).unwrap();
    let names: Vec<_> = surf.map(|e| e.unwrap().path()).collect();
    let text: String = names.iter().filter_map(|p| std::fs::read_to_string(p).ok()).collect();
    assert!(text.contains("body_bottom"), "{names:?}");
}

#[tokio::test]
async fn the_corpus_through_the_upload_api() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(&db::sqlite_in(dir.path()), |_| {}).await;
    let a = s.user("corpus@example.org").await;
    let (_, p) = s.call("POST", "/api/projects", &a, Some(json!({"name": "corpus"}))).await;
    let pid = p["id"].as_str().unwrap().to_string();

    for (file, _, says) in malformed() {
        let data = std::fs::read(corpus("malformed").join(&file)).unwrap();
        let (st, g) = s.upload(&a, &pid, &file, data).await;
        let detail = if st == 202 {
            let g = s.settle(&a, g["id"].as_str().unwrap()).await;
            assert_eq!(g["status"], "failed", "{file} was accepted: {g}");
            g["error"].as_str().unwrap_or_default().to_string()
        } else {
            assert!((400..500).contains(&st), "{file}: {st} {g}");
            g["detail"].as_str().unwrap_or_default().to_string()
        };
        assert!(detail.to_lowercase().contains(&says.to_lowercase()), "{file}: expected {says:?} in {detail:?}");
    }

    for file in valid() {
        let data = std::fs::read(corpus("valid").join(&file)).unwrap();
        let (st, g) = s.upload(&a, &pid, &file, data).await;
        assert_eq!(st, 202, "{file}: {g}");
        let gid = g["id"].as_str().unwrap().to_string();
        let g = s.settle(&a, &gid).await;
        assert_eq!(g["status"], "ready", "{file}: {g}");
        let case = json!({"geometry_id": gid, "flow": {"type": "external", "velocity": [10, 0, 0]}});
        let (st, c) = s.call("POST", &format!("/api/projects/{pid}/cases"), &a, Some(case)).await;
        assert_eq!(st, 201, "{file}: {c}");
        if file == "group_named_bottom.obj" {
            // Renamed for the case, reported, and labelled with the user's name.
            let groups = g["surface_groups"].as_array().unwrap();
            let bottom = groups.iter().find(|x| x["name"] == "body_bottom").unwrap_or_else(|| panic!("{g}"));
            assert_eq!(bottom["label"], "bottom", "{g}");
            assert_eq!(g["healing"]["renamed_groups"], json!([{"from": "bottom", "to": "body_bottom"}]), "{g}");
            assert!(g["healing"]["changes"].to_string().contains("renamed group 'bottom' to 'body_bottom'"), "{g}");
            // A boundary may name it by its label.
            let case = json!({"geometry_id": gid, "flow": {"type": "external", "velocity": [10, 0, 0]},
                              "boundaries": {"bottom": {"type": "slip"}}});
            let (st, c) = s.call("POST", &format!("/api/projects/{pid}/cases"), &a, Some(case)).await;
            assert_eq!(st, 201, "{c}");
            // The wizard shows the user's name.
            let cookie = s.session("corpus@example.org").await;
            let (st, html) = s.page(&format!("/geometries/{gid}"), &cookie).await;
            assert_eq!(st, 200);
            assert!(html.contains(">bottom</span>") && html.contains("renamed body_bottom"), "{html}");
        }
        if file == "bom_crlf.stl" {
            assert_eq!(g["triangles"], 12, "{g}");
            assert_eq!(g["surface_groups"][0]["name"], "part", "{g}");
        }
    }
    s.stop().await;
}
