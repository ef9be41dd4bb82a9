//! `flowcfd mesh-ai eval DIR --target-cells N`: every geometry in DIR is given parameters
//! by each source (the mesh AI when a model is built in, and the rules), then meshed for
//! real (blockMesh, snappyHexMesh with layers, checkMesh) in the same run, and compared:
//! predicted and actual cells, |ln(actual / target)|, checkMesh, layer coverage of the wall
//! area, how often the mesh AI answered (rather than the rules), and the first-layer y+:
//! the plan's estimate against the wall treatment's band and, with `--solve N`, the y+ the
//! solver measured after N SIMPLE iterations (the share of the wall area inside the band).
//! Writes `eval.md` and `eval.json`.
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
    /// Solve each mesh for this many SIMPLE iterations and measure y+ (none: mesh only).
    pub solve: Option<u32>,
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

/// The family of a geometry file: the generator's `family-id` names (`plate-934.stl`) give
/// `plate`; any other name (OpenFOAM's own geometries, a user's) is `openfoam` when it is one
/// of OpenFOAM's tutorial shapes and `other` otherwise.
fn family(file_name: &str) -> String {
    let stem = file_name.split('.').next().unwrap_or_default();
    match stem.rsplit_once('-') {
        Some((fam, id)) if !fam.is_empty() && !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => {
            fam.to_string()
        }
        _ if OPENFOAM_GEOMETRIES.iter().any(|g| stem.eq_ignore_ascii_case(g)) => "openfoam".into(),
        _ => "other".into(),
    }
}

/// OpenFOAM's own geometries that `mesh-ai/eval.sh` evaluates (resources/geometry).
const OPENFOAM_GEOMETRIES: [&str; 7] =
    ["motorBike", "DTC-scaled", "blob", "bullet", "flange", "building_wtc2", "wigley-scaled-oriented"];

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
    let text = match a.solve {
        None => format!(
            "mesh_only = true\n[flow]\ntype = \"external\"\nvelocity = [{:?}, 0.0, 0.0]\n[mesh]\ntarget_cells = {}\n",
            a.velocity, a.target_cells
        ),
        Some(n) => format!(
            "[flow]\ntype = \"external\"\nvelocity = [{:?}, 0.0, 0.0]\n[mesh]\ntarget_cells = {}\n[solver]\niterations = {n}\n",
            a.velocity, a.target_cells
        ),
    };
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
    let by_source = |rows: &[Value]| {
        json!({
            "rules": summarise(rows, "rules"),
            "ai": if a.model.is_some() { summarise(rows, "ai") } else { json!({"available": false, "reason": crate::meshai::NO_MODEL}) },
        })
    };
    let mut summary = by_source(&rows);
    // Per family (the generator's family from the file name, "openfoam" for OpenFOAM's own).
    let mut families: std::collections::BTreeMap<String, Vec<Value>> = Default::default();
    for r in &rows {
        families.entry(family(r["geometry"].as_str().unwrap_or_default())).or_default().push(r.clone());
    }
    summary["families"] = families
        .iter()
        .map(|(fam, of)| (fam.clone(), by_source(of)))
        .collect::<serde_json::Map<String, Value>>()
        .into();
    let report = json!({"target_cells": a.target_cells, "velocity": a.velocity, "solve_iterations": a.solve,
                        "rows": rows, "summary": summary});
    std::fs::write(a.out.join("eval.json"), serde_json::to_string_pretty(&report).expect("JSON") + "\n")
        .map_err(|e| e.to_string())?;
    std::fs::write(a.out.join("eval.md"), markdown(&report)).map_err(|e| e.to_string())?;
    Ok(report)
}

