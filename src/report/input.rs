//! What a report says about a run, gathered from its files: `summary.json` or
//! `failure.json`, the steps' logs (residuals, checkMesh, layers, the last lines before a
//! failure), the function objects' output (force coefficients, y+), and the dictionaries
//! (boundary conditions, schemes, solver controls, fluid and turbulence model).
use super::foamdict::{self, Value as DictValue};
use super::{Input, ReportError};
use crate::foam::log::{
    parse_coefficient_dat, CheckMeshReport, DivergenceOptions, ForceCoeffSample, LayerReport, LogEvent, LogParser,
    SolverProgress, FORCE_COEFF_FILES,
};
use serde_json::Value;
use sha2::Digest;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The steps in the order the pipeline runs them (their logs are `log.<step>`).
/// ESI and Foundation names both (a case has one or the other).
pub const STEPS: &[&str] = &[
    "blockMesh",
    "surfaceFeatureExtract",
    "surfaceFeatures",
    "snappyHexMesh",
    "extrudeMesh",
    "createPatch",
    "checkMesh",
    "potentialFoam",
    "simpleFoam",
    "pimpleFoam",
    "foamRun",
];

/// The initial residual of each field against iteration.
#[derive(Debug, Clone, Default)]
pub struct Residuals {
    /// (field, [(iteration, initial residual)]) in the order fields first appear.
    pub fields: Vec<(String, Vec<(f64, f64)>)>,
}

/// One patch's first-layer y+ at the last time.
#[derive(Debug, Clone, PartialEq)]
pub struct YPlus {
    pub patch: String,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    /// Share of the patch's area inside the treatment's band (0–1), when the run measured
    /// it (`summary.json`'s `mesh.yplus`; yPlus.dat has face averages only).
    pub in_band: Option<f64>,
}

/// The y+ band the run was checked against, from `summary.json`'s `mesh.yplus`.
#[derive(Debug, Clone, PartialEq)]
pub struct YPlusBand {
    /// `wall_functions` or `low_re`.
    pub treatment: String,
    pub band: [f64; 2],
    /// Share of the whole wall area outside it (0–1).
    pub outside: f64,
    /// The area-weighted mean over every wall.
    pub mean: f64,
}

/// One patch's boundary conditions: its mesh type and each field's condition.
#[derive(Debug, Clone, Default)]
pub struct PatchBc {
    pub patch: String,
    pub kind: String,
    /// (field, type, value when given)
    pub fields: Vec<(String, String, Option<String>)>,
}

/// Everything the report draws on, each part absent when its file is.
#[derive(Debug, Default)]
pub struct Facts {
    pub case: PathBuf,
    pub summary: Option<Value>,
    pub failure: Option<Value>,
    pub residuals: Residuals,
    pub forces: Vec<(f64, ForceCoeffSample)>,
    pub yplus: Vec<YPlus>,
    pub yplus_band: Option<YPlusBand>,
    pub check_mesh: Option<CheckMeshReport>,
    /// checkMesh's "cells of each type" (hexahedra, prisms, …, polyhedra), non-zero ones.
    pub cell_types: Vec<(String, u64)>,
    pub layers: Option<LayerReport>,
    pub bcs: Vec<PatchBc>,
    /// Scheme name → setting, and solver controls (name → setting), in a short list each.
    pub schemes: Vec<(String, String)>,
    pub controls: Vec<(String, String)>,
    /// Kinematic viscosity, m²/s (constant/transportProperties).
    pub nu: Option<f64>,
    /// "k-ω SST (kOmegaSST)", "laminar", … (`TurbulenceModel::label` and OpenFOAM's name).
    pub turbulence_model: Option<String>,
    /// "v1912" from the summary or a log header.
    pub openfoam_version: Option<String>,
    /// Why the solver stopped diverging, when it did (from the solver's log).
    pub divergence: Option<String>,
    /// The first fatal error in a step's log: (step, message).
    pub fatal: Option<(String, String)>,
    /// The last lines of the failing step's log (or of the run's log).
    pub last_lines: Vec<String>,
    /// (relative path, sha256) of the inputs that make the case.
    pub hashes: Vec<(String, String)>,
    /// The steps whose logs exist, with their wall time (s) when the summary has it.
    pub steps_run: Vec<String>,
}

