//! The case specification: one serde struct, read from TOML (CLI) or JSON (API).
//!
//! Everything except `flow.velocity` has a default, so the minimal case file in the README
//! is a complete specification.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A complete simulation request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseSpec {
    /// Case name, shown in reports (free text, never written into a dictionary).
    #[serde(default)]
    pub name: Option<String>,
    /// Geometry file, relative to the case file (CLI).
    #[serde(default)]
    pub geometry: Option<PathBuf>,
    /// Uploaded geometry (API).
    #[serde(default)]
    pub geometry_id: Option<String>,
    /// Unit scale applied to the geometry, e.g. 0.001 for a file in millimetres.
    #[serde(default = "one")]
    pub scale: f64,
    /// Flow type, velocity and domain.
    pub flow: Flow,
    /// Fluid properties.
    #[serde(default)]
    pub fluid: Fluid,
    /// Turbulence model and inlet turbulence.
    #[serde(default)]
    pub turbulence: Turbulence,
    /// Boundary condition per surface group; groups not named here are no-slip walls.
    #[serde(default)]
    pub boundaries: BTreeMap<String, Boundary>,
    /// Mesh parameters; anything left out is chosen by the rules (or the mesh AI).
    #[serde(default)]
    pub mesh: MeshSpec,
    /// Solver controls.
    #[serde(default)]
    pub solver: SolverSpec,
    /// Force-coefficient reference values; defaults come from the geometry.
    #[serde(default)]
    pub reference: ReferenceSpec,
    /// Stop after meshing (blockMesh, snappyHexMesh, checkMesh): a mesh-only run, for
    /// checking the mesh quality before paying for a solve.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mesh_only: bool,
}

fn one() -> f64 {
    1.0
}

/// External aerodynamics or internal flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlowKind {
    /// A body in a virtual wind tunnel.
    External,
    /// The geometry is the fluid domain.
    Internal,
}

/// Flow definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flow {
    /// `external` or `internal`.
    #[serde(rename = "type")]
    pub kind: FlowKind,
    /// Free-stream (external) or inlet (internal) velocity, m/s. z is up.
    pub velocity: [f64; 3],
    /// Wind-tunnel size (external only).
    #[serde(default)]
    pub tunnel: Tunnel,
    /// Moving ground under the body (vehicles): the tunnel floor touches the lowest point of
    /// the geometry and moves with the free stream.
    #[serde(default)]
    pub ground: bool,
    /// 2D mode: the geometry is a profile extruded along z; the mesh is one cell thick
    /// along z with `empty` front and back patches, and the flow lies in the x-y plane.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub two_dimensional: bool,
}

/// Wind-tunnel distances, in multiples of the body's characteristic length (largest extent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Tunnel {
    /// Inlet distance ahead of the body.
    pub upstream: f64,
    /// Outlet distance behind the body.
    pub downstream: f64,
    /// Clearance to each side wall.
    pub side: f64,
    /// Clearance to the ceiling (and to the floor when there is no ground).
    pub top: f64,
}

impl Default for Tunnel {
    fn default() -> Self {
        Tunnel { upstream: 3.0, downstream: 6.0, side: 2.0, top: 2.0 }
    }
}

/// Fluid preset or custom properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Fluid {
    /// `air` (ρ 1.225 kg/m³, ν 1.5e-5 m²/s) or `water` (ρ 998.2, ν 1.004e-6).
    pub preset: FluidPreset,
    /// Density override, kg/m³.
    pub rho: Option<f64>,
    /// Kinematic viscosity override, m²/s.
    pub nu: Option<f64>,
}

impl Default for Fluid {
    fn default() -> Self {
        Fluid { preset: FluidPreset::Air, rho: None, nu: None }
    }
}

/// Fluid presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FluidPreset {
    /// Air at 15 °C.
    Air,
    /// Water at 20 °C.
    Water,
}

impl Fluid {
    /// Density, kg/m³.
    pub fn rho(&self) -> f64 {
        self.rho.unwrap_or(match self.preset {
            FluidPreset::Air => 1.225,
            FluidPreset::Water => 998.2,
        })
    }
    /// Kinematic viscosity, m²/s.
    pub fn nu(&self) -> f64 {
        self.nu.unwrap_or(match self.preset {
            FluidPreset::Air => 1.5e-5,
            FluidPreset::Water => 1.004e-6,
        })
    }
}

