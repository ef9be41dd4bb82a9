//! Rule-based mesh parameters: what FlowCFD proposes when the user gives none.
//!
//! The mesh AI (a later module) replaces [`suggest`] with a learned model; both produce a
//! [`MeshPlan`], and explicit values in the [`MeshSpec`](super::spec::MeshSpec) always win.

use super::spec::{CaseSpec, FlowKind, RefinementBox};
use crate::geometry::analyse::Analysis;
use serde::Serialize;
use std::collections::BTreeMap;

/// Cells across a refinement-level transition (snappyHexMesh `nCellsBetweenLevels`).
pub const CELLS_BETWEEN_LEVELS: u32 = 3;

/// Fully resolved mesh parameters with a one-line reason for each.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeshPlan {
    /// Background-mesh lower corner, m.
    pub domain_min: [f64; 3],
    /// Background-mesh upper corner, m.
    pub domain_max: [f64; 3],
    /// Background (level 0) cell size, m; cells are cubes.
    pub base_cell_size: f64,
    /// blockMesh divisions.
    pub divisions: [u32; 3],
    /// Surface refinement `[min, max]` per surface group.
    pub group_levels: BTreeMap<String, [u32; 2]>,
    /// Feature-edge refinement level.
    pub feature_level: u32,
    /// Refinement boxes (the wake box among them).
    pub boxes: Vec<RefinementBox>,
    /// Prism layers.
    pub layers: LayerPlan,
    /// Cells the model expects snappyHexMesh to produce.
    pub estimated_cells: u64,
    /// Why each parameter has its value (for the CLI and the mesh wizard).
    pub why: BTreeMap<String, String>,
}

/// Prism-layer plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerPlan {
    /// Number of layers; 0 disables layer addition.
    pub count: u32,
    /// Growth ratio.
    pub expansion_ratio: f64,
    /// First-layer thickness, m.
    pub first_layer_thickness: f64,
    /// y+ expected at the first cell centre with this thickness, from the wall-shear
    /// estimate that fits the body ([`super::friction`]).
    pub estimated_yplus: f64,
    /// Which wall-shear estimate the first layer was sized with.
    pub friction: super::friction::FrictionModel,
    /// Size of the surface cells (minimum level) the thicknesses refer to, m. snappyHexMesh
    /// gets the layers relative to the local cell, so on finer (curvature) levels they scale
    /// down with the cells instead of swamping them.
    pub surface_cell_size: f64,
    /// snappyHexMesh `featureAngle`: layers stop at edges sharper than this.
    pub feature_angle: u32,
    /// Whether layer addition keeps OpenFOAM's face-tet quality check (`minTetQuality`).
    /// Closed bodies drop it, which keeps layers on sharp or coarse patches. Open or
    /// multi-part surfaces keep it, as OpenFOAM's motorBike does: without it the bike's sheet
    /// edges got prisms whose ω never settled, and Cd went negative instead of 0.41.
    pub tet_check: bool,
}

/// Most layers the rules propose: more buy little with wall functions and cost cells.
pub const MAX_AUTO_LAYERS: u32 = 5;

/// Most layers proposed for a resolved wall (low-Re, first cell at y+ ≈ 1): growing ×1.3
/// from y+ 1, twenty layers reach the few-hundred y+ of a typical surface cell.
pub const MAX_LOW_RE_LAYERS: u32 = 20;

/// Whether the layer plan aims at a resolved wall (`turbulence.wall_treatment = "low_re"`,
/// or a target y+ below the log layer's start).
pub fn low_re(spec: &CaseSpec) -> bool {
    !spec.turbulence.model.is_laminar()
        && spec.turbulence.wall_treatment != super::spec::WallTreatment::WallFunctions
        && super::turbulence::layer_target_yplus(spec) < super::turbulence::YPLUS_LAM
}

/// Most layers proposed for `spec`'s wall treatment.
pub fn max_layers(spec: &CaseSpec) -> u32 {
    if low_re(spec) {
        MAX_LOW_RE_LAYERS
    } else {
        MAX_AUTO_LAYERS
    }
}

