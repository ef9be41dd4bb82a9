//! Mesh parameters for a geometry: the mesh AI's proposal where a trained model is built in
//! and the inputs are inside its training distribution, the pipeline's rules otherwise. Every
//! answer says which one it came from and gives a one-line reason per parameter.
//!
//! The model trained by `mesh-ai/train.py` is embedded in the binary when `mesh-ai/model/`
//! holds it at build time (`build.rs` sets cfg `flowcfd_model`); `FLOWCFD_MESH_MODEL=DIR`
//! (or `--model`/`--mesh-model DIR`) runs another model directory instead. `model` runs it
//! (ort over tract); `voxel` is its input representation, shared with the dataset
//! generator (`mesh-ai/`).
pub mod model;
pub mod voxel;

use crate::foam::case::{suggested_plan, CaseError};
use crate::foam::rules::MeshPlan;
use crate::foam::spec::{CaseSpec, FlowKind, RefinementBox};
use crate::geometry::analyse::Analysis;
use crate::geometry::Surface;
use model::{Model, Output};
use serde_json::{json, Value};
use std::sync::OnceLock;

/// Why the rules answered rather than the mesh AI.
pub const NO_MODEL: &str =
    "this build has no trained mesh model (mesh-ai/model was absent when it was built); the pipeline's rules proposed these";

/// Why the rules answered when they were asked for.
pub const RULES_ASKED: &str = "the rules were asked for (--mesh-params rules)";

/// The environment variable naming a model directory to use instead of the built-in one.
pub const MODEL_ENV: &str = "FLOWCFD_MESH_MODEL";

#[cfg(flowcfd_model)]
fn builtin() -> Option<Result<Model, String>> {
    let onnx = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/mesh-ai/model/mesh_ai.onnx"));
    let meta = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/mesh-ai/model/model.json"));
    Some(Model::load(onnx, meta).map_err(|e| e.to_string()))
}

#[cfg(not(flowcfd_model))]
fn builtin() -> Option<Result<Model, String>> {
    None
}

/// Whether this binary carries a trained mesh model.
pub fn has_builtin_model() -> bool {
    cfg!(flowcfd_model)
}

/// The process's mesh model, loaded once: the directory in `FLOWCFD_MESH_MODEL` when it is
/// set, else the one built in. `Ok(None)` when there is neither; `Err` (with the reason)
/// when the one there fails to load, so callers use the rules and say why.
pub fn default_model() -> Result<Option<&'static Model>, &'static str> {
    static MODEL: OnceLock<Result<Option<Model>, String>> = OnceLock::new();
    MODEL
        .get_or_init(|| match std::env::var_os(MODEL_ENV).filter(|v| !v.is_empty()) {
            Some(dir) => Model::load_dir(std::path::Path::new(&dir)).map(Some).map_err(|e| format!("{MODEL_ENV}: {e}")),
            None => builtin().transpose(),
        })
        .as_ref()
        .map(Option::as_ref)
        .map_err(String::as_str)
}

/// A model directory given on the command line, else [`default_model`]: the model (if
/// any) and, when one failed to load, why.
pub fn model_or_default(dir: Option<&std::path::Path>) -> (Option<ModelRef>, Option<String>) {
    match dir {
        Some(d) => match Model::load_dir(d) {
            Ok(m) => (Some(ModelRef::Owned(Box::new(m))), None),
            Err(e) => (None, Some(e.to_string())),
        },
        None => match default_model() {
            Ok(m) => (m.map(ModelRef::Static), None),
            Err(e) => (None, Some(e.to_string())),
        },
    }
}

