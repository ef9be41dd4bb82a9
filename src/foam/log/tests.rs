//! Tests against real OpenFOAM v1912 logs in `tests/fixtures/logs/` (values read off by eye)
//! plus synthetic divergence input.

use super::*;
use proptest::prelude::*;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/logs/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn parse_all(bytes: &[u8]) -> Vec<LogEvent> {
    let mut p = LogParser::new();
    let mut ev = p.feed(bytes);
    ev.extend(p.finish());
    ev
}

fn parse_chunked(bytes: &[u8], sizes: &[usize]) -> Vec<LogEvent> {
    let mut p = LogParser::new();
    let mut ev = Vec::new();
    let mut rest = bytes;
    let mut i = 0;
    while !rest.is_empty() {
        let n = sizes[i % sizes.len()].min(rest.len());
        ev.extend(p.feed(&rest[..n]));
        rest = &rest[n..];
        i += 1;
    }
    ev.extend(p.finish());
    ev
}

fn progress_of(events: &[LogEvent]) -> SolverProgress {
    let mut pr = SolverProgress::new(DivergenceOptions::default());
    for e in events {
        pr.apply(e);
    }
    pr
}

fn residuals(events: &[LogEvent], name: &str) -> Vec<(f64, f64, u32)> {
    events
        .iter()
        .filter_map(|e| match e {
            LogEvent::Residual { field, initial, final_, iterations } if field == name => {
                Some((*initial, *final_, *iterations))
            }
            _ => None,
        })
        .collect()
}

