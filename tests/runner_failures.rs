//! Failing OpenFOAM steps are named and their log lines quoted; no process survives.

mod common;
use common::{flowcfd, require_openfoam, root as root_dir};
use flowcfd::foam::case::{self, Step};
use flowcfd::foam::spec::CaseSpec;
use flowcfd::runner::openfoam;
use flowcfd::runner::pipeline;
use flowcfd::runner::steps::{self as local, Quiet, RunError, RunOptions};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// The cube example at a 5000-cell budget, prepared (read, healed, planned).
fn cube_prepared() -> pipeline::Prepared {
    let text = std::fs::read_to_string(root_dir().join("examples/cube.toml")).unwrap();
    let mut spec = CaseSpec::from_toml(&text, "cube.toml").unwrap();
    spec.mesh.target_cells = 5000;
    pipeline::prepare(spec, &root_dir().join("examples/cube.stl"), &Default::default()).unwrap()
}

/// The prepared cube, its case written into a new result directory `root`.
fn staged_cube(root: &Path) -> (pipeline::Prepared, pipeline::OutDir) {
    let p = cube_prepared();
    let out = pipeline::OutDir::claim(root, false).unwrap();
    case::write(&p.case, &out.case_dir()).unwrap();
    (p, out)
}

fn cube_case(dir: &Path) -> case::Case {
    let p = cube_prepared();
    case::write(&p.case, dir).unwrap();
    p.case
}

fn app(name: &'static str, args: &[&str]) -> Step {
    Step::App { app: name, args: args.iter().map(|s| s.to_string()).collect(), parallel: false, meshing: true }
}

fn run_steps(dir: &Path, steps: &[Step], timeout: Duration) -> Result<local::RunReport, RunError> {
    let env = openfoam::detect(None).unwrap();
    let opts = RunOptions { cores: 1, step_timeout: timeout };
    local::run(dir, steps, &env, &opts, &mut Quiet, &AtomicBool::new(false))
}

#[test]
fn snappy_failure_names_the_step_and_quotes_the_log() {
    require_openfoam();
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("case");
    cube_case(&dir);
    // Break the dictionary the way a hand edit might: locationInMesh removed.
    let path = dir.join("system/snappyHexMeshDict");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.lines().filter(|l| !l.contains("locationInMesh")).collect::<Vec<_>>().join("\n"))
        .unwrap();
    let err = run_steps(
        &dir,
        &[app("blockMesh", &[]), app("surfaceFeatureExtract", &[]), app("snappyHexMesh", &["-overwrite"])],
        Duration::from_secs(300),
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, RunError::Failed { ref step, .. } if step == "snappyHexMesh"), "{msg}");
    // v1912 meshes nothing without locationInMesh and aborts; the quote carries the reason.
    assert!(
        msg.contains("locationInMesh") || msg.contains("no points or no cells"),
        "quoted log lines expected: {msg}"
    );
    assert!(msg.lines().count() >= 3, "{msg}");
}

#[test]
fn solver_failure_names_the_step_and_quotes_the_log() {
    require_openfoam();
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("case");
    cube_case(&dir);
    std::fs::remove_file(dir.join("0.orig/omega")).unwrap();
    let err =
        run_steps(&dir, &[app("blockMesh", &[]), Step::Restore0, app("simpleFoam", &[])], Duration::from_secs(300))
            .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, RunError::Failed { ref step, .. } if step == "simpleFoam"), "{msg}");
    assert!(msg.contains("FOAM FATAL") || msg.contains("omega"), "{msg}");
}

#[test]
fn timeout_kills_the_whole_process_group() {
    require_openfoam();
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("case");
    cube_case(&dir);
    let err = run_steps(
        &dir,
        &[app("blockMesh", &[]), app("surfaceFeatureExtract", &[]), app("snappyHexMesh", &["-overwrite"])],
        Duration::from_millis(300),
    )
    .unwrap_err();
    assert!(matches!(err, RunError::Timeout { .. }), "{err}");
    // No process of this case may survive the kill.
    std::thread::sleep(Duration::from_millis(200));
    let survivors: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| std::fs::read_link(e.path().join("cwd")).is_ok_and(|cwd| cwd == dir))
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    assert!(survivors.is_empty(), "orphans: {survivors:?}");
}

#[test]
fn divergence_stops_the_solver_with_a_reason() {
    require_openfoam();
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("case");
    cube_case(&dir);
    // Over-relaxation makes SIMPLE blow up within a few iterations.
    let path = dir.join("system/fvSolution");
    let text = std::fs::read_to_string(&path).unwrap().replace("U               0.9;", "U               1.6;");
    std::fs::write(&path, text).unwrap();
    let err =
        run_steps(&dir, &[app("blockMesh", &[]), Step::Restore0, app("simpleFoam", &[])], Duration::from_secs(300))
            .unwrap_err();
    assert!(matches!(err, RunError::Diverged { ref step, .. } if step == "simpleFoam"), "{err}");
}

