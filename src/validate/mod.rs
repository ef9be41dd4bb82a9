//! The validation suite (`flowcfd validate`): published cases run through the product's own
//! case writer and solver set-up, compared against reference data.
//!
//! `CASES` is the registry: each case writes its OpenFOAM case (a block mesh through
//! [`block`] with `foam::physics`'s dictionaries, or an STL through `runner::pipeline` as
//! `flowcfd run` does), runs it with `runner::steps`, samples the result with `post`
//! ([`sample`]), compares with the embedded reference data ([`data`]) using [`compare`],
//! and draws its plots ([`svg`]). A case that fails to run is a failed case, never a panic.

pub mod bfs;
pub mod block;
pub mod cavity;
pub mod channel;
pub mod compare;
pub mod data;
pub mod external;
pub mod sample;
pub mod svg;

use crate::foam::flavour::Flavour;
use crate::foam::spec::{CaseSpec, TurbulenceModel};
use crate::runner::openfoam::OpenFoamEnv;
use crate::runner::steps::{self, Quiet, RunOptions};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

/// One case's result: the line `flowcfd validate --json` prints, and an entry of results.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// Case name.
    pub name: String,
    /// What was measured.
    pub metrics: Map<String, Value>,
    /// The reference values compared against.
    pub reference: Map<String, Value>,
    /// The pass criterion, in words.
    pub tolerance: String,
    /// Whether every criterion held.
    pub pass: bool,
    /// Wall time of the case (writing, meshing, solving, comparing), s.
    pub wall_s: f64,
    /// Plot files, relative to the case's output directory.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plots: Vec<String>,
    /// Why the case could not run, when it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What a case measured: metrics, references, the verdict and its plots.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    /// Measured values.
    pub metrics: Map<String, Value>,
    /// Reference values.
    pub reference: Map<String, Value>,
    /// Every criterion held.
    pub pass: bool,
    /// Plots of the compared quantity against the reference data.
    pub plots: Vec<svg::Plot>,
}

/// Where and how a case runs.
pub struct Ctx<'a> {
    /// The case's output directory (the OpenFOAM case goes in `case/` under it).
    pub dir: PathBuf,
    /// The OpenFOAM to run.
    pub env: &'a OpenFoamEnv,
    /// The flavour its dictionaries are written for.
    pub flavour: Flavour,
    /// Set to stop between steps.
    pub cancel: &'a AtomicBool,
}

impl Ctx<'_> {
    /// The OpenFOAM case directory.
    pub fn case_dir(&self) -> PathBuf {
        self.dir.join("case")
    }
}

/// A registered case.
pub struct CaseDef {
    /// Name on the command line.
    pub name: &'static str,
    /// The set-up, in words.
    pub setup: &'static str,
    /// The pass criterion, in words.
    pub tolerance: &'static str,
    /// Runs in CI (every case but the benchmarks).
    pub ci: bool,
    /// Writes, runs and compares.
    pub run: fn(&Ctx) -> Result<Measured, String>,
}

/// Every case, in the order the suite runs them.
pub const CASES: &[CaseDef] = &[
    CaseDef {
        name: "cavity-re100",
        setup: "2D lid-driven cavity, Re 100, 64² cells, simpleFoam laminar",
        tolerance: "Ghia 1982 u and v centre-lines: max |Δ| ≤ 0.015 U",
        ci: true,
        run: cavity::re100,
    },
    CaseDef {
        name: "cavity-re1000",
        setup: "2D lid-driven cavity, Re 1000, 96² cells, simpleFoam laminar",
        tolerance: "Ghia 1982 u and v centre-lines: max |Δ| ≤ 0.02 U (issue: 0.03 U)",
        ci: true,
        run: cavity::re1000,
    },
    CaseDef {
        name: "poiseuille",
        setup: "2D plane channel, Re_Dh 100, developing from a uniform inlet, simpleFoam laminar",
        tolerance: "fully developed profile max |Δ| ≤ 1 % of u_max, f·Re_Dh = 96 within 1 %",
        ci: true,
        run: channel::poiseuille,
    },
    CaseDef {
        name: "blasius",
        setup: "2D laminar flat plate, Re_L 1e5, slip lead-in, graded block mesh, simpleFoam laminar",
        tolerance: "cf = 0.664/√Re_x within 3 % over the plate's middle half (issue: 5 %)",
        ci: true,
        run: channel::blasius,
    },
    CaseDef {
        name: "bfs-sst",
        setup: "Driver & Seegmiller backward-facing step, Re_H 36 000, k-ω SST, 20 540-cell block mesh",
        tolerance: "reattachment x_r/H in 5.9–7.0 (experiment 6.26)",
        ci: true,
        run: bfs::run,
    },
    CaseDef {
        name: "cylinder-re100",
        setup: "2D circular cylinder, Re 100, transient pimpleFoam laminar, STL through the normal pipeline",
        tolerance: "Strouhal 0.165 within 5 %, mean Cd 1.33 within 8 %",
        ci: true,
        run: external::cylinder,
    },
    CaseDef {
        name: "ahmed-25",
        setup: "Ahmed body 25° slant, 40 m/s, k-ω SST, moving ground, STL through the normal 3D pipeline",
        tolerance: "Cd 0.285 (experiment) within 15 % (benchmark only, not CI)",
        ci: false,
        run: external::ahmed,
    },
];

