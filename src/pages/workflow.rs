//! The simulation workflow's pages: a geometry with its 3D viewer and the set-up wizard
//! (boundaries, mesh, solver, review), and a job with its live plots, mesh quality and
//! results. The pages are server-rendered; the TypeScript islands in `web/src` mount on
//! them for what needs JavaScript (3D, plots, live updates).
use super::{human_bytes, render, PageError, PageResult, PageUser};
use crate::error::AppError;
use crate::foam::spec::CaseSpec;
use crate::geometry::heal::HealReport;
use crate::service::{geometries, jobs, projects};
use crate::state::AppState;
use crate::store::JobStatus;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::Form;
use serde::Deserialize;
use serde_json::{json, Value};

/// A number for people: a few significant digits, thousands grouped.
pub(super) fn num(x: f64) -> String {
    if !x.is_finite() {
        return "n/a".into();
    }
    let a = x.abs();
    if a != 0.0 && !(1e-3..1e6).contains(&a) {
        return format!("{x:.3e}");
    }
    if a >= 1000.0 {
        return group_digits(x.round() as i64);
    }
    let digits = if a >= 100.0 {
        1
    } else if a >= 1.0 {
        3
    } else {
        4
    };
    let s = format!("{x:.digits$}");
    let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s };
    if s == "-0" {
        "0".into()
    } else {
        s
    }
}

