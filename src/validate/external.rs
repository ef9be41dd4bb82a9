//! The cases that go through the product's normal pipeline from an STL written by a
//! generator, as `flowcfd run` does (`runner::pipeline`: heal, mesh with snappyHexMesh,
//! solve, summary.json): the 2D cylinder at Re 100 (transient pimpleFoam: Strouhal number
//! and mean drag) and the Ahmed body at 25° (k-ω SST: drag against the experiment).

use super::compare::{frequency, rel_err, time_mean};
use super::svg::{Plot, Series, Style};
use super::{data, r4, Ctx, Measured};
use crate::foam::log::{parse_coefficient_dat, FORCE_COEFF_FILES};
use crate::foam::spec::CaseSpec;
use crate::geometry::ahmed;
use crate::geometry::profile::{circle, extruded_profile};
use crate::geometry::{write::to_stl_ascii, Surface};
use crate::runner::pipeline::{self, Limits, OutDir};
use crate::runner::steps::Quiet;
use serde_json::{json, Value};

/// Writes `surface` as an STL, prepares the case from it as `flowcfd run` does, runs it, and
/// returns summary.json and the (time, Cd, Cl) history of its forceCoeffs.
fn run_pipeline(ctx: &Ctx, mut spec: CaseSpec, surface: &Surface) -> Result<(Value, Vec<(f64, f64, f64)>), String> {
    let stl = ctx.dir.join("geometry.stl");
    std::fs::write(&stl, to_stl_ascii(surface)).map_err(|e| format!("cannot write {}: {e}", stl.display()))?;
    spec.solver.openfoam = Some(ctx.flavour);
    let p = pipeline::prepare(spec, &stl, &Limits::default()).map_err(|e| e.to_string())?;
    let out = OutDir::claim(&ctx.dir.join("run"), true).map_err(|e| e.to_string())?;
    crate::foam::case::write(&p.case, &out.case_dir()).map_err(|e| e.to_string())?;
    let summary = pipeline::run(&p, &out, ctx.env, &mut Quiet, ctx.cancel).map_err(|e| e.to_string())?;
    let case_dir = out.final_case_dir();
    let history = FORCE_COEFF_FILES
        .iter()
        .find_map(|f| std::fs::read_to_string(case_dir.join(f)).ok())
        .map(|text| parse_coefficient_dat(&text))
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(t, s)| Some((t, s.cd?, s.cl?)))
        .collect();
    Ok((summary, history))
}

const CYLINDER_SPEC: &str = r#"
name = "cylinder-re100"
[flow]
type = "external"
velocity = [1, 0, 0]
two_dimensional = true
tunnel = { upstream = 8, downstream = 20, side = 8, top = 8 }
[fluid]
rho = 1.0
nu = 0.01
[turbulence]
model = "laminar"
[mesh]
target_cells = 10000
layers = { count = 2 }
[solver]
type = "transient"
end_time = 150.0
max_co = 1.0
average_from = 75.0
write_interval = 50.0
"#;