/// Final layer thickness as a fraction of the surface cell. Thin layers under large cells
/// (a 20× volume jump) made SIMPLE diverge on the cube test; 0.4 keeps the jump near 2.5×.
pub const FINAL_LAYER_FRACTION: f64 = 0.4;

/// The lowest final-layer fraction of the surface cell the layer plan settles for before it
/// thickens the first layer (and so raises y+) when the layers cannot bridge the gap.
pub const MIN_FINAL_LAYER_FRACTION: f64 = 0.25;

/// The thickest lone layer, as a fraction of the surface cell, when the first layer the
/// target y+ asks for is thicker than [`FINAL_LAYER_FRACTION`] of the cell: small bodies at
/// Re 10⁴–10⁵, whose surface cells are finer than a log-layer first cell. Capped at the final
/// fraction, their one layer sat at y+ 5–28 under wall functions. On 17 such held-out
/// geometries (40k cells, 20 m/s, 2026-12-08) a whole cell put 14 of the mesh AI's plans in
/// 30–300 instead of 5, with the same layer coverage and checkMesh (0.8 of the cell: 12); on
/// the flange the solver's measured y+ went from 2 % of the wall in the band to 39 %.
pub const LONE_LAYER_FRACTION: f64 = 1.0;

/// The thinnest first layer proposed, as a fraction of the surface cell it grows from.
/// snappyHexMesh's cell-determinant check (`minDeterminant 0.001`) removes flatter layers:
/// on the 15k-cell cube, ten low-Re layers from 1/64 of the cell covered the whole wall,
/// and from 1/214 none of it.
pub const MIN_FIRST_LAYER_FRACTION: f64 = 0.01;

/// The growth the layer plan raises to when its layers cannot bridge the gap at the given one.
pub const BRIDGING_GROWTH: f64 = 1.3;

/// Layer count, growth and first-layer thickness that grow from a first layer `y1` to
/// [`FINAL_LAYER_FRACTION`] of the surface cell `hs`, in at most `max_count` layers.
///
/// Explicit values (`count`, `ratio`, `first_fixed`) win. When the count cannot bridge the
/// gap at growth `r`, the growth rises to [`BRIDGING_GROWTH`], then the last layer may end
/// as thin as [`MIN_FINAL_LAYER_FRACTION`] of the cell, and only then does the first layer
/// thicken, which raises y+ (the plan reports it) rather than leaving a volume jump.
pub fn bridge(
    y1: f64,
    hs: f64,
    count: Option<u32>,
    ratio: Option<f64>,
    r: f64,
    first_fixed: bool,
    max_count: u32,
) -> (u32, f64, f64) {
    let final_t = FINAL_LAYER_FRACTION * hs;
    let mut r = ratio.unwrap_or(r);
    if !(hs.is_finite() && hs > 0.0 && y1.is_finite() && r.is_finite() && r > 0.0) {
        return (count.unwrap_or(0), r, y1);
    }
    // A first layer thicker than the final fraction is one layer, up to LONE_LAYER_FRACTION.
    let cap = if y1 > final_t && count.is_none_or(|n| n <= 1) { LONE_LAYER_FRACTION * hs } else { final_t };
    let mut y1 = if first_fixed { y1 } else { y1.clamp(MIN_FIRST_LAYER_FRACTION * hs, cap) };
    let needed = |y1: f64, r: f64, last: f64| 1.0 + (last / y1).ln() / r.ln().max(1e-6);
    let n = match count {
        Some(n) => n,
        None if needed(y1, r, final_t) <= max_count as f64 => needed(y1, r, final_t).ceil().max(1.0) as u32,
        None => {
            if ratio.is_none() {
                r = r.max(BRIDGING_GROWTH);
            }
            let n = needed(y1, r, final_t);
            if n <= max_count as f64 {
                n.ceil().max(1.0) as u32
            } else {
                if !first_fixed {
                    y1 = y1.max(MIN_FINAL_LAYER_FRACTION * hs / r.powi(max_count as i32 - 1));
                }
                return (max_count, r, y1);
            }
        }
    };
    // A whole number of layers overshoots the last layer: ease the growth so the stack ends
    // at the final fraction (never below ×1.05). One layer has no growth to speak of.
    if count.is_none() && ratio.is_none() && n > 1 {
        r = (final_t / y1).powf(1.0 / (n - 1) as f64).clamp(1.05, r.max(1.05));
    }
    (n, r, y1)
}

