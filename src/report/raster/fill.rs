//! Filling triangles into a colour and depth buffer: bounding box, each row's run found from
//! where the edge functions cross zero (so a long thin sliver, such as a line, costs its
//! length rather than its box), edge functions stepped incrementally along the run, a
//! top-left style tie rule (a pixel centre on an edge shared by two triangles belongs to
//! exactly one of them), and one value (the scalar) interpolated linearly for the caller to
//! colour. Nothing is allocated per triangle or per pixel.

/// A vertex on the (supersampled) picture: x, y in pixels, depth in m (larger is farther).
pub(super) type SV = [f32; 3];

/// The buffers a picture is drawn into, in supersampled pixels.
pub(super) struct Target {
    pub w: usize,
    pub h: usize,
    /// Depth per pixel; +inf where nothing is drawn.
    pub depth: Vec<f32>,
    /// 0x00RRGGBB per pixel.
    pub colour: Vec<u32>,
}

/// Packs a colour.
pub(super) fn pack(c: [u8; 3]) -> u32 {
    (c[0] as u32) << 16 | (c[1] as u32) << 8 | c[2] as u32
}

/// Unpacks a colour.
pub(super) fn unpack(c: u32) -> [u8; 3] {
    [(c >> 16) as u8, (c >> 8) as u8, c as u8]
}

/// Whether a pixel centre exactly on the edge a→b belongs to the triangle: of the two
/// triangles that share an edge (and traverse it in opposite directions once both are
/// oriented alike), exactly one takes it.
fn owns(dx: f32, dy: f32) -> bool {
    dy > 0.0 || (dy == 0.0 && dx < 0.0)
}

impl Target {
    pub fn new(w: usize, h: usize, background: [u8; 3]) -> Target {
        Target { w, h, depth: vec![f32::INFINITY; w * h], colour: vec![pack(background); w * h] }
    }