fn forces(events: &[LogEvent]) -> Vec<ForceCoeffSample> {
    events
        .iter()
        .filter_map(|e| match e {
            LogEvent::ForceCoeffs(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-300)
}

const ALL_FIXTURES: &[&str] = &[
    "simpleFoam.log",
    "checkMesh.log",
    "checkMesh_failed.log",
    "snappyHexMesh.log",
    "fatal.log",
    "fatal_io.log",
    "fpe.log",
];

#[test]
fn simple_foam_log() {
    let ev = parse_all(&fixture("simpleFoam.log"));
    let times: Vec<f64> =
        ev.iter().filter_map(|e| if let LogEvent::Time { time } = e { Some(*time) } else { None }).collect();
    // Kept iterations 1-8, 319-323, 377-381; "Time   : 11:25:52" in the banner is not a Time.
    assert_eq!(times.len(), 18);
    assert_eq!((times[0], times[8], times[17]), (1.0, 319.0, 381.0));

    let ux = residuals(&ev, "Ux");
    assert_eq!(ux.len(), 18);
    assert_eq!(ux[0], (1.0, 0.0135115, 1));
    assert_eq!(ux[17], (0.000141675, 1.31368e-05, 5));
    let p = residuals(&ev, "p");
    assert_eq!(p[0], (1.0, 0.0684239, 17));
    assert_eq!(p[17], (0.00133548, 0.000119821, 4));
    assert_eq!(residuals(&ev, "omega")[0], (0.140004, 0.0077129, 3));
    assert_eq!(residuals(&ev, "k").last(), Some(&(0.000188571, 1.22855e-05, 3)));

    let bounding: Vec<_> = ev.iter().filter(|e| matches!(e, LogEvent::Bounding { .. })).collect();
    assert_eq!(bounding.len(), 3);
    assert_eq!(bounding[0], &LogEvent::Bounding { field: "omega".into(), min: -3732.05, max: 114770.0 });

    let exec: Vec<_> = ev.iter().filter(|e| matches!(e, LogEvent::ExecutionTime { .. })).collect();
    assert_eq!(exec.len(), 18);
    assert_eq!(exec[0], &LogEvent::ExecutionTime { execution_s: 0.14, clock_s: 0.0 });
    assert_eq!(exec[17], &LogEvent::ExecutionTime { execution_s: 10.7, clock_s: 11.0 });

    assert!(ev.contains(&LogEvent::Converged { iterations: 381 }));
    assert_eq!(ev.last(), Some(&LogEvent::End));
    assert!(!ev.iter().any(|e| matches!(
        e,
        LogEvent::FloatingPointException { .. } | LogEvent::FatalError { .. } | LogEvent::CheckMesh(_)
    )));

    // One event per write block; the setup block ("rho: rhoInf") yields none.
    let f = forces(&ev);
    assert_eq!(f.len(), 18);
    assert_eq!(f[0].cd, Some(-0.793524));
    assert_eq!(f[0].cs, Some(-1.01196e-19));
    assert_eq!(f[0].cl, Some(-5.95018));
    assert_eq!(f[0].cm_roll, Some(-4.61027e-21));
    assert_eq!(f[0].cm_pitch, Some(1.71666));
    assert_eq!(f[0].cm_yaw, Some(-1.06837e-19));
    assert_eq!(f[0].cd_f, Some(-0.396762));
    assert_eq!(f[0].cl_r, Some(-4.69175));
    assert_eq!(f[17].cd, Some(0.0177985));
    assert_eq!(f[17].cl, Some(-0.0115714));
    assert_eq!(f[17].cl_f, Some(0.0374927));
    // The last block follows "SIMPLE solution converged" and ends only at "End".
    let conv = ev.iter().position(|e| matches!(e, LogEvent::Converged { .. })).unwrap();
    assert!(matches!(ev[conv + 1], LogEvent::ForceCoeffs(_)));
}

#[test]
fn simple_foam_progress() {
    let ev = parse_all(&fixture("simpleFoam.log"));
    let pr = progress_of(&ev);
    assert_eq!(pr.iteration, 18);
    assert_eq!(pr.time, 381.0);
    assert!(pr.converged && pr.ended);
    assert_eq!(pr.divergence(), None);
    assert_eq!(pr.residuals.len(), 18);
    let fields: Vec<&str> = pr.residuals[0].keys().map(String::as_str).collect();
    assert_eq!(fields, ["Ux", "Uy", "k", "omega", "p"]);
    assert_eq!(pr.first_residuals()["omega"], 0.140004);
    assert_eq!(pr.latest_residuals()["p"], 0.00133548);
    let dropped = pr.orders_dropped();
    assert!(close(dropped["Ux"], (1.0f64 / 0.000141675).log10()), "{dropped:?}");
    assert!(dropped.values().all(|d| *d > 2.0), "{dropped:?}");
    assert_eq!(pr.forces.len(), 18);
    assert_eq!(pr.forces[0].0, 1.0);
    assert_eq!(pr.forces[17].0, 381.0);
    assert_eq!(pr.forces[17].1.cd, Some(0.0177985));
    // Last 10 % of 18 samples = 2 samples (380, 381).
    let mean = pr.mean_forces(0.1).unwrap();
    assert!(close(mean.cd.unwrap(), (0.0177846 + 0.0177985) / 2.0));
    assert_eq!(pr.mean_forces(0.0).unwrap().cd, Some(0.0177985));
    assert_eq!((pr.execution_s, pr.clock_s), (10.7, 11.0));
    // Bounding at iterations 1, 5 and 321 only; no current streak at the end.
    assert_eq!(pr.bounding_streak, 0);
}

#[test]
fn coefficient_dat() {
    let text = String::from_utf8(fixture("coefficient.dat")).unwrap();
    let rows = parse_coefficient_dat(&text);
    assert_eq!(rows.len(), 35);
    assert_eq!(rows[0].0, 1.0);
    assert_eq!(rows[0].1.cd, Some(-7.935237e-01));
    assert_eq!(rows[0].1.cs, Some(-1.011960e-19));
    assert_eq!(rows[0].1.cl, Some(-5.950176e+00));
    assert_eq!(rows[0].1.cm_pitch, Some(1.716663e+00));
    assert_eq!(rows[0].1.cl_r, Some(-4.691751e+00));
    let (t, last) = rows.last().unwrap();
    assert_eq!(*t, 381.0);
    assert_eq!(last.cd, Some(1.779848e-02));
    assert_eq!(last.cm_yaw, Some(-2.847018e-21));
    assert_eq!(last.cl_r, Some(-4.906408e-02));
    // The log prints the same numbers at 6 significant digits.
    let log_cd = forces(&parse_all(&fixture("simpleFoam.log")))[17].cd.unwrap();
    assert!((log_cd - last.cd.unwrap()).abs() < 1e-7);
}

#[test]
fn coefficient_dat_column_order_from_header() {
    let text = "# Time Cl Cd Cm\n0.5 1.5 0.25 -0.1\nbad row\n1 2 0.5 -0.2\n";
    let rows = parse_coefficient_dat(text);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].0, 1.0);
    assert_eq!((rows[1].1.cl, rows[1].1.cd, rows[1].1.cm_pitch), (Some(2.0), Some(0.5), Some(-0.2)));
    assert_eq!(rows[1].1.cs, None);
}

