//! PDF reports of a run, made on the server with no GPU and no browser: the result read
//! with `post`, pictures drawn by a software rasterizer (`raster`, with the viewer's
//! colormaps in `colormap`), plots drawn as vector paths (`plot`), and the pages typeset by
//! `layout` (text measured and shaped with rustybuzz, written by krilla with the fonts
//! embedded, so every word is searchable).
//!
//! A pure library: a result directory in, PDF bytes out. The server and the CLI pass what
//! only they know (project, author, org, executor, core-hours) in [`Meta`].
pub mod colormap;
mod foamdict;
pub mod forces;
mod hint;
pub mod input;
pub mod layout;
mod mesh;
pub mod pictures;
pub mod plot;
pub mod raster;
mod results;
mod sections;

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Bumped whenever the report's content or layout changes, so that the server makes cached
/// reports again.
pub const LAYOUT_VERSION: u32 = 1;

/// What can go wrong making a report, each saying what to fix.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The input is not a result this report can be made from.
    #[error("{0}")]
    BadInput(String),
    #[error(transparent)]
    Post(#[from] crate::post::PostError),
    #[error("reading {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("writing the PDF: {0}")]
    Pdf(String),
}

/// The paper size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Paper {
    #[default]
    A4,
    Letter,
}

impl std::str::FromStr for Paper {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "a4" => Ok(Paper::A4),
            "letter" => Ok(Paper::Letter),
            _ => Err(format!("'{s}' is not a paper size; use a4 or letter")),
        }
    }
}

/// The units numbers are shown in: SI throughout, or SI with angles in degrees and speeds
/// in km/h as automotive engineers read them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Units {
    #[default]
    Si,
    Automotive,
}

impl std::str::FromStr for Units {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "si" => Ok(Units::Si),
            "automotive" => Ok(Units::Automotive),
            _ => Err(format!("'{s}' is not a unit system; use si or automotive")),
        }
    }
}

/// How the report is laid out.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub paper: Paper,
    pub units: Units,
}

/// What the caller knows about the run that its files do not say. Each missing item is
/// left out of the title block.
#[derive(Debug, Clone, Default)]
pub struct Meta {
    pub project: Option<String>,
    pub case_name: Option<String>,
    pub job_name: Option<String>,
    pub author: Option<String>,
    pub org: Option<String>,
    /// The org's logo, a PNG.
    pub org_logo_png: Option<Vec<u8>>,
    /// `local`, `slurm` or `kubernetes`.
    pub executor: Option<String>,
    pub cores: Option<u32>,
    /// The job's wall time, s (the summary's total time when absent).
    pub wall_s: Option<f64>,
    pub core_hours: Option<f64>,
    /// When the job ended (RFC 3339); today when absent.
    pub date: Option<String>,
    /// The job's status and why it ended, as the server has them.
    pub status: Option<String>,
    pub status_reason: Option<String>,
}

/// Where a report's input lies: a `flowcfd run --out` directory (with `summary.json` or
/// `failure.json` and `case/`), or a bare OpenFOAM case with an optional summary file.
#[derive(Debug, Clone)]
pub struct Input {
    /// The OpenFOAM case.
    pub case: PathBuf,
    /// `summary.json`, when there is one.
    pub summary: Option<PathBuf>,
    /// `failure.json`, when the run failed.
    pub failure: Option<PathBuf>,
    /// The run's combined log (`run.log`), when kept.
    pub run_log: Option<PathBuf>,
}

impl Input {
    /// Finds the parts of a result directory: `DIR` as `flowcfd run --out` leaves it, or an
    /// OpenFOAM case (then `summary` names its summary file, if any).
    pub fn locate(dir: &Path, summary: Option<&Path>) -> Result<Input, ReportError> {
        let is_case = |d: &Path| d.join("system").is_dir() || d.join("constant").is_dir();
        let (case, root) = if is_case(&dir.join("case")) {
            (dir.join("case"), Some(dir))
        } else if is_case(dir) {
            (dir.to_path_buf(), None)
        } else {
            return Err(ReportError::BadInput(format!(
                "{} is neither a `flowcfd run --out` directory (with case/) nor an OpenFOAM case (with system/ and \
                 constant/)",
                dir.display()
            )));
        };
        let in_root = |name: &str| root.map(|r| r.join(name)).filter(|p| p.is_file());
        let summary = match summary {
            Some(s) if !s.is_file() => {
                return Err(ReportError::BadInput(format!("the summary file {} does not exist", s.display())))
            }
            Some(s) => Some(s.to_path_buf()),
            None => in_root("summary.json"),
        };
        Ok(Input { case, summary, failure: in_root("failure.json"), run_log: in_root("run.log") })
    }
}

