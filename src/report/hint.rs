//! A plain-language hint for a failed run: what the logs say happened, in the engineer's
//! terms, and the first thing to try.
use super::input::Facts;
use super::plot::fmt_num;

/// The share of faces checkMesh found over 70° non-orthogonality, from its log.
fn severe_non_orthogonal(f: &Facts) -> Option<(u64, f64)> {
    let text = std::fs::read_to_string(f.case.join("log.checkMesh")).ok()?;
    let line = text.lines().find(|l| l.contains("severely non-orthogonal"))?;
    let n: u64 = line.rsplit(':').next()?.trim().trim_end_matches('.').parse().ok()?;
    let faces = f.check_mesh.as_ref().map(|c| c.faces).filter(|&x| x > 0)?;
    Some((n, n as f64 / faces as f64 * 100.0))
}

/// The hint for the run's failure (empty advice is never given).
pub fn hint(f: &Facts) -> String {
    let fail = f.failure.as_ref();
    let step = fail.and_then(|v| v["step"].as_str()).unwrap_or("");
    let error = fail.and_then(|v| v["error"].as_str()).unwrap_or("");
    let cm = f.check_mesh.as_ref();
    let mesh_note = || -> String {
        let mut notes = Vec::new();
        if let Some((n, pct)) = severe_non_orthogonal(f) {
            notes.push(format!("the mesh has {} % of its faces ({n}) over 70° non-orthogonality", fmt_num(pct)));
        } else if let Some(c) = cm.filter(|c| c.max_non_orthogonality > 65.0) {
            notes.push(format!("the mesh's worst non-orthogonality is {}°", fmt_num(c.max_non_orthogonality)));
        }
        if let Some(c) = cm.filter(|c| c.max_skewness > 4.0) {
            notes.push(format!("its worst skewness is {} (limit 4)", fmt_num(c.max_skewness)));
        }
        notes.join(" and ")
    };
    let last_iteration = f.residuals.fields.iter().filter_map(|(_, v)| v.last()).map(|p| p.0).fold(0.0, f64::max);
    if f.divergence.is_some() || error.contains("diverged") {
        let at = if last_iteration > 0.0 {
            format!("diverged at iteration {}", fmt_num(last_iteration))
        } else {
            "diverged".into()
        };
        let m = mesh_note();
        return if m.is_empty() {
            format!(
                "{at}: the mesh passed its checks, so look at the set-up first: a velocity in the wrong units (km/h \
                 given as m/s), a geometry scale off by 1000, or relaxation factors above 0.9 for U and 0.3 for p. \
                 Then refine the mesh where the residuals blew up."
            )
        } else {
            format!(
                "{at}: {m}; lower the refinement level near the sharp edges or add layers, and rerun. A lower \
                 relaxation factor for p (0.2) steadies a run on a poor mesh while you fix it."
            )
        };
    }
    if error.contains("longer than its") {
        return "a step ran past its time limit: raise solver.step_timeout_s, lower the target cell count, or run on \
                more cores."
            .into();
    }
    if error.starts_with("cancelled") {
        return "the run was cancelled before it finished: nothing is wrong with the case; run it again.".into();
    }
    match step {
        "blockMesh" => "blockMesh could not build the background mesh: the domain or its divisions are out of range. \
                        Check the geometry's scale (millimetres need scale = 0.001) and the tunnel sizes."
            .into(),
        "surfaceFeatureExtract" | "surfaceFeatures" | "snappyHexMesh" => {
            let fatal = f.fatal.as_ref().map(|(_, m)| m.clone()).unwrap_or_default();
            if fatal.contains("locationInMesh") || fatal.contains("inside") {
                "snappyHexMesh could not place the fluid region: the point it keeps is inside the body or the \
                 surface is open. Close the surface (the geometry report lists its open edges) or check the flow type."
                    .into()
            } else {
                "snappyHexMesh failed: the surface may be open, self-intersecting or far finer than the mesh. Heal the \
                 geometry (the report's geometry section lists what healing changed), coarsen the surface levels, or \
                 lower the target cell count."
                    .into()
            }
        }
        "checkMesh" => format!(
            "the mesh failed its quality checks{}; lower the refinement near sharp edges, add layers with fewer \
             cells, or smooth the geometry.",
            {
                let m = mesh_note();
                if m.is_empty() {
                    String::new()
                } else {
                    format!(" ({m})")
                }
            }
        ),
        "potentialFoam" => "potentialFoam, which gives the solver its first flow field, failed: the boundary \
                            conditions are usually at fault (an inlet with no outlet, a missing field)."
            .into(),
        "simpleFoam" | "pimpleFoam" | "foamRun" => format!(
            "the solver stopped with an error{}. Read the last lines of its log below; a floating point exception \
             means the solution blew up.",
            if last_iteration > 0.0 { format!(" at iteration {}", fmt_num(last_iteration)) } else { String::new() }
        ),
        _ => "the logs do not say which step failed. Read the last lines of the log below, and rerun with the same \
              case to see whether it fails the same way."
            .into(),
    }
}
