//! PDF reports on real OpenFOAM results, read back with poppler-utils (`pdftotext`,
//! `pdfinfo`, `pdfimages`): the numbers as summary.json has them, every patch, the pages
//! and pictures; the surface Cp picture read back at the stagnation point; a diverged run's
//! failure section; and bad input answered with a clear error.
mod common;
use common::{flowcfd, require_openfoam, root, run};
use flowcfd::runner::openfoam;
use flowcfd::runner::pipeline;
use flowcfd::runner::steps::Quiet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::sync::OnceLock;

/// The cube example run once for the whole file (a real simpleFoam result).
fn cube() -> &'static Path {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &DIR.get_or_init(|| {
        require_openfoam();
        let t = tempfile::tempdir().unwrap();
        let out = t.path().join("out");
        let (ok, _, err) = run(flowcfd().arg("run").arg(root().join("examples/cube.toml")).arg("--out").arg(&out));
        assert!(ok, "the cube example runs: {err}");
        (t, out)
    })
    .1
}

fn poppler(tool: &str) -> Command {
    assert!(
        Command::new(tool).arg("-v").output().is_ok(),
        "{tool} is missing: install poppler-utils (the README's test command does)"
    );
    Command::new(tool)
}

fn text_of(pdf: &Path) -> String {
    let out = poppler("pdftotext").arg(pdf).arg("-").output().unwrap();
    assert!(out.status.success(), "pdftotext: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn report(case: &Path, out: &Path, extra: &[&str]) -> (bool, String, String) {
    run(flowcfd().arg("report").arg("--case").arg(case).arg("--out").arg(out).args(extra))
}

/// Every patch name of the case's mesh.
fn patch_names(case: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(case.join("constant/polyMesh/boundary")).unwrap();
    let inner = &text[text.find('(').unwrap() + 1..text.rfind(')').unwrap()];
    let mut names = Vec::new();
    let mut depth = 0;
    for tok in inner.split_whitespace() {
        match tok {
            "{" => depth += 1,
            "}" => depth -= 1,
            t if depth == 0 => names.push(t.to_string()),
            _ => {}
        }
    }
    names
}

#[test]
fn the_cube_report_has_the_summary_the_mesh_and_every_patch() {
    let out = cube();
    let t = tempfile::tempdir().unwrap();
    let pdf = t.path().join("report.pdf");
    let (ok, stdout, err) = report(out, &pdf, &["--project", "Wind tunnel", "--author", "A. Engineer"]);
    assert!(ok, "{err}");
    assert!(stdout.contains("\"bytes\""), "{stdout}");
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let text = text_of(&pdf);
    for key in ["Cd", "Cl"] {
        let v = summary["forces"][key].to_string();
        assert!(text.contains(&v), "{key} {v} as summary.json rounds it is in the report");
    }
    let cells = summary["mesh"]["cells"].to_string();
    assert!(text.contains(&cells), "the cell count {cells}");
    assert!(text.contains(summary["openfoam_version"].as_str().unwrap()), "the OpenFOAM version");
    for p in patch_names(&out.join("case")) {
        assert!(text.contains(&p), "the patch {p} is named in the report");
    }
    for heading in
        ["Summary", "Geometry", "Set-up", "Mesh", "Convergence", "Results", "Forces by patch", "Reproducibility"]
    {
        assert!(text.contains(heading), "section {heading}");
    }
    // y+ as the run measured it (summary.json's area-weighted mesh.yplus, as the job page shows).
    let y = &summary["mesh"]["yplus"];
    assert!(y["mean"].is_number(), "the cube run measures y+: {y}");
    assert!(text.contains("area-weighted"), "the report's y+ is the run's area-weighted check");
    let outside = format!("{:.0} % of the wall area outside the band", y["outside"].as_f64().unwrap() * 100.0);
    assert!(text.contains(&outside), "{outside}");
    assert!(text.contains("Wind tunnel") && text.contains("A. Engineer"), "the title block");
    assert!(text.contains(summary["input_sha256"].as_str().unwrap()), "the input hash");
    let info = String::from_utf8_lossy(&poppler("pdfinfo").arg(&pdf).output().unwrap().stdout).to_string();
    let pages: u32 = info.lines().find_map(|l| l.strip_prefix("Pages:")).unwrap().trim().parse().unwrap();
    assert!(pages >= 5, "{pages} pages");
    assert!(info.contains("A4") || info.contains("595.28 x 841.89"), "{info}");
    pictures_are_drawn(out, &pdf, t.path());
    let letter = t.path().join("letter.pdf");
    assert!(report(out, &letter, &["--paper", "letter", "--units", "automotive"]).0);
    let info = String::from_utf8_lossy(&poppler("pdfinfo").arg(&letter).output().unwrap().stdout).to_string();
    assert!(info.contains("612 x 792"), "{info}");
    assert!(text_of(&letter).contains("36 km/h"), "automotive units show km/h");
}

#[test]
fn a_diverged_run_gets_a_report_with_its_failure() {
    require_openfoam();
    let t = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("examples/cube.toml")).unwrap();
    let mut spec = flowcfd::foam::spec::CaseSpec::from_toml(&text, "cube.toml").unwrap();
    // A tiny mesh and a huge step: SIMPLE's relaxation (its pseudo time step) far past 1.
    spec.mesh.target_cells = 4000;
    spec.solver.iterations = 300;
    // No restart with calmer numerics: this run is to fail.
    spec.solver.restart_on_divergence = false;
    let p = pipeline::prepare(spec, &root().join("examples/cube.stl"), &Default::default()).unwrap();
    let root_dir = t.path().join("out");
    let out = pipeline::OutDir::claim(&root_dir, false).unwrap();
    flowcfd::foam::case::write(&p.case, &out.case_dir()).unwrap();
    let path = out.case_dir().join("system/fvSolution");
    let fv = std::fs::read_to_string(&path).unwrap().replace("U               0.9;", "U               1.8;");
    std::fs::write(&path, fv).unwrap();
    let env = openfoam::detect(None).unwrap();
    let err = pipeline::run(&p, &out, &env, &mut Quiet, &AtomicBool::new(false)).unwrap_err();
    assert!(err.to_string().contains("diverged"), "{err}");
    assert!(root_dir.join("failure.json").is_file());
    let pdf = t.path().join("failed.pdf");
    let (ok, _, e) = report(&root_dir, &pdf, &[]);
    assert!(ok, "a failed run still gets a report: {e}");
    let text = text_of(&pdf);
    assert!(text.contains("What went wrong"), "the failure section");
    assert!(text.contains("simpleFoam"), "the failing step");
    assert!(text.contains("diverged at iteration"), "the plain-language hint");
    assert!(text.contains("The last lines of the log"), "the log tail");
    assert!(text.contains("Residuals up to the failure"), "the residual history");
}

