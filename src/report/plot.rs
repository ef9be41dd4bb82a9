//! Plots drawn as vector paths, sharp at any zoom: line plots (linear or log y, with a
//! shaded window), horizontal bar charts, colour bars and scale bars. Each returns a
//! [`Canvas`] that the layout places as one block.
use super::layout::{Canvas, Face, Fonts, Item, Rgb, INK, MUTED, RULE};

/// Distinct, print-safe series colours (matplotlib's tab10).
pub const PALETTE: [Rgb; 10] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [127, 127, 127],
    [188, 189, 34],
    [23, 190, 207],
];

/// One curve.
pub struct Series {
    pub name: String,
    pub pts: Vec<(f64, f64)>,
    pub color: Rgb,
}

/// A line plot's content.
pub struct LinePlot {
    pub x_label: String,
    pub y_label: String,
    pub log_y: bool,
    pub series: Vec<Series>,
    /// An x range shaded behind the curves, with its legend label.
    pub shade: Option<(f64, f64, String)>,
}

/// A number as a label: short, no trailing noise.
pub fn fmt_num(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    if !(1e-3..1e5).contains(&a) {
        let s = format!("{x:.1e}");
        return s.replace(".0e", "e");
    }
    let digits = (4 - a.log10().floor() as i32 - 1).clamp(0, 6) as usize;
    let s = format!("{x:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// About `n` round tick values covering [lo, hi].
pub fn nice_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return vec![lo];
    }
    let raw = (hi - lo) / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag);
    let start = (lo / step).ceil() * step;
    let mut out = Vec::new();
    let mut v = start;
    while v <= hi + step * 1e-9 && out.len() < 50 {
        out.push(if v.abs() < step * 1e-9 { 0.0 } else { v });
        v += step;
    }
    out
}