/// A model loaded for one command, or the process's own.
pub enum ModelRef {
    Owned(Box<Model>),
    Static(&'static Model),
}

impl std::ops::Deref for ModelRef {
    type Target = Model;
    fn deref(&self) -> &Model {
        match self {
            ModelRef::Owned(m) => m,
            ModelRef::Static(m) => m,
        }
    }
}

/// The raw input features the models know, by name, as `mesh-ai/train.py` computes them (it
/// takes all but `bluffness`); a model's `model.json` lists the ones it takes, in order.
///
/// `open` is 1 when the model sees the shell grid ([`voxel::grid`]: an open surface, or a
/// closed one too thin for the grid). `area_volume` then divides by the bounding box's
/// volume (each extent at least a thousandth of the largest, so a flat sheet has one).
pub fn named_features(spec: &CaseSpec, a: &Analysis, shell: bool) -> Vec<(&'static str, f64)> {
    let mut ext: Vec<f64> = (0..3).map(|i| a.bbox_max[i] - a.bbox_min[i]).collect();
    ext.sort_by(|x, y| y.total_cmp(x));
    let l = a.characteristic_length;
    let vol = match a.volume.filter(|v| *v > 0.0 && !shell) {
        Some(v) => v,
        None => ext.iter().map(|e| e.max(1e-3 * ext[0])).product::<f64>().max(1e-30),
    };
    let re = spec.speed() * l / spec.fluid.nu();
    vec![
        ("log10_re", re.log10()),
        ("log10_cells", (spec.mesh.target_cells as f64).log10()),
        ("log10_yplus", spec.mesh.layers.target_yplus.log10()),
        ("internal", if spec.flow.kind == FlowKind::Internal { 1.0 } else { 0.0 }),
        ("ground", if spec.flow.ground { 1.0 } else { 0.0 }),
        ("aspect_mid", ext[1] / ext[0]),
        ("aspect_min", ext[2] / ext[0]),
        ("area_volume", a.area / vol.powf(2.0 / 3.0)),
        ("open", if shell { 1.0 } else { 0.0 }),
        ("bluffness", crate::foam::friction::estimate(spec, a).bluffness),
    ]
}

/// The model's raw input features, in the order of `names` (a model's `features`); an
/// unknown name gives NaN, which [`model::Model::out_of_range`] refuses with its name.
pub fn features_for(spec: &CaseSpec, a: &Analysis, open: bool, names: &[String]) -> Vec<f32> {
    let all = named_features(spec, a, open);
    names.iter().map(|n| all.iter().find(|(k, _)| k == n).map_or(f32::NAN, |(_, v)| *v as f32)).collect()
}

/// The model's answer as explicit mesh values, clamped to safe ranges: base cell L/400 to
/// 2 L, surface levels 0 to 8 (max at most 3 above min), the layer stack of [`set_layers`],
/// and a wake box at least one base cell across that clears the body by the rules' margins.
pub fn apply(spec: &CaseSpec, a: &Analysis, o: &Output) -> CaseSpec {
    let l = a.characteristic_length;
    let mut s = spec.clone();
    let m = &mut s.mesh;
    let base = ((o.base[0] as f64).exp() * l).clamp(l / 400.0, 2.0 * l);
    let lo = (o.levels[0] as f64).round().clamp(0.0, 8.0) as u32;
    let hi = ((o.levels[1] as f64).round().clamp(lo as f64, (lo + 3) as f64)) as u32;
    m.base_cell_size.get_or_insert(base);
    m.surface_level.get_or_insert([lo, hi]);
    let surface_cell = m.base_cell_size.unwrap_or(base) / 2f64.powi(lo as i32);
    if spec.flow.kind == FlowKind::External && m.wake_box && m.refinement_boxes.is_empty() && o.boxes.len() == 6 {
        let c = [0, 1, 2].map(|i| 0.5 * (a.bbox_min[i] + a.bbox_max[i]) + o.boxes[i] as f64 * l);
        let h = [0, 1, 2].map(|i| 0.5 * (o.boxes[3 + i] as f64 * l).abs().max(base));
        // The box clears the body by at least the rules' margins (0.1 L upstream, 0.2 L
        // elsewhere): a box face closer than that puts its level change among the surface
        // cells and the layers. On the 1 m cube at 20k cells, the model's box 0.15 m off
        // the sides made SIMPLE diverge at iteration 37; the rules' box on the same base
        // cell and layers did not.
        let (ax, sign) = crate::foam::rules::flow_axis(spec.flow.velocity);
        let clear = |i: usize, upstream: bool| {
            l * if i == ax && upstream {
                crate::foam::rules::BOX_UPSTREAM_CLEARANCE
            } else {
                crate::foam::rules::BOX_SIDE_CLEARANCE
            }
        };
        m.refinement_boxes.push(RefinementBox {
            min: [0, 1, 2].map(|i| (c[i] - h[i]).min(a.bbox_min[i] - clear(i, sign >= 0.0))),
            max: [0, 1, 2].map(|i| (c[i] + h[i]).max(a.bbox_max[i] + clear(i, sign < 0.0))),
            level: lo.saturating_sub(1).max(1),
        });
    }
    set_layers(&mut s, spec, a, o, surface_cell);
    s
}

/// The mesh AI's correction to the wall-shear estimate ([`crate::foam::friction`]): the
/// y+ the solver measures over the one estimated, for this shape (1 for models without the
/// y+ head). Held to e^±1.5.
pub fn yplus_factor(o: &Output) -> f64 {
    o.yplus
        .as_ref()
        .and_then(|v| v.first())
        .filter(|c| c.is_finite())
        .map_or(1.0, |c| (*c as f64).clamp(-1.5, 1.5).exp())
}

/// The layer stack on surface cells `hs`: the first layer puts its cell centre at the
/// target y+ (≈ 1 for a resolved wall) by the wall-shear estimate with the model's
/// correction; the model's growth and its count (lowered to what the coverage head expects
/// to cover, see [`layer_count`]) then bridge it to the surface cell
/// ([`crate::foam::rules::bridge`]). A resolved wall takes up to
/// [`crate::foam::rules::MAX_LOW_RE_LAYERS`]. The user's explicit values (in `user`) win.
pub fn set_layers(chosen: &mut CaseSpec, user: &CaseSpec, a: &Analysis, o: &Output, hs: f64) {
    use crate::foam::rules;
    let ls = &user.mesh.layers;
    let nu = user.fluid.nu();
    let f = crate::foam::friction::estimate(user, a);
    let target = crate::foam::turbulence::layer_target_yplus(user);
    let corr = yplus_factor(o);
    let y1 = ls.first_layer_thickness.unwrap_or_else(|| f.first_layer(target, nu) / corr);
    let open = !a.watertight && a.volume.is_none();
    // At least one layer, as the rules give (only the user's explicit 0 means none): the
    // wall treatment needs its first cell sized. A layer head that rounds to 0 (it did on
    // thin shells, which its coverage-filtered labels hold few of) left slender wings and
    // the Wigley hull with no first cell sized for y+ at all.
    let model_n = layer_count(o).max(1);
    let max_n = if open {
        // An open surface keeps the rules' single layer: stacks wrapped round sheet edges
        // made the skewed cells that blew SIMPLE up on the motorBike.
        1
    } else if rules::low_re(user) {
        rules::MAX_LOW_RE_LAYERS
    } else {
        model_n
    };
    let ratio = (o.layers[1] as f64).clamp(1.05, 1.5);
    let l = &mut chosen.mesh.layers;
    let fixed = ls.first_layer_thickness.is_some();
    let mut stack = rules::bridge(y1, hs, ls.count, ls.expansion_ratio, ratio, fixed, max_n);
    // The coverage head's count first, unless it leaves the first cell above the band:
    // then as many layers as the rules would take.
    if !open && !fixed && max_n < rules::MAX_AUTO_LAYERS && f.yplus(stack.2, nu) * corr > target.max(1.0) * 3.0 {
        stack = rules::bridge(y1, hs, ls.count, ls.expansion_ratio, ratio, fixed, rules::MAX_AUTO_LAYERS);
    }
    let (n, r, y1) = stack;
    l.count = Some(n);
    l.expansion_ratio = Some(r);
    l.first_layer_thickness = Some(if fixed { y1 } else { y1.max(1e-7 * a.characteristic_length) });
}

/// The predicted wall coverage a layer count has to reach for the mesh AI to keep it.
pub const COVERAGE_GOAL: f64 = 0.9;

/// The layer head's count, lowered until the coverage head expects it to cover
/// [`COVERAGE_GOAL`] of the walls (the count with the best predicted coverage when none
/// does). Counts beyond the coverage head's last one are kept when that one reaches the goal.
fn layer_count(o: &Output) -> u32 {
    let want = (o.layers[0] as f64).round().clamp(0.0, 10.0) as u32;
    let Some(cov) = o.coverage.as_deref().filter(|c| !c.is_empty() && want > 0) else { return want };
    let top = (want as usize).min(cov.len());
    if want as usize > cov.len() && f64::from(cov[cov.len() - 1]) >= COVERAGE_GOAL {
        return want;
    }
    (1..=top)
        .rev()
        .find(|&n| f64::from(cov[n - 1]) >= COVERAGE_GOAL)
        .unwrap_or_else(|| (1..=top).max_by(|&a, &b| cov[a - 1].total_cmp(&cov[b - 1]).then(b.cmp(&a))).unwrap_or(1))
        as u32
}

/// The coverage head's answer for `count` layers (none for 0 or a count it does not cover).
pub fn predicted_coverage(o: &Output, count: u32) -> Option<f64> {
    let cov = o.coverage.as_deref()?;
    (count as usize).checked_sub(1).and_then(|i| cov.get(i)).map(|&c| f64::from(c).clamp(0.0, 1.0))
}

/// The mesh AI's values with the base cell size fitted to the budget: the model's cells head
/// says how far the rules' cell-count estimate will be off on this shape (a factor F), so
/// the rules' solver fits the base cell to target / F with the AI's levels, box and layer
/// count, and the layer stack follows on that cell. Above the budgets the model was
/// trained on (`trained`: the largest), the fit is made at that budget and the base cell
/// then shrinks by the cube root of the budget ratio. Returns the spec and F (1 when the
/// model has no cells head or the case gives the base size).
pub fn fit(spec: &CaseSpec, a: &Analysis, o: &Output, trained: Option<u64>) -> (CaseSpec, f64) {
    let mut chosen = apply(spec, a, o);
    if spec.mesh.base_cell_size.is_some() {
        return (chosen, 1.0);
    }
    let budget = trained.filter(|t| *t < spec.mesh.target_cells).unwrap_or(spec.mesh.target_cells);
    let scale = (budget as f64 / spec.mesh.target_cells as f64).cbrt();
    let lo = chosen.mesh.surface_level.map_or(0, |l| l[0]);
    let Some(c) = o.cells.as_ref().and_then(|c| c.first()) else {
        // No cells head: the model's own base cell, scaled above the trained budgets.
        if scale < 1.0 {
            let h = chosen.mesh.base_cell_size.unwrap_or(a.characteristic_length) * scale;
            chosen.mesh.base_cell_size = Some(h);
            set_layers(&mut chosen, spec, a, o, h / 2f64.powi(lo as i32));
        }
        return (chosen, 1.0);
    };
    let factor = (*c as f64).clamp(-1.0, 1.0).exp();
    chosen.mesh.base_cell_size = None;
    chosen.mesh.target_cells = ((budget as f64 / factor).round() as u64).max(1000);
    if let Ok(plan) = suggested_plan(&chosen, a) {
        let h = plan.base_cell_size * scale;
        chosen.mesh.base_cell_size = Some(h);
        set_layers(&mut chosen, spec, a, o, h / 2f64.powi(lo as i32));
    }
    chosen.mesh.target_cells = spec.mesh.target_cells;
    (chosen, factor)
}

/// Which proposed a case's mesh parameters, and why the rules did when they did.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Choice {
    /// `ai` or `rules`.
    pub source: &'static str,
    pub reason: Option<String>,
    /// The mesh AI's factor on the rules' cell-count estimate for this shape (1 for the
    /// rules): the plan's `estimated_cells` is the rules' estimate times this.
    pub cells_factor: f64,
    /// The fraction of the walls the model expects the chosen layer count to cover.
    pub layer_coverage: Option<f64>,
    /// The mesh AI's correction of the wall-shear estimate (measured over estimated y+; 1
    /// for the rules): the plan's `estimated_yplus` is the estimate times this.
    pub yplus_factor: f64,
    /// The grid the model saw: `solid` (the inside of a closed surface) or `shell` (an open
    /// surface's neighbourhood).
    pub grid: Option<&'static str>,
    /// The largest budget the model was trained on, when the case asked for more: the model
    /// answered for it and the base cell was scaled (see [`fit`]).
    pub trained_cells: Option<u64>,
}

