//! PDF reports of a run, made on the server with no GPU and no browser: the result read
//! with `post`, pictures drawn by a software rasterizer (`raster`, with the viewer's
//! colormaps in `colormap`), plots drawn as vector paths (`plot`), and the pages typeset by
//! `layout` (text measured and shaped with rustybuzz, written by krilla with the fonts
//! embedded, so every word is searchable).
//!
//! A pure library: a result directory in, PDF bytes out. The server and the CLI pass what
//! only they know (project, author, org, executor, core-hours) in [`Meta`].
pub mod colormap;
pub mod raster;

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

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
