//! `flowcfd mesh-ai eval DIR --target-cells N`: every geometry in DIR is given parameters
//! by each source (the mesh AI when a model is built in, and the rules), then meshed for
//! real (blockMesh, snappyHexMesh with layers, checkMesh) in the same run, and compared:
//! predicted and actual cells, |ln(actual / target)|, checkMesh, layer coverage of the wall
//! area, and the range of first-layer y+ over the walls. Writes `eval.md` and `eval.json`.
use crate::foam::rules::skin_friction;
use crate::foam::spec::CaseSpec;
use crate::runner::pipeline::{self, Limits, MeshParams, OutDir};
use crate::runner::steps::Quiet;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

/// What to evaluate.
pub struct EvalArgs {
    pub dir: PathBuf,
    pub target_cells: u64,
    pub velocity: f64,
    pub out: PathBuf,
    pub openfoam_env: Option<PathBuf>,
    /// The mesh AI's model; without one its column says it is not available.
    pub model: Option<crate::meshai::ModelRef>,
}

/// The geometry files of a directory, sorted by name.
fn geometries(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let rd = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let n = p.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
            [".stl", ".obj", ".stl.gz", ".obj.gz"].iter().any(|x| n.ends_with(x))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("{} holds no .stl or .obj geometry (optionally .gz)", dir.display()));
    }
    Ok(files)
}

/// First-layer y+ per wall patch from the layer thickness snappyHexMesh achieved (flat-plate
/// friction at the body's Reynolds number): (min, max) over patches that got layers.
fn yplus_range(summary: &Value, speed: f64, length: f64, nu: f64) -> Option<(f64, f64)> {
    let m = &summary["mesh"];
    let n = m["plan"]["layers"]["count"].as_f64()?;
    let r = m["plan"]["layers"]["expansion_ratio"].as_f64()?;
    if n < 1.0 {
        return None;
    }
    let u_tau = speed * (skin_friction(speed * length / nu) / 2.0).sqrt();
    let geometric = if (r - 1.0).abs() < 1e-9 { n } else { (r.powf(n) - 1.0) / (r - 1.0) };
    let ys: Vec<f64> = m["layers"]["patches"]
        .as_array()?
        .iter()
        .filter_map(|p| p["thickness_m"].as_f64())
        .filter(|t| *t > 0.0)
        .map(|t| t / geometric * u_tau / nu)
        .collect();
    if ys.is_empty() {
        return None;
    }
    Some((ys.iter().cloned().fold(f64::MAX, f64::min), ys.iter().cloned().fold(0.0, f64::max)))
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { 0.5 * (v[n / 2 - 1] + v[n / 2]) })
}

/// Runs the evaluation; returns the JSON report (also written to `out/eval.json`).
pub fn run(a: &EvalArgs) -> Result<Value, String> {
    if !(a.velocity.is_finite() && a.velocity > 0.0) {
        return Err(format!("--velocity {}: must be a positive speed in m/s", a.velocity));
    }
    let files = geometries(&a.dir)?;
    let env = pipeline::openfoam_env(a.openfoam_env.as_deref()).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&a.out).map_err(|e| format!("{}: {e}", a.out.display()))?;
    let text = format!(
        "mesh_only = true\n[flow]\ntype = \"external\"\nvelocity = [{:?}, 0.0, 0.0]\n[mesh]\ntarget_cells = {}\n",
        a.velocity, a.target_cells
    );
    let spec = CaseSpec::from_toml(&text, "mesh-ai eval").map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    for file in &files {
        let name = file.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        let ai = match &a.model {
            Some(m) => measure(a, &spec, &env, file, &name, "ai", MeshParams::Ai(Some(&**m)))?,
            None => json!({"geometry": name, "source": "ai", "available": false, "reason": crate::meshai::NO_MODEL}),
        };
        eprintln!("{name} (ai): {}", row_line(&ai));
        rows.push(ai);
        let rules = measure(a, &spec, &env, file, &name, "rules", MeshParams::Rules)?;
        eprintln!("{name} (rules): {}", row_line(&rules));
        rows.push(rules);
    }
    let summary = json!({
        "rules": summarise(&rows, "rules"),
        "ai": if a.model.is_some() { summarise(&rows, "ai") } else { json!({"available": false, "reason": crate::meshai::NO_MODEL}) },
    });
    let report = json!({"target_cells": a.target_cells, "velocity": a.velocity, "rows": rows, "summary": summary});
    std::fs::write(a.out.join("eval.json"), serde_json::to_string_pretty(&report).expect("JSON") + "\n")
        .map_err(|e| e.to_string())?;
    std::fs::write(a.out.join("eval.md"), markdown(&report)).map_err(|e| e.to_string())?;
    Ok(report)
}

