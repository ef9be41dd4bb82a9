//! The report's software rasterizer: `post`'s triangles and polylines, with their scalars,
//! drawn into an 8-bit RGB picture on one core with no GPU. A [`Scene`] is a list of
//! [`Layer`]s (surfaces coloured by a scalar through a [`Colormap`], by one colour or one
//! colour per triangle; polylines a few pixels wide), seen by an orthographic [`Camera`]
//! (`camera`, with presets that frame the body from the flow's point of view) and filled
//! into a z-buffer (`fill`) at a multiple of the final size, then box-averaged down: that
//! is the anti-aliasing.
//!
//! A scalar is interpolated across each triangle and coloured per pixel, so colour bands
//! stay sharp however coarse the mesh. Surfaces are lit from beside the camera (ambient 0.35
//! plus 0.65 |n·l|, two-sided, the diffuse part scaled so that a face seen head-on gets full
//! light): a face seen head-on shows its value's exact colormap colour, so a test can read
//! the value back from the pixel ([`Colormap::invert`]), while the light's small offset
//! (up and to the left) keeps the faces of a box apart in the isometric view, where a pure
//! headlight would light all three alike.
mod camera;
mod fill;

pub use camera::{Camera, Preset};

use super::colormap::{self, Colormap};
use crate::geometry::analyse::{cross, dot, norm, sub};
use crate::post::extract::PolyData;
use crate::post::geom::V3;
use fill::{pack, unpack, Target, SV};

/// An 8-bit RGB picture, rows from the top.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub width: u32,
    pub height: u32,
    /// R, G, B per pixel, row after row.
    pub rgb: Vec<u8>,
}

impl Image {
    /// The colour of pixel (x, y) (x from the left, y from the top); white outside.
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        if x >= self.width || y >= self.height {
            return [255; 3];
        }
        let i = 3 * (y as usize * self.width as usize + x as usize);
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    /// The variance of the picture's channel values (R, G and B of every pixel together),
    /// in 8-bit units squared: 0 for a blank picture, thousands for a busy one.
    pub fn variance(&self) -> f64 {
        if self.rgb.is_empty() {
            return 0.0;
        }
        let n = self.rgb.len() as f64;
        let (s, s2) = self.rgb.iter().fold((0u64, 0u64), |(s, s2), &v| (s + v as u64, s2 + (v as u64) * (v as u64)));
        let mean = s as f64 / n;
        (s2 as f64 / n - mean * mean).max(0.0)
    }

    /// The picture as a PNG file.
    pub fn to_png(&self) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, self.width, self.height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Fast);
        let mut w = enc.write_header().map_err(|e| format!("encoding a PNG: {e}"))?;
        w.write_image_data(&self.rgb).map_err(|e| format!("encoding a PNG: {e}"))?;
        w.finish().map_err(|e| format!("encoding a PNG: {e}"))?;
        Ok(out)
    }
}

/// How a layer is coloured.
#[derive(Debug, Clone, Copy)]
pub enum Paint<'a> {
    /// One value per point, coloured through `map` from `lo` (t = 0) to `hi` (t = 1),
    /// clamped at both ends.
    Scalar { values: &'a [f64], map: Colormap, lo: f64, hi: f64 },
    /// One colour for the whole layer.
    Solid([u8; 3]),
    /// One colour per triangle for surfaces, per polyline for lines.
    PerElement(&'a [[u8; 3]]),
}

/// Triangles and/or polylines over one list of points, painted one way.
#[derive(Debug, Clone, Copy)]
pub struct Layer<'a> {
    pub points: &'a [V3],
    pub tris: &'a [[u32; 3]],
    /// Polylines as runs of point indices.
    pub lines: &'a [Vec<u32>],
    pub paint: Paint<'a>,
    /// The lines' width in pixels of the final picture.
    pub line_width: f64,
    /// Whether the triangles are shaded by the headlight (lines never are).
    pub lit: bool,
}

impl<'a> Layer<'a> {
    /// Lit triangles.
    pub fn surface(points: &'a [V3], tris: &'a [[u32; 3]], paint: Paint<'a>) -> Layer<'a> {
        Layer { points, tris, lines: &[], paint, line_width: 0.0, lit: true }
    }

    /// Polylines `width` pixels wide.
    pub fn lines(points: &'a [V3], lines: &'a [Vec<u32>], paint: Paint<'a>, width: f64) -> Layer<'a> {
        Layer { points, tris: &[], lines, paint, line_width: width, lit: false }
    }

    /// The triangles and polylines of `post` output (lit; lines 1.5 pixels wide).
    pub fn poly(data: &'a PolyData, paint: Paint<'a>) -> Layer<'a> {
        Layer { points: &data.points, tris: &data.tris, lines: &data.lines, paint, line_width: 1.5, lit: true }
    }

    /// The same layer with its own colours, unshaded (a slice seen face-on).
    pub fn unlit(self) -> Layer<'a> {
        Layer { lit: false, ..self }
    }

