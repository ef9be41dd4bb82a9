//! The mesh's own lines on a plane: where a plane crosses each face of the mesh, the
//! segment it cuts from that face. Drawn together these are the outlines of the cut cells,
//! so a picture of them shows the cells and their layers (the report's "cut through the
//! mesh"); `extract::cut` gives the filled cut with its values instead.
//!
//! A point lying exactly on the plane counts as on its positive side (a symbolic shift of
//! the plane by an infinitesimal amount against its normal). So a plane through mesh points
//! (a centre plane of a block mesh, say) still gives each cell edge in it exactly once, and
//! faces lying in the plane, or touching it at a point, give nothing.
use super::extract::{Fx, PolyData};
use super::geom::{cross, dot, lerp, norm, scale, sub, V3};
use super::reader::PolyMesh;
use super::{Case, PostError};
use std::collections::HashMap;

/// The segments the plane through `origin` with normal `normal` cuts from the faces of the
/// case's mesh, as two-point polylines.
pub fn cut_edges(case: &Case, origin: V3, normal: V3) -> Result<PolyData, PostError> {
    cut_mesh_edges(&case.mesh, origin, normal)
}

/// [`cut_edges`] on a mesh.
pub fn cut_mesh_edges(m: &PolyMesh, origin: V3, normal: V3) -> Result<PolyData, PostError> {
    let len = norm(normal);
    if !(len > 0.0 && len.is_finite()) || !origin.iter().all(|x| x.is_finite()) {
        return Err(PostError::BadInput(format!(
            "a cut plane needs a finite origin and a non-zero normal; got origin {origin:?}, normal {normal:?}"
        )));
    }
    let n = [normal[0] / len, normal[1] / len, normal[2] / len];
    // Distances within rounding of zero are zero: a mesh's points on a centre plane carry
    // noise of 1e-16 m either side, which would cut faces lying in the plane into
    // spurious chords.
    let (mut lo, mut hi) = ([f64::INFINITY; 3], [f64::NEG_INFINITY; 3]);
    for p in &m.points {
        for k in 0..3 {
            lo[k] = lo[k].min(p[k]);
            hi[k] = hi[k].max(p[k]);
        }
    }
    let tol = 1e-9 * (0..3).map(|k| (hi[k] - lo[k]).abs()).fold(0.0, f64::max);
    let dist: Vec<f64> = m
        .points
        .iter()
        .map(|&p| {
            let d = dot(sub(p, origin), n);
            if d.abs() <= tol {
                0.0
            } else {
                d
            }
        })
        .collect();
    let below = |p: u32| dist[p as usize] < 0.0;
    let mut out = PolyData::default();
    // Crossing points by the edge they lie on ((v, v) when that is the mesh point v).
    let mut ids: HashMap<(u32, u32), u32, Fx> = HashMap::default();
    let mut hits: Vec<((u32, u32), V3)> = Vec::new();
    for f in 0..m.n_faces() {
        let face = m.face(f);
        let nb = face.iter().filter(|&&p| below(p)).count();
        if nb == 0 || nb == face.len() {
            continue;
        }
        hits.clear();
        for (k, &a) in face.iter().enumerate() {
            let b = face[(k + 1) % face.len()];
            if below(a) == below(b) {
                continue;
            }
            let (da, db) = (dist[a as usize], dist[b as usize]);
            let t = da / (da - db);
            let (pa, pb) = (m.points[a as usize], m.points[b as usize]);
            // A mesh point taken as on the plane is put exactly on it.
            let onto = |p: V3| sub(p, scale(n, dot(sub(p, origin), n)));
            hits.push(if t <= 0.0 {
                ((a, a), onto(pa))
            } else if t >= 1.0 {
                ((b, b), onto(pb))
            } else {
                ((a.min(b), a.max(b)), lerp(pa, pb, t))
            });
        }
        if hits.len() > 2 {
            // A non-convex face crossed more than twice: pair the crossings in their order
            // along the cut line through it.
            let along = cross(n, newell(m, face));
            hits.sort_by(|a, b| dot(a.1, along).total_cmp(&dot(b.1, along)));
        }
        for pair in hits.chunks_exact(2) {
            let (a, b) = (pair[0], pair[1]);
            if a.0 == b.0 {
                continue;
            }
            let mut id = |(key, p): ((u32, u32), V3)| {
                *ids.entry(key).or_insert_with(|| {
                    out.points.push(p);
                    (out.points.len() - 1) as u32
                })
            };
            let line = vec![id(a), id(b)];
            out.lines.push(line);
        }
    }
    Ok(out)
}

