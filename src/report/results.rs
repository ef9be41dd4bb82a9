//! The report's later sections, as blocks: convergence plots, forces by patch,
//! reproducibility, and for a failed run what happened and what to try.
use super::forces::PatchForces;
use super::input::Facts;
use super::layout::{Block, Fonts, Table};
use super::plot::{fmt_num, line_plot, LinePlot, Series, PALETTE};
use super::sections::json_num;

/// Why the solver stopped, in words.
pub fn stop_reason(f: &Facts) -> String {
    if let Some(fail) = &f.failure {
        return format!(
            "the run failed in {}: {}",
            fail["step"].as_str().filter(|s| !s.is_empty()).unwrap_or("an unknown step"),
            fail["error"].as_str().unwrap_or("no message")
        );
    }
    let Some(s) = &f.summary else {
        let last = f.residuals.fields.iter().filter_map(|(_, v)| v.last()).map(|p| p.0).fold(0.0, f64::max);
        return format!("not recorded (no summary); the log ends at iteration {}", fmt_num(last));
    };
    if let Some(r) = s["stopped"]["reason"].as_str() {
        return format!("stopped early at iteration {}: {r}", json_num(&s["stopped"]["iteration"]));
    }
    if s["mesh_only"].as_bool() == Some(true) {
        return "a mesh-only run: no solver ran".into();
    }
    if s.get("transient").is_some() {
        return format!("it reached the end time, {} s", json_num(&s["transient"]["end_time"]));
    }
    if s["solve"]["converged"].as_bool() == Some(true) {
        format!("the residual targets were met at iteration {}", json_num(&s["solve"]["iterations"]))
    } else {
        format!(
            "it reached the iteration limit ({} iterations) before the residual targets",
            json_num(&s["solve"]["iterations"])
        )
    }
}

/// True for a transient run: its summary says so, or (without one) its solver's times are
/// not whole numbers.
fn transient(f: &Facts) -> bool {
    match &f.summary {
        Some(s) => s.get("transient").is_some(),
        None => f.residuals.fields.iter().flat_map(|(_, v)| v.iter()).any(|p| p.0.fract() != 0.0),
    }
}

/// The x axis of the convergence plots: iterations, or simulated time.
fn x_label(f: &Facts) -> String {
    if transient(f) { "time (s)" } else { "iteration" }.into()
}

/// The initial residuals against iteration (or simulated time), on a log scale.
fn residual_plot(fonts: &Fonts, f: &Facts, width: f32, height: f32) -> super::layout::Canvas {
    let series = f
        .residuals
        .fields
        .iter()
        .enumerate()
        .map(|(i, (name, pts))| Series { name: name.clone(), pts: pts.clone(), color: PALETTE[i % PALETTE.len()] })
        .collect();
    let plot =
        LinePlot { x_label: x_label(f), y_label: "initial residual".into(), log_y: true, series, shade: None };
    line_plot(fonts, &plot, width, height)
}