fn read_text(p: &Path) -> Option<String> {
    std::fs::read(p).ok().map(|b| String::from_utf8_lossy(&b).into_owned())
}

fn read_json(p: &Path, what: &str) -> Result<Value, ReportError> {
    let bytes = std::fs::read(p).map_err(|source| ReportError::Io { path: p.display().to_string(), source })?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|e| {
        ReportError::BadInput(format!(
            "{} is not valid JSON ({e}); it should be the {what} `flowcfd run` writes: rerun the case, or leave it out \
             (pass --summary with a good file, or none for a report without the summary's sections)",
            p.display()
        ))
    })?;
    if !v.is_object() {
        return Err(ReportError::BadInput(format!(
            "{} holds JSON but not an object; it should be the {what} `flowcfd run` writes",
            p.display()
        )));
    }
    Ok(v)
}

/// Gathers the facts of a located input.
pub fn gather(input: &Input) -> Result<Facts, ReportError> {
    let case = input.case.clone();
    let summary = input.summary.as_deref().map(|p| read_json(p, "summary")).transpose()?;
    let failure = input.failure.as_deref().map(|p| read_json(p, "failure record")).transpose()?;
    let mut f = Facts { case: case.clone(), summary, failure, ..Facts::default() };
    for step in STEPS {
        if case.join(format!("log.{step}")).is_file() {
            f.steps_run.push(step.to_string());
        }
    }
    read_logs(&mut f, input.run_log.as_deref());
    f.forces = FORCE_COEFF_FILES
        .iter()
        .find_map(|name| read_text(&case.join(name)))
        .map(|t| parse_coefficient_dat(&t))
        .unwrap_or_default();
    // The run's own area-weighted check (the job page's figures) where it has one; the
    // function object's face averages otherwise (a run stopped before the check).
    match f.summary.as_ref().and_then(|s| summary_yplus(&s["mesh"]["yplus"])) {
        Some((rows, band)) => (f.yplus, f.yplus_band) = (rows, Some(band)),
        None => {
            f.yplus =
                read_text(&case.join("postProcessing/yPlus1/0/yPlus.dat")).map(|t| parse_yplus(&t)).unwrap_or_default()
        }
    }
    f.bcs = read_bcs(&case);
    read_numerics(&mut f);
    f.hashes = hashes(&case);
    if let Some(v) = f.summary.as_ref().and_then(|s| s["openfoam_version"].as_str()) {
        f.openfoam_version = Some(v.to_string());
    }
    Ok(f)
}

