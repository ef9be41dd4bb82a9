//! Point location, probes and streamlines. A BVH over cell bounds finds candidate cells; a
//! point is in a cell when it is in one of the cell's (cell apex, face apex, edge)
//! tetrahedra, whose barycentric weights then interpolate the point values linearly (exact
//! for a linear field). Streamlines are RK4 with a step of a fraction of the local cell
//! size (so it adapts to the mesh), walking from cell to neighbour and falling back to the
//! BVH.
use super::extract::PolyData;
use super::geom::{add, dot, norm, scale, sub, Geometry, V3};
use super::reader::PolyMesh;
use super::{Case, FieldSel, PostError};

#[derive(Debug, Clone, Copy)]
struct Node {
    lo: V3,
    hi: V3,
    /// Leaf: first item index, count > 0. Inner: left child = index + 1, right = `first`.
    first: u32,
    count: u32,
}

/// A bounding-volume hierarchy over cells, with their bounds and sizes.
pub struct Locator {
    nodes: Vec<Node>,
    items: Vec<u32>,
    cell_lo: Vec<V3>,
    cell_hi: Vec<V3>,
}

const LEAF: usize = 4;

impl Locator {
    /// Builds the cell search tree of a mesh.
    pub fn new(m: &PolyMesh, g: &Geometry) -> Locator {
        let n = m.n_cells;
        let mut cell_lo = vec![[f64::INFINITY; 3]; n];
        let mut cell_hi = vec![[f64::NEG_INFINITY; 3]; n];
        for c in 0..n {
            for &f in g.cell_faces.row(c) {
                for &p in m.face(f as usize) {
                    let x = m.points[p as usize];
                    for k in 0..3 {
                        cell_lo[c][k] = cell_lo[c][k].min(x[k]);
                        cell_hi[c][k] = cell_hi[c][k].max(x[k]);
                    }
                }
            }
        }
        let mut items: Vec<u32> = (0..n as u32).collect();
        let mut nodes: Vec<Node> = Vec::with_capacity(2 * n / LEAF + 1);
        let centre = |c: u32, k: usize| 0.5 * (cell_lo[c as usize][k] + cell_hi[c as usize][k]);
        // Iterative build: (node index, item range).
        let mut stack = vec![(usize::MAX, 0usize, n)];
        while let Some((parent, a, b)) = stack.pop() {
            let (mut lo, mut hi) = ([f64::INFINITY; 3], [f64::NEG_INFINITY; 3]);
            for &c in &items[a..b] {
                for k in 0..3 {
                    lo[k] = lo[k].min(cell_lo[c as usize][k]);
                    hi[k] = hi[k].max(cell_hi[c as usize][k]);
                }
            }
            let me = nodes.len();
            if parent != usize::MAX && parent + 1 != me {
                nodes[parent].first = me as u32;
            }
            if b - a <= LEAF {
                nodes.push(Node { lo, hi, first: a as u32, count: (b - a) as u32 });
                continue;
            }
            nodes.push(Node { lo, hi, first: 0, count: 0 });
            let axis = (0..3).max_by(|&i, &j| (hi[i] - lo[i]).total_cmp(&(hi[j] - lo[j]))).unwrap();
            let mid = (a + b) / 2;
            items[a..b].select_nth_unstable_by(mid - a, |&x, &y| centre(x, axis).total_cmp(&centre(y, axis)));
            // Right first on the stack so the left child is built next (index me + 1).
            stack.push((me, mid, b));
            stack.push((me, a, mid));
        }
        Locator { nodes, items, cell_lo, cell_hi }
    }

    /// Cells whose bounds hold `x`, visited until `f` returns `Some`.
    fn visit<T>(&self, x: V3, mut f: impl FnMut(usize) -> Option<T>) -> Option<T> {
        if self.nodes.is_empty() {
            return None;
        }
        let inside = |lo: &V3, hi: &V3| {
            (0..3).all(|k| x[k] >= lo[k] - 1e-12 * (1.0 + lo[k].abs()) && x[k] <= hi[k] + 1e-12 * (1.0 + hi[k].abs()))
        };
        let mut stack = vec![0usize];
        while let Some(i) = stack.pop() {
            let n = &self.nodes[i];
            if !inside(&n.lo, &n.hi) {
                continue;
            }
            if n.count > 0 {
                for &c in &self.items[n.first as usize..(n.first + n.count) as usize] {
                    if inside(&self.cell_lo[c as usize], &self.cell_hi[c as usize]) {
                        if let Some(r) = f(c as usize) {
                            return Some(r);
                        }
                    }
                }
            } else {
                stack.push(n.first as usize);
                stack.push(i + 1);
            }
        }
        None
    }

