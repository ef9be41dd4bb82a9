//! The report's first sections, as blocks: the title block, the summary box, the geometry
//! and the set-up (the mesh is in `mesh`). Each says what it could not show and why.
use super::input::{num, num_map, Facts};
use super::layout::{Block, Canvas, Face, Fonts, Table, ACCENT};
use super::plot::fmt_num;
use super::{Meta, Units};
use serde_json::Value;

/// A JSON number exactly as the summary holds it ("—" when absent).
pub fn json_num(v: &Value) -> String {
    match v {
        Value::Number(n) => n.to_string(),
        _ => "—".into(),
    }
}

pub(super) fn opt(x: Option<f64>, unit: &str) -> String {
    x.map(|v| if unit.is_empty() { fmt_num(v) } else { format!("{} {unit}", fmt_num(v)) }).unwrap_or_else(|| "—".into())
}

pub(super) fn kv(rows: Vec<(&str, String)>) -> Block {
    Block::Table(Table {
        header: vec![],
        rows: rows.into_iter().map(|(k, v)| vec![k.to_string(), v]).collect(),
        widths: vec![1.0, 2.2],
        right: vec![],
        mono: false,
        small: false,
    })
}

impl Units {
    /// A speed: m/s, or km/h (with m/s) for automotive.
    pub fn speed(self, ms: f64) -> String {
        match self {
            Units::Si => format!("{} m/s", fmt_num(ms)),
            Units::Automotive => format!("{} km/h ({} m/s)", fmt_num(ms * 3.6), fmt_num(ms)),
        }
    }
    /// An angle given in degrees: radians for SI, degrees for automotive.
    pub fn angle(self, deg: f64) -> String {
        match self {
            Units::Si => format!("{} rad ({}°)", fmt_num(deg.to_radians()), fmt_num(deg)),
            Units::Automotive => format!("{}°", fmt_num(deg)),
        }
    }
}

/// Wall time as "1 h 02 min", "3 min 20 s" or "41.0 s".
pub fn duration(s: f64) -> String {
    if s >= 3600.0 {
        format!("{} h {:02} min", (s / 3600.0).floor(), ((s % 3600.0) / 60.0).floor())
    } else if s >= 60.0 {
        format!("{} min {:02} s", (s / 60.0).floor(), (s % 60.0).floor())
    } else {
        format!("{s:.1} s")
    }
}

/// The case's name: the caller's, the summary's, the geometry file's stem, or the result
/// directory's name.
pub fn case_name(f: &Facts, meta: &Meta) -> String {
    let s = f.summary.as_ref();
    let from_geometry = s
        .and_then(|s| s["spec"]["geometry"].as_str())
        .and_then(|g| std::path::Path::new(g).file_stem().map(|x| x.to_string_lossy().to_string()));
    let dir = if f.case.file_name().is_some_and(|n| n == "case") { f.case.parent() } else { Some(f.case.as_path()) };
    meta.case_name
        .clone()
        .or_else(|| s.and_then(|s| s["name"].as_str()).map(str::to_string))
        .or(from_geometry)
        .or_else(|| dir.and_then(|d| d.file_name()).map(|n| n.to_string_lossy().to_string()))
        .unwrap_or_else(|| "simulation".into())
}

/// The title block: logo, title, and who ran what, where and when.
pub fn title(fonts: &Fonts, f: &Facts, meta: &Meta, width: f32, logo: Option<krilla::image::Image>) -> Vec<Block> {
    let s = f.summary.as_ref();
    let case_name = case_name(f, meta);
    let mut head = Canvas::new(width, 78.0);
    if let Some(img) = logo {
        let (w, h) = (img.size().0 as f32, img.size().1 as f32);
        let scale = (120.0 / w).min(48.0 / h);
        head.items.push(super::layout::Item::Image {
            x: width - w * scale,
            y: 0.0,
            w: w * scale,
            h: h * scale,
            image: img,
        });
    }
    head.text(0.0, 14.0, Face::Regular, 10.0, "FlowCFD simulation report", 0.0);
    let title_lines = fonts.wrap(Face::Bold, 20.0, &case_name, width - 130.0);
    for (i, l) in title_lines.iter().take(2).enumerate() {
        head.items.push(super::layout::Item::Text {
            x: 0.0,
            y: 40.0 + 24.0 * i as f32,
            face: Face::Bold,
            size: 20.0,
            text: l.clone(),
            color: ACCENT,
            anchor: 0.0,
        });
    }
    let failed = f.failure.is_some();
    let wall = meta.wall_s.or_else(|| num(s, &["timing", "total"]));
    let date = meta.date.clone().unwrap_or_else(|| chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string());
    let mut rows = vec![
        ("Project", meta.project.clone().unwrap_or_else(|| "—".into())),
        ("Case", case_name),
        ("Job", meta.job_name.clone().unwrap_or_else(|| "—".into())),
        ("Date", date),
        ("Author", meta.author.clone().unwrap_or_else(|| "—".into())),
        ("Organisation", meta.org.clone().unwrap_or_else(|| "—".into())),
        (
            "FlowCFD version",
            s.and_then(|s| s["flowcfd_version"].as_str()).unwrap_or(env!("CARGO_PKG_VERSION")).to_string(),
        ),
        ("OpenFOAM version", f.openfoam_version.clone().unwrap_or_else(|| "unknown (no log banner)".into())),
        ("Executor", meta.executor.clone().unwrap_or_else(|| "local".into())),
        ("Cores", meta.cores.map(|c| c.to_string()).unwrap_or_else(|| "—".into())),
        ("Wall time", wall.map(duration).unwrap_or_else(|| "—".into())),
    ];
    let status = match (&meta.status, failed) {
        (Some(st), _) => format!("{st}{}", meta.status_reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default()),
        (None, true) => "failed".into(),
        (None, false) => "completed".into(),
    };
    rows.push(("Status", status));
    vec![Block::Canvas(head), kv(rows)]
}

