//! The whole CLI pipeline as one service: read → heal → analyse → plan → case → run →
//! `summary.json`. The API's jobs call the same functions.

use super::openfoam::{self, EnvError, OpenFoamEnv};
use super::outdir::{io_err, remove};
pub use super::outdir::{write_json, OutDir};
use super::steps::{self as local, Observer, RunError, RunOptions, RunReport};
use crate::foam::case::{self, Case, CaseError};
use crate::foam::flavour::Flavour;
use crate::foam::log::{mean_tail, parse_coefficient_dat, ForceCoeffSample, FORCE_COEFF_FILES};
use crate::foam::spec::{CaseSpec, FlowKind, SpecError};
use crate::geometry::{
    analyse::{analyse, Analysis},
    heal::{heal, HealOptions, HealReport},
    read_bytes, GeometryError, ReadOptions, Surface,
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

/// Everything that can stop the pipeline, each with a message that says what to do.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// Bad geometry file.
    #[error("geometry {path}: {source}")]
    Geometry {
        /// The file.
        path: String,
        /// Why.
        source: GeometryError,
    },
    /// Bad case file.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// The case cannot be built.
    #[error(transparent)]
    Case(#[from] CaseError),
    /// OpenFOAM is missing.
    #[error(transparent)]
    Env(#[from] EnvError),
    /// A step failed before the case ran (e.g. restoring fields).
    #[error(transparent)]
    Run(#[from] RunError),
    /// A step failed; its case and `failure.json` were kept.
    #[error("{source} (case and failure.json kept in {failure})")]
    Failed {
        /// Why.
        source: RunError,
        /// Where failure.json was written.
        failure: String,
    },
    /// Refused input (open internal geometry, existing output, ...).
    #[error("{0}")]
    Refused(String),
    /// Local I/O.
    #[error("{0}")]
    Io(String),
}

/// A geometry ready for case building.
pub struct Prepared {
    /// The spec, validated.
    pub spec: CaseSpec,
    /// Healed surface.
    pub surface: Surface,
    /// Healing report.
    pub heal: HealReport,
    /// Analysis of the healed surface.
    pub analysis: Analysis,
    /// The assembled case.
    pub case: Case,
    /// SHA-256 of the geometry file's bytes.
    pub input_sha256: String,
    /// Warnings for the user (e.g. an open external body).
    pub warnings: Vec<String>,
    /// Who proposed the mesh parameters (the mesh AI or the rules), and why the rules.
    pub mesh_choice: crate::meshai::Choice,
}

/// Who proposes the mesh parameters the spec leaves open.
#[derive(Clone, Copy)]
pub enum MeshParams<'a> {
    /// The pipeline's rules.
    Rules,
    /// The mesh AI with this model where it may answer, the rules otherwise.
    Ai(Option<&'a crate::meshai::model::Model>),
}

/// Limits on input.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest geometry file, bytes.
    pub max_geometry_bytes: u64,
    /// Largest triangle count.
    pub max_triangles: usize,
}

impl Default for Limits {
    fn default() -> Self {
        let r = ReadOptions::default();
        Limits { max_geometry_bytes: r.max_bytes, max_triangles: r.max_triangles }
    }
}

/// Reads, heals and analyses `geometry`, and builds the case for `spec` with the rules.
pub fn prepare(spec: CaseSpec, geometry: &Path, limits: &Limits) -> Result<Prepared, PipelineError> {
    prepare_with(spec, geometry, limits, MeshParams::Rules)
}

/// As [`prepare`], with the mesh parameters from `mesh`.
pub fn prepare_with(
    spec: CaseSpec,
    geometry: &Path,
    limits: &Limits,
    mesh: MeshParams<'_>,
) -> Result<Prepared, PipelineError> {
    spec.validate()?;
    let gerr = |source| PipelineError::Geometry { path: geometry.display().to_string(), source };
    let meta = std::fs::metadata(geometry)
        .map_err(|e| gerr(GeometryError::Io { path: geometry.display().to_string(), source: e }))?;
    if meta.len() > limits.max_geometry_bytes {
        return Err(gerr(GeometryError::TooLarge {
            what: format!("file size ({} bytes)", meta.len()),
            limit: limits.max_geometry_bytes,
        }));
    }
    let bytes = std::fs::read(geometry)
        .map_err(|e| gerr(GeometryError::Io { path: geometry.display().to_string(), source: e }))?;
    let input_sha256 = hex(&Sha256::digest(&bytes));
    let name = geometry.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let opts = ReadOptions {
        scale: spec.scale,
        max_bytes: limits.max_geometry_bytes,
        max_triangles: limits.max_triangles,
        ..ReadOptions::default()
    };
    let raw = read_bytes(&name, &bytes, &opts).map_err(gerr)?;
    prepare_surface(spec, raw, input_sha256, mesh)
}

/// As [`prepare_with`], from a surface already in memory.
pub fn prepare_surface(
    spec: CaseSpec,
    raw: Surface,
    input_sha256: String,
    mesh: MeshParams<'_>,
) -> Result<Prepared, PipelineError> {
    let (surface, heal_report) = heal(raw, &HealOptions::default());
    let analysis = analyse(&surface, spec.flow.velocity);
    if surface.tris.is_empty() || !(analysis.characteristic_length.is_finite() && analysis.characteristic_length > 0.0)
    {
        return Err(PipelineError::Refused(format!(
            "nothing is left after healing: {} of {} triangles were degenerate (zero area or repeated vertices) and {} were duplicates; check the export, and the scale (--scale) if the part is tiny",
            heal_report.degenerate_removed, heal_report.input_triangles, heal_report.duplicates_removed
        )));
    }
    let mut warnings = Vec::new();
    if !analysis.watertight {
        let what = format!(
            "the surface is not closed ({} open edges, {} non-manifold edges)",
            heal_report.open_edges, heal_report.non_manifold_edges
        );
        match spec.flow.kind {
            FlowKind::Internal => {
                return Err(PipelineError::Refused(format!(
                    "{what}: internal flow needs a closed surface that bounds the fluid. Close the gaps in your CAD tool (cap the inlets and outlets as their own faces)"
                )))
            }
            FlowKind::External => warnings.push(format!(
                "{what}: FlowCFD will try anyway, since snappyHexMesh meshes around open surfaces, but volume-based estimates are off; check the mesh"
            )),
        }
    }
    let (meshed, mesh_choice) = match mesh {
        MeshParams::Rules => (spec.clone(), crate::meshai::Choice::rules(crate::meshai::RULES_ASKED)),
        MeshParams::Ai(model) => crate::meshai::choose(&spec, &analysis, &surface, model),
    };
    // The plan with the mesh AI's corrections before the case is built, so the near-wall
    // treatment `auto` picks is chosen on the corrected y+.
    let mut plan = case::suggested_plan(&meshed, &analysis)?;
    mesh_choice.correct_estimate(&mut plan);
    let case = case::build(&meshed, &surface, &analysis, Some(plan))?;
    warnings.extend(crate::foam::turbulence::near_wall_warning(&spec, &case.plan.layers, case.wall_treatment));
    Ok(Prepared { spec, surface, heal: heal_report, analysis, case, input_sha256, warnings, mesh_choice })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs the prepared case in `out` and writes `summary.json` (or `failure.json`).
pub fn run(
    p: &Prepared,
    out: &OutDir,
    env: &OpenFoamEnv,
    observer: &mut dyn Observer,
    cancel: &AtomicBool,
) -> Result<Value, PipelineError> {
    run_steps(p, out, env, observer, cancel, &p.case.steps, RunReport::default())
}

/// Continues the transient run a killed `flowcfd run` left in `out` (see
/// [`OutDir::reopen`]): the solver starts from the latest written time (its controlDict
/// says `startFrom latestTime`), meshing and potentialFoam are skipped, and the mesh's
/// checks and layers are read back from their logs for `summary.json`.
pub fn resume(
    p: &Prepared,
    out: &OutDir,
    env: &OpenFoamEnv,
    observer: &mut dyn Observer,
    cancel: &AtomicBool,
) -> Result<Value, PipelineError> {
    if !crate::foam::transient::is_transient(&p.spec) {
        return Err(PipelineError::Refused(
            "--resume continues transient runs only (solver.type = \"transient\"); a steady run starts again".into(),
        ));
    }
    let case = out.case_dir();
    let mut earlier = RunReport::default();
    for log in ["log.snappyHexMesh", "log.checkMesh"] {
        let text = std::fs::read(case.join(log)).unwrap_or_default();
        let mut parser = crate::foam::log::LogParser::new();
        for ev in parser.feed(&text).into_iter().chain(parser.finish()) {
            match ev {
                crate::foam::log::LogEvent::CheckMesh(c) => earlier.check_mesh = Some(c),
                crate::foam::log::LogEvent::Layers(l) => earlier.layers = Some(l),
                _ => {}
            }
        }
    }
    let steps = crate::foam::transient::resume_steps(&p.case.steps, &case);
    run_steps(p, out, env, observer, cancel, &steps, earlier)
}

fn run_steps(
    p: &Prepared,
    out: &OutDir,
    env: &OpenFoamEnv,
    observer: &mut dyn Observer,
    cancel: &AtomicBool,
    steps: &[crate::foam::case::Step],
    earlier: RunReport,
) -> Result<Value, PipelineError> {
    let t0 = Instant::now();
    let opts =
        RunOptions { cores: p.spec.solver.cores, step_timeout: Duration::from_secs(p.spec.solver.step_timeout_s) };
    let case_dir = out.case_dir();
    let mut report = earlier;
    let mut result = local::run_into(&case_dir, steps, env, &opts, observer, cancel, &mut report);
    if let Err(RunError::Diverged { step, reason, .. }) = &result {
        let (step, first) = (step.clone(), reason.clone());
        // A restart that cannot be set up leaves the divergence as the failure (failure.json).
        if let Some((restart, files)) = recovery(p, steps, &step).ok().flatten() {
            observer.note(&format!(
                "{step} diverged ({first}); restarting from the potential-flow solution with first-order upwind for U and lower relaxation"
            ));
            report.recovered_from = Some(first.clone());
            result = clear_for_restart(&case_dir, &step, &files).map_err(|e| RunError::Io(e.to_string()));
            result = result.and_then(|()| local::run_into(&case_dir, &restart, env, &opts, observer, cancel, &mut report)).map_err(|e| match e {
                RunError::Diverged { step, reason, excerpt } => RunError::Diverged {
                    step,
                    reason: format!("{reason}, after a restart with first-order upwind and lower relaxation (the first attempt: {first})"),
                    excerpt,
                },
                e => e,
            });
        }
    }
    let result = result.map(|()| report);
    local::clear_stop(&case_dir);
    match result {
        Ok(report) => {
            let summary = summary(p, &report, &out.case_dir(), t0.elapsed().as_secs_f64(), env);
            out.commit(Some(&summary))?;
            Ok(summary)
        }
        Err(e) => {
            let step = match &e {
                RunError::Failed { step, .. }
                | RunError::Diverged { step, .. }
                | RunError::Timeout { step, .. }
                | RunError::Spawn { step, .. } => step.clone(),
                RunError::Cancelled(step) => step.clone(),
                RunError::Io(_) => String::new(),
            };
            let path =
                out.commit_failure(&json!({"step": step, "error": e.to_string(), "input_sha256": p.input_sha256}))?;
            Err(PipelineError::Failed { source: e, failure: path.display().to_string() })
        }
    }
}

/// How a steady run that diverged in `failed` starts again: the steps from restoring `0/`
/// on (potentialFoam, decomposition, the solver, reconstruction) and the calmer numerics'
/// files ([`case::recovery_files`]). `None` where there is no second try: a transient run,
/// a failure outside the solver, or steps without the restore (a resumed run).
fn recovery(
    p: &Prepared,
    steps: &[crate::foam::case::Step],
    failed: &str,
) -> Result<Option<(Vec<crate::foam::case::Step>, Vec<(PathBuf, String)>)>, PipelineError> {
    let from = steps.iter().position(|s| *s == crate::foam::case::Step::Restore0);
    let (Some(from), true) = (from, case::is_solver_step(failed)) else { return Ok(None) };
    Ok(case::recovery_files(&p.spec)?.map(|files| (steps[from..].to_vec(), files)))
}

/// Clears the diverged attempt from `case` for the restart: the time directories past 0, the
/// processor directories and `postProcessing/` go; the solver's log is kept as
/// `log.<solver>.diverged`; `files` (the calmer numerics) are written.
fn clear_for_restart(case: &Path, solver: &str, files: &[(PathBuf, String)]) -> Result<(), PipelineError> {
    let entries = std::fs::read_dir(case).map_err(io_err("cannot read", case))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let later_time = name.parse::<f64>().is_ok_and(|t| t > 0.0);
        if later_time || name.starts_with("processor") || name == "postProcessing" {
            remove(&entry.path())?;
        }
    }
    let log = case.join(format!("log.{solver}"));
    if log.exists() {
        let kept = case.join(format!("log.{solver}.diverged"));
        std::fs::rename(&log, &kept).map_err(io_err("cannot keep", &log))?;
    }
    for (rel, text) in files {
        let path = case.join(rel);
        std::fs::write(&path, text).map_err(io_err("cannot write", &path))?;
    }
    Ok(())
}

/// The force history: forceCoeffs' file (ESI's `coefficient.dat`, the Foundation's
/// `forceCoeffs.dat`) when present, else the samples parsed from the log.
///
/// A resumed run writes its own file under `forceCoeffs1/<its start time>/`: the files are
/// joined in start-time order, each cut where the next one starts.
pub fn force_history(case_dir: &Path, report: &RunReport) -> Vec<(f64, ForceCoeffSample)> {
    let mut starts: Vec<(f64, String)> = std::fs::read_dir(case_dir.join("postProcessing/forceCoeffs1"))
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<f64>().ok().map(|t| (t, n.to_string()))))
                .collect()
        })
        .unwrap_or_default();
    starts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut samples: Vec<(f64, ForceCoeffSample)> = Vec::new();
    for (start, name) in starts {
        let text = FORCE_COEFF_FILES
            .iter()
            .find_map(|f| std::fs::read_to_string(case_dir.join(f.replace("/0/", &format!("/{name}/")))).ok());
        samples.retain(|(t, _)| *t <= start);
        samples.extend(
            text.map(|t| parse_coefficient_dat(&t)).unwrap_or_default().into_iter().filter(|(t, _)| *t > start),
        );
    }
    if samples.is_empty() {
        report.solver.forces.clone()
    } else {
        samples
    }
}

