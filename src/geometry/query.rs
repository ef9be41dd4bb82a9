//! Point queries against a surface: inside/outside and distance, accelerated by a
//! bounding-volume hierarchy so 10^5–10^6 triangles answer in microseconds.

use super::analyse::{cross, dot, sub};
use super::Surface;

/// Triangles per leaf; small leaves keep distance queries tight.
const LEAF: usize = 4;

/// Ray directions for inside tests: fixed, irrational-looking and far from any axis or
/// diagonal, so rays rarely graze the edges of CAD-aligned triangles.
const RAYS: [[f64; 3]; 3] =
    [[0.700_807, 0.506_116, 0.546_071], [-0.314_159, 0.827_183, 0.466_025], [0.271_828, -0.414_214, -0.868_589]];

#[derive(Debug, Clone)]
struct Node {
    lo: [f64; 3],
    hi: [f64; 3],
    /// Leaf: first index into `order`; inner: index of the left child.
    first: u32,
    /// Leaf: triangle count; inner: 0.
    count: u32,
    /// Inner: index of the right child.
    right: u32,
}

/// Acceleration structure for inside/outside and distance queries on one surface.
#[derive(Debug, Clone)]
pub struct Locator {
    tris: Vec<[[f64; 3]; 3]>,
    order: Vec<u32>,
    nodes: Vec<Node>,
}

impl Locator {
    /// Builds the hierarchy (median split on the longest centroid extent, O(n log n)).
    pub fn new(s: &Surface) -> Self {
        let tris: Vec<[[f64; 3]; 3]> = s
            .tris
            .iter()
            .filter(|t| t.iter().all(|&i| (i as usize) < s.points.len()))
            .map(|t| t.map(|i| s.points[i as usize]))
            .collect();
        let mut loc = Locator { order: (0..tris.len() as u32).collect(), tris, nodes: Vec::new() };
        if !loc.tris.is_empty() {
            let centroids: Vec<[f64; 3]> =
                loc.tris.iter().map(|t| [0, 1, 2].map(|k| (t[0][k] + t[1][k] + t[2][k]) / 3.0)).collect();
            let mut order = std::mem::take(&mut loc.order);
            let n = order.len();
            loc.build(&mut order, 0, n, &centroids);
            loc.order = order;
        }
        loc
    }

    /// Builds the node for `order[first..first + len]` and returns its index.
    fn build(&mut self, order: &mut [u32], first: usize, len: usize, centroids: &[[f64; 3]]) -> u32 {
        let slice = &mut order[first..first + len];
        let (lo, hi) = bounds(slice.iter().flat_map(|&t| self.tris[t as usize]));
        let id = self.nodes.len() as u32;
        self.nodes.push(Node { lo, hi, first: first as u32, count: len as u32, right: 0 });
        if len <= LEAF {
            return id;
        }
        let (clo, chi) = bounds(slice.iter().map(|&t| centroids[t as usize]));
        let axis = (0..3).max_by(|&a, &b| (chi[a] - clo[a]).total_cmp(&(chi[b] - clo[b]))).unwrap_or(0);
        let mid = len / 2;
        slice.select_nth_unstable_by(mid, |&a, &b| centroids[a as usize][axis].total_cmp(&centroids[b as usize][axis]));
        // Recursion depth is log2(n), about 25 for 3·10^7 triangles.
        let l = self.build(order, first, mid, centroids);
        let r = self.build(order, first + mid, len - mid, centroids);
        let node = &mut self.nodes[id as usize];
        node.count = 0;
        node.first = l;
        node.right = r;
        id
    }

    /// Whether `p` is inside the surface: ray parity along three fixed directions,
    /// majority vote. Exact for closed surfaces away from edges; best effort for open ones.
    pub fn contains(&self, p: [f64; 3]) -> bool {
        let Some(root) = self.nodes.first() else {
            return false;
        };
        if (0..3).any(|k| p[k] < root.lo[k] || p[k] > root.hi[k]) {
            return false;
        }
        let votes = RAYS.iter().filter(|d| self.count_hits(p, **d) % 2 == 1).count();
        votes >= 2
    }