/// The summary box: force coefficients with their spread, reference values, convergence,
/// core-hours.
pub fn summary_box(f: &Facts, meta: &Meta, units: Units, width: f32) -> Vec<Block> {
    let Some(s) = f.summary.as_ref() else {
        return vec![Block::Note(
            "No summary.json was given, so the summary box, the geometry analysis, the mesh plan and the reference \
             values are left out. Pass --summary FILE (the summary.json that `flowcfd run` wrote) to include them."
                .into(),
        )];
    };
    let fc = &s["forces"];
    let it = |v: &Value| v.as_f64().map(fmt_num).unwrap_or_else(|| "—".into());
    let window =
        fc["window"].as_array().filter(|w| w.len() == 2).map(|w| format!("iterations {}–{}", it(&w[0]), it(&w[1])));
    let averaged = window.unwrap_or_else(|| format!("the last {} samples", json_num(&fc["samples_averaged"])));
    let mut c = Canvas::new(width, 112.0);
    c.rect(0.0, 0.0, width, 112.0, Some([240, 245, 252]), Some((ACCENT, 0.8)));
    let coeffs = [("Cd", "drag"), ("Cl", "lift"), ("Cs", "side force"), ("CmPitch", "pitch moment")];
    let col = width / 4.0;
    for (i, (k, what)) in coeffs.iter().enumerate() {
        let x = col * i as f32 + 12.0;
        c.text(x, 18.0, Face::Regular, 8.0, format!("{k} ({what})"), 0.0);
        // Summaries written before the coefficients were rounded hold 17 digits, which
        // run into the next column: those are shown to 4 decimals as new ones store them.
        let v = fc[*k].as_f64().map_or(Value::Null, |v| serde_json::json!((v * 1e4).round() / 1e4));
        c.text(x, 40.0, Face::Bold, 17.0, json_num(&v), 0.0);
        let sd = &fc["std"][*k];
        if sd.is_number() {
            c.text(x, 54.0, Face::Regular, 7.5, format!("± {} (std)", json_num(sd)), 0.0);
        }
    }
    let orders = num_map(Some(s), &["solve", "orders_dropped"]);
    let min_orders = orders.values().cloned().fold(f64::INFINITY, f64::min);
    let converged = s["solve"]["converged"].as_bool().unwrap_or(false);
    let conv = if s["transient"].is_object() && !s["stopped"].is_object() {
        // A transient run does not converge; it reaches its end time.
        format!("transient run to {} s; Strouhal number {}", json_num(&s["transient"]["end_time"]), json_num(&s["strouhal"]))
    } else if s["stopped"].is_object() {
        format!("stopped early: {}", s["stopped"]["reason"].as_str().unwrap_or("a stop was requested"))
    } else if converged {
        format!("converged (residual control met), residuals down ≥ {} orders", fmt_num(min_orders))
    } else if min_orders.is_finite() {
        format!("not converged to the residual targets; residuals down ≥ {} orders", fmt_num(min_orders))
    } else {
        "no residuals recorded".into()
    };
    let line2 = format!(
        "Mean over {averaged}.  Reference: Aref {} m², lRef {} m, U∞ {}.",
        json_num(&fc["Aref"]),
        json_num(&fc["lRef"]),
        fc["magUInf"].as_f64().map(|u| units.speed(u)).unwrap_or_else(|| "—".into())
    );
    c.text(12.0, 74.0, Face::Regular, 8.0, line2, 0.0);
    c.text(12.0, 88.0, Face::Regular, 8.0, format!("Convergence: {conv}."), 0.0);
    let ch = meta
        .core_hours
        .map(|h| format!("{} core-hours", fmt_num(h)))
        .unwrap_or_else(|| "core-hours not recorded".into());
    c.text(
        12.0,
        102.0,
        Face::Regular,
        8.0,
        format!("Iterations: {}.  Use: {ch}.", json_num(&s["solve"]["iterations"])),
        0.0,
    );
    vec![Block::Heading(2, "Summary".into()), Block::Canvas(c)]
}