#[test]
fn bad_input_gets_a_clear_error() {
    let out = cube();
    let t = tempfile::tempdir().unwrap();
    let copy = |name: &str| -> PathBuf {
        let dst = t.path().join(name);
        let st = Command::new("cp").arg("-a").arg(out).arg(&dst).status().unwrap();
        assert!(st.success());
        dst
    };
    let check = |dir: &Path, extra: &[&str], want: &str| {
        let (ok, _, err) = report(dir, &t.path().join("x.pdf"), extra);
        assert!(!ok, "{dir:?} is refused");
        assert!(err.starts_with("error: ") && err.contains(want), "{want:?} in {err:?}");
        assert!(!err.contains("panicked"), "{err}");
    };
    // No time step at all.
    let none = copy("none");
    for e in std::fs::read_dir(none.join("case")).unwrap().flatten() {
        if e.file_name().to_string_lossy().parse::<f64>().is_ok() {
            std::fs::remove_dir_all(e.path()).unwrap();
        }
    }
    check(&none, &[], "has no result to report");
    // The latest time lacks p.
    let nop = copy("nop");
    let latest = summary_iterations(&nop);
    std::fs::remove_file(nop.join("case").join(latest).join("p")).unwrap();
    check(&nop, &[], "has no field p");
    // A corrupt summary.json.
    let bad = copy("bad");
    std::fs::write(bad.join("summary.json"), "{\"forces\": {\"Cd\": 1.1").unwrap();
    check(&bad, &[], "summary.json is not valid JSON");
    // Not a result at all, and a summary file that is not there.
    check(t.path(), &[], "is neither");
    check(out, &["--summary", "/nonexistent/summary.json"], "does not exist");
}

fn summary_iterations(out: &Path) -> String {
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    s["solve"]["iterations"].to_string()
}

