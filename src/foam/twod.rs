//! 2D mode (`flow.two_dimensional`): a profile extruded along z, meshed one cell thick.
//!
//! The recipe is OpenFOAM's own (the wingMotion tutorial): blockMesh makes a slab one
//! background cell thick between two `symmetryPlane` patches (`symFront` at the low z,
//! `symBack` at the high z), snappyHexMesh refines, snaps and adds layers on the profile
//! (which spans beyond the slab in z, so it cuts both planes in the same section),
//! `extrudeMesh` rebuilds the mesh from the `symFront` faces as one layer of cells as thick
//! as the slab, and `createPatch` turns the two planes into the `empty` patches `front` and
//! `back`. checkMesh then reports the solution directions `(1 1 0)`.
//!
//! symmetryPlane and not `empty` while snappyHexMesh runs: with `empty` planes on a mesh
//! many cells thick, snapping took 34 s instead of 1 s on a cylinder.
//!
//! Forces: drag along the flow, lift ẑ × drag (toward +y for a flow along +x), pitch about
//! z; `Aref` = chord × slab thickness and `lRef` = chord, the chord being the profile's
//! extent along x.

use super::case::Step;
use super::dict::{w, Dict, Key, Value};
use super::physics::Reference;
use super::rules::{
    fit_base_size, flow_axis, layer_count, layers_for, MeshPlan, CELLS_BETWEEN_LEVELS, WAKE_LENGTH, WALL_FACTOR,
};
use super::spec::{CaseSpec, FlowKind, RefinementBox, SpecError};
use crate::geometry::{analyse::Analysis, Surface};
use std::collections::BTreeMap;

/// The final `empty` patch at the low z.
pub const FRONT: &str = "front";
/// The final `empty` patch at the high z.
pub const BACK: &str = "back";
/// The low-z plane while snappyHexMesh runs.
pub const SYM_FRONT: &str = "symFront";
/// The high-z plane while snappyHexMesh runs.
pub const SYM_BACK: &str = "symBack";

/// Spec checks of 2D mode that need no geometry (called by `CaseSpec::validate`).
pub fn validate(spec: &CaseSpec) -> Result<(), SpecError> {
    if !spec.flow.two_dimensional {
        return Ok(());
    }
    let bad = |m: String| Err(SpecError::Invalid(m));
    let v = spec.flow.velocity;
    if v[2] != 0.0 {
        return bad(format!(
            "flow.two_dimensional: flow.velocity = {v:?} has a z component, but a 2D flow lies in the x-y plane; \
             set velocity = [U cos α, U sin α, 0] for a speed U at an angle of attack α"
        ));
    }
    if spec.flow.kind != FlowKind::External {
        return bad("flow.two_dimensional supports external flow only (a profile in a wind tunnel); set flow.type = \"external\" or drop two_dimensional".into());
    }
    if spec.flow.ground {
        return bad("flow.two_dimensional cannot have flow.ground: z is the extrusion direction in 2D, so there is no floor under the profile; drop ground (or model the floor as a profile)".into());
    }
    Ok(())
}

/// What 2D mode needs to know of the geometry.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Low end of the extrusion, m.
    pub z0: f64,
    /// High end of the extrusion, m.
    pub z1: f64,
    /// Extent along x, m.
    pub chord: f64,
}

/// Checks that `s` is a profile extruded along z: every triangle is either a side wall
/// (parallel to z) or an end cap lying in the plane of the lowest or highest point, so
/// every z plane between the ends cuts the same section.
pub fn profile(s: &Surface) -> Result<Profile, String> {
    let (lo, hi) = crate::geometry::analyse::bbox(s);
    let span = hi[2] - lo[2];
    let size = (hi[0] - lo[0]).max(hi[1] - lo[1]);
    if !(span > 1e-9 * size.max(1e-30)) || !(size > 0.0) {
        return Err(format!(
            "flow.two_dimensional needs a profile extruded along z, but the geometry has no extent along z (bbox {lo:?}..{hi:?}); extrude the profile by any length along z"
        ));
    }
    let tol = 1e-6 * span.max(size);
    let mut side_area = 0.0;
    for t in &s.tris {
        let [a, b, c] = t.map(|i| s.points[i as usize]);
        let u = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
        let v = [c[0] - a[0], c[1] - a[1], c[2] - a[2]];
        let n = [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]];
        let m = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
        if m == 0.0 {
            continue;
        }
        let nz = n[2] / m;
        let at_end = |z0: f64| [a, b, c].iter().all(|p| (p[2] - z0).abs() <= tol);
        if nz.abs() < 1e-3 {
            side_area += 0.5 * m;
        } else if !(nz.abs() > 1.0 - 1e-3 && (at_end(lo[2]) || at_end(hi[2]))) {
            return Err(format!(
                "flow.two_dimensional needs a profile extruded along z, but the geometry has a face that is neither parallel to z nor an end cap (near ({:.4}, {:.4}, {:.4})); export the profile as a straight extrusion along z",
                a[0], a[1], a[2]
            ));
        }
    }
    if side_area <= 0.0 {
        return Err(
            "flow.two_dimensional needs a profile extruded along z, but the geometry has no side walls parallel to z"
                .into(),
        );
    }
    Ok(Profile { z0: lo[2], z1: hi[2], chord: hi[0] - lo[0] })
}