/// Medians and fractions over one source's rows.
fn summarise(rows: &[Value], source: &str) -> Value {
    let all: Vec<&Value> = rows.iter().filter(|r| r["source"] == source).collect();
    let done: Vec<&&Value> = all.iter().filter(|r| r.get("actual_cells").is_some()).collect();
    let coverage: Vec<f64> = done.iter().filter_map(|r| r["layer_coverage"].as_f64()).collect();
    let covered = if coverage.is_empty() {
        Value::Null
    } else {
        json!(coverage.iter().filter(|x| **x >= 0.85).count() as f64 / coverage.len() as f64)
    };
    json!({
        "geometries": all.len(),
        "meshed": done.len(),
        "fell_back_to_rules": all.iter().filter(|r| r["params_source"] == "rules" && source == "ai").count(),
        "median_abs_log_ratio": median(done.iter().filter_map(|r| r["abs_log_ratio"].as_f64()).collect()),
        "checkmesh_ok_fraction": if done.is_empty() { Value::Null } else {
            json!(done.iter().filter(|r| r["checkmesh_ok"] == true).count() as f64 / done.len() as f64) },
        "median_layer_coverage": median(done.iter().filter_map(|r| r["layer_coverage"].as_f64()).collect()),
        "layer_coverage_85_fraction": covered,
    })
}

/// Prepares a geometry with one source's parameters, meshes it for real, and measures.
fn measure(
    a: &EvalArgs,
    spec: &CaseSpec,
    env: &crate::runner::openfoam::OpenFoamEnv,
    file: &Path,
    name: &str,
    source: &str,
    mesh: MeshParams<'_>,
) -> Result<Value, String> {
    let target = a.target_cells as f64;
    let t0 = std::time::Instant::now();
    let p = match pipeline::prepare_with(spec.clone(), file, &Limits::default(), mesh) {
        Ok(p) => p,
        Err(e) => return Ok(json!({"geometry": name, "source": source, "error": e.to_string()})),
    };
    let predicted = p.case.plan.estimated_cells;
    let length = p.analysis.characteristic_length;
    let dir = a.out.join(name);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let out = OutDir::claim(&dir.join(source), true).map_err(|e| e.to_string())?;
    crate::foam::case::write(&p.case, &out.case_dir()).map_err(|e| e.to_string())?;
    let base = json!({"geometry": name, "source": source, "predicted_cells": predicted,
                      "params_source": p.mesh_choice.source, "params_reason": p.mesh_choice.reason});
    let mut row = base.clone();
    match pipeline::run(&p, &out, env, &mut Quiet, &AtomicBool::new(false)) {
        Err(e) => row["error"] = json!(e.to_string()),
        Ok(s) => {
            let cells = s["mesh"]["cells"].as_f64().unwrap_or(0.0);
            let y = yplus_range(&s, a.velocity, length, spec.fluid.nu());
            let m = row.as_object_mut().expect("object");
            m.insert("actual_cells".into(), json!(cells as u64));
            m.insert("abs_log_ratio".into(), json!(if cells > 0.0 { (cells / target).ln().abs() } else { f64::NAN }));
            m.insert("checkmesh_ok".into(), s["mesh"]["ok"].clone());
            m.insert("failed_checks".into(), s["mesh"]["failed_checks"].clone());
            m.insert("layer_coverage".into(), s["mesh"]["layer_coverage"].clone());
            m.insert("yplus".into(), json!(y.map(|(lo, hi)| json!([lo, hi]))));
            m.insert("mesh_s".into(), json!((t0.elapsed().as_secs_f64() * 10.0).round() / 10.0));
        }
    }
    Ok(row)
}

