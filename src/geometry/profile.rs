//! Extruded 2D profiles as closed surfaces: the geometry of FlowCFD's 2D mode (a profile
//! extruded along z) and of the validation suite's 2D cases.
//!
//! [`extruded_profile`] extrudes any simple polygon in the x-y plane between two z planes
//! and closes both ends, so the result is watertight and outward-facing as built.
//! [`circle`] and [`naca4`] give the two profiles engineers reach for first: a cylinder
//! of diameter `D` and a NACA 4-digit airfoil.
//!
//! ```
//! use flowcfd::geometry::profile::{circle, extruded_profile, naca4};
//! // A cylinder of diameter 1 m (96 segments), 4 m long along z, in group "cylinder".
//! let cyl = extruded_profile(&circle([0.0, 0.0], 1.0, 96), -2.0, 2.0, "cylinder");
//! assert_eq!(cyl.groups, vec!["cylinder".to_string()]);
//! // A NACA 2412 of chord 1 m, 80 points per side, from z = 0 to z = 0.5.
//! let wing = extruded_profile(&naca4("2412", 1.0, 80).unwrap(), 0.0, 0.5, "wing");
//! assert!(wing.tris.len() > 300);
//! ```

use super::Surface;

/// Points of a circle of diameter `d` centred at `centre`, counter-clockwise from +x, with
/// `n` segments (at least 3). A polygon inscribed in the circle: its area falls short of
/// π d²/4 by about (2π²/3)/n² (0.07 % at n = 96).
pub fn circle(centre: [f64; 2], d: f64, n: usize) -> Vec<[f64; 2]> {
    let n = n.max(3);
    (0..n)
        .map(|i| {
            let t = 2.0 * std::f64::consts::PI * i as f64 / n as f64;
            [centre[0] + 0.5 * d * t.cos(), centre[1] + 0.5 * d * t.sin()]
        })
        .collect()
}

/// A NACA 4-digit airfoil (`"0012"`, `"2412"`, …) of chord `chord` with its leading edge at
/// the origin and its chord along +x, sampled at `n` cosine-spaced points per side (at
/// least 8); the trailing edge is closed (the −0.1036 x⁴ coefficient). The polygon runs
/// counter-clockwise: from the trailing edge along the upper side to the leading edge and
/// back along the lower side. `None` when `digits` is not four digits or the thickness is 0.
pub fn naca4(digits: &str, chord: f64, n: usize) -> Option<Vec<[f64; 2]>> {
    let d: Vec<u32> = digits.chars().map(|c| c.to_digit(10)).collect::<Option<_>>()?;
    if d.len() != 4 {
        return None;
    }
    let m = d[0] as f64 / 100.0;
    let p = d[1] as f64 / 10.0;
    let t = (d[2] * 10 + d[3]) as f64 / 100.0;
    if t <= 0.0 || (m > 0.0 && p == 0.0) {
        return None;
    }
    let n = n.max(8);
    let thickness =
        |x: f64| 5.0 * t * (0.2969 * x.sqrt() - 0.1260 * x - 0.3516 * x * x + 0.2843 * x.powi(3) - 0.1036 * x.powi(4));
    let camber = |x: f64| -> (f64, f64) {
        if m == 0.0 {
            (0.0, 0.0)
        } else if x < p {
            (m / (p * p) * (2.0 * p * x - x * x), 2.0 * m / (p * p) * (p - x))
        } else {
            (m / ((1.0 - p).powi(2)) * (1.0 - 2.0 * p + 2.0 * p * x - x * x), 2.0 * m / ((1.0 - p).powi(2)) * (p - x))
        }
    };
    let side = |x: f64, upper: bool| -> [f64; 2] {
        let (yc, dy) = camber(x);
        let th = dy.atan();
        let yt = thickness(x);
        let s = if upper { 1.0 } else { -1.0 };
        [chord * (x - s * yt * th.sin()), chord * (yc + s * yt * th.cos())]
    };
    // Cosine spacing: x from 1 (trailing edge) to 0 (leading edge) on the upper side, back
    // on the lower side; the closed trailing edge is one point.
    let xs: Vec<f64> = (0..=n).map(|i| 0.5 * (1.0 + (std::f64::consts::PI * i as f64 / n as f64).cos())).collect();
    let mut pts: Vec<[f64; 2]> = xs.iter().map(|&x| side(x, true)).collect();
    pts.extend(xs.iter().rev().skip(1).take(n - 1).map(|&x| side(x, false)));
    Some(pts)
}

/// Twice the signed area of a polygon: positive when it runs counter-clockwise.
fn area2(p: &[[f64; 2]]) -> f64 {
    (0..p.len())
        .map(|i| {
            let (a, b) = (p[i], p[(i + 1) % p.len()]);
            a[0] * b[1] - b[0] * a[1]
        })
        .sum()
}