/// The 2D mesh plan: the wind tunnel in x-y from the tunnel factors (upstream, downstream,
/// side, in multiples of the profile's largest x-y extent; `top` is unused), a slab of
/// [`slab_thickness`] in z around the profile's middle, one background cell thick, and the
/// cell budget spent on the one-cell-thick 2D mesh (areas, not volumes).
pub fn suggest(spec: &CaseSpec, a: &Analysis, wall_area: f64) -> MeshPlan {
    let m = &spec.mesh;
    let mut why = BTreeMap::new();
    let (lo, hi) = (a.bbox_min, a.bbox_max);
    let span = (hi[2] - lo[2]).max(f64::MIN_POSITIVE);
    let l = (hi[0] - lo[0]).max(hi[1] - lo[1]).max(1e-9 * span);
    // The side walls' area over the span is the perimeter; caps (the section's area at
    // each end) come off when the volume tells the section's area.
    let section = a.volume.map_or(0.0, |v| v / span);
    let perimeter = ((wall_area - 2.0 * section) / span).max(wall_area / span * 0.1);
    let t = &spec.flow.tunnel;
    let (ax, sign) = flow_axis(spec.flow.velocity);
    let lat = 1 - ax;
    let (mut rmin, mut rmax) = ([0.0; 3], [0.0; 3]);
    let (up, down) = (t.upstream * l, t.downstream * l);
    (rmin[ax], rmax[ax]) = if sign >= 0.0 { (lo[ax] - up, hi[ax] + down) } else { (lo[ax] - down, hi[ax] + up) };
    (rmin[lat], rmax[lat]) = (lo[lat] - t.side * l, hi[lat] + t.side * l);
    let (dmin, dmax) = (rmin, rmax);
    let area = (dmax[0] - dmin[0]) * (dmax[1] - dmin[1]);
    let fluid_area = area - section;
    let count = layer_count(spec);
    let box_level = |lv: u32| lv.saturating_sub(1).max(1);
    let wake = |lv: u32| -> Vec<RefinementBox> {
        let mut b = m.refinement_boxes.clone();
        if m.wake_box && b.is_empty() && lv > 0 {
            let (mut bmin, mut bmax) = (lo, hi);
            if sign >= 0.0 {
                bmin[ax] -= 0.1 * l;
                bmax[ax] += WAKE_LENGTH * l;
            } else {
                bmin[ax] -= WAKE_LENGTH * l;
                bmax[ax] += 0.1 * l;
            }
            bmin[lat] -= 0.5 * l;
            bmax[lat] += 0.5 * l;
            for i in 0..2 {
                bmin[i] = bmin[i].max(dmin[i]);
                bmax[i] = bmax[i].min(dmax[i]);
            }
            b.push(RefinementBox { min: bmin, max: bmax, level: box_level(lv) });
        }
        b
    };
    // Cells of the one-cell-thick mesh: the fluid area, boxes (4^level cells per background
    // cell), bands of CELLS_BETWEEN_LEVELS cells along the perimeter on each level, layers.
    let estimate = |h: f64, lv: u32, boxes: &[RefinementBox], layers: u32| -> f64 {
        let mut n = fluid_area / (h * h);
        for b in boxes {
            n += (b.max[0] - b.min[0]) * (b.max[1] - b.min[1]) * (4f64.powi(b.level as i32) - 1.0) / (h * h);
        }
        for k in 1..=lv {
            n += WALL_FACTOR * CELLS_BETWEEN_LEVELS as f64 * perimeter / (h / 2f64.powi(k as i32));
        }
        n + WALL_FACTOR * layers as f64 * perimeter / (h / 2f64.powi(lv as i32))
    };
    let target = m.target_cells as f64;
    let h_max = (dmax[0] - dmin[0]).min(dmax[1] - dmin[1]) / 4.0;
    let solve = |lv: u32| {
        let boxes = wake(lv);
        m.base_cell_size.unwrap_or_else(|| fit_base_size(target, |h| estimate(h, lv, &boxes, count), h_max))
    };
    let level = match m.surface_level {
        Some(lv) => lv[0],
        None => {
            let mut best = 1;
            for lv in 1..=8u32 {
                let h = solve(lv);
                let fits = estimate(h, lv, &wake(lv), count) <= 1.1 * target && h < 0.999 * h_max;
                if fits && h <= 0.5 * l {
                    best = lv;
                }
            }
            why.insert(
                "surface_level".into(),
                format!("level {best} is the finest the {} cell budget of the 2D mesh allows with a background of at most half the profile", m.target_cells),
            );
            best
        }
    };
    let h = solve(level);
    let (mut dmin, mut dmax) = (rmin, rmax);
    let mut divisions = [0, 1].map(|i| ((dmax[i] - dmin[i]) / h).ceil().max(1.0) as u32);
    for i in 0..2 {
        let grow = divisions[i] as f64 * h - (dmax[i] - dmin[i]);
        dmin[i] -= grow / 2.0;
        dmax[i] += grow / 2.0;
    }
    divisions.iter_mut().for_each(|d| *d = (*d).max(1));
    let thickness = slab_thickness(h, span);
    let zc = 0.5 * (lo[2] + hi[2]);
    (dmin[2], dmax[2]) = (zc - 0.5 * thickness, zc + 0.5 * thickness);
    why.insert(
        "base_cell_size".into(),
        if m.base_cell_size.is_some() {
            "given in the case file".into()
        } else {
            format!("{h:.4} m fits the {} cell budget of the 2D mesh over {area:.3} m²", m.target_cells)
        },
    );
    why.insert(
        "two_dimensional".into(),
        format!("one cell of {thickness:.4} m along z (the slab snappyHexMesh meshes, collapsed by extrudeMesh); front and back are empty"),
    );
    let surf_level = m.surface_level.unwrap_or([level, level + 1]);
    let group_levels =
        a.groups.iter().map(|g| (g.name.clone(), m.group_levels.get(&g.name).copied().unwrap_or(surf_level))).collect();
    let feature_level = m.feature_level.unwrap_or(surf_level[0]);
    let mut boxes = wake(level);
    for b in &mut boxes {
        // Through the slab and beyond, so every cell centre of the slab is inside.
        (b.min[2], b.max[2]) = (dmin[2] - thickness, dmax[2] + thickness);
    }
    let hs = h / 2f64.powi(surf_level[0] as i32);
    let layers = layers_for(spec, a, count, hs, l, &mut why);
    let estimated_cells = estimate(h, surf_level[0], &boxes, layers.count) as u64;
    MeshPlan {
        domain_min: dmin,
        domain_max: dmax,
        base_cell_size: h,
        divisions: [divisions[0], divisions[1], 1],
        group_levels,
        feature_level,
        boxes,
        layers,
        estimated_cells,
        why,
    }
}

