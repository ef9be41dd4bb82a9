//! Unit tests of the rules: layer bridging, the base-size fit, the flow axis, the plans.
use super::*;

#[test]
fn bridging_raises_growth_then_thins_the_last_layer_then_thickens_the_first() {
    // 1 + ln(0.4 / 0.1) / ln 1.2 = 8.6: nine layers at 1.2 when ten are allowed.
    // The growth then eases so the ninth ends at 0.4: 4^(1/8) = 1.189.
    let (n, r, y1) = bridge(0.1, 1.0, None, None, 1.2, false, 10);
    assert_eq!((n, y1), (9, 0.1));
    assert!((r - 4f64.powf(0.125)).abs() < 1e-12, "{r}");
    // Five layers: growth 1.3 reaches 0.4 from 0.15 (1 + ln(2.67)/ln(1.3) = 4.7), eased
    // to 2.67^(1/4) = 1.278.
    let (n, r, _) = bridge(0.15, 1.0, None, None, 1.2, false, 5);
    assert_eq!(n, 5);
    assert!((r - (0.4f64 / 0.15).powf(0.25)).abs() < 1e-12, "{r}");
    // Not reachable: the first layer thickens so the last is 0.25 of the cell.
    let (n, r, y1) = bridge(0.01, 1.0, None, None, 1.2, false, 5);
    assert_eq!((n, r), (5, 1.3));
    assert!((y1 * 1.3f64.powi(4) - MIN_FINAL_LAYER_FRACTION).abs() < 1e-12, "{y1}");
    // No thinner than a hundredth of the cell (snappyHexMesh's determinant check).
    let (_, _, y1) = bridge(1e-5, 1.0, None, None, 1.2, false, 20);
    assert_eq!(y1, MIN_FIRST_LAYER_FRACTION);
    // A first layer thicker than the final fraction: one layer, up to the lone fraction.
    assert_eq!(bridge(0.6, 1.0, None, None, 1.2, false, 5), (1, 1.2, 0.6));
    assert_eq!(bridge(3.0, 1.0, None, None, 1.2, false, 5), (1, 1.2, LONE_LAYER_FRACTION));
    // More layers asked for keep the final fraction.
    assert_eq!(bridge(3.0, 1.0, Some(3), None, 1.2, false, 5).2, FINAL_LAYER_FRACTION);
    // Degenerate cells give the layers asked for (none by default), never a panic.
    assert_eq!(bridge(0.01, 0.0, None, None, 1.2, false, 5).0, 0);
    assert_eq!(bridge(f64::NAN, 1.0, Some(3), None, 1.2, false, 5).0, 3);
    // Explicit values win.
    assert_eq!(bridge(0.01, 1.0, None, Some(1.1), 1.2, true, 5), (5, 1.1, 0.01));
    assert_eq!(bridge(0.01, 1.0, Some(3), None, 1.2, false, 5), (3, 1.2, 0.01));
}

#[test]
fn base_size_fit_meets_target() {
    let h = fit_base_size(40_000.0, |h| 250.0 / h.powi(3), 2.0);
    assert!((250.0 / h.powi(3) - 40_000.0).abs() < 1.0, "{h}");
}

#[test]
fn flow_axis_picks_dominant_horizontal() {
    assert_eq!(flow_axis([10.0, 1.0, 0.0]), (0, 1.0));
    assert_eq!(flow_axis([0.5, -3.0, 0.0]), (1, -1.0));
}

fn plan(surface: crate::geometry::Surface) -> MeshPlan {
    let spec =
        CaseSpec::from_toml("[flow]\ntype = \"external\"\nvelocity = [10, 0, 0]\n[mesh]\ntarget_cells = 40000\n", "t")
            .unwrap();
    let a = crate::geometry::analyse::analyse(&surface, [1.0, 0.0, 0.0]);
    suggest(&spec, &a, a.area)
}

#[test]
fn closed_bodies_get_layers_that_reach_the_cells() {
    let p = plan(crate::geometry::primitives::cuboid([-0.5; 3], [0.5; 3], "cube"));
    let l = &p.layers;
    assert!((2..=MAX_AUTO_LAYERS).contains(&l.count), "{l:?}");
    let last = l.first_layer_thickness * l.expansion_ratio.powi(l.count as i32 - 1);
    let fraction = last / l.surface_cell_size;
    assert!((MIN_FINAL_LAYER_FRACTION - 1e-9..=FINAL_LAYER_FRACTION + 0.02).contains(&fraction), "{l:?}");
    // A bluff body: the first layer meets the target y+ (100) by the bluff-body estimate.
    assert_eq!(l.friction, crate::foam::friction::FrictionModel::Bluff);
    assert!((l.estimated_yplus - 100.0).abs() < 1e-6, "{l:?}");
    assert_eq!(l.feature_angle, 130);
    assert!(!l.tet_check, "closed bodies drop the face-tet check in layer addition");
    assert!(p.estimated_cells > 30_000 && p.estimated_cells < 50_000, "{}", p.estimated_cells);
    assert!(!p.boxes.is_empty(), "external flows get a wake box");
}

#[test]
fn open_surfaces_get_one_conservative_layer() {
    let mut s = crate::geometry::primitives::cuboid([-0.5; 3], [0.5; 3], "cube");
    s.tris.truncate(10);
    s.tri_group.truncate(10);
    let l = plan(s).layers;
    assert_eq!((l.count, l.feature_angle), (1, 60));
    assert!(l.tet_check, "open surfaces keep OpenFOAM's face-tet check, as its motorBike");
    assert!((l.first_layer_thickness / l.surface_cell_size - 0.3).abs() < 1e-12);
}
