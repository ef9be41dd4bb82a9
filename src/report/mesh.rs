//! The report's mesh section, as blocks: cell counts and types, checkMesh against its
//! limits, boundary layers (table and bar chart), first-layer y+, and who chose the mesh
//! parameters and why.
use super::input::{num, Facts};
use super::layout::{Block, Fonts, Table};
use super::plot::{bar_chart, fmt_num};
use super::sections::{json_num, kv, opt};
use super::Units;

/// Per-patch tables list this many patches and sum up the rest in one row.
pub const MAX_ROWS: usize = 12;

/// checkMesh's limits: (label, key in the summary or the report, limit, higher is worse).
const LIMITS: &[(&str, &str, f64)] = &[
    ("Max non-orthogonality", "max_non_orthogonality", 70.0),
    ("Max skewness", "max_skewness", 4.0),
    ("Max aspect ratio", "max_aspect_ratio", 1000.0),
];

/// Mesh: cell types, checkMesh figures, layers (table and bar chart), y+, and who chose the
/// parameters (the cut picture is added by the caller).
pub fn mesh(fonts: &Fonts, f: &Facts, units: Units, width: f32) -> Vec<Block> {
    let s = f.summary.as_ref();
    let m = s.map(|s| &s["mesh"]);
    let cm = f.check_mesh.as_ref();
    let cells = cm.map(|c| c.cells as f64).or_else(|| num(s, &["mesh", "cells"]));
    let mut blocks = vec![];
    let mut rows = vec![
        ("Cells", cells.map(|c| format!("{}", c as u64)).unwrap_or_else(|| "—".into())),
        (
            "Faces",
            cm.map(|c| c.faces.to_string()).or_else(|| m.map(|m| json_num(&m["faces"]))).unwrap_or_else(|| "—".into()),
        ),
        (
            "Points",
            cm.map(|c| c.points.to_string())
                .or_else(|| m.map(|m| json_num(&m["points"])))
                .unwrap_or_else(|| "—".into()),
        ),
    ];
    let types: Vec<String> = f.cell_types.iter().map(|(k, n)| format!("{k} {n}")).collect();
    rows.push(("Cells by type", if types.is_empty() { "— (no checkMesh log)".into() } else { types.join(", ") }));
    blocks.push(kv(rows));
    // checkMesh against its limits.
    let value = |key: &str| -> Option<f64> {
        cm.map(|c| match key {
            "max_non_orthogonality" => c.max_non_orthogonality,
            "max_skewness" => c.max_skewness,
            _ => c.max_aspect_ratio,
        })
        .or_else(|| num(s, &["mesh", key]))
    };
    let checks: Vec<Vec<String>> = LIMITS
        .iter()
        .map(|(label, key, limit)| {
            let v = value(key);
            let shown = |x: f64| if *key == "max_non_orthogonality" { units.angle(x) } else { fmt_num(x) };
            vec![
                label.to_string(),
                v.map(shown).unwrap_or_else(|| "—".into()),
                shown(*limit),
                match v {
                    Some(x) if x <= *limit => "within".into(),
                    Some(_) => "OVER the limit".into(),
                    None => "—".into(),
                },
            ]
        })
        .collect();
    blocks.push(Block::Heading(2, "Mesh quality (checkMesh)".into()));
    blocks.push(Block::Table(Table {
        header: vec!["check".into(), "value".into(), "limit".into(), "verdict".into()],
        rows: checks,
        widths: vec![1.4, 1.0, 1.0, 0.8],
        right: vec![],
        mono: false,
        small: false,
    }));
    let failed = cm.map(|c| c.failed_checks.clone()).unwrap_or_default();
    blocks.push(Block::Para(match cm.map(|c| c.ok) {
        Some(true) => "checkMesh: Mesh OK.".into(),
        Some(false) => format!("checkMesh failed {} check(s): {}.", failed.len(), failed.join("; ")),
        None => "checkMesh did not run or left no log.".into(),
    }));
    // Layers.
    let target = m.and_then(|m| m["plan"]["layers"]["count"].as_f64()).filter(|n| *n > 0.0);
    blocks.push(Block::Heading(2, "Boundary layers".into()));
    match (&f.layers, target) {
        (Some(l), Some(n)) if !l.patches.is_empty() => {
            // The least covered first; past a dozen, the rest in one row.
            let mut ps = l.patches.clone();
            ps.sort_by(|a, b| a.layers.total_cmp(&b.layers));
            let rest = ps.split_off(ps.len().min(MAX_ROWS));
            if !rest.is_empty() {
                let faces: u64 = rest.iter().map(|p| p.faces).sum();
                let w = |g: fn(&crate::foam::log::LayerPatch) -> f64| {
                    rest.iter().map(|p| g(p) * p.faces as f64).sum::<f64>() / faces.max(1) as f64
                };
                ps.push(crate::foam::log::LayerPatch {
                    name: format!("{} other patches (face-weighted)", rest.len()),
                    faces,
                    layers: w(|p| p.layers),
                    thickness_m: w(|p| p.thickness_m),
                    thickness_pct: w(|p| p.thickness_pct),
                });
            }
            let rows = ps
                .iter()
                .map(|p| {
                    vec![
                        p.name.clone(),
                        p.faces.to_string(),
                        fmt_num(p.layers),
                        format!("{} m", fmt_num(p.thickness_m)),
                        format!("{} %", fmt_num(p.thickness_pct)),
                    ]
                })
                .collect();
            blocks.push(Block::Table(Table {
                header: vec![
                    "wall patch".into(),
                    "faces".into(),
                    "layers (mean)".into(),
                    "thickness".into(),
                    "of target".into(),
                ],
                rows,
                widths: vec![2.0, 0.8, 0.9, 0.9, 0.8],
                right: vec![1, 2, 3, 4],
                mono: false,
                small: false,
            }));
            let bars: Vec<(String, f64)> =
                ps.iter().map(|p| (p.name.clone(), (p.layers / n * 100.0).clamp(0.0, 100.0))).collect();
            blocks.push(Block::Note(format!(
                "Layer coverage per wall patch: mean layers as a share of the {} asked for.",
                n
            )));
            blocks.push(Block::Canvas(bar_chart(fonts, &bars, 100.0, " %", width)));
        }
        _ => blocks.push(Block::Para("No layers were asked for, or snappyHexMesh left no layer table.".into())),
    }
    // y+.
    blocks.push(Block::Heading(2, "First-layer y+".into()));
    if f.yplus.is_empty() {
        blocks.push(Block::Para("No y+ was recorded (the yPlus function object wrote nothing).".into()));
    } else {
        let est = m.and_then(|m| m["plan"]["layers"]["estimated_yplus"].as_f64());
        // The highest first; past a dozen, the rest in one row.
        let mut ys = f.yplus.clone();
        ys.sort_by(|a, b| b.max.total_cmp(&a.max));
        let rest = ys.split_off(ys.len().min(MAX_ROWS));
        if !rest.is_empty() {
            ys.push(super::input::YPlus {
                patch: format!("{} other patches", rest.len()),
                min: rest.iter().map(|y| y.min).fold(f64::INFINITY, f64::min),
                max: rest.iter().map(|y| y.max).fold(f64::NEG_INFINITY, f64::max),
                mean: rest.iter().map(|y| y.mean).sum::<f64>() / rest.len() as f64,
                in_band: None,
            });
        }
        // The band the run was checked against (wall functions' when unknown).
        let wall_functions = crate::foam::turbulence::NearWall::WallFunctions.band().map(|(lo, hi)| [lo, hi]);
        let [lo, hi] = f.yplus_band.as_ref().map(|b| b.band).or(wall_functions).unwrap_or_default();
        let rows = ys
            .iter()
            .map(|y| {
                let band = match y.in_band {
                    Some(share) => format!("{:.0} % of its area", share * 100.0),
                    None if (lo..=hi).contains(&y.mean) => "mean in the band".into(),
                    None => "mean outside".into(),
                };
                vec![y.patch.clone(), fmt_num(y.min), fmt_num(y.max), fmt_num(y.mean), band]
            })
            .collect();
        let weighting = if f.yplus_band.is_some() { "area-weighted" } else { "face average" };
        blocks.push(Block::Note(format!(
            "y+ at the first cell centre after the last iteration, per wall patch ({weighting} means), against the band {}–{} of {}.",
            fmt_num(lo),
            fmt_num(hi),
            match f.yplus_band.as_ref().map(|b| b.treatment.as_str()) {
                Some("low_re") => "a resolved wall (low-Re)",
                _ => "wall functions",
            }
        )));
        blocks.push(Block::Table(Table {
            header: vec!["wall patch".into(), "min".into(), "max".into(), "mean".into(), "in the band".into()],
            rows,
            widths: vec![2.0, 0.8, 0.8, 0.8, 1.4],
            right: vec![1, 2, 3],
            mono: false,
            small: false,
        }));
        if let Some(b) = &f.yplus_band {
            blocks.push(Block::Note(format!(
                "Over all walls: mean y+ {}, {:.0} % of the wall area outside the band.",
                fmt_num(b.mean),
                b.outside * 100.0
            )));
        }
        if let Some(e) = est {
            blocks.push(Block::Note(format!("The mesh plan estimated y+ {} for its first layer.", fmt_num(e))));
        }
    }
    // Who chose the parameters.
    if let Some(m) = m {
        let source = m["params_source"].as_str().unwrap_or("rules");
        let who = if source == "ai" { "the mesh AI" } else { "the rules" };
        let reason = m["params_reason"].as_str().map(|r| format!(" ({r})")).unwrap_or_default();
        let plan = &m["plan"];
        blocks.push(Block::Heading(2, "Mesh parameters".into()));
        blocks.push(kv(vec![
            ("Chosen by", format!("{who}{reason}")),
            ("Base cell size", opt(plan["base_cell_size"].as_f64(), "m")),
            ("Surface cell size", opt(plan["layers"]["surface_cell_size"].as_f64(), "m")),
            ("Feature level", json_num(&plan["feature_level"])),
            (
                "Layers",
                format!(
                    "{} layers, first {} m thick, expansion {}",
                    json_num(&plan["layers"]["count"]),
                    plan["layers"]["first_layer_thickness"].as_f64().map(fmt_num).unwrap_or_else(|| "—".into()),
                    plan["layers"]["expansion_ratio"].as_f64().map(fmt_num).unwrap_or_else(|| "—".into())
                ),
            ),
            ("Estimated cells", json_num(&plan["estimated_cells"])),
        ]));
        if let Some(why) = plan["why"].as_object().filter(|w| !w.is_empty()) {
            let rows =
                why.iter().map(|(k, v)| vec![k.replace('_', " "), v.as_str().unwrap_or("").to_string()]).collect();
            blocks.push(Block::Note(format!("Why {who} chose these values:")));
            blocks.push(Block::Table(Table {
                header: vec!["parameter".into(), "reason".into()],
                rows,
                widths: vec![1.0, 3.4],
                right: vec![],
                mono: false,
                small: true,
            }));
        }
    }
    blocks
}
