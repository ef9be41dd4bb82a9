//! Measurements of a surface: bounding box, area, volume, frontal area, edge topology.
//! The edge table here is the single implementation of edge counting; `heal` reuses it.

use super::Surface;

/// Summary of a surface used to size the domain and the mesh.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Analysis {
    /// Lower bounding-box corner.
    pub bbox_min: [f64; 3],
    /// Upper bounding-box corner.
    pub bbox_max: [f64; 3],
    /// Total triangle area.
    pub area: f64,
    /// Enclosed volume; only when the surface is watertight (otherwise it is meaningless).
    pub volume: Option<f64>,
    /// No open and no non-manifold edges.
    pub watertight: bool,
    /// Largest bounding-box extent.
    pub characteristic_length: f64,
    /// Silhouette area seen along the flow direction.
    pub frontal_area: f64,
    /// Per-group triangle counts and areas.
    pub groups: Vec<GroupInfo>,
}

/// Size of one group (region).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct GroupInfo {
    /// Group name.
    pub name: String,
    /// Number of triangles.
    pub triangles: usize,
    /// Total area.
    pub area: f64,
}

/// Measures `s`; `flow_dir` need not be normalised (zero falls back to +x).
pub fn analyse(s: &Surface, flow_dir: [f64; 3]) -> Analysis {
    let (bbox_min, bbox_max) = bbox(s);
    let mut groups: Vec<GroupInfo> =
        s.groups.iter().map(|n| GroupInfo { name: n.clone(), triangles: 0, area: 0.0 }).collect();
    let mut area = 0.0;
    for (i, t) in s.tris.iter().enumerate() {
        let a = tri_area(s, t);
        area += a;
        if let Some(g) = s.tri_group.get(i).and_then(|&g| groups.get_mut(g as usize)) {
            g.triangles += 1;
            g.area += a;
        }
    }
    let (open, non_manifold) = edge_stats(s);
    let watertight = !s.tris.is_empty() && open == 0 && non_manifold == 0;
    let ext = sub(bbox_max, bbox_min);
    Analysis {
        bbox_min,
        bbox_max,
        area,
        volume: watertight.then(|| signed_volume(s)),
        watertight,
        characteristic_length: ext[0].max(ext[1]).max(ext[2]).max(0.0),
        frontal_area: frontal_area(s, flow_dir, 1024),
        groups,
    }
}

/// Axis-aligned bounding box of the points (all zeros for an empty surface).
pub fn bbox(s: &Surface) -> ([f64; 3], [f64; 3]) {
    if s.points.is_empty() {
        return ([0.0; 3], [0.0; 3]);
    }
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [f64::NEG_INFINITY; 3];
    for p in &s.points {
        for k in 0..3 {
            lo[k] = lo[k].min(p[k]);
            hi[k] = hi[k].max(p[k]);
        }
    }
    (lo, hi)
}

/// Signed enclosed volume (divergence theorem); positive for outward-oriented closed surfaces.
pub fn signed_volume(s: &Surface) -> f64 {
    // Relative to a point near the body, so large offsets do not cost precision.
    let o = s.points.first().copied().unwrap_or([0.0; 3]);
    s.tris
        .iter()
        .map(|t| {
            let [a, b, c] = t.map(|i| sub(s.points[i as usize], o));
            dot(a, cross(b, c)) / 6.0
        })
        .sum()
}

/// Counts `(open_edges, non_manifold_edges)`: edges used by one triangle, and edges
/// used by more than two.
pub fn edge_stats(s: &Surface) -> (usize, usize) {
    let edges = sorted_edges(&s.tris);
    let (mut open, mut non_manifold) = (0, 0);
    for run in edge_runs(&edges) {
        match run.len() {
            1 => open += 1,
            2 => {}
            _ => non_manifold += 1,
        }
    }
    (open, non_manifold)
}

/// One use of an undirected edge by a triangle.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EdgeUse {
    /// `min << 32 | max` of the two vertex indices.
    pub key: u64,
    /// Triangle index.
    pub tri: u32,
    /// Whether the triangle traverses the edge from the smaller to the larger index.
    pub forward: bool,
}

