//! Internal flow on real OpenFOAM: a square duct whose end faces are the inlet and outlet.

mod common;
use common::*;
use flowcfd::geometry::{primitives::cuboid, write::to_stl_ascii};

#[test]
fn square_duct_internal_flow() {
    require_openfoam();
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let mut duct = cuboid([0.0, 0.0, 0.0], [1.0, 0.1, 0.1], "walls");
    // cuboid lists its faces z-, z+, y-, y+, x-, x+ (two triangles each).
    duct.groups = vec!["walls".into(), "in".into(), "out".into()];
    duct.tri_group = vec![0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 2];
    std::fs::write(d.join("duct.stl"), to_stl_ascii(&duct)).unwrap();
    std::fs::write(
        d.join("duct.toml"),
        r#"geometry = "duct.stl"
[flow]
type = "internal"
velocity = [1.0, 0.0, 0.0]
[turbulence]
model = "laminar"
[boundaries]
in = { type = "velocity_inlet" }
out = { type = "pressure_outlet" }
[mesh]
target_cells = 6000
[solver]
iterations = 300
"#,
    )
    .unwrap();
    let (ok, out, err) = run(flowcfd().current_dir(d).args(["run", "duct.toml", "--out", "o"]));
    assert!(ok, "{out}\n{err}");
    let s = summary(&d.join("o"));
    assert_eq!(s["mesh"]["ok"], true);
    let cells = s["mesh"]["cells"].as_u64().unwrap();
    assert!((2_000..=15_000).contains(&cells), "{cells} cells for a 6000 budget");
    // The mesh is the inside of the duct: its patches are the duct's groups.
    let boundary = std::fs::read_to_string(d.join("o/case/constant/polyMesh/boundary")).unwrap();
    for patch in ["in", "out", "walls"] {
        assert!(boundary.contains(&format!("    {patch}\n")), "patch {patch} missing:\n{boundary}");
    }
    let volume: f64 = {
        let log = std::fs::read_to_string(d.join("o/case/log.checkMesh")).unwrap();
        let line = log.lines().find(|l| l.contains("Total volume")).unwrap().to_string();
        line.split("Total volume = ").nth(1).unwrap().trim_end_matches(|c: char| !c.is_ascii_digit()).parse().unwrap()
    };
    assert!((volume - 0.01).abs() < 0.0005, "meshed volume {volume} m³ should be the duct's 0.01 m³");
    let dropped = s["solve"]["orders_dropped"]["p"].as_f64().unwrap();
    assert!(
        s["solve"]["converged"] == true || dropped > 2.0,
        "p dropped {dropped} orders on {cells} cells: {}",
        s["solve"]
    );
}