    /// The size of a cell: its bounding-box diagonal (VTK's "cell length").
    pub fn cell_size(&self, c: usize) -> f64 {
        norm(sub(self.cell_hi[c], self.cell_lo[c]))
    }
}

/// Where a point is: its cell and the linear weights of the tet vertices holding it.
#[derive(Debug, Clone)]
pub struct Hit {
    pub cell: usize,
    /// (mesh point ids with weights); the face and cell apexes are spread over their points.
    pub weights: Vec<(u32, f64)>,
}

/// Barycentric coordinates of x in tet (a, b, c, d), or None if degenerate.
fn bary(x: V3, a: V3, b: V3, c: V3, d: V3) -> Option<[f64; 4]> {
    let (e1, e2, e3, r) = (sub(b, a), sub(c, a), sub(d, a), sub(x, a));
    let det = dot(e1, super::geom::cross(e2, e3));
    if det.abs() < 1e-300 {
        return None;
    }
    let l1 = dot(r, super::geom::cross(e2, e3)) / det;
    let l2 = dot(e1, super::geom::cross(r, e3)) / det;
    let l3 = dot(e1, super::geom::cross(e2, r)) / det;
    Some([1.0 - l1 - l2 - l3, l1, l2, l3])
}

/// Whether x is in cell c; if so, the weights of mesh points that interpolate there.
pub fn in_cell(m: &PolyMesh, g: &Geometry, c: usize, x: V3) -> Option<Hit> {
    let faces = g.cell_faces.row(c);
    let apexes: Vec<V3> = faces.iter().map(|&f| Geometry::face_apex(m, f as usize)).collect();
    let cx = scale(apexes.iter().fold([0.0; 3], |s, &a| add(s, a)), 1.0 / faces.len() as f64);
    let tol = -1e-10;
    for (j, &f) in faces.iter().enumerate() {
        let face = m.face(f as usize);
        let n = face.len();
        for i in 0..n {
            let (p, q) = (face[i], face[(i + 1) % n]);
            let Some(l) = bary(x, cx, apexes[j], m.points[p as usize], m.points[q as usize]) else { continue };
            if l.iter().all(|&v| v >= tol) {
                // Spread the apex weights over the points they average.
                let mut w: Vec<(u32, f64)> = vec![(p, l[2]), (q, l[3])];
                let kf = l[1] / n as f64;
                w.extend(face.iter().map(|&r| (r, kf)));
                let nfaces = faces.len() as f64;
                for &ff in faces {
                    let fp = m.face(ff as usize);
                    let k = l[0] / nfaces / fp.len() as f64;
                    w.extend(fp.iter().map(|&r| (r, k)));
                }
                return Some(Hit { cell: c, weights: w });
            }
        }
    }
    None
}

impl Case {
    /// Finds the cell holding `x`, trying `hint` and its neighbours first.
    pub fn locate(&self, x: V3, hint: Option<usize>) -> Option<Hit> {
        if x.iter().any(|v| !v.is_finite()) {
            return None;
        }
        let (m, g) = (&self.mesh, &self.geom);
        if let Some(c) = hint {
            if let Some(h) = in_cell(m, g, c, x) {
                return Some(h);
            }
            for &f in g.cell_faces.row(c) {
                let f = f as usize;
                if f < m.n_internal() {
                    let other = if m.owner[f] as usize == c { m.neighbour[f] } else { m.owner[f] } as usize;
                    if let Some(h) = in_cell(m, g, other, x) {
                        return Some(h);
                    }
                }
            }
        }
        self.locator().visit(x, |c| in_cell(m, g, c, x))
    }