/// Residuals, checkMesh, layers, divergence and the failure's last lines from the logs.
fn read_logs(f: &mut Facts, run_log: Option<&Path>) {
    let mut fields: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for step in STEPS {
        let Some(text) = read_text(&f.case.join(format!("log.{step}"))) else { continue };
        if f.openfoam_version.is_none() {
            f.openfoam_version = version_of(&text);
        }
        let mut parser = LogParser::new();
        let mut events = parser.feed(text.as_bytes());
        events.extend(parser.finish());
        let solver = crate::foam::case::is_solver_step(step);
        let mut progress = SolverProgress::new(DivergenceOptions::default());
        let (mut time, mut seen): (Option<f64>, Vec<String>) = (None, Vec::new());
        for ev in &events {
            if solver {
                progress.apply(ev);
            }
            match ev {
                LogEvent::Time { time: t } => {
                    time = Some(*t);
                    seen.clear();
                }
                LogEvent::Residual { field, initial, .. } if solver => {
                    let (Some(t), false) = (time, seen.contains(field)) else { continue };
                    seen.push(field.clone());
                    match fields.iter_mut().find(|(n, _)| n == field) {
                        Some((_, s)) => s.push((t, *initial)),
                        None => fields.push((field.clone(), vec![(t, *initial)])),
                    }
                }
                LogEvent::CheckMesh(r) => f.check_mesh = Some(r.clone()),
                LogEvent::Layers(l) => f.layers = Some(l.clone()),
                LogEvent::FatalError { message } if f.fatal.is_none() => {
                    f.fatal = Some((step.to_string(), message.clone()))
                }
                LogEvent::FloatingPointException { message } if f.fatal.is_none() => {
                    f.fatal = Some((step.to_string(), format!("floating point exception: {message}")))
                }
                _ => {}
            }
        }
        if solver {
            f.divergence = progress.divergence();
        }
        if *step == "checkMesh" {
            f.cell_types = cell_types(&text);
        }
    }
    f.residuals = Residuals { fields };
    // The failing step's log (or the run's) ends with what went wrong.
    let failing = f.failure.as_ref().and_then(|v| v["step"].as_str()).filter(|s| !s.is_empty()).map(str::to_string);
    let tail_of = failing
        .as_ref()
        .map(|s| f.case.join(format!("log.{s}")))
        .filter(|p| p.is_file())
        .or_else(|| run_log.map(Path::to_path_buf))
        .or_else(|| f.steps_run.last().map(|s| f.case.join(format!("log.{s}"))));
    if let Some(text) = tail_of.as_deref().and_then(read_text) {
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        f.last_lines = lines[lines.len().saturating_sub(15)..].iter().map(|l| l.to_string()).collect();
    }
}

/// "v1912" from a log's banner (`Build  : OPENFOAM=1912 …` or `Version: v2312`).
fn version_of(text: &str) -> Option<String> {
    for line in text.lines().take(30) {
        if let Some(rest) = line.split("OPENFOAM=").nth(1) {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            if !digits.is_empty() {
                return Some(format!("v{digits}"));
            }
        }
        if let Some(rest) = line.split("Version:").nth(1) {
            let v = rest.trim().trim_end_matches('|').trim();
            if !v.is_empty() {
                return Some(v.to_string());
            }
        }
    }
    None
}

/// checkMesh's "Overall number of cells of each type" (non-zero counts).
fn cell_types(text: &str) -> Vec<(String, u64)> {
    let kinds = ["hexahedra", "prisms", "wedges", "pyramids", "tet wedges", "tetrahedra", "polyhedra"];
    let mut out = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        for k in kinds {
            if let Some(n) = t.strip_prefix(k).and_then(|r| r.strip_prefix(':')).and_then(|r| r.trim().parse().ok()) {
                if n > 0 && !out.iter().any(|(name, _): &(String, u64)| name == k) {
                    out.push((k.to_string(), n));
                }
            }
        }
    }
    out
}

/// The per-patch rows and the band of `summary.json`'s `mesh.yplus` (runner::yplus).
fn summary_yplus(y: &Value) -> Option<(Vec<YPlus>, YPlusBand)> {
    let band = y["band"].as_array().filter(|b| b.len() == 2)?;
    let band = [band[0].as_f64()?, band[1].as_f64()?];
    let rows: Vec<YPlus> = y["patches"]
        .as_array()?
        .iter()
        .filter_map(|p| {
            Some(YPlus {
                patch: p["patch"].as_str()?.to_string(),
                min: p["min"].as_f64()?,
                max: p["max"].as_f64()?,
                mean: p["mean"].as_f64()?,
                in_band: Some((1.0 - p["below"].as_f64()? - p["above"].as_f64()?).clamp(0.0, 1.0)),
            })
        })
        .collect();
    let treatment = y["treatment"].as_str().unwrap_or("wall_functions").to_string();
    let outside = y["outside"].as_f64().unwrap_or(0.0);
    let mean = y["mean"].as_f64().unwrap_or(f64::NAN);
    (!rows.is_empty()).then(|| (rows, YPlusBand { treatment, band, outside, mean }))
}

