//! `flowcfd-bench post`: the same post-processing work done by ParaView's `pvpython` (the
//! baseline) and by `flowcfd::post`, on the same result, in one invocation: read p and U,
//! the wall surfaces with p, a slice with |U|, an isosurface of p, and 1,000 streamlines
//! from the same seeds with the same integrator settings (RK4, a fifth of a cell's
//! diagonal per step, forward, the same length cap). Prints the time ratio per step and
//! in all, and the geometric agreement (slice and isosurface areas, streamline lengths).
use flowcfd::post::view::{self, Seeds, View};
use flowcfd::post::{Case, FieldSel, Source};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Options of `flowcfd-bench post`.
#[derive(Debug, clap::Args)]
pub struct PostArgs {
    /// Result directories (OpenFOAM cases with a solved time). Default: the motorBike
    /// tutorial of `flowcfd-bench motorbike` and a 1M-cell cube (made on first use).
    #[arg(long = "case")]
    pub cases: Vec<PathBuf>,
    /// The pvpython to compare with (Debian's paraview package).
    #[arg(long, default_value = "pvpython")]
    pub pvpython: PathBuf,
    /// The isovalue of p (default -50, or the middle of p's range when -50 is outside it).
    #[arg(long, allow_negative_numbers = true)]
    pub iso: Option<f64>,
    /// Streamline count.
    #[arg(long, default_value_t = 1000)]
    pub streamlines: usize,
    /// Where the 1M-cell case is made.
    #[arg(long, default_value = "/var/tmp/flowcfd-bench-post-1m")]
    pub large: PathBuf,
    /// Skip the 1M-cell case when no --case is given.
    #[arg(long)]
    pub no_large: bool,
}

/// The pvpython side: argv[1] is the case, argv[2] the JSON parameters; prints one JSON line.
const PVPYTHON: &str = r#"
import json, sys, time
t0 = time.perf_counter()
from paraview.simple import *
from paraview import servermanager as sm
case, P = sys.argv[1], json.loads(sys.argv[2])
out = {"import_s": time.perf_counter() - t0}
def timed(name, f):
    t = time.perf_counter(); r = f(); out[name + "_s"] = time.perf_counter() - t; return r
def area(src):
    iv = IntegrateVariables(Input=src); iv.UpdatePipeline()
    d = sm.Fetch(iv); a = d.GetCellData().GetArray("Area")
    return a.GetValue(0) if a else 0.0
def length(src):
    iv = IntegrateVariables(Input=src); iv.UpdatePipeline()
    d = sm.Fetch(iv); a = d.GetCellData().GetArray("Length")
    return a.GetValue(0) if a else 0.0
def ncells(src):
    d = sm.Fetch(src)
    if d.IsA("vtkMultiBlockDataSet"):
        it = d.NewIterator(); it.InitTraversal(); n = 0
        while not it.IsDoneWithTraversal():
            n += it.GetCurrentDataObject().GetNumberOfCells(); it.GoToNextItem()
        return n
    return d.GetNumberOfCells()
def read():
    r = OpenFOAMReader(FileName=case + "/case.foam")
    r.CaseType = "Reconstructed Case"
    r.MeshRegions = ["internalMesh"]
    r.CellArrays = ["p", "U"]
    # Polyhedral cells contoured and sliced whole, as flowcfd does (ParaView's default
    # splits them around an added cell-centre point, a different interpolant).
    r.Decomposepolyhedra = 0
    r.UpdatePipelineInformation()
    t = max(r.TimestepValues) if r.TimestepValues else 0
    r.UpdatePipeline(t)
    return r, t
(r, t) = timed("read", read)
def surface():
    s = OpenFOAMReader(FileName=case + "/case.foam")
    s.CaseType = "Reconstructed Case"
    avail = s.GetProperty("MeshRegions").Available
    want = [m for m in avail if any(p in m.split("/")[-1] for p in P["patches"])]
    s.MeshRegions = want
    s.CellArrays = ["p"]
    s.Decomposepolyhedra = 0
    s.UpdatePipeline(t)
    e = ExtractSurface(Input=MergeBlocks(Input=s)); e.UpdatePipeline(t)
    return e
