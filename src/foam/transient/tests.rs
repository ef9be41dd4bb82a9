//! Tests of the transient dictionaries and checks.
use super::*;
use crate::foam::dict::write_entries_string;
use crate::foam::physics;

fn spec(extra: &str) -> CaseSpec {
    CaseSpec::from_toml(
        &format!("[flow]\ntype = \"external\"\nvelocity = [10, 0, 0]\n[solver]\ntype = \"transient\"\nend_time = 2.0\n{extra}"),
        "t",
    )
    .unwrap()
}

fn plan() -> MeshPlan {
    let s = crate::geometry::primitives::cuboid([0.0; 3], [1.0, 1.0, 1.0], "box");
    let sp = spec("");
    let a = crate::geometry::analyse::analyse(&s, sp.flow.velocity);
    crate::foam::rules::suggest(&sp, &a, a.area)
}

fn invalid(extra: &str) -> String {
    let text = format!("[flow]\ntype = \"external\"\nvelocity = [10, 0, 0]\n[solver]\ntype = \"transient\"\n{extra}");
    CaseSpec::from_toml(&text, "t").unwrap_err().to_string()
}

#[test]
fn bad_transient_keys_name_the_key_and_the_fix() {
    assert!(invalid("").contains("needs solver.end_time"), "{}", invalid(""));
    assert!(invalid("end_time = -1").contains("solver.end_time = -1"));
    assert!(invalid("end_time = 1\nmax_co = 6").contains("solver.max_co = 6 must be in (0, 5]"));
    assert!(invalid("end_time = 1\nmax_co = 0").contains("solver.max_co"));
    let e = invalid("end_time = 1\nmax_co = 3");
    assert!(e.contains("solver.outer_correctors to 2 or more"), "{e}");
    assert!(CaseSpec::from_toml(
        "[flow]\ntype = \"external\"\nvelocity = [10, 0, 0]\n[solver]\ntype = \"transient\"\nend_time = 1\nmax_co = 3\nouter_correctors = 3\n",
        "t"
    )
    .is_ok());
    for key in ["write_interval", "average_from", "delta_t"] {
        let e = invalid(&format!("end_time = 1\n{key} = 2"));
        assert!(e.contains(&format!("solver.{key} = 2 must be in (0, end_time = 1]")), "{e}");
        assert!(invalid(&format!("end_time = 1\n{key} = 0")).contains(&format!("solver.{key}")));
    }
    // A steady spec ignores the transient keys.
    assert!(
        CaseSpec::from_toml("[flow]\ntype = \"external\"\nvelocity = [10, 0, 0]\n[solver]\nmax_co = 9\n", "t").is_ok()
    );
}

#[test]
fn the_first_step_keeps_the_courant_number_at_half_the_limit() {
    let p = plan();
    let t = time_controls(&spec(""), &p).unwrap();
    let co = t.delta_t * 10.0 / smallest_cell(&p);
    assert!(co <= 0.5 && co > 0.4, "Co {co} with dt {}", t.delta_t);
    assert_eq!((t.write_interval, t.average_from, t.max_delta_t), (0.2, 1.0, 0.04));
    let t = time_controls(&spec("delta_t = 0.001\nwrite_interval = 0.5\naverage_from = 0.25"), &p).unwrap();
    assert_eq!((t.delta_t, t.write_interval, t.average_from), (0.001, 0.5, 0.25));
    assert!(time_controls(
        &CaseSpec::from_toml("[flow]\ntype = \"external\"\nvelocity = [1, 0, 0]\n", "t").unwrap(),
        &p
    )
    .is_none());
}