/// yPlus.dat rows (`time patch min max average`) of the last time.
fn parse_yplus(text: &str) -> Vec<YPlus> {
    let mut rows: Vec<(f64, YPlus)> = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let c: Vec<&str> = line.split_whitespace().collect();
        if c.len() < 5 {
            continue;
        }
        let num = |s: &str| s.parse::<f64>().ok().filter(|x| x.is_finite());
        if let (Some(t), Some(min), Some(max), Some(mean)) = (num(c[0]), num(c[2]), num(c[3]), num(c[4])) {
            rows.push((t, YPlus { patch: c[1].to_string(), min, max, mean, in_band: None }));
        }
    }
    let last = rows.iter().map(|(t, _)| *t).fold(f64::NEG_INFINITY, f64::max);
    rows.into_iter().filter(|(t, _)| *t == last).map(|(_, y)| y).collect()
}

/// Boundary conditions per patch from `0.orig/` (or `0/`) and the mesh's boundary file.
fn read_bcs(case: &Path) -> Vec<PatchBc> {
    let dir = [case.join("0.orig"), case.join("0")].into_iter().find(|d| d.is_dir());
    let boundary = read_text(&case.join("constant/polyMesh/boundary")).unwrap_or_default();
    let mut out: Vec<PatchBc> =
        patch_kinds(&boundary).into_iter().map(|(patch, kind)| PatchBc { patch, kind, fields: Vec::new() }).collect();
    let Some(dir) = dir else { return out };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| rd.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect())
        .unwrap_or_default();
    files.sort();
    for path in files {
        let name = path.file_name().unwrap_or_default().to_string_lossy().to_string();
        // Only small ascii files: an initial field written by us or the user.
        if std::fs::metadata(&path).map(|m| m.len() > 2_000_000).unwrap_or(true) {
            continue;
        }
        let Some(text) = read_text(&path) else { continue };
        let d = foamdict::parse(&text);
        let Some(bf) = d.dict("boundaryField") else { continue };
        for (key, v) in &bf.0 {
            let DictValue::Dict(entry) = v else { continue };
            let ty = entry.text("type").unwrap_or_default();
            let value =
                entry.text("value").or_else(|| entry.text("inletValue")).or_else(|| entry.text("freestreamValue"));
            let targets: Vec<usize> = (0..out.len()).filter(|&i| key_matches(key, &out[i].patch)).collect();
            if targets.is_empty() && out.iter().all(|p| p.patch != *key) {
                out.push(PatchBc { patch: key.clone(), kind: String::new(), fields: Vec::new() });
                out.last_mut().unwrap().fields.push((name.clone(), ty.clone(), value.clone()));
                continue;
            }
            for i in targets {
                if !out[i].fields.iter().any(|(f, _, _)| *f == name) {
                    out[i].fields.push((name.clone(), ty.clone(), value.clone()));
                }
            }
        }
    }
    out
}

/// `(name, type)` of each patch in a polyMesh boundary file.
fn patch_kinds(boundary: &str) -> Vec<(String, String)> {
    // The file is `N ( name { type wall; … } … )`: parse the inside of the list.
    let inner = match (boundary.find('('), boundary.rfind(')')) {
        (Some(a), Some(b)) if a < b => &boundary[a + 1..b],
        _ => return Vec::new(),
    };
    foamdict::parse(inner)
        .0
        .into_iter()
        .filter_map(|(k, v)| match v {
            DictValue::Dict(d) => Some((k, d.text("type").unwrap_or_default())),
            _ => None,
        })
        .collect()
}

/// A boundaryField key names a patch exactly, as a quoted regular expression of
/// alternatives (`"(a|b)"`, `".*"`), or as a group the patch is in (not resolved here).
fn key_matches(key: &str, patch: &str) -> bool {
    let k = key.trim_matches('"');
    if k == patch {
        return true;
    }
    if k == ".*" {
        return true;
    }
    let alts = k.trim_start_matches('(').trim_end_matches(')');
    key.starts_with('"')
        && alts.split('|').any(|a| a == patch || (a.ends_with(".*") && patch.starts_with(&a[..a.len() - 2])))
}