surf = timed("surface", surface)
out["surface_faces"] = ncells(surf)
def slice_():
    s = Slice(Input=r); s.SliceType = "Plane"; s.SliceType.Origin = P["origin"]; s.SliceType.Normal = P["normal"]
    s.UpdatePipeline(t); return s
sl = timed("slice", slice_)
out["slice_area"] = area(sl)
def iso():
    c = Contour(Input=r); c.ContourBy = ["POINTS", "p"]; c.Isosurfaces = [P["iso"]]; c.UpdatePipeline(t); return c
c = timed("iso", iso)
out["iso_area"] = area(c)
def streams():
    st = StreamTracer(Input=r, SeedType="Line")
    st.Vectors = ["POINTS", "U"]
    st.SeedType.Point1 = P["seed_from"]; st.SeedType.Point2 = P["seed_to"]; st.SeedType.Resolution = P["count"] - 1
    st.IntegrationDirection = "FORWARD"; st.IntegratorType = "Runge-Kutta 4"
    st.IntegrationStepUnit = "Cell Length"; st.InitialStepLength = P["step"]
    st.MaximumStreamlineLength = P["max_length"]; st.MaximumSteps = 1000000; st.TerminalSpeed = 1e-12
    st.UpdatePipeline(t); return st
s = timed("streamlines", streams)
out["streamlines"] = ncells(s)
out["streamline_length"] = length(s)
# ParaView's own default (polyhedra split around a cell-centre point) traces faster; time it
# too, so the ratio against ParaView at its fastest is on record.
r2 = OpenFOAMReader(FileName=case + "/case.foam"); r2.CaseType = "Reconstructed Case"
r2.MeshRegions = ["internalMesh"]; r2.CellArrays = ["U"]; r2.UpdatePipeline(t)
r = r2
s2 = timed("streamlines_default", streams)
out["streamline_length_default"] = length(s2)
out["time"] = t
print(json.dumps(out))
"#;

fn ours(case: &Path, params: &Value, patches: &[String]) -> Result<Value, String> {
    let e = |x: flowcfd::post::PostError| x.to_string();
    let mut out = json!({});
    let t = Instant::now();
    let c = Case::open(case, None, Source::Reconstructed).map_err(e)?;
    c.field("p").map_err(e)?;
    c.field("U").map_err(e)?;
    out["read_s"] = t.elapsed().as_secs_f64().into();
    let v3 = |k: &str| -> [f64; 3] { serde_json::from_value(params[k].clone()).unwrap_or([0.0; 3]) };
    let timed = |out: &mut Value, name: &str, v: &View| -> Result<flowcfd::post::extract::PolyData, String> {
        let t = Instant::now();
        let pd = view::extract(&c, v).map_err(e)?;
        out[format!("{name}_s")] = t.elapsed().as_secs_f64().into();
        Ok(pd)
    };
    let s = timed(&mut out, "surface", &View::Surface { patches: patches.to_vec(), field: Some("p".into()) })?;
    out["surface_faces"] =
        c.select_patches(patches).map_err(e)?.iter().map(|&p| c.mesh.patches[p].size).sum::<usize>().into();
    out["surface_triangles"] = s.tris.len().into();
    let sl = timed(
        &mut out,
        "slice",
        &View::Slice { origin: v3("origin"), normal: v3("normal"), field: Some("U:mag".into()) },
    )?;
    out["slice_area"] = sl.area().into();
    let iso = timed(
        &mut out,
        "iso",
        &View::Iso { field: "p".into(), value: params["iso"].as_f64().unwrap_or(0.0), color_by: None, method: None },
    )?;
    out["iso_area"] = iso.area().into();
    let st = timed(
        &mut out,
        "streamlines",
        &View::Streamlines {
            seeds: Seeds::Line { from: v3("seed_from"), to: v3("seed_to") },
            count: params["count"].as_u64().unwrap_or(1000) as usize,
            field: "U".into(),
            color_by: None,
            max_length: params["max_length"].as_f64(),
            direction: "forward".into(),
        },
    )?;
    out["streamlines"] = st.lines.len().into();
    out["streamline_length"] = st.line_length().into();
    out["time"] = c.time.clone().into();
    out["cells"] = c.mesh.n_cells.into();
    Ok(out)
}

