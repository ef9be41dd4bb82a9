//! `flowcfd validate [NAME…] [--json] [--out DIR] [--list]`: runs the validation suite
//! (`flowcfd::validate`), every CI case when no name is given. Progress goes to stderr; with
//! `--json` stdout carries one JSON object per case as each finishes. `--out DIR` keeps per
//! case the OpenFOAM case and its SVG plots, and `results.json` for the suite (rewritten
//! after each case, so a reader sees the run grow). Exits non-zero when any case fails.

use anyhow::{bail, Context};
use flowcfd::runner::pipeline;
use flowcfd::runner::steps::SIGNALLED;
use flowcfd::validate::{self, results_json, Outcome, CASES};
use std::path::PathBuf;

/// Arguments of `flowcfd validate`.
#[derive(clap::Args)]
pub struct ValidateArgs {
    /// Cases to run (default: every CI case; `ahmed-25` runs only when named).
    pub names: Vec<String>,
    /// One JSON object per case on stdout: {name, metrics, reference, tolerance, pass, wall_s}.
    #[arg(long)]
    pub json: bool,
    /// Keep each case's OpenFOAM case, its plots (SVG) and the suite's results.json here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// List the cases with their set-up and tolerance, and exit.
    #[arg(long)]
    pub list: bool,
    /// OpenFOAM environment script to source (default: found as `flowcfd run` finds it).
    #[arg(long)]
    pub openfoam_env: Option<PathBuf>,
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Runs the verb.
pub fn validate(a: &ValidateArgs) -> anyhow::Result<()> {
    if a.list {
        for c in CASES {
            let ci = if c.ci { "" } else { " [benchmark only, not CI]" };
            println!("{}{ci}\n    set-up:    {}\n    tolerance: {}", c.name, c.setup, c.tolerance);
        }
        return Ok(());
    }
    let cases = validate::select(&a.names).map_err(anyhow::Error::msg)?;
    let env = pipeline::openfoam_env(a.openfoam_env.as_deref())?;
    let flavour = env.flavour().context("which OpenFOAM to write the cases for")?;
    let (root, temporary) = match &a.out {
        Some(d) => (d.clone(), false),
        None => (std::env::temp_dir().join(format!("flowcfd-validate-{}", std::process::id())), true),
    };
    std::fs::create_dir_all(&root).with_context(|| format!("cannot create {}", root.display()))?;
    let started = now();
    let mut outcomes: Vec<Outcome> = Vec::new();
    let record = |outcomes: &[Outcome], finished: Option<&str>| -> anyhow::Result<()> {
        let path = root.join("results.json");
        let text = serde_json::to_string_pretty(&results_json(&started, finished, outcomes))?;
        let tmp = root.join("results.json.partial");
        std::fs::write(&tmp, text)
            .and_then(|_| std::fs::rename(&tmp, &path))
            .with_context(|| format!("cannot write {}", path.display()))
    };
    record(&outcomes, None)?;
    for (i, c) in cases.iter().enumerate() {
        eprintln!("[{}/{}] {}: {}", i + 1, cases.len(), c.name, c.setup);
        let o = validate::run_case(c, &root.join(c.name), &env, flavour, &SIGNALLED);
        let verdict = if o.pass { "pass" } else { "FAIL" };
        let metrics = serde_json::to_string(&o.metrics)?;
        eprintln!(
            "    {verdict} in {:.1} s: {metrics}{}",
            o.wall_s,
            o.error.as_deref().map(|e| format!("; {e}")).unwrap_or_default()
        );
        if a.json {
            println!("{}", serde_json::to_string(&o)?);
        }
        outcomes.push(o);
        record(&outcomes, None)?;
        if SIGNALLED.load(std::sync::atomic::Ordering::Relaxed) {
            break;
        }
    }
    record(&outcomes, Some(&now()))?;
    if temporary {
        let _ = std::fs::remove_dir_all(&root);
    } else {
        eprintln!("results, cases and plots in {}", root.display());
    }
    let failed: Vec<&str> = outcomes.iter().filter(|o| !o.pass).map(|o| o.name.as_str()).collect();
    if !failed.is_empty() {
        bail!("{} of {} validation cases failed: {}", failed.len(), outcomes.len(), failed.join(", "));
    }
    if outcomes.len() < cases.len() {
        bail!("the suite was interrupted after {} of {} cases", outcomes.len(), cases.len());
    }
    Ok(())
}
