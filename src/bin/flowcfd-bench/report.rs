//! `flowcfd-bench report`: a whole PDF report by `flowcfd::report` (reading, rendering,
//! typesetting, writing) against ParaView's `pvpython` rendering four of its result views
//! alone, in one invocation on the same results: the surface pressure from an isometric
//! camera, the wall shear stress magnitude, a centre-plane slice of |U| and streamlines
//! coloured by |U|, each saved with `SaveScreenshot` at the report's picture size.
//! pvpython's start-up and reading are timed apart and left out of the ratio.
use crate::pv::Pvpython;
use flowcfd::post::{Case, Source};
use flowcfd::report::{Input, Meta, Options};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Options of `flowcfd-bench report`.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// Result directories (`flowcfd run --out` directories, or OpenFOAM cases). Default:
    /// FlowCFD's motorBike result of `flowcfd-bench motorbike` and the 1M-cell cube of
    /// `flowcfd-bench post` (made on first use).
    #[arg(long = "case")]
    pub cases: Vec<PathBuf>,
    /// The pvpython to compare with (Debian's paraview package).
    #[arg(long, default_value = "pvpython")]
    pub pvpython: PathBuf,
    /// Streamline count of pvpython's streamline view (a square rake upstream, as the
    /// report's: 256 = 16 x 16, the report's own count).
    #[arg(long, default_value_t = 256)]
    pub streamlines: usize,
    /// Where the 1M-cell case is made (shared with `flowcfd-bench post`).
    #[arg(long, default_value = "/var/tmp/flowcfd-bench-post-1m")]
    pub large: PathBuf,
    /// Skip the 1M-cell case when no --case is given.
    #[arg(long)]
    pub no_large: bool,
    /// Where the PDFs and pvpython's pictures are kept (one folder per case).
    #[arg(long, default_value = "/var/tmp/flowcfd-bench-report")]
    pub keep: PathBuf,
}

/// The pictures' size in pixels: 16 cm wide at 300 dpi, 3:2.
pub const WIDTH: u32 = 1890;
pub const HEIGHT: u32 = 1260;

/// The pvpython side: argv[1] the case, argv[2] the JSON parameters, argv[3] the folder for
/// the pictures; prints one JSON line.
const PVPYTHON: &str = r#"
import json, math, os, sys, time
t0 = time.perf_counter()
from paraview.simple import *
case, P, keep = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
out = {"import_s": time.perf_counter() - t0}
W, H = P["size"]
def reader(regions, arrays):
    r = OpenFOAMReader(FileName=case + "/case.foam")
    r.CaseType = "Reconstructed Case"
    avail = r.GetProperty("MeshRegions").Available
    r.MeshRegions = [m for m in avail if m in regions or m.split("/")[-1] in regions]
    r.CellArrays = [a for a in arrays if a in r.GetProperty("CellArrays").Available]
    r.UpdatePipelineInformation()
    return r
t = time.perf_counter()
vol = reader(["internalMesh"], ["p", "U"])
tt = max(vol.TimestepValues) if vol.TimestepValues else 0
vol.UpdatePipeline(tt)
walls = reader(P["walls"], ["p", "wallShearStress", "yPlus"])
walls.UpdatePipeline(tt)
out["read_s"] = time.perf_counter() - t
wss = "wallShearStress" if "wallShearStress" in walls.CellArrays else "yPlus"
out["wall_field"] = wss
lo, hi = P["body_min"], P["body_max"]
c = [0.5 * (a + b) for a, b in zip(lo, hi)]
diag = math.sqrt(sum((b - a) ** 2 for a, b in zip(lo, hi)))
view = CreateView("RenderView")
view.ViewSize = [W, H]
view.OrientationAxesVisibility = 0
view.Background = [1, 1, 1]
try:
    view.UseColorPaletteForBackground = 0
except AttributeError:
    pass
def camera(direction, up, span):
    n = math.sqrt(sum(d * d for d in direction))
    dist = span / (2 * math.tan(math.radians(15))) * 1.1
    view.CameraFocalPoint = c
    view.CameraPosition = [c[i] + direction[i] / n * dist for i in range(3)]
    view.CameraViewUp = up
    view.CameraViewAngle = 30