/// Residuals (log scale) and force coefficients (averaging window shaded).
pub fn convergence(fonts: &Fonts, f: &Facts, width: f32) -> Vec<Block> {
    let mut blocks = Vec::new();
    if f.residuals.fields.is_empty() {
        blocks.push(Block::Para("The solver's log holds no residuals: the solver did not run.".into()));
    } else {
        blocks.push(Block::Heading(2, "Residuals".into()));
        blocks.push(Block::Canvas(residual_plot(fonts, f, width, 230.0)));
    }
    if !f.forces.is_empty() {
        let pick: [(&str, fn(&crate::foam::log::ForceCoeffSample) -> Option<f64>); 3] =
            [("Cd", |s| s.cd), ("Cl", |s| s.cl), ("Cs", |s| s.cs)];
        let series = pick
            .iter()
            .enumerate()
            .map(|(i, (name, get))| Series {
                name: name.to_string(),
                pts: f.forces.iter().filter_map(|(t, s)| get(s).map(|v| (*t, v))).collect(),
                color: PALETTE[i],
            })
            .filter(|s| !s.pts.is_empty())
            .collect();
        let window = f
            .summary
            .as_ref()
            .and_then(|s| s["forces"]["window"].as_array().cloned())
            .and_then(|w| Some((w.first()?.as_f64()?, w.get(1)?.as_f64()?)));
        let shade = window.map(|(a, b)| (a, b, "averaging window".to_string()));
        // The first iterations' transient would flatten the converged part: start the
        // axis where the values have settled to within the final range's span × 10.
        let plot = LinePlot {
            x_label: x_label(f),
            y_label: "coefficient".into(),
            log_y: false,
            series: settle(series),
            shade,
        };
        blocks.push(Block::Heading(2, "Force coefficients".into()));
        blocks.push(Block::Canvas(line_plot(fonts, &plot, width, 200.0)));
    }
    let iterations = f.residuals.fields.iter().filter_map(|(_, v)| v.last()).map(|p| p.0).fold(0.0, f64::max);
    if let Some(t) = f.summary.as_ref().map(|s| &s["transient"]).filter(|t| t.is_object()) {
        let st = f.summary.as_ref().map(|s| &s["strouhal"]).filter(|v| v.is_number());
        blocks.push(Block::Para(format!(
            "Time steps: {} (from {} s to {} s), up to {} s of simulated time. The run ended because {}. Mean Cd {} and Cl {} from {} s on; Strouhal number {}.",
            json_num(&t["time_steps"]),
            json_num(&t["dt_min"]),
            json_num(&t["dt_max"]),
            json_num(&t["end_time"]),
            stop_reason(f),
            json_num(&t["Cd_mean"]),
            json_num(&t["Cl_mean"]),
            json_num(&t["average_from"]),
            st.map(json_num).unwrap_or_else(|| {
                let why = f.summary.as_ref().and_then(|s| s["strouhal_reason"].as_str()).unwrap_or("no reason given");
                format!("not found ({why})")
            })
        )));
        return blocks;
    }
    blocks.push(Block::Para(format!(
        "Iterations: {}. The run ended because {}.",
        f.summary.as_ref().map(|s| json_num(&s["solve"]["iterations"])).unwrap_or_else(|| fmt_num(iterations)),
        stop_reason(f)
    )));
    blocks
}

/// Drops the start-up transient of force histories: points before the last time a value
/// was outside ten times the last quarter's spread around its mean.
fn settle(series: Vec<Series>) -> Vec<Series> {
    let start = series
        .iter()
        .filter(|s| s.pts.len() > 20)
        .map(|s| {
            let tail = &s.pts[s.pts.len() * 3 / 4..];
            let mean = tail.iter().map(|p| p.1).sum::<f64>() / tail.len() as f64;
            let spread = tail.iter().map(|p| (p.1 - mean).abs()).fold(0.0, f64::max).max(0.02 * mean.abs()).max(1e-3);
            let last_out = s.pts.iter().rposition(|p| (p.1 - mean).abs() > 10.0 * spread);
            last_out.map(|i| s.pts[i].0).unwrap_or(f64::NEG_INFINITY)
        })
        .fold(f64::NEG_INFINITY, f64::max);
    series
        .into_iter()
        .map(|mut s| {
            s.pts.retain(|p| p.0 >= start);
            s
        })
        .collect()
}

/// Pressure and viscous parts of each coefficient per wall patch.
pub fn forces_by_patch(rows: &[PatchForces]) -> Vec<Block> {
    if rows.is_empty() {
        return vec![Block::Para("The result has no wall patches to integrate.".into())];
    }
    // The largest drag first; past a dozen patches, the rest summed in one row.
    let mut rows: Vec<PatchForces> = rows.to_vec();
    let all = rows.clone();
    let total = |p: &PatchForces| p.pressure[0] + p.viscous.map(|v| v[0]).unwrap_or(0.0);
    rows.sort_by(|a, b| total(b).abs().total_cmp(&total(a).abs()));
    let rest = rows.split_off(rows.len().min(super::mesh::MAX_ROWS));
    if !rest.is_empty() {
        let sum = |g: &dyn Fn(&PatchForces) -> [f64; 3]| -> [f64; 3] {
            rest.iter().map(g).fold([0.0; 3], |a, b| [a[0] + b[0], a[1] + b[1], a[2] + b[2]])
        };
        let viscous = rest.iter().all(|p| p.viscous.is_some()).then(|| sum(&|p| p.viscous.unwrap_or_default()));
        rows.push(PatchForces {
            patch: format!("{} other patches", rest.len()),
            pressure: sum(&|p| p.pressure),
            viscous,
        });
    }
    let rows = &rows[..];
    let cell = |v: f64| format!("{v:.4}");
    let visc = |p: &PatchForces, k: usize| p.viscous.map(|v| cell(v[k])).unwrap_or_else(|| "—".into());
    let total = |p: &PatchForces, k: usize| cell(p.pressure[k] + p.viscous.map(|v| v[k]).unwrap_or(0.0));
    let mut body: Vec<Vec<String>> = rows
        .iter()
        .map(|p| {
            let mut r = vec![p.patch.clone()];
            for k in 0..3 {
                r.extend([cell(p.pressure[k]), visc(p, k), total(p, k)]);
            }
            r
        })
        .collect();
    if all.len() > 1 {
        let sum = |k: usize, visc: bool| -> f64 {
            all.iter().map(|p| if visc { p.viscous.map(|v| v[k]).unwrap_or(0.0) } else { p.pressure[k] }).sum()
        };
        let mut r = vec!["all walls".to_string()];
        for k in 0..3 {
            r.extend([cell(sum(k, false)), cell(sum(k, true)), cell(sum(k, false) + sum(k, true))]);
        }
        body.push(r);
    }
    let header = ["patch", "Cd p", "Cd v", "Cd", "Cl p", "Cl v", "Cl", "Cs p", "Cs v", "Cs"].map(String::from).to_vec();
    let mut blocks = vec![Block::Table(Table {
        header,
        rows: body,
        widths: vec![2.2, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8],
        right: (1..10).collect(),
        mono: false,
        small: true,
    })];
    blocks.push(Block::Note(
        "p: pressure part, v: viscous part, integrated over each patch's faces at the last time (the summary's \
         coefficients are means over the averaging window, so the totals differ slightly). Without a wallShearStress \
         field the viscous parts are not known (—)."
            .into(),
    ));
    blocks
}