    /// The same layer with lines `width` pixels wide.
    pub fn width(self, width: f64) -> Layer<'a> {
        Layer { line_width: width, ..self }
    }

    /// Whether every index points at a point and the paint has a value (colour) for every
    /// point (element); [`render`] skips what does not, this says what it is.
    pub fn check(&self) -> Result<(), String> {
        let n = self.points.len();
        if let Some(t) = self.tris.iter().position(|t| t.iter().any(|&i| i as usize >= n)) {
            return Err(format!("triangle {t} refers to a point past the layer's {n}"));
        }
        if let Some(l) = self.lines.iter().position(|l| l.iter().any(|&i| i as usize >= n)) {
            return Err(format!("polyline {l} refers to a point past the layer's {n}"));
        }
        match self.paint {
            Paint::Scalar { values, .. } if values.len() != n => Err(format!("{} values for {n} points", values.len())),
            Paint::PerElement(c) if !self.tris.is_empty() && c.len() != self.tris.len() => {
                Err(format!("{} colours for {} triangles", c.len(), self.tris.len()))
            }
            Paint::PerElement(c) if self.tris.is_empty() && c.len() != self.lines.len() => {
                Err(format!("{} colours for {} polylines", c.len(), self.lines.len()))
            }
            _ => Ok(()),
        }
    }
}

/// What a picture shows: layers drawn in order (the nearest wins wherever they overlap).
#[derive(Debug, Clone, Default)]
pub struct Scene<'a> {
    pub layers: Vec<Layer<'a>>,
}

impl<'a> Scene<'a> {
    pub fn new() -> Scene<'a> {
        Scene::default()
    }

    /// Adds a layer.
    pub fn push(&mut self, layer: Layer<'a>) -> &mut Scene<'a> {
        self.layers.push(layer);
        self
    }

    /// The box around every point the layers use (None when they use none), for framing.
    pub fn bounds(&self) -> Option<(V3, V3)> {
        let mut lo = [f64::INFINITY; 3];
        let mut hi = [f64::NEG_INFINITY; 3];
        for l in &self.layers {
            let used = l.tris.iter().flatten().chain(l.lines.iter().flatten());
            for &i in used {
                if let Some(p) = l.points.get(i as usize) {
                    for k in 0..3 {
                        lo[k] = lo[k].min(p[k]);
                        hi[k] = hi[k].max(p[k]);
                    }
                }
            }
        }
        (lo[0] <= hi[0]).then_some((lo, hi))
    }
}

/// How a picture is drawn.
#[derive(Debug, Clone, Copy)]
pub struct RenderOptions {
    /// Samples per pixel each way (2: 4 samples per pixel), averaged for anti-aliasing.
    pub supersample: u32,
    pub background: [u8; 3],
    /// Lines are drawn as if this many pixel lengths nearer than they are, so edges lying
    /// on a surface show over it.
    pub line_bias_px: f64,
    /// The share of light every lit face gets, seen at any angle; the rest comes from the
    /// light as |n·l|.
    pub ambient: f64,
    /// Where the light sits beside the camera: (left, up) offsets of its direction, as
    /// fractions of the view direction; [0, 0] is a pure headlight.
    pub light_offset: [f64; 2],
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            supersample: 2,
            background: [255; 3],
            line_bias_px: 2.0,
            ambient: 0.35,
            light_offset: [0.2, 0.3],
        }
    }
}