# Fixed ranges from the freestream when it is known (p kinematic: Cp from -1.5 to 1), so an
# outlier cell does not wash a picture out; else the data's range.
U0 = P.get("u_inf")
RANGES = {"p": (-0.75 * U0 * U0, 0.5 * U0 * U0), "U": (0.0, 1.4 * U0)} if U0 else {}
def colour(disp, assoc, name, comp, title):
    ColorBy(disp, (assoc, name, comp) if comp else (assoc, name))
    lut = GetColorTransferFunction(name)
    if name in RANGES:
        lut.AutomaticRescaleRangeMode = "Never"
        lut.RescaleTransferFunction(*RANGES[name])
    else:
        disp.RescaleTransferFunctionToDataRange(True, False)
    lut.ApplyPreset("Viridis (matplotlib)" if name != "p" else "Cool to Warm", True)
    disp.SetScalarBarVisibility(view, True)
    bar = GetScalarBar(lut, view)
    bar.Title = title; bar.ComponentTitle = ""
    bar.TitleColor = [0, 0, 0]; bar.LabelColor = [0, 0, 0]
    bars.append(bar)
shown, bars = [], []
def screenshot(name, f):
    t = time.perf_counter()
    f()
    SaveScreenshot(os.path.join(keep, name + ".png"), view, ImageResolution=[W, H])
    out[name + "_s"] = time.perf_counter() - t
    for d in shown:
        Hide(d, view)
    for b in bars:
        b.Visibility = 0
    shown.clear(); bars.clear()
iso = [-1, -1, 1]
def surface_p():
    m = MergeBlocks(Input=walls)
    d = Show(m, view); shown.append(m); colour(d, "POINTS", "p", None, "p [m²/s²]")
    camera(iso, [0, 0, 1], diag)
def wall_shear():
    m = MergeBlocks(Input=walls)
    d = Show(m, view); shown.append(m)
    colour(d, "POINTS", wss, "Magnitude" if wss == "wallShearStress" else None, "|τw| [m²/s²]" if wss == "wallShearStress" else "y+")
    camera(iso, [0, 0, 1], diag)
def slice_u():
    s = Slice(Input=vol); s.SliceType = "Plane"
    s.SliceType.Origin = c; s.SliceType.Normal = P["normal"]
    d = Show(s, view); shown.append(s); colour(d, "POINTS", "U", "Magnitude", "|U| [m/s]")
    camera([-x for x in P["normal"]], [0, 0, 1], 2 * diag)
def streamlines():
    # The report's rake: a square of n x n seeds across the flow, upstream of the body.
    n = max(2, int(round(math.sqrt(P["count"]))))
    rake = Plane(Origin=P["rake_origin"], Point1=P["rake_p1"], Point2=P["rake_p2"], XResolution=n - 1, YResolution=n - 1)
    st = StreamTracerWithCustomSource(Input=vol, SeedSource=rake)
    st.Vectors = ["POINTS", "U"]
    st.IntegrationDirection = "FORWARD"; st.IntegratorType = "Runge-Kutta 4-5"
    st.MaximumStreamlineLength = P["max_length"]
    d = Show(st, view); shown.append(st); colour(d, "POINTS", "U", "Magnitude", "|U| [m/s]")
    m = MergeBlocks(Input=walls)
    b = Show(m, view); shown.append(m); ColorBy(b, None); b.AmbientColor = b.DiffuseColor = [0.8, 0.8, 0.8]
    camera(iso, [0, 0, 1], 1.5 * diag)
t = time.perf_counter()
for name, f in [("surface_p", surface_p), ("wall_shear", wall_shear), ("slice_u", slice_u), ("streamlines", streamlines)]:
    screenshot(name, f)
out["screenshots_s"] = time.perf_counter() - t
out["time"] = tt
print(json.dumps(out))
"#;

