//! The `flowcfd` command line.

use clap::{Args, Parser, Subcommand};
use flowcfd::foam::spec::CaseSpec;
use flowcfd::jobs::local::{cancel_on_signals, SIGNALLED};
use flowcfd::jobs::pipeline::{self, Limits, MeshParams, OutDir, PipelineError, Prepared};
use flowcfd::jobs::progress::CliProgress;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "flowcfd", version, about = "CAD surface to converged OpenFOAM simulation")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Mesh and solve: `flowcfd run CASE.toml --out DIR` or `flowcfd run --geometry FILE --out DIR`.
    Run(CaseArgs),
    /// Write the OpenFOAM case only (run it later with ./Allrun).
    Case(CaseArgs),
    /// Read, heal and analyse a surface; print the report as JSON.
    Geometry {
        /// STL or OBJ file (optionally .gz).
        file: PathBuf,
        /// Unit scale (0.001 for millimetres).
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// Flow direction for the frontal area.
        #[arg(long, value_parser = parse_vec3, default_value = "1,0,0")]
        flow_dir: [f64; 3],
    },
    /// Run the web appliance: API, pages, background processing.
    Serve(ServerArgs),
    /// Run jobs from the shared database without serving HTTP (several may share one PostgreSQL).
    Worker(ServerArgs),
    /// Run the database migrations and exit.
    Migrate(ServerArgs),
    /// Administration from the command line.
    Admin {
        #[command(subcommand)]
        cmd: AdminCmd,
    },
    /// Configuration.
    Config {
        #[command(subcommand)]
        cmd: ConfigCmd,
    },
    /// Mesh parameters for a geometry (the mesh AI, or the rules), and its voxel grid.
    #[command(name = "mesh-ai")]
    MeshAi {
        #[command(subcommand)]
        cmd: MeshAiCmd,
    },
    /// Post-processing without ParaView: each verb writes VTK (.vtp) and prints one JSON line
    /// of statistics (triangles, area, field min/max; streamline count and total length).
    Post {
        #[command(subcommand)]
        cmd: PostCmd,
    },
    /// Benchmarks against a baseline run in the same invocation.
    Bench {
        #[command(subcommand)]
        which: BenchCmd,
    },
}

/// Which result to read.
#[derive(Args)]
struct PostCase {
    /// The OpenFOAM case directory.
    #[arg(long)]
    case: PathBuf,
    /// The time to read (default: the latest).
    #[arg(long)]
    time: Option<String>,
    /// auto (reconstructed when present), reconstructed, or decomposed (processor*/).
    #[arg(long, default_value = "auto")]
    source: flowcfd::post::Source,
}

