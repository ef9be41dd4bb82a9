//! RAS turbulence models: inlet values, the near-wall treatment, the model's `0.orig/` fields
//! and its dictionary entries (turbulenceProperties / momentumTransport, fvSchemes,
//! fvSolution, the residual function object).
//!
//! Keywords and values follow OpenFOAM's own tutorials: simpleFoam/motorBike (k-ω SST),
//! pitzDaily (k-ε, realizable k-ε) and airFoil2D (Spalart-Allmaras).

use super::dict::{dimensions, uniform, w, Dict, Value};
use super::flavour::Flavour;
use super::patches::{BcKind, Patch};
use super::rules::LayerPlan;
use super::spec::{CaseSpec, TurbulenceModel, WallTreatment};
use serde::Serialize;

/// Cμ of the k-ε models, and β* of k-ω SST (the same 0.09).
pub const C_MU: f64 = 0.09;

/// cv1 of Spalart-Allmaras: νt = ν̃ fv1(χ), fv1 = χ³ / (χ³ + cv1³), χ = ν̃/ν.
pub const SA_CV1: f64 = 7.1;

/// First-layer y+ below which `wall_treatment = "auto"` resolves the viscous sublayer:
/// the intersection of the linear and log laws (OpenFOAM's `yPlusLam`, 11.53), where
/// wall functions stop being valid.
pub const YPLUS_LAM: f64 = 11.0;

/// The first-layer y+ the layer plan aims at when the wall treatment is low-Re.
pub const LOW_RE_YPLUS: f64 = 1.0;

/// Turbulent kinetic energy on walls resolved to the viscous sublayer (k → 0 at the wall;
/// OpenFOAM's low-Re tutorials use a tiny fixed value rather than 0, which keeps ω and ε
/// finite in the model's expressions).
pub const K_LOW_RE_WALL: f64 = 1e-10;

/// Inlet turbulence of every model, from one eddy viscosity (`summary.json`'s
/// `inlet_turbulence`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct InletTurbulence {
    /// Turbulent kinetic energy, m²/s².
    pub k: f64,
    /// Specific dissipation rate, 1/s.
    pub omega: f64,
    /// Eddy viscosity νt = k/ω = Cμ k²/ε, m²/s.
    pub nut: f64,
    /// Dissipation rate of k, m²/s³.
    pub epsilon: f64,
    /// Spalart-Allmaras working variable ν̃, m²/s.
    #[serde(rename = "nuTilda")]
    pub nu_tilda: f64,
}

impl InletTurbulence {
    /// From intensity `i` at speed `u` and length scale `l` (fluid viscosity `nu`):
    /// k = 1.5 (U I)², ε = Cμ^¾ k^1.5 / l, ω = √k / (Cμ^¼ l), so νt = k/ω = Cμ k²/ε.
    pub fn from_length_scale(u: f64, i: f64, l: f64, nu: f64) -> Self {
        let k = 1.5 * (u * i).powi(2);
        let omega = k.sqrt() / (C_MU.powf(0.25) * l);
        let epsilon = C_MU.powf(0.75) * k.powf(1.5) / l;
        Self::complete(k, omega, epsilon, nu)
    }

    /// From intensity `i` at speed `u` and the eddy-viscosity ratio νt/ν = `ratio`:
    /// k = 1.5 (U I)², νt = ratio ν, ω = k/νt, ε = Cμ k²/νt.
    pub fn from_viscosity_ratio(u: f64, i: f64, ratio: f64, nu: f64) -> Self {
        let k = 1.5 * (u * i).powi(2);
        let nut = ratio * nu;
        Self::complete(k, k / nut, C_MU * k * k / nut, nu)
    }

    /// The spec's inlet values: the viscosity ratio when set, else the length scale `l`.
    pub fn for_spec(spec: &CaseSpec, l: f64) -> Self {
        let (u, i, nu) = (spec.speed(), spec.turbulence.intensity, spec.fluid.nu());
        match spec.turbulence.viscosity_ratio {
            Some(r) => Self::from_viscosity_ratio(u, i, r, nu),
            None => Self::from_length_scale(u, i, l, nu),
        }
    }

