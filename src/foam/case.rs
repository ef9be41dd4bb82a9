//! Case assembly: from a spec, a healed surface and its analysis to a complete OpenFOAM
//! case directory (system/, constant/, 0.orig/, Allrun, Allclean), for the OpenFOAM
//! flavour the spec names (`solver.openfoam`, default ESI v2312; see [`super::flavour`]).

use super::dict::{write_file, DictError, Word};
use super::flavour::Flavour;
use super::mesh::{self, SURFACE_FILE};
use super::patches::{self, BcError, BcKind, Patch};
use super::physics::{self, InletTurbulence, Reference};
use super::rules::{self, flow_axis, MeshPlan};
use super::spec::{CaseSpec, FlowKind, SolverKind};
use super::{transient, twod};
use crate::geometry::{analyse::Analysis, query::Locator, write::to_obj, Surface};
use std::path::{Path, PathBuf};

/// Why a case cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// Boundary conditions do not fit the geometry.
    #[error(transparent)]
    Bc(#[from] BcError),
    /// A value could not be written.
    #[error(transparent)]
    Dict(#[from] DictError),
    /// No point inside the fluid was found.
    #[error("could not find a point inside the fluid for locationInMesh: {0}")]
    NoLocation(String),
    /// Reference patches do not exist.
    #[error("reference.patches names {0:?}, which is not a wall group of the geometry")]
    BadReferencePatch(String),
    /// Reference values cannot be derived from the geometry.
    #[error("{0}")]
    Reference(String),
    /// The mesh would be far too large.
    #[error("{0}")]
    TooManyCells(String),
    /// 2D mode on a geometry that is not a profile extruded along z.
    #[error("{0}")]
    NotAProfile(String),
    /// Writing the case failed.
    #[error("cannot write the case to {path}: {source}")]
    Io {
        /// Where.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// One step of the run, shared by the runner and the generated `Allrun`.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// An OpenFOAM application.
    App {
        /// Application name (also the log name: `log.<name>`).
        app: &'static str,
        /// Arguments.
        args: Vec<String>,
        /// Runs under `mpirun -np cores ... -parallel`.
        parallel: bool,
        /// True for steps that belong to meshing.
        meshing: bool,
    },
    /// `rm -rf 0 && cp -r 0.orig 0`.
    Restore0,
}

impl Step {
    /// Short name for progress and timing.
    pub fn name(&self) -> &'static str {
        match self {
            Step::App { app, .. } => app,
            Step::Restore0 => "restore0",
        }
    }

    /// True for the step that solves the flow (simpleFoam or pimpleFoam, or foamRun for the
    /// Foundation).
    pub fn is_solver(&self) -> bool {
        is_solver_step(self.name())
    }
}

/// The solver applications of every flavour, which are also their steps' names.
pub const SOLVER_APPS: [&str; 3] = ["simpleFoam", "pimpleFoam", "foamRun"];

/// True when a step named `name` (as in `log.<name>` and the run log's step lines) is the
/// flow solver.
pub fn is_solver_step(name: &str) -> bool {
    SOLVER_APPS.contains(&name)
}

/// The assembled case, ready to be written.
#[derive(Debug, Clone)]
pub struct Case {
    /// Files relative to the case directory, with their contents.
    pub files: Vec<(PathBuf, String)>,
    /// Steps to run, in order.
    pub steps: Vec<Step>,
    /// Mesh parameters used.
    pub plan: MeshPlan,
    /// Final patches.
    pub patches: Vec<Patch>,
    /// Force-coefficient reference values.
    pub reference: Reference,
    /// Inlet turbulence.
    pub turbulence: InletTurbulence,
    /// The near-wall treatment written (`turbulence.wall_treatment` with `auto` resolved).
    pub wall_treatment: super::turbulence::NearWall,
    /// snappyHexMesh's locationInMesh.
    pub location_in_mesh: [f64; 3],
    /// MPI ranks.
    pub cores: u32,
    /// The OpenFOAM the files are written for.
    pub flavour: Flavour,
}

/// Builds the case in memory; `plan` overrides the rule-based mesh parameters (mesh AI).
pub fn build(spec: &CaseSpec, surface: &Surface, a: &Analysis, plan: Option<MeshPlan>) -> Result<Case, CaseError> {
    let patches = patches::resolve(spec, a)?;
    let two_d = spec.flow.two_dimensional;
    if two_d {
        twod::profile(surface).map_err(CaseError::NotAProfile)?;
    }
    let plan = plan.unwrap_or_else(|| rules::suggest(spec, a, wall_area(a, &patches)));
    let max_cells = (spec.mesh.target_cells * 20).max(2_000_000);
    // Saturating: a tunnel billions of body lengths long gives divisions whose product
    // overflows, and that must read as "too many cells", not panic.
    let background = plan.divisions.iter().fold(1u64, |n, &d| n.saturating_mul(d as u64));
    if background > max_cells {
        return Err(CaseError::TooManyCells(format!(
            "the background mesh alone has {background} cells (base cell {:.3e} m), more than {max_cells}; raise mesh.base_cell_size or mesh.target_cells",
            plan.base_cell_size
        )));
    }
    let location = location_in_mesh(spec, surface, &plan)?;
    let mut reference = reference(spec, a, &patches)?;
    if two_d {
        reference = twod::reference(spec, a, &plan, reference);
    }
    let l_turb = spec.turbulence.length_scale.unwrap_or(match spec.flow.kind {
        FlowKind::External => 0.1 * a.characteristic_length,
        FlowKind::Internal => 0.07 * inlet_extent(a),
    });
    let turb = InletTurbulence::for_spec(spec, l_turb.max(1e-6));
    let wall_treatment = super::turbulence::near_wall(spec, &plan.layers);
    let u_init = if spec.flow.kind == FlowKind::External { spec.flow.velocity } else { [0.0; 3] };
    let flavour = spec.solver.openfoam.unwrap_or_default();
    let org = flavour.is_foundation();

    let mut files = Vec::new();
    let mut dict = |dir: &str, class: &str, object: &str, body: super::dict::Dict| -> Result<(), CaseError> {
        let text = write_file(class, Some(dir), object, &body)?;
        files.push((Path::new(dir).join(object), text));
        Ok(())
    };
    dict("system", "dictionary", "blockMeshDict", mesh::block_mesh_dict(spec, &plan, flavour))?;
    if org {
        dict("system", "dictionary", "surfaceFeaturesDict", mesh::surface_features_dict())?;
    } else {
        dict("system", "dictionary", "surfaceFeatureExtractDict", mesh::surface_feature_extract_dict())?;
    }
    let snappy = mesh::snappy_dict(&plan, &patches, location, max_cells, flavour);
    dict("system", "dictionary", "snappyHexMeshDict", snappy)?;
    dict("system", "dictionary", "meshQualityDict", mesh::mesh_quality_dict())?;
    if two_d {
        let thickness = plan.domain_max[2] - plan.domain_min[2];
        dict("system", "dictionary", "extrudeMeshDict", twod::extrude_mesh_dict(thickness))?;
        dict("system", "dictionary", "createPatchDict", twod::create_patch_dict())?;
    }
    dict("system", "dictionary", "decomposeParDict", mesh::decompose_dict(spec.solver.cores, flavour))?;
    // Transient specs: the steady dictionaries made PIMPLE ones (see super::transient).
    let control = transient::control_dict(physics::control_dict(spec, &reference, flavour), spec, &plan, flavour);
    dict("system", "dictionary", "controlDict", control)?;
    dict("system", "dictionary", "fvSchemes", transient::fv_schemes(physics::fv_schemes(spec), spec))?;
    dict("system", "dictionary", "fvSolution", transient::fv_solution(physics::fv_solution(spec, flavour), spec))?;
    if org {
        dict("constant", "dictionary", "physicalProperties", physics::physical_properties(spec))?;
        dict("constant", "dictionary", "momentumTransport", physics::turbulence_properties(spec, flavour))?;
    } else {
        dict("constant", "dictionary", "transportProperties", physics::transport_properties(spec))?;
        dict("constant", "dictionary", "turbulenceProperties", physics::turbulence_properties(spec, flavour))?;
    }
    for (name, class, body) in physics::initial_fields(spec, &patches, turb, wall_treatment, u_init) {
        dict("0.orig", &class, name, if two_d { twod::with_empty(body) } else { body })?;
    }
    files.push((Path::new("constant").join(flavour.surface_dir()).join(SURFACE_FILE), to_obj(surface)));
    let mut steps = steps(spec.solver.cores, spec.mesh_only, flavour, spec.solver.kind);
    if two_d {
        twod::add_steps(&mut steps);
    }
    files.push(("Allrun".into(), allrun(&steps, spec.solver.cores, flavour)));
    files.push(("Allclean".into(), allclean(flavour)));
    // The empty marker ParaView opens the case by (File > Open > case.foam).
    files.push(("case.foam".into(), String::new()));
    Ok(Case {
        files,
        steps,
        plan,
        patches,
        reference,
        turbulence: turb,
        wall_treatment,
        location_in_mesh: location,
        cores: spec.solver.cores,
        flavour,
    })
}

/// The area of the surface groups that become walls (at least 0.1 % of the whole surface),
/// which the rules size the near-wall cells for.
fn wall_area(a: &Analysis, patches: &[Patch]) -> f64 {
    let walls: f64 = a
        .groups
        .iter()
        .filter(|g| patches.iter().any(|p| p.from_surface && p.name.as_str() == g.name && p.kind.is_wall()))
        .map(|g| g.area)
        .sum();
    walls.max(a.area * 1e-3)
}

/// The mesh parameters the rules propose for a spec and geometry, exactly as [`build`]
/// would use them (the mesh wizard shows this before anything runs).
pub fn suggested_plan(spec: &CaseSpec, a: &Analysis) -> Result<MeshPlan, CaseError> {
    let patches = patches::resolve(spec, a)?;
    Ok(rules::suggest(spec, a, wall_area(a, &patches)))
}

fn inlet_extent(a: &Analysis) -> f64 {
    let e = [0, 1, 2].map(|i| a.bbox_max[i] - a.bbox_min[i]);
    e.iter().cloned().fold(f64::MAX, f64::min).max(a.characteristic_length * 0.01)
}

fn reference(spec: &CaseSpec, a: &Analysis, patches: &[Patch]) -> Result<Reference, CaseError> {
    let (drag, lift, pitch) = physics::directions(spec.flow.velocity);
    let walls: Vec<String> =
        patches.iter().filter(|p| p.from_surface && p.kind == BcKind::Wall).map(|p| p.name.to_string()).collect();
    let chosen = match &spec.reference.patches {
        Some(list) => {
            let mut out = Vec::new();
            for name in list {
                let s = crate::geometry::sanitize_group_name(name);
                if !walls.contains(&s) {
                    return Err(CaseError::BadReferencePatch(name.clone()));
                }
                out.push(s);
            }
            out
        }
        None => walls,
    };
    let (ax, _) = flow_axis(spec.flow.velocity);
    let centre = [0, 1, 2].map(|i| 0.5 * (a.bbox_min[i] + a.bbox_max[i]));
    let aref = spec.reference.aref.unwrap_or(a.frontal_area);
    let lref = spec.reference.lref.unwrap_or(a.bbox_max[ax] - a.bbox_min[ax]);
    if !(aref > 0.0 && aref.is_finite()) {
        return Err(CaseError::Reference(
            "the body shows no frontal area to the flow; set reference.Aref in m²".into(),
        ));
    }
    if !(lref > 0.0 && lref.is_finite()) {
        return Err(CaseError::Reference("the body has no length along the flow; set reference.lRef in m".into()));
    }
    Ok(Reference {
        aref,
        lref,
        mag_u_inf: spec.speed(),
        cofr: spec.reference.cofr.unwrap_or(centre),
        drag_dir: drag,
        lift_dir: lift,
        pitch_axis: pitch,
        patches: chosen,
    })
}

/// Moves `p` to a fixed non-dyadic fraction (0.6234…) of its background cell, so that it
/// can never lie on a face of the background mesh or of any octree refinement of it.
fn off_faces(p: [f64; 3], plan: &MeshPlan) -> [f64; 3] {
    const FRAC: [f64; 3] = [0.623_489, 0.577_215, 0.618_034];
    let h = plan.base_cell_size;
    [0, 1, 2].map(|i| {
        let u = ((p[i] - plan.domain_min[i]) / h).floor();
        plan.domain_min[i] + (u + FRAC[i]) * h
    })
}

/// A point inside the fluid, off every mesh face.
pub fn location_in_mesh(spec: &CaseSpec, surface: &Surface, plan: &MeshPlan) -> Result<[f64; 3], CaseError> {
    let h = plan.base_cell_size;
    let (bmin, bmax) = crate::geometry::analyse::bbox(surface);
    match spec.flow.kind {
        FlowKind::External => {
            // Halfway through the upstream gap and the low lateral gap: outside the body's
            // bounding box, so outside every part of it, however many there are.
            let (ax, sign) = flow_axis(spec.flow.velocity);
            let lat = 1 - ax;
            let mut p = [0.0; 3];
            p[ax] = if sign >= 0.0 {
                0.5 * (plan.domain_min[ax] + bmin[ax])
            } else {
                0.5 * (plan.domain_max[ax] + bmax[ax])
            };
            p[lat] = 0.5 * (plan.domain_min[lat] + bmin[lat]);
            p[2] = (0.5 * (bmin[2] + bmax[2])).max(plan.domain_min[2] + 0.5 * h);
            let mut q = off_faces(p, plan);
            if spec.flow.two_dimensional {
                q[2] = twod::location_z(plan);
            }
            let outside_bbox = (0..3).any(|i| q[i] < bmin[i] || q[i] > bmax[i]);
            let inside_domain = (0..3).all(|i| q[i] > plan.domain_min[i] && q[i] < plan.domain_max[i]);
            if outside_bbox && inside_domain {
                Ok(q)
            } else {
                Err(CaseError::NoLocation(
                    "the wind tunnel leaves no gap around the body; increase flow.tunnel factors".into(),
                ))
            }
        }
        FlowKind::Internal => {
            let loc = Locator::new(surface);
            let n = 9;
            let mut best: Option<([f64; 3], f64)> = None;
            for i in 0..n {
                for j in 0..n {
                    for k in 0..n {
                        let f = |idx: usize, t: usize, off: f64| {
                            bmin[t] + (idx as f64 + 0.5 + off) / n as f64 * (bmax[t] - bmin[t])
                        };
                        let p = [f(i, 0, 0.0123), f(j, 1, 0.0371), f(k, 2, 0.0247)];
                        if !loc.contains(p) {
                            continue;
                        }
                        let d = loc.distance(p);
                        if best.is_none_or(|(_, bd)| d > bd) {
                            best = Some((p, d));
                        }
                    }
                }
            }
            let (p, d) = best.ok_or_else(|| {
                CaseError::NoLocation(
                    "no sample point lies inside the geometry; internal flow needs a closed surface".into(),
                )
            })?;
            let q = off_faces(p, plan);
            if loc.contains(q) && loc.distance(q) > 0.25 * d {
                Ok(q)
            } else {
                Ok(p)
            }
        }
    }
}

/// The files a steady run is restarted with after it diverged (see the runner's pipeline):
/// `system/fvSchemes` and `system/fvSolution` from [`physics::recovery_fv_schemes`] and
/// [`physics::recovery_fv_solution`], through the one writer. `None` for a transient spec,
/// whose remedy is a smaller time step, not first-order numerics, and where the spec turns
/// the restart off (`solver.restart_on_divergence = false`).
pub fn recovery_files(spec: &CaseSpec) -> Result<Option<Vec<(PathBuf, String)>>, CaseError> {
    if transient::is_transient(spec) || !spec.solver.restart_on_divergence {
        return Ok(None);
    }
    let flavour = spec.solver.openfoam.unwrap_or_default();
    let schemes = write_file("dictionary", Some("system"), "fvSchemes", &physics::recovery_fv_schemes(spec))?;
    let solution =
        write_file("dictionary", Some("system"), "fvSolution", &physics::recovery_fv_solution(spec, flavour))?;
    Ok(Some(vec![(Path::new("system").join("fvSchemes"), schemes), (Path::new("system").join("fvSolution"), solution)]))
}

/// The run's steps for `cores` ranks; a mesh-only run stops after checkMesh.
///
/// The Foundation's potentialFoam writes `phi` unasked (its `-writePhi` writes the
/// potential `Phi` instead, unlike ESI's `-writephi`, which writes the flux), and its
/// foamRun finds `solver incompressibleFluid` in controlDict.
pub fn steps(cores: u32, mesh_only: bool, flavour: Flavour, kind: SolverKind) -> Vec<Step> {
    let app = |app: &'static str, args: &[&str], meshing: bool| Step::App {
        app,
        args: args.iter().map(|s| s.to_string()).collect(),
        parallel: false,
        meshing,
    };
    let mut s = vec![
        app("blockMesh", &[], true),
        app(flavour.feature_app(), &[], true),
        app("snappyHexMesh", &["-overwrite"], true),
        app("checkMesh", &[], true),
    ];
    if mesh_only {
        return s;
    }
    let potential: &[&str] = if flavour.is_foundation() { &[] } else { &["-writephi"] };
    s.extend([Step::Restore0, app("potentialFoam", potential, false)]);
    let solver = transient::solver_app(kind, flavour);
    if cores > 1 {
        s.push(app("decomposePar", &["-force"], false));
        s.push(Step::App { app: solver, args: vec!["-parallel".into()], parallel: true, meshing: false });
        s.push(app("reconstructPar", &["-latestTime"], false));
    } else {
        s.push(app(solver, &[], false));
    }
    s
}