/// The body's wall patches: the summary's force patches, else the wall patches that are not
/// the ground.
fn body_walls(case: &Case, summary: Option<&Value>) -> Vec<String> {
    let listed: Vec<String> = summary
        .and_then(|s| s["forces"]["patches"].as_array())
        .map(|a| a.iter().filter_map(|p| p.as_str().map(String::from)).collect())
        .unwrap_or_default();
    if !listed.is_empty() {
        return listed;
    }
    let ground = [flowcfd::foam::patches::GROUND, "lowerWall", "upperWall", "frontAndBack"];
    case.mesh
        .patches
        .iter()
        .filter(|p| p.kind == "wall" && !ground.contains(&p.name.as_str()))
        .map(|p| p.name.clone())
        .collect()
}

/// The parameters of pvpython's views, from the body's bounds and the flow direction.
fn params(input: &Input, count: usize) -> Result<Value, String> {
    let summary: Option<Value> = match &input.summary {
        Some(p) => Some(
            serde_json::from_str(&std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?)
                .map_err(|e| format!("{}: {e}", p.display()))?,
        ),
        None => None,
    };
    let u_inf = summary.as_ref().and_then(|s| s["forces"]["magUInf"].as_f64()).filter(|u| *u > 0.0);
    let c = Case::open(&input.case, None, Source::Reconstructed).map_err(|e| e.to_string())?;
    let walls = body_walls(&c, summary.as_ref());
    let ids = c.select_patches(&walls).map_err(|e| e.to_string())?;
    let body = flowcfd::post::extract::surface(&c, &ids, None).map_err(|e| e.to_string())?;
    let (mut lo, mut hi) = ([f64::INFINITY; 3], [f64::NEG_INFINITY; 3]);
    for p in &body.points {
        for k in 0..3 {
            lo[k] = lo[k].min(p[k]);
            hi[k] = hi[k].max(p[k]);
        }
    }
    if body.points.is_empty() {
        return Err(format!("{}: the wall patches {walls:?} have no faces", input.case.display()));
    }
    let l = [hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]];
    let mid = |k: usize| 0.5 * (lo[k] + hi[k]);
    // Flow along +x (both benchmark cases); the slice's normal across the flow, horizontal.
    // The streamlines' rake as the report's: a square 1.2 times the body's larger cross
    // extent, centred on its axis, a quarter of its length upstream of its front.
    let x0 = lo[0] - 0.25 * l[0];
    let s = 1.2 * l[1].max(l[2]);
    let o = [x0, mid(1) - 0.5 * s, mid(2) - 0.5 * s];
    Ok(json!({
        "walls": walls,
        "body_min": lo,
        "body_max": hi,
        "normal": [0.0, 1.0, 0.0],
        "rake_origin": o,
        "rake_p1": [x0, o[1] + s, o[2]],
        "rake_p2": [x0, o[1], o[2] + s],
        "count": count,
        "max_length": 8.0 * l[0],
        "size": [WIDTH, HEIGHT],
        "u_inf": u_inf,
        "cells": c.mesh.n_cells,
    }))
}

/// The FlowCFD side: the whole report, timed, written to `pdf`.
fn ours(input: &Input, name: &str, pdf: &Path) -> Result<Value, String> {
    let meta = Meta {
        project: Some("flowcfd-bench report".into()),
        job_name: Some(name.into()),
        executor: Some("local".into()),
        ..Meta::default()
    };
    let t = Instant::now();
    let bytes = flowcfd::report::build(input, &meta, &Options::default()).map_err(|e| e.to_string())?;
    std::fs::write(pdf, &bytes).map_err(|e| format!("{}: {e}", pdf.display()))?;
    let report_s = t.elapsed().as_secs_f64();
    Ok(json!({"report_s": report_s, "pdf_bytes": bytes.len(), "pages": pages(pdf)}))
}

/// The page count by `pdfinfo` (poppler-utils), when it is installed.
fn pages(pdf: &Path) -> Option<u64> {
    let out = std::process::Command::new("pdfinfo").arg(pdf).output().ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("Pages:").and_then(|n| n.trim().parse().ok()))
}

