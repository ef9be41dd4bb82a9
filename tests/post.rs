//! Post-processing against analytic answers on real OpenFOAM output: a graded blockMesh
//! box whose cell centres OpenFOAM itself writes (`postProcess -func writeCellCentres`
//! gives the linear fields Cx, Cy, Cz), a uniform U, the same result converted to binary
//! by `foamFormatConvert` and gzipped, and decomposed by `decomposePar`.
mod common;
use common::*;
use flowcfd::post::{view::Seeds, view::View, Case, FieldSel, Source};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn foam(dir: &Path, args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .current_dir(dir)
        .env("WM_PROJECT_DIR", "/usr/share/openfoam")
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", args[0]));
    assert!(
        out.status.success(),
        "{} failed:\n{}\n{}",
        args[0],
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

const HEADER: &str = "FoamFile { version 2.0; format ascii; class dictionary; object x; }\n";

/// The box [0,2]×[0,1]×[0,1], 8×4×4 cells graded 3:1 in x and 1:2 in z, at time 0 (ascii),
/// a binary copy with every file gzipped, and a decomposed copy. Built once per test process.
fn cases() -> &'static (PathBuf, PathBuf, PathBuf) {
    static CASES: OnceLock<(tempfile::TempDir, (PathBuf, PathBuf, PathBuf))> = OnceLock::new();
    &CASES
        .get_or_init(|| {
            require_openfoam();
            let t = tempfile::tempdir().unwrap();
            let a = t.path().join("ascii");
            for d in ["system", "constant", "0"] {
                std::fs::create_dir_all(a.join(d)).unwrap();
            }
            let w = |p: &str, s: &str| std::fs::write(a.join(p), format!("{HEADER}{s}")).unwrap();
            w(
                "system/blockMeshDict",
                "convertToMeters 1;\nvertices ((0 0 0) (2 0 0) (2 1 0) (0 1 0) (0 0 1) (2 0 1) (2 1 1) (0 1 1));\n\
                 blocks (hex (0 1 2 3 4 5 6 7) (8 4 4) simpleGrading (3 1 0.5));\n\
                 boundary (inlet { type patch; faces ((0 4 7 3)); } outlet { type patch; faces ((1 2 6 5)); }\n\
                 walls { type wall; faces ((0 1 5 4) (3 7 6 2) (0 3 2 1) (4 5 6 7)); });\n",
            );
            let control = |fmt: &str, comp: &str| {
                format!(
                    "application simpleFoam; startFrom startTime; startTime 0; stopAt endTime; endTime 1; deltaT 1;\n\
                     writeControl timeStep; writeInterval 1; writeFormat {fmt}; writePrecision 17; writeCompression {comp};\n\
                     timeFormat general; timePrecision 6;\n"
                )
            };
            w("system/controlDict", &control("ascii", "off"));
            w("system/fvSchemes", "ddtSchemes { default steadyState; } gradSchemes { default Gauss linear; } divSchemes { default none; }\nlaplacianSchemes { default Gauss linear corrected; } interpolationSchemes { default linear; } snGradSchemes { default corrected; }\n");
            w("system/fvSolution", "");
            w("system/decomposeParDict", "numberOfSubdomains 4;\nmethod simple;\nsimpleCoeffs { n (2 2 1); delta 0.001; }\n");
            foam(&a, &["blockMesh"]);
            foam(&a, &["postProcess", "-func", "writeCellCentres"]);
            std::fs::write(
                a.join("0/U"),
                "FoamFile { version 2.0; format ascii; class volVectorField; object U; }\ndimensions [0 1 -1 0 0 0 0];\n\
                 internalField uniform (1 0 0);\nboundaryField { \".*\" { type calculated; value uniform (1 0 0); } }\n",
            )
            .unwrap();
            // U's boundary entries must name the patches for the readers of other tools.
            let u = std::fs::read_to_string(a.join("0/U")).unwrap().replace(
                "\".*\" { type calculated; value uniform (1 0 0); }",
                "inlet { type calculated; value uniform (1 0 0); } outlet { type calculated; value uniform (1 0 0); } walls { type calculated; value uniform (1 0 0); }",
            );
            std::fs::write(a.join("0/U"), u).unwrap();
            let b = t.path().join("binary");
            copy_dir(&a, &b);
            std::fs::write(b.join("system/controlDict"), format!("{HEADER}{}", control("binary", "off"))).unwrap();
            foam(&b, &["foamFormatConvert"]);
            // v1912's foamFormatConvert does not compress; gzip the files as OpenFOAM's
            // `writeCompression on` would (it reads either).
            for dir in ["constant/polyMesh", "0"] {
                let st = Command::new("sh").arg("-c").arg("gzip -9 *").current_dir(b.join(dir)).status().unwrap();
                assert!(st.success(), "gzip");
            }
            let d = t.path().join("decomposed");
            copy_dir(&a, &d);
            foam(&d, &["decomposePar"]);
            (t, (a, b, d))
        })
        .1
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

fn open(dir: &Path, source: Source) -> Case {
    Case::open(dir, None, source).unwrap()
}

fn view(v: &View, c: &Case) -> flowcfd::post::extract::PolyData {
    flowcfd::post::view::extract(c, v).unwrap()
}

fn slice(origin: [f64; 3], normal: [f64; 3], field: &str) -> View {
    View::Slice { origin, normal, field: Some(field.into()) }
}

#[test]
fn the_binary_copy_is_really_binary_and_compressed() {
    let (_, b, _) = cases();
    let raw = std::fs::read(b.join("constant/polyMesh/faces.gz")).expect("compressed faces");
    assert_eq!(&raw[..2], &[0x1f, 0x8b]);
    let cx = std::fs::read(b.join("0/Cx.gz")).unwrap();
    let mut text = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&cx[..]), &mut text).unwrap();
    assert!(String::from_utf8_lossy(&text[..1200]).contains("format      binary"));
}

