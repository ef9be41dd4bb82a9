//! Surfaces from a result: boundary patches with their face values, and contours. Cut planes
//! and isosurfaces cut each polyhedral cell whole (`contour_cells`): a plane's signed
//! distance is exact at the points, so its cut is the exact polygon in every cell.
//! Isosurfaces may instead use marching tetrahedra over each cell's (cell apex, face apex,
//! edge) decomposition (`contour`, `Method::Tets`).
use super::geom::{add, cross, dot, lerp, norm, scale, sub, Geometry, V3};
use super::reader::{PolyMesh, Values};
use super::{Case, FieldSel, PostError};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Triangles and/or polylines with one optional scalar per vertex.
#[derive(Debug, Clone, Default)]
pub struct PolyData {
    pub points: Vec<V3>,
    pub tris: Vec<[u32; 3]>,
    /// Polylines as point index runs (streamlines).
    pub lines: Vec<Vec<u32>>,
    /// (name, one value per point)
    pub scalars: Option<(String, Vec<f64>)>,
}

impl PolyData {
    /// The total area of the triangles.
    pub fn area(&self) -> f64 {
        self.tris
            .iter()
            .map(|t| tri_area(self.points[t[0] as usize], self.points[t[1] as usize], self.points[t[2] as usize]))
            .sum()
    }

    /// The total length of the polylines.
    pub fn line_length(&self) -> f64 {
        self.lines
            .iter()
            .map(|l| {
                l.windows(2).map(|w| norm(sub(self.points[w[1] as usize], self.points[w[0] as usize]))).sum::<f64>()
            })
            .sum()
    }

    /// The statistics line every `flowcfd post` verb prints.
    pub fn stats(&self) -> serde_json::Value {
        let (lo, hi) = self
            .scalars
            .as_ref()
            .map(|(_, v)| {
                v.iter()
                    .filter(|x| x.is_finite())
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)))
            })
            .unwrap_or((f64::NAN, f64::NAN));
        let num = |x: f64| if x.is_finite() { serde_json::json!(x) } else { serde_json::Value::Null };
        let mut s = serde_json::json!({
            "points": self.points.len(),
            "triangles": self.tris.len(),
            "area": self.area(),
            "field": self.scalars.as_ref().map(|(n, _)| n.clone()),
            "min": num(lo),
            "max": num(hi),
        });
        if !self.lines.is_empty() {
            s["count"] = self.lines.len().into();
            s["total_length"] = self.line_length().into();
        }
        s
    }
}

/// The area of the triangle `a b c`.
pub fn tri_area(a: V3, b: V3, c: V3) -> f64 {
    0.5 * norm(cross(sub(b, a), sub(c, a)))
}

/// The faces of the chosen patches, fan-triangulated; each vertex carries the area-weighted
/// mean of the face values around it (patch values where the file stores them, the owner
/// cell's otherwise), so wall-only fields such as wallShearStress and yPlus read right.
pub fn surface(case: &Case, patches: &[usize], field: Option<&FieldSel>) -> Result<PolyData, PostError> {
    let m = &case.mesh;
    let face_vals: Option<(String, Vec<f64>, Vec<usize>)> = match field {
        None => None,
        Some(sel) => {
            let f = case.field(&sel.name)?;
            if sel.part == super::Part::Q {
                // Q lives in the volume: use its point values directly below.
                None
            } else {
                let mut vals = Vec::new();
                let mut faces = Vec::new();
                for &pi in patches {
                    let p = &m.patches[pi];
                    for i in 0..p.size {
                        let v = match &f.patches[pi] {
                            Some(v) if v.len() == p.size => pick(v, i, sel),
                            _ => pick(&f.cells, m.owner[p.start + i] as usize, sel),
                        }?;
                        vals.push(v);
                        faces.push(p.start + i);
                    }
                }
                Some((sel.label(), vals, faces))
            }
        }
    };
    let q_points = match field {
        Some(sel) if sel.part == super::Part::Q => Some(case.point_scalars(sel)?),
        _ => None,
    };
    let mut remap: HashMap<u32, u32, Fx> = HashMap::default();
    let mut out = PolyData::default();
    let mut sum = Vec::new();
    let mut wsum = Vec::new();
    let mut fi = 0usize;
    for &pi in patches {
        let p = &m.patches[pi];
        for f in p.start..p.start + p.size {
            let face = m.face(f);
            let ids: Vec<u32> = face
                .iter()
                .map(|&q| {
                    *remap.entry(q).or_insert_with(|| {
                        out.points.push(m.points[q as usize]);
                        sum.push(0.0);
                        wsum.push(0.0);
                        (out.points.len() - 1) as u32
                    })
                })
                .collect();
            if let Some((_, vals, _)) = &face_vals {
                let a = norm(case.geom.face_areas[f]);
                for &i in &ids {
                    sum[i as usize] += a * vals[fi];
                    wsum[i as usize] += a;
                }
            }
            for k in 1..ids.len().saturating_sub(1) {
                out.tris.push([ids[0], ids[k], ids[k + 1]]);
            }
            fi += 1;
        }
    }
    if let Some((name, _, _)) = face_vals {
        out.scalars = Some((name, sum.iter().zip(&wsum).map(|(s, w)| if *w > 0.0 { s / w } else { 0.0 }).collect()));
    } else if let (Some(q), Some(sel)) = (q_points, field) {
        let mut v = vec![0.0; out.points.len()];
        for (&orig, &new) in &remap {
            v[new as usize] = q[orig as usize];
        }
        out.scalars = Some((sel.label(), v));
    }
    Ok(out)
}