    fn complete(k: f64, omega: f64, epsilon: f64, nu: f64) -> Self {
        let nut = k / omega;
        InletTurbulence { k, omega, nut, epsilon, nu_tilda: nu_tilda_for(nut, nu) }
    }
}

/// Spalart-Allmaras inlet ν̃ for the eddy viscosity `nut` (fluid viscosity `nu`).
///
/// ν̃ is the value whose νt = ν̃ fv1(ν̃/ν) equals the `nut` the two-equation models get from
/// the same intensity and length scale (or viscosity ratio), so switching models keeps the
/// inlet's eddy viscosity. The common "ν̃ = 3 to 5 ν" rule (NASA's turbulence-modelling
/// resource) describes a quiet free stream, fully turbulent only near walls; it is used as
/// a floor of 3 ν, which a very low intensity or length scale reaches.
pub fn nu_tilda_for(nut: f64, nu: f64) -> f64 {
    // Solve χ⁴ / (χ³ + cv1³) = r for χ ≥ 0 by Newton's method from χ = r + cv1 (the
    // function is increasing and convex there, so the iteration falls monotonically).
    let r = nut / nu;
    let c3 = SA_CV1.powi(3);
    let mut x = r + SA_CV1;
    for _ in 0..60 {
        let f = x.powi(4) / (x.powi(3) + c3) - r;
        let df = (x.powi(6) + 4.0 * c3 * x.powi(3)) / (x.powi(3) + c3).powi(2);
        let step = f / df;
        x -= step;
        if step.abs() <= 1e-12 * x.max(1.0) {
            break;
        }
    }
    (x * nu).max(3.0 * nu)
}

/// The near-wall treatment actually written, after `auto` is resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NearWall {
    /// Log-law wall functions on the first cell.
    WallFunctions,
    /// The viscous sublayer resolved (first-layer y+ ≈ 1).
    LowRe,
    /// No turbulence model.
    Laminar,
}

impl NearWall {
    /// The first-cell y+ band the treatment wants: wall functions put the first cell in the
    /// log layer (30–300, as the mesh AI's model card says), a resolved wall (low-Re) in the
    /// viscous sublayer (≤ 5, ideally ≈ 1). None for laminar runs (no band applies).
    pub fn band(self) -> Option<(f64, f64)> {
        match self {
            NearWall::WallFunctions => Some((30.0, 300.0)),
            NearWall::LowRe => Some((0.0, 5.0)),
            NearWall::Laminar => None,
        }
    }
}

/// Resolves `turbulence.wall_treatment` for the mesh's layer plan.
///
/// `auto` picks low-Re when the plan aimed at the sublayer ([`aims_at_sublayer`]) and its
/// first layer is expected below y+ [`YPLUS_LAM`], and wall functions otherwise (also with
/// no layers: a bare surface cell is far coarser than the viscous sublayer). The k-ε models always get wall functions under `auto`: they are
/// high-Re models, and OpenFOAM's epsilon and nutk wall functions switch to the viscous-
/// sublayer form below yPlusLam by themselves, so a fine first layer still degrades
/// gracefully. (An explicit `low_re` with k-ε is refused by [`validate`].)
pub fn near_wall(spec: &CaseSpec, layers: &LayerPlan) -> NearWall {
    let model = spec.turbulence.model;
    match spec.turbulence.wall_treatment {
        _ if model.is_laminar() => NearWall::Laminar,
        WallTreatment::WallFunctions => NearWall::WallFunctions,
        WallTreatment::LowRe => NearWall::LowRe,
        WallTreatment::Auto if is_k_epsilon(model) => NearWall::WallFunctions,
        WallTreatment::Auto if layers.count > 0 && layers.estimated_yplus < YPLUS_LAM && aims_at_sublayer(spec) => {
            NearWall::LowRe
        }
        WallTreatment::Auto => NearWall::WallFunctions,
    }
}

/// Whether the layer plan aimed at the viscous sublayer (a target y+ below [`YPLUS_LAM`]). A
/// plan that aimed at the log layer can still end up with a first layer below y+ 11 when the
/// surface cells are too fine for it (one layer, capped at the whole cell). A lone layer
/// is no resolved wall, so `auto` keeps wall functions there: with k-ω SST, OpenFOAM's
/// `omegaWallFunction` blends the viscous and log-layer values and `nutkWallFunction` goes
/// laminar below yPlusLam, while k keeps a zero-gradient wall. On the generator's 203 solved
/// meshes, none of the 24 that `auto` had resolved that way came near the low-Re band.
pub fn aims_at_sublayer(spec: &CaseSpec) -> bool {
    layer_target_yplus(spec) < YPLUS_LAM
}