#[test]
fn a_linear_fields_isosurface_is_the_exact_plane() {
    let (a, _, _) = cases();
    let c = open(a, Source::Auto);
    assert_eq!((c.mesh.n_cells, c.time.as_str()), (128, "0"));
    for (x, method) in [(0.7, None), (1.3, None), (0.05, None), (0.7, Some("tets")), (1.3, Some("tets"))] {
        let method = method.map(String::from);
        let pd = view(&View::Iso { field: "Cx".into(), value: x, color_by: Some("Cy".into()), method }, &c);
        assert!((pd.area() - 1.0).abs() < 1e-9, "Cx = {x}: area {}", pd.area());
        assert!(pd.points.iter().all(|p| (p[0] - x).abs() < 1e-9), "Cx = {x}: points off the plane");
        // Carried Cy is y itself.
        let (_, cy) = pd.scalars.as_ref().unwrap();
        assert!(pd.points.iter().zip(cy).all(|(p, v)| (p[1] - v).abs() < 1e-9));
    }
    // Oblique: Cx + 0 ... Cz = 0.3 is the horizontal plane z = 0.3 across a 2 × 1 box.
    let pd = view(&View::Iso { field: "Cz".into(), value: 0.3, color_by: None, method: None }, &c);
    assert!((pd.area() - 2.0).abs() < 1e-9, "{}", pd.area());
}

#[test]
fn a_slice_through_the_box_has_the_exact_area() {
    let (a, _, _) = cases();
    let c = open(a, Source::Auto);
    let pd = view(&slice([1.0, 0.5, 0.5], [1.0, 1.0, 0.0], "Cx"), &c);
    assert!((pd.area() - 2f64.sqrt()).abs() < 1e-9, "oblique slice area {}", pd.area());
    // On a plane of mesh points (z = 0.5 is not one: graded; x = 2/…): any x.
    for x in [0.0001, 0.5, 1.0, 1.9999] {
        let pd = view(&slice([x, 0.0, 0.0], [1.0, 0.0, 0.0], "Cx"), &c);
        assert!((pd.area() - 1.0).abs() < 1e-9, "x = {x}: {}", pd.area());
        let (_, v) = pd.scalars.as_ref().unwrap();
        assert!(v.iter().all(|v| (v - x).abs() < 1e-9), "Cx on the slice x = {x}");
    }
    // A plane that misses the box is empty, not an error.
    assert_eq!(view(&slice([5.0, 0.0, 0.0], [1.0, 0.0, 0.0], "Cx"), &c).tris.len(), 0);
}