/// Turbulence settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Turbulence {
    /// `kOmegaSST`, `realizableKE`, `kEpsilon`, `SpalartAllmaras` or `laminar`.
    pub model: TurbulenceModel,
    /// Inlet turbulence intensity as a fraction (0.01 = 1 %).
    pub intensity: f64,
    /// Inlet turbulence length scale, m; default 10 % of the characteristic length
    /// (external) or 7 % of the smallest inlet extent (internal).
    pub length_scale: Option<f64>,
    /// Inlet eddy-viscosity ratio νt/ν; when set, it replaces the length scale in the
    /// inlet values (k from the intensity, the dissipation from νt).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub viscosity_ratio: Option<f64>,
    /// Near-wall treatment: `auto` (from the first layer's expected y+), `wall_functions`
    /// or `low_re` (resolved to y+ ≈ 1, for the models that support it).
    #[serde(skip_serializing_if = "WallTreatment::is_auto")]
    pub wall_treatment: WallTreatment,
}

impl Default for Turbulence {
    fn default() -> Self {
        Turbulence {
            model: TurbulenceModel::KOmegaSst,
            intensity: 0.01,
            length_scale: None,
            viscosity_ratio: None,
            wall_treatment: WallTreatment::Auto,
        }
    }
}

/// Turbulence models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TurbulenceModel {
    /// Menter's k-ω SST.
    #[serde(rename = "kOmegaSST", alias = "sst", alias = "k-omega-sst")]
    KOmegaSst,
    /// Shih's realizable k-ε.
    #[serde(rename = "realizableKE")]
    RealizableKe,
    /// Standard k-ε (Launder and Spalding).
    #[serde(rename = "kEpsilon")]
    KEpsilon,
    /// One-equation Spalart-Allmaras.
    #[serde(rename = "SpalartAllmaras")]
    SpalartAllmaras,
    /// No turbulence model.
    #[serde(rename = "laminar")]
    Laminar,
}

impl TurbulenceModel {
    /// Every model, in the order the wizard lists them.
    pub const ALL: [TurbulenceModel; 5] = [
        TurbulenceModel::KOmegaSst,
        TurbulenceModel::RealizableKe,
        TurbulenceModel::KEpsilon,
        TurbulenceModel::SpalartAllmaras,
        TurbulenceModel::Laminar,
    ];

    /// OpenFOAM's name of the model (`RASModel`, or the case key).
    pub fn of_name(self) -> &'static str {
        match self {
            TurbulenceModel::KOmegaSst => "kOmegaSST",
            TurbulenceModel::RealizableKe => "realizableKE",
            TurbulenceModel::KEpsilon => "kEpsilon",
            TurbulenceModel::SpalartAllmaras => "SpalartAllmaras",
            TurbulenceModel::Laminar => "laminar",
        }
    }

    /// The model's name for people (pages, reports).
    pub fn label(self) -> &'static str {
        match self {
            TurbulenceModel::KOmegaSst => "k-ω SST",
            TurbulenceModel::RealizableKe => "realizable k-ε",
            TurbulenceModel::KEpsilon => "k-ε",
            TurbulenceModel::SpalartAllmaras => "Spalart-Allmaras",
            TurbulenceModel::Laminar => "laminar",
        }
    }

    /// The transported turbulence fields the model solves for (none for laminar flow).
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            TurbulenceModel::KOmegaSst => &["k", "omega"],
            TurbulenceModel::RealizableKe | TurbulenceModel::KEpsilon => &["k", "epsilon"],
            TurbulenceModel::SpalartAllmaras => &["nuTilda"],
            TurbulenceModel::Laminar => &[],
        }
    }

    /// True for laminar flow (no turbulence model).
    pub fn is_laminar(self) -> bool {
        self == TurbulenceModel::Laminar
    }
}

/// Near-wall treatment of a turbulence model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WallTreatment {
    /// Chosen from the first layer's expected y+ (wall functions above about 11).
    #[default]
    Auto,
    /// Log-law wall functions (y+ 30-300).
    WallFunctions,
    /// The viscous sublayer resolved (y+ about 1).
    LowRe,
}

impl WallTreatment {
    fn is_auto(&self) -> bool {
        *self == WallTreatment::Auto
    }
}

/// Steady (SIMPLE) or transient (PIMPLE) flow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SolverKind {
    /// simpleFoam (Foundation: foamRun with steadyState).
    #[default]
    Steady,
    /// pimpleFoam (Foundation: foamRun with a time derivative).
    Transient,
}

/// Boundary condition on a surface group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Boundary {
    /// Fixed velocity; defaults to `flow.velocity`.
    VelocityInlet {
        /// Velocity, m/s.
        #[serde(default)]
        velocity: Option<[f64; 3]>,
    },
    /// Fixed static (kinematic) pressure.
    PressureOutlet {
        /// Gauge pressure, Pa.
        #[serde(default)]
        pressure: f64,
    },
    /// No-slip wall.
    Wall,
    /// Free-slip wall.
    Slip,
    /// Symmetry plane.
    Symmetry,
}