/// Slab thickness for background cells of size `h` on a profile `span` long: one cell,
/// but at most half the span, so the profile cuts through both planes with room to spare.
pub fn slab_thickness(h: f64, span: f64) -> f64 {
    h.min(0.5 * span)
}

/// The z of snappyHexMesh's locationInMesh: a fixed non-dyadic fraction of the slab, never
/// on the face of a refined cell.
pub fn location_z(plan: &MeshPlan) -> f64 {
    plan.domain_min[2] + 0.577_215 * (plan.domain_max[2] - plan.domain_min[2])
}

fn unit2(v: [f64; 3]) -> [f64; 3] {
    let m = v[0].hypot(v[1]);
    [v[0] / m, v[1] / m, 0.0]
}

/// Drag along the flow, lift ẑ × drag (toward +y for a flow along +x), pitch axis +z.
pub fn directions(velocity: [f64; 3]) -> ([f64; 3], [f64; 3], [f64; 3]) {
    let d = unit2(velocity);
    (d, [-d[1], d[0], 0.0], [0.0, 0.0, 1.0])
}

/// 2D reference values: the 2D directions, `Aref` = chord × the mesh thickness and `lRef`
/// = chord unless the spec gives them, the centre of rotation in the slab's middle plane.
pub fn reference(spec: &CaseSpec, a: &Analysis, plan: &MeshPlan, r: Reference) -> Reference {
    let (drag, lift, pitch) = directions(spec.flow.velocity);
    let chord = a.bbox_max[0] - a.bbox_min[0];
    let thickness = plan.domain_max[2] - plan.domain_min[2];
    let mut cofr = r.cofr;
    if spec.reference.cofr.is_none() {
        cofr[2] = 0.5 * (plan.domain_min[2] + plan.domain_max[2]);
    }
    Reference {
        aref: spec.reference.aref.unwrap_or(chord * thickness),
        lref: spec.reference.lref.unwrap_or(chord),
        cofr,
        drag_dir: drag,
        lift_dir: lift,
        pitch_axis: pitch,
        ..r
    }
}

