//! The mesh AI's command line: voxelisation parity with the Python reference the dataset
//! generator documents (`mesh-ai/voxel_reference.py`), the `mesh-ai predict` JSON (its key
//! names are an interface) with the rules as the source, and clear refusals of bad input.
mod common;

use std::process::Command;

fn fixture(name: &str) -> std::path::PathBuf {
    common::root().join("tests/fixtures/meshai").join(name)
}

/// The occupied z indices per (x, y) column, from the packed bits of `mesh-ai voxelize`.
fn columns(json: &serde_json::Value) -> Vec<Vec<usize>> {
    use base64::Engine as _;
    let n = json["size"].as_u64().unwrap() as usize;
    let bits = base64::engine::general_purpose::STANDARD.decode(json["bits"].as_str().unwrap()).unwrap();
    let at = |i: usize| (bits[i / 8] >> (7 - i % 8)) & 1 == 1;
    (0..n * n).map(|c| (0..n).filter(|&k| at(c * n + k)).collect()).collect()
}

#[test]
fn voxelisation_matches_the_python_reference() {
    for (name, n) in [("car.stl", 48), ("bend.stl", 40), ("car.stl", 64)] {
        let (ok, out, err) = common::run(
            common::flowcfd()
                .args(["mesh-ai", "voxelize", "--size", &n.to_string(), "--geometry"])
                .arg(fixture(name)),
        );
        assert!(ok, "{err}");
        let rust: serde_json::Value = serde_json::from_str(&out).unwrap();
        let py = Command::new("python3")
            .arg(common::root().join("mesh-ai/voxel_reference.py"))
            .arg(fixture(name))
            .arg(n.to_string())
            .output()
            .unwrap();
        assert!(py.status.success(), "{}", String::from_utf8_lossy(&py.stderr));
        let text = String::from_utf8(py.stdout).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next().unwrap(), n.to_string());
        let reference: Vec<Vec<usize>> =
            lines.map(|l| l.split_whitespace().map(|k| k.parse().unwrap()).collect()).collect();
        let ours = columns(&rust);
        assert_eq!(ours.len(), reference.len());
        let differ = ours.iter().zip(&reference).filter(|(a, b)| a != b).count();
        assert_eq!(differ, 0, "{name} at {n}³: {differ} columns differ from the Python grid");
        let filled: usize = ours.iter().map(|c| c.len()).sum();
        assert_eq!(rust["occupied"].as_u64().unwrap() as usize, filled);
        assert!(filled > n * n, "{name}: a solid fills part of the grid ({filled})");
    }
}

#[test]
fn predict_prints_the_interface_keys_from_the_rules() {
    let (ok, out, err) = common::run(
        common::flowcfd()
            .args(["mesh-ai", "predict", "--target-cells", "30000", "--velocity", "25", "--geometry"])
            .arg(fixture("car.stl")),
    );
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["source"], "rules");
    assert!(v["reason"].as_str().unwrap().contains("no trained mesh model"), "{v}");
    assert!(v["base_cell_size"].as_f64().unwrap() > 0.0);
    let lv = v["surface_refinement"].as_array().unwrap();
    assert!(lv[0].as_u64().unwrap() <= lv[1].as_u64().unwrap());
    assert!(v["refinement_boxes"].is_array());
    for k in ["count", "expansion_ratio", "first_layer_thickness"] {
        assert!(v["layers"][k].is_number(), "layers.{k}: {v}");
    }
    let cells = v["predicted_cells"].as_f64().unwrap();
    assert!((15_000.0..45_000.0).contains(&cells), "{cells}");
}

