//! Derived geometry of a polyMesh: OpenFOAM's face centres, area vectors, cell centres and
//! volumes (the same formulas as `primitiveMesh`, so field values sit where OpenFOAM put
//! them), and the adjacency the extractions walk (cell → faces, point → cells, point →
//! boundary faces).
use super::reader::PolyMesh;

/// A point or vector, m.
pub type V3 = [f64; 3];

pub(crate) use crate::geometry::analyse::{cross, dot, norm, sub};

/// a + b.
pub fn add(a: V3, b: V3) -> V3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}
/// a × s.
pub fn scale(a: V3, s: f64) -> V3 {
    [a[0] * s, a[1] * s, a[2] * s]
}
/// a + t (b − a).
pub fn lerp(a: V3, b: V3, t: f64) -> V3 {
    [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]), a[2] + t * (b[2] - a[2])]
}

/// Compressed rows: `items[offsets[i]..offsets[i + 1]]` belong to row `i`.
#[derive(Debug, Clone, Default)]
pub struct Csr {
    pub offsets: Vec<usize>,
    pub items: Vec<u32>,
}

impl Csr {
    /// The entries of row `i`.
    pub fn row(&self, i: usize) -> &[u32] {
        &self.items[self.offsets[i]..self.offsets[i + 1]]
    }
    /// Builds rows from (row, item) pairs produced twice by `each` (count, then fill).
    fn build(rows: usize, each: impl Fn(&mut dyn FnMut(usize, u32))) -> Csr {
        let mut offsets = vec![0usize; rows + 1];
        each(&mut |r, _| offsets[r + 1] += 1);
        for i in 0..rows {
            offsets[i + 1] += offsets[i];
        }
        let mut fill = offsets.clone();
        let mut items = vec![0u32; offsets[rows]];
        each(&mut |r, x| {
            items[fill[r]] = x;
            fill[r] += 1;
        });
        Csr { offsets, items }
    }
}

/// Face centres and area vectors, cell centres and volumes (computed as OpenFOAM does), and
/// the adjacency that interpolation and point location need.
#[derive(Debug, Clone)]
pub struct Geometry {
    pub face_centres: Vec<V3>,
    pub face_areas: Vec<V3>,
    pub cell_centres: Vec<V3>,
    pub cell_volumes: Vec<f64>,
    pub cell_faces: Csr,
    pub point_cells: Csr,
    /// Boundary faces (global face ids) around each point, for patches that carry values
    /// (not `empty`, not processor patches).
    pub point_bfaces: Csr,
    /// Patch index of each boundary face, `usize::MAX` for internal faces.
    pub face_patch: Vec<usize>,
    pub bbox: (V3, V3),
}

fn face_centre_area(pts: &[V3], face: &[u32]) -> (V3, V3) {
    let n = face.len();
    if n == 3 {
        let (a, b, c) = (pts[face[0] as usize], pts[face[1] as usize], pts[face[2] as usize]);
        return (scale(add(add(a, b), c), 1.0 / 3.0), scale(cross(sub(b, a), sub(c, a)), 0.5));
    }
    let mut est = [0.0; 3];
    for &p in face {
        est = add(est, pts[p as usize]);
    }
    est = scale(est, 1.0 / n as f64);
    let (mut sum_n, mut sum_a, mut sum_ac) = ([0.0; 3], 0.0, [0.0; 3]);
    for i in 0..n {
        let a = pts[face[i] as usize];
        let b = pts[face[(i + 1) % n] as usize];
        let c = add(add(a, b), est);
        let nn = cross(sub(b, a), sub(est, a));
        let m = norm(nn);
        sum_n = add(sum_n, nn);
        sum_a += m;
        sum_ac = add(sum_ac, scale(c, m));
    }
    let centre = if sum_a > 1e-300 { scale(sum_ac, 1.0 / (3.0 * sum_a)) } else { est };
    (centre, scale(sum_n, 0.5))
}