/// `system/extrudeMeshDict`: the mesh rebuilt in place from the `symFront` faces, one cell
/// of `thickness` toward +z (the normals flipped inward), so it fills the slab again.
pub fn extrude_mesh_dict(thickness: f64) -> Dict {
    Dict::new()
        .set("constructFrom", w("patch"))
        .set("sourceCase", Value::Str(".".into()))
        .set("sourcePatches", Value::List(vec![w(SYM_FRONT)]))
        .set("exposedPatchName", w(SYM_BACK))
        .set("flipNormals", true)
        .set("extrudeModel", w("linearNormal"))
        .set("nLayers", 1i64)
        .set("expansionRatio", 1.0)
        .set("linearNormalCoeffs", Dict::new().set("thickness", thickness))
        .set("mergeFaces", false)
        .set("mergeTol", 0i64)
}

/// `system/createPatchDict`: `symFront` and `symBack` become the `empty` `front` and `back`.
pub fn create_patch_dict() -> Dict {
    let entry = |name: &str, from: &str| {
        Value::Dict(
            Dict::new()
                .set("name", w(name))
                .set("patchInfo", Dict::new().set("type", w("empty")))
                .set("constructFrom", w("patches"))
                .set("patches", Value::List(vec![w(from)])),
        )
    };
    Dict::new()
        .set("pointSync", false)
        .set("patches", Value::List(vec![entry(FRONT, SYM_FRONT), entry(BACK, SYM_BACK)]))
}

/// The steps that collapse snappyHexMesh's slab to one cell, inserted right after it.
pub fn add_steps(steps: &mut Vec<Step>) {
    let at = steps.iter().position(|s| s.name() == "snappyHexMesh").map_or(0, |i| i + 1);
    let app = |app: &'static str, args: &[&str]| Step::App {
        app,
        args: args.iter().map(|s| s.to_string()).collect(),
        parallel: false,
        meshing: true,
    };
    steps.splice(at..at, [app("extrudeMesh", &[]), app("createPatch", &["-overwrite"])]);
}

