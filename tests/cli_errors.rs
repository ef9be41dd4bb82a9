//! Bad input gets one clear line on stderr, a non-zero exit, no panic, and nothing already
//! stored is lost.

mod common;
use common::*;
use std::path::Path;

/// Runs `flowcfd run` expecting failure; returns the error line.
fn fails(args: &[&str], dir: &Path) -> String {
    let (ok, _, err) = run(flowcfd().current_dir(dir).args(args));
    assert!(!ok, "expected failure for {args:?}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "one error line expected, got:\n{err}");
    assert!(err.lines().filter(|l| !l.starts_with("warning:")).count() <= 2, "terse output expected:\n{err}");
    lines[0].to_string()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).unwrap();
}

#[test]
fn malformed_geometry_is_explained() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    write(d, "empty.stl", b"");
    write(d, "nan.stl", b"solid x\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex 1 nan 0\nvertex 0 1 0\nendloop\nendfacet\nendsolid x\n");
    let mut bin = vec![0u8; 80];
    bin.extend_from_slice(&10u32.to_le_bytes());
    bin.extend_from_slice(&[0u8; 50 * 3]);
    write(d, "truncated.stl", &bin);
    write(d, "bad.obj", b"v 0 0 0\nv 1 0 0\nf 1 2 7\n");
    write(d, "shape.step", b"ISO-10303-21;");
    for (file, expect) in [
        ("empty.stl", "no triangles"),
        ("nan.stl", "NaN"),
        ("truncated.stl", "truncated"),
        ("bad.obj", "obj"),
        ("shape.step", "unknown surface format"),
        ("missing.stl", "could not read"),
    ] {
        let line = fails(&["run", "--geometry", file, "--out", "out"], d);
        assert!(line.to_lowercase().contains(&expect.to_lowercase()), "{file}: {line}");
        assert!(!d.join("out").exists(), "{file}: no output for rejected input");
    }
}

#[test]
fn limits_and_case_errors_are_explained() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    std::fs::copy(root().join("examples/cube.stl"), d.join("cube.stl")).unwrap();
    let line = fails(&["run", "--geometry", "cube.stl", "--max-triangles", "5", "--out", "o"], d);
    assert!(line.contains("exceeds the limit"), "{line}");

    write(d, "bc.toml", b"geometry = \"cube.stl\"\n[flow]\ntype = \"external\"\nvelocity = [10, 0, 0]\n[boundaries]\nwheel = { type = \"slip\" }\n");
    let line = fails(&["run", "bc.toml", "--out", "o"], d);
    assert!(line.contains("\"wheel\"") && line.contains("cube"), "{line}");

    write(d, "internal.toml", b"geometry = \"cube.stl\"\n[flow]\ntype = \"internal\"\nvelocity = [1, 0, 0]\n");
    let line = fails(&["run", "internal.toml", "--out", "o"], d);
    assert!(line.contains("velocity_inlet"), "{line}");

    write(
        d,
        "typo.toml",
        b"geometry = \"cube.stl\"\n[flow]\ntype = \"external\"\nvelocity = [10, 0, 0]\n[mesh]\ntarget_cels = 5\n",
    );
    let line = fails(&["run", "typo.toml", "--out", "o"], d);
    assert!(line.contains("target_cels"), "{line}");

    // An open box as an internal domain is refused; as an external body it is tried.
    let open = "solid open\n".to_string()
        + &std::fs::read_to_string(root().join("examples/cube.stl"))
            .unwrap()
            .lines()
            .skip(1)
            .take(7 * 10)
            .collect::<Vec<_>>()
            .join("\n")
        + "\nendsolid open\n";
    write(d, "open.stl", open.as_bytes());
    write(d, "open.toml", b"geometry = \"open.stl\"\n[flow]\ntype = \"internal\"\nvelocity = [1, 0, 0]\n[boundaries]\nopen = { type = \"velocity_inlet\" }\n");
    let line = fails(&["run", "open.toml", "--out", "o"], d);
    assert!(line.contains("not closed") && line.contains("internal flow"), "{line}");
    let (ok, _, err) = run(flowcfd().current_dir(d).args(["case", "--geometry", "open.stl", "--out", "o"]));
    assert!(ok && err.contains("warning: the surface is not closed"), "{err}");
}

#[test]
fn existing_results_are_never_overwritten() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    std::fs::copy(root().join("examples/cube.stl"), d.join("cube.stl")).unwrap();
    std::fs::create_dir(d.join("o")).unwrap();
    write(&d.join("o"), "summary.json", b"{\"precious\": true}");
    let line = fails(&["case", "--geometry", "cube.stl", "--out", "o"], d);
    assert!(line.contains("--force"), "{line}");
    assert_eq!(std::fs::read_to_string(d.join("o/summary.json")).unwrap(), "{\"precious\": true}");
    let (ok, _, err) = run(flowcfd().current_dir(d).args(["case", "--geometry", "cube.stl", "--force", "--out", "o"]));
    assert!(ok, "{err}");
    assert!(d.join("o/case/system/snappyHexMeshDict").exists() && !d.join("o/summary.json").exists());
}

