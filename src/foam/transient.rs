//! Transient flow (`solver.type = "transient"`): what turns the steady case into a PIMPLE
//! one. ESI runs pimpleFoam; the Foundation's foamRun runs the same `incompressibleFluid`
//! solver either way and reads steadiness from `ddtSchemes`, so for it only the schemes,
//! `PIMPLE` and the time controls change.
//!
//! The case writer builds the steady dictionaries (`physics`), then passes them through
//! [`control_dict`], [`fv_schemes`] and [`fv_solution`], which leave a steady spec's
//! dictionaries untouched. [`latest_time`] and [`resume_steps`] are what `flowcfd run
//! --resume` needs to continue a killed run from its latest written time.

use super::case::Step;
use super::dict::{w, Dict, Key, Value};
use super::flavour::Flavour;
use super::rules::MeshPlan;
use super::spec::{CaseSpec, SolverKind};
use std::path::{Path, PathBuf};

/// The largest `solver.max_co` accepted (PIMPLE with outer correctors; PISO-like runs with
/// one outer corrector stay at or below 1).
pub const MAX_CO_LIMIT: f64 = 5.0;

/// True for a transient spec.
pub fn is_transient(spec: &CaseSpec) -> bool {
    spec.solver.kind == SolverKind::Transient
}

/// The solver application for `kind` on `flavour` (also its step's and log's name).
pub fn solver_app(kind: SolverKind, flavour: Flavour) -> &'static str {
    match (kind, flavour.is_foundation()) {
        (SolverKind::Transient, false) => "pimpleFoam",
        _ => flavour.solver_app(),
    }
}

/// The transient keys' range checks, each message naming the key and the fix. A steady
/// spec passes whatever its transient keys say (they are not used).
pub fn validate(spec: &CaseSpec) -> Result<(), String> {
    let s = &spec.solver;
    if !is_transient(spec) {
        return Ok(());
    }
    let end = match s.end_time {
        Some(t) if t.is_finite() && t > 0.0 => t,
        Some(t) => return Err(format!("solver.end_time = {t} must be a positive time, in s")),
        None => {
            return Err("solver.type = \"transient\" needs solver.end_time, the simulated time to reach, in s".into())
        }
    };
    if !(s.max_co.is_finite() && s.max_co > 0.0 && s.max_co <= MAX_CO_LIMIT) {
        return Err(format!("solver.max_co = {} must be in (0, {MAX_CO_LIMIT}]", s.max_co));
    }
    if s.max_co > 1.0 && s.outer_correctors < 2 {
        return Err(format!(
            "solver.max_co = {} is above 1, which needs PIMPLE outer correctors: set solver.outer_correctors to 2 or more (or max_co to 1 or less)",
            s.max_co
        ));
    }
    if s.outer_correctors == 0 || s.outer_correctors > 100 {
        return Err(format!("solver.outer_correctors = {} must be between 1 and 100", s.outer_correctors));
    }
    for (key, x) in [("write_interval", s.write_interval), ("average_from", s.average_from), ("delta_t", s.delta_t)] {
        if let Some(x) = x {
            if !(x.is_finite() && x > 0.0 && x <= end) {
                return Err(format!("solver.{key} = {x} must be in (0, end_time = {end}], in s"));
            }
        }
    }
    Ok(())
}

/// The time controls of a transient spec, with the defaults filled in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeControls {
    /// Simulated end time, s.
    pub end_time: f64,
    /// The first time step, s.
    pub delta_t: f64,
    /// The largest time step the adjustment may take, s.
    pub max_delta_t: f64,
    /// Simulated time between written results, s.
    pub write_interval: f64,
    /// Start of the time averages (fieldAverage, mean Cd/Cl, Strouhal), s.
    pub average_from: f64,
    /// The Courant number the time step keeps to.
    pub max_co: f64,
}

/// The smallest cell the plan makes near a surface: the base cell halved once per level
/// of the finest surface refinement.
pub fn smallest_cell(plan: &MeshPlan) -> f64 {
    let level = plan.group_levels.values().map(|l| l[1]).max().unwrap_or(0).max(plan.feature_level);
    plan.base_cell_size / 2f64.powi(level.min(20) as i32)
}