fn check_mesh_reports(name: &str) -> Vec<CheckMeshReport> {
    parse_all(&fixture(name))
        .into_iter()
        .filter_map(|e| if let LogEvent::CheckMesh(r) = e { Some(r) } else { None })
        .collect()
}

#[test]
fn check_mesh_ok() {
    let r = check_mesh_reports("checkMesh.log");
    assert_eq!(r.len(), 1);
    let r = &r[0];
    assert!(r.ok);
    assert_eq!((r.cells, r.faces, r.points), (12225, 49180, 25012));
    assert_eq!(r.max_non_orthogonality, 5.95045);
    assert_eq!(r.max_skewness, 0.260575);
    assert_eq!(r.max_aspect_ratio, 8.1407);
    assert!(r.failed_checks.is_empty());
}

#[test]
fn check_mesh_failed() {
    let r = check_mesh_reports("checkMesh_failed.log");
    assert_eq!(r.len(), 1);
    let r = &r[0];
    assert!(!r.ok);
    assert_eq!((r.cells, r.faces, r.points), (22, 101, 74));
    assert_eq!(r.max_non_orthogonality, 82.875);
    assert_eq!(r.max_skewness, 8.0);
    assert_eq!(r.max_aspect_ratio, 6000.0);
    // "Failed 3 mesh checks."
    assert_eq!(r.failed_checks.len(), 3);
    assert_eq!(r.failed_checks[0], "High aspect ratio cells found, Max aspect ratio: 6000, number of cells 6");
    assert!(r.failed_checks[1].starts_with("Max skewness = 8, 8 highly skew faces"));
    assert!(r.failed_checks[2].starts_with("Cells with small determinant"));
}

#[test]
fn snappy_layers() {
    let ev = parse_all(&fixture("snappyHexMesh.log"));
    let reports: Vec<&LayerReport> =
        ev.iter().filter_map(|e| if let LogEvent::Layers(r) = e { Some(r) } else { None }).collect();
    // The earlier target table ("avg thickness[m] near-wall overall") is not reported.
    assert_eq!(reports.len(), 1);
    let p = &reports[0].patches;
    let row = |name: &str, faces, layers, thickness_m, thickness_pct| LayerPatch {
        name: name.into(),
        faces,
        layers,
        thickness_m,
        thickness_pct,
    };
    assert_eq!(
        p,
        &vec![
            row("igloo", 1276, 1.0, 0.124, 99.1),
            row("twoFridgeFreezers_seal_0", 800, 2.1, 0.0882, 63.6),
            row("twoFridgeFreezers_herring_1", 592, 2.1, 0.112, 65.9),
        ]
    );
    let r = reports[0];
    let all = r.coverage(3, None);
    assert!(close(all, (1276.0 / 3.0 + 800.0 * 0.7 + 592.0 * 0.7) / 2668.0), "{all}");
    let fridges = ["twoFridgeFreezers_seal_0".to_string(), "twoFridgeFreezers_herring_1".to_string()];
    assert!(close(r.coverage(3, Some(&fridges)), 0.7));
    assert_eq!(r.coverage(1, Some(&["igloo".to_string()])), 1.0);
    assert_eq!(r.coverage(3, Some(&["nope".to_string()])), 0.0);
    assert_eq!(r.coverage(0, None), 1.0);
    assert_eq!(ev.last(), Some(&LogEvent::End));
    // Mesh-motion solves are residual lines too, but no Time precedes them.
    assert_eq!(residuals(&ev, "cellDisplacementx").len(), 2);
    assert!(!ev.iter().any(|e| matches!(e, LogEvent::Time { .. })));
}