/// Opens the solved result when the report has pictures and forces to show: `None` for a
/// mesh-only run and for a failed run without a usable solution; a clear error when a run
/// that claims success has no solved time or lacks p or U.
fn open_result(f: &input::Facts) -> Result<Option<crate::post::Case>, ReportError> {
    let mesh_only = f.summary.as_ref().and_then(|s| s["mesh_only"].as_bool()).unwrap_or(false);
    if mesh_only {
        return Ok(None);
    }
    let opened = crate::post::Case::open(&f.case, None, crate::post::Source::Auto);
    if f.failure.is_some() {
        return Ok(opened.ok().filter(|c| c.time != "0" && has_fields(c).is_ok()));
    }
    let case = opened.map_err(|e| match e {
        crate::post::PostError::Missing(m) => ReportError::BadInput(format!(
            "{} has no result to report: {m} was not found. Run the case first (`flowcfd run`, or ./Allrun in the case), \
             or point --case at the run's output directory",
            f.case.display()
        )),
        other => ReportError::BadInput(format!("the result in {} cannot be read: {other}", f.case.display())),
    })?;
    if case.time == "0" {
        return Err(ReportError::BadInput(format!(
            "{} holds only the initial time 0: the solver wrote no result. Run the solver (./Allrun) first",
            f.case.display()
        )));
    }
    has_fields(&case)?;
    Ok(Some(case))
}