/// Every picture in the PDF is drawn (not blank), and the surface Cp picture seen from the
/// front has its highest value at the stagnation point: the pixel where the camera projects
/// the cube's front face centre reads back, through the colormap, as Cp above 0.8.
fn pictures_are_drawn(out: &Path, pdf: &Path, tmp: &Path) {
    let list =
        String::from_utf8_lossy(&poppler("pdfimages").arg("-list").arg(pdf).output().unwrap().stdout).to_string();
    let listed = list.lines().skip(2).filter(|l| l.contains("image")).count();
    assert!(listed >= 5, "at least 5 images: {list}");
    let prefix = tmp.join("img");
    assert!(poppler("pdfimages").arg("-png").arg(pdf).arg(&prefix).status().unwrap().success());
    let mut files: Vec<PathBuf> = std::fs::read_dir(tmp)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("img-"))
        .collect();
    files.sort();
    assert_eq!(files.len(), listed);
    let decode = |p: &Path| -> (u32, u32, Vec<u8>) {
        let dec = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(p).unwrap()));
        let mut r = dec.read_info().unwrap();
        let mut buf = vec![0; r.output_buffer_size().unwrap()];
        let info = r.next_frame(&mut buf).unwrap();
        assert_eq!(info.color_type, png::ColorType::Rgb, "{p:?}");
        buf.truncate(info.buffer_size());
        (info.width, info.height, buf)
    };
    for f in &files {
        let (_, _, px) = decode(f);
        let n = px.len() as f64;
        let mean = px.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let var = px.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n;
        assert!(var > 100.0, "{f:?} is blank (pixel variance {var:.1})");
    }
    let input = flowcfd::report::Input::locate(out, None).unwrap();
    let pics = flowcfd::report::pictures(&input, &flowcfd::report::Options::default()).unwrap();
    assert_eq!(pics.len(), files.len(), "the PDF holds every picture");
    assert!(pics.iter().all(|p| p.image.width <= 1890), "16 cm at 300 dpi at most");
    let i = pics.iter().position(|p| p.name == "cp_front").expect("a front Cp picture");
    let (w, h, px) = decode(&files[i]);
    let pic = &pics[i];
    assert_eq!((w, h), (pic.image.width, pic.image.height));
    assert_eq!(px, pic.image.rgb, "the PDF carries the rendered pixels unchanged");
    // The cube spans -0.5..0.5 with the flow along +x: its front face's centre.
    let (x, y, _) = pic.camera.project([-0.5, 0.0, 0.0]);
    let (x, y) = (x as u32, y as u32);
    let k = 3 * (y * w + x) as usize;
    let col = pic.colouring.as_ref().unwrap();
    let (cp, dist) = col.map.value_of([px[k], px[k + 1], px[k + 2]], col.lo, col.hi);
    assert!(dist < 12.0, "the stagnation pixel is the colormap's colour (distance {dist})");
    assert!(cp > 0.8, "Cp at the stagnation point is {cp}");
}

/// With a moving ground (a vehicle), the pictures frame the body, not the tunnel floor:
/// the front Cp picture is mostly body, and the streamlines' rake lies in the domain.
#[test]
fn a_body_on_a_moving_ground_is_framed_without_the_floor() {
    require_openfoam();
    let t = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("examples/cube.toml")).unwrap();
    let stl = root().join("examples/cube.stl");
    let text = text
        .replace("geometry = \"cube.stl\"", &format!("geometry = {:?}", stl.display().to_string()))
        .replace("[flow]", "[flow]\nground = true")
        .replace("target_cells = 40000", "target_cells = 15000")
        .replace("iterations = 300", "iterations = 60");
    let toml = t.path().join("ground.toml");
    std::fs::write(&toml, text).unwrap();
    let out = t.path().join("out");
    let (ok, _, err) = run(flowcfd().arg("run").arg(&toml).arg("--out").arg(&out));
    assert!(ok, "the cube on a moving ground runs: {err}");
    let input = flowcfd::report::Input::locate(&out, None).unwrap();
    let pics = flowcfd::report::pictures(&input, &flowcfd::report::Options::default()).unwrap();
    let front = pics.iter().find(|p| p.name == "cp_front").unwrap();
    let body = front.image.rgb.chunks_exact(3).filter(|p| p.iter().any(|&c| c < 235)).count();
    let share = body as f64 / f64::from(front.image.width * front.image.height);
    assert!(share > 0.3, "the body fills {:.0} % of the front picture", share * 100.0);
    let lines = pics.iter().find(|p| p.name == "streamlines").unwrap();
    assert!(!lines.caption.starts_with("0 "), "{}", lines.caption);
    let pdf = t.path().join("ground.pdf");
    assert!(report(&out, &pdf, &[]).0);
    assert!(text_of(&pdf).contains("Forces by patch"));
}
