//! `flowcfd run`, `flowcfd case` and `flowcfd geometry`: a case from a case file or a
//! geometry and flags, written, meshed and solved on this machine with live progress.
use super::progress::CliProgress;
use clap::Args;
use flowcfd::foam::flavour::Flavour;
use flowcfd::foam::spec::CaseSpec;
use flowcfd::runner::openfoam::OpenFoamEnv;
use flowcfd::runner::pipeline::{self, Limits, MeshParams, OutDir, PipelineError, Prepared};
use flowcfd::runner::steps::SIGNALLED;
use flowcfd::runner::usage::{Meter, USAGE_FILE};
use std::path::{Path, PathBuf};

/// The arguments of `flowcfd run` and `flowcfd case`.
#[derive(Args)]
pub struct CaseArgs {
    /// Case file (TOML). Without it, --geometry runs external aero with defaults.
    pub case_file: Option<PathBuf>,
    /// Geometry file (STL/OBJ); overrides the case file's `geometry`.
    #[arg(long)]
    pub geometry: Option<PathBuf>,
    /// Free-stream speed, m/s: along +x without a case file, along the case's direction with one.
    #[arg(long)]
    pub velocity: Option<f64>,
    /// Cell budget for the automatic mesh.
    #[arg(long)]
    pub target_cells: Option<u64>,
    /// MPI ranks.
    #[arg(long)]
    pub cores: Option<u32>,
    /// Maximum solver iterations.
    #[arg(long)]
    pub iterations: Option<u32>,
    /// Unit scale applied to the geometry (0.001 for millimetres).
    #[arg(long)]
    pub scale: Option<f64>,
    /// Stop after meshing and checkMesh (check the mesh before paying for a solve).
    #[arg(long)]
    pub mesh_only: bool,
    /// Who proposes the mesh parameters the case leaves open: `ai` (the mesh AI where it
    /// may answer, the rules otherwise, saying why) or `rules`.
    #[arg(long, value_parser = ["ai", "rules"], default_value = "ai")]
    pub mesh_params: String,
    /// The mesh AI's model directory (mesh_ai.onnx + model.json from mesh-ai/train.py).
    #[arg(long, env = "FLOWCFD_MESH_MODEL")]
    pub mesh_model: Option<PathBuf>,
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an earlier result in --out.
    #[arg(long)]
    pub force: bool,
    /// Continue the transient run a killed `flowcfd run` left in --out, from its latest
    /// written time (meshing and potentialFoam are skipped).
    #[arg(long, conflicts_with_all = ["force", "mesh_only"])]
    pub resume: bool,
    /// OpenFOAM environment script (etc/bashrc) when OpenFOAM is not the Debian package.
    #[arg(long, env = "FLOWCFD_OPENFOAM_ENV")]
    pub openfoam_env: Option<PathBuf>,
    /// The OpenFOAM to write the case for: esi:VERSION (esi:2312) or foundation:VERSION
    /// (foundation:11). Overrides the case file's solver.openfoam; without either, the
    /// OpenFOAM found decides, and esi:2312 when none is found (`flowcfd case`).
    #[arg(long, env = "FLOWCFD_OPENFOAM_FLAVOUR")]
    pub openfoam_flavour: Option<Flavour>,
    /// Largest accepted geometry file, MiB.
    #[arg(long, default_value_t = 1024)]
    pub max_geometry_mib: u64,
    /// Largest accepted triangle count.
    #[arg(long, default_value_t = 20_000_000)]
    pub max_triangles: usize,
    /// Also copy every step's OpenFOAM output to stdout, after a `==> flowcfd step I/N NAME`
    /// line (for executors, whose workers follow the run from its log).
    #[arg(long, hide = true)]
    pub stream_log: bool,
}

/// Builds the spec and the geometry path from the arguments.
fn load(a: &CaseArgs) -> Result<(CaseSpec, PathBuf), PipelineError> {
    let (mut spec, base) = match &a.case_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| PipelineError::Io(format!("case file {}: {e}", path.display())))?;
            // JSON is the API's form of the same spec (`case.json` of a server job).
            let spec = if path.extension().is_some_and(|e| e == "json") {
                CaseSpec::from_json(&text)?
            } else {
                CaseSpec::from_toml(&text, &path.display().to_string())?
            };
            (spec, path.parent().map(Path::to_path_buf).unwrap_or_default())
        }
        None => {
            let v = a.velocity.unwrap_or(20.0);
            let text = format!("[flow]\ntype = \"external\"\nvelocity = [{v:?}, 0.0, 0.0]\n");
            (CaseSpec::from_toml(&text, "command line")?, PathBuf::new())
        }
    };
    if let (Some(_), Some(speed)) = (&a.case_file, a.velocity) {
        // With a case file, --velocity sets the speed and keeps the case's direction.
        let m = spec.speed();
        spec.flow.velocity = spec.flow.velocity.map(|c| c / m * speed);
    }
    if let Some(n) = a.target_cells {
        spec.mesh.target_cells = n;
    }
    if let Some(n) = a.cores {
        spec.solver.cores = n;
    }
    if let Some(n) = a.iterations {
        spec.solver.iterations = n;
    }
    if let Some(s) = a.scale {
        spec.scale = s;
    }
    spec.mesh_only |= a.mesh_only;
    if let Some(f) = a.openfoam_flavour {
        spec.solver.openfoam = Some(f);
    }
    spec.validate()?;
    let geometry = match (&a.geometry, &spec.geometry) {
        (Some(g), _) => g.clone(),
        (None, Some(g)) => base.join(g),
        (None, None) => {
            return Err(PipelineError::Refused(
                "no geometry: pass --geometry FILE or set geometry = \"file.stl\" in the case file".into(),
            ))
        }
    };
    Ok((spec, geometry))
}