    /// Fills the triangle `p` carrying the values `s` at its corners: each covered pixel
    /// nearer than what is there gets `paint(s interpolated)` and its depth minus `bias`.
    #[inline]
    pub fn tri(&mut self, p: [SV; 3], s: [f32; 3], bias: f32, paint: &impl Fn(f32) -> u32) {
        let [mut a, mut b, c] = p;
        let [mut sa, mut sb, sc] = s;
        let mut area = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
        if !(area.abs() > 1e-9) {
            // Seen edge-on (or not finite): covers nothing.
            return;
        }
        if area < 0.0 {
            std::mem::swap(&mut a, &mut b);
            std::mem::swap(&mut sa, &mut sb);
            area = -area;
        }
        // Pixel centres sit at i + 0.5.
        let x0 = (a[0].min(b[0]).min(c[0]) - 0.5).ceil().max(0.0);
        let x1 = (a[0].max(b[0]).max(c[0]) - 0.5).floor().min(self.w as f32 - 1.0);
        let y0 = (a[1].min(b[1]).min(c[1]) - 0.5).ceil().max(0.0);
        let y1 = (a[1].max(b[1]).max(c[1]) - 0.5).floor().min(self.h as f32 - 1.0);
        if x0 > x1 || y0 > y1 {
            return;
        }
        // Edge function of v→w at q: (w − v) × (q − v); positive inside for every edge.
        let edge = |v: SV, w: SV| (w[0] - v[0], w[1] - v[1]);
        let (e0, e1, e2) = (edge(b, c), edge(c, a), edge(a, b));
        let at = |v: SV, e: (f32, f32), x: f32, y: f32| e.0 * (y - v[1]) - e.1 * (x - v[0]);
        let (o0, o1, o2) = (owns(e0.0, e0.1), owns(e1.0, e1.1), owns(e2.0, e2.1));
        let inv = 1.0 / area;
        // Depth and value as planes over the picture: f(x, y) = f_a + fx (x − a.x) + fy (y − a.y).
        let plane = |fa: f32, fb: f32, fc: f32| {
            let fx = ((fb - fa) * (c[1] - a[1]) - (fc - fa) * (b[1] - a[1])) * inv;
            let fy = ((fc - fa) * (b[0] - a[0]) - (fb - fa) * (c[0] - a[0])) * inv;
            (fx, fy)
        };
        let (zx, zy) = plane(a[2], b[2], c[2]);
        let (vx, vy) = plane(sa, sb, sc);
        let (xs, ys) = (x0 + 0.5, y0 + 0.5);
        let mut r0 = at(b, e0, xs, ys);
        let mut r1 = at(c, e1, xs, ys);
        let mut r2 = at(a, e2, xs, ys);
        let mut rz = a[2] - bias + zx * (xs - a[0]) + zy * (ys - a[1]);
        let mut rv = sa + vx * (xs - a[0]) + vy * (ys - a[1]);
        let (ix0, ix1) = (x0 as usize, x1 as usize);
        let last = (ix1 - ix0) as f32;
        let steps = [-e0.1, -e1.1, -e2.1];
        for y in y0 as usize..=y1 as usize {
            // The run of pixels inside all three edges, from where each edge function
            // crosses zero (one pixel wider each way against rounding; the test below is exact).
            let (mut k0, mut k1) = (0.0f32, last);
            for (r, st) in [r0, r1, r2].into_iter().zip(steps) {
                if st > 0.0 {
                    k0 = k0.max((-r / st).floor() - 1.0);
                } else if st < 0.0 {
                    k1 = k1.min((-r / st).ceil() + 1.0);
                } else if r < 0.0 {
                    k1 = -1.0;
                }
            }
            if k0 <= k1 && k1 >= 0.0 && k0 <= last {
                let k = k0.max(0.0);
                let (mut w0, mut w1, mut w2) = (r0 + steps[0] * k, r1 + steps[1] * k, r2 + steps[2] * k);
                let (mut z, mut v) = (rz + zx * k, rv + vx * k);
                let row = y * self.w + ix0;
                for x in k as usize..=k1.min(last) as usize {
                    let inside = (w0 > 0.0 || (w0 == 0.0 && o0))
                        && (w1 > 0.0 || (w1 == 0.0 && o1))
                        && (w2 > 0.0 || (w2 == 0.0 && o2));
                    if inside && z < self.depth[row + x] {
                        self.depth[row + x] = z;
                        self.colour[row + x] = paint(v);
                    }
                    w0 += steps[0];
                    w1 += steps[1];
                    w2 += steps[2];
                    z += zx;
                    v += vx;
                }
            }
            r0 += e0.0;
            r1 += e1.0;
            r2 += e2.0;
            rz += zy;
            rv += vy;
        }
    }