impl Choice {
    /// The rules, with the reason they were used.
    pub fn rules(reason: impl Into<String>) -> Self {
        Choice {
            source: "rules",
            reason: Some(reason.into()),
            cells_factor: 1.0,
            layer_coverage: None,
            yplus_factor: 1.0,
            grid: None,
            trained_cells: None,
        }
    }

    /// Applies this choice's corrections to a plan's cell-count and y+ estimates.
    pub fn correct_estimate(&self, plan: &mut crate::foam::rules::MeshPlan) {
        plan.estimated_cells = (plan.estimated_cells as f64 * self.cells_factor).round() as u64;
        plan.layers.estimated_yplus *= self.yplus_factor;
    }
}

/// The spec to mesh with: the mesh AI's values applied where a model is given and allowed to
/// answer, the spec as it is (the rules fill it in) otherwise, with the reason: no model,
/// inputs outside the training distribution, an open surface the model does not take, a
/// model that failed.
///
/// A closed surface is voxelised solid; an open one (a CAD export with gaps, a sheet) gets
/// the shell grid of its neighbourhood ([`voxel::shell`]) when the model was trained on
/// them (its features include `open`). A budget above the largest the model was trained on
/// is answered at that budget and scaled ([`fit`]).
pub fn choose(spec: &CaseSpec, a: &Analysis, surface: &Surface, model: Option<&Model>) -> (CaseSpec, Choice) {
    let rules = |why: String| (spec.clone(), Choice::rules(why));
    let Some(m) = model else { return rules(NO_MODEL.into()) };
    let names = &m.meta.features;
    let takes_open = names.iter().any(|n| n == "open");
    let (grid, open) = match voxel::grid(surface, m.meta.grid) {
        Ok((g, voxel::GridKind::Solid)) => (g, false),
        Ok((g, voxel::GridKind::Shell)) if takes_open => (g, true),
        Ok(_) => match voxel::voxelize(surface, m.meta.grid) {
            // A model without shells: a thin closed body keeps its (sparse) solid grid.
            Ok(g) => (g, false),
            Err(e) => return rules(format!("the mesh AI needs a closed solid: {e}")),
        },
        Err(e) => return rules(format!("the mesh AI could not voxelise the surface: {e}")),
    };
    let mut f = features_for(spec, a, open, names);
    let mut trained_cells = None;
    if let Some(i) = names.iter().position(|n| n == "log10_cells").filter(|_| spec.mesh.base_cell_size.is_none()) {
        let top = m.meta.range.max[i];
        if f[i] > top {
            f[i] = top;
            trained_cells = Some(10f64.powf(top as f64).round() as u64);
        }
    }
    if let Some(why) = m.out_of_range(&f) {
        return rules(format!("the geometry and flow are outside what the mesh AI was trained on: {why}"));
    }
    match m.run(&grid, &f) {
        Ok(mut out) => {
            if !m.meta.yplus_head_validated {
                out.yplus = None;
            }
            let (chosen, cells_factor) = fit(spec, a, &out, trained_cells);
            let layer_coverage = predicted_coverage(&out, chosen.mesh.layers.count.unwrap_or(0));
            let choice = Choice {
                source: "ai",
                reason: None,
                cells_factor,
                layer_coverage,
                yplus_factor: yplus_factor(&out),
                grid: Some(if open { "shell" } else { "solid" }),
                trained_cells,
            };
            (chosen, choice)
        }
        Err(e) => rules(e.to_string()),
    }
}