/// The time controls of a transient `spec` on `plan` (None for a steady spec).
///
/// The first step, unless given, makes the Courant number `max_co / 2` in the smallest
/// cell at the free-stream speed: the run starts below the limit and the adjustable time
/// step grows it from there (pimpleFoam also corrects it from the potential-flow field
/// before the first step). The step never exceeds a fiftieth of `end_time` or the write
/// interval, so the force history has at least fifty samples.
pub fn time_controls(spec: &CaseSpec, plan: &MeshPlan) -> Option<TimeControls> {
    if !is_transient(spec) {
        return None;
    }
    let s = &spec.solver;
    let end_time = s.end_time.unwrap_or(1.0);
    let write_interval = s.write_interval.unwrap_or(end_time / 10.0);
    let max_delta_t = write_interval.min(end_time / 50.0);
    let estimate = 0.5 * s.max_co * smallest_cell(plan) / spec.speed().max(1e-12);
    let delta_t = s.delta_t.unwrap_or_else(|| round_down(estimate.min(max_delta_t)));
    Some(TimeControls {
        end_time,
        delta_t,
        max_delta_t,
        write_interval,
        average_from: s.average_from.unwrap_or(end_time / 2.0),
        max_co: s.max_co,
    })
}

/// Two significant digits, rounded down (a readable first step that keeps Co below target).
fn round_down(x: f64) -> f64 {
    if !(x.is_finite() && x > 0.0) {
        return x;
    }
    let scale = 10f64.powi(1 - x.log10().floor() as i32);
    (x * scale).floor() / scale
}

/// `system/controlDict` for a transient spec: pimpleFoam (ESI), the time controls, start
/// from the latest written time (so `flowcfd run --resume` continues a killed run with the
/// same file; a fresh case's latest time is 0), and fieldAverage of U and p from
/// `average_from`. forceCoeffs already writes every time step: the force history.
pub fn control_dict(mut d: Dict, spec: &CaseSpec, plan: &MeshPlan, flavour: Flavour) -> Dict {
    let Some(t) = time_controls(spec, plan) else { return d };
    if !flavour.is_foundation() {
        d.replace("application", w(solver_app(SolverKind::Transient, flavour)));
    }
    d.replace("startFrom", w("latestTime"));
    d.replace("endTime", t.end_time);
    d.replace("deltaT", t.delta_t);
    d.replace("writeControl", w("adjustableRunTime"));
    d.replace("writeInterval", t.write_interval);
    let mut functions = match d.remove("functions") {
        Some(Value::Dict(f)) => f,
        _ => Dict::new(),
    };
    d.push("adjustTimeStep", true);
    d.push("maxCo", t.max_co);
    d.push("maxDeltaT", t.max_delta_t);
    let item = || Dict::new().set("mean", true).set("prime2Mean", true).set("base", w("time"));
    let fields = ["U", "p"].iter().map(|f| Value::NamedDict(super::dict::Word::new(*f).expect("literal"), item()));
    functions.push(
        "fieldAverage1",
        Dict::new()
            .set("type", w("fieldAverage"))
            .set("libs", Value::List(vec![Value::Str("libfieldFunctionObjects.so".into())]))
            .set("timeStart", t.average_from)
            .set("writeControl", w("writeTime"))
            .set("fields", Value::List(fields.collect())),
    );
    d.set("functions", functions)
}

/// `system/fvSchemes` for a transient spec: second-order `backward` in time, and the
/// convection schemes without `bounded` (which subtracts the continuity error, a device for
/// steady runs only).
///
/// `backward` rather than `Euler`: the lift history is what the Strouhal number is read
/// from, and Euler's first-order damping lowers the shedding amplitude and shifts its
/// frequency at the Courant numbers used here; `backward` handles the adjustable step
/// (it keeps the previous step's size).
pub fn fv_schemes(mut d: Dict, spec: &CaseSpec) -> Dict {
    if !is_transient(spec) {
        return d;
    }
    d.replace("ddtSchemes", Dict::new().set("default", w("backward")));
    if let Some(Value::Dict(div)) = d.get("divSchemes") {
        let mut out = Dict::new();
        for (k, v) in div.entries() {
            let v = match v {
                Value::Seq(items) if items.first() == Some(&w("bounded")) => Value::Seq(items[1..].to_vec()),
                v => v.clone(),
            };
            match k {
                Key::Word(word) => out.insert_word(word.clone(), v),
                Key::Pattern(p) => out.insert_pattern(p, v),
            }
        }
        d.replace("divSchemes", out);
    }
    d
}