/// Schemes, solver controls, viscosity and turbulence model.
fn read_numerics(f: &mut Facts) {
    let sys = |name: &str| read_text(&f.case.join("system").join(name)).map(|t| foamdict::parse(&t));
    if let Some(d) = sys("fvSchemes") {
        for (group, keys) in [
            ("ddtSchemes", &["default"][..]),
            ("gradSchemes", &["default"]),
            ("divSchemes", &["div(phi,U)", "div(phi,k)", "div(phi,omega)", "default"]),
            ("laplacianSchemes", &["default"]),
            ("snGradSchemes", &["default"]),
        ] {
            for k in keys {
                if let Some(v) = d.path_text(&[group, k]) {
                    f.schemes.push((format!("{} {k}", group.trim_end_matches("Schemes")), v));
                }
            }
        }
    }
    if let Some(d) = sys("fvSolution") {
        let mut push = |label: &str, v: Option<String>| {
            if let Some(v) = v {
                f.controls.push((label.to_string(), v));
            }
        };
        for field in ["p", "\"(U|k|omega)\"", "U"] {
            if let Some(s) = d.dict("solvers").and_then(|s| s.dict(field)) {
                let tol = [s.text("tolerance"), s.text("relTol").map(|r| format!("rel {r}"))];
                let tol: Vec<String> = tol.into_iter().flatten().collect();
                push(
                    &format!("solver {}", field.trim_matches('"')),
                    s.text("solver").map(|sv| format!("{sv}, tolerance {}", tol.join(", "))),
                );
            }
        }
        let simple = d.dict("SIMPLE");
        push("non-orthogonal correctors", simple.and_then(|s| s.text("nNonOrthogonalCorrectors")));
        push("consistent (SIMPLEC)", simple.and_then(|s| s.text("consistent")));
        if let Some(rc) = simple.and_then(|s| s.dict("residualControl")) {
            let v: Vec<String> = rc.0.iter().map(|(k, v)| format!("{} {}", k.trim_matches('"'), tokens(v))).collect();
            push("residual control", Some(v.join(", ")));
        }
        if let Some(rf) = d.dict("relaxationFactors") {
            let mut v = Vec::new();
            for (k, e) in &rf.0 {
                match e {
                    DictValue::Dict(sub) => {
                        v.extend(sub.0.iter().map(|(kk, vv)| format!("{k} {} {}", kk.trim_matches('"'), tokens(vv))))
                    }
                    DictValue::Tokens(t) => v.push(format!("{} {}", k.trim_matches('"'), t.join(" "))),
                }
            }
            push("relaxation", Some(v.join(", ")));
        }
    }
    let constant = |name: &str| read_text(&f.case.join("constant").join(name)).map(|t| foamdict::parse(&t));
    f.nu = constant("transportProperties")
        .or_else(|| constant("physicalProperties"))
        .and_then(|d| d.text("nu"))
        .and_then(|t| {
            // `nu [0 2 -1 0 0 0 0] 1.5e-05;` or `nu 1.5e-05;`
            t.split_whitespace().last().and_then(|x| x.parse::<f64>().ok())
        });
    let turb = constant("turbulenceProperties").or_else(|| constant("momentumTransport"));
    f.turbulence_model = turb.and_then(|d| match d.text("simulationType").as_deref() {
        Some("laminar") => Some("laminar".to_string()),
        Some(_) => d.dict("RAS").and_then(|r| r.text("RASModel").or_else(|| r.text("model"))).map(|name| {
            // The model's name for people, with OpenFOAM's beside it.
            let known = crate::foam::spec::TurbulenceModel::ALL.into_iter().find(|m| m.of_name() == name);
            known.map_or(name.clone(), |m| format!("{} ({name})", m.label()))
        }),
        None => None,
    });
}

fn tokens(v: &DictValue) -> String {
    match v {
        DictValue::Tokens(t) => t.join(" "),
        DictValue::Dict(_) => "{…}".into(),
    }
}