/// A field file's body with `front` and `back` set to `empty` in its `boundaryField`.
pub fn with_empty(body: Dict) -> Dict {
    let mut out = Dict::new();
    for (k, v) in body.entries().iter().cloned() {
        let v = match (&k, v) {
            (Key::Word(name), Value::Dict(mut b)) if name.as_str() == "boundaryField" => {
                for p in [FRONT, BACK] {
                    b.push(p, Dict::new().set("type", w("empty")));
                }
                Value::Dict(b)
            }
            (_, v) => v,
        };
        match k {
            Key::Word(name) => out.insert_word(name, v),
            Key::Pattern(p) => out.insert_pattern(&p, v),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::profile::{circle, extruded_profile, naca4};

    fn close(a: [f64; 3], b: [f64; 3]) -> bool {
        (0..3).all(|i| (a[i] - b[i]).abs() < 1e-12)
    }

    #[test]
    fn angle_of_attack_turns_drag_and_lift_in_the_plane() {
        let alpha = 10f64.to_radians();
        let (d, l, p) = directions([20.0 * alpha.cos(), 20.0 * alpha.sin(), 0.0]);
        assert!(close(d, [alpha.cos(), alpha.sin(), 0.0]), "{d:?}");
        assert!(close(l, [-alpha.sin(), alpha.cos(), 0.0]), "{l:?}");
        assert!(close(p, [0.0, 0.0, 1.0]));
        let (d, l, _) = directions([3.0, 0.0, 0.0]);
        assert!(close(d, [1.0, 0.0, 0.0]) && close(l, [0.0, 1.0, 0.0]), "lift toward +y for flow along +x");
        let (d, l, _) = directions([0.0, -2.0, 0.0]);
        assert!(close(d, [0.0, -1.0, 0.0]) && close(l, [1.0, 0.0, 0.0]), "ẑ × (−ŷ) = +x̂");
    }

    fn spec(extra: &str) -> Result<CaseSpec, SpecError> {
        CaseSpec::from_toml(&format!("[flow]\ntype = \"external\"\ntwo_dimensional = true\n{extra}"), "t.toml")
    }

    #[test]
    fn misfits_are_refused_with_the_key_and_the_fix() {
        assert!(spec("velocity = [10, 1, 0]\n").is_ok());
        let e = spec("velocity = [10, 0, 1]\n").unwrap_err().to_string();
        assert!(e.contains("z component") && e.contains("[U cos α, U sin α, 0]"), "{e}");
        let e = spec("velocity = [10, 0, 0]\nground = true\n").unwrap_err().to_string();
        assert!(e.contains("flow.ground"), "{e}");
        let e = CaseSpec::from_toml("[flow]\ntype = \"internal\"\ntwo_dimensional = true\nvelocity = [1, 0, 0]\n", "t")
            .unwrap_err()
            .to_string();
        assert!(e.contains("external flow only"), "{e}");
    }

    #[test]
    fn extruded_profiles_pass_and_other_shapes_are_named() {
        let p = profile(&extruded_profile(&naca4("2412", 2.0, 40).unwrap(), -0.5, 0.5, "wing")).unwrap();
        assert!((p.chord - 2.0).abs() < 1e-9 && p.z0 == -0.5 && p.z1 == 0.5, "{p:?}");
        // An open extrusion (no caps) is a profile too.
        let mut open = extruded_profile(&circle([0.0; 2], 1.0, 16), 0.0, 1.0, "c");
        open.tris.truncate(32);
        open.tri_group.truncate(32);
        assert!(profile(&open).is_ok());
        let e = profile(&crate::geometry::primitives::uv_sphere([0.0; 3], 1.0, 8, 12, "ball")).unwrap_err();
        assert!(e.contains("neither parallel to z nor an end cap"), "{e}");
        let flat = crate::geometry::primitives::cuboid([0.0; 3], [1.0, 1.0, 0.0], "f");
        assert!(profile(&flat).unwrap_err().contains("no extent along z"));
        // A step: two boxes of different z ranges have a cap in the middle.
        let step = crate::geometry::primitives::merge(
            crate::geometry::primitives::cuboid([0.0; 3], [1.0, 1.0, 2.0], "s"),
            crate::geometry::primitives::cuboid([1.0, 0.0, 0.0], [2.0, 1.0, 1.0], "s"),
        );
        assert!(profile(&step).is_err());
    }

    #[test]
    fn empty_front_and_back_join_every_field() {
        let body = Dict::new()
            .set("dimensions", w("x"))
            .set("boundaryField", Dict::new().set("inlet", Dict::new().set("type", w("fixedValue"))));
        let out = with_empty(body);
        let Some(Value::Dict(b)) = out.get("boundaryField") else { panic!() };
        let names: Vec<String> = b.entries().iter().map(|(k, _)| format!("{k:?}")).collect();
        assert_eq!(names.len(), 3, "{names:?}");
        assert!(b.get("front").is_some() && b.get("back").is_some() && out.get("dimensions").is_some());
    }

    #[test]
    fn the_collapse_steps_follow_snappy() {
        let mut s = super::super::case::steps(1, false, Default::default(), super::super::spec::SolverKind::Steady);
        add_steps(&mut s);
        let names: Vec<&str> = s.iter().map(|s| s.name()).collect();
        let i = names.iter().position(|n| *n == "snappyHexMesh").unwrap();
        assert_eq!(&names[i..i + 4], &["snappyHexMesh", "extrudeMesh", "createPatch", "checkMesh"]);
    }
}