/// `system/fvSolution` for a transient spec: `PIMPLE` in place of `SIMPLE`, tighter
/// non-final pressure solves, a `Final` solver for p, U and the turbulence model's fields
/// (solved to the tolerance, relTol 0), and relaxation only with outer correctors (the
/// final outer corrector unrelaxed).
pub fn fv_solution(mut d: Dict, spec: &CaseSpec) -> Dict {
    if !is_transient(spec) {
        return d;
    }
    let s = &spec.solver;
    let mut fields = vec!["U"];
    fields.extend(spec.turbulence.model.fields());
    if let Some(Value::Dict(solvers)) = d.remove("solvers") {
        let mut solvers = solvers;
        let with = |v: Option<&Value>, key: &str, x: f64| match v {
            Some(Value::Dict(sd)) => {
                let mut sd = sd.clone();
                sd.replace(key, x);
                Some(sd)
            }
            _ => None,
        };
        if let Some(p) = with(solvers.get("p"), "relTol", 0.05) {
            let p = {
                let mut p = p;
                p.replace("tolerance", 1e-6);
                p
            };
            solvers.replace("p", p.clone());
            let mut fin = p;
            fin.replace("relTol", 0.0);
            solvers.replace("pFinal", fin);
        }
        for f in &fields {
            if let Some(fin) = with(solvers.get(f), "relTol", 0.0) {
                solvers.replace(&format!("{f}Final"), fin);
            }
        }
        d.replace("solvers", solvers);
    }
    let pimple = Dict::new()
        .set("nOuterCorrectors", s.outer_correctors)
        .set("nCorrectors", 2i64)
        .set("nNonOrthogonalCorrectors", 0i64);
    let mut out = Dict::new();
    for (k, v) in d.entries() {
        match k {
            Key::Word(word) if word.as_str() == "SIMPLE" => out.push("PIMPLE", pimple.clone()),
            Key::Word(word) if word.as_str() == "relaxationFactors" => {
                out.push("relaxationFactors", relaxation(spec, &fields))
            }
            Key::Word(word) => out.insert_word(word.clone(), v.clone()),
            Key::Pattern(p) => out.insert_pattern(p, v.clone()),
        }
    }
    out
}

fn relaxation(spec: &CaseSpec, fields: &[&str]) -> Dict {
    let s = &spec.solver;
    let (mut rf, mut eq) = (Dict::new(), Dict::new());
    if s.outer_correctors > 1 {
        rf.push("p", s.relaxation.get("p").copied().unwrap_or(0.3));
        rf.push("pFinal", 1.0);
        for f in fields {
            eq.push(f, s.relaxation.get(*f).copied().unwrap_or(0.7));
            eq.push(&format!("{f}Final"), 1.0);
        }
    }
    Dict::new().set("fields", rf).set("equations", eq)
}

/// The latest written time above 0 of the case in `case` (in the case or, for a
/// decomposed run, in `processor0/`), with the directory holding it. A time directory
/// counts once it holds both `U` and `p`.
pub fn latest_time(case: &Path) -> Option<(f64, PathBuf)> {
    let mut best: Option<(f64, PathBuf)> = None;
    for root in [case.to_path_buf(), case.join("processor0")] {
        let Ok(entries) = std::fs::read_dir(&root) else { continue };
        for e in entries.flatten() {
            let Some(t) = e.file_name().to_str().and_then(|n| n.parse::<f64>().ok()) else { continue };
            let complete = e.path().join("U").exists() && e.path().join("p").exists();
            if t > 0.0 && t.is_finite() && complete && best.as_ref().is_none_or(|(b, _)| t > *b) {
                best = Some((t, e.path()));
            }
        }
    }
    best
}

/// The steps that continue a killed run of `case`: the solver (it starts from the latest
/// written time, see [`control_dict`]) and what follows it. Meshing and potentialFoam are
/// skipped; so is decomposePar when the processor directories are already there (they
/// hold the latest time).
pub fn resume_steps(steps: &[Step], case: &Path) -> Vec<Step> {
    let Some(solver) = steps.iter().position(Step::is_solver) else { return Vec::new() };
    let decomposed = case.join("processor0").is_dir();
    let mut out: Vec<Step> =
        steps[..solver].iter().filter(|s| s.name() == "decomposePar" && !decomposed).cloned().collect();
    out.extend(steps[solver..].iter().cloned());
    out
}

#[cfg(test)]
mod tests;
