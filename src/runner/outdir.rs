//! Where a run's result goes: `DIR/case/` with `DIR/summary.json` or `DIR/failure.json`,
//! staged in `DIR/.partial/` and moved into place only at the end.

use super::pipeline::PipelineError;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Output layout: `DIR/case/` with `DIR/summary.json` (success) or `DIR/failure.json`.
///
/// Work happens in `DIR/.partial/` and is moved into place only at the end, so an earlier
/// result replaced with `--force` survives a failed or interrupted run; the failed attempt
/// then goes to `DIR/failed/` beside it.
pub struct OutDir {
    /// The directory.
    pub root: PathBuf,
    staging: PathBuf,
}

pub(crate) fn io_err(what: &str, path: &Path) -> impl Fn(std::io::Error) -> PipelineError {
    let msg = format!("{what} {}", path.display());
    move |e| PipelineError::Io(format!("{msg}: {e}"))
}

pub(crate) fn remove(path: &Path) -> Result<(), PipelineError> {
    let r = if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else if path.exists() {
        std::fs::remove_file(path)
    } else {
        Ok(())
    };
    r.map_err(io_err("cannot remove", path))
}

impl OutDir {
    /// Claims `root` for a new result; refuses when it holds one already, unless `force`.
    pub fn claim(root: &Path, force: bool) -> Result<Self, PipelineError> {
        let out = OutDir { root: root.to_path_buf(), staging: root.join(".partial") };
        let existing = out.existing();
        if !existing.is_empty() && !force {
            return Err(PipelineError::Refused(format!(
                "{} already holds a result ({}); choose another --out directory or pass --force to replace it",
                root.display(),
                existing
                    .iter()
                    .map(|p| p.file_name().unwrap_or_default().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        std::fs::create_dir_all(root).map_err(io_err("cannot create", root))?;
        // A `.partial` left by a killed run is ours to clear, and so is the time record of
        // an earlier run (a run killed before writing its own must not pass for that one).
        remove(&out.staging)?;
        remove(&root.join(super::usage::USAGE_FILE))?;
        std::fs::create_dir(&out.staging).map_err(io_err("cannot create", &out.staging))?;
        Ok(out)
    }
    /// Reopens `root` to continue the run a killed `flowcfd run` left in it
    /// (`DIR/.partial/case` with a time written past 0; see [`resume`]).
    pub fn reopen(root: &Path) -> Result<Self, PipelineError> {
        let out = OutDir { root: root.to_path_buf(), staging: root.join(".partial") };
        if crate::foam::transient::latest_time(&out.case_dir()).is_none() {
            return Err(PipelineError::Refused(format!(
                "--resume: {} holds no interrupted run with a written time past 0 to continue; run without --resume",
                out.case_dir().display()
            )));
        }
        remove(&root.join(super::usage::USAGE_FILE))?;
        Ok(out)
    }
    fn existing(&self) -> Vec<PathBuf> {
        [self.root.join("case"), self.summary(), self.root.join("failure.json")]
            .into_iter()
            .filter(|p| p.exists())
            .collect()
    }
    /// Where the case is written and run (inside the staging directory).
    pub fn case_dir(&self) -> PathBuf {
        self.staging.join("case")
    }
    /// The final case directory.
    pub fn final_case_dir(&self) -> PathBuf {
        self.root.join("case")
    }
    /// The result summary.
    pub fn summary(&self) -> PathBuf {
        self.root.join("summary.json")
    }
    /// Replaces any earlier result with the staged case (and `summary`, when given).
    pub fn commit(&self, summary: Option<&Value>) -> Result<(), PipelineError> {
        for p in self.existing() {
            remove(&p)?;
        }
        remove(&self.root.join("failed"))?;
        std::fs::rename(self.case_dir(), self.final_case_dir())
            .map_err(io_err("cannot move the case to", &self.root))?;
        if let Some(s) = summary {
            write_json(&self.summary(), s)?;
        }
        remove(&self.staging)
    }
    /// Keeps a failed attempt: in place when there was no earlier result, else under
    /// `DIR/failed/` so the earlier result stays intact. Returns the failure.json path.
    pub fn commit_failure(&self, failure: &Value) -> Result<PathBuf, PipelineError> {
        let target = if self.existing().is_empty() { self.root.clone() } else { self.root.join("failed") };
        if target != self.root {
            remove(&target)?;
            std::fs::create_dir(&target).map_err(io_err("cannot create", &target))?;
        }
        if self.case_dir().exists() {
            std::fs::rename(self.case_dir(), target.join("case"))
                .map_err(io_err("cannot move the case to", &target))?;
        }
        let path = target.join("failure.json");
        write_json(&path, failure)?;
        remove(&self.staging)?;
        Ok(path)
    }
}

/// Writes JSON atomically (temporary file, then rename).
pub fn write_json(path: &Path, v: &Value) -> Result<(), PipelineError> {
    let tmp = path.with_extension("json.partial");
    let text = serde_json::to_string_pretty(v).expect("JSON values serialise");
    std::fs::write(&tmp, text + "\n")
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| PipelineError::Io(format!("{}: {e}", path.display())))
}