#[test]
fn streamlines_of_a_uniform_field_are_straight_and_of_the_expected_length() {
    let (a, _, _) = cases();
    let c = open(a, Source::Auto);
    let v = View::Streamlines {
        seeds: Seeds::Line { from: [0.1, 0.1, 0.5], to: [0.1, 0.9, 0.5] },
        count: 5,
        field: "U".into(),
        color_by: None,
        max_length: None,
        direction: "forward".into(),
    };
    let pd = view(&v, &c);
    assert_eq!(pd.lines.len(), 5);
    for l in &pd.lines {
        let first = pd.points[l[0] as usize];
        for &i in l {
            let p = pd.points[i as usize];
            assert!((p[1] - first[1]).abs() < 1e-9 && (p[2] - 0.5).abs() < 1e-9, "not straight: {p:?}");
        }
    }
    assert!((pd.line_length() - 5.0 * 1.9).abs() < 1e-6, "total length {}", pd.line_length());
    // Both ways from x = 0.1: the whole 2 m; and a length cap is honoured.
    let both = View::Streamlines {
        seeds: Seeds::Line { from: [0.1, 0.5, 0.5], to: [0.1, 0.5, 0.5] },
        count: 1,
        field: "U".into(),
        color_by: Some("Cx".into()),
        max_length: Some(0.75),
        direction: "both".into(),
    };
    let pd = view(&both, &c);
    assert!((pd.line_length() - (0.1 + 0.75)).abs() < 1e-6, "{}", pd.line_length());
}

#[test]
fn a_probe_of_a_linear_field_returns_the_exact_value() {
    let (a, _, _) = cases();
    let c = open(a, Source::Auto);
    let pts = [[0.731, 0.4, 0.6], [1.999, 0.001, 0.999], [0.0, 0.0, 0.0], [3.0, 0.5, 0.5]];
    let v = c.probe(&FieldSel::parse("Cx").unwrap(), &pts).unwrap();
    for (p, v) in pts.iter().zip(&v).take(3) {
        assert!((v.unwrap() - p[0]).abs() < 1e-9, "Cx at {p:?} = {v:?}");
    }
    assert_eq!(v[3], None, "outside the mesh");
    let vz = c.probe(&FieldSel::parse("Cz").unwrap(), &pts[..1]).unwrap();
    assert!((vz[0].unwrap() - 0.6).abs() < 1e-9);
    // The CLI prints one JSON line.
    let (ok, out, err) = run(flowcfd().args([
        "post",
        "probe",
        "--case",
        a.to_str().unwrap(),
        "--field",
        "U:x",
        "--points",
        "0.5,0.5,0.5;9,9,9",
    ]));
    assert!(ok, "{err}");
    let j: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert!((j["values"][0].as_f64().unwrap() - 1.0).abs() < 1e-12);
    assert!(j["values"][1].is_null());
    // A line plot along x: Cx along it is the distance from the start.
    let (ok, out, err) = run(flowcfd().args([
        "post",
        "probe",
        "--case",
        a.to_str().unwrap(),
        "--field",
        "Cx",
        "--line",
        "0.1,0.5,0.5:1.9,0.5,0.5",
        "--samples",
        "10",
    ]));
    assert!(ok, "{err}");
    let j: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let v = j["values"].as_array().unwrap();
    assert_eq!(v.len(), 10);
    for (i, x) in v.iter().enumerate() {
        assert!((x.as_f64().unwrap() - (0.1 + 0.2 * i as f64)).abs() < 1e-9, "{j}");
    }
}

