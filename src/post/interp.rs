//! Cell-to-point interpolation. Each point's value is the weighted least-squares linear fit
//! (inverse-distance weights) through the centres of the cells around it and the centres of
//! the boundary faces on it, evaluated at the point. A linear field is reproduced exactly
//! (probes and isosurfaces of it are exact), and the fit's slope is the point gradient the
//! Q-criterion uses. A direction the samples do not span (one cell thick 2-D meshes) gets a
//! zero slope instead of a singular fit.
use super::geom::{dot, sub, Geometry, V3};
use super::reader::{PolyMesh, Values, VolField};

/// Values at cell centres and boundary face centres, as one sample set.
pub struct Samples<'a, const N: usize> {
    pub cells: &'a [[f64; N]],
    /// Per boundary face (global face id - n_internal).
    pub bfaces: &'a [[f64; N]],
}

/// The fit at every point: value and gradient of each of N components.
pub fn fit_points<const N: usize>(
    m: &PolyMesh,
    g: &Geometry,
    s: &Samples<N>,
    want_grad: bool,
) -> (Vec<[f64; N]>, Vec<[V3; N]>) {
    let np = m.points.len();
    let ni = m.n_internal();
    let mut vals = vec![[0.0; N]; np];
    let mut grads = if want_grad { vec![[[0.0; 3]; N]; np] } else { Vec::new() };
    let work = |range: std::ops::Range<usize>, vals: &mut [[f64; N]], grads: &mut [[V3; N]]| {
        let mut pts: Vec<(V3, f64, [f64; N])> = Vec::with_capacity(32);
        for p in range.clone() {
            let x = m.points[p];
            pts.clear();
            let mut push = |pos: V3, v: &[f64; N]| {
                let d = sub(pos, x);
                pts.push((d, 1.0 / dot(d, d).sqrt().max(1e-300), *v));
            };
            for &c in g.point_cells.row(p) {
                push(g.cell_centres[c as usize], &s.cells[c as usize]);
            }
            for &f in g.point_bfaces.row(p) {
                push(g.face_centres[f as usize], &s.bfaces[f as usize - ni]);
            }
            if pts.is_empty() {
                continue;
            }
            // Weighted means, then the centred normal equations: the value at the point is
            // the mean plus the slope times the offset, and a direction the samples do not
            // span (a zero eigenvalue) gets no slope.
            let sw: f64 = pts.iter().map(|t| t.1).sum();
            let mut dm = [0.0; 3];
            let mut fm = [0.0; N];
            for (d, w, v) in &pts {
                for k in 0..3 {
                    dm[k] += w * d[k] / sw;
                }
                for k in 0..N {
                    fm[k] += w * v[k] / sw;
                }
            }
            let mut a = [[0.0f64; 3]; 3];
            let mut r = [[0.0f64; 3]; N];
            for (d, w, v) in &pts {
                let e = sub(*d, dm);
                for i in 0..3 {
                    for j in 0..3 {
                        a[i][j] += w * e[i] * e[j];
                    }
                    for k in 0..N {
                        r[k][i] += w * e[i] * (v[k] - fm[k]);
                    }
                }
            }
            let (lam, vecs) = sym3_eigen(a);
            let top = lam.iter().fold(0.0f64, |x, &y| x.max(y.abs()));
            let lp = p - range.start;
            for k in 0..N {
                let mut gk = [0.0; 3];
                for e in 0..3 {
                    if top > 0.0 && lam[e] > 1e-9 * top {
                        let c = dot(vecs[e], r[k]) / lam[e];
                        for i in 0..3 {
                            gk[i] += c * vecs[e][i];
                        }
                    }
                }
                // The point is at offset 0: value = mean + slope · (0 - mean offset).
                vals[lp][k] = fm[k] - dot(gk, dm);
                if !grads.is_empty() {
                    grads[lp][k] = gk;
                }
            }
        }
    };
    // Point ranges on the available cores: the work is per point and independent.
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(8);
    let chunk = np.div_ceil(threads.max(1)).max(1);
    std::thread::scope(|sc| {
        let mut vrest: &mut [[f64; N]] = &mut vals;
        let mut grest: &mut [[V3; N]] = &mut grads;
        let mut start = 0;
        while start < np {
            let end = (start + chunk).min(np);
            let (v, vr) = vrest.split_at_mut(end - start);
            vrest = vr;
            let (gch, gr) = if grest.is_empty() { (&mut [][..], grest) } else { grest.split_at_mut(end - start) };
            grest = gr;
            let work = &work;
            sc.spawn(move || work(start..end, v, gch));
            start = end;
        }
    });
    (vals, grads)
}

