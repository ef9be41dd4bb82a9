//! `flowcfd-bench meshai`: the mesh AI's answer for a geometry (the 64³ grid, the network
//! through ort over tract, the fit of the base cell and the layer stack) against the rules'
//! answer for the same geometry and case, in the same invocation. Issue 25 bounds the AI's
//! answer at 200 ms on 2 cores; the rules' plan is the baseline the ratio is taken to.
use flowcfd::foam::case::suggested_plan;
use flowcfd::foam::spec::CaseSpec;
use flowcfd::geometry::analyse::analyse;
use std::path::PathBuf;
use std::time::Instant;

/// Options of the mesh AI benchmark.
#[derive(clap::Args)]
pub struct MeshAiArgs {
    /// The geometry (STL or OBJ).
    #[arg(long, default_value = "tests/fixtures/meshai/car.stl")]
    pub geometry: PathBuf,
    /// Answers timed per source (after one untimed warm-up).
    #[arg(long, default_value_t = 20)]
    pub repeat: usize,
    /// A model directory instead of the one built in.
    #[arg(long, env = "FLOWCFD_MESH_MODEL")]
    pub model: Option<PathBuf>,
    /// Fail when the AI's median answer takes longer than this, milliseconds.
    #[arg(long, default_value_t = 200.0)]
    pub max_ms: f64,
}

fn median_ms(mut f: impl FnMut() -> Result<(), String>, n: usize) -> Result<f64, String> {
    f()?;
    let mut t = Vec::with_capacity(n);
    for _ in 0..n.max(1) {
        let s = Instant::now();
        f()?;
        t.push(s.elapsed().as_secs_f64() * 1e3);
    }
    t.sort_by(|a, b| a.total_cmp(b));
    Ok(t[t.len() / 2])
}

/// Runs the benchmark and prints the medians and their ratio.
pub fn main(a: &MeshAiArgs) -> Result<(), String> {
    let (surface, _) = flowcfd::runner::pipeline::read_healed(&a.geometry, 1.0).map_err(|e| e.to_string())?;
    let spec = CaseSpec::from_toml(
        "[flow]\ntype = \"external\"\nvelocity = [20.0, 0.0, 0.0]\n[mesh]\ntarget_cells = 40000\n",
        "bench",
    )
    .map_err(|e| e.to_string())?;
    let analysis = analyse(&surface, [1.0, 0.0, 0.0]);
    let (model, why) = flowcfd::meshai::model_or_default(a.model.as_deref());
    let model = model.ok_or_else(|| why.unwrap_or_else(|| flowcfd::meshai::NO_MODEL.to_string()))?;
    let rules = median_ms(|| suggested_plan(&spec, &analysis).map(drop).map_err(|e| e.to_string()), a.repeat)?;
    let mut source = "";
    let ai = median_ms(
        || {
            let v =
                flowcfd::meshai::suggest_with(&spec, &analysis, &surface, Some(&model)).map_err(|e| e.to_string())?;
            source = if v["source"] == "ai" { "ai" } else { "rules" };
            Ok(())
        },
        a.repeat,
    )?;
    println!(
        "{}: {} triangles, 40,000 cells; the mesh AI's answer (grid, network, fit): median {ai:.1} ms; the rules' plan: median {rules:.2} ms; ratio {:.0}; {} threads",
        a.geometry.display(),
        surface.tris.len(),
        ai / rules.max(1e-9),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    if source != "ai" {
        return Err("the mesh AI did not answer for this geometry; the time is the rules'".into());
    }
    if ai > a.max_ms {
        return Err(format!("the mesh AI's median answer {ai:.1} ms is over the {} ms bound", a.max_ms));
    }
    Ok(())
}