/// Mesh parameters. Every field is optional; the rules fill in what is missing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MeshSpec {
    /// Cell budget that the automatic parameters aim for.
    pub target_cells: u64,
    /// Background (level 0) cell size, m.
    pub base_cell_size: Option<f64>,
    /// Surface refinement `[min, max]` for every group not listed in `group_levels`.
    pub surface_level: Option<[u32; 2]>,
    /// Surface refinement `[min, max]` per group.
    pub group_levels: BTreeMap<String, [u32; 2]>,
    /// Refinement level of feature edges.
    pub feature_level: Option<u32>,
    /// Extra refinement boxes; when empty, external flows get an automatic wake box.
    pub refinement_boxes: Vec<RefinementBox>,
    /// Set to false to turn the automatic wake box off.
    pub wake_box: bool,
    /// Prism layers on walls.
    pub layers: LayerSpec,
}

impl Default for MeshSpec {
    fn default() -> Self {
        MeshSpec {
            target_cells: 100_000,
            base_cell_size: None,
            surface_level: None,
            group_levels: BTreeMap::new(),
            feature_level: None,
            refinement_boxes: Vec::new(),
            wake_box: true,
            layers: LayerSpec::default(),
        }
    }
}

/// An axis-aligned refinement box.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefinementBox {
    /// Lower corner, m.
    pub min: [f64; 3],
    /// Upper corner, m.
    pub max: [f64; 3],
    /// Refinement level inside.
    pub level: u32,
}

/// Prism-layer settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LayerSpec {
    /// Number of layers (0 turns layers off).
    pub count: Option<u32>,
    /// Growth ratio between layers.
    pub expansion_ratio: Option<f64>,
    /// First-layer thickness, m.
    pub first_layer_thickness: Option<f64>,
    /// y+ that the first cell centre aims for (wall functions want 30..300; the default
    /// 100 is the band's log-centre, since a body's wall y+ spreads about a factor three
    /// either way round its mean).
    pub target_yplus: f64,
}

impl Default for LayerSpec {
    fn default() -> Self {
        LayerSpec { count: None, expansion_ratio: None, first_layer_thickness: None, target_yplus: 100.0 }
    }
}

/// Solver controls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SolverSpec {
    /// `steady` (SIMPLE iterations) or `transient` (PIMPLE in time).
    #[serde(rename = "type", skip_serializing_if = "SolverKind::is_steady")]
    pub kind: SolverKind,
    /// Maximum SIMPLE iterations (steady runs).
    pub iterations: u32,
    /// Transient: the simulated end time, s (OpenFOAM's `endTime` is accepted too).
    #[serde(alias = "endTime", skip_serializing_if = "Option::is_none")]
    pub end_time: Option<f64>,
    /// Transient: the first time step, s; default from the mesh and `max_co`.
    #[serde(alias = "deltaT", skip_serializing_if = "Option::is_none")]
    pub delta_t: Option<f64>,
    /// Transient: the Courant number the adjustable time step keeps to (default 1; up to 5
    /// with `outer_correctors` above 1).
    #[serde(alias = "maxCo")]
    pub max_co: f64,
    /// Transient: PIMPLE outer correctors per time step.
    #[serde(alias = "nOuterCorrectors")]
    pub outer_correctors: u32,
    /// Transient: simulated time between written results, s; default a tenth of `end_time`.
    #[serde(alias = "writeInterval", skip_serializing_if = "Option::is_none")]
    pub write_interval: Option<f64>,
    /// Transient: time-averaged fields (fieldAverage) start at this simulated time, s;
    /// default half of `end_time`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub average_from: Option<f64>,
    /// MPI ranks (1 = serial).
    pub cores: u32,
    /// Initial-residual targets that end the run early (OpenFOAM residualControl).
    pub residual_targets: BTreeMap<String, f64>,
    /// Under-relaxation factors (`p` for the pressure field, others for equations).
    pub relaxation: BTreeMap<String, f64>,
    /// Wall-clock limit for each step, seconds.
    pub step_timeout_s: u64,
    /// A steady run that diverges starts once more from the potential-flow solution with
    /// first-order upwind for U and lower relaxation (`runner::pipeline`); false fails it
    /// at once (for a study that must stay second order).
    #[serde(skip_serializing_if = "is_true")]
    pub restart_on_divergence: bool,
    /// The OpenFOAM the case is written for (`esi:2312`, `foundation:11`). Unset: the one
    /// the runner finds, or ESI v2312 when it finds none (`flowcfd case`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openfoam: Option<super::flavour::Flavour>,
}