/// The `summary.json` of a finished run of `p` (its run report, case and wall time).
pub fn summary(p: &Prepared, r: &RunReport, case_dir: &Path, total_s: f64, env: &OpenFoamEnv) -> Value {
    // A report that never appeared is `null`, not a misleading zero.
    let cm = r.check_mesh.as_ref();
    let cmv = |f: fn(&crate::foam::log::CheckMeshReport) -> Value| cm.map_or(Value::Null, f);
    let walls: Vec<String> = case::wall_patch_names(&p.case).iter().map(|w| w.to_string()).collect();
    let layer_target = p.case.plan.layers.count;
    let coverage = match (&r.layers, layer_target) {
        (Some(l), n) if n > 0 => Some(l.coverage(n, Some(&walls))),
        _ => None,
    };
    let history = force_history(case_dir, r);
    // The first-cell y+ the solve produced, against the band its wall treatment needs.
    let yplus = if p.spec.mesh_only {
        None
    } else {
        super::yplus::measure(case_dir, &walls, p.case.wall_treatment, p.case.plan.layers.estimated_yplus)
    };
    let mut warnings = p.warnings.clone();
    warnings.extend(yplus.as_ref().and_then(|y| y.warning.clone()));
    if let Some(first) = &r.recovered_from {
        warnings.push(format!(
            "the solver diverged ({first}) and was restarted from the potential-flow solution with first-order upwind for U and lower relaxation ({}): the results are first-order in space; a mesh with fewer skewed or non-orthogonal cells (checkMesh) lets the second-order default run",
            crate::foam::physics::RECOVERY_RELAXATION[..2].iter().map(|(f, x)| format!("{f} {x}")).collect::<Vec<_>>().join(", ")
        ));
    }
    // The mean of the last 10 % of iterations smooths the bluff-body wobble.
    let n = ((history.len() as f64 * 0.1).ceil() as usize).max(1);
    let f = mean_tail(&history, n).unwrap_or_default();
    let window = &history[history.len().saturating_sub(n)..];
    let std = |pick: fn(&ForceCoeffSample) -> Option<f64>, mean: Option<f64>| -> Value {
        let (Some(m), false) = (mean, window.is_empty()) else { return Value::Null };
        let vals: Vec<f64> = window.iter().filter_map(|(_, s)| pick(s)).collect();
        let var = vals.iter().map(|v| (v - m).powi(2)).sum::<f64>() / vals.len().max(1) as f64;
        json!(round_sig(var.sqrt()))
    };
    let mut timing: serde_json::Map<String, Value> =
        r.timing.iter().map(|(k, v)| (k.clone(), json!(round3(*v)))).collect();
    timing.insert("total".into(), json!(round3(total_s)));
    let reference = &p.case.reference;
    let mut out = json!({
        "flowcfd_version": env!("CARGO_PKG_VERSION"),
        "name": p.spec.name,
        // The case specification as applied (defaults filled in), for the report's
        // reproducibility section and a rerun.
        "spec": p.spec,
        "mesh_only": p.spec.mesh_only,
        "input_sha256": p.input_sha256,
        "openfoam_version": r.openfoam_version,
        "openfoam_env": env.source,
        "warnings": warnings,
        "geometry": {"analysis": p.analysis, "heal": p.heal},
        "mesh": {
            "cells": cmv(|c| json!(c.cells)), "faces": cmv(|c| json!(c.faces)), "points": cmv(|c| json!(c.points)),
            "ok": cm.is_some_and(|c| c.ok),
            "max_non_orthogonality": cmv(|c| json!(c.max_non_orthogonality)),
            "max_skewness": cmv(|c| json!(c.max_skewness)),
            "max_aspect_ratio": cmv(|c| json!(c.max_aspect_ratio)), "failed_checks": cmv(|c| json!(c.failed_checks)),
            "layer_coverage": coverage, "layers": r.layers, "plan": p.case.plan, "yplus": yplus,
            "location_in_mesh": p.case.location_in_mesh,
            "params_source": p.mesh_choice.source, "params_reason": p.mesh_choice.reason,
        },
        "solve": {
            "iterations": r.solver.iteration,
            "converged": r.solver.converged,
            "final_residuals": r.solver.latest_residuals(),
            "initial_residuals": r.solver.first_residuals(),
            "orders_dropped": r.solver.orders_dropped(),
            "execution_s": r.solver.execution_s,
            "inlet_turbulence": p.case.turbulence,
            "wall_treatment": p.case.wall_treatment,
            // Why the first attempt diverged, when the solve was restarted with calmer numerics.
            "recovered_from": r.recovered_from,
        },
        "forces": {
            // Rounded to 4 decimals: the report and the pages show these digits exactly.
            "Cd": f.cd.map(round4), "Cl": f.cl.map(round4), "Cs": f.cs.map(round4), "CmPitch": f.cm_pitch.map(round4),
            "samples_averaged": n.min(history.len()),
            "std": {"Cd": std(|s| s.cd, f.cd), "Cl": std(|s| s.cl, f.cl), "Cs": std(|s| s.cs, f.cs),
                    "CmPitch": std(|s| s.cm_pitch, f.cm_pitch)},
            "window": window.first().zip(window.last()).map(|(a, b)| json!([a.0, b.0])),
            "Aref": reference.aref, "lRef": reference.lref, "magUInf": reference.mag_u_inf,
            "CofR": reference.cofr, "patches": reference.patches,
            "drag_dir": reference.drag_dir, "lift_dir": reference.lift_dir, "pitch_axis": reference.pitch_axis,
            "two_dimensional": p.spec.flow.two_dimensional,
        },
        // The reference values the coefficients were made with (Aref, lRef, magUInf, CofR,
        // drag_dir, lift_dir, pitch_axis, patches).
        "reference": reference,
        "timing": timing,
        // A graceful stop (a quota reached): the run ended early with what it had.
        "stopped": r.stopped.as_ref().map(|s| json!({"reason": s.reason, "step": s.step, "iteration": r.solver.iteration})),
    });
    if let Some(t) = crate::foam::transient::time_controls(&p.spec, &p.case.plan) {
        crate::foam::shedding::add_to_summary(&mut out, &t, &history, reference.lref, reference.mag_u_inf);
    }
    out
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

/// Three significant digits (a spread).
fn round_sig(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let scale = 10f64.powi(2 - x.abs().log10().floor() as i32);
    (x * scale).round() / scale
}

/// Finds OpenFOAM (see [`openfoam::detect`]).
pub fn openfoam_env(script: Option<&Path>) -> Result<OpenFoamEnv, PipelineError> {
    Ok(openfoam::detect(script)?)
}

/// Settles which OpenFOAM the case is written for, in `spec.solver.openfoam`: the spec's
/// own choice (the case key or the CLI flag) first, else the flavour of `env`, the OpenFOAM
/// found. With no `env` the spec keeps `None`, which the case writer reads as ESI v2312.
///
/// `run` says the case will run on `env`: then an OpenFOAM whose flavour cannot be told
/// (`WM_PROJECT_VERSION=dev`) is refused unless the spec names one. Returns a warning when
/// the spec's choice differs from what `env` is.
pub fn choose_flavour(
    spec: &mut CaseSpec,
    env: Option<&OpenFoamEnv>,
    run: bool,
) -> Result<Option<String>, PipelineError> {
    let found = env.map(|e| e.flavour());
    match (spec.solver.openfoam, found) {
        (Some(chosen), Some(Ok(found))) if chosen != found => Ok(Some(format!(
            "the case is written for {} (solver.openfoam / --openfoam-flavour) but the OpenFOAM found is {} ({})",
            chosen.describe(),
            found.describe(),
            env.map(|e| e.source.as_str()).unwrap_or_default()
        ))),
        (Some(_), _) | (None, None) => Ok(None),
        (None, Some(Ok(found))) => {
            spec.solver.openfoam = Some(found);
            Ok(None)
        }
        (None, Some(Err(e))) if run => Err(PipelineError::Refused(e.to_string())),
        (None, Some(Err(e))) => Ok(Some(format!("{e}; writing the case for {}", Flavour::default().describe()))),
    }
}

/// `flowcfd geometry FILE`: the healing report and the analysis of a surface.
pub fn geometry_report(path: &Path, scale: f64, flow_dir: [f64; 3]) -> Result<Value, PipelineError> {
    let (surface, report) = read_healed(path, scale)?;
    Ok(json!({"heal": report, "analysis": analyse(&surface, flow_dir), "points": surface.points.len()}))
}

/// Reads a surface file at `scale` and heals it (the CLI's geometry and mesh-ai commands).
pub fn read_healed(path: &Path, scale: f64) -> Result<(Surface, HealReport), PipelineError> {
    let opts = ReadOptions { scale, ..ReadOptions::default() };
    let raw = crate::geometry::read_file(path, &opts)
        .map_err(|source| PipelineError::Geometry { path: path.display().to_string(), source })?;
    Ok(heal(raw, &HealOptions::default()))
}
