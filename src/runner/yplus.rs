//! The measured first-cell y+ after a solve, against what the near-wall treatment needs.
//!
//! The yPlus function object writes y+ on every wall face at each write time. This reads
//! the latest one (reconstructed or `processor*/`), weights each face by its area, and
//! reports per wall patch the area, the area-weighted mean, the extremes and the shares of
//! area below and above the band the treatment wants: wall functions put the first cell in
//! the log layer (y+ 30–300, as the mesh AI's model card says), a resolved wall (low-Re)
//! wants it in the viscous sublayer (y+ ≤ 5, ideally ≈ 1). More than 10 % of the wall area
//! outside the band is a warning, in `summary.json` (`mesh.yplus`) and on the job page.
use crate::foam::turbulence::NearWall;
use crate::post::{Case, Source};
use serde::Serialize;
use std::path::Path;

/// The share of wall area outside the band above which the run is warned about.
pub const OUTSIDE_WARN: f64 = 0.10;

/// y+ on one wall patch at the latest time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatchYPlus {
    pub patch: String,
    /// Its area, m².
    pub area: f64,
    pub min: f64,
    pub max: f64,
    /// Area-weighted mean.
    pub mean: f64,
    /// Shares of its area below and above the band (0–1).
    pub below: f64,
    pub above: f64,
}

/// The measured y+ of a run against its band.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct YPlusCheck {
    /// `wall_functions` or `low_re`.
    pub treatment: NearWall,
    /// `[low, high]`.
    pub band: [f64; 2],
    /// What the layer plan estimated for the first layer (the request).
    pub estimated: f64,
    /// The time the values are from.
    pub time: String,
    pub patches: Vec<PatchYPlus>,
    /// Area-weighted over every wall patch.
    pub mean: f64,
    /// Share of the wall area outside the band (0–1).
    pub outside: f64,
    pub warning: Option<String>,
}

/// Reads y+ on the `walls` of the case at `root` and checks it against the band of `wall`.
/// None when there is no band (laminar) or no y+ was written (a mesh-only run, or a run
/// stopped before its first write).
pub fn measure(root: &Path, walls: &[String], wall: NearWall, estimated: f64) -> Option<YPlusCheck> {
    let (lo, hi) = wall.band()?;
    let case = Case::open(root, None, Source::Auto).ok()?;
    let field = case.field("yPlus").ok()?;
    let mut patches = Vec::new();
    for (pi, p) in case.mesh.patches.iter().enumerate() {
        if !walls.contains(&p.name) || p.size == 0 {
            continue;
        }
        let Some(crate::post::reader::Values::Scalar(vals)) = field.patches[pi].as_ref() else { continue };
        if vals.len() != p.size {
            continue;
        }
        let (mut area, mut sum, mut below, mut above) = (0.0, 0.0, 0.0, 0.0);
        let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
        for (i, &y) in vals.iter().enumerate() {
            let a = crate::post::geom::norm(case.geom.face_areas[p.start + i]);
            area += a;
            sum += a * y;
            min = min.min(y);
            max = max.max(y);
            if y < lo {
                below += a;
            } else if y > hi {
                above += a;
            }
        }
        if area > 0.0 {
            patches.push(PatchYPlus {
                patch: p.name.clone(),
                area,
                min,
                max,
                mean: sum / area,
                below: below / area,
                above: above / area,
            });
        }
    }
    if patches.is_empty() {
        return None;
    }
    Some(check(wall, (lo, hi), estimated, case.time.clone(), patches))
}

/// The totals and the warning of per-patch figures.
pub fn check(
    wall: NearWall,
    (lo, hi): (f64, f64),
    estimated: f64,
    time: String,
    patches: Vec<PatchYPlus>,
) -> YPlusCheck {
    let area: f64 = patches.iter().map(|p| p.area).sum();
    let mean = patches.iter().map(|p| p.mean * p.area).sum::<f64>() / area;
    let below = patches.iter().map(|p| p.below * p.area).sum::<f64>() / area;
    let above = patches.iter().map(|p| p.above * p.area).sum::<f64>() / area;
    let outside = below + above;
    let warning = (outside > OUTSIDE_WARN).then(|| {
        let what = match wall {
            NearWall::LowRe => "a resolved wall (low-Re)",
            _ => "wall functions",
        };
        let fix = if above > below && wall == NearWall::LowRe {
            "thinner first layer: refine the wall (more mesh.target_cells or a higher mesh.surface_level; the first layer is kept to at least a hundredth of the surface cell) and give enough layers (mesh.layers.count)"
        } else if above > below {
            "thinner first layer: lower mesh.layers.target_yplus or set mesh.layers.first_layer_thickness"
        } else {
            "thicker first layer: raise mesh.layers.target_yplus"
        };
        format!(
            "measured y+ (area-weighted mean {mean:.1}) is outside the {lo:.0}–{hi:.0} band that {what} needs on {:.0} % of the wall area ({:.0} % below, {:.0} % above; the plan estimated {estimated:.1}); for a {fix}",
            100.0 * outside,
            100.0 * below,
            100.0 * above
        )
    });
    YPlusCheck { treatment: wall, band: [lo, hi], estimated, time, patches, mean, outside, warning }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patch(name: &str, area: f64, mean: f64, below: f64, above: f64) -> PatchYPlus {
        PatchYPlus { patch: name.into(), area, min: 0.0, max: 0.0, mean, below, above }
    }

    #[test]
    fn shares_are_weighted_by_area_and_warned_past_ten_percent() {
        let c = check(
            NearWall::WallFunctions,
            (30.0, 300.0),
            50.0,
            "100".into(),
            vec![patch("body", 3.0, 60.0, 0.0, 0.0), patch("wheel", 1.0, 400.0, 0.0, 0.6)],
        );
        assert!((c.mean - 145.0).abs() < 1e-9, "{c:?}");
        assert!((c.outside - 0.15).abs() < 1e-9, "{c:?}");
        let w = c.warning.unwrap();
        assert!(w.contains("15 % of the wall area") && w.contains("thinner first layer"), "{w}");
        let ok = check(NearWall::LowRe, (0.0, 5.0), 1.0, "1".into(), vec![patch("body", 1.0, 1.2, 0.0, 0.05)]);
        assert!(ok.warning.is_none(), "{ok:?}");
    }

    #[test]
    fn bands_follow_the_treatment() {
        assert_eq!(NearWall::WallFunctions.band(), Some((30.0, 300.0)));
        assert_eq!(NearWall::LowRe.band(), Some((0.0, 5.0)));
        assert_eq!(NearWall::Laminar.band(), None);
    }
}
