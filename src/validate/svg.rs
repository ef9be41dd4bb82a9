//! A small SVG line plot: CFD curves against reference points, with axes, ticks, labels
//! (with units) and a legend. The tick values and labels come from the report's plot
//! helpers (`report::plot::nice_ticks`, `fmt_num`), so the PDF and these plots agree.

use crate::report::plot::{fmt_num, nice_ticks};
use std::fmt::Write;

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Style {
    /// A line through the points (the CFD result).
    Line,
    /// Open circles (reference data).
    Markers,
    /// A dashed line (an analytical reference).
    Dashed,
}

/// One series of a plot.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend text.
    pub label: String,
    /// (x, y) points.
    pub points: Vec<(f64, f64)>,
    /// Line or markers.
    pub style: Style,
}

/// A line plot.
#[derive(Debug, Clone)]
pub struct Plot {
    /// File stem (`u_centreline` gives `u_centreline.svg`).
    pub file: String,
    /// Title above the plot.
    pub title: String,
    /// X axis label with its unit.
    pub x_label: String,
    /// Y axis label with its unit.
    pub y_label: String,
    /// The series, drawn in order.
    pub series: Vec<Series>,
}

const COLOURS: [&str; 4] = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e"];
const W: f64 = 640.0;
const H: f64 = 420.0;
const L: f64 = 70.0;
const R: f64 = 20.0;
const T: f64 = 40.0;
const B: f64 = 55.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn range(vals: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in vals.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 * lo.abs().max(1.0) {
        return (lo - 0.5, hi + 0.5);
    }
    let pad = 0.04 * (hi - lo);
    (lo - pad, hi + pad)
}

impl Plot {
    /// The SVG document.
    pub fn svg(&self) -> String {
        let pts = || self.series.iter().flat_map(|s| s.points.iter());
        let (x0, x1) = range(pts().map(|p| p.0));
        let (y0, y1) = range(pts().map(|p| p.1));
        let sx = |x: f64| L + (x - x0) / (x1 - x0) * (W - L - R);
        let sy = |y: f64| H - B - (y - y0) / (y1 - y0) * (H - T - B);
        let mut s = String::new();
        let _ = write!(
            s,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" \
             font-family=\"DejaVu Sans, sans-serif\" font-size=\"12\">\n<rect width=\"{W}\" height=\"{H}\" fill=\"white\"/>\n"
        );
        let _ = writeln!(s, "<text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">{}</text>", W / 2.0, esc(&self.title));
        for t in nice_ticks(x0, x1, 6) {
            let x = sx(t);
            let _ = writeln!(
                s,
                "<line x1=\"{x:.1}\" y1=\"{T}\" x2=\"{x:.1}\" y2=\"{}\" stroke=\"#e5e5e5\"/><text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                H - B,
                H - B + 16.0,
                esc(&fmt_num(t))
            );
        }
        for t in nice_ticks(y0, y1, 6) {
            let y = sy(t);
            let _ = writeln!(
                s,
                "<line x1=\"{L}\" y1=\"{y:.1}\" x2=\"{}\" y2=\"{y:.1}\" stroke=\"#e5e5e5\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                W - R,
                L - 6.0,
                y + 4.0,
                esc(&fmt_num(t))
            );
        }
        let _ = writeln!(
            s,
            "<rect x=\"{L}\" y=\"{T}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"black\"/>",
            W - L - R,
            H - T - B
        );
        let _ = writeln!(s, "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>", (L + W - R) / 2.0, H - 14.0, esc(&self.x_label));
        let _ = writeln!(
            s,
            "<text x=\"16\" y=\"{0}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {0})\">{1}</text>",
            (T + H - B) / 2.0,
            esc(&self.y_label)
        );
        for (i, ser) in self.series.iter().enumerate() {
            let c = COLOURS[i % COLOURS.len()];
            let inside: Vec<(f64, f64)> =
                ser.points.iter().filter(|p| p.0.is_finite() && p.1.is_finite()).map(|p| (sx(p.0), sy(p.1))).collect();
            match ser.style {
                Style::Markers => {
                    for (x, y) in &inside {
                        let _ = writeln!(s, "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3.5\" fill=\"none\" stroke=\"{c}\" stroke-width=\"1.5\"/>");
                    }
                }
                Style::Line | Style::Dashed => {
                    let d: Vec<String> = inside.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
                    let dash = if ser.style == Style::Dashed { " stroke-dasharray=\"6 4\"" } else { "" };
                    let _ = writeln!(
                        s,
                        "<polyline points=\"{}\" fill=\"none\" stroke=\"{c}\" stroke-width=\"1.8\"{dash}/>",
                        d.join(" ")
                    );
                }
            }
            let (lx, ly) = (L + 12.0, T + 16.0 + 18.0 * i as f64);
            match ser.style {
                Style::Markers => {
                    let _ = write!(s, "<circle cx=\"{}\" cy=\"{}\" r=\"3.5\" fill=\"none\" stroke=\"{c}\" stroke-width=\"1.5\"/>", lx + 10.0, ly - 4.0);
                }
                _ => {
                    let dash = if ser.style == Style::Dashed { " stroke-dasharray=\"6 4\"" } else { "" };
                    let _ = write!(s, "<line x1=\"{lx}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"{c}\" stroke-width=\"1.8\"{dash}/>", ly - 4.0, lx + 20.0);
                }
            }
            let _ = writeln!(s, "<text x=\"{}\" y=\"{ly}\">{}</text>", lx + 26.0, esc(&ser.label));
        }
        s.push_str("</svg>\n");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plot_has_axes_labels_legend_and_every_point() {
        let p = Plot {
            file: "u".into(),
            title: "u on x/L = 0.5 <Re 100>".into(),
            x_label: "u/U (-)".into(),
            y_label: "y/L (-)".into(),
            series: vec![
                Series { label: "FlowCFD".into(), points: vec![(0.0, 0.0), (0.5, 0.5), (1.0, 1.0)], style: Style::Line },
                Series { label: "Ghia 1982".into(), points: vec![(0.2, 0.3), (0.8, 0.7)], style: Style::Markers },
            ],
        };
        let svg = p.svg();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert!(svg.contains("&lt;Re 100&gt;"), "title escaped");
        assert!(svg.contains("u/U (-)") && svg.contains("y/L (-)") && svg.contains("Ghia 1982"));
        assert_eq!(svg.matches("<circle").count(), 3, "two markers and the legend's");
        assert_eq!(svg.matches("<polyline").count(), 1);
    }
}