#[test]
fn fatal_error() {
    let ev = parse_all(&fixture("fatal.log"));
    let LogEvent::FatalError { message } = ev.last().unwrap() else { panic!("{ev:?}") };
    let lines: Vec<&str> = message.lines().collect();
    assert_eq!(lines.len(), 3, "{message}");
    assert_eq!(lines[0], "cannot find file \"/tmp/of/fatal/0/omega\"");
    assert!(lines[1].starts_with("From function virtual Foam::autoPtr<Foam::ISstream>"));
    assert!(lines[2].ends_with("uncollatedFileOperation.C at line 548."));
    assert!(!ev.contains(&LogEvent::End));
    let pr = progress_of(&ev);
    assert_eq!(pr.fatal_error.as_deref(), Some(message.as_str()));
}

#[test]
fn fatal_io_error() {
    let ev = parse_all(&fixture("fatal_io.log"));
    let fatal: Vec<_> = ev.iter().filter(|e| matches!(e, LogEvent::FatalError { .. })).collect();
    assert_eq!(fatal.len(), 1);
    let LogEvent::FatalError { message } = fatal[0] else { unreachable!() };
    assert!(message.starts_with("\"ill defined primitiveEntry starting at keyword 'nNonOrthogonalCorrectors'"));
    assert!(message.contains("file: /tmp/of/fatalio/system/fvSolution at line 61."));
    assert!(message.lines().last().unwrap().starts_with("in file db/dictionary/primitiveEntry"));
}

#[test]
fn floating_point_exception() {
    let ev = parse_all(&fixture("fpe.log"));
    let fpe: Vec<_> = ev.iter().filter(|e| matches!(e, LogEvent::FloatingPointException { .. })).collect();
    assert_eq!(
        fpe,
        [&LogEvent::FloatingPointException { message: "#1  Foam::sigFpe::sigHandler(int) at ??:?".into() }]
    );
    let pr = progress_of(&ev);
    assert!(pr.divergence().unwrap().contains("floating point exception"));
    assert_eq!(pr.iteration, 1);
}

#[test]
fn crlf_and_partial_last_line() {
    let lf = fixture("simpleFoam.log");
    let crlf: Vec<u8> = String::from_utf8(lf.clone()).unwrap().replace('\n', "\r\n").into_bytes();
    assert_eq!(parse_all(&crlf), parse_all(&lf));
    // No trailing newline: finish() flushes the line.
    let mut p = LogParser::new();
    assert!(p.feed(b"Time = 3\nEnd").len() == 1);
    assert_eq!(p.finish(), vec![LogEvent::End]);
}

#[test]
fn numbers_openfoam_prints() {
    let ev = parse_all(
        b"Time = 0.005\n\
          DILUPBiCGStab:  Solving for Uz, Initial residual = -nan, Final residual = nan, No Iterations 1000\n\
          PCG:  Solving for p, Initial residual = inf, Final residual = 1e+300, No Iterations 0\n\
          PIMPLE: converged in 3 iterations\n\
          Time = constant\n\
          time step continuity errors : sum local = 1e-5, global = 0, cumulative = 0\n",
    );
    assert_eq!(ev[0], LogEvent::Time { time: 0.005 });
    let LogEvent::Residual { field, initial, final_, iterations } = &ev[1] else { panic!() };
    assert!(field == "Uz" && initial.is_nan() && final_.is_nan() && *iterations == 1000);
    let LogEvent::Residual { field, initial, .. } = &ev[2] else { panic!() };
    assert!(field == "p" && *initial == f64::INFINITY);
    // PIMPLE's per-time-step outer-loop convergence is not run convergence.
    assert_eq!(ev.len(), 3);
}