/// [`choose`], as the suggestion JSON.
pub fn suggest_with(
    spec: &CaseSpec,
    a: &Analysis,
    surface: &Surface,
    model: Option<&Model>,
) -> Result<Value, CaseError> {
    let (chosen, c) = choose(spec, a, surface, model);
    let mut plan = suggested_plan(&chosen, a)?;
    c.correct_estimate(&mut plan);
    let mut v = to_json(&chosen, &plan, c.source, c.reason.as_deref());
    v["target_cells"] = json!(spec.mesh.target_cells);
    if c.source == "ai" {
        // The AI's box is the automatic wake box, placed by the model.
        v["wake_box"] = json!(spec.mesh.wake_box && spec.mesh.refinement_boxes.is_empty() && !plan.boxes.is_empty());
        let why = &mut v["why"];
        why["base_cell_size"] = json!(if c.cells_factor != 1.0 {
            format!(
                "fitted to {} cells with the mesh AI's levels and its correction (×{:.2}) of the cell-count estimate for this shape",
                spec.mesh.target_cells, c.cells_factor
            )
        } else {
            format!("the mesh AI's size for {} cells on this shape and flow", spec.mesh.target_cells)
        });
        why["surface_level"] =
            json!(format!("the mesh AI's refinement levels {:?}", chosen.mesh.surface_level.unwrap_or_default()));
        if spec.mesh.refinement_boxes.is_empty() && !chosen.mesh.refinement_boxes.is_empty() {
            why["wake_box"] = json!("the mesh AI's refinement box around the body and its wake");
        }
        let covered = c
            .layer_coverage
            .map(|p| format!("; the model expects them to cover {:.0} % of the walls", p * 100.0))
            .unwrap_or_default();
        let f = crate::foam::friction::estimate(spec, a);
        why["layers"] = json!(format!(
            "the mesh AI's {} layers growing ×{:.2} from {:.3e} m: y+ ≈ {:.0} at the first cell centre by {} with the mesh AI's correction ×{:.2} for this shape{covered}",
            plan.layers.count,
            plan.layers.expansion_ratio,
            plan.layers.first_layer_thickness,
            plan.layers.estimated_yplus,
            f.model.describe(),
            c.yplus_factor
        ));
        if let Some(t) = c.trained_cells {
            why["budget"] = json!(format!(
                "{} cells is above the {t} the mesh AI was trained on: it answered for {t} and the base cell was scaled by the cube root of the ratio",
                spec.mesh.target_cells
            ));
        }
        v["grid"] = json!(c.grid);
        v["predicted_layer_coverage"] = json!(c.layer_coverage);
    }
    Ok(v)
}