/// A line plot of `w` × `h` pt.
pub fn line_plot(fonts: &Fonts, p: &LinePlot, w: f32, h: f32) -> Canvas {
    let mut c = Canvas::new(w, h);
    let (l, r, t, b) = (48.0, 8.0, 6.0, 44.0);
    let (pw, ph) = (w - l - r, h - t - b);
    let ty = |y: f64| if p.log_y { y.max(1e-300).log10() } else { y };
    let all = || {
        p.series
            .iter()
            .flat_map(|s| s.pts.iter())
            .filter(|(x, y)| x.is_finite() && y.is_finite() && (!p.log_y || *y > 0.0))
    };
    let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for &(x, y) in all() {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(ty(y));
        y1 = y1.max(ty(y));
    }
    if !x0.is_finite() {
        c.text(l + pw / 2.0, t + ph / 2.0, Face::Regular, 9.0, "no data", 0.5);
        return c;
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    if p.log_y {
        (y0, y1) = (y0.floor(), y1.ceil().max(y0.floor() + 1.0));
    } else {
        let pad = ((y1 - y0) * 0.08).max(1e-9 * y1.abs().max(1.0));
        (y0, y1) = (y0 - pad, y1 + pad);
    }
    let sx = |x: f64| l + ((x - x0) / (x1 - x0)) as f32 * pw;
    let sy = |y: f64| t + ph - ((ty(y) - y0) / (y1 - y0)) as f32 * ph;
    let syr = |v: f64| t + ph - ((v - y0) / (y1 - y0)) as f32 * ph;
    if let Some((a, bnd, _)) = &p.shade {
        let (xa, xb) = (sx(a.max(x0)), sx(bnd.min(x1)));
        c.items.push(Item::Rect {
            x: xa,
            y: t,
            w: (xb - xa).max(0.5),
            h: ph,
            fill: Some([255, 226, 170]),
            stroke: None,
            opacity: 0.6,
        });
    }
    // Grid and ticks.
    let yticks: Vec<f64> =
        if p.log_y { (y0 as i32..=y1 as i32).map(f64::from).collect() } else { nice_ticks(y0, y1, 5) };
    for v in &yticks {
        let y = syr(*v);
        c.line(vec![(l, y), (l + pw, y)], 0.3, RULE);
        let label = if p.log_y { format!("1e{}", *v as i32) } else { fmt_num(*v) };
        c.text(l - 4.0, y + 3.0, Face::Regular, 7.0, label, 1.0);
    }
    for v in nice_ticks(x0, x1, 6) {
        let x = sx(v);
        c.line(vec![(x, t + ph), (x, t + ph + 3.0)], 0.5, INK);
        c.text(x, t + ph + 12.0, Face::Regular, 7.0, fmt_num(v), 0.5);
    }
    c.rect(l, t, pw, ph, None, Some((INK, 0.6)));
    for s in &p.series {
        let pts: Vec<(f32, f32)> = decimate(&s.pts, 1500)
            .into_iter()
            .filter(|(x, y)| x.is_finite() && y.is_finite() && (!p.log_y || *y > 0.0))
            .map(|(x, y)| (sx(x), sy(y).clamp(t, t + ph)))
            .collect();
        c.line(pts, 0.9, s.color);
    }
    c.text(l + pw / 2.0, t + ph + 24.0, Face::Regular, 8.0, p.x_label.clone(), 0.5);
    // The legend under the axis label, led by the y quantity (text is not rotated here).
    let mut x = l;
    let y = t + ph + 37.0;
    let mut entries: Vec<(String, Rgb, bool)> = p.series.iter().map(|s| (s.name.clone(), s.color, false)).collect();
    if let Some((_, _, label)) = &p.shade {
        entries.push((label.clone(), [255, 200, 120], true));
    }
    entries.insert(0, (format!("{}:", p.y_label), MUTED, false));
    for (i, (name, color, block)) in entries.iter().enumerate() {
        if i > 0 {
            if *block {
                c.rect(x, y - 6.0, 12.0, 7.0, Some(*color), None);
            } else {
                c.line(vec![(x, y - 2.5), (x + 12.0, y - 2.5)], 1.5, *color);
            }
            x += 15.0;
        }
        c.text(x, y, Face::Regular, 7.5, name.clone(), 0.0);
        x += fonts.width(Face::Regular, 7.5, name) + 10.0;
    }
    c
}

/// At most about `n` points: min and max per bucket keep the envelope of a noisy curve.
fn decimate(pts: &[(f64, f64)], n: usize) -> Vec<(f64, f64)> {
    if pts.len() <= n {
        return pts.to_vec();
    }
    let bucket = pts.len().div_ceil(n / 2);
    let mut out = Vec::with_capacity(n + 2);
    for chunk in pts.chunks(bucket) {
        let lo = chunk.iter().copied().fold((0.0, f64::INFINITY), |a, p| if p.1 < a.1 { p } else { a });
        let hi = chunk.iter().copied().fold((0.0, f64::NEG_INFINITY), |a, p| if p.1 > a.1 { p } else { a });
        let (a, b) = if lo.0 <= hi.0 { (lo, hi) } else { (hi, lo) };
        out.push(a);
        if b != a {
            out.push(b);
        }
    }
    out
}

/// Horizontal bars of `value / max` with the value printed beside each (`unit` after it).
pub fn bar_chart(fonts: &Fonts, bars: &[(String, f64)], max: f64, unit: &str, w: f32) -> Canvas {
    let row = 13.0;
    let h = bars.len() as f32 * row + 18.0;
    let mut c = Canvas::new(w, h);
    let label_w = bars.iter().map(|(n, _)| fonts.width(Face::Regular, 7.5, n)).fold(40.0f32, f32::max).min(w * 0.35);
    let (x0, x1) = (label_w + 6.0, w - 50.0);
    for (i, (name, v)) in bars.iter().enumerate() {
        let y = i as f32 * row;
        let frac = if max > 0.0 { (v / max).clamp(0.0, 1.0) as f32 } else { 0.0 };
        let name = fonts.wrap(Face::Regular, 7.5, name, label_w).into_iter().next().unwrap_or_default();
        c.text(label_w, y + 9.0, Face::Regular, 7.5, name, 1.0);
        c.rect(x0, y + 2.0, x1 - x0, row - 4.0, Some([236, 238, 242]), None);
        let color = if frac >= 0.9 {
            PALETTE[2]
        } else if frac >= 0.5 {
            PALETTE[1]
        } else {
            PALETTE[3]
        };
        c.rect(x0, y + 2.0, (x1 - x0) * frac, row - 4.0, Some(color), None);
        c.text(x1 + 4.0, y + 9.0, Face::Regular, 7.5, format!("{}{unit}", fmt_num(*v)), 0.0);
    }
    let y = bars.len() as f32 * row + 4.0;
    for k in 0..=4 {
        let x = x0 + (x1 - x0) * k as f32 / 4.0;
        c.line(vec![(x, y - 2.0), (x, y + 1.0)], 0.5, INK);
        c.text(x, y + 10.0, Face::Regular, 7.0, format!("{}{unit}", fmt_num(max * f64::from(k) / 4.0)), 0.5);
    }
    c
}

/// A horizontal colour bar `w` pt wide: the map in 96 steps, five labelled ticks, and the
/// field's label with its units.
pub fn colour_bar(colour: &dyn Fn(f64) -> Rgb, lo: f64, hi: f64, label: &str, w: f32) -> Canvas {
    let mut c = Canvas::new(w, 34.0);
    let (x0, bw, bh) = (0.0, w, 9.0);
    let steps = 96;
    for i in 0..steps {
        let t = (i as f64 + 0.5) / steps as f64;
        let x = x0 + bw * i as f32 / steps as f32;
        c.rect(x, 0.0, bw / steps as f32 + 0.3, bh, Some(colour(t)), None);
    }
    c.rect(x0, 0.0, bw, bh, None, Some((INK, 0.4)));
    // Round values where they fall, and the two ends.
    let span = (hi - lo).max(1e-300);
    let mut ticks: Vec<(f64, f32)> = vec![(lo, 0.0), (hi, 1.0)];
    for v in nice_ticks(lo, hi, 5) {
        let t = ((v - lo) / span) as f32;
        if t > 0.08 && t < 0.92 {
            ticks.push((v, t));
        }
    }
    for (v, t) in ticks {
        let x = x0 + bw * t;
        c.line(vec![(x, bh), (x, bh + 3.0)], 0.5, INK);
        let anchor = if t <= 0.0 {
            0.0
        } else if t >= 1.0 {
            1.0
        } else {
            0.5
        };
        c.text(x, bh + 11.0, Face::Regular, 7.0, fmt_num(v), anchor);
    }
    c.text(w / 2.0, bh + 22.0, Face::Regular, 7.5, label.to_string(), 0.5);
    c
}

/// A scale bar for a picture drawn at `m_per_pt` metres per point: a round length that
/// fits in `max_pt`, drawn from (x, y) with its label above.
pub fn scale_bar(m_per_pt: f64, max_pt: f32, x: f32, y: f32) -> Vec<Item> {
    if !(m_per_pt > 0.0 && m_per_pt.is_finite()) {
        return Vec::new();
    }
    let max_m = m_per_pt * f64::from(max_pt);
    let mag = 10f64.powf(max_m.log10().floor());
    let len_m = [5.0, 2.0, 1.0].iter().map(|k| k * mag).find(|l| *l <= max_m).unwrap_or(mag);
    let len = (len_m / m_per_pt) as f32;
    let label = if len_m >= 1.0 { format!("{} m", fmt_num(len_m)) } else { format!("{} mm", fmt_num(len_m * 1000.0)) };
    vec![
        Item::Rect {
            x: x - 3.0,
            y: y - 13.0,
            w: len + 6.0,
            h: 18.0,
            fill: Some([255, 255, 255]),
            stroke: None,
            opacity: 0.8,
        },
        Item::Line {
            pts: vec![(x, y - 3.0), (x, y), (x + len, y), (x + len, y - 3.0)],
            width: 1.2,
            color: INK,
            dash: false,
        },
        Item::Text {
            x: x + len / 2.0,
            y: y - 4.0,
            face: Face::Regular,
            size: 7.0,
            text: label,
            color: INK,
            anchor: 0.5,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        let t = nice_ticks(0.0, 1.0, 5);
        assert_eq!(t.len(), 6);
        assert!(t.iter().zip([0.0, 0.2, 0.4, 0.6, 0.8, 1.0]).all(|(a, b)| (a - b).abs() < 1e-12), "{t:?}");
        let t = nice_ticks(-0.37, 1.21, 5);
        assert!(t.first().unwrap() >= &-0.37 && t.last().unwrap() <= &1.21 && t.len() >= 4, "{t:?}");
        assert_eq!(fmt_num(1.15858), "1.159");
        assert_eq!(fmt_num(1.225), "1.225");
        assert_eq!(fmt_num(0.0012345), "0.001234");
        assert_eq!(fmt_num(250.0), "250");
        assert_eq!(fmt_num(2.5e-6), "2.5e-6");
    }

    #[test]
    fn decimation_keeps_the_envelope() {
        let pts: Vec<(f64, f64)> =
            (0..10_000).map(|i| (i as f64, if i == 5003 { 9.0 } else { (i % 7) as f64 })).collect();
        let d = decimate(&pts, 1000);
        assert!(d.len() <= 1100);
        assert!(d.iter().any(|p| p.1 == 9.0), "the spike survives");
    }

    #[test]
    fn scale_bars_are_round_lengths() {
        let items = scale_bar(0.01, 100.0, 0.0, 0.0);
        let Item::Text { text, .. } = &items[2] else { panic!() };
        assert_eq!(text, "1 m");
        let items = scale_bar(0.004, 100.0, 0.0, 0.0);
        let Item::Text { text, .. } = &items[2] else { panic!() };
        assert_eq!(text, "200 mm");
    }
}