fn synthetic(iterations: u64, body: impl Fn(u64) -> String) -> SolverProgress {
    let mut text = String::new();
    for i in 1..=iterations {
        text.push_str(&format!("Time = {i}\n\n{}ExecutionTime = {i} s  ClockTime = {i} s\n\n", body(i)));
    }
    progress_of(&parse_all(text.as_bytes()))
}

fn solve(field: &str, initial: impl std::fmt::Display) -> String {
    format!(
        "smoothSolver:  Solving for {field}, Initial residual = {initial}, Final residual = 1e-9, No Iterations 3\n"
    )
}

#[test]
fn divergence_nan() {
    let pr = synthetic(30, |i| {
        let ux = if i == 25 { "nan".to_string() } else { format!("{}", 1.0 / i as f64) };
        solve("Ux", ux) + &solve("p", 0.1)
    });
    let why = pr.divergence().expect("NaN must be divergence");
    assert!(why.contains("Ux") && why.contains("NaN") && why.contains("25"), "{why}");
}

#[test]
fn divergence_blow_up() {
    // p falls to 1e-4 and then explodes to 50 at iteration 40.
    let pr = synthetic(45, |i| {
        let p = if i < 40 { 10f64.powf(-(i.min(4) as f64)) } else { 50.0 * i as f64 };
        solve("Ux", 0.01) + &solve("p", p)
    });
    let why = pr.divergence().expect("blow-up");
    assert!(why.contains("of p") && why.contains("iteration 40"), "{why}");

    // The same jump during the first 20 iterations is start-up noise.
    let pr = synthetic(15, |i| solve("p", if i < 10 { 1e-4 } else { 5.0 }));
    assert_eq!(pr.divergence(), None);
    // Large relative rise but below 1: not divergence.
    let pr = synthetic(40, |i| solve("p", if i < 30 { 1e-7 } else { 0.5 }));
    assert_eq!(pr.divergence(), None);
}

#[test]
fn divergence_absurd_forces() {
    let coeffs =
        |cd: f64| format!("forceCoeffs forceCoeffs1 write:\n    Cm    = 0.01\n    Cd    = {cd}\n    Cl    = -0.08\n\n");
    // Residuals that look tame, and a Cd of 3.6e15 from iteration 30: a few cells blew up.
    let pr = synthetic(40, |i| solve("p", 0.1) + &coeffs(if i >= 30 { -3.6e15 } else { 0.45 }));
    let why = pr.divergence().expect("absurd forces");
    assert!(why.contains("Cd reached -3.600e15 at iteration 30"), "{why}");
    // Wild start-up values that settle (the flange's: 1.4e7 early, 9e5 past iteration 20) pass.
    let pr = synthetic(60, |i| {
        solve("p", 0.1)
            + &coeffs(if i < 5 {
                1.4e7
            } else if i < 30 {
                9e5
            } else {
                0.7
            })
    });
    assert_eq!(pr.divergence(), None);
}

#[test]
fn only_first_solve_per_iteration_counts() {
    // Non-orthogonal correctors solve p three times per iteration; the later, smaller
    // residuals must neither enter the history nor lower the blow-up baseline.
    let pr = synthetic(30, |_| solve("p", 0.5) + &solve("p", 1e-9) + &solve("p", 1e-12));
    assert!(pr.residuals.iter().all(|m| m["p"] == 0.5));
    assert_eq!(pr.divergence(), None);
}