fn allrun(steps: &[Step], cores: u32, flavour: Flavour) -> String {
    let mut out = if flavour.is_foundation() {
        format!(
            "#!/bin/sh\n# Reproduces FlowCFD's run with plain {}, or later.\n\
             cd \"${{0%/*}}\" || exit 1\n\
             # Source your OpenFOAM etc/bashrc (or `module load` it) first.\n\
             command -v foamRun >/dev/null || {{ echo \"foamRun not found: source OpenFOAM's etc/bashrc first\"; exit 1; }}\n\
             MPI_ROOT_FLAG=\"\"\n[ \"$(id -u)\" = 0 ] && MPI_ROOT_FLAG=\"--allow-run-as-root\"\n\
             run() {{ app=$1; shift; echo \"Running $app\"; \"$@\" > \"log.$app\" 2>&1 || {{ echo \"$app failed: see log.$app\"; exit 1; }}; }}\n\n",
            flavour.describe()
        )
    } else {
        String::from(
            "#!/bin/sh\n# Reproduces FlowCFD's run with plain OpenFOAM (ESI v1912 or later).\n\
             cd \"${0%/*}\" || exit 1\n\
             # Debian's openfoam package needs only this; elsewhere source your OpenFOAM etc/bashrc first.\n\
             [ -n \"$WM_PROJECT_DIR\" ] || export WM_PROJECT_DIR=/usr/share/openfoam\n\
             MPI_ROOT_FLAG=\"\"\n[ \"$(id -u)\" = 0 ] && MPI_ROOT_FLAG=\"--allow-run-as-root\"\n\
             run() { app=$1; shift; echo \"Running $app\"; \"$@\" > \"log.$app\" 2>&1 || { echo \"$app failed: see log.$app\"; exit 1; }; }\n\n",
        )
    };
    for s in steps {
        match s {
            Step::Restore0 => out.push_str("rm -rf 0 && cp -r 0.orig 0\n"),
            Step::App { app, args, parallel, .. } => {
                let args = args.join(" ");
                if *parallel {
                    out.push_str(&format!(
                        "run {app} mpirun -np {cores} $MPI_ROOT_FLAG --oversubscribe {app} {args}\n"
                    ));
                } else if *app == "checkMesh" {
                    // checkMesh reports failed checks in its log; the run goes on, as in FlowCFD.
                    out.push_str("checkMesh > log.checkMesh 2>&1\n");
                } else {
                    out.push_str(&format!("run {app} {app} {args}\n").replace(" \n", "\n"));
                }
            }
        }
    }
    out
}

