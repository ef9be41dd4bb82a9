//! Each turbulence model beside k-ω SST runs the cube example through `flowcfd run` for 100
//! iterations on a ~13k-cell mesh (the rules' mesh at a 15k budget) without diverging: the
//! solver finishes, every residual is finite and has fallen, Cd is a cube's, and `bounding`
//! (a turbulence field clipped at zero) happens at most in the first iterations.
//!
//! The models run one after another, each in a few seconds on two cores.

mod common;
use common::*;
use std::path::Path;

/// Runs the cube with `model` (and extra TOML lines) for 100 iterations; returns the summary
/// and the solver log.
fn run_cube(dir: &Path, model: &str, turbulence: &str, extra: &str) -> (serde_json::Value, String) {
    let stl = root().join("examples/cube.stl");
    let toml = format!(
        "geometry = {stl:?}\n[flow]\ntype = \"external\"\nvelocity = [10.0, 0.0, 0.0]\n[turbulence]\nmodel = \"{model}\"\n{turbulence}[mesh]\ntarget_cells = 15000\n[solver]\niterations = 100\ncores = 1\n{extra}"
    );
    let case_file = dir.join(format!("{model}.toml"));
    std::fs::write(&case_file, toml).unwrap();
    let out = dir.join(model);
    let t0 = std::time::Instant::now();
    let (ok, stdout, stderr) =
        run(flowcfd().arg("run").arg(&case_file).args(["--mesh-params", "rules", "--out"]).arg(&out));
    assert!(ok, "{model}: flowcfd run failed:\n{stdout}\n{stderr}");
    eprintln!("{model}: {:.1} s", t0.elapsed().as_secs_f64());
    let log = std::fs::read_to_string(out.join("case/log.simpleFoam")).expect("the solver's log");
    (summary(&out), log)
}

/// The solver ran its 100 iterations, ended normally, and Cd is a cube's.
fn check_finished(model: &str, s: &serde_json::Value, log: &str) {
    assert_eq!(s["solve"]["iterations"].as_u64(), Some(100), "{model}: {}", s["solve"]);
    assert!(log.contains("\nEnd"), "{model}: the solver did not end normally");
    // A sharp-edged cube face-on: Cd ≈ 1.05 (experiment); RANS on this coarse mesh lands
    // 1.2-1.3 after 100 iterations for every model.
    let cd = s["forces"]["Cd"].as_f64().unwrap();
    assert!((0.9..1.6).contains(&cd), "{model}: Cd {cd} implausible for a cube");
}

fn check(model: &str, fields: &[&str], s: &serde_json::Value, log: &str) {
    check_finished(model, s, log);
    let solve = &s["solve"];
    let initial = solve["initial_residuals"].as_object().unwrap();
    let last = solve["final_residuals"].as_object().unwrap();
    for f in fields {
        assert!(initial.contains_key(*f) && last.contains_key(*f), "{model}: no residual for {f}: {solve}");
    }
    for (f, r) in last {
        let r = r.as_f64().unwrap();
        assert!(r.is_finite() && r < 0.1, "{model}: {f} residual {r} after 100 iterations");
        let dropped = solve["orders_dropped"][f].as_f64().unwrap();
        assert!(dropped > 0.5, "{model}: {f} dropped only {dropped:.2} orders");
    }
    assert!(last["p"].as_f64().unwrap() < 0.05, "{model}: p residual {}", last["p"]);
    // Bounding: a few clips while the start-up settles are normal, none later.
    let mut iteration = 0;
    let mut late = vec![];
    let mut count = 0;
    for line in log.lines() {
        if let Some(t) = line.strip_prefix("Time = ") {
            iteration = t.trim().parse().unwrap_or(iteration);
        } else if line.starts_with("bounding ") {
            count += 1;
            if iteration > 20 {
                late.push(format!("{iteration}: {line}"));
            }
        }
    }
    assert!(count <= 5 && late.is_empty(), "{model}: {count} bounding lines, after start-up: {late:?}");
    // The inlet values of every model and the wall treatment chosen are in the summary.
    for key in ["k", "omega", "epsilon", "nut", "nuTilda"] {
        assert!(solve["inlet_turbulence"][key].as_f64().is_some_and(|x| x > 0.0), "{model}: inlet {key}");
    }
    assert_eq!(solve["wall_treatment"], "wall_functions", "{model}: y+ 50 layers get wall functions");
}

#[test]
fn each_turbulence_model_runs_the_cube() {
    require_openfoam();
    let tmp = tempfile::tempdir().unwrap();
    let (s, log) = run_cube(tmp.path(), "realizableKE", "", "");
    check("realizableKE", &["k", "epsilon"], &s, &log);
    assert!(log.contains("Selecting RAS turbulence model realizableKE"));
    let (s, log) = run_cube(tmp.path(), "SpalartAllmaras", "", "");
    check("SpalartAllmaras", &["nuTilda"], &s, &log);
    assert!(log.contains("Selecting RAS turbulence model SpalartAllmaras"));
    // Standard k-ε lacks realizable k-ε's limiter on the eddy viscosity, so the stagnation
    // face of a bluff body over-produces k: at the default relaxation (0.7) ε is clipped from
    // 3e11 in the first iterations and Cd is still 2.9 after 100. Relaxing k and ε to 0.5,
    // as the README advises for this model on bluff bodies, settles it like the others.
    let (s, log) = run_cube(tmp.path(), "kEpsilon", "", "[solver.relaxation]\nU = 0.9\nk = 0.5\nepsilon = 0.5\n");
    check("kEpsilon", &["k", "epsilon"], &s, &log);
    assert!(log.contains("Selecting RAS turbulence model kEpsilon"));
    // A resolved wall asked for: the low-Re conditions are written and run; this coarse
    // mesh's five layers cannot reach y+ 1, and the summary says so.
    let (s, log) = run_cube(tmp.path(), "kOmegaSST", "wall_treatment = \"low_re\"\n", "");
    assert_eq!(s["solve"]["wall_treatment"], "low_re");
    check_finished("kOmegaSST low-Re", &s, &log);
    let nut = std::fs::read_to_string(tmp.path().join("kOmegaSST/case/0.orig/nut")).unwrap();
    assert!(nut.contains("nutLowReWallFunction"), "{nut}");
    let warnings = s["warnings"].to_string();
    assert!(warnings.contains("low-Re") && warnings.contains("mesh.layers.count"), "{warnings}");
}