#[test]
fn divergence_bounding_flood() {
    let bound = "bounding k, min: -1.5 max: 3e4 average: 2\n";
    let pr = synthetic(250, |i| solve("k", 0.01) + if i >= 30 { bound } else { "" } + if i >= 30 { bound } else { "" });
    assert_eq!(pr.bounding_streak, 221);
    let why = pr.divergence().expect("bounding flood");
    assert!(why.contains("k was bounded in 200 consecutive iterations (up to iteration 229)"), "{why}");

    // Interrupted bounding (every other iteration) never builds a streak.
    let pr = synthetic(500, |i| solve("k", 0.01) + if i.is_multiple_of(2) { bound } else { "" });
    assert_eq!(pr.divergence(), None);
    assert!(pr.bounding_streak <= 1);

    let pr = synthetic(50, |_| solve("k", 0.01) + bound);
    assert_eq!(pr.bounding_streak, 50);
    let opts = DivergenceOptions { bounding_streak_limit: 50, ..Default::default() };
    let mut strict = SolverProgress::new(opts);
    for i in 1..=50 {
        strict.apply(&LogEvent::Time { time: i as f64 });
        strict.apply(&LogEvent::Bounding { field: "k".into(), min: -1.0, max: 1.0 });
    }
    assert!(strict.divergence().is_some());
}

#[test]
fn duplicate_force_write_at_same_time_replaces() {
    let mut pr = SolverProgress::default();
    pr.apply(&LogEvent::Time { time: 5.0 });
    let s = |cd| ForceCoeffSample { cd: Some(cd), ..Default::default() };
    pr.apply(&LogEvent::ForceCoeffs(s(1.0)));
    pr.apply(&LogEvent::ForceCoeffs(s(2.0)));
    assert_eq!(pr.forces, vec![(5.0, s(2.0))]);
    assert_eq!(SolverProgress::default().mean_forces(0.1), None);
}

#[test]
fn serializes_to_json() {
    let ev = LogEvent::Residual { field: "p".into(), initial: 0.5, final_: 0.01, iterations: 3 };
    let json = serde_json::to_string(&ev).unwrap();
    assert_eq!(json, r#"{"Residual":{"field":"p","initial":0.5,"final":0.01,"iterations":3}}"#);
    let pr = progress_of(&parse_all(&fixture("simpleFoam.log")));
    assert!(serde_json::to_string(&pr).unwrap().contains("\"converged\":true"));
}

fn all_fixtures_bytes() -> Vec<u8> {
    let mut all = Vec::new();
    for f in ALL_FIXTURES {
        all.extend(fixture(f));
    }
    all
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn chunking_does_not_change_events(
        sizes in proptest::collection::vec(1usize..4096, 1..64),
        small in proptest::collection::vec(1usize..8, 1..16),
        crlf in any::<bool>(),
    ) {
        let mut bytes = all_fixtures_bytes();
        if crlf {
            bytes = String::from_utf8(bytes).unwrap().replace('\n', "\r\n").into_bytes();
        }
        let whole = parse_all(&bytes);
        prop_assert_eq!(&parse_chunked(&bytes, &sizes), &whole);
        // Tiny chunks split every "\r\n" and every multi-byte sequence at some point.
        prop_assert_eq!(&parse_chunked(&bytes, &small), &whole);
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..4096),
        sizes in proptest::collection::vec(1usize..512, 1..8),
    ) {
        let whole = parse_all(&bytes);
        prop_assert_eq!(parse_chunked(&bytes, &sizes), whole.clone());
        let mut pr = SolverProgress::default();
        for e in &whole { pr.apply(e); }
        let _ = (pr.orders_dropped(), pr.mean_forces(0.1), pr.divergence());
    }

    #[test]
    fn log_like_garbage_never_panics(
        lines in proptest::collection::vec(
            prop_oneof![
                Just("Time = ".to_string()),
                Just("forceCoeffs f execute:".to_string()),
                Just("    Cd : ".to_string()),
                Just("patch faces layers overall thickness".to_string()),
                Just("-----".to_string()),
                Just("--> FOAM FATAL ERROR:".to_string()),
                Just("Mesh stats".to_string()),
                Just("Failed 2 mesh checks.".to_string()),
                Just("bounding k, min: ".to_string()),
                Just("GAMG:  Solving for p, Initial residual = ".to_string()),
                "[ -~]{0,40}",
            ],
            0..200,
        ),
        nums in proptest::collection::vec("(-?[0-9.e+]{0,6}|nan|inf)", 1..8),
    ) {
        let mut text = String::new();
        for (i, l) in lines.iter().enumerate() {
            text.push_str(l);
            text.push_str(&nums[i % nums.len()]);
            text.push('\n');
        }
        let ev = parse_all(text.as_bytes());
        let mut pr = SolverProgress::default();
        for e in &ev { pr.apply(e); }
        let _ = (pr.orders_dropped(), pr.mean_forces(0.5), pr.latest_residuals());
    }
}