fn allclean(flavour: Flavour) -> String {
    format!(
        "#!/bin/sh\ncd \"${{0%/*}}\" || exit 1\n\
         rm -rf 0 [1-9]* processor* postProcessing log.* constant/polyMesh constant/extendedFeatureEdgeMesh constant/{}/*.eMesh\n",
        flavour.surface_dir()
    )
}

/// Writes the case into `dir` (created; must not exist), via a temporary sibling directory
/// renamed at the end so that a half-written case never appears under `dir`.
pub fn write(case: &Case, dir: &Path) -> Result<(), CaseError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| CaseError::Io { path, source }
    };
    let tmp = dir.with_extension("partial");
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    for (rel, text) in &case.files {
        let path = tmp.join(rel);
        std::fs::create_dir_all(path.parent().expect("file has a parent")).map_err(io(&path))?;
        std::fs::write(&path, text).map_err(io(&path))?;
        if rel == Path::new("Allrun") || rel == Path::new("Allclean") {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).map_err(io(&path))?;
        }
    }
    std::fs::rename(&tmp, dir).map_err(io(dir))?;
    Ok(())
}

/// Patch names as words, for callers that filter by kind.
pub fn wall_patch_names(case: &Case) -> Vec<Word> {
    case.patches.iter().filter(|p| p.from_surface && p.kind.is_wall()).map(|p| p.name.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::{analyse::analyse, primitives::cuboid};

    fn plan_for(kind: &str) -> (CaseSpec, Surface, MeshPlan) {
        let spec = CaseSpec::from_toml(
            &format!("[flow]\ntype = \"{kind}\"\nvelocity = [5, 0, 0]\n[boundaries]\nbox = {{ type = \"wall\" }}\n"),
            "t",
        )
        .unwrap();
        let s = cuboid([0.0, 0.0, 0.0], [2.0, 1.0, 1.0], "box");
        let a = analyse(&s, spec.flow.velocity);
        let plan = rules::suggest(&spec, &a, a.area);
        (spec, s, plan)
    }

    /// True when `p` lies on a face of the background mesh or any octree refinement of it
    /// down to 10 levels.
    fn on_a_mesh_face(p: [f64; 3], plan: &MeshPlan) -> bool {
        (0..3).any(|i| {
            let u = (p[i] - plan.domain_min[i]) / plan.base_cell_size * 1024.0;
            (u - u.round()).abs() < 1e-6
        })
    }

    #[test]
    fn external_location_is_in_the_fluid_and_off_faces() {
        let (spec, s, plan) = plan_for("external");
        let p = location_in_mesh(&spec, &s, &plan).unwrap();
        assert!(!Locator::new(&s).contains(p));
        assert!((0..3).all(|i| p[i] > plan.domain_min[i] && p[i] < plan.domain_max[i]));
        assert!(!on_a_mesh_face(p, &plan));
    }

    #[test]
    fn internal_location_is_inside_and_off_faces() {
        let (spec, s, plan) = plan_for("internal");
        let p = location_in_mesh(&spec, &s, &plan).unwrap();
        assert!(Locator::new(&s).contains(p), "{p:?}");
        assert!(!on_a_mesh_face(p, &plan));
    }

    #[test]
    fn allrun_mirrors_the_steps() {
        let esi = Flavour::default();
        let text = allrun(&steps(4, false, esi, SolverKind::Steady), 4, esi);
        let order = [
            "blockMesh",
            "surfaceFeatureExtract",
            "snappyHexMesh",
            "checkMesh",
            "cp -r 0.orig 0",
            "potentialFoam",
            "decomposePar",
            "mpirun -np 4",
            "reconstructPar",
        ];
        let mut at = 0;
        for s in order {
            let i = text[at..].find(s).unwrap_or_else(|| panic!("{s} missing or out of order in:\n{text}"));
            at += i;
        }
        assert!(!allrun(&steps(1, false, esi, SolverKind::Steady), 1, esi).contains("mpirun -np"));
        let org = Flavour::Foundation { version: 11 };
        let text = allrun(&steps(4, false, org, SolverKind::Steady), 4, org);
        for s in [
            "run surfaceFeatures surfaceFeatures\n",
            "run potentialFoam potentialFoam\n",
            "--oversubscribe foamRun -parallel",
        ] {
            assert!(text.contains(s), "{s} missing in:\n{text}");
        }
        assert!(!text.contains("simpleFoam") && !text.contains("surfaceFeatureExtract"), "{text}");
    }
}