/// The parameters both sides use, from the case's bounds and p's range.
fn params(case: &Path, iso: Option<f64>, count: usize) -> Result<(Value, Vec<String>), String> {
    let c = Case::open(case, None, Source::Reconstructed).map_err(|e| e.to_string())?;
    let (lo, hi) = c.geom.bbox;
    let l = [hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]];
    let mid = |k: usize| 0.5 * (lo[k] + hi[k]);
    let p = c.point_scalars(&FieldSel::parse("p").map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    let (pmin, pmax) = p.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
    let iso = iso.unwrap_or(if (pmin..pmax).contains(&-50.0) { -50.0 } else { 0.5 * (pmin + pmax) });
    // The walls that are not the ground: the body's patches.
    let walls: Vec<String> = c
        .select_patches(&[])
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|i| c.mesh.patches[i].name.clone())
        .filter(|n| !n.to_lowercase().contains("wall") || n.starts_with("motorBike"))
        .collect();
    let v = json!({
        "origin": [mid(0), mid(1), mid(2)],
        "normal": [0.0, 1.0, 0.0],
        "iso": iso,
        "seed_from": [lo[0] + 0.2 * l[0], mid(1) - 0.1 * l[1], lo[2] + 0.01 * l[2]],
        "seed_to": [lo[0] + 0.2 * l[0], mid(1) + 0.1 * l[1], lo[2] + 0.2 * l[2]],
        "count": count,
        "step": 0.2,
        "max_length": l[0],
        "patches": walls,
    });
    Ok((v, walls))
}

/// Makes (once) a result of about a million cells: the cube example meshed for 1.1M cells
/// and solved for 200 iterations on every core. `flowcfd-bench report` reuses it.
pub fn large_case(dir: &Path) -> Result<PathBuf, String> {
    let case = dir.join("out/case");
    if case.join("case.foam").is_file()
        && std::fs::read_dir(&case).map(|r| r.flatten().any(|e| e.file_name() == "200")).unwrap_or(false)
    {
        return Ok(case);
    }
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let stl = dir.join("cube.stl");
    std::fs::write(
        &stl,
        flowcfd::geometry::write::to_stl_ascii(&flowcfd::geometry::primitives::cuboid([0.0; 3], [1.0; 3], "cube")),
    )
    .map_err(|e| e.to_string())?;
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let toml = format!(
        "geometry = \"cube.stl\"\n[flow]\ntype = \"external\"\nvelocity = [10.0, 0.0, 0.0]\n[mesh]\ntarget_cells = 1100000\n[solver]\niterations = 200\ncores = {cores}\n"
    );
    std::fs::write(dir.join("large.toml"), toml).map_err(|e| e.to_string())?;
    eprintln!("making the 1M-cell case in {} (once; about 20 minutes on 2 cores)…", dir.display());
    // The `flowcfd` command built beside this binary (`cargo build` makes both).
    let exe = std::env::current_exe().map_err(|e| e.to_string())?.with_file_name("flowcfd");
    if !exe.is_file() {
        return Err(format!("{} not found: build it with `cargo build --release --bin flowcfd`", exe.display()));
    }
    let st = std::process::Command::new(&exe)
        .args(["run", "large.toml", "--mesh-params", "rules", "--out", "out"])
        .current_dir(dir)
        .status()
        .map_err(|e| format!("{}: {e}", exe.display()))?;
    if !st.success() {
        return Err("the 1M-cell run failed".into());
    }
    Ok(case)
}