/// The default cases: FlowCFD's motorBike result and the 1M-cell cube.
fn default_cases(a: &ReportArgs) -> Result<Vec<PathBuf>, String> {
    let mb = Path::new(crate::motorbike::WORK).join("flowcfd");
    if !mb.join("case/constant/polyMesh").is_dir() {
        return Err(format!(
            "no --case given and no FlowCFD motorBike result at {}: run `flowcfd-bench motorbike` first \
             (`--skip-tutorial --iterations 150` is enough for this benchmark)",
            mb.display()
        ));
    }
    let mut cases = vec![mb];
    if !a.no_large {
        // `large_case` gives the case; its parent is the `flowcfd run --out` directory.
        let case = crate::post::large_case(&a.large)?;
        cases.push(case.parent().map(Path::to_path_buf).unwrap_or(case));
    }
    Ok(cases)
}

/// A short name for a result directory: its own, or its parent's for `out` and `case`.
fn label(dir: &Path, i: usize) -> String {
    let name = |d: &Path| d.file_name().map(|n| n.to_string_lossy().to_string());
    match name(dir) {
        Some(n) if n == "out" || n == "case" => dir.parent().and_then(name).unwrap_or(n),
        Some(n) => n,
        None => format!("case{i}"),
    }
}

/// Runs the report benchmark and prints the table and one JSON line.
pub fn main(a: &ReportArgs) -> Result<(), String> {
    let cases = if a.cases.is_empty() { default_cases(a)? } else { a.cases.clone() };
    let pv = Pvpython::detect(&a.pvpython)?;
    eprintln!("pvpython runs as: {}", pv.how());
    let mut all = Vec::new();
    for (i, dir) in cases.iter().enumerate() {
        let input = Input::locate(dir, None).map_err(|e| e.to_string())?;
        if input.summary.is_none() {
            eprintln!("{}: no summary.json; the report leaves out the sections that need it", dir.display());
        }
        let name = label(dir, i);
        let keep = a.keep.join(format!("{i}-{name}"));
        std::fs::create_dir_all(&keep).map_err(|e| format!("{}: {e}", keep.display()))?;
        if !input.case.join("case.foam").exists() {
            std::fs::write(input.case.join("case.foam"), b"").map_err(|e| format!("{}: {e}", input.case.display()))?;
        }
        let p = params(&input, a.streamlines)?;
        eprintln!("{}: pvpython…", dir.display());
        let theirs =
            pv.run(PVPYTHON, &[input.case.display().to_string(), p.to_string(), keep.display().to_string()])?;
        eprintln!("{}: flowcfd report…", dir.display());
        let us = ours(&input, &name, &keep.join("report.pdf"))?;
        print_case(dir, &p, &theirs, &us, &keep);
        all.push(json!({"case": dir, "summary": input.summary.is_some(), "cells": p["cells"],
            "pvpython": theirs, "flowcfd": us, "kept": keep}));
    }
    println!("{}", json!({ "size": [WIDTH, HEIGHT], "pvpython_as": pv.how(), "cases": all }));
    Ok(())
}

fn print_case(dir: &Path, p: &Value, pv: &Value, us: &Value, keep: &Path) {
    let f = |v: &Value, k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    println!("\n{} ({} cells; pictures {WIDTH}×{HEIGHT}; kept in {})", dir.display(), p["cells"], keep.display());
    let shots = f(pv, "screenshots_s");
    let ours = f(us, "report_s");
    println!(
        "flowcfd  whole report {ours:>8.2} s  ({:.2} MB, {} pages)",
        f(us, "pdf_bytes") / 1e6,
        us["pages"].as_u64().map_or("?".into(), |n| n.to_string())
    );
    println!(
        "pvpython 4 screenshots {shots:>7.2} s  (surface p {:.2}, wall shear {:.2}, slice |U| {:.2}, {} streamlines {:.2})",
        f(pv, "surface_p_s"),
        f(pv, "wall_shear_s"),
        f(pv, "slice_u_s"),
        p["count"],
        f(pv, "streamlines_s")
    );
    println!(
        "pvpython apart: start-up {:.2} s, reading {:.2} s, whole process {:.2} s",
        f(pv, "import_s"),
        f(pv, "read_s"),
        f(pv, "process_s")
    );
    println!("ratio pvpython screenshots / flowcfd whole report: {:.2}×", shots / ours);
}