#[test]
fn bad_input_is_refused_clearly() {
    // An open surface has no volume to voxelise.
    let dir = tempfile::tempdir().unwrap();
    let open = dir.path().join("open.stl");
    // The cube without its top face (the face vertical rays cross).
    let text = std::fs::read_to_string(common::root().join("examples/cube.stl")).unwrap();
    let facets: Vec<&str> = text.split("facet normal").skip(1).collect();
    let top = |f: &str| f.lines().filter(|l| l.trim_start().starts_with("vertex")).all(|l| l.ends_with(" 0.5"));
    let kept: Vec<String> = facets.iter().filter(|f| !top(f)).map(|f| format!("facet normal{}", f.trim_end_matches("endsolid cube\n"))).collect();
    assert_eq!(kept.len(), 10);
    std::fs::write(&open, format!("solid cube\n{}endsolid cube\n", kept.join(""))).unwrap();
    let (ok, _, err) =
        common::run(common::flowcfd().args(["mesh-ai", "voxelize", "--geometry"]).arg(&open));
    assert!(!ok && err.contains("open") && err.contains("rules"), "{err}");
    // A flat sheet.
    let flat = dir.path().join("flat.stl");
    std::fs::write(
        &flat,
        "solid s\n facet normal 0 0 1\n  outer loop\n   vertex 0 0 0\n   vertex 1 0 0\n   vertex 0 1 0\n  endloop\n endfacet\nendsolid s\n",
    )
    .unwrap();
    let (ok, _, err) = common::run(common::flowcfd().args(["mesh-ai", "voxelize", "--geometry"]).arg(&flat));
    assert!(!ok && err.contains("no volume"), "{err}");
    for (args, says) in [
        (vec!["--velocity", "NaN"], "--velocity"),
        (vec!["--velocity=-3"], "--velocity"),
        (vec!["--target-cells", "10"], "target_cells"),
        (vec!["--flow", "sideways"], "--flow"),
    ] {
        let (ok, _, err) = common::run(
            common::flowcfd().args(["mesh-ai", "predict"]).args(&args).arg("--geometry").arg(fixture("car.stl")),
        );
        assert!(!ok && err.contains(says), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let (ok, _, err) =
        common::run(common::flowcfd().args(["mesh-ai", "voxelize", "--size", "1000", "--geometry"]).arg(fixture("car.stl")));
    assert!(!ok && err.contains("--size"), "{err}");
}

#[test]
fn eval_meshes_each_geometry_for_real_and_writes_the_report() {
    common::require_openfoam();
    let dir = tempfile::tempdir().unwrap();
    let geoms = dir.path().join("held-out");
    std::fs::create_dir(&geoms).unwrap();
    std::fs::copy(fixture("car.stl"), geoms.join("car.stl")).unwrap();
    std::fs::copy(common::root().join("examples/cube.stl"), geoms.join("cube.stl")).unwrap();
    std::fs::write(geoms.join("notes.txt"), "not a geometry").unwrap();
    let out = dir.path().join("report");
    let (ok, stdout, err) = common::run(
        common::flowcfd()
            .args(["mesh-ai", "eval", "--target-cells", "8000", "--out"])
            .arg(&out)
            .arg(&geoms),
    );
    assert!(ok, "{err}");
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("eval.json")).unwrap()).unwrap();
    let rows = r["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4, "an AI and a rules row per geometry: {r}");
    for row in rows.iter().filter(|x| x["source"] == "rules") {
        let cells = row["actual_cells"].as_u64().unwrap_or(0);
        assert!(cells > 1000, "real cells from checkMesh: {row}");
        let ratio = (cells as f64 / 8000.0).ln().abs();
        assert!((row["abs_log_ratio"].as_f64().unwrap() - ratio).abs() < 1e-9);
        assert!(row["checkmesh_ok"].is_boolean() && row["layer_coverage"].is_number(), "{row}");
        assert!(row["predicted_cells"].as_u64().unwrap() > 0);
        // The case really exists on disk, meshed.
        let name = row["geometry"].as_str().unwrap();
        assert!(out.join(name).join("rules/case/constant/polyMesh/owner").exists(), "{name}");
    }
    for row in rows.iter().filter(|x| x["source"] == "ai") {
        assert_eq!(row["available"], false, "{row}");
    }
    assert_eq!(r["summary"]["rules"]["meshed"], 2);
    let md = std::fs::read_to_string(out.join("eval.md")).unwrap();
    assert!(md.contains("| car.stl | rules |") && md.contains("| cube.stl | ai | not available"), "{md}");
    assert_eq!(stdout, md, "the table is printed too");
    // An empty directory is refused clearly.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let (ok, _, err) = common::run(common::flowcfd().args(["mesh-ai", "eval"]).arg(&empty));
    assert!(!ok && err.contains("no .stl or .obj"), "{err}");
}