/// Triangulates a simple polygon (counter-clockwise) by ear clipping: O(n²), which is
/// nothing for the few hundred points of a profile.
fn ear_clip(p: &[[f64; 2]]) -> Vec<[u32; 3]> {
    let cross = |a: [f64; 2], b: [f64; 2], c: [f64; 2]| (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
    let mut idx: Vec<usize> = (0..p.len()).collect();
    let mut out = Vec::with_capacity(p.len().saturating_sub(2));
    while idx.len() > 3 {
        let n = idx.len();
        let mut clipped = false;
        for k in 0..n {
            let (i0, i1, i2) = (idx[(k + n - 1) % n], idx[k], idx[(k + 1) % n]);
            let (a, b, c) = (p[i0], p[i1], p[i2]);
            if cross(a, b, c) <= 0.0 {
                continue;
            }
            let inside = idx.iter().any(|&j| {
                j != i0 && j != i1 && j != i2 && {
                    let q = p[j];
                    cross(a, b, q) >= 0.0 && cross(b, c, q) >= 0.0 && cross(c, a, q) >= 0.0
                }
            });
            if !inside {
                out.push([i0 as u32, i1 as u32, i2 as u32]);
                idx.remove(k);
                clipped = true;
                break;
            }
        }
        if !clipped {
            // Degenerate input (collinear runs): fan the rest rather than loop forever.
            for k in 1..idx.len() - 1 {
                out.push([idx[0] as u32, idx[k] as u32, idx[k + 1] as u32]);
            }
            return out;
        }
    }
    out.push([idx[0] as u32, idx[1] as u32, idx[2] as u32]);
    out
}

/// Extrudes the simple polygon `points` (x-y, either orientation, not closed by a repeated
/// point) from `z0` to `z1` (`z0 < z1`) into a closed, outward-facing surface in one group:
/// a quad (two triangles) per polygon edge on the side, and both ends capped. The side walls
/// span the full length in one piece, so the surface meets any z plane between `z0` and `z1`
/// in the same profile (what 2D mode checks, see `foam::twod`).
pub fn extruded_profile(points: &[[f64; 2]], z0: f64, z1: f64, group: &str) -> Surface {
    let mut poly = points.to_vec();
    if area2(&poly) < 0.0 {
        poly.reverse();
    }
    let n = poly.len() as u32;
    let mut pts: Vec<[f64; 3]> = poly.iter().map(|p| [p[0], p[1], z0]).collect();
    pts.extend(poly.iter().map(|p| [p[0], p[1], z1]));
    let mut tris = Vec::new();
    for i in 0..n {
        let j = (i + 1) % n;
        // Counter-clockwise profile: outward is to the right of the edge i -> j.
        tris.push([i, j, j + n]);
        tris.push([i, j + n, i + n]);
    }
    for t in ear_clip(&poly) {
        tris.push([t[0] + n, t[1] + n, t[2] + n]); // z1 end, facing +z
        tris.push([t[0], t[2], t[1]]); // z0 end, facing -z
    }
    let len = tris.len();
    Surface { points: pts, tris, tri_group: vec![0; len], groups: vec![group.to_string()] }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::analyse::{edge_stats, signed_volume};

    #[test]
    fn cylinder_is_closed_outward_and_has_the_polygon_volume() {
        let s = extruded_profile(&circle([1.0, 2.0], 2.0, 64), -1.0, 3.0, "cyl");
        assert_eq!(edge_stats(&s), (0, 0));
        let a = 0.5 * area2(&circle([1.0, 2.0], 2.0, 64));
        assert!((signed_volume(&s) - 4.0 * a).abs() < 1e-9, "{}", signed_volume(&s));
        assert!((a - std::f64::consts::PI).abs() < 0.01 * std::f64::consts::PI);
    }

    #[test]
    fn clockwise_profiles_are_turned_round() {
        let mut sq = vec![[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]];
        sq.reverse();
        let s = extruded_profile(&sq, 0.0, 2.0, "sq");
        assert_eq!(edge_stats(&s), (0, 0));
        assert!((signed_volume(&s) - 2.0).abs() < 1e-12);
    }

    #[test]
    fn naca0012_has_its_thickness_and_closes_watertight() {
        let p = naca4("0012", 2.0, 60).unwrap();
        let max_y = p.iter().map(|q| q[1]).fold(f64::MIN, f64::max);
        // 12 % of the chord in all, at 30 % chord: ±0.12 m for a 2 m chord.
        assert!((max_y - 0.12).abs() < 0.002, "{max_y}");
        let xs: Vec<f64> = p.iter().map(|q| q[0]).collect();
        assert!(xs.iter().cloned().fold(f64::MAX, f64::min).abs() < 1e-9);
        assert!((xs.iter().cloned().fold(f64::MIN, f64::max) - 2.0).abs() < 1e-9);
        assert!(area2(&p) > 0.0, "counter-clockwise");
        let s = extruded_profile(&p, 0.0, 1.0, "wing");
        assert_eq!(edge_stats(&s), (0, 0));
        // Area of a NACA 00tt section ≈ 0.685 t c².
        assert!((signed_volume(&s) - 0.685 * 0.12 * 4.0).abs() < 0.01, "{}", signed_volume(&s));
        let cambered = naca4("4412", 1.0, 60).unwrap();
        let s = extruded_profile(&cambered, 0.0, 1.0, "wing");
        assert_eq!(edge_stats(&s), (0, 0));
        assert!(signed_volume(&s) > 0.0);
        assert!(naca4("12", 1.0, 10).is_none() && naca4("0000", 1.0, 10).is_none() && naca4("40a2", 1.0, 10).is_none());
    }
}