#[test]
fn missing_openfoam_says_how_to_install_it() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    std::fs::copy(root().join("examples/cube.stl"), d.join("cube.stl")).unwrap();
    let (ok, _, err) = run(flowcfd()
        .current_dir(d)
        .env("PATH", "/nonexistent")
        .env_remove("WM_PROJECT_DIR")
        .env_remove("FLOWCFD_OPENFOAM_ENV")
        .args(["run", "--geometry", "cube.stl", "--out", "o"]));
    assert!(!ok);
    assert!(err.contains("apt-get install openfoam"), "{err}");
    assert!(!d.join("o").exists(), "nothing is written before OpenFOAM is found");
}

#[test]
fn openfoam_flavour_flag_is_checked_and_chooses_the_dictionaries() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    std::fs::copy(root().join("examples/cube.stl"), d.join("cube.stl")).unwrap();
    let case_for = |flavour: &str| {
        let args = ["case", "--geometry", "cube.stl", "--out", "o", "--openfoam-flavour", flavour];
        run(flowcfd().current_dir(d).args(args))
    };
    for (flavour, expect) in [("foundation:9", "11 and later"), ("openfoam11", "foundation:VERSION")] {
        let (ok, _, err) = case_for(flavour);
        assert!(!ok && err.contains(expect), "{flavour}: {err}");
        assert!(!d.join("o").exists());
    }
    let (ok, _, err) = case_for("foundation:11");
    assert!(ok, "{err}");
    let control = std::fs::read_to_string(d.join("o/case/system/controlDict")).unwrap();
    assert!(control.contains("application     foamRun;"), "{control}");
    assert!(
        d.join("o/case/constant/momentumTransport").exists() && d.join("o/case/system/surfaceFeaturesDict").exists()
    );
    // The case key does the same, and the flag wins over it.
    std::fs::write(
        d.join("c.toml"),
        "geometry = \"cube.stl\"\n[flow]\ntype = \"external\"\nvelocity = [10, 0, 0]\n[solver]\nopenfoam = \"foundation:12\"\n",
    )
    .unwrap();
    let (ok, _, err) = run(flowcfd().current_dir(d).args(["case", "c.toml", "--out", "k"]));
    assert!(ok, "{err}");
    assert!(std::fs::read_to_string(d.join("k/case/Allrun")).unwrap().contains("OpenFOAM 12 (Foundation"));
    let (ok, _, err) =
        run(flowcfd().current_dir(d).args(["case", "c.toml", "--out", "f", "--openfoam-flavour", "esi:2312"]));
    assert!(ok, "{err}");
    assert!(std::fs::read_to_string(d.join("f/case/system/controlDict")).unwrap().contains("simpleFoam"));
}

#[test]
fn an_openfoam_whose_flavour_cannot_be_told_is_refused_before_anything_is_written() {
    require_openfoam();
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    std::fs::copy(root().join("examples/cube.stl"), d.join("cube.stl")).unwrap();
    let dev = |cmd: &mut std::process::Command| {
        cmd.current_dir(d)
            .env("WM_PROJECT_DIR", "/usr/share/openfoam")
            .env("WM_PROJECT_VERSION", "dev")
            .env_remove("FLOWCFD_OPENFOAM_ENV")
            .env_remove("FLOWCFD_OPENFOAM_FLAVOUR");
    };
    let mut cmd = flowcfd();
    dev(&mut cmd);
    let err = fails_with(cmd.args(["run", "--geometry", "cube.stl", "--out", "o"]));
    assert!(err.contains("WM_PROJECT_VERSION=\"dev\"") && err.contains("--openfoam-flavour"), "{err}");
    assert!(!d.join("o").exists(), "nothing is written");
    // `flowcfd case` writes for ESI v2312 then, and says so.
    let mut cmd = flowcfd();
    dev(&mut cmd);
    let (ok, _, err) = run(cmd.args(["case", "--geometry", "cube.stl", "--out", "c"]));
    assert!(ok && err.contains("writing the case for OpenFOAM v2312"), "{err}");
}

fn fails_with(cmd: &mut std::process::Command) -> String {
    let (ok, _, err) = run(cmd);
    assert!(!ok, "expected failure");
    err.lines().find(|l| l.starts_with("error:")).unwrap_or_else(|| panic!("no error line in {err}")).to_string()
}

#[test]
fn a_reader_that_goes_away_ends_the_output_quietly() {
    // `flowcfd mesh-ai voxelize ... | head -c 10`: the reader closes the pipe before the
    // line is written. The command ends as a Unix filter does (SIGPIPE), never with a panic.
    use std::io::Read as _;
    let car = root().join("tests/fixtures/meshai/car.stl");
    let mut child = flowcfd()
        .args(["mesh-ai", "voxelize", "--geometry"])
        .arg(&car)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    let status = child.wait().unwrap();
    assert!(!err.contains("panicked"), "{err}");
    use std::os::unix::process::ExitStatusExt as _;
    assert!(status.success() || status.signal() == Some(libc::SIGPIPE), "{status:?}: {err}");
}