#[test]
fn a_failed_forced_rerun_keeps_the_earlier_result() {
    require_openfoam();
    use flowcfd::runner::pipeline::OutDir;
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("out");
    std::fs::create_dir_all(root.join("case")).unwrap();
    std::fs::write(root.join("summary.json"), "{\"earlier\": true}").unwrap();
    let p = cube_prepared();
    let out = OutDir::claim(&root, true).unwrap();
    case::write(&p.case, &out.case_dir()).unwrap();
    std::fs::remove_file(out.case_dir().join("0.orig/U")).unwrap();
    let env = openfoam::detect(None).unwrap();
    let err = pipeline::run(&p, &out, &env, &mut Quiet, &AtomicBool::new(false)).unwrap_err();
    assert!(err.to_string().contains("failed"), "{err}");
    assert_eq!(std::fs::read_to_string(root.join("summary.json")).unwrap(), "{\"earlier\": true}");
    let failure: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("failed/failure.json")).unwrap()).unwrap();
    assert_eq!(failure["step"], "potentialFoam");
    assert!(root.join("failed/case/log.potentialFoam").exists());
    assert!(!root.join(".partial").exists());
}

#[test]
fn ctrl_c_stops_the_run_and_leaves_no_process() {
    require_openfoam();
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("out");
    let mut child =
        flowcfd().arg("run").arg(root_dir().join("examples/cube.toml")).arg("--out").arg(&root).spawn().unwrap();
    let case = root.join(".partial/case");
    let t0 = std::time::Instant::now();
    while !case.join("log.snappyHexMesh").exists() {
        assert!(t0.elapsed() < Duration::from_secs(120), "snappyHexMesh never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert!(!status.success());
    let failure: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("failure.json")).unwrap()).unwrap();
    assert!(failure["error"].as_str().unwrap().contains("cancelled"), "{failure}");
    let survivors: Vec<_> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| std::fs::read_link(e.path().join("cwd")).is_ok_and(|cwd| cwd.starts_with(&root)))
        .collect();
    assert!(survivors.is_empty(), "{} processes survived", survivors.len());
}

#[test]
fn a_stop_request_during_meshing_ends_the_run_with_what_it_has() {
    require_openfoam();
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("out");
    let (p, out) = staged_cube(&root);
    // The request comes while snappyHexMesh runs: that step is stopped, the rest skipped.
    let case_dir = out.case_dir();
    let asker = std::thread::spawn(move || {
        for _ in 0..3000 {
            if case_dir.join("log.snappyHexMesh").exists() {
                std::fs::write(case_dir.join("flowcfd.stop"), "quota reached\n").unwrap();
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    });
    let env = openfoam::detect(None).unwrap();
    let summary = pipeline::run(&p, &out, &env, &mut Quiet, &AtomicBool::new(false)).unwrap();
    assert!(asker.join().unwrap(), "snappyHexMesh started");
    assert_eq!(summary["stopped"]["reason"], "quota reached", "{summary}");
    let step = summary["stopped"]["step"].as_str().unwrap();
    assert!(["snappyHexMesh", "checkMesh", "restore0", "potentialFoam"].contains(&step), "{step}");
    assert_eq!(summary["solve"]["iterations"], 0, "the solver never ran");
    assert!(!root.join("case/log.simpleFoam").exists() && root.join("case/log.snappyHexMesh").exists());
    assert!(!root.join("case/flowcfd.stop").exists(), "the request is not left in the case");
    assert!(common::processes_under(t.path()).is_empty());
}

#[test]
fn a_diverged_steady_solve_restarts_with_first_order_numerics_and_says_so() {
    require_openfoam();
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("out");
    let (p, out) = staged_cube(&root);
    // Over-relaxation (a hand edit, as in the test above) makes the first attempt blow up.
    let path = out.case_dir().join("system/fvSolution");
    let text = std::fs::read_to_string(&path).unwrap().replace("U               0.9;", "U               1.6;");
    std::fs::write(&path, text).unwrap();
    let env = openfoam::detect(None).unwrap();
    let summary = pipeline::run(&p, &out, &env, &mut Quiet, &AtomicBool::new(false)).unwrap();
    let first = summary["solve"]["recovered_from"].as_str().expect("the first attempt's divergence is recorded");
    assert!(first.contains("iteration"), "{first}");
    assert!(summary["solve"]["iterations"].as_u64().unwrap() > 10, "{summary}");
    let cd = summary["forces"]["Cd"].as_f64().expect("forces after the restart");
    assert!(cd.is_finite() && cd > 0.3 && cd < 3.0, "Cd {cd}");
    let warnings = summary["warnings"].to_string();
    assert!(warnings.contains("diverged") && warnings.contains("first-order"), "{warnings}");
    let case_dir = root.join("case");
    assert!(case_dir.join("log.simpleFoam.diverged").exists() && case_dir.join("log.simpleFoam").exists());
    let schemes = std::fs::read_to_string(case_dir.join("system/fvSchemes")).unwrap();
    assert!(schemes.contains("div(phi,U)") && !schemes.contains("linearUpwindV"), "{schemes}");
    let solution = std::fs::read_to_string(case_dir.join("system/fvSolution")).unwrap();
    assert!(solution.contains("consistent      false") && solution.contains("0.5"), "{solution}");
}
