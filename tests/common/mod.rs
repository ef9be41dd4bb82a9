//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod child;
pub mod db;
pub mod hooks;
pub mod kube;
pub mod moto;
pub mod server;
pub mod stripe;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `flowcfd` binary under test: cargo's, or FLOWCFD_TEST_BIN (a copy kept apart when
/// several checkouts share one target directory and its `debug/flowcfd`).
pub fn flowcfd() -> Command {
    Command::new(std::env::var_os("FLOWCFD_TEST_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_flowcfd").into()))
}

/// The `flowcfd` binary with none of the caller's `FLOWCFD_*` settings, so a test sees
/// only the configuration it gives.
pub fn flowcfd_clean() -> Command {
    let mut c = flowcfd();
    for (k, _) in std::env::vars() {
        if k.starts_with("FLOWCFD_") {
            c.env_remove(k);
        }
    }
    c
}

/// Processes whose working directory is under `dir` (`pid comm` each).
pub fn processes_under(dir: &Path) -> Vec<String> {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if std::fs::read_link(e.path().join("cwd")).is_ok_and(|c| c.starts_with(&dir)) {
            let cmd = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default();
            out.push(format!("{} {}", e.file_name().to_string_lossy(), cmd.trim()));
        }
    }
    out
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs and returns (success, stdout, stderr), failing the test on a panic.
pub fn run(cmd: &mut Command) -> (bool, String, String) {
    let Output { status, stdout, stderr } = cmd.output().expect("run flowcfd");
    let (out, err) = (String::from_utf8_lossy(&stdout).to_string(), String::from_utf8_lossy(&stderr).to_string());
    assert!(!err.contains("panicked"), "flowcfd panicked:\n{err}");
    (status.success(), out, err)
}

/// Reads `summary.json`.
pub fn summary(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("summary.json")).expect("summary.json written");
    serde_json::from_str(&text).expect("summary.json is JSON")
}

/// OpenFOAM must be installed for the tests that run it (`.ci/run` installs it); a missing
/// installation fails loudly instead of skipping.
pub fn require_openfoam() {
    assert!(
        Path::new("/usr/bin/simpleFoam").exists() || std::env::var_os("WM_PROJECT_DIR").is_some(),
        "OpenFOAM is not installed: run `apt-get install openfoam openmpi-bin` (the README's test command does)"
    );
}