/// `1234567` → `1 234 567` (thin-space grouping, as SI writes it).
pub(super) fn group_digits(n: i64) -> String {
    let s = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push('\u{2009}');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

struct Stat {
    label: &'static str,
    value: String,
}

struct GroupRow {
    index: usize,
    /// The group's name in the case (boundary conditions key on it).
    name: String,
    /// The user's name for it, shown; differs when healing renamed a reserved name.
    label: String,
    area: String,
    triangles: String,
}

struct Target {
    name: String,
    label: String,
    max_cores: u64,
}

#[derive(Template)]
#[template(path = "geometry.html")]
struct GeometryPage {
    user: crate::store::User,
    csrf: String,
    project_id: String,
    project_name: String,
    id: String,
    name: String,
    status: crate::store::GeometryStatus,
    error: Option<String>,
    cad_name: Option<String>,
    stats: Vec<Stat>,
    heal_changes: Vec<String>,
    heal_stats: Vec<Stat>,
    watertight: bool,
    groups: Vec<GroupRow>,
    targets: Vec<Target>,
    can_write: bool,
    /// The plan's limits, shown in the mesh and solver steps before anything is submitted.
    limits: super::usage::WizardLimits,
    /// The set-up wizard's data for its island (JSON in a script element).
    setup_json: String,
}

pub(super) async fn geometry(State(st): State<AppState>, pu: PageUser, Path(id): Path<String>) -> PageResult {
    let caller = pu.caller();
    let g = geometries::get(&st, &caller, &id, false).await?;
    let p = projects::get(&st, &caller, &g.project_id, false).await?;
    let groups_json: Vec<Value> = serde_json::from_str(&g.surface_groups).unwrap_or_default();
    let groups: Vec<GroupRow> = groups_json
        .iter()
        .enumerate()
        .map(|(index, x)| GroupRow {
            index,
            name: x["name"].as_str().unwrap_or_default().to_string(),
            label: x["label"].as_str().or(x["name"].as_str()).unwrap_or_default().to_string(),
            area: x["area"].as_f64().map(num).unwrap_or_default(),
            triangles: x["triangles"].as_i64().map(group_digits).unwrap_or_default(),
        })
        .collect();
    let analysis: Option<Value> = g.analysis.as_deref().and_then(|t| serde_json::from_str(t).ok());
    let heal: Option<HealReport> = g.healing.as_deref().and_then(|t| serde_json::from_str(t).ok());
    let mut stats = vec![
        Stat { label: "File", value: format!("{} ({})", g.name, human_bytes(g.original_bytes)) },
        Stat { label: "Units", value: format!("× {} to metres", num(g.scale)) },
    ];
    if let Some(n) = g.triangle_count {
        stats.push(Stat { label: "Triangles", value: group_digits(n) });
    }
    stats.push(Stat { label: "Surface groups", value: groups.len().to_string() });
    if let Some(a) = g.surface_area {
        stats.push(Stat { label: "Surface area", value: format!("{} m²", num(a)) });
    }
    stats.push(Stat {
        label: "Volume",
        value: g.volume.map(|v| format!("{} m³", num(v))).unwrap_or_else(|| "open surface (no volume)".into()),
    });
    if let Some(a) = &analysis {
        let (lo, hi) = (&a["bbox_min"], &a["bbox_max"]);
        let ext: Vec<String> =
            (0..3).map(|i| num(hi[i].as_f64().unwrap_or(0.0) - lo[i].as_f64().unwrap_or(0.0))).collect();
        stats.push(Stat { label: "Size (x × y × z)", value: format!("{} m", ext.join(" × ")) });
        if let Some(l) = a["characteristic_length"].as_f64() {
            stats.push(Stat { label: "Characteristic length", value: format!("{} m", num(l)) });
        }
    }
    let (heal_changes, heal_stats, watertight) = match &heal {
        Some(h) => (
            h.changes.clone(),
            vec![
                Stat { label: "Components", value: format!("{} ({} closed)", h.components, h.closed_components) },
                Stat { label: "Open edges", value: group_digits(h.open_edges as i64) },
                Stat { label: "Non-manifold edges", value: group_digits(h.non_manifold_edges as i64) },
                Stat { label: "Welded vertices", value: group_digits(h.welded_vertices as i64) },
                Stat {
                    label: "Removed triangles",
                    value: group_digits((h.degenerate_removed + h.duplicates_removed) as i64),
                },
                Stat { label: "Flipped triangles", value: group_digits(h.flipped_triangles as i64) },
            ],
            h.watertight,
        ),
        None => (Vec::new(), Vec::new(), false),
    };
    let targets: Vec<Target> = jobs::executors(&st)
        .into_iter()
        .filter(|c| c.usable)
        .map(|c| {
            let (name, kind, max_cores) = (c.name, c.kind, u64::from(c.max_cores));
            let label = if kind == "local" {
                format!("This server ({max_cores} cores)")
            } else {
                format!("{name} ({kind}, up to {max_cores} cores)")
            };
            Target { name, label, max_cores }
        })
        .collect();
    let limits = super::usage::wizard_limits(&st, &caller, p.org_id.as_deref()).await?;
    let setup = json!({
        "plan": limits.json.clone(),
        "project_id": p.id,
        "geometry_id": g.id,
        "name": g.name.rsplit_once('.').map(|(a, _)| a).unwrap_or(&g.name),
        "groups": groups_json,
        "analysis": analysis,
        "watertight": watertight,
        "targets": targets.iter().map(|t| json!({"name": t.name, "max_cores": t.max_cores})).collect::<Vec<_>>(),
        "defaults": serde_json::to_value(default_spec()).unwrap_or(Value::Null),
    });
    let page = GeometryPage {
        user: pu.user.clone(),
        csrf: pu.csrf.clone(),
        project_id: p.id.clone(),
        project_name: p.name.clone(),
        id: g.id.clone(),
        name: g.name.clone(),
        status: g.status,
        error: g.error_message.clone(),
        cad_name: g.cad_name.clone(),
        stats,
        heal_changes,
        heal_stats,
        watertight,
        groups,
        targets,
        limits,
        can_write: p.role.can_write(),
        // No `<` at all: nothing in the data can end the script element early.
        setup_json: setup.to_string().replace('<', "\\u003c"),
    };
    Ok(render(StatusCode::OK, page))
}

/// The spec every wizard field starts from: the case-file defaults.
fn default_spec() -> CaseSpec {
    CaseSpec::from_json(r#"{"flow": {"type": "external", "velocity": [20, 0, 0]}}"#).expect("default spec")
}

struct Quality {
    label: &'static str,
    value: String,
    limit: String,
    bad: bool,
}

struct LayerRow {
    name: String,
    faces: String,
    layers: String,
    thickness: String,
    coverage_pct: f64,
    low: bool,
}

struct ResultRow {
    label: String,
    value: String,
}

#[derive(Template)]
#[template(path = "job.html")]
struct JobPage {
    user: crate::store::User,
    csrf: String,
    project_id: String,
    project_name: String,
    geometry_id: Option<String>,
    case_name: String,
    id: String,
    status: &'static str,
    terminal: bool,
    completed: bool,
    mesh_only: bool,
    executor: String,
    cores: i64,
    /// The core-hours recorded for the job, with the unit.
    core_hours: String,
    iterations: u32,
    /// A transient run's simulated end time, s (its progress is in time, not iterations).
    end_time: Option<f64>,
    created_at: i64,
    started_at: i64,
    completed_at: i64,
    error: Option<String>,
    can_cancel: bool,
    cancel_requested: bool,
    /// Mesh quality (from the summary of a completed job).
    quality: Vec<Quality>,
    mesh_ok: Option<bool>,
    failed_checks: Vec<String>,
    layer_target: u64,
    layer_coverage: Option<String>,
    layers: Vec<LayerRow>,
    results: Vec<ResultRow>,
    /// The measured first-cell y+ per wall patch, its band and the warning (summary's mesh.yplus).
    yplus: Vec<YPlusRow>,
    yplus_band: String,
    yplus_warning: Option<String>,
    /// The steady solve diverged and was restarted with first-order numerics.
    solve_warning: Option<String>,
    residuals: Vec<ResultRow>,
    setup_summary: Vec<ResultRow>,
    notice: Option<String>,
}

/// checkMesh's default limits (meshQualityDict for snappyHexMesh is stricter).
const MAX_NON_ORTHO: f64 = 70.0;
const MAX_SKEWNESS: f64 = 4.0;
const MAX_ASPECT: f64 = 1000.0;

fn setup_summary(spec: &CaseSpec) -> Vec<ResultRow> {
    let u = spec.flow.velocity;
    let mut rows = vec![
        ResultRow {
            label: "Flow".into(),
            value: format!(
                "{}, |U| = {} m/s ({}, {}, {})",
                if spec.flow.kind == crate::foam::spec::FlowKind::External { "external" } else { "internal" },
                num(spec.speed()),
                num(u[0]),
                num(u[1]),
                num(u[2])
            ),
        },
        ResultRow {
            label: "Fluid".into(),
            value: format!("ρ {} kg/m³, ν {} m²/s", num(spec.fluid.rho()), num(spec.fluid.nu())),
        },
        ResultRow {
            label: "Turbulence".into(),
            value: match spec.turbulence.model {
                m if m.is_laminar() => m.label().into(),
                m => format!("{}, {} % intensity", m.label(), num(spec.turbulence.intensity * 100.0)),
            },
        },
        ResultRow { label: "Target cells".into(), value: group_digits(spec.mesh.target_cells as i64) },
    ];
    if !spec.mesh_only {
        rows.push(ResultRow { label: "Iterations".into(), value: spec.solver.iterations.to_string() });
    }
    let bcs: Vec<String> = spec
        .boundaries
        .iter()
        .map(|(k, b)| {
            let t = serde_json::to_value(b).ok().and_then(|v| v["type"].as_str().map(|s| s.replace('_', " ")));
            format!("{k}: {}", t.unwrap_or_default())
        })
        .collect();
    if !bcs.is_empty() {
        rows.push(ResultRow { label: "Boundaries".into(), value: bcs.join(" · ") });
    }
    rows
}

fn opt(v: &Value) -> String {
    v.as_f64().map(num).unwrap_or_else(|| "n/a".into())
}

pub(super) async fn job(State(st): State<AppState>, pu: PageUser, Path(id): Path<String>) -> PageResult {
    job_page(&st, &pu, &id, None).await
}

async fn job_page(st: &AppState, pu: &PageUser, id: &str, notice: Option<String>) -> PageResult {
    let caller = pu.caller();
    let (job, role) = jobs::get(st, &caller, id).await?;
    let case = crate::service::cases::get(st, &caller, &job.case_id).await?;
    let p = projects::get(st, &caller, &case.project_id, false).await?;
    let spec: CaseSpec = serde_json::from_str(&case.spec).map_err(|e| AppError::Internal(e.to_string()))?;
    let summary: Option<Value> = if job.status == JobStatus::Completed {
        st.blobs.get(&format!("jobs/{}/summary.json", job.id)).await.ok().and_then(|b| serde_json::from_slice(&b).ok())
    } else {
        None
    };
    let mut page = JobPage {
        user: pu.user.clone(),
        csrf: pu.csrf.clone(),
        project_id: p.id.clone(),
        project_name: p.name.clone(),
        geometry_id: case.geometry_id.clone(),
        case_name: case.name.clone(),
        id: job.id.clone(),
        status: job.status.as_str(),
        terminal: job.status.is_terminal(),
        completed: job.status == JobStatus::Completed,
        mesh_only: spec.mesh_only,
        executor: job.executor.clone(),
        cores: job.cores,
        core_hours: match st.store.usage_of_job(&job.id).await.map_err(AppError::from)? {
            _ if job.started_at.is_none() => "none yet (the job has not started)".into(),
            cs => format!("{} core-hours", num(cs / 3600.0)),
        },
        iterations: spec.solver.iterations,
        end_time: crate::foam::transient::is_transient(&spec).then(|| spec.solver.end_time.unwrap_or(1.0)),
        created_at: job.created_at,
        started_at: job.started_at.unwrap_or(0),
        completed_at: job.completed_at.unwrap_or(0),
        error: job.error_message.clone(),
        can_cancel: role.can_write() && !job.status.is_terminal(),
        cancel_requested: job.cancel_requested,
        quality: Vec::new(),
        mesh_ok: None,
        failed_checks: Vec::new(),
        layer_target: 0,
        layer_coverage: None,
        layers: Vec::new(),
        results: Vec::new(),
        yplus: Vec::new(),
        yplus_band: String::new(),
        yplus_warning: None,
        solve_warning: None,
        residuals: Vec::new(),
        setup_summary: setup_summary(&spec),
        notice,
    };
    if let Some(s) = &summary {
        fill_results(&mut page, s);
    }
    Ok(render(StatusCode::OK, page))
}

/// One wall patch's measured y+.
struct YPlusRow {
    patch: String,
    mean: String,
    range: String,
    outside_pct: f64,
    bad: bool,
}

fn fill_yplus(page: &mut JobPage, y: &Value) {
    let Some(rows) = y["patches"].as_array() else { return };
    let (lo, hi) = (y["band"][0].as_f64().unwrap_or(0.0), y["band"][1].as_f64().unwrap_or(0.0));
    let how = if y["treatment"] == "low_re" { "resolved wall (low-Re)" } else { "wall functions" };
    page.yplus_band = format!(
        "{}–{} for {how}; the plan estimated {}; {} % of the wall area is outside",
        num(lo),
        num(hi),
        y["estimated"].as_f64().map(num).unwrap_or_default(),
        num((y["outside"].as_f64().unwrap_or(0.0) * 1000.0).round() / 10.0)
    );
    page.yplus_warning = y["warning"].as_str().map(String::from);
    page.yplus = rows
        .iter()
        .map(|r| {
            let outside = r["below"].as_f64().unwrap_or(0.0) + r["above"].as_f64().unwrap_or(0.0);
            YPlusRow {
                patch: r["patch"].as_str().unwrap_or_default().to_string(),
                mean: r["mean"].as_f64().map(num).unwrap_or_default(),
                range: format!("{} – {}", r["min"].as_f64().map(num).unwrap_or_default(), r["max"].as_f64().map(num).unwrap_or_default()),
                outside_pct: (outside * 1000.0).round() / 10.0,
                bad: outside > 0.10,
            }
        })
        .collect();
}

/// The job page's warning for a solve that was restarted (summary's `solve.recovered_from`).
fn solve_warning(s: &Value) -> Option<String> {
    let first = s["solve"]["recovered_from"].as_str()?;
    Some(format!(
        "The solver diverged at first ({first}) and was restarted from the potential-flow solution with first-order upwind for U and lower relaxation: these results are first order in space. A mesh with fewer skewed or non-orthogonal cells lets the second-order default run."
    ))
}

fn fill_results(page: &mut JobPage, s: &Value) {
    fill_yplus(page, &s["mesh"]["yplus"]);
    page.solve_warning = solve_warning(s);
    let m = &s["mesh"];
    page.mesh_ok = m["ok"].as_bool();
    page.failed_checks = m["failed_checks"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect())
        .unwrap_or_default();
    let q = |label, v: &Value, limit: f64, unit: &str| {
        let x = v.as_f64();
        Quality {
            label,
            value: x.map(|x| format!("{}{unit}", num(x))).unwrap_or_else(|| "n/a".into()),
            limit: format!("≤ {}{unit}", num(limit)),
            bad: x.is_some_and(|x| x > limit),
        }
    };
    let count = |v: &Value| v.as_i64().map(group_digits).unwrap_or_else(|| "n/a".into());
    page.quality = vec![
        Quality { label: "Cells", value: count(&m["cells"]), limit: String::new(), bad: false },
        Quality { label: "Faces", value: count(&m["faces"]), limit: String::new(), bad: false },
        Quality { label: "Points", value: count(&m["points"]), limit: String::new(), bad: false },
        q("Max non-orthogonality", &m["max_non_orthogonality"], MAX_NON_ORTHO, "°"),
        q("Max skewness", &m["max_skewness"], MAX_SKEWNESS, ""),
        q("Max aspect ratio", &m["max_aspect_ratio"], MAX_ASPECT, ""),
    ];
    let target = m["plan"]["layers"]["count"].as_u64().unwrap_or(0);
    page.layer_target = target;
    page.layer_coverage = m["layer_coverage"].as_f64().map(|c| format!("{} %", num(c * 100.0)));
    if let Some(rows) = m["layers"]["patches"].as_array() {
        page.layers = rows
            .iter()
            .map(|r| {
                let layers = r["layers"].as_f64().unwrap_or(0.0);
                let cov = if target > 0 { (layers / target as f64).clamp(0.0, 1.0) * 100.0 } else { 100.0 };
                LayerRow {
                    name: r["name"].as_str().unwrap_or_default().to_string(),
                    faces: count(&r["faces"]),
                    layers: num(layers),
                    thickness: r["thickness_m"].as_f64().map(|t| format!("{} m", num(t))).unwrap_or_default(),
                    coverage_pct: (cov * 10.0).round() / 10.0,
                    low: cov < 85.0,
                }
            })
            .collect();
    }
    if !page.mesh_only {
        let sv = &s["solve"];
        let f = &s["forces"];
        page.results = vec![
            ResultRow {
                label: "Iterations".into(),
                value: sv["iterations"].as_u64().map(|n| n.to_string()).unwrap_or_default(),
            },
            ResultRow {
                label: "Converged".into(),
                value: match sv["converged"].as_bool() {
                    Some(true) => "yes: every residual reached its target".into(),
                    _ => "no: stopped at the iteration limit".into(),
                },
            },
            ResultRow { label: "Orders of magnitude dropped (p)".into(), value: opt(&sv["orders_dropped"]["p"]) },
            ResultRow { label: "Drag coefficient Cd".into(), value: opt(&f["Cd"]) },
            ResultRow { label: "Lift coefficient Cl".into(), value: opt(&f["Cl"]) },
            ResultRow { label: "Side-force coefficient Cs".into(), value: opt(&f["Cs"]) },
            ResultRow { label: "Reference area Aref".into(), value: format!("{} m²", opt(&f["Aref"])) },
            ResultRow { label: "Reference length lRef".into(), value: format!("{} m", opt(&f["lRef"])) },
        ];
        if let Some(r) = sv["final_residuals"].as_object() {
            page.residuals = r.iter().map(|(k, v)| ResultRow { label: field_label(k), value: opt(v) }).collect();
        }
    }
    if let Some(t) = s["timing"]["total"].as_f64() {
        page.results.push(ResultRow { label: "Wall time".into(), value: format!("{} s", num(t)) });
    }
}

/// Display names of the solved fields.
fn field_label(f: &str) -> String {
    match f {
        "p" => "p (pressure)".into(),
        "k" => "k (turbulent kinetic energy)".into(),
        "omega" => "ω (specific dissipation rate)".into(),
        other => other.to_string(),
    }
}

#[derive(Deserialize)]
pub(super) struct CancelForm {
    csrf: String,
}

/// The cancel button's form (it asks for confirmation first, in the browser).
pub(super) async fn cancel(
    State(st): State<AppState>,
    pu: PageUser,
    Path(id): Path<String>,
    Form(f): Form<CancelForm>,
) -> PageResult {
    pu.check(&st, &f.csrf)?;
    match jobs::cancel(&st, &pu.caller(), &id).await {
        Ok(_) => Ok(Redirect::to(&format!("/jobs/{id}")).into_response()),
        Err(e) if e.status().is_client_error() && e.status() != StatusCode::NOT_FOUND => {
            job_page(&st, &pu, &id, Some(e.public_detail())).await
        }
        Err(e) => Err(PageError(e)),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_restarted_solve_is_named_on_the_job_page() {
        let s = serde_json::json!({"solve": {"recovered_from": "floating point exception at iteration 28"}});
        let w = super::solve_warning(&s).unwrap();
        assert!(w.contains("iteration 28") && w.contains("first order"), "{w}");
        assert_eq!(super::solve_warning(&serde_json::json!({"solve": {"recovered_from": null}})), None);
    }
}