/// The JSON every caller gets (`POST /api/geometries/{id}/mesh-suggestion`,
/// `flowcfd mesh-ai predict`); these key names are an interface.
pub fn to_json(spec: &CaseSpec, plan: &MeshPlan, source: &str, reason: Option<&str>) -> Value {
    let lo = plan.group_levels.values().map(|l| l[0]).min().unwrap_or(0);
    let hi = plan.group_levels.values().map(|l| l[1]).max().unwrap_or(0);
    json!({
        "source": source,
        "reason": reason,
        "target_cells": spec.mesh.target_cells,
        "base_cell_size": plan.base_cell_size,
        "surface_refinement": [lo, hi],
        "group_levels": plan.group_levels,
        "feature_level": plan.feature_level,
        "refinement_boxes": plan.boxes,
        "wake_box": spec.mesh.wake_box && spec.mesh.refinement_boxes.is_empty() && !plan.boxes.is_empty(),
        "layers": {
            "count": plan.layers.count,
            "expansion_ratio": plan.layers.expansion_ratio,
            "first_layer_thickness": plan.layers.first_layer_thickness,
            "estimated_yplus": plan.layers.estimated_yplus,
            "target_yplus": spec.mesh.layers.target_yplus,
            "friction": plan.layers.friction,
        },
        "predicted_cells": plan.estimated_cells,
        "domain": {"min": plan.domain_min, "max": plan.domain_max, "divisions": plan.divisions},
        "why": plan.why,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(count: f32, coverage: Option<Vec<f32>>) -> Output {
        Output {
            base: vec![0.0],
            levels: vec![2.0, 3.0],
            boxes: vec![0.0; 6],
            layers: vec![count, 1.2, -1.0],
            cells: None,
            coverage,
            yplus: None,
        }
    }

    #[test]
    fn the_walls_always_get_a_layer_unless_the_user_turns_them_off() {
        let cube = crate::geometry::primitives::cuboid([-0.5; 3], [0.5; 3], "cube");
        let a = crate::geometry::analyse::analyse(&cube, [1.0, 0.0, 0.0]);
        let spec = |layers: &str| {
            CaseSpec::from_toml(
                &format!("[flow]\ntype = \"external\"\nvelocity = [20, 0, 0]\n[mesh]\ntarget_cells = 40000\n{layers}"),
                "t",
            )
            .unwrap()
        };
        let layers = |user: &CaseSpec, o: &Output| {
            let mut chosen = user.clone();
            set_layers(&mut chosen, user, &a, o, 0.05);
            chosen.mesh.layers
        };
        // The layer head rounds to 0 layers: the wall still gets one, sized for y+.
        let l = layers(&spec(""), &out(0.2, Some(vec![0.95; 5])));
        assert!(l.count.unwrap() >= 1, "{l:?}");
        assert!(l.first_layer_thickness.unwrap() > 0.0, "{l:?}");
        // The user's explicit 0 turns layers off.
        let l = layers(&spec("[mesh.layers]\ncount = 0\n"), &out(3.0, Some(vec![0.95; 5])));
        assert_eq!(l.count, Some(0), "{l:?}");
    }

    #[test]
    fn the_models_wake_box_clears_the_body_by_the_rules_margins() {
        let cube = crate::geometry::primitives::cuboid([-0.5; 3], [0.5; 3], "cube");
        let a = crate::geometry::analyse::analyse(&cube, [1.0, 0.0, 0.0]);
        let spec = CaseSpec::from_toml(
            "[flow]\ntype = \"external\"\nvelocity = [20, 0, 0]\n[mesh]\ntarget_cells = 20000\n",
            "t",
        )
        .unwrap();
        // A box the model centred on the body and sized smaller than it.
        let mut o = out(3.0, None);
        o.base = vec![(0.4f32).ln()];
        o.boxes = vec![0.0, 0.0, 0.0, 0.3, 0.3, 0.3];
        let s = apply(&spec, &a, &o);
        let b = &s.mesh.refinement_boxes[0];
        let l = a.characteristic_length;
        assert!(b.min[0] <= -0.5 - 0.1 * l + 1e-9, "{b:?}");
        for i in 1..3 {
            assert!(b.min[i] <= -0.5 - 0.2 * l + 1e-9 && b.max[i] >= 0.5 + 0.2 * l - 1e-9, "{b:?}");
        }
        assert!(b.max[0] >= 0.5 + 0.2 * l - 1e-9, "{b:?}");
        // A box that already clears the body is kept as the model placed it.
        o.boxes = vec![1.0, 0.0, 0.1, 5.0, 2.0, 2.0];
        let b = apply(&spec, &a, &o).mesh.refinement_boxes[0].clone();
        assert!((b.max[0] - (0.5 * 5.0 * l + 1.0 * l)).abs() < 1e-6, "{b:?}");
        assert!((b.min[1] + 1.0 * l).abs() < 1e-6, "{b:?}");
    }

    #[test]
    fn layer_count_is_lowered_to_what_the_coverage_head_expects_to_cover() {
        // No coverage head: the layer head's count.
        assert_eq!(layer_count(&out(5.0, None)), 5);
        // 5 and 4 layers would cover too little, 3 reach the goal.
        let cov = vec![0.99, 0.97, 0.93, 0.8, 0.6];
        assert_eq!(layer_count(&out(5.0, Some(cov.clone()))), 3);
        assert_eq!(predicted_coverage(&out(5.0, Some(cov.clone())), 3), Some(0.93f32 as f64));
        // A count the head already expects to cover is kept.
        assert_eq!(layer_count(&out(2.0, Some(cov.clone()))), 2);
        // None reaches the goal: the best predicted one (the fewest on ties).
        assert_eq!(layer_count(&out(4.0, Some(vec![0.7, 0.8, 0.8, 0.5, 0.4]))), 2);
        // Beyond the head's counts: kept when its last count covers.
        assert_eq!(layer_count(&out(7.0, Some(vec![1.0; 5]))), 7);
        assert_eq!(layer_count(&out(7.0, Some(cov))), 3);
        // No layers asked for, none given; no coverage for 0 layers.
        assert_eq!(layer_count(&out(0.0, Some(vec![1.0; 5]))), 0);
        assert_eq!(predicted_coverage(&out(0.0, Some(vec![1.0; 5])), 0), None);
    }
}