/// The 2D cylinder at Re 100 (D = 1 m, U = 1 m/s, ν = 0.01): Strouhal number from the lift
/// history, mean Cd after start-up.
pub fn cylinder(ctx: &Ctx) -> Result<Measured, String> {
    const D: f64 = 1.0;
    const U: f64 = 1.0;
    let spec = CaseSpec::from_toml(CYLINDER_SPEC, "cylinder-re100").map_err(|e| e.to_string())?;
    let from = spec.solver.average_from.unwrap_or(0.0);
    let end = spec.solver.end_time.unwrap_or(0.0);
    let surface = extruded_profile(&circle([0.0, 0.0], D, 96), -D, D, "cylinder");
    let (summary, history) = run_pipeline(ctx, spec, &surface)?;
    let cl: Vec<(f64, f64)> = history.iter().map(|h| (h.0, h.2)).collect();
    let cd: Vec<(f64, f64)> = history.iter().map(|h| (h.0, h.1)).collect();
    // Every time step is in the history; a plot needs a few points per shedding period. The
    // impulsive start's first steps (Cd near -150 at t = 0) would flatten the rest: the plot
    // starts after the first 5 % of the run.
    let thin = |v: &[(f64, f64)]| -> Vec<(f64, f64)> {
        let shown: Vec<(f64, f64)> = v.iter().filter(|p| p.0 >= 0.05 * end).copied().collect();
        shown.iter().step_by(shown.len() / 1500 + 1).copied().collect()
    };
    let st = summary["strouhal"]
        .as_f64()
        .or_else(|| frequency(&cl, from).map(|p| p.frequency * D / U))
        .ok_or("no vortex shedding: the lift history has under two periods after the start-up")?;
    let cd_mean = summary["transient"]["Cd_mean"]
        .as_f64()
        .or_else(|| time_mean(&cd, from, end))
        .ok_or("no drag history after the start-up time")?;
    let (st_ref, cd_ref) = (0.165, 1.33);
    let pass = rel_err(st, st_ref) <= 0.05 && rel_err(cd_mean, cd_ref) <= 0.08;
    let mut m = Measured { pass, ..Measured::default() };
    m.metrics.insert("St".into(), r4(st));
    m.metrics.insert("Cd_mean".into(), r4(cd_mean));
    m.metrics.insert("cells".into(), summary["mesh"]["cells"].clone());
    m.reference.insert("source".into(), json!("Williamson 1996 (St 0.164–0.167); mean Cd 1.33"));
    m.reference.insert("St".into(), json!(st_ref));
    m.reference.insert("Cd_mean".into(), json!(cd_ref));
    m.reference.insert("tolerance_rel".into(), json!({"St": 0.05, "Cd_mean": 0.08}));
    m.plots.push(Plot {
        file: "force_history".into(),
        title: format!("Cylinder Re 100: force coefficients (St = {st:.3}, mean Cd = {cd_mean:.3})"),
        x_label: "t U / D (-), after the impulsive start".into(),
        y_label: "C_d, C_l (-)".into(),
        series: vec![
            Series { label: "C_d".into(), points: thin(&cd), style: Style::Line },
            Series { label: "C_l".into(), points: thin(&cl), style: Style::Line },
            Series { label: "mean C_d 1.33 (reference)".into(), points: vec![(from, cd_ref), (end, cd_ref)], style: Style::Dashed },
        ],
    });
    Ok(m)
}

const AHMED_SPEC: &str = r#"
name = "ahmed-25"
[flow]
type = "external"
velocity = [40, 0, 0]
ground = true
[turbulence]
model = "kOmegaSST"
[mesh]
target_cells = 300000
[solver]
iterations = 600
[reference]
patches = ["body"]
"#;

/// The Ahmed body at 25° slant (`geometry::ahmed`), 40 m/s, k-ω SST, moving ground, through
/// the normal 3D pipeline: Cd on the body (stilts excluded, as the balance's tare) over the
/// experiment's frontal area 0.112 m², against Ahmed et al.'s 0.285.
pub fn ahmed(ctx: &Ctx) -> Result<Measured, String> {
    let cd_ref = data::xy(data::AHMED, "slant_deg", "Cd", |r| r.get(2) == Some(&"experiment"))
        .into_iter()
        .find(|(a, _)| *a == 25.0)
        .map_or(0.285, |p| p.1);
    let mut spec = CaseSpec::from_toml(AHMED_SPEC, "ahmed-25").map_err(|e| e.to_string())?;
    spec.reference.aref = Some(ahmed::FRONTAL_AREA);
    spec.reference.lref = Some(ahmed::LENGTH);
    let (summary, history) = run_pipeline(ctx, spec, &ahmed::ahmed_body(25.0))?;
    let cd = summary["forces"]["Cd"].as_f64().ok_or("summary.json has no Cd")?;
    let mut m = Measured { pass: rel_err(cd, cd_ref) <= 0.15, ..Measured::default() };
    m.metrics.insert("Cd".into(), r4(cd));
    m.metrics.insert("Cd_rel_err".into(), r4(rel_err(cd, cd_ref)));
    m.metrics.insert("cells".into(), summary["mesh"]["cells"].clone());
    m.metrics.insert("iterations".into(), summary["solve"]["iterations"].clone());
    m.reference.insert("source".into(), json!("Ahmed, Ramm & Faltin 1984 (SAE 840300), 60 m/s"));
    m.reference.insert("Cd".into(), json!(cd_ref));
    m.reference.insert("tolerance_rel".into(), json!(0.15));
    let n = history.len() as f64;
    m.plots.push(Plot {
        file: "cd_history".into(),
        title: format!("Ahmed body 25°, k-ω SST: Cd by iteration (final {cd:.3})"),
        x_label: "iteration (-)".into(),
        y_label: "C_d (-)".into(),
        series: vec![
            Series { label: "FlowCFD".into(), points: history.iter().map(|h| (h.0, h.1)).collect(), style: Style::Line },
            Series { label: "experiment 0.285".into(), points: vec![(0.0, cd_ref), (n, cd_ref)], style: Style::Dashed },
        ],
    });
    Ok(m)
}