/// A warning when the mesh's first layer does not suit the near-wall treatment written: a
/// resolved wall (low-Re) needs y+ of a few units at most, wall functions want y+ above
/// [`YPLUS_LAM`]. The layer plan thickens the first layer when its layer count cannot grow
/// from y+ 1 to the surface cell, so an explicit `low_re` can end up on a coarse first layer.
pub fn near_wall_warning(spec: &CaseSpec, layers: &LayerPlan, wall: NearWall) -> Option<String> {
    let y = layers.estimated_yplus;
    let explicit = spec.turbulence.wall_treatment != WallTreatment::Auto;
    match wall {
        NearWall::LowRe if layers.count == 0 || y > 5.0 => Some(format!(
            "turbulence.wall_treatment: the wall is resolved (low-Re conditions) but the first cell is expected at y+ ≈ {y:.0}, not ≈ 1; the first layer can be at most about 100 times thinner than the surface cell it grows from (snappyHexMesh removes flatter layers), so refine the wall (more mesh.target_cells or a higher mesh.surface_level) and give enough layers (mesh.layers.count), or use wall_treatment = \"wall_functions\""
        )),
        NearWall::WallFunctions if explicit && layers.count > 0 && y < YPLUS_LAM => Some(format!(
            "turbulence.wall_treatment: wall functions assume a first cell in the log layer (y+ 30-300), but it is expected at y+ ≈ {y:.1}; raise mesh.layers.target_yplus or use wall_treatment = \"auto\""
        )),
        _ => None,
    }
}

/// The first-layer y+ the layer plan aims at: [`LOW_RE_YPLUS`] (or the user's smaller
/// target) when `low_re` is asked for, `mesh.layers.target_yplus` otherwise.
pub fn layer_target_yplus(spec: &CaseSpec) -> f64 {
    let target = spec.mesh.layers.target_yplus;
    match spec.turbulence.wall_treatment {
        WallTreatment::LowRe if !spec.turbulence.model.is_laminar() => target.min(LOW_RE_YPLUS),
        _ => target,
    }
}

fn is_k_epsilon(m: TurbulenceModel) -> bool {
    matches!(m, TurbulenceModel::KEpsilon | TurbulenceModel::RealizableKe)
}

/// The `[turbulence]` checks of `CaseSpec::validate`: each message names the key and the fix.
pub fn validate(spec: &CaseSpec) -> Result<(), String> {
    let t = &spec.turbulence;
    if let Some(r) = t.viscosity_ratio {
        if !(r.is_finite() && r > 0.0 && r <= 1e5) {
            return Err(format!(
                "turbulence.viscosity_ratio = {r} must be between 0 and 100000 (νt/ν: about 1-10 for a quiet free stream, 10-100 for internal flows)"
            ));
        }
    }
    if is_k_epsilon(t.model) && t.wall_treatment == WallTreatment::LowRe {
        return Err(format!(
            "turbulence.wall_treatment = \"low_re\" does not suit turbulence.model = \"{}\": standard and realizable k-ε are high-Re models that need wall functions; use wall_treatment = \"wall_functions\" (or \"auto\"), or model = \"kOmegaSST\" or \"SpalartAllmaras\" to resolve the wall",
            t.model.of_name()
        ));
    }
    Ok(())
}

/// `constant/turbulenceProperties` (ESI) or `constant/momentumTransport` (Foundation, whose
/// RAS sub-dictionary names the model `model`, not `RASModel`; the Foundation's names of
/// these four models are ESI's).
pub fn turbulence_properties(spec: &CaseSpec, flavour: Flavour) -> Dict {
    let key = if flavour.is_foundation() { "model" } else { "RASModel" };
    match spec.turbulence.model {
        TurbulenceModel::Laminar => Dict::new().set("simulationType", w("laminar")),
        m => Dict::new()
            .set("simulationType", w("RAS"))
            .set("RAS", Dict::new().set(key, w(m.of_name())).set("turbulence", true).set("printCoeffs", true)),
    }
}

