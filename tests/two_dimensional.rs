//! 2D mode end to end: a circular cylinder at Re 20, steady and laminar, through
//! `flowcfd run` on real OpenFOAM (blockMesh slab, snappyHexMesh with layers on the
//! profile, extrudeMesh to one cell, createPatch to `empty` front and back), and the case
//! files and refusals of 2D mode through `flowcfd case`.

mod common;
use common::*;
use flowcfd::geometry::profile::{circle, extruded_profile, naca4};
use flowcfd::geometry::write::to_stl_ascii;
use std::path::Path;

/// The cylinder of diameter 1 m, 96 segments, from z = −1 to 1 m.
fn cylinder_stl(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("cylinder.stl");
    std::fs::write(&path, to_stl_ascii(&extruded_profile(&circle([0.0, 0.0], 1.0, 96), -1.0, 1.0, "cylinder")))
        .unwrap();
    path
}

/// Re = U D / ν = 1 × 1 / 0.05 = 20; the tunnel 17 D wide (6 % blockage), 5 D upstream
/// and 10 D downstream; two layers asked for on the profile.
const CYLINDER_RE20: &str = r#"
name = "cylinder-re20"
geometry = "cylinder.stl"
[flow]
type = "external"
velocity = [1.0, 0.0, 0.0]
two_dimensional = true
tunnel = { upstream = 5.0, downstream = 10.0, side = 8.0 }
[fluid]
nu = 0.05
[turbulence]
model = "laminar"
[mesh]
target_cells = 6000
layers = { count = 2 }
[solver]
iterations = 1000
"#;

#[test]
fn cylinder_re20_runs_end_to_end_as_a_2d_case() {
    require_openfoam();
    let tmp = tempfile::tempdir().unwrap();
    cylinder_stl(tmp.path());
    let toml = tmp.path().join("cylinder.toml");
    std::fs::write(&toml, CYLINDER_RE20).unwrap();
    let out = tmp.path().join("out");
    let t0 = std::time::Instant::now();
    let (ok, stdout, err) = run(flowcfd().arg("run").arg(&toml).args(["--mesh-params", "rules", "--out"]).arg(&out));
    let wall = t0.elapsed().as_secs_f64();
    assert!(ok, "2D run failed:\n{stdout}\n{err}");
    let case = out.join("case");
    let s = summary(&out);
    eprintln!("2D cylinder Re 20: {wall:.1} s wall, summary mesh {} forces {}", s["mesh"], s["forces"]);

    // checkMesh sees a 2D mesh.
    let check = std::fs::read_to_string(case.join("log.checkMesh")).unwrap();
    let solution = check.lines().find(|l| l.contains("solution (non-empty) directions")).expect("directions line");
    assert!(solution.trim_end().ends_with("(1 1 0)"), "{solution}");
    assert!(check.contains("Mesh OK."), "checkMesh failed:\n{check}");
    assert_eq!(s["mesh"]["ok"], true);

    // front and back are empty patches; no symmetry plane is left over.
    let boundary = std::fs::read_to_string(case.join("constant/polyMesh/boundary")).unwrap();
    for p in ["front", "back"] {
        let at = boundary.find(&format!("\n    {p}\n")).unwrap_or_else(|| panic!("{p} missing:\n{boundary}"));
        let entry = &boundary[at..at + boundary[at..].find('}').unwrap()];
        assert!(entry.contains("type            empty;"), "{p} is not empty:\n{entry}");
    }
    assert!(!boundary.contains("symFront") && !boundary.contains("symmetryPlane"), "{boundary}");

    // One cell thick: the points lie on exactly two z planes, the slab's.
    let c = flowcfd::post::Case::open(&case, None, "reconstructed".parse().unwrap()).unwrap();
    let mut zs: Vec<f64> = c.mesh.points.iter().map(|p| p[2]).collect();
    zs.sort_by(f64::total_cmp);
    zs.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
    assert_eq!(zs.len(), 2, "points on {} z planes: {:?}", zs.len(), &zs[..zs.len().min(5)]);
    let thickness = zs[1] - zs[0];
    let cells = s["mesh"]["cells"].as_u64().unwrap();
    assert!((2_000..=15_000).contains(&cells), "{cells} cells for a 6000-cell budget");

    // Layers on the profile only, and most of the profile has them.
    let rows = s["mesh"]["layers"]["patches"].as_array().expect("layer table");
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["cylinder"], "layers only on the profile");
    assert!(s["mesh"]["layer_coverage"].as_f64().unwrap() > 0.8, "coverage {}", s["mesh"]["layer_coverage"]);

    // Forces with 2D reference values: A = chord × thickness, l = chord.
    let f = &s["forces"];
    assert!((f["Aref"].as_f64().unwrap() - thickness).abs() < 1e-6, "Aref {} for thickness {thickness}", f["Aref"]);
    assert!((f["lRef"].as_f64().unwrap() - 1.0).abs() < 1e-3, "lRef {}", f["lRef"]);
    assert_eq!(f["drag_dir"], serde_json::json!([1.0, 0.0, 0.0]));
    assert_eq!(f["lift_dir"], serde_json::json!([0.0, 1.0, 0.0]));
    assert_eq!(s["reference"]["Aref"], f["Aref"]);
    let cd = f["Cd"].as_f64().unwrap();
    // Tritton (1959): Cd 2.05-2.2 at Re 20 unconfined; 6 % blockage between slip walls
    // and a 96-gon add a few per cent.
    assert!((1.9..2.5).contains(&cd), "Cd {cd} at Re 20");
    let cl = f["Cl"].as_f64().unwrap();
    assert!(cl.abs() < 0.02, "a symmetric cylinder has no lift: Cl {cl}");
    assert!(s["solve"]["converged"].as_bool().unwrap(), "steady laminar Re 20 converges");
    for step in ["snappyHexMesh", "extrudeMesh", "createPatch", "checkMesh", "simpleFoam"] {
        assert!(s["timing"][step].as_f64().is_some(), "timing.{step}");
    }
}