/// The cases named, or every CI case when none is.
pub fn select(names: &[String]) -> Result<Vec<&'static CaseDef>, String> {
    if names.is_empty() {
        return Ok(CASES.iter().filter(|c| c.ci).collect());
    }
    names
        .iter()
        .map(|n| {
            CASES.iter().find(|c| c.name == n).ok_or_else(|| {
                let all: Vec<&str> = CASES.iter().map(|c| c.name).collect();
                format!("no validation case {n:?}; the cases are: {}", all.join(", "))
            })
        })
        .collect()
}

/// Runs one case in `dir` (created afresh): a case that cannot run is a failed outcome.
pub fn run_case(def: &CaseDef, dir: &Path, env: &OpenFoamEnv, flavour: Flavour, cancel: &AtomicBool) -> Outcome {
    let t0 = Instant::now();
    let ctx = Ctx { dir: dir.to_path_buf(), env, flavour, cancel };
    let result = std::fs::remove_dir_all(dir)
        .or_else(|e| if e.kind() == std::io::ErrorKind::NotFound { Ok(()) } else { Err(e) })
        .and_then(|_| std::fs::create_dir_all(dir))
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))
        .and_then(|_| (def.run)(&ctx));
    let (m, error) = match result {
        Ok(m) => (m, None),
        Err(e) => (Measured::default(), Some(e)),
    };
    let mut plots = Vec::new();
    for p in &m.plots {
        let file = format!("{}.svg", p.file);
        if std::fs::write(dir.join(&file), p.svg()).is_ok() {
            plots.push(file);
        }
    }
    Outcome {
        name: def.name.to_string(),
        metrics: m.metrics,
        reference: m.reference,
        tolerance: def.tolerance.to_string(),
        pass: m.pass && error.is_none(),
        wall_s: (t0.elapsed().as_secs_f64() * 10.0).round() / 10.0,
        plots,
        error,
    }
}

/// The suite's record, `results.json` in the output directory.
pub fn results_json(started: &str, finished: Option<&str>, outcomes: &[Outcome]) -> Value {
    serde_json::json!({
        "started": started,
        "finished": finished,
        "pass": outcomes.iter().all(|o| o.pass),
        "cases": outcomes,
    })
}

/// A laminar (or turbulent) spec for a block-mesh case: velocity `u` along x, viscosity `nu`.
pub fn spec(u: f64, nu: f64, model: TurbulenceModel, iterations: u32, flavour: Flavour) -> CaseSpec {
    let mut s = CaseSpec::from_toml("[flow]\ntype = \"internal\"\nvelocity = [1, 0, 0]\n", "validate")
        .expect("literal spec");
    s.flow.velocity = [u, 0.0, 0.0];
    s.fluid.nu = Some(nu);
    s.fluid.rho = Some(1.0);
    s.turbulence.model = model;
    s.solver.iterations = iterations;
    s.solver.openfoam = Some(flavour);
    s
}

/// Writes a block case into the context's case directory and runs it; the solved case.
pub fn run_block(ctx: &Ctx, case: &block::BlockCase, timeout_s: u64) -> Result<crate::post::Case, String> {
    let dir = ctx.case_dir();
    block::write(case, &dir).map_err(|e| format!("cannot write the case to {}: {e}", dir.display()))?;
    let opts = RunOptions { cores: 1, step_timeout: Duration::from_secs(timeout_s) };
    steps::run(&dir, &case.steps, ctx.env, &opts, &mut Quiet, ctx.cancel).map_err(|e| e.to_string())?;
    crate::post::Case::open(&dir, None, crate::post::Source::Auto).map_err(|e| e.to_string())
}

/// Rounds for the record (4 significant digits).
pub fn r4(x: f64) -> Value {
    if !x.is_finite() {
        return Value::Null;
    }
    let s = format!("{x:.3e}");
    serde_json::json!(s.parse::<f64>().unwrap_or(x))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_defaults_to_ci_cases_and_names_unknown_ones() {
        let all = select(&[]).unwrap();
        assert!(all.iter().all(|c| c.ci));
        assert!(!all.iter().any(|c| c.name == "ahmed-25"));
        assert_eq!(select(&["ahmed-25".into()]).unwrap()[0].name, "ahmed-25");
        let e = select(&["nope".into()]).err().unwrap();
        assert!(e.contains("cavity-re100"), "{e}");
    }

    #[test]
    fn outcome_line_has_the_fixed_keys() {
        let o = Outcome {
            name: "x".into(),
            metrics: Map::new(),
            reference: Map::new(),
            tolerance: "t".into(),
            pass: true,
            wall_s: 1.0,
            plots: vec![],
            error: None,
        };
        let v = serde_json::to_value(&o).unwrap();
        for k in ["name", "metrics", "reference", "tolerance", "pass", "wall_s"] {
            assert!(v.get(k).is_some(), "{k}");
        }
    }
}
