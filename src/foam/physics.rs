//! Physics dictionaries: initial fields, transport, turbulence, schemes, solution, control.

use super::dict::{dimensions, uniform, w, Dict, Value};
use super::flavour::Flavour;
use super::patches::{BcKind, Patch};
use super::spec::CaseSpec;
use super::turbulence;
use serde::Serialize;

pub use super::turbulence::{InletTurbulence, NearWall, C_MU};

/// Force-coefficient reference values as used in `controlDict` and `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reference {
    /// Reference area, m².
    #[serde(rename = "Aref")]
    pub aref: f64,
    /// Reference length, m.
    #[serde(rename = "lRef")]
    pub lref: f64,
    /// Free-stream speed, m/s.
    #[serde(rename = "magUInf")]
    pub mag_u_inf: f64,
    /// Centre of rotation.
    #[serde(rename = "CofR")]
    pub cofr: [f64; 3],
    /// Unit drag direction.
    pub drag_dir: [f64; 3],
    /// Unit lift direction.
    pub lift_dir: [f64; 3],
    /// Pitch axis.
    pub pitch_axis: [f64; 3],
    /// Patches integrated.
    pub patches: Vec<String>,
}

fn unit(v: [f64; 3]) -> [f64; 3] {
    let m = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    [v[0] / m, v[1] / m, v[2] / m]
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

/// Drag along the velocity, lift the part of +z normal to it, pitch axis lift × drag.
pub fn directions(velocity: [f64; 3]) -> ([f64; 3], [f64; 3], [f64; 3]) {
    let d = unit(velocity);
    let up = if d[2].abs() > 0.99 { [0.0, 1.0, 0.0] } else { [0.0, 0.0, 1.0] };
    let dot = up[0] * d[0] + up[1] * d[1] + up[2] * d[2];
    let l = unit([up[0] - dot * d[0], up[1] - dot * d[1], up[2] - dot * d[2]]);
    (d, l, cross(l, d))
}

fn field_file(class: &str, dims: [i32; 7], internal: Value, bfield: Dict) -> (String, Dict) {
    (
        class.to_string(),
        Dict::new().set("dimensions", dimensions(dims)).set("internalField", internal).set("boundaryField", bfield),
    )
}

/// The `0/` fields: (file name, class, body): U, p and the turbulence model's own
/// (see [`turbulence::initial_fields`]).
pub fn initial_fields(
    spec: &CaseSpec,
    patches: &[Patch],
    turb: InletTurbulence,
    wall: NearWall,
    u_init: [f64; 3],
) -> Vec<(&'static str, String, Dict)> {
    let mut u = Dict::new();
    let mut p = Dict::new();
    let zero = [0.0; 3];
    for patch in patches {
        let n = patch.name.clone();
        let (bu, bp) = match &patch.kind {
            BcKind::Inlet(v) => (
                Dict::new().set("type", w("fixedValue")).set("value", uniform(*v)),
                Dict::new().set("type", w("zeroGradient")),
            ),
            BcKind::InletNormal(speed) => (
                Dict::new().set("type", w("surfaceNormalFixedValue")).set("refValue", uniform(-speed)),
                Dict::new().set("type", w("zeroGradient")),
            ),
            BcKind::Outlet(p0) => (
                Dict::new().set("type", w("inletOutlet")).set("inletValue", uniform(zero)).set("value", uniform(zero)),
                Dict::new().set("type", w("fixedValue")).set("value", uniform(*p0)),
            ),
            BcKind::Wall => (Dict::new().set("type", w("noSlip")), Dict::new().set("type", w("zeroGradient"))),
            BcKind::MovingWall(v) => (
                Dict::new().set("type", w("fixedValue")).set("value", uniform(*v)),
                Dict::new().set("type", w("zeroGradient")),
            ),
            BcKind::Slip => (Dict::new().set("type", w("slip")), Dict::new().set("type", w("slip"))),
            BcKind::Symmetry => (Dict::new().set("type", w("symmetry")), Dict::new().set("type", w("symmetry"))),
        };
        u.insert_word(n.clone(), bu);
        p.insert_word(n.clone(), bp);
    }
    let mut out = vec![];
    let (c, d) = field_file("volVectorField", [0, 1, -1, 0, 0, 0, 0], uniform(u_init), u);
    out.push(("U", c, d));
    let (c, d) = field_file("volScalarField", [0, 2, -2, 0, 0, 0, 0], uniform(0.0), p);
    out.push(("p", c, d));
    out.extend(turbulence::initial_fields(spec, patches, turb, wall));
    out
}

/// `constant/transportProperties`.
pub fn transport_properties(spec: &CaseSpec) -> Dict {
    Dict::new().set("transportModel", w("Newtonian")).set("nu", spec.fluid.nu())
}

/// `constant/physicalProperties`: the Foundation's name for the transport properties (a
/// constant-viscosity fluid, `nu` dimensioned as in its tutorials).
pub fn physical_properties(spec: &CaseSpec) -> Dict {
    Dict::new()
        .set("viscosityModel", w("constant"))
        .set("nu", Value::Seq(vec![dimensions([0, 2, -1, 0, 0, 0, 0]), Value::Float(spec.fluid.nu())]))
}

/// `constant/turbulenceProperties` (ESI) or `constant/momentumTransport` (Foundation).
pub fn turbulence_properties(spec: &CaseSpec, flavour: Flavour) -> Dict {
    turbulence::turbulence_properties(spec, flavour)
}

fn seq(words: &[&str]) -> Value {
    Value::Seq(words.iter().map(|s| w(s)).collect())
}

/// `system/fvSchemes`: OpenFOAM's motorBike set: second-order upwind for U, first-order for
/// turbulence, full non-orthogonal correction.
pub fn fv_schemes(spec: &CaseSpec) -> Dict {
    let mut div =
        Dict::new().set("default", w("none")).set("div(phi,U)", seq(&["bounded", "Gauss", "linearUpwindV", "grad(U)"]));
    for (key, scheme) in turbulence::div_schemes(spec.turbulence.model) {
        div.push(&key, scheme);
    }
    div.push("div((nuEff*dev2(T(grad(U)))))", seq(&["Gauss", "linear"]));
    Dict::new()
        .set("ddtSchemes", Dict::new().set("default", w("steadyState")))
        .set(
            "gradSchemes",
            Dict::new()
                .set("default", seq(&["Gauss", "linear"]))
                .set("grad(U)", Value::Seq(vec![w("cellLimited"), w("Gauss"), w("linear"), Value::Int(1)])),
        )
        .set("divSchemes", div)
        // Full non-orthogonal correction, as OpenFOAM's motorBike: `limited 0.33` let the
        // pressure blow up within 15 iterations on the same mesh.
        .set("laplacianSchemes", Dict::new().set("default", seq(&["Gauss", "linear", "corrected"])))
        .set("interpolationSchemes", Dict::new().set("default", w("linear")))
        .set("snGradSchemes", Dict::new().set("default", w("corrected")))
        .set("wallDist", Dict::new().set("method", w("meshWave")))
}

fn smooth_solver() -> Dict {
    Dict::new()
        .set("solver", w("smoothSolver"))
        .set("smoother", w("GaussSeidel"))
        .set("tolerance", 1e-8)
        .set("relTol", 0.1)
        .set("nSweeps", 1i64)
}

/// `system/fvSolution` with SIMPLEC, residual control and relaxation from the spec.
///
/// For the Foundation, every solved field also gets a `<field>Final` solver: foamRun runs a
/// steady case as one PIMPLE-style outer iteration per step, and its tutorials
/// (incompressibleFluid/motorBike, pipeCyclic) carry `pFinal` and `(U|k|epsilon)Final`.
/// They repeat the non-final settings, so a step solves the same way whichever is read.
pub fn fv_solution(spec: &CaseSpec, flavour: Flavour) -> Dict {
    let gamg = Dict::new()
        .set("solver", w("GAMG"))
        .set("smoother", w("GaussSeidel"))
        .set("tolerance", 1e-7)
        .set("relTol", 0.01);
    let model = spec.turbulence.model;
    let fields = turbulence::solved_fields(model);
    let mut residual = Dict::new();
    for f in &fields {
        if let Some(x) = spec.solver.residual_targets.get(*f) {
            residual.push(f, *x);
        }
    }
    let mut equations = Dict::new();
    let mut rfields = Dict::new();
    for (name, x) in &spec.solver.relaxation {
        if name == "p" {
            rfields.push("p", *x);
        } else if fields.contains(&name.as_str()) {
            equations.push(name, *x);
        }
    }
    let mut solvers = Dict::new().set("p", gamg.clone()).set("Phi", gamg.clone()).set("U", smooth_solver());
    for f in model.fields() {
        solvers.push(f, smooth_solver());
    }
    if flavour.is_foundation() {
        solvers.push("pFinal", gamg);
        for f in fields.iter().filter(|f| **f != "p") {
            solvers.push(&format!("{f}Final"), smooth_solver());
        }
    }
    Dict::new()
        .set("solvers", solvers)
        .set(
            "SIMPLE",
            Dict::new().set("nNonOrthogonalCorrectors", 0i64).set("consistent", true).set("residualControl", residual),
        )
        .set("potentialFlow", Dict::new().set("nNonOrthogonalCorrectors", 10i64))
        .set("relaxationFactors", Dict::new().set("fields", rfields).set("equations", equations))
        .set("cache", Dict::new().set("grad(U)", Dict::new()))
}

/// Under-relaxation of the restart after a steady run diverged (see [`recovery_fv_solution`]):
/// the classic SIMPLE set (p 0.2, U 0.5, the turbulence fields 0.5), or the spec's own
/// factor where that is lower.
pub const RECOVERY_RELAXATION: [(&str, f64); 6] =
    [("p", 0.2), ("U", 0.5), ("k", 0.5), ("omega", 0.5), ("epsilon", 0.5), ("nuTilda", 0.5)];

/// `system/fvSchemes` for the restart after a steady run diverged: [`fv_schemes`] with
/// bounded first-order upwind for U as well (second-order linearUpwindV is what a poor
/// snapped cell or a level change among the layers cannot carry in the first iterations).
pub fn recovery_fv_schemes(spec: &CaseSpec) -> Dict {
    let mut d = fv_schemes(spec);
    if let Some(Value::Dict(div)) = d.get("divSchemes") {
        let mut div = div.clone();
        div.replace("div(phi,U)", seq(&["bounded", "Gauss", "upwind"]));
        d.replace("divSchemes", div);
    }
    d
}

/// `system/fvSolution` for the restart after a steady run diverged: SIMPLE instead of
/// SIMPLEC, one non-orthogonal corrector, and [`RECOVERY_RELAXATION`].
pub fn recovery_fv_solution(spec: &CaseSpec, flavour: Flavour) -> Dict {
    let mut calm = spec.clone();
    for (field, x) in RECOVERY_RELAXATION {
        let own = spec.solver.relaxation.get(field).copied().unwrap_or(1.0);
        calm.solver.relaxation.insert(field.to_string(), own.min(x));
    }
    let mut d = fv_solution(&calm, flavour);
    if let Some(Value::Dict(simple)) = d.get("SIMPLE") {
        let mut simple = simple.clone();
        simple.replace("consistent", false);
        simple.replace("nNonOrthogonalCorrectors", 1i64);
        d.replace("SIMPLE", simple);
    }
    d
}

/// The file whose appearance in the case directory stops the solver gracefully: OpenFOAM's
/// `abort` function object (in `controlDict`) writes the current iteration and ends the run
/// normally. It removes the file when the solver starts and when it ends.
pub const STOP_FILE: &str = "STOP";

/// FlowCFD's own record of a stop request, beside [`STOP_FILE`]: its text is the reason. The
/// runner watches it (OpenFOAM never removes it) and keeps [`STOP_FILE`] present while the
/// solver runs, so a request made just before the solver starts is not lost.
pub const STOP_REQUEST: &str = "flowcfd.stop";

/// `system/controlDict` with forceCoeffs, solverInfo, yPlus, wallShearStress and the
/// graceful-stop trigger ([`STOP_FILE`]).
///
/// The Foundation differs in three places: `application foamRun; solver
/// incompressibleFluid;`, `residuals` for ESI's `solverInfo`, and `stopAtFile` for ESI's
/// `abort`. The stop function object is named after [`STOP_FILE`] there because
/// `stopAtFile` watches `$FOAM_CASE/<its name>` by default, which keeps `$` (which the
/// dictionary writer refuses in strings) out of the file.
pub fn control_dict(spec: &CaseSpec, r: &Reference, flavour: Flavour) -> Dict {
    let model = spec.turbulence.model;
    let lib = |name: &str| Value::List(vec![Value::Str(name.into())]);
    let patch_words: Vec<Value> = r.patches.iter().map(|p| w(p)).collect();
    let mut functions = Dict::new();
    functions.push(
        "forceCoeffs1",
        Dict::new()
            .set("type", w("forceCoeffs"))
            .set("libs", lib("libforces.so"))
            .set("writeControl", w("timeStep"))
            .set("writeInterval", 1i64)
            .set("log", true)
            .set("patches", Value::List(patch_words))
            .set("rho", w("rhoInf"))
            .set("rhoInf", spec.fluid.rho())
            .set("liftDir", r.lift_dir)
            .set("dragDir", r.drag_dir)
            .set("CofR", r.cofr)
            .set("pitchAxis", r.pitch_axis)
            .set("magUInf", r.mag_u_inf)
            .set("lRef", r.lref)
            .set("Aref", r.aref),
    );
    let names = ["U", "p"].iter().chain(model.fields());
    let fields: Vec<Value> = names.map(|f| w(f)).collect();
    if flavour.is_foundation() {
        functions.push(
            "residuals1",
            Dict::new()
                .set("type", w("residuals"))
                .set("libs", lib("libutilityFunctionObjects.so"))
                .set("fields", Value::List(fields)),
        );
    } else {
        functions.push(
            "solverInfo1",
            Dict::new()
                .set("type", w("solverInfo"))
                .set("libs", lib("libutilityFunctionObjects.so"))
                .set("fields", Value::List(fields))
                .set("writeResidualFields", false),
        );
    }
    // At write times only (the Foundation's etc/caseDicts say so for both; ESI's files
    // keep the form they have always had).
    let at_writes = |ty: &str| {
        let d = Dict::new().set("type", w(ty)).set("libs", lib("libfieldFunctionObjects.so"));
        let d = if flavour.is_foundation() { d.set("executeControl", w("writeTime")) } else { d };
        d.set("writeControl", w("writeTime"))
    };
    if !model.is_laminar() {
        functions.push("yPlus1", at_writes("yPlus"));
    }
    functions.push("wallShearStress1", at_writes("wallShearStress"));
    // A graceful stop (a quota reached): the file's appearance makes the solver write the
    // iteration it is on and end normally, so the results so far are kept.
    if flavour.is_foundation() {
        functions.push(
            STOP_FILE,
            Dict::new()
                .set("type", w("stopAtFile"))
                .set("libs", lib("libutilityFunctionObjects.so"))
                .set("action", w("writeNow")),
        );
    } else {
        functions.push(
            "flowcfdStop",
            Dict::new()
                .set("type", w("abort"))
                .set("libs", lib("libutilityFunctionObjects.so"))
                .set("file", Value::Str(format!("<case>/{STOP_FILE}")))
                .set("action", w("writeNow")),
        );
    }
    let n = spec.solver.iterations as i64;
    let mut head = Dict::new().set("application", w(flavour.solver_app()));
    if flavour.is_foundation() {
        head.push("solver", w("incompressibleFluid"));
    }
    head.set("startFrom", w("startTime"))
        .set("startTime", 0i64)
        .set("stopAt", w("endTime"))
        .set("endTime", n)
        .set("deltaT", 1i64)
        .set("writeControl", w("timeStep"))
        .set("writeInterval", n)
        .set("purgeWrite", 0i64)
        .set("writeFormat", w("binary"))
        .set("writePrecision", 8i64)
        .set("writeCompression", false)
        .set("timeFormat", w("general"))
        .set("timePrecision", 6i64)
        .set("runTimeModifiable", true)
        .set("functions", functions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directions_are_orthonormal() {
        let (d, l, p) = directions([20.0, 0.0, 0.0]);
        assert_eq!(d, [1.0, 0.0, 0.0]);
        assert_eq!(l, [0.0, 0.0, 1.0]);
        assert_eq!(p, [0.0, 1.0, 0.0]);
    }
}