/// Stats that must agree between two readings of the same result.
fn fingerprint(c: &Case) -> Vec<f64> {
    let views = [
        View::Surface { patches: vec![], field: Some("Cx".into()) },
        View::Surface { patches: vec!["inlet".into(), "outlet".into()], field: Some("U:mag".into()) },
        slice([1.0, 0.5, 0.5], [1.0, 1.0, 0.3], "Cy"),
        View::Iso { field: "Cx".into(), value: 0.77, color_by: Some("Cz".into()), method: None },
        View::Streamlines {
            seeds: Seeds::Line { from: [0.05, 0.2, 0.2], to: [0.05, 0.8, 0.8] },
            count: 7,
            field: "U".into(),
            color_by: None,
            max_length: None,
            direction: "both".into(),
        },
    ];
    let mut out = vec![c.mesh.n_cells as f64, c.mesh.n_faces() as f64];
    for v in &views {
        let pd = view(v, c);
        let (_, s) = pd.scalars.clone().unwrap();
        out.extend([pd.tris.len() as f64, pd.area(), pd.line_length(), s.iter().sum::<f64>()]);
    }
    out
}

fn same(a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= 1e-9 * (1.0 + x.abs()), "item {i}: {x} against {y}\n{a:?}\n{b:?}");
    }
}

#[test]
fn binary_and_ascii_results_give_identical_extractions() {
    let (a, b, _) = cases();
    same(&fingerprint(&open(a, Source::Auto)), &fingerprint(&open(b, Source::Auto)));
}

#[test]
fn decomposed_and_reconstructed_results_give_identical_extractions() {
    let (_, _, d) = cases();
    let dec = open(d, Source::Decomposed);
    assert!(dec.decomposed);
    assert_eq!(
        std::fs::read_dir(d)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("processor"))
            .count(),
        4
    );
    let rec = open(d, Source::Reconstructed);
    assert_eq!(
        rec.mesh.patches.iter().map(|p| (&p.name, p.size)).collect::<Vec<_>>(),
        dec.mesh.patches.iter().map(|p| (&p.name, p.size)).collect::<Vec<_>>()
    );
    same(&fingerprint(&rec), &fingerprint(&dec));
}