/// Runs the post-processing benchmark and prints the ratios.
pub fn main(a: &PostArgs) -> Result<(), String> {
    let mut cases = a.cases.clone();
    if cases.is_empty() {
        let mb = Path::new(crate::motorbike::WORK).join("tutorial");
        if !mb.join("constant/polyMesh").is_dir() {
            return Err(format!(
                "no --case given and no motorBike result at {}: run `flowcfd-bench motorbike` first",
                mb.display()
            ));
        }
        cases.push(mb);
        if !a.no_large {
            cases.push(large_case(&a.large)?);
        }
    }
    let pv = crate::pv::Pvpython::detect(&a.pvpython)?;
    let mut all = Vec::new();
    for case in &cases {
        if !case.join("case.foam").exists() {
            std::fs::write(case.join("case.foam"), b"").map_err(|e| format!("{}: {e}", case.display()))?;
        }
        let (p, patches) = params(case, a.iso, a.streamlines)?;
        eprintln!("{}: pvpython…", case.display());
        let pv = pv.run(PVPYTHON, &[case.display().to_string(), p.to_string()])?;
        eprintln!("{}: flowcfd…", case.display());
        let us = ours(case, &p, &patches)?;
        print_case(case, &pv, &us);
        all.push(json!({"case": case, "params": p, "pvpython": pv, "flowcfd": us}));
    }
    println!("{}", json!({ "cases": all }));
    Ok(())
}

fn print_case(case: &Path, pv: &Value, us: &Value) {
    println!("\n{} ({} cells, time {})", case.display(), us["cells"], us["time"]);
    println!("{:<12} {:>12} {:>12} {:>8}", "step", "pvpython_s", "flowcfd_s", "ratio");
    let mut tp = 0.0;
    let mut tf = 0.0;
    for step in ["read", "surface", "slice", "iso", "streamlines"] {
        let (a, b) = (
            pv[format!("{step}_s")].as_f64().unwrap_or(f64::NAN),
            us[format!("{step}_s")].as_f64().unwrap_or(f64::NAN),
        );
        tp += a;
        tf += b;
        println!("{step:<12} {a:>12.3} {b:>12.3} {:>7.1}×", a / b);
    }
    println!("{:<12} {tp:>12.3} {tf:>12.3} {:>7.1}×", "total", tp / tf);
    let (d, b) =
        (pv["streamlines_default_s"].as_f64().unwrap_or(f64::NAN), us["streamlines_s"].as_f64().unwrap_or(f64::NAN));
    let t2 = tp - pv["streamlines_s"].as_f64().unwrap_or(f64::NAN) + d;
    println!(
        "{:<12} {d:>12.3} {b:>12.3} {:>7.1}×  (ParaView's default reader: polyhedra split; {:.0} m of streamlines)",
        "streamlines*",
        d / b,
        pv["streamline_length_default"].as_f64().unwrap_or(f64::NAN)
    );
    println!("{:<12} {t2:>12.3} {tf:>12.3} {:>7.1}×  (with streamlines*)", "total*", t2 / tf);
    println!("{:<20} {:>14} {:>14} {:>9}", "geometry", "pvpython", "flowcfd", "diff");
    for (k, unit) in [
        ("surface_faces", ""),
        ("slice_area", "m²"),
        ("iso_area", "m²"),
        ("streamlines", ""),
        ("streamline_length", "m"),
    ] {
        let (a, b) = (pv[k].as_f64().unwrap_or(f64::NAN), us[k].as_f64().unwrap_or(f64::NAN));
        println!("{:<20} {a:>14.4} {b:>14.4} {:>8.2}% {unit}", k, 100.0 * (b - a) / a);
    }
}