/// Whether a patch's faces carry field values (processor and empty patches do not).
pub fn carries_values(kind: &str) -> bool {
    !matches!(kind, "empty" | "processor" | "processorCyclic")
}

impl Geometry {
    /// The geometry of mesh `m`.
    pub fn new(m: &PolyMesh) -> Geometry {
        let nf = m.n_faces();
        let (mut face_centres, mut face_areas) = (Vec::with_capacity(nf), Vec::with_capacity(nf));
        for f in 0..nf {
            let (c, a) = face_centre_area(&m.points, m.face(f));
            face_centres.push(c);
            face_areas.push(a);
        }
        let ni = m.n_internal();
        let cell_faces = Csr::build(m.n_cells, |push| {
            for f in 0..nf {
                push(m.owner[f] as usize, f as u32);
                if f < ni {
                    push(m.neighbour[f] as usize, f as u32);
                }
            }
        });
        let mut cell_centres = Vec::with_capacity(m.n_cells);
        let mut cell_volumes = Vec::with_capacity(m.n_cells);
        for c in 0..m.n_cells {
            let faces = cell_faces.row(c);
            let mut est = [0.0; 3];
            for &f in faces {
                est = add(est, face_centres[f as usize]);
            }
            est = scale(est, 1.0 / faces.len().max(1) as f64);
            let (mut ctr, mut vol) = ([0.0; 3], 0.0);
            for &f in faces {
                let f = f as usize;
                let mut v = dot(face_areas[f], sub(face_centres[f], est));
                if m.owner[f] as usize != c {
                    v = -v;
                }
                let v = v.abs();
                ctr = add(ctr, scale(add(scale(face_centres[f], 0.75), scale(est, 0.25)), v));
                vol += v;
            }
            cell_centres.push(if vol > 1e-300 { scale(ctr, 1.0 / vol) } else { est });
            cell_volumes.push(vol / 3.0);
        }
        let np = m.points.len();
        let point_cells = {
            let mark = std::cell::RefCell::new(vec![u32::MAX; np]);
            Csr::build(np, |push| {
                let mut mark = mark.borrow_mut();
                mark.iter_mut().for_each(|x| *x = u32::MAX);
                for c in 0..m.n_cells {
                    for &f in cell_faces.row(c) {
                        for &p in m.face(f as usize) {
                            if mark[p as usize] != c as u32 {
                                mark[p as usize] = c as u32;
                                push(p as usize, c as u32);
                            }
                        }
                    }
                }
            })
        };
        let mut face_patch = vec![usize::MAX; nf];
        for (pi, p) in m.patches.iter().enumerate() {
            face_patch[p.start..p.start + p.size].iter_mut().for_each(|x| *x = pi);
        }
        let point_bfaces = Csr::build(np, |push| {
            for p in m.patches.iter().filter(|p| carries_values(&p.kind)) {
                for f in p.start..p.start + p.size {
                    for &q in m.face(f) {
                        push(q as usize, f as u32);
                    }
                }
            }
        });
        let mut lo = [f64::INFINITY; 3];
        let mut hi = [f64::NEG_INFINITY; 3];
        for p in &m.points {
            for k in 0..3 {
                lo[k] = lo[k].min(p[k]);
                hi[k] = hi[k].max(p[k]);
            }
        }
        Geometry {
            face_centres,
            face_areas,
            cell_centres,
            cell_volumes,
            cell_faces,
            point_cells,
            point_bfaces,
            face_patch,
            bbox: (lo, hi),
        }
    }

    /// The vertex average of a face: the apex of the face's triangles in the tetrahedral
    /// decomposition (a linear field's value there is the mean of the face's point values).
    pub fn face_apex(m: &PolyMesh, f: usize) -> V3 {
        let face = m.face(f);
        let mut s = [0.0; 3];
        for &p in face {
            s = add(s, m.points[p as usize]);
        }
        scale(s, 1.0 / face.len() as f64)
    }
}