#[test]
fn overlong_line_is_cut_consistently() {
    let mut bytes = vec![b'x'; MAX_LINE * 2 + 10];
    bytes.extend_from_slice(b"\nEnd\n");
    let whole = parse_all(&bytes);
    assert_eq!(whole, vec![LogEvent::End]);
    assert_eq!(parse_chunked(&bytes, &[1000, 7]), whole);
}

fn times(events: &[LogEvent]) -> Vec<f64> {
    events
        .iter()
        .filter_map(|e| match e {
            LogEvent::Time { time } => Some(*time),
            _ => None,
        })
        .collect()
}

/// foamRun (Foundation 11) output, written from the format strings of its sources (no
/// Foundation OpenFOAM runs on this machine): the time carries its unit, forceCoeffs
/// writes `name = value` lines under `forceCoeffs NAME write:`, and forceCoeffs.dat has
/// `# Time Cm Cd Cl Cl(f) Cl(r)`.
#[test]
fn foundation_foam_run_log() {
    let log = "Starting time loop\n\n\
        Time = 1s\n\n\
        smoothSolver:  Solving for Ux, Initial residual = 1, Final residual = 0.0538101, No Iterations 1\n\
        GAMG:  Solving for p, Initial residual = 1, Final residual = 0.00719, No Iterations 2\n\
        time step continuity errors : sum local = 0.0011, global = 1e-05, cumulative = 1e-05\n\
        forceCoeffs forceCoeffs1 write:\n    Cm    = 0.0123\n    Cd    = 0.456\n    Cl    = -0.0789\n    Cl(f) = -0.027\n    Cl(r) = -0.051\n\n\
        ExecutionTime = 0.52 s  ClockTime = 1 s\n\n\
        Time = 2s\n\n\
        smoothSolver:  Solving for Ux, Initial residual = 0.25, Final residual = 0.01, No Iterations 2\n\
        forceCoeffs forceCoeffs1 write:\n    Cm    = 0.01\n    Cd    = 0.5\n    Cl    = -0.08\n    Cl(f) = -0.03\n    Cl(r) = -0.05\n\n\
        ExecutionTime = 1.04 s  ClockTime = 1 s\n\nEnd\n";
    for ev in [parse_all(log.as_bytes()), parse_chunked(log.as_bytes(), &[7, 13, 1])] {
        assert_eq!(times(&ev), [1.0, 2.0]);
        assert_eq!(residuals(&ev, "Ux"), [(1.0, 0.0538101, 1), (0.25, 0.01, 2)]);
        let f = forces(&ev);
        assert_eq!(f.len(), 2);
        assert_eq!(
            (f[0].cd, f[0].cl, f[0].cm_pitch, f[0].cl_r),
            (Some(0.456), Some(-0.0789), Some(0.0123), Some(-0.051))
        );
        let pr = progress_of(&ev);
        assert_eq!(pr.iteration, 2);
        assert_eq!(pr.forces.last().unwrap().1.cd, Some(0.5));
    }
    // Transient times with units, a unit after a space, and checkMesh's `constant`.
    let ev = parse_all(b"Time = 0.005s\n\nTime = 1e-05s\n\nTime = 7\n\nTime = 8 s\n\nTime = constant\n");
    assert_eq!(times(&ev), [0.005, 1e-05, 7.0, 8.0]);
    let dat = "# Force coefficients\n# liftDir     : (0 0 1)\n# Time\tCm\tCd\tCl\tCl(f)\tCl(r)\n1\t0.0123\t0.456\t-0.0789\t-0.027\t-0.051\n";
    let rows = parse_coefficient_dat(dat);
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].1.cd, rows[0].1.cm_pitch, rows[0].1.cl_f), (Some(0.456), Some(0.0123), Some(-0.027)));
}
