//! The report's cameras: orthographic, so one pixel is the same length everywhere in the
//! picture and a scale bar means something. The presets frame a bounding box from the
//! flow's point of view (front: looking downstream at the face the flow hits; side: across
//! the flow, which runs left to right; top: from above; iso: from upstream, the side and
//! above).
use crate::geometry::analyse::{cross, dot, norm, sub};
use crate::post::geom::{add, scale, V3};

/// A camera preset, named from the flow's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// Looking along the flow from upstream: the face the flow hits.
    Front,
    /// Looking across the flow; the flow runs left to right.
    Side,
    /// Looking down; the flow runs left to right.
    Top,
    /// From upstream, the side and above, as (-1, -1, 1) for a flow along +x with +z up.
    Iso,
}

/// An orthographic camera and the picture it makes: `width` × `height` pixels, the view
/// centre at the picture's centre.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Camera {
    /// The direction the camera looks in (unit).
    pub dir: V3,
    /// The world direction shown upwards in the picture (unit, normal to `dir`).
    pub up: V3,
    /// The world direction shown to the right (unit): `dir` × `up`.
    pub right: V3,
    /// The world point at the picture's centre.
    pub centre: V3,
    pub width: u32,
    pub height: u32,
    mpp: f64,
}

fn unit(v: V3) -> Option<V3> {
    let n = norm(v);
    (n > 1e-12 && n.is_finite()).then(|| scale(v, 1.0 / n))
}

/// The world up for a flow: +z unless the flow runs (nearly) along z, then +y.
fn world_up(flow: V3) -> V3 {
    if flow[2].abs() > 0.9 {
        [0.0, 1.0, 0.0]
    } else {
        [0.0, 0.0, 1.0]
    }
}

impl Camera {
    /// A camera for `preset`, framing the box `lo..hi` with `margin_fraction` of the picture
    /// left free on each side. `flow_dir` need not be unit; a zero one reads as +x.
    pub fn framed(
        preset: Preset,
        lo: V3,
        hi: V3,
        flow_dir: V3,
        width: u32,
        height: u32,
        margin_fraction: f64,
    ) -> Camera {
        let f = unit(flow_dir).unwrap_or([1.0, 0.0, 0.0]);
        let up0 = world_up(f);
        // Across the flow (+y for a flow along +x with +z up), then up made normal to the flow.
        let side = unit(cross(up0, f)).unwrap_or([0.0, 1.0, 0.0]);
        let up = cross(f, side);
        let (dir, view_up) = match preset {
            Preset::Front => (f, up),
            Preset::Side => (side, up),
            Preset::Top => (scale(up, -1.0), side),
            Preset::Iso => {
                let d = unit(add(add(f, side), scale(up, -1.0))).unwrap_or(f);
                (d, up)
            }
        };
        Camera::looking(dir, view_up, lo, hi, width, height, margin_fraction)
    }

    /// A camera looking along `dir` with `up` shown upwards (made normal to `dir`; any
    /// normal when the two are parallel), framing the box `lo..hi` with `margin_fraction` of
    /// the picture free on each side: for instance a slice plane seen face-on.
    pub fn looking(dir: V3, up: V3, lo: V3, hi: V3, width: u32, height: u32, margin_fraction: f64) -> Camera {
        let dir = unit(dir).unwrap_or([1.0, 0.0, 0.0]);
        let up = unit(sub(up, scale(dir, dot(up, dir))))
            .or_else(|| unit(sub([0.0, 0.0, 1.0], scale(dir, dir[2]))))
            .or_else(|| unit(sub([0.0, 1.0, 0.0], scale(dir, dir[1]))))
            .unwrap_or([0.0, 0.0, 1.0]);
        let right = cross(dir, up);
        let (width, height) = (width.max(1), height.max(1));
        let centre = scale(add(lo, hi), 0.5);
        // The box's extent on the picture's axes, from its eight corners.
        let (mut ex, mut ey) = (0.0f64, 0.0f64);
        for i in 0..8 {
            let c = [
                if i & 1 == 0 { lo[0] } else { hi[0] },
                if i & 2 == 0 { lo[1] } else { hi[1] },
                if i & 4 == 0 { lo[2] } else { hi[2] },
            ];
            let q = sub(c, centre);
            ex = ex.max(2.0 * dot(q, right).abs());
            ey = ey.max(2.0 * dot(q, up).abs());
        }
        let m = margin_fraction.clamp(0.0, 0.45);
        let mpp = (ex / (width as f64 * (1.0 - 2.0 * m))).max(ey / (height as f64 * (1.0 - 2.0 * m)));
        // A point or an empty box still gets a usable scale.
        let mpp = if mpp > 0.0 && mpp.is_finite() { mpp } else { 1e-3 };
        Camera { dir, up, right, centre, width, height, mpp }
    }

    /// The length one pixel of the picture stands for, m.
    pub fn metres_per_pixel(&self) -> f64 {
        self.mpp
    }