fn pick(v: &Values, i: usize, sel: &FieldSel) -> Result<f64, PostError> {
    Ok(match v {
        Values::Scalar(s) => match sel.part {
            super::Part::Whole | super::Part::Mag => s[i],
            _ => return Err(PostError::BadInput(format!("{} is a scalar; it has no {}", sel.name, sel.label()))),
        },
        Values::Vector(s) => sel.pick(s[i]),
    })
}

/// A hasher for integer keys (the default SipHash is several times slower here).
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);
impl Hasher for FxHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ b as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u32(&mut self, x: u32) {
        self.write_u64(x as u64)
    }
}
/// A `HashMap` hasher built from [`FxHasher`].
pub type Fx = BuildHasherDefault<FxHasher>;

/// One vertex of the tetrahedral decomposition: a mesh point, a face apex or a cell apex.
#[derive(Clone, Copy)]
struct TV {
    id: u64,
    x: V3,
    f: f64,
    c: f64,
}

/// The surface where the point values `pf` equal `iso`, by marching tetrahedra over each
/// cell's decomposition; apex values are the means of the face's (cell's) point values.
/// Carries `carry` (point values) when given.
pub fn contour(m: &PolyMesh, g: &Geometry, pf: &[f64], iso: f64, carry: Option<(&str, &[f64])>) -> PolyData {
    let np = m.points.len() as u64;
    let nf = m.n_faces() as u64;
    let mut out = PolyData::default();
    let mut carried: Vec<f64> = Vec::new();
    let mut verts: HashMap<(u64, u64), u32, Fx> = HashMap::default();
    let mut emit = |a: &TV, b: &TV, out: &mut PolyData, carried: &mut Vec<f64>| -> u32 {
        let (a, b) = if a.id <= b.id { (a, b) } else { (b, a) };
        let t = if b.f == a.f { 0.0 } else { (iso - a.f) / (b.f - a.f) };
        let key = if t <= 0.0 {
            (a.id, a.id)
        } else if t >= 1.0 {
            (b.id, b.id)
        } else {
            (a.id, b.id)
        };
        *verts.entry(key).or_insert_with(|| {
            let t = t.clamp(0.0, 1.0);
            out.points.push(if t == 0.0 {
                a.x
            } else if t == 1.0 {
                b.x
            } else {
                lerp(a.x, b.x, t)
            });
            carried.push(a.c + t * (b.c - a.c));
            (out.points.len() - 1) as u32
        })
    };
    let cv = |p: usize| carry.map(|(_, v)| v[p]).unwrap_or(0.0);
    for c in 0..m.n_cells {
        let faces = g.cell_faces.row(c);
        // Reject cells the level does not cross, from their point values.
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for &f in faces {
            for &p in m.face(f as usize) {
                let v = pf[p as usize];
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
        if !(lo < iso && hi >= iso) && !(lo <= iso && hi > iso) {
            continue;
        }
        // Face apexes and the cell apex.
        let mut fa: Vec<TV> = Vec::with_capacity(faces.len());
        let (mut cx, mut cf, mut cc) = ([0.0; 3], 0.0, 0.0);
        for &f in faces {
            let face = m.face(f as usize);
            let k = 1.0 / face.len() as f64;
            let x = Geometry::face_apex(m, f as usize);
            let (mut sf, mut sc) = (0.0, 0.0);
            for &p in face {
                sf += pf[p as usize];
                sc += cv(p as usize);
            }
            let t = TV { id: np + f as u64, x, f: sf * k, c: sc * k };
            cx = add(cx, x);
            cf += t.f;
            cc += t.c;
            fa.push(t);
        }
        let k = 1.0 / faces.len() as f64;
        let cxp = scale(cx, k);
        let capex = TV { id: np + nf + c as u64, x: cxp, f: cf * k, c: cc * k };
        for (j, &f) in faces.iter().enumerate() {
            let face = m.face(f as usize);
            let n = face.len();
            for i in 0..n {
                let (p, q) = (face[i] as usize, face[(i + 1) % n] as usize);
                let tv = |p: usize| TV { id: p as u64, x: m.points[p], f: pf[p], c: cv(p) };
                let tet = [capex, fa[j], tv(p), tv(q)];
                let (tris, up) = march(&tet, iso);
                for tri in tris {
                    let mut ids = [0u32; 3];
                    for (k, &(a, b)) in tri.iter().enumerate() {
                        ids[k] = emit(&tet[a], &tet[b], &mut out, &mut carried);
                    }
                    push_oriented(&mut out, ids, up);
                }
            }
        }
    }
    if let Some((name, _)) = carry {
        out.scalars = Some((name.to_string(), carried));
    }
    out
}

/// Appends the triangle `t` of contour points unless two of its corners are one point,
/// wound so that its normal points along `up`, the direction the field increases: cells
/// are cut one at a time, and only this keeps neighbouring cells' triangles facing the same
/// side.
fn push_oriented(out: &mut PolyData, mut t: [u32; 3], up: V3) {
    if t[0] == t[1] || t[1] == t[2] || t[0] == t[2] {
        return;
    }
    let [a, b, c] = t.map(|i| out.points[i as usize]);
    if dot(cross(sub(b, a), sub(c, a)), up) < 0.0 {
        t.swap(1, 2);
    }
    out.tris.push(t);
}

/// Marching tetrahedra on one tet: the edges (vertex pairs) of its 0, 1 or 2 triangles,
/// and the direction of increase (mean of the high vertices minus mean of the low ones)
/// that orients them.
fn march(t: &[TV; 4], iso: f64) -> (Vec<[(usize, usize); 3]>, V3) {
    let above: Vec<usize> = (0..4).filter(|&i| t[i].f >= iso).collect();
    let below: Vec<usize> = (0..4).filter(|&i| t[i].f < iso).collect();
    let tris = match above.len() {
        1 => vec![[(above[0], below[0]), (above[0], below[1]), (above[0], below[2])]],
        3 => vec![[(below[0], above[0]), (below[0], above[1]), (below[0], above[2])]],
        2 => {
            let (a, b, c, d) = (above[0], above[1], below[0], below[1]);
            vec![[(a, c), (a, d), (b, d)], [(a, c), (b, d), (b, c)]]
        }
        _ => return (Vec::new(), [0.0; 3]),
    };
    let mean = |ix: &[usize]| ix.iter().fold([0.0; 3], |s, &i| add(s, t[i].x)).map(|v| v / ix.len() as f64);
    (tris, sub(mean(&above), mean(&below)))
}

/// The surface where the point values `pf` equal `iso`, cell by cell as polygons: the
/// crossings on each cell's edges (linear along the edge, as marching cubes places them),
/// joined face by face into closed loops and fanned into triangles. A face crossed four
/// times pairs its crossings starting from an edge that leaves the high side.
pub fn contour_cells(m: &PolyMesh, g: &Geometry, pf: &[f64], iso: f64, carry: Option<(&str, &[f64])>) -> PolyData {
    let mut out = PolyData::default();
    let mut carried: Vec<f64> = Vec::new();
    let mut verts: HashMap<(u32, u32), u32, Fx> = HashMap::default();
    let cv = |p: usize| carry.map(|(_, v)| v[p]).unwrap_or(0.0);
    let above = |p: u32| pf[p as usize] >= iso;
    let mut segs: Vec<(u32, u32)> = Vec::new();
    let mut xs: Vec<u32> = Vec::new();
    for c in 0..m.n_cells {
        let faces = g.cell_faces.row(c);
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for &f in faces {
            for &p in m.face(f as usize) {
                lo = lo.min(pf[p as usize]);
                hi = hi.max(pf[p as usize]);
            }
        }
        if !(lo < iso && hi >= iso) {
            continue;
        }
        segs.clear();
        let (mut up_hi, mut up_lo, mut n_hi, mut n_lo) = ([0.0; 3], [0.0; 3], 0.0, 0.0);
        for &f in faces {
            let face = m.face(f as usize);
            let n = face.len();
            xs.clear();
            let mut start = 0;
            for i in 0..n {
                let (p, q) = (face[i], face[(i + 1) % n]);
                if above(p) {
                    up_hi = add(up_hi, m.points[p as usize]);
                    n_hi += 1.0;
                } else {
                    up_lo = add(up_lo, m.points[p as usize]);
                    n_lo += 1.0;
                }
                if above(p) == above(q) {
                    continue;
                }
                if above(p) && xs.is_empty() {
                    start = 0;
                } else if above(p) && start == 0 && xs.len() % 2 == 1 {
                    start = xs.len();
                }
                let (a, b) = if p < q { (p, q) } else { (q, p) };
                let (fa, fb) = (pf[a as usize], pf[b as usize]);
                let t = if fb == fa { 0.0 } else { ((iso - fa) / (fb - fa)).clamp(0.0, 1.0) };
                let key = if t == 0.0 {
                    (a, a)
                } else if t == 1.0 {
                    (b, b)
                } else {
                    (a, b)
                };
                let id = *verts.entry(key).or_insert_with(|| {
                    out.points.push(lerp(m.points[a as usize], m.points[b as usize], t));
                    carried.push(cv(a as usize) + t * (cv(b as usize) - cv(a as usize)));
                    (out.points.len() - 1) as u32
                });
                xs.push(id);
            }
            let k = xs.len();
            for j in (0..k.saturating_sub(1)).step_by(2) {
                let (x, y) = (xs[(start + j) % k], xs[(start + j + 1) % k]);
                if x != y {
                    segs.push((x, y));
                }
            }
        }
        if n_hi == 0.0 || n_lo == 0.0 {
            continue;
        }
        let up = sub(scale(up_hi, 1.0 / n_hi), scale(up_lo, 1.0 / n_lo));
        // Chain the segments into loops.
        while let Some((a, b)) = segs.pop() {
            let mut lp = vec![a, b];
            loop {
                let last = *lp.last().unwrap();
                let Some(i) = segs.iter().position(|&(x, y)| x == last || y == last) else { break };
                let (x, y) = segs.swap_remove(i);
                let next = if x == last { y } else { x };
                if next == lp[0] {
                    break;
                }
                lp.push(next);
            }
            if lp.len() < 3 {
                continue;
            }
            for k in 1..lp.len() - 1 {
                push_oriented(&mut out, [lp[0], lp[k], lp[k + 1]], up);
            }
        }
    }
    if let Some((name, _)) = carry {
        out.scalars = Some((name.to_string(), carried));
    }
    out
}

/// A cut plane through the result, coloured by `field` (point-interpolated).
pub fn slice(case: &Case, origin: V3, normal: V3, field: Option<&FieldSel>) -> Result<PolyData, PostError> {
    let n = norm(normal);
    if !(n > 0.0 && n.is_finite()) || origin.iter().any(|x| !x.is_finite()) {
        return Err(PostError::BadInput("the slice needs a finite origin and a non-zero normal".into()));
    }
    let unit = scale(normal, 1.0 / n);
    let vals = field.map(|s| case.point_scalars(s)).transpose()?;
    let label = field.map(|s| s.label());
    let carry = vals.as_ref().map(|v| (label.as_deref().unwrap(), v.as_slice()));
    // The signed distance is linear, so each cell's cut is its exact plane polygon.
    let d: Vec<f64> = case.mesh.points.iter().map(|&p| dot(sub(p, origin), unit)).collect();
    Ok(contour_cells(&case.mesh, &case.geom, &d, 0.0, carry))
}

/// How a contour cuts the cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Method {
    /// Each polyhedral cell whole (`contour_cells`): crossings on the cell's own edges, as
    /// ParaView contours undecomposed polyhedra and marching cubes contours hexahedra.
    #[default]
    Cells,
    /// Each cell decomposed into (cell apex, face apex, edge) tetrahedra, then marching
    /// tetrahedra (`contour`): apex values are the means of the points'.
    Tets,
}

impl std::str::FromStr for Method {
    type Err = PostError;
    fn from_str(s: &str) -> Result<Self, PostError> {
        match s {
            "cells" => Ok(Method::Cells),
            "tets" => Ok(Method::Tets),
            _ => Err(PostError::BadInput(format!("'{s}' is not a contour method; use cells or tets"))),
        }
    }
}

/// The isosurface `field = value`, coloured by `color_by` (the field itself by default).
pub fn iso(
    case: &Case,
    field: &FieldSel,
    value: f64,
    color_by: Option<&FieldSel>,
    method: Method,
) -> Result<PolyData, PostError> {
    if !value.is_finite() {
        return Err(PostError::BadInput("the isovalue must be a finite number".into()));
    }
    let f = case.point_scalars(field)?;
    let color = color_by.unwrap_or(field);
    let cvals = case.point_scalars(color)?;
    let label = color.label();
    Ok(match method {
        Method::Cells => contour_cells(&case.mesh, &case.geom, &f, value, Some((&label, &cvals))),
        Method::Tets => contour(&case.mesh, &case.geom, &f, value, Some((&label, &cvals))),
    })
}
