//! The mesh AI's command line: voxelisation parity with the Python reference the dataset
//! generator documents (`mesh-ai/voxel_reference.py`), the `mesh-ai predict` JSON (its key
//! names are an interface) from the built-in model and from the rules, prediction parity
//! with ONNX Runtime, the fallbacks, a real `mesh-ai eval`, and clear refusals of bad input.
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
            common::flowcfd().args(["mesh-ai", "voxelize", "--size", &n.to_string(), "--geometry"]).arg(fixture(name)),
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
fn predict_prints_the_interface_keys_from_the_built_in_model_and_the_rules() {
    // The repository ships a trained model (mesh-ai/model), so the binary carries it.
    assert!(flowcfd::meshai::has_builtin_model(), "mesh-ai/model was not embedded");
    let predict = |extra: &[&str]| {
        let (ok, out, err) = common::run(
            common::flowcfd_clean()
                .args(["mesh-ai", "predict", "--target-cells", "30000", "--velocity", "25", "--geometry"])
                .arg(fixture("car.stl"))
                .args(extra),
        );
        assert!(ok, "{err}");
        serde_json::from_str::<serde_json::Value>(&out).unwrap()
    };
    let keys = |v: &serde_json::Value| {
        assert!(v["base_cell_size"].as_f64().unwrap() > 0.0);
        let lv = v["surface_refinement"].as_array().unwrap();
        assert!(lv[0].as_u64().unwrap() <= lv[1].as_u64().unwrap());
        assert!(v["refinement_boxes"].is_array());
        for k in ["count", "expansion_ratio", "first_layer_thickness"] {
            assert!(v["layers"][k].is_number(), "layers.{k}: {v}");
        }
        for k in ["base_cell_size", "surface_level", "layers"] {
            assert!(v["why"][k].as_str().is_some_and(|w| w.len() > 10), "no reason for {k}: {v}");
        }
        v["predicted_cells"].as_f64().unwrap()
    };
    // By default the built-in model answers on a generated car inside its training range.
    let ai = predict(&[]);
    assert_eq!(ai["source"], "ai", "{ai}");
    assert!(ai["reason"].is_null(), "{ai}");
    assert!(ai["why"]["base_cell_size"].as_str().unwrap().contains("mesh AI"), "{ai}");
    // The coverage head vouches for the layer count it let through.
    if ai["layers"]["count"].as_u64().unwrap() > 0 {
        let p = ai["predicted_layer_coverage"].as_f64().unwrap_or_else(|| panic!("no predicted coverage: {ai}"));
        assert!((0.0..=1.0).contains(&p), "{ai}");
        assert!(ai["why"]["layers"].as_str().unwrap().contains("% of the walls"), "{ai}");
    }
    let cells = keys(&ai);
    assert!((10_000.0..90_000.0).contains(&cells), "{cells}");
    // --mesh-params rules: the rules, saying they were asked for.
    let rules = predict(&["--mesh-params", "rules"]);
    assert_eq!(rules["source"], "rules");
    assert!(rules["reason"].as_str().unwrap().contains("asked for"), "{rules}");
    let cells = keys(&rules);
    assert!((15_000.0..45_000.0).contains(&cells), "{cells}");
}

