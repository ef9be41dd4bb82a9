//! Validation runs in the appliance: an administrator starts `flowcfd validate --json --out
//! <data_dir>/validation/<run>` as a child process (one at a time), and everyone signed in
//! reads the latest run and its plots. A run is its directory: `results.json` (written by the
//! command after every case), `log.txt` (its output) and `exit.json` (its exit status, when
//! it ended). A CLI run published with `flowcfd validate --out <data_dir>/validation/<id>` is
//! listed the same way.

use crate::error::{AppError, AppResult};
use crate::service::Caller;
use crate::state::AppState;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The run in progress in this server, if any.
static RUNNING: Mutex<Option<String>> = Mutex::new(None);

fn running() -> Option<String> {
    RUNNING.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Where runs are kept.
pub fn runs_dir(st: &AppState) -> PathBuf {
    st.cfg.data_dir.join("validation")
}

/// A run id or a case name: letters, digits, `-`, `_` and `.` (never `..`), as a path part.
fn safe_part(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s != "."
        && s != ".."
        && !s.starts_with('.')
        && s.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// Starts a run of `cases` (every CI case when empty); refused while one runs.
pub fn start(st: &AppState, caller: &Caller, cases: &[String]) -> AppResult<Value> {
    if !caller.user.is_admin {
        return Err(AppError::Forbidden("only server administrators can start a validation run".into()));
    }
    crate::validate::select(cases).map_err(AppError::BadRequest)?;
    let mut slot = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(r) = slot.as_ref() {
        return Err(AppError::Conflict(format!("validation run {r} is still running; wait for it to finish")));
    }
    let id = format!("{}-{:04x}", chrono::Utc::now().format("%Y%m%dT%H%M%SZ"), rand::random::<u16>());
    let dir = runs_dir(st).join(&id);
    std::fs::create_dir_all(&dir).map_err(|e| AppError::Internal(format!("cannot create {}: {e}", dir.display())))?;
    let log = std::fs::File::create(dir.join("log.txt")).map_err(|e| AppError::Internal(e.to_string()))?;
    let err = log.try_clone().map_err(|e| AppError::Internal(e.to_string()))?;
    let mut cmd = std::process::Command::new(st.cfg.flowcfd_bin());
    cmd.arg("validate").arg("--json").arg("--out").arg(&dir).args(cases).stdout(log).stderr(err);
    let mut child = cmd.spawn().map_err(|e| AppError::Internal(format!("cannot start flowcfd validate: {e}")))?;
    *slot = Some(id.clone());
    drop(slot);
    let done = dir.clone();
    // A thread, not a task: the wait blocks for the minutes the suite takes.
    std::thread::spawn(move || {
        let status = child.wait();
        let code = status.as_ref().ok().and_then(|s| s.code());
        let _ = std::fs::write(done.join("exit.json"), json!({ "exit_code": code }).to_string());
        *RUNNING.lock().unwrap_or_else(|e| e.into_inner()) = None;
    });
    Ok(json!({ "run": id, "status": "running", "cases": cases }))
}

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

/// One run as the API shows it: status, times and the per-case results.
pub fn run_view(dir: &Path, id: &str) -> Value {
    let results = read_json(&dir.join("results.json")).unwrap_or(json!({}));
    let exit = read_json(&dir.join("exit.json"));
    let finished = results["finished"].as_str().map(str::to_string);
    let status = if running().as_deref() == Some(id) {
        "running"
    } else if finished.is_none() {
        if exit.is_some() { "failed" } else { "interrupted" }
    } else if results["pass"] == true {
        "passed"
    } else {
        "failed"
    };
    let cases: Vec<Value> = results["cases"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|mut c| {
            let name = c["name"].as_str().unwrap_or_default().to_string();
            if let Some(plots) = c["plots"].as_array() {
                let urls: Vec<Value> =
                    plots.iter().filter_map(|p| p.as_str()).map(|p| json!(format!("/api/validation/{id}/{name}/{p}"))).collect();
                c["plot_urls"] = json!(urls);
            }
            c
        })
        .collect();
    json!({
        "run": id,
        "status": status,
        "started": results["started"],
        "finished": finished,
        "pass": results["pass"],
        "exit_code": exit.as_ref().map(|e| e["exit_code"].clone()),
        "cases": cases,
    })
}

/// The latest run (by id, which starts with its UTC start time), or `null` when none.
pub fn latest(st: &AppState) -> Value {
    let dir = runs_dir(st);
    let mut ids: Vec<String> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.path().join("results.json").is_file() || e.path().join("log.txt").is_file())
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| safe_part(n))
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    match ids.last() {
        Some(id) => run_view(&dir.join(id), id),
        None => Value::Null,
    }
}

/// A plot of a run: `<run>/<case>/<file>.svg`.
pub fn plot(st: &AppState, run: &str, case: &str, file: &str) -> AppResult<Vec<u8>> {
    if !(safe_part(run) && safe_part(case) && safe_part(file) && file.ends_with(".svg")) {
        return Err(AppError::NotFound("plot"));
    }
    std::fs::read(runs_dir(st).join(run).join(case).join(file)).map_err(|_| AppError::NotFound("plot"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_parts_are_plain_names() {
        assert!(safe_part("20261207T070000Z-ab12") && safe_part("u_vertical_centreline.svg"));
        for bad in ["", ".", "..", "../x", "a/b", ".hidden", "a b"] {
            assert!(!safe_part(bad), "{bad}");
        }
    }
}