/// Input hashes, the case specification as applied, and how to rerun.
pub fn reproducibility(f: &Facts) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut rows: Vec<Vec<String>> = Vec::new();
    if let Some(h) = f.summary.as_ref().and_then(|s| s["input_sha256"].as_str()) {
        rows.push(vec!["geometry as uploaded".into(), h.to_string()]);
    }
    rows.extend(f.hashes.iter().map(|(p, h)| vec![p.clone(), h.clone()]));
    blocks.push(Block::Heading(2, "Input file hashes (SHA-256)".into()));
    blocks.push(Block::Table(Table {
        header: vec!["file".into(), "sha256".into()],
        rows,
        widths: vec![1.3, 2.7],
        right: vec![],
        mono: true,
        small: false,
    }));
    blocks.push(Block::Heading(2, "How to rerun".into()));
    blocks.push(Block::Para(
        "The case directory is complete: `cd case && ./Allrun` repeats every step with the same OpenFOAM release \
         (`./Allclean` first to start again). To rerun from the geometry with FlowCFD, save the specification below \
         as case.toml (or JSON) beside the geometry file and run `flowcfd run case.toml --out DIR`."
            .into(),
    ));
    if let Some(spec) = f.summary.as_ref().map(|s| &s["spec"]).filter(|s| s.is_object()) {
        blocks.push(Block::Heading(2, "Case specification as applied".into()));
        blocks.push(verbatim(serde_json::to_string_pretty(spec).unwrap_or_default().lines()));
    }
    blocks
}

/// Lines set as they are (monospace, spaces kept), breaking across pages.
fn verbatim<'a>(lines: impl Iterator<Item = &'a str>) -> Block {
    let rows = lines.map(|l| vec![l.replace(' ', "\u{a0}")]).collect();
    Block::Table(Table { header: vec![], rows, widths: vec![1.0], right: vec![], mono: true, small: false })
}

/// What failed, the last log lines, the residuals up to the failure, and a hint.
pub fn failure(fonts: &Fonts, f: &Facts, width: f32) -> Vec<Block> {
    let Some(fail) = &f.failure else { return Vec::new() };
    let step = fail["step"].as_str().filter(|s| !s.is_empty()).unwrap_or("an unknown step");
    let mut blocks = vec![
        Block::Heading(1, "What went wrong".into()),
        Block::Para(format!(
            "The run failed in {step}: {}",
            fail["error"].as_str().unwrap_or("no message was recorded")
        )),
        Block::Heading(2, "Hint".into()),
        Block::Para(super::hint::hint(f)),
    ];
    if let Some((st, msg)) = &f.fatal {
        blocks.push(Block::Para(format!("OpenFOAM's fatal error in {st}: {}", msg.replace('\n', " "))));
    }
    if !f.last_lines.is_empty() {
        blocks.push(Block::Heading(2, format!("The last lines of the log of {step}")));
        blocks.push(verbatim(f.last_lines.iter().map(String::as_str)));
    }
    if !f.residuals.fields.is_empty() {
        blocks.push(Block::Heading(2, "Residuals up to the failure".into()));
        blocks.push(Block::Canvas(residual_plot(fonts, f, width, 210.0)));
    }
    blocks
}
