//! The validation suite in CI: `flowcfd validate --json` runs every CI case (all but the
//! `ahmed-25` benchmark) on real OpenFOAM, and each case's line must pass; a failing
//! tolerance fails this test. The binary's own exit status must agree with the lines.
//! `FLOWCFD_VALIDATE_CASES` (space-separated) narrows the run while working on one case.

mod common;
use common::*;
use std::process::Command;

#[test]
fn every_ci_case_passes_its_tolerance() {
    require_openfoam();
    let out = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_flowcfd"));
    cmd.args(["validate", "--json", "--out"]).arg(out.path());
    let names: Vec<String> = std::env::var("FLOWCFD_VALIDATE_CASES")
        .map(|s| s.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    cmd.args(&names);
    let run = cmd.output().expect("run flowcfd validate");
    let stderr = String::from_utf8_lossy(&run.stderr);
    let stdout = String::from_utf8_lossy(&run.stdout);
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}\nstderr:\n{stderr}")))
        .collect();
    let expected: Vec<String> = if names.is_empty() {
        flowcfd::validate::CASES.iter().filter(|c| c.ci).map(|c| c.name.to_string()).collect()
    } else {
        names
    };
    let got: Vec<&str> = lines.iter().map(|l| l["name"].as_str().unwrap()).collect();
    assert_eq!(got, expected, "one line per case, in order\nstderr:\n{stderr}");
    let mut failed = Vec::new();
    for l in &lines {
        for k in ["name", "metrics", "reference", "tolerance", "pass", "wall_s"] {
            assert!(l.get(k).is_some(), "{k} missing from {l}");
        }
        eprintln!("{}: pass {} in {} s, {}", l["name"], l["pass"], l["wall_s"], l["metrics"]);
        if l["pass"] != true {
            failed.push(l.to_string());
        }
        // Each case leaves its OpenFOAM case and at least one plot.
        let dir = out.path().join(l["name"].as_str().unwrap());
        for p in l["plots"].as_array().into_iter().flatten() {
            let svg = std::fs::read_to_string(dir.join(p.as_str().unwrap())).unwrap();
            assert!(svg.starts_with("<svg"), "{p} is not an SVG");
        }
        assert!(l["pass"] != true || !l["plots"].as_array().unwrap().is_empty(), "{} has no plot", l["name"]);
    }
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("results.json")).unwrap()).unwrap();
    assert_eq!(results["cases"].as_array().unwrap().len(), lines.len());
    assert!(results["finished"].is_string());
    assert_eq!(run.status.success(), failed.is_empty(), "the exit status follows the verdicts\nstderr:\n{stderr}");
    assert!(failed.is_empty(), "validation cases failed:\n{}\nstderr:\n{stderr}", failed.join("\n"));
}

/// A case that cannot pass makes the command fail: an unknown name is refused with the
/// list of cases, before anything runs.
#[test]
fn unknown_case_is_refused_with_the_list() {
    let run = Command::new(env!("CARGO_BIN_EXE_flowcfd")).args(["validate", "no-such-case"]).output().unwrap();
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("no validation case") && err.contains("cavity-re100"), "{err}");
    let list = Command::new(env!("CARGO_BIN_EXE_flowcfd")).args(["validate", "--list"]).output().unwrap();
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(text.contains("ahmed-25 [benchmark only, not CI]") && text.contains("tolerance:"), "{text}");
}