    fn count_hits(&self, o: [f64; 3], d: [f64; 3]) -> usize {
        let inv = d.map(|c| 1.0 / c);
        let mut hits = 0;
        let mut stack = vec![0u32];
        while let Some(n) = stack.pop() {
            let node = &self.nodes[n as usize];
            if !ray_hits_box(o, inv, node.lo, node.hi) {
                continue;
            }
            if node.count > 0 {
                for &t in &self.order[node.first as usize..(node.first + node.count) as usize] {
                    hits += usize::from(ray_hits_tri(o, d, &self.tris[t as usize]));
                }
            } else {
                stack.push(node.first);
                stack.push(node.right);
            }
        }
        hits
    }

    /// Unsigned distance from `p` to the nearest triangle (infinite for an empty surface).
    pub fn distance(&self, p: [f64; 3]) -> f64 {
        if self.nodes.is_empty() {
            return f64::INFINITY;
        }
        let mut best = f64::INFINITY; // squared
        let mut stack = vec![(0u32, box_dist2(p, self.nodes[0].lo, self.nodes[0].hi))];
        while let Some((n, d2)) = stack.pop() {
            if d2 >= best {
                continue;
            }
            let node = &self.nodes[n as usize];
            if node.count > 0 {
                for &t in &self.order[node.first as usize..(node.first + node.count) as usize] {
                    let q = closest_on_tri(p, &self.tris[t as usize]);
                    let v = sub(q, p);
                    best = best.min(dot(v, v));
                }
            } else {
                let (a, b) = (node.first, node.right);
                let da = box_dist2(p, self.nodes[a as usize].lo, self.nodes[a as usize].hi);
                let db = box_dist2(p, self.nodes[b as usize].lo, self.nodes[b as usize].hi);
                // Push the farther child first so the nearer one is searched first.
                if da < db {
                    stack.push((b, db));
                    stack.push((a, da));
                } else {
                    stack.push((a, da));
                    stack.push((b, db));
                }
            }
        }
        best.sqrt()
    }
}

/// The box around the points (inverted, +inf..-inf, when there are none).
pub fn bounds(pts: impl Iterator<Item = [f64; 3]>) -> ([f64; 3], [f64; 3]) {
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [f64::NEG_INFINITY; 3];
    for p in pts {
        for k in 0..3 {
            lo[k] = lo[k].min(p[k]);
            hi[k] = hi[k].max(p[k]);
        }
    }
    (lo, hi)
}

fn box_dist2(p: [f64; 3], lo: [f64; 3], hi: [f64; 3]) -> f64 {
    (0..3).map(|k| (lo[k] - p[k]).max(p[k] - hi[k]).max(0.0).powi(2)).sum()
}

/// Slab test for a ray starting at `o` (t ≥ 0).
fn ray_hits_box(o: [f64; 3], inv: [f64; 3], lo: [f64; 3], hi: [f64; 3]) -> bool {
    let (mut t0, mut t1) = (0.0f64, f64::INFINITY);
    for k in 0..3 {
        let a = (lo[k] - o[k]) * inv[k];
        let b = (hi[k] - o[k]) * inv[k];
        t0 = t0.max(a.min(b));
        t1 = t1.min(a.max(b));
    }
    t0 <= t1
}

/// Möller–Trumbore, counting hits strictly in front of the origin.
fn ray_hits_tri(o: [f64; 3], d: [f64; 3], t: &[[f64; 3]; 3]) -> bool {
    let e1 = sub(t[1], t[0]);
    let e2 = sub(t[2], t[0]);
    let pv = cross(d, e2);
    let det = dot(e1, pv);
    if det == 0.0 {
        return false;
    }
    let inv = 1.0 / det;
    let tv = sub(o, t[0]);
    let u = dot(tv, pv) * inv;
    if !(0.0..=1.0).contains(&u) {
        return false;
    }
    let qv = cross(tv, e1);
    let v = dot(d, qv) * inv;
    if v < 0.0 || u + v > 1.0 {
        return false;
    }
    dot(e2, qv) * inv > 0.0
}