/// Draws `scene` as `camera` sees it.
pub fn render(scene: &Scene, camera: &Camera, opts: &RenderOptions) -> Image {
    let ss = opts.supersample.clamp(1, 8);
    let cam = camera.scaled(ss);
    let mut t = Target::new(cam.width as usize, cam.height as usize, opts.background);
    let mut screen: Vec<SV> = Vec::new();
    let ambient = opts.ambient.clamp(0.0, 1.0);
    // The direction the light travels, and |n·l| of a face seen head-on, which gets full light.
    let [left, up] = opts.light_offset.map(|v| if v.is_finite() { v } else { 0.0 });
    let light = [0, 1, 2].map(|k| cam.dir[k] - up * cam.up[k] + left * cam.right[k]);
    let light = light.map(|v| v / norm(light));
    let full = dot(light, cam.dir).abs();
    for layer in &scene.layers {
        screen.clear();
        screen.extend(layer.points.iter().map(|&p| {
            let (x, y, z) = cam.project(p);
            [x as f32, y as f32, z as f32]
        }));
        let n = screen.len();
        let value = |i: u32| match layer.paint {
            Paint::Scalar { values, .. } => values.get(i as usize).map_or(f32::NAN, |&v| v as f32),
            _ => 0.0,
        };
        let (lut, lo, k) = match layer.paint {
            Paint::Scalar { map, lo, hi, .. } => {
                let k = if hi > lo && (hi - lo).is_finite() { 1.0 / (hi - lo) } else { 0.0 };
                (Some(map.table()), lo as f32, k as f32)
            }
            _ => (None, 0.0, 0.0),
        };
        let solid = |e: usize| match layer.paint {
            Paint::Solid(c) => c,
            Paint::PerElement(cs) => cs.get(e).copied().unwrap_or([128; 3]),
            Paint::Scalar { .. } => [0; 3],
        };
        let shade_of = |tri: &[u32; 3]| -> f32 {
            if !layer.lit {
                return 1.0;
            }
            let [a, b, c] = tri.map(|i| layer.points[i as usize]);
            let nrm = cross(sub(b, a), sub(c, a));
            let len = norm(nrm);
            let cos = if len > 0.0 { (dot(nrm, light) / len).abs() / full } else { 1.0 };
            (ambient + (1.0 - ambient) * cos.min(1.0)) as f32
        };
        for (e, tri) in layer.tris.iter().enumerate() {
            if tri.iter().any(|&i| i as usize >= n) {
                continue;
            }
            let p = tri.map(|i| screen[i as usize]);
            let shade = shade_of(tri);
            match lut {
                Some(lut) => {
                    let s = tri.map(value);
                    t.tri(p, s, 0.0, &|v| pack(shaded(lut[scalar_index(v, lo, k)], shade)));
                }
                None => {
                    let c = pack(shaded(solid(e), shade));
                    t.tri(p, [0.0; 3], 0.0, &|_| c);
                }
            }
        }
        let width = (layer.line_width * ss as f64) as f32;
        let bias = (opts.line_bias_px * camera.metres_per_pixel()) as f32;
        for (e, line) in layer.lines.iter().enumerate() {
            for w in line.windows(2) {
                let (a, b) = (w[0] as usize, w[1] as usize);
                if a >= n || b >= n {
                    continue;
                }
                match lut {
                    Some(lut) => {
                        let paint = |v: f32| pack(lut[scalar_index(v, lo, k)]);
                        t.segment(screen[a], screen[b], value(w[0]), value(w[1]), width, bias, &paint)
                    }
                    None => {
                        let c = pack(solid(e));
                        t.segment(screen[a], screen[b], 0.0, 0.0, width, bias, &|_| c)
                    }
                }
            }
        }
    }
    downsample(&t, ss as usize, camera.width, camera.height)
}

/// The table entry of the value `v` on a range starting at `lo`, `k` = 1 / (hi − lo).
#[inline]
fn scalar_index(v: f32, lo: f32, k: f32) -> usize {
    let t = (v - lo) * k;
    // NaN fails both comparisons and lands on entry 0, as colormap::index does.
    if t >= 1.0 {
        255
    } else if t > 0.0 {
        (t * 255.0 + 0.5) as usize
    } else {
        colormap::index(0.0)
    }
}

#[inline]
fn shaded(c: [u8; 3], shade: f32) -> [u8; 3] {
    if shade >= 1.0 {
        return c;
    }
    c.map(|v| (v as f32 * shade + 0.5) as u8)
}

/// The box average of each `ss` × `ss` block of samples.
fn downsample(t: &Target, ss: usize, width: u32, height: u32) -> Image {
    let (w, h) = (width as usize, height as usize);
    let mut rgb = vec![0u8; 3 * w * h];
    let n = (ss * ss) as u32;
    for y in 0..h {
        for x in 0..w {
            let mut sum = [0u32; 3];
            for sy in 0..ss {
                let row = (y * ss + sy) * t.w + x * ss;
                for &c in &t.colour[row..row + ss] {
                    let c = unpack(c);
                    for k in 0..3 {
                        sum[k] += c[k] as u32;
                    }
                }
            }
            let o = 3 * (y * w + x);
            for k in 0..3 {
                rgb[o + k] = ((sum[k] + n / 2) / n) as u8;
            }
        }
    }
    Image { width, height, rgb }
}

#[cfg(test)]
mod tests;