/// Geometry: the analysis and the healing report (the picture is added by the caller).
pub fn geometry(f: &Facts) -> Vec<Block> {
    let Some(a) = f.summary.as_ref().map(|s| &s["geometry"]["analysis"]).filter(|a| a.is_object()) else {
        return vec![Block::Note("The geometry analysis needs the summary; it is left out.".into())];
    };
    let v3 = |v: &Value| -> String {
        v.as_array()
            .map(|a| a.iter().map(|x| fmt_num(x.as_f64().unwrap_or(f64::NAN))).collect::<Vec<_>>().join(", "))
            .map(|s| format!("({s}) m"))
            .unwrap_or_else(|| "—".into())
    };
    let size = match (a["bbox_min"].as_array(), a["bbox_max"].as_array()) {
        (Some(lo), Some(hi)) if lo.len() == 3 && hi.len() == 3 => {
            (0..3)
                .map(|i| fmt_num(hi[i].as_f64().unwrap_or(0.0) - lo[i].as_f64().unwrap_or(0.0)))
                .collect::<Vec<_>>()
                .join(" × ")
                + " m"
        }
        _ => "—".into(),
    };
    let heal = &f.summary.as_ref().map(|s| s["geometry"]["heal"].clone()).unwrap_or_default();
    let groups: Vec<String> = a["groups"]
        .as_array()
        .map(|g| g.iter().filter_map(|x| x["name"].as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let mut blocks = vec![kv(vec![
        ("Bounding box", format!("{} to {}", v3(&a["bbox_min"]), v3(&a["bbox_max"]))),
        ("Size (x × y × z)", size),
        ("Surface area", opt(a["area"].as_f64(), "m²")),
        ("Frontal area", opt(a["frontal_area"].as_f64(), "m²")),
        ("Volume", opt(a["volume"].as_f64(), "m³")),
        (
            "Watertight",
            match a["watertight"].as_bool() {
                Some(true) => "yes".into(),
                Some(false) => format!("no ({} open edges)", json_num(&heal["open_edges"])),
                None => "—".into(),
            },
        ),
        ("Surface groups", if groups.is_empty() { "—".into() } else { groups.join(", ") }),
        (
            "Triangles",
            format!(
                "{} read, {} after healing",
                json_num(&heal["input_triangles"]),
                json_num(&heal["output_triangles"])
            ),
        ),
    ])];
    let changes: Vec<String> = heal["changes"]
        .as_array()
        .map(|c| c.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    blocks.push(Block::Para(if changes.is_empty() {
        "Healing changed nothing: the surface was used as uploaded.".into()
    } else {
        format!("Healing: {}.", changes.join("; "))
    }));
    blocks
}

/// Set-up: fluid, flow, turbulence, boundary conditions, schemes and solver controls.
pub fn setup(f: &Facts, units: Units) -> Vec<Block> {
    let s = f.summary.as_ref();
    let spec = s.map(|s| &s["spec"]);
    let fluid = spec.map(|sp| &sp["fluid"]);
    let preset = fluid.and_then(|fl| fl["preset"].as_str()).unwrap_or("air");
    let rho = fluid.and_then(|fl| fl["rho"].as_f64()).unwrap_or(if preset == "water" { 998.2 } else { 1.225 });
    let vel: Option<Vec<f64>> =
        spec.and_then(|sp| sp["flow"]["velocity"].as_array()).map(|v| v.iter().filter_map(Value::as_f64).collect());
    let (speed, dir) = match vel.as_deref() {
        Some([x, y, z]) => {
            let m = (x * x + y * y + z * z).sqrt();
            let yaw = y.atan2(*x).to_degrees();
            let pitch = (z / m.max(1e-30)).asin().to_degrees();
            (
                units.speed(m),
                format!(
                    "({}, {}, {}); yaw {}, pitch {}",
                    fmt_num(x / m),
                    fmt_num(y / m),
                    fmt_num(z / m),
                    units.angle(yaw),
                    units.angle(pitch)
                ),
            )
        }
        _ => ("—".into(), "—".into()),
    };
    let it = s.map(|s| &s["solve"]["inlet_turbulence"]);
    let tspec = spec.map(|sp| &sp["turbulence"]);
    let inlet = format!(
        "intensity {} %, length scale {}; k {} m²/s², ω {} 1/s, νt {} m²/s",
        tspec.and_then(|t| t["intensity"].as_f64()).map(|i| fmt_num(i * 100.0)).unwrap_or_else(|| "—".into()),
        tspec
            .and_then(|t| t["length_scale"].as_f64())
            .map(|l| format!("{} m", fmt_num(l)))
            .unwrap_or_else(|| "by the rules".into()),
        opt(it.and_then(|t| t["k"].as_f64()), ""),
        opt(it.and_then(|t| t["omega"].as_f64()), ""),
        opt(it.and_then(|t| t["nut"].as_f64()), ""),
    );
    let mut blocks = vec![
        Block::Heading(2, "Fluid and flow".into()),
        kv(vec![
            ("Fluid", format!("{preset}: ρ {} kg/m³, ν {}", fmt_num(rho), opt(f.nu, "m²/s"))),
            ("Flow", spec.and_then(|sp| sp["flow"]["type"].as_str()).unwrap_or("—").to_string()),
            ("Speed", speed),
            ("Direction", dir),
            ("Turbulence model", f.turbulence_model.clone().unwrap_or_else(|| "—".into())),
            ("Inlet turbulence", inlet),
            (
                "Moving ground",
                spec.and_then(|sp| sp["flow"]["ground"].as_bool())
                    .map(|g| if g { "yes" } else { "no" })
                    .unwrap_or("—")
                    .to_string(),
            ),
        ]),
        Block::Heading(2, "Boundary conditions".into()),
    ];
    if f.bcs.is_empty() {
        blocks.push(Block::Note(
            "No initial fields (0.orig/ or 0/) were found, so the boundary conditions are not shown.".into(),
        ));
    } else {
        let fields: Vec<String> = {
            let mut v: Vec<String> = Vec::new();
            for p in &f.bcs {
                for (name, _, _) in &p.fields {
                    if !v.contains(name) {
                        v.push(name.clone());
                    }
                }
            }
            v.sort_by_key(|n| ["U", "p", "k", "omega", "nut"].iter().position(|x| x == n).unwrap_or(9));
            v.truncate(5);
            v
        };
        let mut header = vec!["patch".to_string(), "type".to_string()];
        header.extend(fields.iter().cloned());
        // Patches with the same conditions share a row (a vehicle's 60 parts are one).
        let mut groups: Vec<(Vec<String>, Vec<String>)> = Vec::new();
        for p in &f.bcs {
            let mut r = vec![p.kind.clone()];
            for name in &fields {
                r.push(match p.fields.iter().find(|(n, _, _)| n == name) {
                    Some((_, ty, Some(v))) if v.len() < 22 && ty.contains("ixed") => {
                        format!("{ty} {}", v.trim_start_matches("uniform "))
                    }
                    Some((_, ty, _)) => ty.clone(),
                    None => "—".into(),
                });
            }
            match groups.iter_mut().find(|(_, cells)| *cells == r) {
                Some((names, _)) => names.push(p.patch.clone()),
                None => groups.push((vec![p.patch.clone()], r)),
            }
        }
        let rows = groups
            .into_iter()
            .map(|(names, cells)| {
                let name = if names.len() <= 3 {
                    names.join(", ")
                } else {
                    format!("{}, {} and {} more ({} patches)", names[0], names[1], names.len() - 2, names.len())
                };
                std::iter::once(name).chain(cells).collect()
            })
            .collect();
        let mut widths = vec![1.1, 0.55];
        widths.extend(fields.iter().map(|_| 1.3));
        blocks.push(Block::Table(Table { header, rows, widths, right: vec![], mono: false, small: true }));
    }
    blocks.push(Block::Heading(2, "Numerics".into()));
    let mut rows: Vec<Vec<String>> = f.schemes.iter().map(|(k, v)| vec![k.clone(), v.clone()]).collect();
    rows.extend(f.controls.iter().map(|(k, v)| vec![k.clone(), v.clone()]));
    if rows.is_empty() {
        blocks.push(Block::Note("system/fvSchemes and system/fvSolution were not found.".into()));
    } else {
        blocks.push(Block::Table(Table {
            header: vec!["setting".into(), "value".into()],
            rows,
            widths: vec![1.0, 2.2],
            right: vec![],
            mono: false,
            small: false,
        }));
    }
    blocks
}