/// Closest point on a triangle (Ericson, Real-Time Collision Detection §5.1.5),
/// which handles degenerate triangles without dividing by zero areas.
fn closest_on_tri(p: [f64; 3], t: &[[f64; 3]; 3]) -> [f64; 3] {
    let [a, b, c] = *t;
    let lerp = |x: [f64; 3], y: [f64; 3], s: f64| {
        [x[0] + s * (y[0] - x[0]), x[1] + s * (y[1] - x[1]), x[2] + s * (y[2] - x[2])]
    };
    let (ab, ac, ap) = (sub(b, a), sub(c, a), sub(p, a));
    let (d1, d2) = (dot(ab, ap), dot(ac, ap));
    if d1 <= 0.0 && d2 <= 0.0 {
        return a;
    }
    let bp = sub(p, b);
    let (d3, d4) = (dot(ab, bp), dot(ac, bp));
    if d3 >= 0.0 && d4 <= d3 {
        return b;
    }
    let vc = d1 * d4 - d3 * d2;
    if vc <= 0.0 && d1 >= 0.0 && d3 <= 0.0 {
        return lerp(a, b, d1 / (d1 - d3));
    }
    let cp = sub(p, c);
    let (d5, d6) = (dot(ab, cp), dot(ac, cp));
    if d6 >= 0.0 && d5 <= d6 {
        return c;
    }
    let vb = d5 * d2 - d1 * d6;
    if vb <= 0.0 && d2 >= 0.0 && d6 <= 0.0 {
        return lerp(a, c, d2 / (d2 - d6));
    }
    let va = d3 * d6 - d5 * d4;
    if va <= 0.0 && (d4 - d3) >= 0.0 && (d5 - d6) >= 0.0 {
        return lerp(b, c, (d4 - d3) / ((d4 - d3) + (d5 - d6)));
    }
    let denom = va + vb + vc;
    if denom == 0.0 || !denom.is_finite() {
        return a;
    }
    let (v, w) = (vb / denom, vc / denom);
    [a[0] + ab[0] * v + ac[0] * w, a[1] + ab[1] * v + ac[1] * w, a[2] + ab[2] * v + ac[2] * w]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::primitives::{cuboid, merge, uv_sphere};

    #[test]
    fn cube_contains_and_distance() {
        let loc = Locator::new(&cuboid([0.0; 3], [1.0; 3], "c"));
        assert!(loc.contains([0.5, 0.5, 0.5]));
        assert!(loc.contains([0.01, 0.99, 0.5]));
        assert!(!loc.contains([1.5, 0.5, 0.5]));
        assert!(!loc.contains([0.5, 0.5, -0.01]));
        assert!((loc.distance([0.5, 0.5, 0.5]) - 0.5).abs() < 1e-12);
        assert!((loc.distance([0.5, 0.5, 3.0]) - 2.0).abs() < 1e-12);
        assert!((loc.distance([2.0, 2.0, 0.5]) - 2f64.sqrt()).abs() < 1e-12);
        assert!((loc.distance([2.0, 2.0, 2.0]) - 3f64.sqrt()).abs() < 1e-12);
        assert_eq!(loc.distance([0.3, 0.0, 0.2]), 0.0);
    }

    #[test]
    fn many_triangles_match_brute_force() {
        let s = merge(uv_sphere([0.0; 3], 1.0, 24, 48, "a"), cuboid([2.0; 3], [3.0; 3], "b"));
        let loc = Locator::new(&s);
        let tris: Vec<[[f64; 3]; 3]> = s.tris.iter().map(|t| t.map(|i| s.points[i as usize])).collect();
        for k in 0..200 {
            let f = k as f64;
            let p = [(f * 0.37).sin() * 3.0, (f * 0.71).cos() * 3.0, (f * 0.13).sin() * 3.0];
            let brute = tris.iter().map(|t| {
                let v = sub(closest_on_tri(p, t), p);
                dot(v, v)
            });
            let brute = brute.fold(f64::INFINITY, f64::min).sqrt();
            assert!((loc.distance(p) - brute).abs() < 1e-12);
            let r = dot(p, p).sqrt();
            let in_box = p.iter().all(|&c| (2.0..=3.0).contains(&c));
            if (r - 1.0).abs() > 0.01 && !in_box {
                assert_eq!(loc.contains(p), r < 1.0, "{p:?}");
            }
        }
        assert!(loc.contains([2.5, 2.5, 2.5]));
    }

    #[test]
    fn empty_locator() {
        let loc = Locator::new(&Surface::default());
        assert!(!loc.contains([0.0; 3]));
        assert_eq!(loc.distance([0.0; 3]), f64::INFINITY);
    }
}