#[test]
fn bad_input_is_refused_clearly() {
    // An open surface has no volume to voxelise: it gets the shell grid of its neighbourhood.
    let dir = tempfile::tempdir().unwrap();
    let open = dir.path().join("open.stl");
    // The cube without its top face (the face vertical rays cross).
    let text = std::fs::read_to_string(common::root().join("examples/cube.stl")).unwrap();
    let facets: Vec<&str> = text.split("facet normal").skip(1).collect();
    let top = |f: &str| f.lines().filter(|l| l.trim_start().starts_with("vertex")).all(|l| l.ends_with(" 0.5"));
    let kept: Vec<String> = facets
        .iter()
        .filter(|f| !top(f))
        .map(|f| format!("facet normal{}", f.trim_end_matches("endsolid cube\n")))
        .collect();
    assert_eq!(kept.len(), 10);
    std::fs::write(&open, format!("solid cube\n{}endsolid cube\n", kept.join(""))).unwrap();
    let (ok, out, err) = common::run(common::flowcfd().args(["mesh-ai", "voxelize", "--geometry"]).arg(&open));
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["kind"], "shell", "{out}");
    // The five faces' skin, one cell thick and dilated by one: far from the 64³ of a solid cube.
    let occupied = v["occupied"].as_u64().unwrap();
    assert!(occupied > 5 * 64 * 64 && occupied < 5 * 64 * 64 * 4, "{occupied}");
    // A flat sheet: its neighbourhood too.
    let flat = dir.path().join("flat.stl");
    std::fs::write(
        &flat,
        "solid s\n facet normal 0 0 1\n  outer loop\n   vertex 0 0 0\n   vertex 1 0 0\n   vertex 0 1 0\n  endloop\n endfacet\nendsolid s\n",
    )
    .unwrap();
    let (ok, out, err) = common::run(common::flowcfd().args(["mesh-ai", "voxelize", "--geometry"]).arg(&flat));
    assert!(ok && out.contains("\"kind\":\"shell\""), "{out}{err}");
    // A surface with no triangles at all is refused.
    let empty = dir.path().join("empty.stl");
    std::fs::write(&empty, "solid s\nendsolid s\n").unwrap();
    let (ok, _, err) = common::run(common::flowcfd().args(["mesh-ai", "voxelize", "--geometry"]).arg(&empty));
    assert!(!ok && !err.contains("panicked"), "{err}");
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
    let (ok, _, err) = common::run(
        common::flowcfd().args(["mesh-ai", "voxelize", "--size", "1000", "--geometry"]).arg(fixture("car.stl")),
    );
    assert!(!ok && err.contains("--size"), "{err}");
}