#[derive(Subcommand)]
enum PostCmd {
    /// Boundary patches with a field (default: the wall patches).
    Surface {
        #[command(flatten)]
        c: PostCase,
        /// Patch names, globs (motorBike*) or groups, comma-separated.
        #[arg(long, value_delimiter = ',')]
        patches: Vec<String>,
        /// p, U:mag, U:x, wallShearStress:mag, yPlus, Q, ...
        #[arg(long)]
        field: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// A cut plane through the cells, coloured by a field.
    Slice {
        #[command(flatten)]
        c: PostCase,
        #[arg(long, value_parser = parse_vec3)]
        origin: [f64; 3],
        #[arg(long, value_parser = parse_vec3)]
        normal: [f64; 3],
        #[arg(long)]
        field: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// An isosurface of a scalar (Q for the Q-criterion), coloured by itself or another.
    Iso {
        #[command(flatten)]
        c: PostCase,
        #[arg(long)]
        field: String,
        #[arg(long, allow_negative_numbers = true)]
        value: f64,
        #[arg(long)]
        color_by: Option<String>,
        /// cells (each polyhedral cell cut whole, the default) or tets (marching tetrahedra
        /// over each cell's decomposition).
        #[arg(long)]
        method: Option<String>,
        #[arg(long)]
        out: PathBuf,
    },
    /// Streamlines of U (RK4) from seeds evenly along a line.
    Streamlines {
        #[command(flatten)]
        c: PostCase,
        /// X,Y,Z:X,Y,Z
        #[arg(long, allow_hyphen_values = true)]
        seed_line: String,
        #[arg(long)]
        count: usize,
        /// The vector field to follow.
        #[arg(long, default_value = "U")]
        field: String,
        #[arg(long)]
        color_by: Option<String>,
        /// Stop a streamline after this length in metres (default: the mesh's largest side).
        #[arg(long)]
        max_length: Option<f64>,
        /// forward, backward or both.
        #[arg(long, default_value = "both")]
        direction: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Field values at points (null outside the mesh), or along a segment (a line plot).
    Probe {
        #[command(flatten)]
        c: PostCase,
        #[arg(long)]
        field: String,
        /// X,Y,Z;X,Y,Z
        #[arg(long, allow_hyphen_values = true, required_unless_present = "line")]
        points: Option<String>,
        /// X,Y,Z:X,Y,Z, sampled at --samples evenly spaced points, ends included.
        #[arg(long, allow_hyphen_values = true, conflicts_with = "points")]
        line: Option<String>,
        #[arg(long, default_value_t = 100)]
        samples: usize,
    },
}

fn post(cmd: PostCmd) -> Result<(), String> {
    use flowcfd::post::{view::Seeds, view::View, Case, FieldSel};
    let open = |c: &PostCase| Case::open(&c.case, c.time.as_deref(), c.source).map_err(|e| e.to_string());
    let (c, view, out) = match cmd {
        PostCmd::Probe { c, field, points, line, samples } => {
            let sel = FieldSel::parse(&field).map_err(|e| e.to_string())?;
            let pts: Vec<[f64; 3]> = match (points, line) {
                (Some(points), _) => {
                    points.split(';').filter(|p| !p.trim().is_empty()).map(parse_vec3).collect::<Result<_, _>>()?
                }
                (None, Some(line)) => {
                    let (a, b) = line.split_once(':').ok_or("--line is X,Y,Z:X,Y,Z")?;
                    if !(2..=100_000).contains(&samples) {
                        return Err("--samples must be 2 to 100000".into());
                    }
                    flowcfd::post::stream::seeds_on_line(parse_vec3(a)?, parse_vec3(b)?, samples)
                }
                (None, None) => return Err("give --points or --line".into()),
            };
            if pts.is_empty() {
                return Err("--points needs at least one X,Y,Z".into());
            }
            let case = open(&c)?;
            let vals = case.probe(&sel, &pts).map_err(|e| e.to_string())?;
            let line = serde_json::json!({"field": sel.label(), "time": case.time, "points": pts, "values": vals});
            println!("{line}");
            return Ok(());
        }
        PostCmd::Surface { c, patches, field, out } => (c, View::Surface { patches, field: Some(field) }, out),
        PostCmd::Slice { c, origin, normal, field, out } => {
            (c, View::Slice { origin, normal, field: Some(field) }, out)
        }
        PostCmd::Iso { c, field, value, color_by, method, out } => {
            (c, View::Iso { field, value, color_by, method }, out)
        }
        PostCmd::Streamlines { c, seed_line, count, field, color_by, max_length, direction, out } => {
            let (a, b) = seed_line.split_once(':').ok_or("--seed-line is X,Y,Z:X,Y,Z")?;
            let seeds = Seeds::Line { from: parse_vec3(a)?, to: parse_vec3(b)? };
            (c, View::Streamlines { seeds, count, field, color_by, max_length, direction }, out)
        }
    };
    let case = open(&c)?;
    let pd = flowcfd::post::view::extract(&case, &view).map_err(|e| e.to_string())?;
    let mut w = std::io::BufWriter::new(std::fs::File::create(&out).map_err(|e| format!("{}: {e}", out.display()))?);
    flowcfd::post::vtp::write(&pd, &mut w)
        .and_then(|_| std::io::Write::flush(&mut w))
        .map_err(|e| format!("{}: {e}", out.display()))?;
    let mut stats = pd.stats();
    stats["time"] = case.time.clone().into();
    stats["out"] = out.display().to_string().into();
    println!("{stats}");
    Ok(())
}

#[derive(Subcommand)]
enum MeshAiCmd {
    /// Print the proposed mesh parameters as JSON (`source`, `reason`, `base_cell_size`,
    /// `surface_refinement`, `refinement_boxes`, `layers`, `predicted_cells`, `why`).
    Predict {
        /// STL or OBJ file (optionally .gz).
        #[arg(long)]
        geometry: PathBuf,
        /// Cell budget.
        #[arg(long, default_value_t = 100_000)]
        target_cells: u64,
        /// Free-stream speed along +x, m/s.
        #[arg(long, default_value_t = 20.0)]
        velocity: f64,
        /// Unit scale (0.001 for millimetres).
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// `external` (a body in a wind tunnel) or `internal` (needs inlet and outlet groups
        /// named in a case file; use `flowcfd run` for that).
        #[arg(long, default_value = "external")]
        flow: String,
        /// A model directory (mesh_ai.onnx + model.json from mesh-ai/train.py) instead of
        /// the model built into this binary.
        #[arg(long, env = "FLOWCFD_MESH_MODEL")]
        model: Option<PathBuf>,
        /// `ai` (the mesh AI where it may answer, the rules otherwise, saying why) or `rules`.
        #[arg(long, value_parser = ["ai", "rules"], default_value = "ai")]
        mesh_params: String,
    },
    /// Predict and really mesh every geometry in DIR with each source (the mesh AI, the
    /// rules); writes eval.md and eval.json to --out and prints the table.
    Eval {
        /// A directory of .stl / .obj files.
        dir: PathBuf,
        #[arg(long, default_value_t = 100_000)]
        target_cells: u64,
        #[arg(long, default_value_t = 20.0)]
        velocity: f64,
        /// Where the meshes and the report go.
        #[arg(long, default_value = "mesh-ai-eval")]
        out: PathBuf,
        /// OpenFOAM environment script (etc/bashrc) when OpenFOAM is not the Debian package.
        #[arg(long, env = "FLOWCFD_OPENFOAM_ENV")]
        openfoam_env: Option<PathBuf>,
        /// A model directory instead of the one built in (without either, the AI column says
        /// it is not available).
        #[arg(long, env = "FLOWCFD_MESH_MODEL")]
        model: Option<PathBuf>,
    },
    /// Print the geometry's occupancy grid (the model's input) as one JSON line:
    /// `{size, origin, cell, occupied, bits}` with `bits` the base64 of the packed grid.
    Voxelize {
        #[arg(long)]
        geometry: PathBuf,
        /// Cells per side.
        #[arg(long, default_value_t = 64)]
        size: usize,
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
    },
}

fn read_healed(path: &Path, scale: f64) -> Result<flowcfd::geometry::Surface, String> {
    if !(scale.is_finite() && scale > 0.0) {
        return Err(format!("--scale {scale}: must be a positive number (0.001 for millimetres)"));
    }
    Ok(pipeline::read_healed(path, scale).map_err(|e| e.to_string())?.0)
}

fn mesh_ai(cmd: &MeshAiCmd) -> Result<(), String> {
    match cmd {
        MeshAiCmd::Predict { geometry, target_cells, velocity, scale, flow, model, mesh_params } => {
            if !(velocity.is_finite() && *velocity > 0.0) {
                return Err(format!("--velocity {velocity}: must be a positive speed in m/s"));
            }
            if flow != "external" && flow != "internal" {
                return Err(format!("--flow {flow:?}: expected external or internal"));
            }
            let text = format!(
                "[flow]\ntype = \"{flow}\"\nvelocity = [{velocity:?}, 0.0, 0.0]\n[mesh]\ntarget_cells = {target_cells}\n"
            );
            let spec = CaseSpec::from_toml(&text, "command line").map_err(|e| e.to_string())?;
            let s = read_healed(geometry, *scale)?;
            let a = flowcfd::geometry::analyse::analyse(&s, [1.0, 0.0, 0.0]);
            // A model that cannot be loaded is reported, and the rules answer.
            let rules = mesh_params == "rules";
            let (model, load_error) =
                if rules { (None, None) } else { flowcfd::meshai::model_or_default(model.as_deref()) };
            let mut v = flowcfd::meshai::suggest_with(&spec, &a, &s, model.as_deref()).map_err(|e| e.to_string())?;
            if rules {
                v["reason"] = serde_json::json!(flowcfd::meshai::RULES_ASKED);
            }
            if let Some(e) = load_error {
                eprintln!("warning: {e}");
                v["reason"] = serde_json::json!(e);
            }
            println!("{}", serde_json::to_string_pretty(&v).expect("JSON"));
            Ok(())
        }
        MeshAiCmd::Eval { dir, target_cells, velocity, out, openfoam_env, model } => {
            let model = match flowcfd::meshai::model_or_default(model.as_deref()) {
                (m, None) => m,
                (_, Some(e)) => return Err(e),
            };
            let args = flowcfd::meshai::eval::EvalArgs {
                dir: dir.clone(),
                target_cells: *target_cells,
                velocity: *velocity,
                out: out.clone(),
                openfoam_env: openfoam_env.clone(),
                model,
            };
            let report = flowcfd::meshai::eval::run(&args)?;
            print!("{}", flowcfd::meshai::eval::markdown(&report));
            eprintln!("report: {}, {}", out.join("eval.md").display(), out.join("eval.json").display());
            Ok(())
        }
        MeshAiCmd::Voxelize { geometry, size, scale } => {
            if !(4..=256).contains(size) {
                return Err(format!("--size {size}: expected 4 to 256 cells per side"));
            }
            use base64::Engine as _;
            use flowcfd::meshai::voxel;
            let s = read_healed(geometry, *scale)?;
            let grid = voxel::voxelize(&s, *size).map_err(|e| e.to_string())?;
            let (origin, cell) = voxel::frame(&s, *size).map_err(|e| e.to_string())?;
            let bits = base64::engine::general_purpose::STANDARD.encode(voxel::pack_bits(&grid));
            let occupied = grid.iter().filter(|&&v| v == 1).count();
            println!(
                "{}",
                serde_json::json!({"size": size, "origin": origin, "cell": cell, "occupied": occupied, "bits": bits})
            );
            Ok(())
        }
    }
}

#[derive(Subcommand)]
enum BenchCmd {
    /// OpenFOAM's motorBike tutorial (serial) against FlowCFD's pipeline on the same geometry.
    Motorbike(flowcfd::bench::MotorbikeArgs),
    /// Trivial jobs through the durable queue: one worker (baseline) against several.
    Queue(flowcfd::bench::queue::QueueArgs),
    /// Residual latency from a solver's log line to a WebSocket client, against a bare
    /// poll of the same log.
    Events(flowcfd::bench::events::EventsArgs),
    /// Post-processing (surface, slice, isosurface, 1,000 streamlines) against ParaView's
    /// pvpython on the same results.
    Post(flowcfd::bench::post::PostArgs),
}

/// Where the server's configuration comes from (flags win over env, env over the file).
#[derive(Args, Clone)]
struct ServerArgs {
    /// Listen address, ADDR:PORT [default: 127.0.0.1:8080].
    #[arg(long, env = "FLOWCFD_BIND")]
    bind: Option<String>,
    /// Data directory for the embedded defaults (SQLite, blobs, secret) [default: ./data].
    #[arg(long, env = "FLOWCFD_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Configuration file [default: ./flowcfd.toml when it exists].
    #[arg(long, env = "FLOWCFD_CONFIG")]
    config: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://USER:PASSWORD@HOST/DB.
    #[arg(long, env = "FLOWCFD_DATABASE_URL")]
    database_url: Option<String>,
}

impl ServerArgs {
    fn load(&self) -> Result<flowcfd::config::Config, String> {
        let over = flowcfd::config::Overrides {
            config_file: self.config.clone(),
            bind: self.bind.clone(),
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
        };
        flowcfd::config::Config::load(&over).map_err(|e| e.to_string())
    }
}

#[derive(Subcommand)]
enum AdminCmd {
    /// Create an account (for the first admin, or when registration is closed).
    CreateUser {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// The password; better given through the environment than on the command line.
        #[arg(long, env = "FLOWCFD_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
        /// Make the account a server administrator.
        #[arg(long)]
        admin: bool,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Encrypt a cluster's SSH private key under the server secret; prints the value for
    /// the cluster's `key_sealed` setting.
    SealKey {
        /// The private key file (OpenSSH format).
        file: PathBuf,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Connect to a configured cluster and report its host key (to pin it as `host_key`)
    /// and whether signing in and Slurm work.
    CheckCluster {
        name: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(Subcommand)]
enum ConfigCmd {
    /// Print the effective configuration (all layers applied), secrets masked.
    Show(ServerArgs),
}

#[derive(Args)]
struct CaseArgs {
    /// Case file (TOML). Without it, --geometry runs external aero with defaults.
    case_file: Option<PathBuf>,
    /// Geometry file (STL/OBJ); overrides the case file's `geometry`.
    #[arg(long)]
    geometry: Option<PathBuf>,
    /// Free-stream speed, m/s: along +x without a case file, along the case's direction with one.
    #[arg(long)]
    velocity: Option<f64>,
    /// Cell budget for the automatic mesh.
    #[arg(long)]
    target_cells: Option<u64>,
    /// MPI ranks.
    #[arg(long)]
    cores: Option<u32>,
    /// Maximum solver iterations.
    #[arg(long)]
    iterations: Option<u32>,
    /// Unit scale applied to the geometry (0.001 for millimetres).
    #[arg(long)]
    scale: Option<f64>,
    /// Stop after meshing and checkMesh (check the mesh before paying for a solve).
    #[arg(long)]
    mesh_only: bool,
    /// Who proposes the mesh parameters the case leaves open: `ai` (the mesh AI where it
    /// may answer, the rules otherwise, saying why) or `rules`.
    #[arg(long, value_parser = ["ai", "rules"], default_value = "ai")]
    mesh_params: String,
    /// The mesh AI's model directory (mesh_ai.onnx + model.json from mesh-ai/train.py).
    #[arg(long, env = "FLOWCFD_MESH_MODEL")]
    mesh_model: Option<PathBuf>,
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
    /// Replace an earlier result in --out.
    #[arg(long)]
    force: bool,
    /// OpenFOAM environment script (etc/bashrc) when OpenFOAM is not the Debian package.
    #[arg(long, env = "FLOWCFD_OPENFOAM_ENV")]
    openfoam_env: Option<PathBuf>,
    /// Largest accepted geometry file, MiB.
    #[arg(long, default_value_t = 1024)]
    max_geometry_mib: u64,
    /// Largest accepted triangle count.
    #[arg(long, default_value_t = 20_000_000)]
    max_triangles: usize,
    /// Also copy every step's OpenFOAM output to stdout, after a `==> flowcfd step I/N NAME`
    /// line (for executors, whose workers follow the run from its log).
    #[arg(long, hide = true)]
    stream_log: bool,
}

use flowcfd::post::parse_vec3;

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

fn prepare(a: &CaseArgs) -> Result<Prepared, PipelineError> {
    let (spec, geometry) = load(a)?;
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

fn cmd_case(a: &CaseArgs, run: bool) -> Result<(), PipelineError> {
    let p = prepare(a)?;
    let env = if run { Some(pipeline::openfoam_env(a.openfoam_env.as_deref())?) } else { None };
    let out = OutDir::claim(&a.out, a.force)?;
    flowcfd::foam::case::write(&p.case, &out.case_dir())?;
    let Some(env) = env else {
        out.commit(None)?;
        eprintln!("case written to {}; run it with ./Allrun there", out.final_case_dir().display());
        return Ok(());
    };
    let mut progress = CliProgress::new(p.spec.solver.iterations).stream_log(a.stream_log);
    let result = pipeline::run(&p, &out, &env, &mut progress, &SIGNALLED);
    progress.finish();
    let s = result?;
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

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime")
}

fn cmd_migrate(a: &ServerArgs) -> Result<(), String> {
    let cfg = a.load()?;
    runtime().block_on(async {
        let store = flowcfd::store::open(&cfg.database_url()).await.map_err(|e| e.to_string())?;
        store.migrate().await.map_err(|e| e.to_string())?;
        println!("migrations applied ({})", store.dialect());
        Ok(())
    })
}

fn cmd_seal_key(file: &std::path::Path, a: &ServerArgs) -> Result<(), String> {
    let cfg = a.load()?;
    let key = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    if !String::from_utf8_lossy(&key).contains("PRIVATE KEY") {
        return Err(format!("{} is not a private key file (no PRIVATE KEY block)", file.display()));
    }
    let keys = flowcfd::auth::Keys::load(cfg.auth.secret.as_deref(), &cfg.data_dir)
        .map_err(|e| format!("server secret in {}: {e}", cfg.data_dir.display()))?;
    println!("{}", keys.seal(&key));
    Ok(())
}

fn cmd_check_cluster(name: &str, a: &ServerArgs) -> Result<(), String> {
    let cfg = a.load()?;
    let c = cfg
        .clusters
        .iter()
        .find(|c| c.name == name)
        .ok_or_else(|| format!("no cluster named {name:?} in the configuration"))?;
    let keys = flowcfd::auth::Keys::load(cfg.auth.secret.as_deref(), &cfg.data_dir).map_err(|e| e.to_string())?;
    let key = keys.unseal(c.key_sealed.as_deref().unwrap_or_default())?;
    let link = flowcfd::jobs::slurm::Link::new(c.clone(), String::from_utf8_lossy(&key).into_owned());
    let (fp, line) = link.offered_host_key().map_err(|e| e.to_string())?;
    println!("host key offered by {}:{}: {fp}\n  {line}", c.host, c.port);
    let out =
        link.run(&flowcfd::jobs::slurm::command(&["sinfo", "-h", "-o", "%P %a %D %T"])).map_err(|e| e.to_string())?;
    println!("signed in as {}; sinfo:\n{}", c.user, out.stdout.trim_end());
    Ok(())
}

fn cmd_create_user(email: &str, name: &str, password: &str, admin: bool, a: &ServerArgs) -> Result<(), String> {
    let cfg = a.load()?;
    runtime().block_on(async {
        let (st, _rx) = flowcfd::app::state(cfg).await.map_err(|e| e.to_string())?;
        let email = flowcfd::auth::normalise_email(email)?;
        flowcfd::auth::check_password(password, &email)?;
        if st.store.user_by_email(&email).await.map_err(|e| e.to_string())?.is_some() {
            return Err(format!("an account with {email} already exists"));
        }
        let user = st
            .store
            .create_user(flowcfd::store::NewUser {
                email,
                name: name.to_string(),
                password_hash: Some(flowcfd::auth::hash_password(password)),
                auth_provider: "email".into(),
                auth_provider_id: None,
            })
            .await
            .map_err(|e| e.to_string())?;
        let is_admin = admin || user.is_admin;
        st.store.set_user_flags(&user.id, is_admin, false).await.map_err(|e| e.to_string())?;
        st.store.audit(None, "admin.create_user", Some(&user.id), "{}", None).await.map_err(|e| e.to_string())?;
        println!("created {} ({}){}", user.email, user.id, if is_admin { ", administrator" } else { "" });
        Ok(())
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(cli.cmd, Cmd::Run(_) | Cmd::Case(_) | Cmd::Bench { .. }) {
        cancel_on_signals();
    }
    let result = match cli.cmd {
        Cmd::Serve(a) => {
            a.load().and_then(|cfg| runtime().block_on(flowcfd::app::serve(cfg)).map_err(|e| e.to_string()))
        }
        Cmd::Worker(a) => a.load().and_then(|mut cfg| {
            cfg.jobs.slots = cfg.jobs.slots.max(1);
            runtime().block_on(flowcfd::app::worker(cfg)).map_err(|e| e.to_string())
        }),
        Cmd::Migrate(a) => cmd_migrate(&a),
        Cmd::Admin { cmd: AdminCmd::CreateUser { email, name, password, admin, server } } => {
            cmd_create_user(&email, &name, &password, admin, &server)
        }
        Cmd::Admin { cmd: AdminCmd::SealKey { file, server } } => cmd_seal_key(&file, &server),
        Cmd::Admin { cmd: AdminCmd::CheckCluster { name, server } } => cmd_check_cluster(&name, &server),
        Cmd::Config { cmd: ConfigCmd::Show(a) } => a.load().map(|c| print!("{}", c.show())),
        Cmd::Run(a) => cmd_case(&a, true).map_err(|e| e.to_string()),
        Cmd::Case(a) => cmd_case(&a, false).map_err(|e| e.to_string()),
        Cmd::Geometry { file, scale, flow_dir } => flowcfd::jobs::pipeline::geometry_report(&file, scale, flow_dir)
            .map(|v| println!("{}", serde_json::to_string_pretty(&v).expect("JSON")))
            .map_err(|e| e.to_string()),
        Cmd::MeshAi { cmd } => mesh_ai(&cmd),
        Cmd::Post { cmd } => post(cmd),
        Cmd::Bench { which: BenchCmd::Motorbike(a) } => flowcfd::bench::motorbike(&a).map_err(|e| e.to_string()),
        Cmd::Bench { which: BenchCmd::Queue(a) } => flowcfd::bench::queue::queue(&a),
        Cmd::Bench { which: BenchCmd::Events(a) } => flowcfd::bench::events::main(&a),
        Cmd::Bench { which: BenchCmd::Post(a) } => flowcfd::bench::post::main(&a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}

/// mimalloc: the store's driver threads allocate rows that the request threads free, and
/// glibc's arenas spent a tenth of a listing's time on that hand-over (bench/http.sh).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
