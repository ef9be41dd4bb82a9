//! Forces by wall patch, integrated from the result's face values the way OpenFOAM's
//! `forces` function object does: pressure Σ p·S_f (kinematic p; S_f points out of the fluid,
//! into the body) and viscous −Σ τ_w·|S_f| (OpenFOAM's wallShearStress is the stress the wall
//! exerts on the fluid), each as coefficients along the drag, lift and side directions.
use crate::post::geom::{cross, dot, norm, V3};
use crate::post::{interp, Case};

/// The force reference: directions, speed and area.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reference {
    pub drag: V3,
    pub lift: V3,
    pub side: V3,
    pub mag_u: f64,
    pub aref: f64,
    /// The density forces are scaled by, kg/m³ (p is kinematic).
    pub rho: f64,
}

impl Reference {
    /// Drag along the velocity, lift the part of +z across it (as the case's forceCoeffs).
    pub fn from_velocity(velocity: V3, aref: f64, rho: f64) -> Reference {
        let (drag, lift, side) = crate::foam::physics::directions(velocity);
        Reference { drag, lift, side, mag_u: norm(velocity), aref, rho }
    }
}

/// One wall patch's coefficients: [drag, lift, side], pressure and viscous parts.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchForces {
    pub patch: String,
    pub pressure: [f64; 3],
    /// `None` when the result has no wallShearStress field.
    pub viscous: Option<[f64; 3]>,
}

/// Integrates every wall patch of the opened result.
pub fn by_patch(case: &Case, r: &Reference) -> Result<Vec<PatchForces>, crate::post::PostError> {
    let m = &case.mesh;
    let p = case.field("p")?;
    let (_, pf) = interp::samples(m, &p, interp::scalar_at);
    let wss = case
        .field_names()
        .iter()
        .any(|(n, _)| n == "wallShearStress")
        .then(|| case.field("wallShearStress"))
        .transpose()?;
    let wf = wss.as_ref().map(|w| interp::samples(m, w, interp::vector_at).1);
    let q = 0.5 * r.mag_u * r.mag_u * r.aref;
    let ni = m.n_internal();
    let mut out = Vec::new();
    // The body's walls: the tunnel's moving ground is not part of the body's forces.
    let walls = m.patches.iter().filter(|p| p.kind == "wall" && p.size > 0);
    let body: Vec<_> = walls.clone().filter(|p| p.name != crate::foam::patches::GROUND).collect();
    let chosen = if body.is_empty() { walls.collect() } else { body };
    for patch in chosen {
        let (mut fp, mut fv) = ([0.0; 3], [0.0; 3]);
        for f in patch.start..patch.start + patch.size {
            let s = case.geom.face_areas[f];
            let pv = pf[f - ni][0];
            for k in 0..3 {
                fp[k] += pv * s[k];
            }
            if let Some(w) = &wf {
                let a = norm(s);
                for k in 0..3 {
                    fv[k] -= w[f - ni][k] * a;
                }
            }
        }
        let coeff = |v: V3| [dot(v, r.drag) / q, dot(v, r.lift) / q, dot(v, r.side) / q];
        out.push(PatchForces {
            patch: patch.name.clone(),
            pressure: coeff(fp),
            viscous: wf.is_some().then(|| coeff(fv)),
        });
    }
    Ok(out)
}

/// The reference of the case's forceCoeffs function object (system/controlDict), when it
/// is written out there: (drag, lift, magUInf, Aref).
pub fn from_control_dict(text: &str) -> Option<Reference> {
    let d = super::foamdict::parse(text);
    let fc = d.dict("functions")?.0.iter().find_map(|(_, v)| match v {
        super::foamdict::Value::Dict(f) if f.text("type").as_deref() == Some("forceCoeffs") => Some(f.clone()),
        _ => None,
    })?;
    let vec3 = |k: &str| -> Option<V3> {
        let t = fc.text(k)?;
        let v: Vec<f64> =
            t.trim_matches(|c| c == '(' || c == ')').split_whitespace().filter_map(|x| x.parse().ok()).collect();
        (v.len() == 3).then(|| [v[0], v[1], v[2]])
    };
    let scalar = |k: &str| fc.text(k)?.split_whitespace().last()?.parse::<f64>().ok();
    let (drag, lift) = (vec3("dragDir")?, vec3("liftDir")?);
    let rho = scalar("rhoInf").unwrap_or(1.0);
    Some(Reference { drag, lift, side: cross(lift, drag), mag_u: scalar("magUInf")?, aref: scalar("Aref")?, rho })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_force_reference_from_control_dict() {
        let t = "functions { forceCoeffs1 { type forceCoeffs; libs (\"libforces.so\"); patches (cube); \
                 liftDir (0 0 1); dragDir (1 0 0); CofR (0 0 0); pitchAxis (0 1 0); magUInf 10; lRef 1; Aref 0.75; rhoInf 1.225; } }";
        let r = from_control_dict(t).unwrap();
        assert_eq!((r.drag, r.lift, r.mag_u, r.aref), ([1.0, 0.0, 0.0], [0.0, 0.0, 1.0], 10.0, 0.75));
        assert_eq!((r.side, r.rho), ([0.0, 1.0, 0.0], 1.225));
        assert!(from_control_dict("functions { }").is_none());
    }
}