/// All edge uses, sorted so uses of the same edge are adjacent. Sorting beats a hash
/// map here: one allocation and cache-friendly for 10^6 edges.
pub(crate) fn sorted_edges(tris: &[[u32; 3]]) -> Vec<EdgeUse> {
    let mut e = Vec::with_capacity(tris.len() * 3);
    for (t, tri) in tris.iter().enumerate() {
        for k in 0..3 {
            let (a, b) = (tri[k], tri[(k + 1) % 3]);
            let (lo, hi) = if a < b { (a, b) } else { (b, a) };
            e.push(EdgeUse { key: (lo as u64) << 32 | hi as u64, tri: t as u32, forward: a < b });
        }
    }
    e.sort_unstable_by_key(|u| (u.key, u.tri));
    e
}

/// Splits sorted edge uses into runs of the same edge.
pub(crate) fn edge_runs(edges: &[EdgeUse]) -> impl Iterator<Item = &[EdgeUse]> {
    edges.chunk_by(|a, b| a.key == b.key)
}

/// Area of triangle `t` of `s`.
pub(crate) fn tri_area(s: &Surface, t: &[u32; 3]) -> f64 {
    let [a, b, c] = t.map(|i| s.points[i as usize]);
    0.5 * norm(cross(sub(b, a), sub(c, a)))
}

/// Unit normal of triangle (a, b, c) by the right-hand rule; zero if degenerate.
pub(crate) fn unit_normal(a: [f64; 3], b: [f64; 3], c: [f64; 3]) -> [f64; 3] {
    let n = cross(sub(b, a), sub(c, a));
    let l = norm(n);
    if l > 0.0 && l.is_finite() {
        [n[0] / l, n[1] / l, n[2] / l]
    } else {
        [0.0; 3]
    }
}

/// Silhouette area along `flow_dir`, by scan-converting every triangle's projection
/// onto a boolean grid with `cells` cells along the longest projected extent. A grid
/// (rather than summing projected areas) gets overlapping parts and concave bodies right.
pub(crate) fn frontal_area(s: &Surface, flow_dir: [f64; 3], cells: usize) -> f64 {
    if s.tris.is_empty() {
        return 0.0;
    }
    let (u, v) = plane_basis(flow_dir);
    let proj: Vec<[f64; 2]> = s.points.iter().map(|&p| [dot(p, u), dot(p, v)]).collect();
    let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
    for t in &s.tris {
        for &i in t {
            let q = proj[i as usize];
            for k in 0..2 {
                lo[k] = lo[k].min(q[k]);
                hi[k] = hi[k].max(q[k]);
            }
        }
    }
    let longest = (hi[0] - lo[0]).max(hi[1] - lo[1]);
    if !(longest > 0.0 && longest.is_finite()) {
        return 0.0;
    }
    let h = longest / cells as f64;
    let nx = (((hi[0] - lo[0]) / h).ceil() as usize).clamp(1, cells);
    let ny = (((hi[1] - lo[1]) / h).ceil() as usize).clamp(1, cells);
    let mut grid = vec![false; nx * ny];
    // Cell-centre sampling with an inclusive edge test: a centre on a shared edge is
    // covered by both triangles, so no cracks open between neighbours.
    let eps = 1e-12 * longest * longest;
    for t in &s.tris {
        let [a, b, c] = t.map(|i| {
            let q = proj[i as usize];
            [(q[0] - lo[0]) / h, (q[1] - lo[1]) / h]
        });
        let area2 = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
        if area2.abs() <= 1e-12 {
            continue; // edge-on triangles cover no area
        }
        let sign = area2.signum();
        let x0 = (a[0].min(b[0]).min(c[0]) - 0.5).ceil().max(0.0) as usize;
        let x1 = ((a[0].max(b[0]).max(c[0]) - 0.5).floor().max(-1.0) as isize).min(nx as isize - 1);
        let y0 = (a[1].min(b[1]).min(c[1]) - 0.5).ceil().max(0.0) as usize;
        let y1 = ((a[1].max(b[1]).max(c[1]) - 0.5).floor().max(-1.0) as isize).min(ny as isize - 1);
        if x1 < 0 || y1 < 0 {
            continue;
        }
        // Each edge function is linear in x along a row, so the covered cells of a row are
        // one span: O(rows) per triangle instead of O(bounding-box cells) for slivers.
        let edges = [(a, b), (b, c), (c, a)];
        for iy in y0..=y1 as usize {
            let y = iy as f64 + 0.5;
            let (mut lo_x, mut hi_x) = (x0 as f64, x1 as f64);
            for (p, q) in edges {
                // sign * ((q0 - p0)(y - p1) - (q1 - p1)(x - p0)) >= -eps, i.e. ax * x + c >= -eps
                let ax = -sign * (q[1] - p[1]);
                let c = sign * ((q[0] - p[0]) * (y - p[1]) + (q[1] - p[1]) * p[0]);
                if ax > 0.0 {
                    lo_x = lo_x.max(((-eps - c) / ax - 0.5).ceil());
                } else if ax < 0.0 {
                    hi_x = hi_x.min(((-eps - c) / ax - 0.5).floor());
                } else if c < -eps {
                    hi_x = lo_x - 1.0;
                }
            }
            if lo_x <= hi_x {
                let row = iy * nx;
                grid[row + lo_x as usize..=row + hi_x as usize].fill(true);
            }
        }
    }
    grid.iter().filter(|&&g| g).count() as f64 * h * h
}

