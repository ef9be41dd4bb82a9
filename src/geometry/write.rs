//! Surface writers for OpenFOAM's `constant/triSurface`. OpenFOAM turns OBJ `g` groups
//! and STL solids into surface regions, so group names are written as they are
//! (they are already OpenFOAM-safe words).

use std::fmt::Write as _;

use super::analyse::unit_normal;
use super::Surface;

/// Wavefront OBJ text: all `v` lines, then one `g NAME` per group followed by that
/// group's faces (1-based), so each region's faces are contiguous.
///
/// `g` (not `o`) is used because every OpenFOAM OBJ reader maps `g` to regions,
/// as in the motorBike tutorial geometry.
pub fn to_obj(s: &Surface) -> String {
    let mut out = String::with_capacity(40 * (s.points.len() + s.tris.len()) + 64);
    out.push_str("# written by FlowCFD\n");
    for p in &s.points {
        let _ = writeln!(out, "v {} {} {}", num(p[0]), num(p[1]), num(p[2]));
    }
    for (name, tris) in s.groups.iter().zip(by_group(s)) {
        if tris.is_empty() {
            continue;
        }
        let _ = writeln!(out, "g {name}");
        for t in tris {
            let [a, b, c] = s.tris[t];
            let _ = writeln!(out, "f {} {} {}", a as u64 + 1, b as u64 + 1, c as u64 + 1);
        }
    }
    out
}

/// ASCII STL text with one `solid NAME` … `endsolid NAME` per non-empty group and
/// unit facet normals (zero for degenerate triangles).
pub fn to_stl_ascii(s: &Surface) -> String {
    let mut out = String::with_capacity(250 * s.tris.len() + 64);
    for (name, tris) in s.groups.iter().zip(by_group(s)) {
        if tris.is_empty() {
            continue;
        }
        let _ = writeln!(out, "solid {name}");
        for t in tris {
            let [a, b, c] = s.tris[t].map(|i| s.points[i as usize]);
            let n = unit_normal(a, b, c);
            let _ = writeln!(out, "  facet normal {} {} {}", num(n[0]), num(n[1]), num(n[2]));
            out.push_str("    outer loop\n");
            for p in [a, b, c] {
                let _ = writeln!(out, "      vertex {} {} {}", num(p[0]), num(p[1]), num(p[2]));
            }
            out.push_str("    endloop\n  endfacet\n");
        }
        let _ = writeln!(out, "endsolid {name}");
    }
    out
}

/// Triangle indices of each group, in triangle order. Triangles with an out-of-range
/// group go to the first group rather than being silently lost.
fn by_group(s: &Surface) -> Vec<Vec<usize>> {
    let mut groups = vec![Vec::new(); s.groups.len()];
    if groups.is_empty() {
        return groups;
    }
    for t in 0..s.tris.len() {
        let g = s.tri_group.get(t).map(|&g| g as usize).filter(|&g| g < groups.len()).unwrap_or(0);
        groups[g].push(t);
    }
    groups
}

/// Shortest round-trip decimal; non-finite values (which readers reject) become 0
/// because OpenFOAM cannot parse `NaN`/`inf`.
fn num(x: f64) -> String {
    if x.is_finite() {
        // `+ 0.0` turns -0 into 0 so output does not depend on rounding noise.
        format!("{}", x + 0.0)
    } else {
        "0".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::primitives::{cuboid, merge};
    use crate::geometry::{read_bytes, ReadOptions};

    fn two_groups() -> Surface {
        let mut s = merge(cuboid([0.0; 3], [1.0; 3], "body"), cuboid([0.1, 2.0, 0.0], [1.0, 3.5, 0.5], "wing"));
        // Interleave groups so the writer has to make them contiguous.
        s.tri_group.swap(0, 12);
        s
    }

    #[test]
    fn obj_exact_small() {
        let s = Surface {
            points: vec![[0.0, 0.0, 0.0], [1.5, 0.0, 0.0], [0.0, 0.1, -2.0]],
            tris: vec![[0, 1, 2]],
            tri_group: vec![0],
            groups: vec!["a".into(), "unused".into()],
        };
        assert_eq!(to_obj(&s), "# written by FlowCFD\nv 0 0 0\nv 1.5 0 0\nv 0 0.1 -2\ng a\nf 1 2 3\n");
        assert_eq!(
            to_stl_ascii(&s),
            "solid a\n  facet normal 0 0.9987523388778445 0.04993761694389223\n    outer loop\n      vertex 0 0 0\n      vertex 1.5 0 0\n      vertex 0 0.1 -2\n    endloop\n  endfacet\nendsolid a\n"
        );
    }

    #[test]
    fn obj_round_trip_keeps_groups() {
        let s = two_groups();
        let text = to_obj(&s);
        let r = read_bytes("x.obj", text.as_bytes(), &ReadOptions::default()).unwrap();
        assert_eq!(r.groups, vec!["body", "wing"]);
        assert_eq!(r.points, s.points);
        assert_eq!(r.tris.len(), 24);
        assert_eq!(r.tri_group.iter().filter(|&&g| g == 0).count(), 12);
        assert!(r.tri_group.windows(2).all(|w| w[0] <= w[1]), "groups contiguous");
        assert_eq!(text.lines().filter(|l| l.starts_with("g ")).count(), 2);
    }

    #[test]
    fn stl_round_trip_keeps_solids() {
        let s = two_groups();
        let r = read_bytes("x.stl", to_stl_ascii(&s).as_bytes(), &ReadOptions::default()).unwrap();
        assert_eq!(r.groups, vec!["body", "wing"]);
        assert_eq!(r.tris.len(), 24);
        let (h, rep) = crate::geometry::heal::heal(r, &Default::default());
        assert_eq!(h.points.len(), 16);
        assert_eq!(rep.closed_components, 2);
    }

    #[test]
    fn never_writes_nan() {
        let mut s = cuboid([0.0; 3], [1.0; 3], "c");
        s.points[0] = [f64::NAN, f64::INFINITY, 0.0];
        let (o, t) = (to_obj(&s), to_stl_ascii(&s));
        for text in [o, t] {
            assert!(!text.to_lowercase().contains("nan") && !text.contains("inf"));
        }
    }
}