    /// Where `p` lands: (x, y) in picture pixels (origin at the top-left corner, y down;
    /// pixel (i, j) covers i..i+1, j..j+1) and its depth along the view direction, m (larger
    /// is farther).
    pub fn project(&self, p: V3) -> (f64, f64, f64) {
        let q = sub(p, self.centre);
        (
            0.5 * self.width as f64 + dot(q, self.right) / self.mpp,
            0.5 * self.height as f64 - dot(q, self.up) / self.mpp,
            dot(q, self.dir),
        )
    }

    /// The same view in a picture `k` times larger each way (for supersampling).
    pub fn scaled(&self, k: u32) -> Camera {
        let k = k.max(1);
        Camera { width: self.width * k, height: self.height * k, mpp: self.mpp / k as f64, ..*self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Preset; 4] = [Preset::Front, Preset::Side, Preset::Top, Preset::Iso];

    fn corners(lo: V3, hi: V3) -> Vec<V3> {
        (0..8)
            .map(|i| {
                [
                    if i & 1 == 0 { lo[0] } else { hi[0] },
                    if i & 2 == 0 { lo[1] } else { hi[1] },
                    if i & 4 == 0 { lo[2] } else { hi[2] },
                ]
            })
            .collect()
    }

    #[test]
    fn every_preset_frames_the_box_inside_the_picture() {
        let boxes = [([-0.5, -0.5, -0.5], [0.5, 0.5, 0.5]), ([0.0, -1.0, 0.0], [4.2, 1.0, 1.4]), ([2.0; 3], [2.0; 3])];
        for flow in [[1.0, 0.0, 0.0], [0.0, -3.0, 0.0], [0.2, 0.0, -1.0], [0.0; 3]] {
            for (lo, hi) in boxes {
                for p in ALL {
                    let cam = Camera::framed(p, lo, hi, flow, 1890, 1260, 0.05);
                    let mut touches = false;
                    for c in corners(lo, hi) {
                        let (x, y, _) = cam.project(c);
                        assert!(
                            (0.0..=1890.0).contains(&x) && (0.0..=1260.0).contains(&y),
                            "{p:?} {flow:?} {lo:?}: {c:?} at {x},{y}"
                        );
                        touches |= (x - 94.5).abs() < 1e-6
                            || (x - 1795.5).abs() < 1e-6
                            || (y - 63.0).abs() < 1e-6
                            || (y - 1197.0).abs() < 1e-6;
                    }
                    assert!(touches || lo == hi, "{p:?}: the box fills the picture up to the margin");
                    assert!(dot(cam.dir, cam.up).abs() < 1e-12 && (norm(cam.right) - 1.0).abs() < 1e-12);
                }
            }
        }
    }

    #[test]
    fn presets_look_from_where_their_names_say() {
        let (lo, hi) = ([-0.5; 3], [0.5; 3]);
        let x = [1.0, 0.0, 0.0];
        let front = Camera::framed(Preset::Front, lo, hi, x, 200, 100, 0.1);
        assert_eq!(front.dir, [1.0, 0.0, 0.0]);
        assert_eq!(front.up, [0.0, 0.0, 1.0]);
        // The upstream face is nearer than the downstream one.
        assert!(front.project([-0.5, 0.0, 0.0]).2 < front.project([0.5, 0.0, 0.0]).2);
        // Side: the flow runs left to right, +z up.
        let side = Camera::framed(Preset::Side, lo, hi, x, 200, 100, 0.1);
        assert!(side.project([0.5, 0.0, 0.0]).0 > side.project([-0.5, 0.0, 0.0]).0);
        assert!(side.project([0.0, 0.0, 0.5]).1 < side.project([0.0, 0.0, -0.5]).1);
        let top = Camera::framed(Preset::Top, lo, hi, x, 200, 100, 0.1);
        assert_eq!(top.dir, [0.0, 0.0, -1.0]);
        assert!(top.project([0.5, 0.0, 0.0]).0 > top.project([-0.5, 0.0, 0.0]).0);
        let iso = Camera::framed(Preset::Iso, lo, hi, x, 200, 100, 0.1);
        let s = 1.0 / 3f64.sqrt();
        assert!(norm(sub(iso.dir, [s, s, -s])) < 1e-12, "{:?}", iso.dir);
        // A flow along z takes +y as up.
        let down = Camera::framed(Preset::Front, lo, hi, [0.0, 0.0, -1.0], 200, 100, 0.1);
        assert_eq!(down.up, [0.0, 1.0, 0.0]);
        // Square box, 200x100 picture with 10 % margins: the height limits, 1 m over 80 px.
        assert!((front.metres_per_pixel() - 1.0 / 80.0).abs() < 1e-12);
        let (cx, cy, _) = front.project([0.0, 0.0, 0.0]);
        assert_eq!((cx, cy), (100.0, 50.0));
        let big = front.scaled(2);
        assert_eq!((big.width, big.height), (400, 200));
        assert_eq!(big.project([0.0, 0.3, 0.2]).0, 2.0 * front.project([0.0, 0.3, 0.2]).0);
    }
}