/// Orthonormal `(u, v)` spanning the plane normal to `d`; axis-aligned when `d` is.
fn plane_basis(d: [f64; 3]) -> ([f64; 3], [f64; 3]) {
    let l = norm(d);
    let d = if l > 0.0 && l.is_finite() { [d[0] / l, d[1] / l, d[2] / l] } else { [1.0, 0.0, 0.0] };
    // The axis least aligned with d gives the best-conditioned cross product.
    let k = (0..3).min_by(|&i, &j| d[i].abs().total_cmp(&d[j].abs())).unwrap_or(0);
    let mut axis = [0.0; 3];
    axis[k] = 1.0;
    let u = cross(d, axis);
    let lu = norm(u);
    let u = [u[0] / lu, u[1] / lu, u[2] / lu];
    (u, cross(d, u))
}

pub(crate) fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
pub(crate) fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
pub(crate) fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}
pub(crate) fn norm(a: [f64; 3]) -> f64 {
    dot(a, a).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::primitives::{cuboid, merge, uv_sphere};

    #[test]
    fn unit_cube() {
        let s = cuboid([0.0; 3], [1.0; 3], "cube");
        let a = analyse(&s, [1.0, 0.0, 0.0]);
        assert!((a.area - 6.0).abs() < 1e-12);
        assert!((a.volume.unwrap() - 1.0).abs() < 1e-12);
        assert!(a.watertight);
        assert_eq!(a.characteristic_length, 1.0);
        assert!((a.frontal_area - 1.0).abs() < 0.01, "{}", a.frontal_area);
        assert_eq!(a.groups[0].triangles, 12);
        assert_eq!(edge_stats(&s), (0, 0));
        // Along a diagonal the silhouette is a regular hexagon of area sqrt(3).
        let diag = analyse(&s, [1.0, 1.0, 1.0]).frontal_area;
        assert!((diag - 3f64.sqrt()).abs() < 0.01 * 3f64.sqrt(), "{diag}");
    }

    #[test]
    fn sphere_frontal_area() {
        let s = uv_sphere([1.0, 2.0, 3.0], 1.0, 64, 128, "ball");
        let fa = analyse(&s, [0.0, 0.0, -2.0]).frontal_area;
        let pi = std::f64::consts::PI;
        assert!((fa - pi).abs() < 0.015 * pi, "{fa}");
        let fa = analyse(&s, [0.3, -0.5, 0.2]).frontal_area;
        assert!((fa - pi).abs() < 0.015 * pi, "{fa}");
    }

    #[test]
    fn two_parts_and_overlap() {
        // Two cubes side by side seen from the front add up; one behind the other does not.
        let a = cuboid([0.0; 3], [1.0; 3], "a");
        let side = merge(a.clone(), cuboid([0.0, 2.0, 0.0], [1.0, 3.0, 1.0], "b"));
        assert!((analyse(&side, [1.0, 0.0, 0.0]).frontal_area - 2.0).abs() < 0.02);
        let behind = merge(a, cuboid([2.0, 0.0, 0.0], [3.0, 1.0, 1.0], "b"));
        assert!((analyse(&behind, [1.0, 0.0, 0.0]).frontal_area - 1.0).abs() < 0.01);
    }

    #[test]
    fn open_surface_has_no_volume() {
        let mut s = cuboid([0.0; 3], [1.0; 3], "c");
        s.tris.truncate(10);
        s.tri_group.truncate(10);
        let a = analyse(&s, [1.0, 0.0, 0.0]);
        assert!(!a.watertight);
        assert_eq!(a.volume, None);
        assert_eq!(edge_stats(&s), (4, 0));
    }

    #[test]
    fn empty_surface() {
        let a = analyse(&Surface::default(), [0.0; 3]);
        assert_eq!(a.area, 0.0);
        assert_eq!(a.frontal_area, 0.0);
        assert!(!a.watertight);
    }
}