/// The fields the solver solves and reports: p, U and the model's own.
pub fn solved_fields(model: TurbulenceModel) -> Vec<&'static str> {
    let mut f = vec!["p", "U"];
    f.extend_from_slice(model.fields());
    f
}

/// fvSchemes `divSchemes` entries for the model's transport equations: bounded first-order
/// upwind, as motorBike has for k and ω (pitzDaily's limitedLinear and airFoil2D's
/// linearUpwind are less forgiving on a snapped mesh's first iterations).
pub fn div_schemes(model: TurbulenceModel) -> Vec<(String, Value)> {
    let scheme = || Value::Seq(vec![w("bounded"), w("Gauss"), w("upwind")]);
    model.fields().iter().map(|f| (format!("div(phi,{f})"), scheme())).collect()
}

/// The model's `0.orig/` fields, after U and p: (file name, class, body).
pub fn initial_fields(
    spec: &CaseSpec,
    patches: &[Patch],
    turb: InletTurbulence,
    wall: NearWall,
) -> Vec<(&'static str, String, Dict)> {
    let model = spec.turbulence.model;
    let low_re = wall == NearWall::LowRe;
    let (k_wall, k_wall_value, nut_wall) = match model {
        TurbulenceModel::SpalartAllmaras => ("", 0.0, "nutUSpaldingWallFunction"),
        _ if low_re => ("fixedValue", K_LOW_RE_WALL, "nutLowReWallFunction"),
        _ => ("kqRWallFunction", turb.k, "nutkWallFunction"),
    };
    // (name, dimensions, inlet value, wall condition, wall value)
    let mut specs: Vec<(&'static str, [i32; 7], f64, &str, f64)> = match model {
        TurbulenceModel::Laminar => return vec![],
        TurbulenceModel::KOmegaSst => vec![
            ("k", [0, 2, -2, 0, 0, 0, 0], turb.k, k_wall, k_wall_value),
            ("omega", [0, 0, -1, 0, 0, 0, 0], turb.omega, "omegaWallFunction", turb.omega),
        ],
        TurbulenceModel::KEpsilon | TurbulenceModel::RealizableKe => vec![
            ("k", [0, 2, -2, 0, 0, 0, 0], turb.k, k_wall, k_wall_value),
            ("epsilon", [0, 2, -3, 0, 0, 0, 0], turb.epsilon, "epsilonWallFunction", turb.epsilon),
        ],
        TurbulenceModel::SpalartAllmaras => {
            vec![("nuTilda", [0, 2, -1, 0, 0, 0, 0], turb.nu_tilda, "fixedValue", 0.0)]
        }
    };
    specs.push(("nut", [0, 2, -1, 0, 0, 0, 0], turb.nut, nut_wall, 0.0));
    specs
        .into_iter()
        .map(|(name, dims, value, wall_bc, wall_value)| {
            let mut b = Dict::new();
            for patch in patches {
                b.insert_word(patch.name.clone(), boundary(&patch.kind, name == "nut", value, wall_bc, wall_value));
            }
            let body = Dict::new()
                .set("dimensions", dimensions(dims))
                .set("internalField", uniform(value))
                .set("boundaryField", b);
            (name, "volScalarField".to_string(), body)
        })
        .collect()
}

fn boundary(kind: &BcKind, nut: bool, value: f64, wall_bc: &str, wall_value: f64) -> Dict {
    match kind {
        BcKind::Wall | BcKind::MovingWall(_) => Dict::new().set("type", w(wall_bc)).set("value", uniform(wall_value)),
        BcKind::Symmetry => Dict::new().set("type", w("symmetry")),
        _ if nut => Dict::new().set("type", w("calculated")).set("value", uniform(value)),
        BcKind::Inlet(_) | BcKind::InletNormal(_) => {
            Dict::new().set("type", w("fixedValue")).set("value", uniform(value))
        }
        BcKind::Outlet(_) => {
            Dict::new().set("type", w("inletOutlet")).set("inletValue", uniform(value)).set("value", uniform(value))
        }
        BcKind::Slip => Dict::new().set("type", w("slip")),
    }
}

#[cfg(test)]
mod tests;