    /// The selection's value at each point (`None` outside the mesh).
    pub fn probe(&self, sel: &FieldSel, points: &[V3]) -> Result<Vec<Option<f64>>, PostError> {
        let v = self.point_scalars(sel)?;
        Ok(points
            .iter()
            .map(|&x| self.locate(x, None).map(|h| h.weights.iter().map(|&(p, w)| w * v[p as usize]).sum()))
            .collect())
    }
}

/// How streamlines are seeded and integrated.
#[derive(Debug, Clone)]
pub struct StreamOptions {
    pub field: String,
    pub color_by: Option<FieldSel>,
    /// Forward along the field, backward, or both halves.
    pub direction: Direction,
    /// Stop after this length (default: the largest side of the mesh's bounding box).
    pub max_length: Option<f64>,
    pub max_steps: usize,
    /// Step length as a fraction of the local cell size (its bounding-box diagonal).
    pub step_cells: f64,
}

/// Which way streamlines are integrated from their seeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Forward,
    Backward,
    Both,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            field: "U".into(),
            color_by: None,
            direction: Direction::Both,
            max_length: None,
            max_steps: 4000,
            step_cells: 0.25,
        }
    }
}

/// Seeds evenly along a segment, ends included.
pub fn seeds_on_line(a: V3, b: V3, n: usize) -> Vec<V3> {
    match n {
        0 => vec![],
        1 => vec![super::geom::lerp(a, b, 0.5)],
        _ => (0..n).map(|i| super::geom::lerp(a, b, i as f64 / (n - 1) as f64)).collect(),
    }
}

/// Seeds on an `nu` × `nv` grid of the parallelogram origin + s·u + t·v, s, t in [0, 1].
pub fn seeds_on_plane(origin: V3, u: V3, v: V3, nu: usize, nv: usize) -> Vec<V3> {
    let f = |i: usize, n: usize| if n <= 1 { 0.5 } else { i as f64 / (n - 1) as f64 };
    let mut out = Vec::with_capacity(nu * nv);
    for j in 0..nv {
        for i in 0..nu {
            out.push(add(origin, add(scale(u, f(i, nu)), scale(v, f(j, nv)))));
        }
    }
    out
}

/// `n` seeds at random in a box, reproducible from `seed`.
pub fn seeds_in_box(lo: V3, hi: V3, n: usize, seed: u64) -> Vec<V3> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..n)
        .map(|_| [lo[0] + next() * (hi[0] - lo[0]), lo[1] + next() * (hi[1] - lo[1]), lo[2] + next() * (hi[2] - lo[2])])
        .collect()
}

/// Streamlines from `seeds`: one polyline per seed that lies in the mesh (both halves
/// joined when integrating both ways), coloured by `color_by` (|U| by default).
pub fn streamlines(case: &Case, seeds: &[V3], opt: &StreamOptions) -> Result<PolyData, PostError> {
    let u = case.point_vectors(&opt.field)?;
    let color = opt.color_by.clone().unwrap_or(FieldSel { name: opt.field.clone(), part: super::Part::Mag });
    let cv = case.point_scalars(&color)?;
    let (lo, hi) = case.geom.bbox;
    let d = sub(hi, lo);
    let max_len = opt.max_length.unwrap_or(d[0].max(d[1]).max(d[2]));
    if !(max_len > 0.0 && max_len.is_finite()) || !(opt.step_cells > 0.0 && opt.step_cells.is_finite()) {
        return Err(PostError::BadInput("the streamline length and step must be positive numbers".into()));
    }
    // Integrate seeds on two threads.
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 8);
    let chunk = seeds.len().div_ceil(threads).max(1);
    let results: Vec<Vec<Option<Vec<(V3, f64)>>>> = std::thread::scope(|sc| {
        let hs: Vec<_> = seeds
            .chunks(chunk)
            .map(|part| {
                let (u, cv) = (&u, &cv);
                sc.spawn(move || part.iter().map(|&s| trace(case, s, u, cv, max_len, opt)).collect::<Vec<_>>())
            })
            .collect();
        hs.into_iter().map(|h| h.join().expect("streamline thread")).collect()
    });
    let mut out = PolyData::default();
    let mut colours = Vec::new();
    for line in results.into_iter().flatten().flatten() {
        if line.len() < 2 {
            continue;
        }
        let start = out.points.len() as u32;
        for (x, c) in &line {
            out.points.push(*x);
            colours.push(*c);
        }
        out.lines.push((start..out.points.len() as u32).collect());
    }
    out.scalars = Some((color.label(), colours));
    Ok(out)
}

