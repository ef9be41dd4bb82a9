//! Simple closed shapes for tests, wind-tunnel blocks and refinement regions.

use super::Surface;

/// Axis-aligned box with outward-facing triangles (8 points, 12 triangles) in one group.
pub fn cuboid(min: [f64; 3], max: [f64; 3], group: &str) -> Surface {
    let points = (0..8)
        .map(|i| {
            [
                if i & 1 == 0 { min[0] } else { max[0] },
                if i & 2 == 0 { min[1] } else { max[1] },
                if i & 4 == 0 { min[2] } else { max[2] },
            ]
        })
        .collect();
    // Corner index bits are (x, y, z); each quad is listed counter-clockwise from outside.
    let quads = [[0, 2, 3, 1], [4, 5, 7, 6], [0, 1, 5, 4], [2, 6, 7, 3], [0, 4, 6, 2], [1, 3, 7, 5]];
    let tris = quads.iter().flat_map(|q| [[q[0], q[1], q[2]], [q[0], q[2], q[3]]]).collect();
    Surface { points, tris, tri_group: vec![0; 12], groups: vec![group.to_string()] }
}

/// Latitude/longitude sphere with single pole vertices, so it is watertight as built;
/// `n_lat` bands (at least 2) and `n_lon` segments (at least 3), outward-facing.
pub fn uv_sphere(center: [f64; 3], radius: f64, n_lat: usize, n_lon: usize, group: &str) -> Surface {
    let (n_lat, n_lon) = (n_lat.max(2), n_lon.max(3));
    let mut points = vec![[center[0], center[1], center[2] + radius]];
    for i in 1..n_lat {
        let theta = std::f64::consts::PI * i as f64 / n_lat as f64;
        for j in 0..n_lon {
            let phi = 2.0 * std::f64::consts::PI * j as f64 / n_lon as f64;
            points.push([
                center[0] + radius * theta.sin() * phi.cos(),
                center[1] + radius * theta.sin() * phi.sin(),
                center[2] + radius * theta.cos(),
            ]);
        }
    }
    points.push([center[0], center[1], center[2] - radius]);
    let south = (points.len() - 1) as u32;
    let ring = |i: usize, j: usize| (1 + (i - 1) * n_lon + j % n_lon) as u32;
    let mut tris = Vec::new();
    for j in 0..n_lon {
        tris.push([0, ring(1, j), ring(1, j + 1)]);
        for i in 1..n_lat - 1 {
            let (a, b, c, d) = (ring(i, j), ring(i + 1, j), ring(i + 1, j + 1), ring(i, j + 1));
            tris.push([a, b, c]);
            tris.push([a, c, d]);
        }
        tris.push([south, ring(n_lat - 1, j + 1), ring(n_lat - 1, j)]);
    }
    let n = tris.len();
    Surface { points, tris, tri_group: vec![0; n], groups: vec![group.to_string()] }
}

/// Concatenates two surfaces. Groups with the same name are joined into one group,
/// so merging two parts of the same region keeps one OpenFOAM patch.
pub fn merge(a: Surface, b: Surface) -> Surface {
    let mut out = a;
    let offset = out.points.len() as u32;
    let map: Vec<u32> = b
        .groups
        .iter()
        .map(|name| match out.groups.iter().position(|g| g == name) {
            Some(i) => i as u32,
            None => {
                out.groups.push(name.clone());
                (out.groups.len() - 1) as u32
            }
        })
        .collect();
    out.points.extend(b.points);
    out.tris.extend(b.tris.iter().map(|t| t.map(|i| i + offset)));
    out.tri_group.extend(b.tri_group.iter().map(|&g| map.get(g as usize).copied().unwrap_or(0)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::analyse::{edge_stats, signed_volume};

    #[test]
    fn cuboid_is_closed_and_outward() {
        let s = cuboid([1.0, 2.0, 3.0], [2.0, 4.0, 6.0], "box");
        assert_eq!(s.tris.len(), 12);
        assert_eq!(edge_stats(&s), (0, 0));
        assert!((signed_volume(&s) - 6.0).abs() < 1e-12);
    }

    #[test]
    fn sphere_is_closed_and_outward() {
        let s = uv_sphere([0.0; 3], 2.0, 8, 12, "ball");
        assert_eq!(s.points.len(), 2 + 7 * 12);
        assert_eq!(s.tris.len(), 2 * 12 + 2 * 6 * 12);
        assert_eq!(edge_stats(&s), (0, 0));
        let v = signed_volume(&s);
        assert!(v > 0.0 && v < 4.0 / 3.0 * std::f64::consts::PI * 8.0, "{v}");
    }

    #[test]
    fn merge_offsets_and_joins_groups() {
        let m = merge(cuboid([0.0; 3], [1.0; 3], "a"), cuboid([2.0; 3], [3.0; 3], "b"));
        let m = merge(m, cuboid([4.0; 3], [5.0; 3], "a"));
        assert_eq!(m.groups, vec!["a", "b"]);
        assert_eq!(m.points.len(), 24);
        assert_eq!(m.tris[12], [8, 10, 11]);
        assert_eq!(m.tri_group[12], 1);
        assert_eq!(m.tri_group[24], 0);
        assert!((signed_volume(&m) - 3.0).abs() < 1e-9);
    }
}