#[test]
fn the_cli_writes_vtp_that_reads_back_and_prints_statistics() {
    let (a, _, _) = cases();
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("iso.vtp");
    let case = a.to_str().unwrap();
    let (ok, stdout, err) = run(flowcfd().args([
        "post",
        "iso",
        "--case",
        case,
        "--field",
        "Cx",
        "--value",
        "0.7",
        "--out",
        out.to_str().unwrap(),
    ]));
    assert!(ok, "{err}");
    let j: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert!((j["area"].as_f64().unwrap() - 1.0).abs() < 1e-9, "{j}");
    assert!(j["triangles"].as_u64().unwrap() > 0);
    assert!((j["min"].as_f64().unwrap() - 0.7).abs() < 1e-6 && (j["max"].as_f64().unwrap() - 0.7).abs() < 1e-6, "{j}");
    let (pts, tris, scal) = flowcfd::post::vtp::read_back(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(tris.len() as u64, j["triangles"].as_u64().unwrap());
    assert_eq!(scal.len(), pts.len());
    for (verb, extra) in [
        ("surface", vec!["--patches", "inlet,walls", "--field", "U:x"]),
        ("slice", vec!["--origin", "1,0.5,0.5", "--normal", "0,0,1", "--field", "U:mag"]),
        ("streamlines", vec!["--seed-line", "0.1,0.2,0.5:0.1,0.8,0.5", "--count", "3", "--direction", "forward"]),
        ("iso", vec!["--field", "Cy", "--value", "-1", "--color-by", "Cx"]),
    ] {
        let out = t.path().join(format!("{verb}.vtp"));
        let mut args = vec!["post", verb, "--case", case, "--out", out.to_str().unwrap()];
        args.extend(extra);
        let (ok, stdout, err) = run(flowcfd().args(&args));
        assert!(ok, "{verb}: {err}");
        let j: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
        assert!(out.is_file(), "{verb}");
        if verb == "streamlines" {
            assert_eq!(j["count"], 3);
            assert!((j["total_length"].as_f64().unwrap() - 3.0 * 1.9).abs() < 1e-6, "{j}");
        }
        if verb == "surface" {
            assert!((j["area"].as_f64().unwrap() - 9.0).abs() < 1e-9, "inlet 1 m² and four 2 m² walls: {j}");
        }
    }
}

#[test]
fn bad_input_gets_a_clear_message() {
    let (a, _, _) = cases();
    let case = a.to_str().unwrap();
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("x.vtp");
    let o = out.to_str().unwrap();
    for (args, want) in [
        (
            vec![
                "post",
                "slice",
                "--case",
                "/nonexistent",
                "--origin",
                "0,0,0",
                "--normal",
                "1,0,0",
                "--field",
                "p",
                "--out",
                o,
            ],
            "not an OpenFOAM case",
        ),
        (
            vec![
                "post", "slice", "--case", case, "--origin", "0,0,0", "--normal", "1,0,0", "--field", "nope", "--out",
                o,
            ],
            "no field 'nope'",
        ),
        (
            vec![
                "post", "slice", "--case", case, "--origin", "0,0,0", "--normal", "0,0,0", "--field", "Cx", "--out", o,
            ],
            "non-zero normal",
        ),
        (
            vec![
                "post", "slice", "--case", case, "--time", "7", "--origin", "0,0,0", "--normal", "1,0,0", "--field",
                "Cx", "--out", o,
            ],
            "times there: 0",
        ),
        (vec!["post", "iso", "--case", case, "--field", "Cx:mag:x", "--value", "1", "--out", o], "not a component"),
        (vec!["post", "iso", "--case", case, "--field", "Cx:x", "--value", "1", "--out", o], "is a scalar"),
        (
            vec!["post", "surface", "--case", case, "--patches", "wing", "--field", "Cx", "--out", o],
            "no patch or group 'wing'",
        ),
        (
            vec!["post", "streamlines", "--case", case, "--seed-line", "0,0,0", "--count", "3", "--out", o],
            "X,Y,Z:X,Y,Z",
        ),
        (
            vec![
                "post",
                "streamlines",
                "--case",
                case,
                "--field",
                "Cx",
                "--seed-line",
                "0,0,0:1,1,1",
                "--count",
                "3",
                "--out",
                o,
            ],
            "a vector field",
        ),
    ] {
        let (ok, _, err) = run(flowcfd().args(&args));
        assert!(!ok && err.contains(want), "{args:?}: wanted '{want}' in:\n{err}");
    }
    // A truncated field file: the path and line, not a panic.
    let broken = t.path().join("broken");
    copy_dir(a, &broken);
    let cx = std::fs::read_to_string(broken.join("0/Cx")).unwrap();
    std::fs::write(broken.join("0/Cx"), &cx[..cx.len() / 2]).unwrap();
    let (ok, _, err) = run(flowcfd().args([
        "post",
        "probe",
        "--case",
        broken.to_str().unwrap(),
        "--field",
        "Cx",
        "--points",
        "1,0.5,0.5",
    ]));
    assert!(!ok && err.contains("0/Cx"), "{err}");
}

#[test]
fn q_criterion_and_level_of_detail() {
    let (a, _, _) = cases();
    let c = open(a, Source::Auto);
    // A uniform U has no velocity gradient: Q is zero everywhere.
    let q = c.point_scalars(&FieldSel::parse("Q").unwrap()).unwrap();
    assert!(q.iter().all(|v| v.abs() < 1e-9));
    let pd = view(&View::Surface { patches: vec![], field: Some("Cx".into()) }, &c);
    let small = flowcfd::post::lod::decimate(&pd, pd.tris.len() / 4);
    assert!(
        small.tris.len() <= pd.tris.len() / 4 && !small.tris.is_empty(),
        "{} of {}",
        small.tris.len(),
        pd.tris.len()
    );
    // Chunked stream round trip.
    let bytes = flowcfd::post::chunk::encode(&pd, serde_json::json!({"kind": "surface"}));
    let (meta, tris, segs) = flowcfd::post::chunk::decode(&bytes).unwrap();
    assert_eq!((tris, segs), (pd.tris.len(), 0));
    assert_eq!(meta["kind"], "surface");
}