/// sha256 of the files that define the case: the surfaces, `system/`, `constant/` (not the
/// mesh) and the initial fields.
fn hashes(case: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for sub in ["constant/triSurface", "system", "constant", "0.orig"] {
        let dir = case.join(sub);
        let Ok(rd) = std::fs::read_dir(&dir) else { continue };
        let mut files: Vec<PathBuf> = rd.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
        files.sort();
        for p in files {
            let Ok(bytes) = std::fs::read(&p) else { continue };
            let rel = p.strip_prefix(case).unwrap_or(&p).display().to_string();
            out.push((rel, hex(&sha2::Sha256::digest(&bytes))));
        }
    }
    out
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The summary's value at a path of keys, as f64.
pub fn num(v: Option<&Value>, path: &[&str]) -> Option<f64> {
    let mut cur = v?;
    for k in path {
        cur = cur.get(*k)?;
    }
    cur.as_f64()
}

/// The summary's object at a path of keys, as (key, f64) pairs.
pub fn num_map(v: Option<&Value>, path: &[&str]) -> BTreeMap<String, f64> {
    let mut cur = match v {
        Some(v) => v,
        None => return BTreeMap::new(),
    };
    for k in path {
        match cur.get(*k) {
            Some(x) => cur = x,
            None => return BTreeMap::new(),
        }
    }
    cur.as_object()
        .map(|o| o.iter().filter_map(|(k, v)| v.as_f64().map(|x| (k.clone(), x))).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yplus_rows_of_the_last_time() {
        let t =
            "# y+ ()\n# Time patch min max average\n100 cube 1 2 3\n200\tcube\t4.3e1\t3.8e2\t1.0e2\n200 floor 1 5 2\n";
        let y = parse_yplus(t);
        assert_eq!(y.len(), 2);
        assert_eq!(y[0], YPlus { patch: "cube".into(), min: 43.0, max: 380.0, mean: 100.0, in_band: None });
    }

    #[test]
    fn yplus_from_the_runs_area_weighted_check() {
        let y = serde_json::json!({"treatment": "wall_functions", "band": [30.0, 300.0], "mean": 120.0, "outside": 0.04,
            "patches": [{"patch": "cube", "area": 6.0, "min": 20.0, "max": 310.0, "mean": 120.0, "below": 0.03, "above": 0.01}]});
        let (rows, band) = summary_yplus(&y).unwrap();
        assert_eq!(rows.len(), 1);
        assert!((rows[0].in_band.unwrap() - 0.96).abs() < 1e-12, "{rows:?}");
        assert_eq!((band.band, band.outside, band.treatment.as_str()), ([30.0, 300.0], 0.04, "wall_functions"));
        // No check recorded (mesh-only, or an old summary): the function object's file serves.
        assert!(summary_yplus(&serde_json::Value::Null).is_none());
    }

    #[test]
    fn versions_from_banners() {
        assert_eq!(version_of("Build  : OPENFOAM=1912 patch=200626\n").as_deref(), Some("v1912"));
        assert_eq!(version_of("|  \\\\    /   O peration     | Version:  v2312  |\n").as_deref(), Some("v2312"));
    }

    #[test]
    fn cell_types_from_check_mesh() {
        let t = "    hexahedra:     44856\n    prisms:        0\n    polyhedra:     4661\n";
        assert_eq!(cell_types(t), vec![("hexahedra".into(), 44856), ("polyhedra".into(), 4661)]);
    }

    #[test]
    fn boundary_keys_match_patches() {
        assert!(key_matches("\"(lowerWall|cube)\"", "cube"));
        assert!(key_matches("\"motorBike.*\"", "motorBike_frame"));
        assert!(!key_matches("inlet", "inlet2"));
        let b = "FoamFile { class polyBoundaryMesh; }\n3\n(\n    inlet { type patch; nFaces 10; startFace 5; }\n    \
                 cube { type wall; inGroups List<word> 1(wall); nFaces 4; }\n)\n";
        assert_eq!(patch_kinds(b), vec![("inlet".into(), "patch".into()), ("cube".into(), "wall".into())]);
    }
}