#[test]
fn eval_meshes_each_geometry_for_real_and_writes_the_report() {
    common::require_openfoam();
    let dir = tempfile::tempdir().unwrap();
    let geoms = dir.path().join("held-out");
    std::fs::create_dir(&geoms).unwrap();
    // Named as the generator names them (family-id), and one that is not.
    std::fs::copy(fixture("car.stl"), geoms.join("car-1.stl")).unwrap();
    std::fs::copy(common::root().join("examples/cube.stl"), geoms.join("cube.stl")).unwrap();
    std::fs::write(geoms.join("notes.txt"), "not a geometry").unwrap();
    let out = dir.path().join("report");
    let (ok, stdout, err) = common::run(
        common::flowcfd()
            .args(["mesh-ai", "eval", "--target-cells", "8000", "--solve", "15", "--out"])
            .arg(&out)
            .arg(&geoms),
    );
    assert!(ok, "{err}");
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("eval.json")).unwrap()).unwrap();
    let rows = r["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4, "an AI and a rules row per geometry: {r}");
    for row in rows.iter() {
        let cells = row["actual_cells"].as_u64().unwrap_or(0);
        assert!(cells > 1000, "real cells from checkMesh: {row}");
        let ratio = (cells as f64 / 8000.0).ln().abs();
        assert!((row["abs_log_ratio"].as_f64().unwrap() - ratio).abs() < 1e-9);
        assert!(row["checkmesh_ok"].is_boolean() && row["layer_coverage"].is_number(), "{row}");
        assert!(row["predicted_cells"].as_u64().unwrap() > 0);
        // The plan's y+ against the wall-function band, and the y+ the solver measured.
        let est = row["yplus_estimate"].as_f64().unwrap();
        assert_eq!(row["yplus_band"], serde_json::json!([30.0, 300.0]), "{row}");
        assert_eq!(row["yplus_estimate_in_band"], serde_json::json!((30.0..=300.0).contains(&est)), "{row}");
        let measured = &row["yplus_measured"];
        assert!(measured["mean"].as_f64().unwrap() > 0.0, "{row}");
        assert!((0.0..=1.0).contains(&measured["inside"].as_f64().unwrap()), "{row}");
        // The case really exists on disk, meshed.
        let name = row["geometry"].as_str().unwrap();
        let source = row["source"].as_str().unwrap();
        assert!(out.join(name).join(source).join("case/constant/polyMesh/owner").exists(), "{name}");
    }
    // The built-in model answers for the generated car (the AI column is real, not a copy
    // of the rules); any row it declines says why.
    let car_ai = rows.iter().find(|x| x["source"] == "ai" && x["geometry"] == "car-1.stl").unwrap();
    assert_eq!(car_ai["params_source"], "ai", "{car_ai}");
    for row in rows.iter().filter(|x| x["params_source"] == "rules" && x["source"] == "ai") {
        assert!(row["params_reason"].as_str().is_some_and(|w| !w.is_empty()), "{row}");
    }
    assert_eq!(r["summary"]["rules"]["meshed"], 2);
    assert_eq!(r["summary"]["ai"]["meshed"], 2);
    assert_eq!(r["solve_iterations"], 15);
    // How often each source's own parameters were used: the rules always; the AI on both.
    assert_eq!(r["summary"]["rules"]["answered_fraction"], 1.0);
    assert_eq!(r["summary"]["ai"]["answered_fraction"], 1.0, "{}", r["summary"]);
    assert!(r["summary"]["ai"]["yplus_estimate_in_band_fraction"].is_number());
    assert!(r["summary"]["ai"]["median_wall_area_in_band"].is_number());
    let md = std::fs::read_to_string(out.join("eval.md")).unwrap();
    assert!(md.contains("| car-1.stl | rules |") && md.contains("| car-1.stl | ai |"), "{md}");
    // The per-family table: the generator's family from the name, the rest as "other".
    let fams = &r["summary"]["families"];
    assert_eq!((fams["car"]["ai"]["meshed"].as_u64(), fams["other"]["rules"]["meshed"].as_u64()), (Some(1), Some(1)));
    assert!(md.contains("| car | 1 | 100 % |") && md.contains("| other | 1 |"), "{md}");
    assert!(md.contains("solved for 15 SIMPLE iterations") && md.contains("y+ estimate in band on"), "{md}");
    assert_eq!(stdout, md, "the table is printed too");
    // An empty directory is refused clearly.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let (ok, _, err) = common::run(common::flowcfd().args(["mesh-ai", "eval"]).arg(&empty));
    assert!(!ok && err.contains("no .stl or .obj"), "{err}");
}

/// The model fixture (`tests/fixtures/meshai/model`: a small network trained for two
/// epochs by `mesh-ai/train.py --width 4`, for parity only, never shipped) gives the same
/// outputs in Rust (ort over tract) as ONNX Runtime gave in Python (`expected.json`, from
/// `mesh-ai/parity_fixture.py` on the same grid).
#[test]
fn rust_predictions_match_onnx_runtime_on_the_fixture_and_the_shipped_model() {
    use flowcfd::meshai::{model::Model, voxel};
    let raw = flowcfd::geometry::read_file(&fixture("car.stl"), &Default::default()).unwrap();
    let s = flowcfd::geometry::heal::heal(raw, &Default::default()).0;
    let check = |m: &Model, expected: &serde_json::Value, what: &str| {
        let grid = voxel::voxelize(&s, m.meta.grid).unwrap();
        let f: Vec<f32> = expected["features"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect();
        let out = serde_json::to_value(m.run(&grid, &f).unwrap()).unwrap();
        // Every head ONNX Runtime gave (the fixture network predates the cells and coverage
        // heads; the shipped model has all six).
        let heads = expected["outputs"].as_object().unwrap();
        assert!(heads.len() >= 4, "{what}: {heads:?}");
        for head in heads.keys().map(String::as_str) {
            let ours = out[head].as_array().unwrap_or_else(|| panic!("{what}: no {head} from Rust"));
            let theirs = expected["outputs"][head].as_array().unwrap();
            assert_eq!(ours.len(), theirs.len(), "{what} {head}");
            for (a, b) in ours.iter().zip(theirs) {
                let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
                assert!((a - b).abs() <= 1e-4 * (1.0 + b.abs()), "{what} {head}: rust {a} vs onnxruntime {b}");
            }
        }
        // Wrong input sizes are an error, not a panic.
        assert!(m.run(&grid[..10], &f).is_err());
        assert!(m.run(&grid, &f[..3]).is_err());
    };
    let read = |dir: &std::path::Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap()
    };
    // The small fixture network, and the trained model as it ships: from its directory and
    // as embedded in the binary.
    let dir = fixture("model");
    check(&Model::load_dir(&dir).unwrap(), &read(&dir), "fixture");
    let shipped = common::root().join("mesh-ai/model");
    check(&Model::load_dir(&shipped).unwrap(), &read(&shipped), "mesh-ai/model");
    assert!(std::env::var_os(flowcfd::meshai::MODEL_ENV).is_none(), "unset FLOWCFD_MESH_MODEL for the tests");
    let embedded = flowcfd::meshai::default_model().unwrap().expect("the built-in model");
    check(embedded, &read(&shipped), "built in");
}