/// The report's pictures and forces need p and U at the result's time.
fn has_fields(case: &crate::post::Case) -> Result<(), ReportError> {
    let names: Vec<String> = case.field_names().into_iter().map(|(n, _)| n).collect();
    let missing: Vec<&str> = ["p", "U"].into_iter().filter(|f| !names.iter().any(|n| n == f)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(ReportError::BadInput(format!(
        "the result at time {} in {} has no field {} (fields there: {}); the report needs p and U. Was the time \
         directory cut short? Rerun the solver, or remove the incomplete time directory",
        case.time,
        case.root.display(),
        missing.join(" or "),
        if names.is_empty() { "none".into() } else { names.join(", ") }
    )))
}

/// Renders the report's pictures in the order the PDF shows them: the geometry, the mesh
/// cut, then the results (each present when its inputs are).
pub fn pictures(input: &Input, opts: &Options) -> Result<Vec<pictures::Picture>, ReportError> {
    let facts = input::gather(input)?;
    let result = open_result(&facts)?;
    render_pictures(&facts, result.as_ref(), opts, picture_width(opts))
}

/// Pictures are 16 cm wide (1890 pixels at 300 dpi), or the text width if narrower.
fn picture_width(opts: &Options) -> f32 {
    layout::PageSize::of(opts.paper).text_width().min(16.0 / 2.54 * 72.0)
}

fn render_pictures(
    facts: &input::Facts,
    result: Option<&crate::post::Case>,
    opts: &Options,
    width: f32,
) -> Result<Vec<pictures::Picture>, ReportError> {
    let mut out: Vec<pictures::Picture> = pictures::geometry_picture(facts, width).into_iter().collect();
    if let Some(case) = result {
        out.push(pictures::mesh_cut_picture(facts, case, width)?);
        let r = force_reference(facts);
        let mag_u = r.map(|r| r.mag_u).filter(|u| *u > 0.0).unwrap_or(1.0);
        let rho = r.map(|r| r.rho).unwrap_or(1.0);
        out.extend(pictures::result_pictures(facts, case, mag_u, rho, opts.units, width)?);
    }
    Ok(out)
}

/// Makes the PDF report of a located result.
pub fn build(input: &Input, meta: &Meta, opts: &Options) -> Result<Vec<u8>, ReportError> {
    use layout::{Block, Doc, Fonts, PageSize};
    let facts = input::gather(input)?;
    let result = open_result(&facts)?;
    let fonts = Fonts::load()?;
    let page = PageSize::of(opts.paper);
    let width = page.text_width();
    let logo = match &meta.org_logo_png {
        Some(bytes) => Some(
            krilla::image::Image::from_png(bytes.clone().into(), true)
                .or_else(|_| krilla::image::Image::from_jpeg(bytes.clone().into(), true))
                .map_err(|e| {
                    ReportError::BadInput(format!(
                        "the org's logo is not a readable PNG or JPEG ({e}); upload it again"
                    ))
                })?,
        ),
        None => None,
    };
    let pics = render_pictures(&facts, result.as_ref(), opts, picture_width(opts))?;
    let named = |n: &str| pics.iter().filter(|p| p.name == n).collect::<Vec<_>>();
    let results: Vec<&pictures::Picture> = pics.iter().filter(|p| !matches!(p.name, "geometry" | "mesh_cut")).collect();
    let mut blocks = sections::title(&fonts, &facts, meta, width, logo);
    blocks.extend(sections::summary_box(&facts, meta, opts.units, width));
    blocks.extend(results::failure(&fonts, &facts, width));
    blocks.push(Block::PageBreak);
    blocks.push(Block::Heading(1, "Geometry".into()));
    for p in named("geometry") {
        blocks.push(Block::Canvas(pictures::canvas(&fonts, p)));
    }
    blocks.extend(sections::geometry(&facts));
    blocks.push(Block::Heading(1, "Set-up".into()));
    blocks.extend(sections::setup(&facts, opts.units));
    blocks.push(Block::Heading(1, "Mesh".into()));
    blocks.extend(mesh::mesh(&fonts, &facts, opts.units, width));
    for p in named("mesh_cut") {
        blocks.push(Block::Heading(2, "A cut through the mesh".into()));
        blocks.push(Block::Canvas(pictures::canvas(&fonts, p)));
    }
    blocks.push(Block::Heading(1, "Convergence".into()));
    blocks.extend(results::convergence(&fonts, &facts, width));
    match &result {
        Some(case) => {
            blocks.push(Block::Heading(1, "Results".into()));
            blocks.extend(pictures::blocks(&fonts, &results, width));
            blocks.push(Block::Heading(1, "Forces by patch".into()));
            match force_reference(&facts) {
                Some(r) => blocks.extend(results::forces_by_patch(&forces::by_patch(case, &r)?)),
                None => blocks.push(Block::Para(
                    "The force reference (directions, speed, area) is neither in system/controlDict nor in the \
                     summary, so forces by patch are not shown."
                        .into(),
                )),
            }
        }
        None => blocks.push(Block::Para(
            "There is no solved result to show: the results pictures and the forces by patch are left out.".into(),
        )),
    }
    blocks.push(Block::Heading(1, "Reproducibility".into()));
    blocks.extend(results::reproducibility(&facts));
    let mut doc = Doc::new(&fonts, page);
    doc.add(blocks);
    let name = sections::case_name(&facts, meta);
    let header =
        format!("FlowCFD report · {}{}", meta.project.as_ref().map(|p| format!("{p} · ")).unwrap_or_default(), name);
    let mut md = krilla::metadata::Metadata::new()
        .title(format!("FlowCFD report: {name}"))
        .creator(format!("FlowCFD {}", env!("CARGO_PKG_VERSION")))
        .producer("FlowCFD (krilla)".into());
    if let Some(a) = &meta.author {
        md = md.authors(vec![a.clone()]);
    }
    let footer = format!(
        "FlowCFD {} · OpenFOAM {}",
        env!("CARGO_PKG_VERSION"),
        facts.openfoam_version.as_deref().unwrap_or("?")
    );
    doc.finish(&header, &footer, md)
}

/// The forces' reference: the case's forceCoeffs, else the summary's spec and reference.
fn force_reference(f: &input::Facts) -> Option<forces::Reference> {
    if let Some(r) =
        std::fs::read_to_string(f.case.join("system/controlDict")).ok().and_then(|t| forces::from_control_dict(&t))
    {
        return Some(r);
    }
    let s = f.summary.as_ref()?;
    let v: Vec<f64> = s["spec"]["flow"]["velocity"].as_array()?.iter().filter_map(serde_json::Value::as_f64).collect();
    let aref = s["forces"]["Aref"].as_f64()?;
    let rho = s["spec"]["fluid"]["rho"].as_f64().unwrap_or(1.225);
    (v.len() == 3).then(|| forces::Reference::from_velocity([v[0], v[1], v[2]], aref, rho))
}