impl Default for SolverSpec {
    fn default() -> Self {
        SolverSpec {
            kind: SolverKind::Steady,
            iterations: 500,
            end_time: None,
            delta_t: None,
            max_co: 1.0,
            outer_correctors: 1,
            write_interval: None,
            average_from: None,
            cores: 1,
            residual_targets: [
                ("p", 1e-4),
                ("U", 1e-5),
                ("k", 1e-5),
                ("omega", 1e-5),
                ("epsilon", 1e-5),
                ("nuTilda", 1e-5),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
            relaxation: [("U", 0.9), ("k", 0.7), ("omega", 0.7), ("epsilon", 0.7), ("nuTilda", 0.7)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            step_timeout_s: 6 * 3600,
            restart_on_divergence: true,
            openfoam: None,
        }
    }
}

fn is_true(b: &bool) -> bool {
    *b
}

impl SolverKind {
    fn is_steady(&self) -> bool {
        *self == SolverKind::Steady
    }
}

/// Force-coefficient reference values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReferenceSpec {
    /// Reference area, m²; default the frontal area.
    #[serde(rename = "Aref")]
    pub aref: Option<f64>,
    /// Reference length, m; default the body length along the flow.
    #[serde(rename = "lRef")]
    pub lref: Option<f64>,
    /// Centre of rotation for moments; default the bounding-box centre.
    #[serde(rename = "CofR")]
    pub cofr: Option<[f64; 3]>,
    /// Groups whose forces count; default every wall group of the body.
    pub patches: Option<Vec<String>>,
}

/// Fields that residual targets and relaxation factors may name.
pub const KNOWN_FIELDS: [&str; 6] = ["p", "U", "k", "omega", "epsilon", "nuTilda"];

/// Why a specification cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// TOML syntax or schema error.
    #[error("case file {path}: {msg}")]
    Parse {
        /// The file.
        path: String,
        /// The parser's message (names the line and key).
        msg: String,
    },
    /// A value is out of range.
    #[error("{0}")]
    Invalid(String),
}

impl CaseSpec {
    /// Parses a TOML case file's text.
    pub fn from_toml(text: &str, path: &str) -> Result<Self, SpecError> {
        let spec: CaseSpec = toml::from_str(text)
            .map_err(|e| SpecError::Parse { path: path.into(), msg: e.to_string().trim().replace('\n', " ") })?;
        spec.validate()?;
        Ok(spec)
    }

    /// Parses a JSON specification (API).
    pub fn from_json(text: &str) -> Result<Self, SpecError> {
        let spec: CaseSpec = serde_json::from_str(text)
            .map_err(|e| SpecError::Parse { path: "request body".into(), msg: e.to_string() })?;
        spec.validate()?;
        Ok(spec)
    }

    /// Density, viscosity and speed in one place.
    pub fn speed(&self) -> f64 {
        self.flow.velocity.iter().map(|x| x * x).sum::<f64>().sqrt()
    }
}

mod check;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_case_file_parses_with_defaults() {
        let text = r#"
geometry = "cube.stl"
[flow]
type = "external"
velocity = [10.0, 0.0, 0.0]
[mesh]
target_cells = 40000
[solver]
iterations = 300
cores = 1
"#;
        let s = CaseSpec::from_toml(text, "cube.toml").unwrap();
        assert_eq!(s.flow.kind, FlowKind::External);
        assert_eq!(s.mesh.target_cells, 40000);
        assert_eq!(s.solver.iterations, 300);
        assert_eq!(s.turbulence.model, TurbulenceModel::KOmegaSst);
        assert_eq!(s.fluid.nu(), 1.5e-5);
        assert_eq!(s.scale, 1.0);
    }

    #[test]
    fn api_json_minimal_parses() {
        let s = CaseSpec::from_json(
            r#"{"name":"cube","geometry_id":"g1","flow":{"type":"external","velocity":[10,0,0]},"mesh":{"target_cells":40000},"solver":{"iterations":300}}"#,
        )
        .unwrap();
        assert_eq!(s.geometry_id.as_deref(), Some("g1"));
        assert_eq!(s.solver.cores, 1);
    }

    #[test]
    fn boundaries_and_errors_are_clear() {
        let text = r#"
[flow]
type = "internal"
velocity = [1, 0, 0]
[boundaries]
in = { type = "velocity_inlet" }
out = { type = "pressure_outlet", pressure = 0 }
"#;
        let s = CaseSpec::from_toml(text, "c.toml").unwrap();
        assert_eq!(s.boundaries["in"], Boundary::VelocityInlet { velocity: None });
        let err = CaseSpec::from_toml("[flow]\ntype = \"sideways\"\nvelocity=[1,0,0]\n", "c.toml").unwrap_err();
        assert!(err.to_string().contains("sideways"), "{err}");
        let err = CaseSpec::from_toml("[flow]\ntype = \"external\"\nvelocity=[0,0,0]\n", "c.toml").unwrap_err();
        assert!(err.to_string().contains("non-zero"), "{err}");
        let err =
            CaseSpec::from_toml("[flow]\ntype = \"external\"\nvelocity=[1,0,0]\nvelocty=2\n", "c.toml").unwrap_err();
        assert!(err.to_string().contains("velocty"), "{err}");
    }
}