/// Eigenvalues and unit eigenvectors of a symmetric 3×3 matrix (cyclic Jacobi).
pub fn sym3_eigen(mut a: [[f64; 3]; 3]) -> ([f64; 3], [V3; 3]) {
    let mut v = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
    for _ in 0..30 {
        let off = a[0][1].abs() + a[0][2].abs() + a[1][2].abs();
        let diag = a[0][0].abs() + a[1][1].abs() + a[2][2].abs();
        if off <= 1e-300 || off <= 1e-18 * diag {
            break;
        }
        for (p, q) in [(0, 1), (0, 2), (1, 2)] {
            if a[p][q].abs() <= 1e-300 {
                continue;
            }
            let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
            let t = if theta == 0.0 { 1.0 } else { theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt()) };
            let c = 1.0 / (t * t + 1.0).sqrt();
            let s = t * c;
            for row in a.iter_mut() {
                let (akp, akq) = (row[p], row[q]);
                row[p] = c * akp - s * akq;
                row[q] = s * akp + c * akq;
            }
            for k in 0..3 {
                let (apk, aqk) = (a[p][k], a[q][k]);
                a[p][k] = c * apk - s * aqk;
                a[q][k] = s * apk + c * aqk;
            }
            for row in v.iter_mut() {
                let (vp, vq) = (row[p], row[q]);
                row[p] = c * vp - s * vq;
                row[q] = s * vp + c * vq;
            }
        }
    }
    // Columns of v are the eigenvectors.
    let col = |j: usize| [v[0][j], v[1][j], v[2][j]];
    ([a[0][0], a[1][1], a[2][2]], [col(0), col(1), col(2)])
}

/// A field's samples: cell values, and per boundary face the patch value (or the owner
/// cell's, for patches that store none, as zeroGradient means).
pub fn samples<const N: usize>(
    m: &PolyMesh,
    f: &VolField,
    get: impl Fn(&Values, usize) -> [f64; N],
) -> (Vec<[f64; N]>, Vec<[f64; N]>) {
    let cells: Vec<[f64; N]> = (0..m.n_cells).map(|c| get(&f.cells, c)).collect();
    let ni = m.n_internal();
    let mut b = vec![[0.0; N]; m.n_faces() - ni];
    for (pi, p) in m.patches.iter().enumerate() {
        for i in 0..p.size {
            let face = p.start + i;
            b[face - ni] = match &f.patches[pi] {
                Some(v) if v.len() == p.size => get(v, i),
                _ => cells[m.owner[face] as usize],
            };
        }
    }
    (cells, b)
}

/// The value at index `i` as a scalar (a vector's magnitude), in a one-element array.
pub fn scalar_at(v: &Values, i: usize) -> [f64; 1] {
    match v {
        Values::Scalar(s) => [s[i]],
        Values::Vector(s) => [dot(s[i], s[i]).sqrt()],
    }
}

/// The value at index `i` as a vector (a scalar on x).
pub fn vector_at(v: &Values, i: usize) -> [f64; 3] {
    match v {
        Values::Scalar(s) => [s[i], 0.0, 0.0],
        Values::Vector(s) => s[i],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jacobi_diagonalises() {
        let a = [[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 1.0]];
        let (l, v) = sym3_eigen(a);
        for e in 0..3 {
            for i in 0..3 {
                let av: f64 = (0..3).map(|j| a[i][j] * v[e][j]).sum();
                assert!((av - l[e] * v[e][i]).abs() < 1e-12);
            }
        }
        // A rank-one matrix has two zero eigenvalues.
        let (l, _) = sym3_eigen([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0]]);
        let mut l = l.to_vec();
        l.sort_by(f64::total_cmp);
        assert!(l[0].abs() < 1e-15 && l[1].abs() < 1e-15 && (l[2] - 2.0).abs() < 1e-12);
    }
}