    /// Draws the segment a→b `width` pixels wide (square ends, so the segments of a polyline
    /// join without gaps) carrying `sa`..`sb`, `bias` m nearer than it is.
    pub fn segment(&mut self, a: SV, b: SV, sa: f32, sb: f32, width: f32, bias: f32, paint: &impl Fn(f32) -> u32) {
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        let len = (dx * dx + dy * dy).sqrt();
        let h = 0.5 * width.max(0.0);
        // Along the segment and across it, each half a width long.
        let (ux, uy) = if len > 1e-6 { (dx / len * h, dy / len * h) } else { (h, 0.0) };
        let (nx, ny) = (-uy, ux);
        let a0 = [a[0] - ux + nx, a[1] - uy + ny, a[2]];
        let a1 = [a[0] - ux - nx, a[1] - uy - ny, a[2]];
        let b0 = [b[0] + ux + nx, b[1] + uy + ny, b[2]];
        let b1 = [b[0] + ux - nx, b[1] + uy - ny, b[2]];
        self.tri([a0, a1, b1], [sa, sa, sb], bias, paint);
        self.tri([a0, b1, b0], [sa, sb, sb], bias, paint);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(t: &Target, c: u32) -> usize {
        t.colour.iter().filter(|&&x| x == c).count()
    }

    #[test]
    fn a_square_of_two_triangles_covers_each_pixel_once() {
        let mut t = Target::new(10, 10, [255; 3]);
        // Two triangles sharing the diagonal through pixel centres (2.5,2.5)..(7.5,7.5).
        let hits = std::cell::Cell::new(0);
        let paint = |_: f32| {
            hits.set(hits.get() + 1);
            pack([0, 0, 0])
        };
        let (p, q, r) = ([2.0, 2.0, 1.0], [8.0, 2.0, 1.0], [8.0, 8.0, 1.0]);
        t.tri([p, q, r], [0.0; 3], 0.0, &paint);
        // The second is nearer, so a diagonal pixel both claimed would be painted twice.
        let (p, r, s) = ([2.0, 2.0, 0.5], [8.0, 8.0, 0.5], [2.0, 8.0, 0.5]);
        t.tri([p, r, s], [0.0; 3], 0.0, &paint);
        assert_eq!(count(&t, 0), 36, "pixels 2..8 each way");
        assert_eq!(hits.get(), 36, "the diagonal's six centres belong to one triangle");
    }

    #[test]
    fn values_and_depth_interpolate_linearly() {
        let mut t = Target::new(20, 20, [255; 3]);
        // Value = x, depth = y over the whole picture.
        let paint = |v: f32| pack([(10.0 * v).round() as u8, 0, 0]);
        t.tri([[0.0, 0.0, 0.0], [40.0, 0.0, 0.0], [0.0, 40.0, 40.0]], [0.0, 40.0, 0.0], 0.0, &paint);
        assert!((74..=76).contains(&unpack(t.colour[5 * 20 + 7])[0]), "x = 7.5 at pixel 7");
        assert!((t.depth[5 * 20 + 7] - 5.5).abs() < 1e-4);
        // A nearer triangle over the middle wins; a farther one does not.
        t.tri([[5.0, 5.0, 2.0], [15.0, 5.0, 2.0], [5.0, 15.0, 2.0]], [20.0; 3], 0.0, &paint);
        t.tri([[5.0, 5.0, 99.0], [15.0, 5.0, 99.0], [5.0, 15.0, 99.0]], [10.0; 3], 0.0, &paint);
        assert_eq!(unpack(t.colour[7 * 20 + 7])[0], 200);
        // Degenerate and off-picture triangles draw nothing (and do not panic).
        let before = t.colour.clone();
        t.tri([[1.0, 1.0, 0.0], [5.0, 5.0, 0.0], [9.0, 9.0, 0.0]], [0.0; 3], 1.0, &paint);
        t.tri([[-50.0, -50.0, -9.0], [-40.0, -50.0, -9.0], [-50.0, -40.0, -9.0]], [0.0; 3], 0.0, &paint);
        t.tri([[f32::NAN, 0.0, 0.0], [4.0, 0.0, 0.0], [0.0, 4.0, 0.0]], [0.0; 3], 0.0, &paint);
        assert!(before == t.colour);
    }

    #[test]
    fn long_diagonal_slivers_are_filled_exactly() {
        // A 1-pixel-wide diagonal band across a large picture: the run search must find
        // every pixel centre the band covers, no more.
        let (w, h) = (600usize, 500usize);
        let mut t = Target::new(w, h, [255; 3]);
        t.segment([10.0, 20.0, 0.0], [580.0, 470.0, 0.0], 0.0, 0.0, 3.0, 0.0, &|_| 0);
        let (dx, dy) = (570.0f64, 450.0f64);
        let len = (dx * dx + dy * dy).sqrt();
        let mut want = 0;
        for y in 0..h {
            for x in 0..w {
                let (px, py) = (x as f64 + 0.5 - 10.0, y as f64 + 0.5 - 20.0);
                let along = (px * dx + py * dy) / len;
                let across = (px * dy - py * dx) / len;
                if along > -1.5 && along < len + 1.5 && across.abs() < 1.5 {
                    want += 1;
                }
            }
        }
        let got = count(&t, 0) as i64;
        assert!((got - want).abs() <= 4, "{got} vs {want}");
    }

    #[test]
    fn segments_have_their_width() {
        let mut t = Target::new(40, 20, [255; 3]);
        t.segment([5.0, 10.0, 0.0], [35.0, 10.0, 0.0], 0.0, 0.0, 4.0, 0.0, &|_| 0);
        // 4 px wide (rows 8..12) and 30 + 4 px long (square ends).
        assert_eq!(count(&t, 0), 4 * 34);
    }
}
