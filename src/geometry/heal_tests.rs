//! Tests for `heal` (kept apart so heal.rs stays readable in one sitting).

use super::*;
use crate::geometry::analyse::signed_volume;
use crate::geometry::primitives::{cuboid, merge, uv_sphere};
use proptest::prelude::*;

/// Every triangle gets its own three points, as an STL reader produces.
fn soup(s: &Surface) -> Surface {
    let mut out = Surface { groups: s.groups.clone(), tri_group: s.tri_group.clone(), ..Default::default() };
    for t in &s.tris {
        let base = out.points.len() as u32;
        out.points.extend(t.map(|i| s.points[i as usize]));
        out.tris.push([base, base + 1, base + 2]);
    }
    out
}

/// Every triangle's normal points away from `center` (true for convex bodies).
fn all_outward(s: &Surface, center: [f64; 3]) -> bool {
    use crate::geometry::analyse::{cross, dot, sub};
    s.tris.iter().all(|t| {
        let [a, b, c] = t.map(|i| s.points[i as usize]);
        let mid = [(a[0] + b[0] + c[0]) / 3.0, (a[1] + b[1] + c[1]) / 3.0, (a[2] + b[2] + c[2]) / 3.0];
        dot(cross(sub(b, a), sub(c, a)), sub(mid, center)) > 0.0
    })
}

fn cube() -> Surface {
    cuboid([0.0; 3], [1.0; 3], "cube")
}

#[test]
fn welds_cube_soup_to_eight_points() {
    let mut s = soup(&cube());
    // Sub-tolerance noise must still weld.
    s.points[5][0] += 1e-9;
    assert_eq!(s.points.len(), 36);
    let (h, r) = heal(s, &HealOptions::default());
    assert_eq!(h.points.len(), 8);
    assert_eq!(r.welded_vertices, 28);
    assert!(r.watertight && r.open_edges == 0 && r.non_manifold_edges == 0);
    assert_eq!((r.components, r.closed_components), (1, 1));
    assert_eq!(r.flipped_triangles, 0);
    assert!((signed_volume(&h) - 1.0).abs() < 1e-6);
    assert!(r.changes[0].starts_with("welded 28 vertices closer than"), "{:?}", r.changes);
}

#[test]
fn removes_duplicate_and_degenerate() {
    let mut s = cube();
    s.tris.push([s.tris[3][2], s.tris[3][1], s.tris[3][0]]); // same triangle, reversed
    s.tris.push([0, 1, 1]); // repeated index
    s.points.push([0.5, 0.0, 0.0]);
    s.tris.push([0, 8, 1]); // collinear: zero area
    s.tri_group.extend([0, 0, 0]);
    let (h, r) = heal(s, &HealOptions::default());
    assert_eq!(r.input_triangles, 15);
    assert_eq!(r.output_triangles, 12);
    assert_eq!(r.duplicates_removed, 1);
    assert_eq!(r.degenerate_removed, 2);
    assert!(r.watertight);
    assert_eq!(h.points.len(), 8, "unused midpoint removed");
}

#[test]
fn flips_inverted_face_and_inverted_cube() {
    let mut s = cube();
    s.tris[4].swap(0, 1);
    let (h, r) = heal(s, &HealOptions::default());
    assert_eq!(r.flipped_triangles, 1);
    assert!(all_outward(&h, [0.5; 3]));

    let mut s = soup(&cube());
    for t in s.tris.iter_mut() {
        t.swap(1, 2);
    }
    let (h, r) = heal(s, &HealOptions::default());
    assert_eq!(r.flipped_triangles, 12);
    assert!((signed_volume(&h) - 1.0).abs() < 1e-12);
}

#[test]
fn open_box_is_not_watertight() {
    let mut s = cube();
    s.tris.truncate(10); // drop the +x face
    s.tri_group.truncate(10);
    s.tris[0].swap(0, 2);
    let (h, r) = heal(s, &HealOptions::default());
    assert_eq!(r.open_edges, 4);
    assert!(!r.watertight);
    assert_eq!((r.components, r.closed_components), (1, 0));
    assert_eq!(r.flipped_triangles, 1, "majority orientation kept");
    assert!(all_outward(&h, [0.5; 3]));
}

#[test]
fn fin_is_non_manifold() {
    let s = Surface {
        points: vec![[0.0, 0.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [-1.0, -1.0, 0.0]],
        tris: vec![[0, 1, 2], [1, 0, 3], [0, 1, 4]],
        tri_group: vec![0; 3],
        groups: vec!["fin".into()],
    };
    let (_, r) = heal(s, &HealOptions::default());
    assert_eq!(r.non_manifold_edges, 1);
    assert_eq!(r.open_edges, 6);
    assert!(!r.watertight);
    assert_eq!(r.components, 1);
}

#[test]
fn two_bodies_and_sphere() {
    let far = uv_sphere([5.0, 0.0, 0.0], 1.0, 10, 16, "ball");
    let mut s = soup(&merge(cube(), far));
    // Invert the whole sphere only.
    for t in s.tris.iter_mut().skip(12) {
        t.swap(0, 1);
    }
    let n = s.tris.len();
    let (h, r) = heal(s, &HealOptions::default());
    assert_eq!((r.components, r.closed_components), (2, 2));
    assert_eq!(r.flipped_triangles, n - 12);
    assert!(r.watertight);
    assert!(signed_volume(&h) > 1.0);
    assert_eq!(h.groups, vec!["cube", "ball"]);
}

#[test]
fn bad_indices_and_groups_do_not_panic() {
    let s = Surface {
        points: vec![[0.0; 3], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
        tris: vec![[0, 1, 2], [0, 1, 9]],
        tri_group: vec![7],
        groups: vec!["unused".into()],
    };
    let (h, r) = heal(s, &HealOptions::default());
    assert_eq!(r.degenerate_removed, 1);
    assert_eq!(h.groups, vec!["default"]);
    assert!(r.changes.iter().any(|c| c.ends_with("groups left without triangles: 'unused'")), "{:?}", r.changes);
    assert_eq!(h.tri_group, vec![0]);
    let (h, r) = heal(Surface::default(), &HealOptions::default());
    assert!(h.tris.is_empty() && !r.watertight);
}

proptest! {
    #[test]
    fn random_soups_never_panic(
        pts in proptest::collection::vec(proptest::array::uniform3(-3i8..3), 0..30),
        tris in proptest::collection::vec(proptest::array::uniform3(0u32..34), 0..60),
        groups in proptest::collection::vec(0u32..3, 0..60),
        tol in prop_oneof![Just(0.0), Just(1e-6), Just(0.3)],
    ) {
        let s = Surface {
            points: pts.iter().map(|p| p.map(|c| c as f64 * 0.5)).collect(),
            tris,
            tri_group: groups,
            groups: vec!["a".into(), "b".into()],
        };
        let (h, r) = heal(s, &HealOptions { weld_tolerance: tol });
        prop_assert_eq!(h.tris.len(), r.output_triangles);
        prop_assert_eq!(h.tri_group.len(), h.tris.len());
        prop_assert!(h.tris.iter().flatten().all(|&i| (i as usize) < h.points.len()));
        prop_assert!(h.tri_group.iter().all(|&g| (g as usize) < h.groups.len()));
        // Healing is idempotent on its own output's topology.
        let (_, r2) = heal(h, &HealOptions { weld_tolerance: tol });
        prop_assert_eq!(r2.output_triangles, r.output_triangles);
        prop_assert_eq!(r2.open_edges, r.open_edges);
    }
}