/// A polygon's area vector by Newell's method.
fn newell(m: &PolyMesh, face: &[u32]) -> V3 {
    let mut s = [0.0; 3];
    for (k, &a) in face.iter().enumerate() {
        let (p, q) = (m.points[a as usize], m.points[face[(k + 1) % face.len()] as usize]);
        s[0] += (p[1] - q[1]) * (p[2] + q[2]);
        s[1] += (p[2] - q[2]) * (p[0] + q[0]);
        s[2] += (p[0] - q[0]) * (p[1] + q[1]);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::post::Source;
    use std::path::Path;

    /// A block of n × n × n unit hexahedra from 0 to n (faces only: cutting needs no more).
    fn block(n: usize) -> PolyMesh {
        let id = |i: usize, j: usize, k: usize| (i + (n + 1) * (j + (n + 1) * k)) as u32;
        let mut m = PolyMesh::default();
        for k in 0..=n {
            for j in 0..=n {
                for i in 0..=n {
                    m.points.push([i as f64, j as f64, k as f64]);
                }
            }
        }
        m.face_offsets.push(0);
        let mut push = |f: [u32; 4]| {
            m.face_points.extend(f);
            m.face_offsets.push(m.face_points.len());
        };
        for a in 0..=n {
            for b in 0..n {
                for c in 0..n {
                    push([id(a, b, c), id(a, b + 1, c), id(a, b + 1, c + 1), id(a, b, c + 1)]);
                    push([id(b, a, c), id(b + 1, a, c), id(b + 1, a, c + 1), id(b, a, c + 1)]);
                    push([id(b, c, a), id(b + 1, c, a), id(b + 1, c + 1, a), id(b, c + 1, a)]);
                }
            }
        }
        m
    }

    #[test]
    fn a_block_cut_between_and_through_its_points_gives_each_cell_edge_once() {
        let mut m = block(3);
        // Points on y = 1 off by rounding either side, as a block mesh's often are.
        for (i, p) in m.points.iter_mut().enumerate() {
            if p[1] == 1.0 {
                p[1] += if i % 3 == 0 {
                    2e-16
                } else if i % 3 == 1 {
                    -2e-16
                } else {
                    0.0
                };
            }
        }
        for y in [1.5, 1.0, 0.0, 3.0] {
            let cut = cut_mesh_edges(&m, [0.0, y, 0.0], [0.0, 2.0, 0.0]).unwrap();
            // The cell outlines of a 3 × 3 grid: 4 lines of 3 segments each way. At y = 0
            // every point is on the plane's positive side: nothing is cut.
            let want = if y == 0.0 { 0 } else { 24 };
            assert_eq!(cut.lines.len(), want, "y = {y}");
            assert!(cut.points.iter().all(|p| (p[1] - y).abs() < 1e-15));
            assert!((cut.line_length() - want as f64).abs() < 1e-12);
            let mut keys: Vec<_> = cut.lines.iter().map(|l| (l[0].min(l[1]), l[0].max(l[1]))).collect();
            keys.sort();
            keys.dedup();
            assert_eq!(keys.len(), want, "no segment twice");
        }
        // A slanted plane cuts the block too; a zero normal is refused.
        let cut = cut_mesh_edges(&m, [1.5; 3], [1.0, 1.0, 0.3]).unwrap();
        assert!(cut.lines.iter().all(|l| l.len() == 2 && l[0] != l[1]));
        assert!(cut.points.iter().all(|p| (dot(sub(*p, [1.5; 3]), [1.0, 1.0, 0.3])).abs() < 1e-12));
        assert!(cut_mesh_edges(&m, [0.0; 3], [0.0; 3]).unwrap_err().to_string().contains("non-zero normal"));
    }

    #[test]
    fn the_cube_results_centre_cut_shows_the_refined_cells_near_the_body() {
        let root = Path::new("/tmp/cube-out/case");
        if !root.is_dir() {
            eprintln!(
                "skipped: no cube result at {} (flowcfd run examples/cube.toml --out /tmp/cube-out)",
                root.display()
            );
            return;
        }
        let case = Case::open(root, None, Source::Auto).unwrap();
        let cut = cut_edges(&case, [0.0; 3], [0.0, 1.0, 0.0]).unwrap();
        assert!(cut.points.iter().all(|p| p[1].abs() < 1e-9), "every segment lies on y = 0");
        let n = cut.lines.len();
        // ~40 000 cells: a centre plane crosses a few thousand of them.
        assert!((1_000..100_000).contains(&n), "{n} segments");
        // The same-sized window (1.5 × 1.5 m) just above the 1 m cube and far upstream.
        let count = |x0: f64, z0: f64| {
            cut.lines
                .iter()
                .filter(|l| {
                    let (a, b) = (cut.points[l[0] as usize], cut.points[l[1] as usize]);
                    let (x, z) = (0.5 * (a[0] + b[0]), 0.5 * (a[2] + b[2]));
                    (x0..x0 + 1.5).contains(&x) && (z0..z0 + 1.5).contains(&z)
                })
                .count()
        };
        let (near, far) = (count(-0.75, 0.5), count(-3.5, 0.5));
        eprintln!("{n} segments; {near} just above the cube, {far} upstream");
        assert!(near > 4 * far.max(1), "layers and refinement near the body: {near} vs {far}");
    }
}