#[test]
fn the_shipped_model_answers_on_an_open_surface_and_a_thin_plate() {
    // Issue 25: the built-in model answers for open surfaces and thin plates itself, on the
    // shell grid (their neighbourhood), not by handing them to the rules.
    for name in ["open.stl", "plate.stl"] {
        let (ok, out, err) = common::run(
            common::flowcfd_clean()
                .args(["mesh-ai", "predict", "--target-cells", "40000", "--velocity", "20", "--geometry"])
                .arg(fixture(name)),
        );
        assert!(ok, "{name}: {err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["source"], "ai", "{name}: {v}");
        assert!(v["reason"].is_null(), "{name}: {v}");
        assert_eq!(v["grid"], "shell", "{name}: {v}");
        let cells = v["predicted_cells"].as_f64().unwrap();
        assert!((30_000.0..55_000.0).contains(&cells), "{name}: {cells}");
    }
}

#[test]
fn the_rules_answer_when_the_model_should_not() {
    let model = fixture("model");
    let predict = |extra: &[&str], geometry: &std::path::Path, model: &std::path::Path| {
        let (ok, out, err) = common::run(
            common::flowcfd()
                .args(["mesh-ai", "predict", "--model"])
                .arg(model)
                .args(extra)
                .arg("--geometry")
                .arg(geometry),
        );
        assert!(ok, "{err}");
        (serde_json::from_str::<serde_json::Value>(&out).unwrap(), err)
    };
    // Inside the training distribution: the model answers, clamped into a usable plan.
    let (v, _) = predict(&["--target-cells", "30000", "--velocity", "20"], &fixture("car.stl"), &model);
    assert_eq!(v["source"], "ai", "{v}");
    assert!(v["reason"].is_null());
    assert!(v["base_cell_size"].as_f64().unwrap() >= 1.0 / 400.0 && v["base_cell_size"].as_f64().unwrap() <= 2.0);
    assert!(v["layers"]["expansion_ratio"].as_f64().unwrap() <= 1.5);
    assert!(v["why"]["base_cell_size"].as_str().unwrap().contains("mesh AI"));
    // Above the budgets it was trained on: it answers for the largest and the base cell
    // shrinks by the cube root of the ratio.
    let (big, _) = predict(&["--target-cells", "3000000", "--velocity", "20"], &fixture("car.stl"), &model);
    assert_eq!(big["source"], "ai", "{big}");
    assert!(big["why"]["budget"].as_str().unwrap().contains("cube root"), "{big}");
    let ratio = v["base_cell_size"].as_f64().unwrap() / big["base_cell_size"].as_f64().unwrap();
    assert!(ratio > 2.0, "100× the budget: {ratio}");
    // Outside it: the rules, saying which input.
    let (v, _) = predict(&["--target-cells", "30000", "--velocity", "0.0001"], &fixture("car.stl"), &model);
    assert_eq!(v["source"], "rules");
    assert!(v["reason"].as_str().unwrap().contains("log10_re"), "{v}");
    // A model that fails to load: reported, and the rules answer.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(model.join("model.json"), dir.path().join("model.json")).unwrap();
    std::fs::write(dir.path().join("mesh_ai.onnx"), b"not a model").unwrap();
    let (v, err) = predict(&[], &fixture("car.stl"), dir.path());
    assert_eq!(v["source"], "rules");
    assert!(
        v["reason"].as_str().unwrap().contains("could not be loaded") && err.contains("could not be loaded"),
        "{v}"
    );
    // A missing model directory, likewise.
    let (v, _) = predict(&[], &fixture("car.stl"), &dir.path().join("nowhere"));
    assert_eq!(v["source"], "rules");
    // The built-in model refuses inputs outside its training range too, naming the input
    // (here the Reynolds number of a 1 mm/s flow). Its thin plates and slender wings reach
    // 1000:1:1, so thin shapes get its answer on the shell grid (see
    // the_shipped_model_answers_on_an_open_surface_and_a_thin_plate).
    let (ok, out, err) = common::run(
        common::flowcfd_clean()
            .args(["mesh-ai", "predict", "--target-cells", "30000", "--velocity", "0.001", "--geometry"])
            .arg(fixture("car.stl")),
    );
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["source"], "rules", "{v}");
    let why = v["reason"].as_str().unwrap();
    assert!(why.contains("outside the training range") && why.contains("log10_re"), "{v}");
    // Features that are not numbers are refused by the range check, never run.
    let m = flowcfd::meshai::model::Model::load_dir(&model).unwrap();
    assert!(m.out_of_range(&[f32::NAN; 8]).unwrap().contains("not a finite number"));
}