/// The layer plan for surface cells of size `hs`: the first layer puts its cell centre at
/// the target y+ with the wall-shear estimate `f` (see [`super::friction`]), and [`bridge`]
/// grows it to the cell in at most `max_count` ([`max_layers`]).
pub fn layer_plan(
    spec: &super::spec::LayerSpec,
    f: &super::friction::Friction,
    nu: f64,
    hs: f64,
    max_count: u32,
) -> LayerPlan {
    let y1 = spec.first_layer_thickness.unwrap_or_else(|| f.first_layer(spec.target_yplus, nu));
    let (count, expansion_ratio, y1) =
        bridge(y1, hs, spec.count, spec.expansion_ratio, 1.2, spec.first_layer_thickness.is_some(), max_count);
    LayerPlan {
        count,
        expansion_ratio,
        first_layer_thickness: y1,
        estimated_yplus: f.yplus(y1, nu),
        surface_cell_size: hs,
        feature_angle: 130,
        tet_check: false,
        friction: f.model,
    }
}

/// Index of the horizontal axis the flow mostly follows, and its sign. z is up.
pub fn flow_axis(velocity: [f64; 3]) -> (usize, f64) {
    let a = if velocity[0].abs() >= velocity[1].abs() { 0 } else { 1 };
    (a, velocity[a].signum())
}

/// The wind tunnel (external) or padded bounding box (internal) before snapping to cells.
fn raw_domain(spec: &CaseSpec, a: &Analysis) -> ([f64; 3], [f64; 3]) {
    let (lo, hi) = (a.bbox_min, a.bbox_max);
    let l = a.characteristic_length;
    match spec.flow.kind {
        FlowKind::Internal => {
            let pad = 0.05 * l;
            ([lo[0] - pad, lo[1] - pad, lo[2] - pad], [hi[0] + pad, hi[1] + pad, hi[2] + pad])
        }
        FlowKind::External => {
            let t = &spec.flow.tunnel;
            let (ax, sign) = flow_axis(spec.flow.velocity);
            let lat = 1 - ax;
            let mut min = [0.0; 3];
            let mut max = [0.0; 3];
            let (up, down) = (t.upstream * l, t.downstream * l);
            if sign >= 0.0 {
                min[ax] = lo[ax] - up;
                max[ax] = hi[ax] + down;
            } else {
                min[ax] = lo[ax] - down;
                max[ax] = hi[ax] + up;
            }
            min[lat] = lo[lat] - t.side * l;
            max[lat] = hi[lat] + t.side * l;
            min[2] = if spec.flow.ground { lo[2] } else { lo[2] - t.top * l };
            max[2] = hi[2] + t.top * l;
            (min, max)
        }
    }
}

fn volume(min: [f64; 3], max: [f64; 3]) -> f64 {
    (0..3).map(|i| (max[i] - min[i]).max(0.0)).product()
}

/// Surface cells per unit of flat area at a level, relative to (area / cell size²): edges
/// and curvature refined to the max level add faces. Measured 1.0 on the cube at level 3
/// and 2.5 at level 2 (edges went to level 3); the motorBike calibrates the middle.
pub(crate) const WALL_FACTOR: f64 = 1.5;

/// Expected snappyHexMesh cell count for background size `h` (see the module docs).
fn estimate_cells(fluid_volume: f64, wall_area: f64, h: f64, level: u32, boxes: &[RefinementBox], layers: u32) -> f64 {
    let mut n = fluid_volume / h.powi(3);
    for b in boxes {
        // Cells inside a box at level lb replace background cells 8^lb to 1.
        n += volume(b.min, b.max) * (8f64.powi(b.level as i32) - 1.0) / h.powi(3);
    }
    // A band of CELLS_BETWEEN_LEVELS cells on each level around the walls.
    for l in 1..=level {
        let hl = h / 2f64.powi(l as i32);
        n += WALL_FACTOR * CELLS_BETWEEN_LEVELS as f64 * wall_area / (hl * hl);
    }
    let hs = h / 2f64.powi(level as i32);
    n + WALL_FACTOR * layers as f64 * wall_area / (hs * hs)
}