/// Medians and fractions over one source's rows.
fn summarise(rows: &[Value], source: &str) -> Value {
    let all: Vec<&Value> = rows.iter().filter(|r| r["source"] == source).collect();
    let done: Vec<&&Value> = all.iter().filter(|r| r.get("actual_cells").is_some()).collect();
    let fraction = |n: usize, of: usize| if of == 0 { Value::Null } else { json!(n as f64 / of as f64) };
    // Over every meshed geometry: a mesh without layers (no coverage, no first cell sized
    // for y+) counts as a miss, not as absent, so dropping the layers cannot raise these.
    let covered =
        fraction(done.iter().filter(|r| r["layer_coverage"].as_f64().is_some_and(|x| x >= 0.85)).count(), done.len());
    let fell_back = all.iter().filter(|r| r["params_source"] == "rules" && source == "ai").count();
    let answered = all.iter().filter(|r| r["params_source"] == source).count();
    let in_band = done.iter().filter(|r| r["yplus_estimate_in_band"] == true).count();
    let mut measured: Vec<f64> = done.iter().filter_map(|r| r["yplus_measured"]["inside"].as_f64()).collect();
    if all.iter().any(|r| r.get("yplus_measured").is_some()) {
        // A solved evaluation: a geometry whose mesh or solve failed (SIMPLE diverged) has
        // none of its wall in the band; it is a miss, not left out.
        measured.extend(all.iter().filter(|r| r.get("error").is_some()).map(|_| 0.0));
    }
    json!({
        "geometries": all.len(),
        "meshed": done.len(),
        "fell_back_to_rules": fell_back,
        // How often this source's own parameters were used (the AI's answer rate).
        "answered_fraction": fraction(answered, all.len()),
        "yplus_estimate_in_band_fraction": fraction(in_band, done.len()),
        "median_wall_area_in_band": median(measured.clone()),
        "solves_restarted": all.iter().filter(|r| r["solve_restarted"] == true).count(),
        "wall_area_in_band_80_fraction": fraction(measured.iter().filter(|x| **x >= 0.8).count(), measured.len()),
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
    let layers = &p.case.plan.layers;
    let band = p.case.wall_treatment.band();
    let dir = a.out.join(name);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let out = OutDir::claim(&dir.join(source), true).map_err(|e| e.to_string())?;
    crate::foam::case::write(&p.case, &out.case_dir()).map_err(|e| e.to_string())?;
    let estimate = (layers.count > 0).then_some(layers.estimated_yplus);
    let base = json!({"geometry": name, "source": source, "predicted_cells": predicted,
                      "params_source": p.mesh_choice.source, "params_reason": p.mesh_choice.reason,
                      "grid": p.mesh_choice.grid, "friction": layers.friction,
                      "yplus_band": band.map(|(lo, hi)| [lo, hi]),
                      "yplus_estimate": estimate,
                      "yplus_estimate_in_band": estimate.zip(band).map(|(y, (lo, hi))| y >= lo && y <= hi)});
    let mut row = base.clone();
    match pipeline::run(&p, &out, env, &mut Quiet, &AtomicBool::new(false)) {
        Err(e) => row["error"] = json!(e.to_string()),
        Ok(s) => {
            let cells = s["mesh"]["cells"].as_f64().unwrap_or(0.0);
            let m = row.as_object_mut().expect("object");
            m.insert("actual_cells".into(), json!(cells as u64));
            m.insert("abs_log_ratio".into(), json!(if cells > 0.0 { (cells / target).ln().abs() } else { f64::NAN }));
            m.insert("checkmesh_ok".into(), s["mesh"]["ok"].clone());
            m.insert("failed_checks".into(), s["mesh"]["failed_checks"].clone());
            m.insert("layer_coverage".into(), s["mesh"]["layer_coverage"].clone());
            let y = &s["mesh"]["yplus"];
            if let Some(mean) = y["mean"].as_f64() {
                let outside = y["outside"].as_f64().unwrap_or(f64::NAN);
                m.insert("yplus_measured".into(), json!({"mean": mean, "inside": 1.0 - outside, "time": y["time"]}));
                // Diverged at first and restarted with first-order numerics (runner::pipeline).
                m.insert("solve_restarted".into(), json!(!s["solve"]["recovered_from"].is_null()));
            }
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

fn pct(v: &Value) -> String {
    v.as_f64().map(|x| format!("{:.0} %", x * 100.0)).unwrap_or_else(|| "–".into())
}

/// The report as a markdown table (for the model card).
pub fn markdown(r: &Value) -> String {
    let mut s = format!(
        "Target {} cells, {} m/s along +x, air. Meshed for real (blockMesh, snappyHexMesh with layers, checkMesh){}.\n\n\
         | geometry | source | predicted cells | actual cells | \\|ln(actual/target)\\| | checkMesh | layer coverage | y+ estimate | y+ measured: mean, wall area in band |\n\
         | --- | --- | ---: | ---: | ---: | --- | ---: | --- | --- |\n",
        r["target_cells"],
        r["velocity"],
        r["solve_iterations"].as_u64().map(|n| format!(", then solved for {n} SIMPLE iterations (k-ω SST)")).unwrap_or_default()
    );
    for row in r["rows"].as_array().into_iter().flatten() {
        let g = row["geometry"].as_str().unwrap_or_default();
        let src = row["source"].as_str().unwrap_or_default();
        let src = if src == "ai" && row["params_source"] == "rules" { "ai → rules" } else { src };
        if row["available"] == false {
            s.push_str(&format!("| {g} | {src} | not available: no trained model yet | | | | | | |\n"));
        } else if let Some(e) = row.get("error") {
            let predicted = row["predicted_cells"].as_u64().map(|n| n.to_string()).unwrap_or_else(|| "–".into());
            s.push_str(&format!(
                "| {g} | {src} | {predicted} | failed: {} | | | | | |\n",
                // The first line (eval.json keeps the whole message): a table row is one line.
                e.as_str().unwrap_or_default().lines().next().unwrap_or_default().trim().replace('|', "/")
            ));
        } else {
            let band = row["yplus_band"].as_array().map(|b| format!("{}–{}", f(&b[0], 0), f(&b[1], 0)));
            let est = match (row["yplus_estimate"].as_f64(), &band) {
                (Some(y), Some(b)) => {
                    format!("{y:.0} ({} {b})", if row["yplus_estimate_in_band"] == true { "in" } else { "outside" })
                }
                (Some(y), None) => format!("{y:.0}"),
                _ => "no layers".into(),
            };
            let measured = &row["yplus_measured"];
            let measured = match measured["mean"].as_f64() {
                Some(m) => format!(
                    "{m:.0}, {}{}",
                    pct(&measured["inside"]),
                    if row["solve_restarted"] == true { " (restarted, first order)" } else { "" }
                ),
                None => "–".into(),
            };
            s.push_str(&format!(
                "| {g} | {src} | {} | {} | {} | {} | {} | {est} | {measured} |\n",
                row["predicted_cells"],
                row["actual_cells"],
                f(&row["abs_log_ratio"], 3),
                if row["checkmesh_ok"] == true { "OK" } else { "failed" },
                pct(&row["layer_coverage"]),
            ));
        }
    }
    s.push('\n');
    s.push_str(&family_table(r));
    for (label, key) in [("Mesh AI", "ai"), ("Rules", "rules")] {
        let sm = &r["summary"][key];
        if sm["available"] == false {
            s.push_str(&format!("{label}: not available ({}).\n", sm["reason"].as_str().unwrap_or_default()));
            continue;
        }
        s.push_str(&format!(
            "{label}: answered on {} of {} geometries, {} meshed; median |ln(actual/target)| {}; checkMesh OK on {}; median layer coverage {}, at least 85 % on {} of them; first-layer y+ estimate in band on {}{}.\n",
            pct(&sm["answered_fraction"]),
            sm["geometries"],
            sm["meshed"],
            f(&sm["median_abs_log_ratio"], 3),
            pct(&sm["checkmesh_ok_fraction"]),
            pct(&sm["median_layer_coverage"]),
            pct(&sm["layer_coverage_85_fraction"]),
            pct(&sm["yplus_estimate_in_band_fraction"]),
            if sm["median_wall_area_in_band"].is_null() {
                String::new()
            } else {
                format!(
                    "; measured y+ in band on a median {} of the wall area, on at least 80 % of it for {} of the geometries ({} solves diverged and were restarted with first-order numerics)",
                    pct(&sm["median_wall_area_in_band"]),
                    pct(&sm["wall_area_in_band_80_fraction"]),
                    sm["solves_restarted"]
                )
            }
        ));
    }
    s
}

/// The per-family table: for each family, the mesh AI's figure and the rules' side by side.
fn family_table(r: &Value) -> String {
    let Some(fams) = r["summary"]["families"].as_object().filter(|f| !f.is_empty()) else { return String::new() };
    let mut s = String::from(
        "| family | geometries | AI answered | median \\|ln(actual/target)\\|, AI / rules | checkMesh OK | layer coverage ≥ 85 % | y+ estimate in band | measured y+: median wall area in band |\n\
         | --- | ---: | ---: | --- | --- | --- | --- | --- |\n",
    );
    for (fam, v) in fams {
        let (ai, rules) = (&v["ai"], &v["rules"]);
        let pair = |key: &str, num: fn(&Value) -> String| {
            let a = if ai["available"] == false { "–".to_string() } else { num(&ai[key]) };
            format!("{a} / {}", num(&rules[key]))
        };
        s.push_str(&format!(
            "| {fam} | {} | {} | {} | {} | {} | {} | {} |\n",
            rules["geometries"],
            if ai["available"] == false { "–".into() } else { pct(&ai["answered_fraction"]) },
            pair("median_abs_log_ratio", |x| f(x, 3)),
            pair("checkmesh_ok_fraction", pct),
            pair("layer_coverage_85_fraction", pct),
            pair("yplus_estimate_in_band_fraction", pct),
            pair("median_wall_area_in_band", pct),
        ));
    }
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_come_from_the_generators_names() {
        assert_eq!(family("plate-934.stl"), "plate");
        assert_eq!(family("slender_wing-703.stl.gz"), "slender_wing");
        assert_eq!(family("DTC-scaled.stl.gz"), "openfoam");
        assert_eq!(family("motorBike.obj.gz"), "openfoam");
        assert_eq!(family("my-part.stl"), "other");
        assert_eq!(family("cube.stl"), "other");
    }

    #[test]
    fn a_mesh_without_layers_counts_as_a_coverage_and_yplus_miss() {
        let row = |cov: Option<f64>, in_band: Option<bool>| {
            json!({"source": "ai", "params_source": "ai", "actual_cells": 40000, "abs_log_ratio": 0.1,
            "checkmesh_ok": true, "layer_coverage": cov, "yplus_estimate_in_band": in_band})
        };
        let rows = vec![row(Some(0.95), Some(true)), row(Some(0.9), Some(false)), row(None, None), row(None, None)];
        let s = summarise(&rows, "ai");
        assert_eq!(s["layer_coverage_85_fraction"], 0.5, "{s}");
        assert_eq!(s["yplus_estimate_in_band_fraction"], 0.25, "{s}");
        assert_eq!(s["meshed"], 4);
    }

    #[test]
    fn a_failed_solve_counts_as_a_measured_yplus_miss_and_keeps_its_row_on_one_line() {
        let solved = |inside: f64| {
            json!({"geometry": "a.stl", "source": "ai", "params_source": "ai", "actual_cells": 40000, "abs_log_ratio": 0.1,
            "checkmesh_ok": true, "layer_coverage": 0.9, "yplus_estimate_in_band": true,
            "yplus_measured": {"mean": 100.0, "inside": inside}})
        };
        let failed = json!({"geometry": "blob.stl", "source": "ai", "params_source": "ai", "predicted_cells": 40000,
            "error": "simpleFoam diverged at iteration 28 | see the log\n  Cd(f) : -3.6e+33\n  #0 printStack"});
        let rows = vec![solved(0.9), solved(0.85), solved(0.5), failed.clone()];
        let s = summarise(&rows, "ai");
        assert_eq!(s["wall_area_in_band_80_fraction"], 0.5, "{s}");
        assert_eq!(s["median_wall_area_in_band"], json!(0.675), "{s}");
        // Mesh-only: no measured figures, and a failure does not make one up.
        let s = summarise(&[failed], "ai");
        assert!(s["wall_area_in_band_80_fraction"].is_null(), "{s}");
        let r = json!({"rows": rows, "target_cells": 40000, "velocity": 20.0, "summary": {}});
        let md = markdown(&r);
        let line = md.lines().find(|l| l.starts_with("| blob.stl")).unwrap();
        assert!(line.contains("failed: simpleFoam diverged at iteration 28 / see the log |"), "{line}");
        assert!(!md.contains("printStack"), "{md}");
    }

    #[test]
    fn the_family_table_puts_the_ai_and_the_rules_side_by_side() {
        let side = |ln: f64| {
            json!({"geometries": 2, "answered_fraction": 0.5, "median_abs_log_ratio": ln,
            "checkmesh_ok_fraction": 1.0, "layer_coverage_85_fraction": 0.5, "yplus_estimate_in_band_fraction": 1.0,
            "median_wall_area_in_band": null})
        };
        let r = json!({"summary": {"families": {"plate": {"ai": side(0.05), "rules": side(0.3)}}}});
        let t = family_table(&r);
        assert!(
            t.contains("| plate | 2 | 50 % | 0.050 / 0.300 | 100 % / 100 % | 50 % / 50 % | 100 % / 100 % | – / – |"),
            "{t}"
        );
        let none = json!({"summary": {"families": {"plate": {"ai": {"available": false}, "rules": side(0.3)}}}});
        assert!(family_table(&none).contains("| plate | 2 | – | – / 0.300 |"), "{}", family_table(&none));
    }
}