#[test]
fn run_uses_the_mesh_ai_by_default_and_says_so() {
    common::require_openfoam();
    let dir = tempfile::tempdir().unwrap();
    let run = |out: &str, extra: &[&str]| {
        let (ok, _, err) = common::run(
            common::flowcfd_clean()
                .args(["run", "--mesh-only", "--target-cells", "30000", "--velocity", "20", "--out"])
                .arg(dir.path().join(out))
                .args(extra)
                .arg("--geometry")
                .arg(fixture("car.stl")),
        );
        assert!(ok, "{err}");
        (common::summary(&dir.path().join(out)), err)
    };
    let model = fixture("model");
    let (ai, err) = run("ai", &["--mesh-model", model.to_str().unwrap()]);
    assert_eq!(ai["mesh"]["params_source"], "ai", "{err}");
    assert!(err.contains("mesh plan (ai)"), "{err}");
    // The run meshed with exactly what `mesh-ai predict` shows for the same inputs.
    let (ok, out, err) = common::run(
        common::flowcfd()
            .args(["mesh-ai", "predict", "--target-cells", "30000", "--velocity", "20", "--model"])
            .arg(&model)
            .arg("--geometry")
            .arg(fixture("car.stl")),
    );
    assert!(ok, "{err}");
    let p: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(ai["mesh"]["plan"]["base_cell_size"], p["base_cell_size"]);
    // With no model given, the built-in one answers.
    let (builtin, err) = run("builtin", &[]);
    assert_eq!(builtin["mesh"]["params_source"], "ai", "{err}");
    assert!(builtin["mesh"]["params_reason"].is_null());
    assert_ne!(builtin["mesh"]["plan"]["base_cell_size"], ai["mesh"]["plan"]["base_cell_size"], "another model");
    // --mesh-params rules: the rules, whatever model there is, exactly as predict shows them.
    let (rules, _) = run("rules", &["--mesh-params", "rules", "--mesh-model", model.to_str().unwrap()]);
    assert_eq!(rules["mesh"]["params_source"], "rules");
    assert!(rules["mesh"]["params_reason"].as_str().unwrap().contains("asked for"));
    let (ok, out, err) = common::run(
        common::flowcfd()
            .args(["mesh-ai", "predict", "--target-cells", "30000", "--velocity", "20", "--mesh-params", "rules"])
            .arg("--geometry")
            .arg(fixture("car.stl")),
    );
    assert!(ok, "{err}");
    let p: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rules["mesh"]["plan"]["base_cell_size"], p["base_cell_size"]);
}