fn row_line(r: &Value) -> String {
    match r.get("error") {
        Some(e) => format!("failed: {}", e.as_str().unwrap_or_default()),
        None => format!(
            "predicted {} cells, got {}, checkMesh {}",
            r["predicted_cells"],
            r["actual_cells"],
            if r["checkmesh_ok"] == true { "OK" } else { "failed" }
        ),
    }
}

fn f(v: &Value, digits: usize) -> String {
    v.as_f64().map(|x| format!("{x:.digits$}")).unwrap_or_else(|| "–".into())
}

/// The report as a markdown table (for the model card).
pub fn markdown(r: &Value) -> String {
    let mut s = format!(
        "Target {} cells, {} m/s along +x, air. Meshed for real (blockMesh, snappyHexMesh with layers, checkMesh).\n\n\
         | geometry | source | predicted cells | actual cells | \\|ln(actual/target)\\| | checkMesh | layer coverage | first-layer y+ |\n\
         | --- | --- | ---: | ---: | ---: | --- | ---: | --- |\n",
        r["target_cells"], r["velocity"]
    );
    for row in r["rows"].as_array().into_iter().flatten() {
        let g = row["geometry"].as_str().unwrap_or_default();
        let src = row["source"].as_str().unwrap_or_default();
        let src = if src == "ai" && row["params_source"] == "rules" { "ai → rules" } else { src };
        if row["available"] == false {
            s.push_str(&format!("| {g} | {src} | not available: no trained model yet | | | | | |\n"));
        } else if let Some(e) = row.get("error") {
            let predicted = row["predicted_cells"].as_u64().map(|n| n.to_string()).unwrap_or_else(|| "–".into());
            s.push_str(&format!(
                "| {g} | {src} | {predicted} | failed: {} | | | | |\n",
                e.as_str().unwrap_or_default().replace('|', "/")
            ));
        } else {
            let y = row["yplus"]
                .as_array()
                .map(|v| format!("{}–{}", f(&v[0], 0), f(&v[1], 0)))
                .unwrap_or_else(|| "–".into());
            s.push_str(&format!(
                "| {g} | {src} | {} | {} | {} | {} | {} | {y} |\n",
                row["predicted_cells"],
                row["actual_cells"],
                f(&row["abs_log_ratio"], 3),
                if row["checkmesh_ok"] == true { "OK" } else { "failed" },
                row["layer_coverage"].as_f64().map(|c| format!("{:.0} %", c * 100.0)).unwrap_or_else(|| "–".into()),
            ));
        }
    }
    s.push('\n');
    for (label, key) in [("Mesh AI", "ai"), ("Rules", "rules")] {
        let sm = &r["summary"][key];
        if sm["available"] == false {
            s.push_str(&format!("{label}: not available ({}).\n", sm["reason"].as_str().unwrap_or_default()));
            continue;
        }
        s.push_str(&format!(
            "{label}: {} of {} geometries meshed; median |ln(actual/target)| {}; checkMesh OK on {}; median layer coverage {}, at least 85 % on {} of them.\n",
            sm["meshed"],
            sm["geometries"],
            f(&sm["median_abs_log_ratio"], 3),
            sm["checkmesh_ok_fraction"].as_f64().map(|x| format!("{:.0} %", x * 100.0)).unwrap_or_else(|| "–".into()),
            sm["median_layer_coverage"].as_f64().map(|x| format!("{:.0} %", x * 100.0)).unwrap_or_else(|| "–".into()),
            sm["layer_coverage_85_fraction"].as_f64().map(|x| format!("{:.0} %", x * 100.0)).unwrap_or_else(|| "–".into()),
        ));
    }
    s
}