/// Background size `h` for which the estimate meets `target` (bisection on a monotone model).
pub(crate) fn fit_base_size(target: f64, f: impl Fn(f64) -> f64, h_max: f64) -> f64 {
    let (mut lo, mut hi) = (h_max * 1e-4, h_max);
    for _ in 0..80 {
        let mid = (lo * hi).sqrt();
        if f(mid) > target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi
}

/// Wake box length behind the body, in characteristic lengths. OpenFOAM's motorBike box
/// runs about four bike lengths downstream; 1.5 L under-resolved the recirculation and
/// under-predicted Cd by 4 %.
pub(crate) const WAKE_LENGTH: f64 = 3.5;

/// The least the wake box clears the body by, in characteristic lengths: upstream, and on
/// every other side (the mesh AI's box is grown to these too).
pub(crate) const BOX_UPSTREAM_CLEARANCE: f64 = 0.1;
pub(crate) const BOX_SIDE_CLEARANCE: f64 = 0.2;

/// The wake box behind a body of length `l`, within the domain `min`..`max`.
pub(crate) fn wake_box(
    spec: &CaseSpec,
    a: &Analysis,
    l: f64,
    min: [f64; 3],
    max: [f64; 3],
    level: u32,
) -> RefinementBox {
    let (ax, sign) = flow_axis(spec.flow.velocity);
    let lat = 1 - ax;
    let (mut bmin, mut bmax) = (a.bbox_min, a.bbox_max);
    if sign >= 0.0 {
        bmin[ax] -= BOX_UPSTREAM_CLEARANCE * l;
        bmax[ax] += WAKE_LENGTH * l;
    } else {
        bmin[ax] -= WAKE_LENGTH * l;
        bmax[ax] += BOX_UPSTREAM_CLEARANCE * l;
    }
    bmin[lat] -= BOX_SIDE_CLEARANCE * l;
    bmax[lat] += BOX_SIDE_CLEARANCE * l;
    bmin[2] -= BOX_SIDE_CLEARANCE * l;
    bmax[2] += 0.6 * l;
    for i in 0..3 {
        bmin[i] = bmin[i].max(min[i]);
        bmax[i] = bmax[i].min(max[i]);
    }
    RefinementBox { min: bmin, max: bmax, level }
}

/// The layers the cell estimate counts: none for laminar flow unless asked for.
pub(crate) fn layer_count(spec: &CaseSpec) -> u32 {
    let laminar = spec.turbulence.model == super::spec::TurbulenceModel::Laminar;
    let m = &spec.mesh;
    if laminar && m.layers.count.is_none() {
        0
    } else {
        m.layers.count.unwrap_or(max_layers(spec))
    }
}

/// The layer plan for surface cells of size `hs` and `count` layers (0 for none): none,
/// one conservative layer on open or multi-part surfaces, or [`layer_plan`]; with its reason.
pub(crate) fn layers_for(
    spec: &CaseSpec,
    a: &Analysis,
    count: u32,
    hs: f64,
    l: f64,
    why: &mut BTreeMap<String, String>,
) -> LayerPlan {
    let m = &spec.mesh;
    let nu = spec.fluid.nu();
    let f = super::friction::estimate(spec, a);
    let user_layers = m.layers.count.is_some() || m.layers.first_layer_thickness.is_some();
    let layers = if count == 0 {
        LayerPlan {
            count: 0,
            expansion_ratio: 1.0,
            first_layer_thickness: 0.0,
            estimated_yplus: 0.0,
            surface_cell_size: hs,
            feature_angle: 130,
            tet_check: false,
            friction: f.model,
        }
    } else if !a.watertight && !user_layers {
        // Open sheets and multi-part assemblies: several layers wrapped round sheet edges
        // made skewed cells that blew SIMPLE up on the motorBike, so one layer of 30 % of
        // the cell, stopping at edges sharper than 60° (OpenFOAM's own motorBike settings);
        // thicker, up to LONE_LAYER_FRACTION, where 30 % leaves the first cell under the y+ asked.
        let y1 =
            f.first_layer(super::turbulence::layer_target_yplus(spec), nu).clamp(0.3 * hs, LONE_LAYER_FRACTION * hs);
        why.insert("layers_open_surface".into(), "the surface is open or multi-part: one conservative layer".into());
        LayerPlan {
            count: 1,
            expansion_ratio: 1.0,
            first_layer_thickness: y1,
            estimated_yplus: f.yplus(y1, nu),
            surface_cell_size: hs,
            feature_angle: 60,
            tet_check: true,
            friction: f.model,
        }
    } else {
        // The first layer aims at y+ ≈ 1 when the wall is resolved (turbulence::layer_target_yplus).
        let target =
            super::spec::LayerSpec { target_yplus: super::turbulence::layer_target_yplus(spec), ..m.layers.clone() };
        // Open surfaces stop their layers at edges sharper than 60°, as OpenFOAM's motorBike.
        let feature_angle = if !a.watertight && a.volume.is_none() { 60 } else { 130 };
        LayerPlan { tet_check: !a.watertight, feature_angle, ..layer_plan(&target, &f, nu, hs, max_layers(spec)) }
    };
    why.insert("layers".into(), layers_why(&layers, &f, nu, l, spec.speed()));
    layers
}

/// The one-line reason for a layer plan: the stack, the y+ it gives by which wall-shear
/// estimate, and how it meets the surface cell.
pub fn layers_why(layers: &LayerPlan, f: &super::friction::Friction, nu: f64, l: f64, u: f64) -> String {
    if layers.count == 0 {
        return "no prism layers".into();
    }
    let re = u * l / nu;
    let delta = 0.37 * l * re.max(1e3).powf(-0.2);
    let total =
        layers.first_layer_thickness * (0..layers.count).map(|i| layers.expansion_ratio.powi(i as i32)).sum::<f64>();
    let last = layers.first_layer_thickness * layers.expansion_ratio.powi(layers.count as i32 - 1);
    format!(
        "{} layers growing ×{:.2} from {:.3e} m: y+ ≈ {:.0} at the first cell centre by {} (u_τ ≈ {:.3} m/s); {:.3e} m in all, {:.0} % of the {delta:.2e} m boundary layer; the last layer is {:.0} % of the {:.3e} m surface cell",
        layers.count,
        layers.expansion_ratio,
        layers.first_layer_thickness,
        layers.estimated_yplus,
        f.model.describe(),
        f.u_tau,
        total,
        100.0 * total / delta,
        100.0 * last / layers.surface_cell_size,
        layers.surface_cell_size
    )
}

/// Proposes mesh parameters from the geometry and the spec; explicit spec values win.
pub fn suggest(spec: &CaseSpec, a: &Analysis, wall_area: f64) -> MeshPlan {
    if spec.flow.two_dimensional {
        return super::twod::suggest(spec, a, wall_area);
    }
    let m = &spec.mesh;
    let mut why = BTreeMap::new();
    let (dmin, dmax) = raw_domain(spec, a);
    let external = spec.flow.kind == FlowKind::External;
    let body_volume = a.volume.unwrap_or(0.0);
    let fluid_volume =
        if external { volume(dmin, dmax) - body_volume } else { a.volume.unwrap_or(0.5 * volume(dmin, dmax)) };
    let target = m.target_cells as f64;
    let l = a.characteristic_length;

    // Layers: their count feeds the cell estimate; the layer plan is final once the
    // surface cell size is known (see `layer_plan`).
    let count = layer_count(spec);

    // Surface level: the finest that keeps wall bands and layers under ~55 % of the budget.
    let box_level = |lv: u32| lv.saturating_sub(1).max(1);
    let plan_boxes = |lv: u32| -> Vec<RefinementBox> {
        let mut b = m.refinement_boxes.clone();
        if external && m.wake_box && b.is_empty() && lv > 0 {
            b.push(wake_box(spec, a, a.characteristic_length, dmin, dmax, box_level(lv)));
        }
        b
    };
    let h_max = (0..3).map(|i| dmax[i] - dmin[i]).fold(f64::MAX, f64::min) / 4.0;
    let solve = |lv: u32| -> f64 {
        let boxes = plan_boxes(lv);
        m.base_cell_size.unwrap_or_else(|| {
            fit_base_size(target, |h| estimate_cells(fluid_volume, wall_area, h, lv, &boxes, count), h_max)
        })
    };
    let level = match m.surface_level {
        Some(lv) => lv[0],
        None => {
            // External: spend the budget near the body and in the wake (nested levels), with
            // a background no coarser than half the body, as OpenFOAM's motorBike does.
            // Internal: the domain is all near-wall, so keep walls under 55 % of the budget.
            let mut best = 1;
            for lv in 1..=8u32 {
                let h = solve(lv);
                let wall = estimate_cells(0.0, wall_area, h, lv, &[], count);
                let total = estimate_cells(fluid_volume, wall_area, h, lv, &plan_boxes(lv), count);
                // A fit pinned at h_max means even the coarsest background overshoots.
                let fits = total <= 1.1 * target && h < 0.999 * h_max;
                let balanced = if external { h <= 0.5 * l } else { wall <= 0.55 * total };
                if fits && balanced {
                    best = lv;
                }
            }
            why.insert(
                "surface_level".into(),
                if external {
                    format!("level {best} is the finest the {} cell budget allows with a background of at most half the body length", m.target_cells)
                } else {
                    format!("level {best} is the finest that keeps wall refinement under 55 % of the {} cell budget", m.target_cells)
                },
            );
            best
        }
    };
    let h = solve(level);
    let divisions = [0, 1, 2].map(|i| ((dmax[i] - dmin[i]) / h).ceil().max(1.0) as u32);
    // Grow the domain to whole cells so that the background cells are exact cubes; external
    // floors on the ground stay put.
    let mut domain_min = dmin;
    let mut domain_max = dmax;
    for i in 0..3 {
        let grow = divisions[i] as f64 * h - (dmax[i] - dmin[i]);
        if i == 2 && external && spec.flow.ground {
            domain_max[i] += grow;
        } else {
            domain_min[i] -= grow / 2.0;
            domain_max[i] += grow / 2.0;
        }
    }
    why.insert(
        "base_cell_size".into(),
        if m.base_cell_size.is_some() {
            "given in the case file".into()
        } else {
            format!(
                "{h:.4} m fits the {} cell budget over a {:.3} m³ domain",
                m.target_cells,
                volume(domain_min, domain_max)
            )
        },
    );
    let surf_level = m.surface_level.unwrap_or([level, level + 1]);
    let group_levels =
        a.groups.iter().map(|g| (g.name.clone(), m.group_levels.get(&g.name).copied().unwrap_or(surf_level))).collect();
    let feature_level = m.feature_level.unwrap_or(surf_level[0]);
    why.insert("feature_level".into(), format!("edges sharper than 30° refined to the surface level {feature_level}"));
    let boxes = plan_boxes(level);
    if external && m.wake_box && m.refinement_boxes.is_empty() {
        why.insert(
            "wake_box".into(),
            format!(
                "level {} from 0.1 L ahead to {WAKE_LENGTH} L behind the body, to resolve the wake",
                box_level(level)
            ),
        );
    }
    let hs = h / 2f64.powi(surf_level[0] as i32);
    let layers = layers_for(spec, a, count, hs, l, &mut why);
    let count = layers.count;
    let estimated_cells = estimate_cells(fluid_volume, wall_area, h, surf_level[0], &boxes, count) as u64;
    MeshPlan {
        domain_min,
        domain_max,
        base_cell_size: h,
        divisions,
        group_levels,
        feature_level,
        boxes,
        layers,
        estimated_cells,
        why,
    }
}

#[cfg(test)]
mod tests;