/// Writes the case for `toml` (with the cylinder or `stl`) and returns (ok, stderr, case dir).
fn write_case(dir: &Path, toml: &str) -> (bool, String, std::path::PathBuf) {
    let file = dir.join("c.toml");
    std::fs::write(&file, toml).unwrap();
    let out = dir.join("out");
    let _ = std::fs::remove_dir_all(&out);
    let (ok, _, err) = run(flowcfd().arg("case").arg(&file).args(["--mesh-params", "rules", "--out"]).arg(&out));
    (ok, err, out.join("case"))
}

#[test]
fn an_airfoil_at_an_angle_of_attack_gets_2d_files_and_directions() {
    let tmp = tempfile::tempdir().unwrap();
    let wing = extruded_profile(&naca4("2412", 1.0, 60).unwrap(), 0.0, 0.3, "wing");
    std::fs::write(tmp.path().join("wing.stl"), to_stl_ascii(&wing)).unwrap();
    let alpha = 10f64.to_radians();
    let toml = format!(
        "geometry = \"wing.stl\"\n[flow]\ntype = \"external\"\ntwo_dimensional = true\nvelocity = [{}, {}, 0]\n[mesh]\ntarget_cells = 20000\n",
        30.0 * alpha.cos(),
        30.0 * alpha.sin()
    );
    let (ok, err, case) = write_case(tmp.path(), &toml);
    assert!(ok, "{err}");
    let allrun = std::fs::read_to_string(case.join("Allrun")).unwrap();
    let order = ["snappyHexMesh", "run extrudeMesh extrudeMesh", "run createPatch createPatch -overwrite", "checkMesh"];
    let mut at = 0;
    for step in order {
        at += allrun[at..].find(step).unwrap_or_else(|| panic!("{step} missing or out of order:\n{allrun}"));
    }
    let block = std::fs::read_to_string(case.join("system/blockMeshDict")).unwrap();
    assert!(block.contains("symFront") && block.contains("symmetryPlane"), "{block}");
    let extrude = std::fs::read_to_string(case.join("system/extrudeMeshDict")).unwrap();
    assert!(extrude.contains("nLayers         1;") && extrude.contains("exposedPatchName symBack;"), "{extrude}");
    for field in ["U", "p"] {
        let text = std::fs::read_to_string(case.join("0.orig").join(field)).unwrap();
        assert!(text.contains("front") && text.contains("back") && text.contains("empty"), "{field}:\n{text}");
    }
    let control = std::fs::read_to_string(case.join("system/controlDict")).unwrap();
    let (s, c) = (alpha.sin(), alpha.cos());
    for want in [
        format!("dragDir         ({c} {s} 0)"),
        format!("liftDir         ({} {c} 0)", -s),
        "pitchAxis       (0 0 1)".into(),
    ] {
        assert!(control.contains(&want), "{want} missing:\n{control}");
    }
}

#[test]
fn misfits_of_2d_mode_are_refused_with_a_fix() {
    let tmp = tempfile::tempdir().unwrap();
    cylinder_stl(tmp.path());
    let base = "geometry = \"cylinder.stl\"\n[flow]\ntype = \"external\"\ntwo_dimensional = true\n";
    let (ok, err, _) = write_case(tmp.path(), &format!("{base}velocity = [10, 0, 2]\n"));
    assert!(!ok && err.contains("[U cos α, U sin α, 0]"), "{err}");
    let (ok, err, _) = write_case(tmp.path(), &format!("{base}velocity = [10, 0, 0]\nground = true\n"));
    assert!(!ok && err.contains("flow.ground"), "{err}");
    // A sphere is no extruded profile.
    let ball = flowcfd::geometry::primitives::uv_sphere([0.0; 3], 0.5, 12, 16, "ball");
    std::fs::write(tmp.path().join("cylinder.stl"), to_stl_ascii(&ball)).unwrap();
    let (ok, err, _) = write_case(tmp.path(), &format!("{base}velocity = [10, 0, 0]\n"));
    assert!(!ok && err.contains("extruded along z"), "{err}");
}