fn prepare(a: &CaseArgs, env: Option<&OpenFoamEnv>, run: bool) -> Result<Prepared, PipelineError> {
    let (mut spec, geometry) = load(a)?;
    if let Some(w) = pipeline::choose_flavour(&mut spec, env, run)? {
        eprintln!("warning: {w}");
    }
    let limits =
        Limits { max_geometry_bytes: a.max_geometry_mib.saturating_mul(1 << 20), max_triangles: a.max_triangles };
    let (model, load_error) = match a.mesh_params.as_str() {
        "ai" => flowcfd::meshai::model_or_default(a.mesh_model.as_deref()),
        _ => (None, None),
    };
    let mesh = if a.mesh_params == "rules" { MeshParams::Rules } else { MeshParams::Ai(model.as_deref()) };
    let mut p = pipeline::prepare_with(spec, &geometry, &limits, mesh)?;
    let load_failed = load_error.is_some();
    if let Some(e) = load_error {
        p.mesh_choice.reason = Some(e);
    }
    for w in &p.warnings {
        eprintln!("warning: {w}");
    }
    // A model that failed to load, or one given by hand that did not answer, is worth a
    // warning; the built-in model declining an unfamiliar geometry is the plan line's news.
    if load_failed || (a.mesh_model.is_some() && a.mesh_params == "ai" && p.mesh_choice.source == "rules") {
        eprintln!(
            "warning: the rules chose the mesh parameters: {}",
            p.mesh_choice.reason.as_deref().unwrap_or_default()
        );
    }
    eprintln!(
        "geometry: {} triangles, {} groups, bbox {:?}..{:?} m; mesh plan ({}): base {:.4} m, ~{} cells, {} layers",
        p.surface.tris.len(),
        p.analysis.groups.len(),
        p.analysis.bbox_min.map(|x| (x * 1e4).round() / 1e4),
        p.analysis.bbox_max.map(|x| (x * 1e4).round() / 1e4),
        p.mesh_choice.source,
        p.case.plan.base_cell_size,
        p.case.plan.estimated_cells,
        p.case.plan.layers.count
    );
    Ok(p)
}

/// Writes the case, and with `run` meshes and solves it.
pub fn case(a: &CaseArgs, run: bool) -> Result<(), PipelineError> {
    let started_at = flowcfd::runner::usage::now_ms();
    // The OpenFOAM found decides the case's dictionaries (unless the case names one), so it
    // is looked for first; `flowcfd case` writes for ESI v2312 when there is none.
    let env = if run {
        Some(pipeline::openfoam_env(a.openfoam_env.as_deref())?)
    } else {
        pipeline::openfoam_env(a.openfoam_env.as_deref()).ok()
    };
    let p = prepare(a, env.as_ref(), run)?;
    let env = if run { env } else { None };
    let out = if a.resume && run {
        OutDir::reopen(&a.out)?
    } else {
        let out = OutDir::claim(&a.out, a.force)?;
        flowcfd::foam::case::write(&p.case, &out.case_dir())?;
        out
    };
    let Some(env) = env else {
        out.commit(None)?;
        eprintln!("case written to {}; run it with ./Allrun there", out.final_case_dir().display());
        return Ok(());
    };
    // Which OpenFOAM, and how it was found, heads the run's log (a batch job's run.log).
    eprintln!("OpenFOAM: {}; the case is written for {}", env.source, p.case.flavour.describe());
    let mut progress = CliProgress::new(p.spec.solver.iterations).stream_log(a.stream_log);
    // The run's own record of its time (out/usage.json), whatever the outcome: metering
    // counts from it.
    let mut meter = Meter::new(&mut progress, started_at, p.spec.solver.cores);
    let result = if a.resume {
        let (t, _) = flowcfd::foam::transient::latest_time(&out.case_dir()).unwrap_or_default();
        eprintln!("resuming the run in {} from its latest written time, {t} s", out.case_dir().display());
        pipeline::resume(&p, &out, &env, &mut meter, &SIGNALLED)
    } else {
        pipeline::run(&p, &out, &env, &mut meter, &SIGNALLED)
    };
    let usage = meter.finish();
    progress.finish();
    if let Err(e) = flowcfd::runner::usage::write(&out.root, &usage) {
        eprintln!("warning: cannot write {}: {e}", out.root.join(USAGE_FILE).display());
    }
    let s = result?;
    if let Some(stop) = s["stopped"].as_object() {
        println!(
            "stopped early ({}) after {} iterations; summary in {}, case in {}",
            stop["reason"].as_str().unwrap_or_default(),
            s["solve"]["iterations"],
            out.summary().display(),
            out.final_case_dir().display()
        );
        return Ok(());
    }
    if p.spec.mesh_only {
        println!(
            "mesh done: {} cells (mesh ok: {}, layer coverage {}); summary in {}, case in {}",
            s["mesh"]["cells"],
            s["mesh"]["ok"],
            fmt_opt(&s["mesh"]["layer_coverage"]),
            out.summary().display(),
            out.final_case_dir().display()
        );
        return Ok(());
    }
    println!(
        "done: {} cells (mesh ok: {}), {} iterations (converged: {}), Cd {} Cl {}; summary in {}, case in {}",
        s["mesh"]["cells"],
        s["mesh"]["ok"],
        s["solve"]["iterations"],
        s["solve"]["converged"],
        fmt_opt(&s["forces"]["Cd"]),
        fmt_opt(&s["forces"]["Cl"]),
        out.summary().display(),
        out.final_case_dir().display()
    );
    Ok(())
}

fn fmt_opt(v: &serde_json::Value) -> String {
    v.as_f64().map_or("n/a".into(), |x| format!("{x:.4}"))
}