#[test]
fn the_dictionaries_become_pimple_ones() {
    let s = spec("outer_correctors = 1");
    let esi = Flavour::default();
    let r = physics::Reference {
        aref: 1.0,
        lref: 1.0,
        mag_u_inf: 10.0,
        cofr: [0.0; 3],
        drag_dir: [1.0, 0.0, 0.0],
        lift_dir: [0.0, 0.0, 1.0],
        pitch_axis: [0.0, 1.0, 0.0],
        patches: vec!["box".into()],
    };
    let c = write_entries_string(&control_dict(physics::control_dict(&s, &r, esi), &s, &plan(), esi)).unwrap();
    for want in [
        "application     pimpleFoam;",
        "startFrom       latestTime;",
        "endTime         2;",
        "writeControl    adjustableRunTime;",
        "adjustTimeStep  true;",
        "maxCo           1;",
        "fieldAverage1",
        "timeStart       1;",
        "prime2Mean      true;",
    ] {
        assert!(c.contains(want), "{want} missing in\n{c}");
    }
    let sch = write_entries_string(&fv_schemes(physics::fv_schemes(&s), &s)).unwrap();
    assert!(sch.contains("default         backward;") && !sch.contains("bounded"), "{sch}");
    let sol = write_entries_string(&fv_solution(physics::fv_solution(&s, esi), &s)).unwrap();
    assert!(sol.contains("PIMPLE") && !sol.contains("SIMPLE"), "{sol}");
    assert!(sol.contains("nOuterCorrectors 1;") && sol.contains("nCorrectors     2;"), "{sol}");
    for f in ["pFinal", "UFinal", "kFinal", "omegaFinal"] {
        assert!(sol.contains(f), "{f} missing in\n{sol}");
    }
    // One outer corrector: no relaxation at all.
    assert!(!sol.contains("0.9"), "{sol}");
    let s3 = spec("outer_correctors = 3\nmax_co = 3");
    let sol = write_entries_string(&fv_solution(physics::fv_solution(&s3, esi), &s3)).unwrap();
    assert!(sol.contains("UFinal          1;") && sol.contains("pFinal          1;"), "{sol}");
    // A steady spec's dictionaries pass through unchanged.
    let steady = CaseSpec::from_toml("[flow]\ntype = \"external\"\nvelocity = [10, 0, 0]\n", "t").unwrap();
    assert_eq!(fv_schemes(physics::fv_schemes(&steady), &steady), physics::fv_schemes(&steady));
    assert_eq!(fv_solution(physics::fv_solution(&steady, esi), &steady), physics::fv_solution(&steady, esi));
}

#[test]
fn the_latest_written_time_is_found_and_resume_skips_meshing() {
    let dir = std::env::temp_dir().join(format!("flowcfd-latest-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (t, complete) in [("0", true), ("0.1", true), ("0.25", true), ("0.3", false)] {
        std::fs::create_dir_all(dir.join(t)).unwrap();
        std::fs::write(dir.join(t).join("U"), "").unwrap();
        if complete {
            std::fs::write(dir.join(t).join("p"), "").unwrap();
        }
    }
    assert_eq!(latest_time(&dir).map(|(t, _)| t), Some(0.25));
    let esi = Flavour::default();
    let names = |s: Vec<Step>| s.iter().map(|s| s.name()).collect::<Vec<_>>();
    let steps = crate::foam::case::steps(4, false, esi, SolverKind::Transient);
    assert_eq!(names(resume_steps(&steps, &dir)), ["decomposePar", "pimpleFoam", "reconstructPar"]);
    std::fs::create_dir_all(dir.join("processor0")).unwrap();
    assert_eq!(names(resume_steps(&steps, &dir)), ["pimpleFoam", "reconstructPar"]);
    let serial = crate::foam::case::steps(1, false, esi, SolverKind::Transient);
    assert_eq!(names(resume_steps(&serial, &dir)), ["pimpleFoam"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn openfoam_spellings_of_the_time_keys_are_accepted() {
    let text = "[flow]\ntype = \"external\"\nvelocity = [10, 0, 0]\n[solver]\ntype = \"transient\"\n\
                endTime = 3.0\nmaxCo = 2.0\nnOuterCorrectors = 2\nwriteInterval = 0.5\ndeltaT = 1e-3\n";
    let s = CaseSpec::from_toml(text, "t").unwrap();
    assert_eq!(s.solver.end_time, Some(3.0));
    assert_eq!(s.solver.max_co, 2.0);
    assert_eq!(s.solver.outer_correctors, 2);
    assert_eq!(s.solver.write_interval, Some(0.5));
    assert_eq!(s.solver.delta_t, Some(1e-3));
}
