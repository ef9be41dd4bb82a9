//! The Ahmed body (Ahmed, Ramm & Faltin 1984, SAE 840300): the generic car body of bluff-body
//! aerodynamics, as a closed surface for the validation suite's `ahmed-25` case.
//!
//! Dimensions in metres, as in the experiment: length 1.044, width 0.389, height 0.288,
//! ground clearance 0.050, the four front edges rounded with radius 0.100, the rear slant
//! 0.222 long (along its surface) at `slant_deg` to the horizontal, and four cylindrical
//! stilts of diameter 0.030 down to the ground. The nose is at x = 0 and the body runs
//! along +x, the ground is z = 0, and the body is symmetric about y = 0, so a free stream
//! along +x with `flow.ground = true` reproduces the wind-tunnel set-up. The body's long
//! edges are sharp, as in the experiment, so its frontal area is 0.389 × 0.288 = 0.112 m²
//! plus the stilts'.

use super::primitives::merge;
use super::profile::{circle, extruded_profile};
use super::Surface;

/// Body length, m.
pub const LENGTH: f64 = 1.044;
/// Body width, m.
pub const WIDTH: f64 = 0.389;
/// Body height, m.
pub const HEIGHT: f64 = 0.288;
/// Gap between the ground and the underside, m.
pub const CLEARANCE: f64 = 0.050;
/// Radius of the rounded front edges, m.
pub const NOSE_RADIUS: f64 = 0.100;
/// Length of the rear slant along its surface, m.
pub const SLANT_LENGTH: f64 = 0.222;
/// Stilt diameter, m.
pub const STILT_DIAMETER: f64 = 0.030;

/// The body's frontal area without the stilts, m²: the experiment's reference area.
pub const FRONTAL_AREA: f64 = WIDTH * HEIGHT;

/// A closed, outward-facing Ahmed body with the rear slant at `slant_deg` (0 to 40
/// degrees), in two groups: `body` and `stilts`.
pub fn ahmed_body(slant_deg: f64) -> Surface {
    let slant = slant_deg.clamp(0.0, 40.0).to_radians();
    let (run, drop) = (SLANT_LENGTH * slant.cos(), SLANT_LENGTH * slant.sin());
    let (zb, zt, hw) = (CLEARANCE, CLEARANCE + HEIGHT, 0.5 * WIDTH);
    // Cross-sections (x, half width, bottom, top): the rounded nose, then the straight body,
    // then the slant, whose top falls linearly to the base.
    let mut sections = Vec::new();
    let n_nose = 16;
    for i in 0..=n_nose {
        // Denser near the front face, where the curvature is largest.
        let t = 1.0 - (0.5 * std::f64::consts::PI * i as f64 / n_nose as f64).cos();
        let x = NOSE_RADIUS * t;
        let inset = NOSE_RADIUS - (NOSE_RADIUS.powi(2) - (NOSE_RADIUS - x).powi(2)).max(0.0).sqrt();
        sections.push([x, hw - inset, zb + inset, zt - inset]);
    }
    let slant_start = LENGTH - run;
    let n_body = 12;
    for i in 1..=n_body {
        let x = NOSE_RADIUS + (slant_start - NOSE_RADIUS) * i as f64 / n_body as f64;
        sections.push([x, hw, zb, zt]);
    }
    let n_slant = 6;
    for i in 1..=n_slant {
        let f = i as f64 / n_slant as f64;
        sections.push([slant_start + run * f, hw, zb, zt - drop * f]);
    }
    let mut body = loft(&sections, 8, 6, "body");
    for x in [0.2015, 0.6715] {
        for y in [-0.1635, 0.1635] {
            // Into the underside by 5 mm, so that body and stilt overlap instead of touching.
            body = merge(body, extruded_profile(&circle([x, y], STILT_DIAMETER, 16), 0.0, zb + 0.005, "stilts"));
        }
    }
    body
}

