//! `flowcfd report`: the PDF report of a result, from a `flowcfd run --out` directory or a
//! bare OpenFOAM case, with no server, GPU or browser.
use anyhow::Context;
use flowcfd::report::{self, Input, Meta, Options};
use std::path::PathBuf;

/// Options of `flowcfd report`.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The `--out` directory of `flowcfd run` (with summary.json and case/), or an OpenFOAM
    /// case directory.
    #[arg(long = "case")]
    pub case: PathBuf,
    /// Where to write the PDF.
    #[arg(long, default_value = "report.pdf")]
    pub out: PathBuf,
    /// The summary.json to use with a bare OpenFOAM case (without one, the sections that
    /// need it are left out and the report says so).
    #[arg(long)]
    pub summary: Option<PathBuf>,
    /// Paper size: a4 or letter.
    #[arg(long, default_value = "a4")]
    pub paper: report::Paper,
    /// Units: si, or automotive (SI with degrees and km/h).
    #[arg(long, default_value = "si")]
    pub units: report::Units,
    /// The author on the title block (default: $USER).
    #[arg(long)]
    pub author: Option<String>,
    /// The project on the title block.
    #[arg(long)]
    pub project: Option<String>,
    /// The organisation on the title block.
    #[arg(long)]
    pub org: Option<String>,
    /// A PNG or JPEG logo for the title block.
    #[arg(long)]
    pub logo: Option<PathBuf>,
}

/// The run's own time record (`usage.json` beside summary.json): cores and wall time.
fn usage(dir: &std::path::Path) -> Option<(u32, f64)> {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("usage.json")).ok()?).ok()?;
    let cores = v["cores"].as_u64()? as u32;
    let wall = (v["ended_at"].as_f64()? - v["started_at"].as_f64()?) / 1000.0;
    Some((cores, wall))
}

/// Writes the report.
pub fn report(a: &ReportArgs) -> anyhow::Result<()> {
    let input = Input::locate(&a.case, a.summary.as_deref())?;
    let logo = a
        .logo
        .as_ref()
        .map(|p| std::fs::read(p).with_context(|| format!("reading the logo {}", p.display())))
        .transpose()?;
    let used = usage(&a.case);
    let meta = Meta {
        project: a.project.clone(),
        author: a.author.clone().or_else(|| std::env::var("USER").ok()),
        org: a.org.clone(),
        org_logo_png: logo,
        executor: Some("local".into()),
        cores: used.map(|u| u.0),
        wall_s: used.map(|u| u.1),
        core_hours: used.map(|(c, w)| f64::from(c) * w / 3600.0),
        ..Meta::default()
    };
    let t0 = std::time::Instant::now();
    let pdf = report::build(&input, &meta, &Options { paper: a.paper, units: a.units })?;
    let tmp = a.out.with_extension("pdf.partial");
    std::fs::write(&tmp, &pdf)
        .and_then(|_| std::fs::rename(&tmp, &a.out))
        .with_context(|| format!("writing {}", a.out.display()))?;
    println!(
        "{}",
        serde_json::json!({"report": a.out.display().to_string(), "bytes": pdf.len(), "seconds": (t0.elapsed().as_secs_f64() * 1000.0).round() / 1000.0})
    );
    Ok(())
}