fn sample(case: &Case, x: V3, hint: Option<usize>, u: &[V3]) -> Option<(V3, usize, Vec<(u32, f64)>)> {
    let h = case.locate(x, hint)?;
    let mut v = [0.0; 3];
    for &(p, w) in &h.weights {
        v = add(v, scale(u[p as usize], w));
    }
    Some((v, h.cell, h.weights))
}

/// One streamline through `seed`: points with the colour value at each.
fn trace(case: &Case, seed: V3, u: &[V3], cv: &[f64], max_len: f64, opt: &StreamOptions) -> Option<Vec<(V3, f64)>> {
    let first = sample(case, seed, None, u)?;
    let colour = |w: &[(u32, f64)]| w.iter().map(|&(p, k)| k * cv[p as usize]).sum::<f64>();
    let half = |sign: f64, budget: f64| -> Vec<(V3, f64)> {
        let mut pts = Vec::new();
        let (mut x, mut cell) = (seed, first.1);
        let mut len = 0.0;
        for _ in 0..opt.max_steps {
            let Some((v0, c0, _)) = sample(case, x, Some(cell), u) else { break };
            cell = c0;
            let speed = norm(v0);
            if speed < 1e-12 || len >= budget {
                break;
            }
            // A step of step_cells cells, as time; shortened to land on the length budget.
            let h_len = (opt.step_cells * case.locator().cell_size(cell)).min(budget - len);
            let h = sign * h_len / speed;
            let Some((xn, cn, wn)) = rk4(case, x, cell, h, u) else {
                // The step leaves the mesh: go straight to the boundary (bisection on the
                // Euler step) and stop there.
                let (mut a, mut b) = (0.0, 1.0);
                for _ in 0..40 {
                    let mid = 0.5 * (a + b);
                    if case.locate(add(x, scale(v0, mid * h)), Some(cell)).is_some() {
                        a = mid;
                    } else {
                        b = mid;
                    }
                }
                if a > 0.0 {
                    let xe = add(x, scale(v0, a * h));
                    if let Some(hit) = case.locate(xe, Some(cell)) {
                        pts.push((xe, colour(&hit.weights)));
                    }
                }
                break;
            };
            len += norm(sub(xn, x));
            x = xn;
            cell = cn;
            pts.push((x, colour(&wn)));
        }
        pts
    };
    let start = (seed, colour(&first.2));
    let mut line = Vec::new();
    match opt.direction {
        Direction::Forward => {
            line.push(start);
            line.extend(half(1.0, max_len));
        }
        Direction::Backward => {
            line.push(start);
            line.extend(half(-1.0, max_len));
        }
        Direction::Both => {
            let mut back = half(-1.0, max_len);
            back.reverse();
            line.extend(back);
            line.push(start);
            line.extend(half(1.0, max_len));
        }
    }
    Some(line)
}

fn rk4(case: &Case, x: V3, cell: usize, h: f64, u: &[V3]) -> Option<(V3, usize, Vec<(u32, f64)>)> {
    let (k1, c1, _) = sample(case, x, Some(cell), u)?;
    let (k2, c2, _) = sample(case, add(x, scale(k1, 0.5 * h)), Some(c1), u)?;
    let (k3, c3, _) = sample(case, add(x, scale(k2, 0.5 * h)), Some(c2), u)?;
    let (k4, _, _) = sample(case, add(x, scale(k3, h)), Some(c3), u)?;
    let dx = scale(add(add(k1, scale(k2, 2.0)), add(scale(k3, 2.0), k4)), h / 6.0);
    let xn = add(x, dx);
    let (_, cn, wn) = sample(case, xn, Some(c3), u)?;
    Some((xn, cn, wn))
}