/// A closed surface through rectangular cross-sections `[x, half width, z bottom, z top]`
/// (x increasing), each side split into `ny` (top and bottom) or `nz` (sides) segments,
/// closed by flat caps at the first and last section.
fn loft(sections: &[[f64; 4]], ny: usize, nz: usize, group: &str) -> Surface {
    let ring = |s: &[f64; 4]| -> Vec<[f64; 3]> {
        let [x, h, lo, hi] = *s;
        let mut r = Vec::new();
        // Counter-clockwise seen from +x: bottom (−y to +y), right side, top, left side.
        for i in 0..ny {
            r.push([x, -h + 2.0 * h * i as f64 / ny as f64, lo]);
        }
        for i in 0..nz {
            r.push([x, h, lo + (hi - lo) * i as f64 / nz as f64]);
        }
        for i in 0..ny {
            r.push([x, h - 2.0 * h * i as f64 / ny as f64, hi]);
        }
        for i in 0..nz {
            r.push([x, -h, hi - (hi - lo) * i as f64 / nz as f64]);
        }
        r
    };
    let m = 2 * (ny + nz);
    let mut points: Vec<[f64; 3]> = sections.iter().flat_map(ring).collect();
    let at = |s: usize, j: usize| (s * m + j % m) as u32;
    let mut tris = Vec::new();
    for s in 0..sections.len() - 1 {
        for j in 0..m {
            let (a, b, c, d) = (at(s, j), at(s, j + 1), at(s + 1, j + 1), at(s + 1, j));
            tris.push([a, b, c]);
            tris.push([a, c, d]);
        }
    }
    // Caps: fans from each end's centre (the sections are convex rectangles).
    for (s, outward_neg_x) in [(0, true), (sections.len() - 1, false)] {
        let [x, _, lo, hi] = sections[s];
        points.push([x, 0.0, 0.5 * (lo + hi)]);
        let c = (points.len() - 1) as u32;
        for j in 0..m {
            let (a, b) = (at(s, j), at(s, j + 1));
            tris.push(if outward_neg_x { [c, b, a] } else { [c, a, b] });
        }
    }
    let n = tris.len();
    Surface { points, tris, tri_group: vec![0; n], groups: vec![group.to_string()] }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::analyse::{analyse, signed_volume};

    #[test]
    fn ahmed_body_is_closed_outward_and_the_right_size() {
        let s = ahmed_body(25.0);
        let a = analyse(&s, [40.0, 0.0, 0.0]);
        assert!(a.watertight, "not watertight");
        let v = signed_volume(&s);
        // Box minus the nose rounding and the slant wedge, plus the stilts.
        let box_v = LENGTH * WIDTH * HEIGHT;
        assert!(v > 0.9 * box_v && v < box_v, "volume {v} against the box {box_v}");
        for (i, want) in [(0, LENGTH), (1, WIDTH), (2, CLEARANCE + HEIGHT)].iter().copied() {
            let got = a.bbox_max[i] - a.bbox_min[i];
            assert!((got - want).abs() < 1e-9, "extent {i}: {got} != {want}");
        }
        assert!(a.bbox_min[2].abs() < 1e-12, "the stilts stand on z = 0");
        // Frontal area: the body's 0.112 m² plus four stilts' 0.03 × 0.05 m² each.
        let want = FRONTAL_AREA + 4.0 * STILT_DIAMETER * CLEARANCE;
        assert!((a.frontal_area - want).abs() / want < 0.03, "frontal area {} against {want}", a.frontal_area);
        // The slant lowers the base: at 25° the rear face is 0.094 m lower than the roof.
        let rear_top = s.points.iter().filter(|p| (p[0] - LENGTH).abs() < 1e-12).map(|p| p[2]).fold(f64::MIN, f64::max);
        let drop = CLEARANCE + HEIGHT - rear_top;
        assert!((drop - SLANT_LENGTH * 25f64.to_radians().sin()).abs() < 1e-9, "{drop}");
    }
}
