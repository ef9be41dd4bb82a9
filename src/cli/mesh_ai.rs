//! `flowcfd mesh-ai`: the mesh parameters proposed for a geometry (the mesh AI, or the
//! rules), its voxel grid, and the evaluation that meshes geometries for real.
use clap::Subcommand;
use flowcfd::foam::spec::CaseSpec;
use flowcfd::runner::pipeline;
use std::path::{Path, PathBuf};

/// `flowcfd mesh-ai` verbs.
#[derive(Subcommand)]
pub enum MeshAiCmd {
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
        /// Also solve each mesh for N SIMPLE iterations (k-ω SST) and report the y+ the
        /// solver measured on the walls.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
        solve: Option<u32>,
    },
    /// Print the geometry's occupancy grid (the model's input) as one JSON line:
    /// `{size, kind, origin, cell, occupied, bits}` with `bits` the base64 of the packed
    /// grid; `kind` is `solid` (a closed surface's inside) or `shell` (the neighbourhood of
    /// an open surface, or of one too thin for the grid).
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

/// Reads and heals a surface as the pipeline does.
pub fn read_healed(path: &Path, scale: f64) -> anyhow::Result<flowcfd::geometry::Surface> {
    if !(scale.is_finite() && scale > 0.0) {
        return Err(anyhow::anyhow!("--scale {scale}: must be a positive number (0.001 for millimetres)"));
    }
    Ok(pipeline::read_healed(path, scale)?.0)
}

/// Runs a `mesh-ai` verb.
pub fn mesh_ai(cmd: &MeshAiCmd) -> anyhow::Result<()> {
    match cmd {
        MeshAiCmd::Predict { geometry, target_cells, velocity, scale, flow, model, mesh_params } => {
            if !(velocity.is_finite() && *velocity > 0.0) {
                return Err(anyhow::anyhow!("--velocity {velocity}: must be a positive speed in m/s"));
            }
            if flow != "external" && flow != "internal" {
                return Err(anyhow::anyhow!("--flow {flow:?}: expected external or internal"));
            }
            let text = format!(
                "[flow]\ntype = \"{flow}\"\nvelocity = [{velocity:?}, 0.0, 0.0]\n[mesh]\ntarget_cells = {target_cells}\n"
            );
            let spec = CaseSpec::from_toml(&text, "command line")?;
            let s = read_healed(geometry, *scale)?;
            let a = flowcfd::geometry::analyse::analyse(&s, [1.0, 0.0, 0.0]);
            // A model that cannot be loaded is reported, and the rules answer.
            let rules = mesh_params == "rules";
            let (model, load_error) =
                if rules { (None, None) } else { flowcfd::meshai::model_or_default(model.as_deref()) };
            let mut v = flowcfd::meshai::suggest_with(&spec, &a, &s, model.as_deref())?;
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
        MeshAiCmd::Eval { dir, target_cells, velocity, out, openfoam_env, model, solve } => {
            let model = match flowcfd::meshai::model_or_default(model.as_deref()) {
                (m, None) => m,
                (_, Some(e)) => return Err(anyhow::Error::msg(e)),
            };
            let args = flowcfd::runner::meshai_eval::EvalArgs {
                dir: dir.clone(),
                target_cells: *target_cells,
                velocity: *velocity,
                out: out.clone(),
                openfoam_env: openfoam_env.clone(),
                model,
                solve: *solve,
            };
            let report = flowcfd::runner::meshai_eval::run(&args).map_err(anyhow::Error::msg)?;
            print!("{}", flowcfd::runner::meshai_eval::markdown(&report));
            eprintln!("report: {}, {}", out.join("eval.md").display(), out.join("eval.json").display());
            Ok(())
        }
        MeshAiCmd::Voxelize { geometry, size, scale } => {
            if !(4..=256).contains(size) {
                return Err(anyhow::anyhow!("--size {size}: expected 4 to 256 cells per side"));
            }
            use base64::Engine as _;
            use flowcfd::meshai::voxel;
            let s = read_healed(geometry, *scale)?;
            // A closed surface's inside; an open (or too thin) one's neighbourhood.
            let (grid, kind) = voxel::grid(&s, *size)?;
            let kind = kind.as_str();
            let (origin, cell) = voxel::cube(&s, *size)?;
            let bits = base64::engine::general_purpose::STANDARD.encode(voxel::pack_bits(&grid));
            let occupied = grid.iter().filter(|&&v| v == 1).count();
            println!(
                "{}",
                serde_json::json!({"size": size, "kind": kind, "origin": origin, "cell": cell, "occupied": occupied, "bits": bits})
            );
            Ok(())
        }
    }
}
