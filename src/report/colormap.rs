//! The viewer's colormaps on the server: the stops come from the very file the browser
//! bundles (`web/src/results/colormaps.json`), expanded into the same 256-entry lookup
//! table as the viewer's `lut` (web/src/results/colormap.ts), so a report's picture and the
//! viewer's show a value in the same colour. [`Colormap::invert`] reads a value back from a
//! pixel, which is how the tests check what a picture shows.
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The colormaps' stops as the viewer has them.
const STOPS_JSON: &str = include_str!("../../web/src/results/colormaps.json");

/// The map unknown names fall back to, as in the viewer.
const DEFAULT: &str = "viridis";

/// A colormap: 256 colours from the low end of a range (t = 0) to the high end (t = 1).
/// Cheap to copy: the table is built once per process.
#[derive(Debug, Clone, Copy)]
pub struct Colormap {
    name: &'static str,
    lut: &'static [[u8; 3]; 256],
}

/// Every map's table, built from the JSON on first use.
fn tables() -> &'static BTreeMap<String, [[u8; 3]; 256]> {
    static TABLES: OnceLock<BTreeMap<String, [[u8; 3]; 256]>> = OnceLock::new();
    TABLES.get_or_init(|| {
        // The file is part of the build, so a malformed one is a build defect that the
        // tests catch, not a user's mistake.
        let maps: BTreeMap<String, Vec<[f64; 3]>> =
            serde_json::from_str(STOPS_JSON).expect("web/src/results/colormaps.json is a map of RGB stop lists");
        maps.into_iter().filter(|(_, stops)| stops.len() >= 2).map(|(name, stops)| (name, lut(&stops))).collect()
    })
}

/// The viewer's `lut`: entry i samples the stops, spaced evenly, at t = i / 255 with linear
/// interpolation between neighbours; here rounded to 8 bits.
fn lut(stops: &[[f64; 3]]) -> [[u8; 3]; 256] {
    let mut out = [[0u8; 3]; 256];
    let last = stops.len() - 1;
    for (i, rgb) in out.iter_mut().enumerate() {
        let t = (i as f64 / 255.0) * last as f64;
        let a = (t.floor() as usize).min(last - 1);
        let f = t - a as f64;
        for k in 0..3 {
            let v = stops[a][k] + f * (stops[a + 1][k] - stops[a][k]);
            rgb[k] = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
        }
    }
    out
}

impl Colormap {
    /// The map called `name` (`viridis`, `coolwarm`, `jet`, `grayscale`); viridis for any
    /// other name, as in the viewer.
    pub fn named(name: &str) -> Colormap {
        let t = tables();
        let (name, lut) =
            t.get_key_value(name).or_else(|| t.get_key_value(DEFAULT)).expect("colormaps.json defines viridis");
        Colormap { name: name.as_str(), lut }
    }

    /// The names of every map, sorted.
    pub fn names() -> Vec<&'static str> {
        tables().keys().map(|k| k.as_str()).collect()
    }

    /// The map's name (viridis when an unknown one was asked for).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The 256-entry table.
    pub fn table(&self) -> &'static [[u8; 3]; 256] {
        self.lut
    }

    /// The colour at `t` in 0..1 (clamped; NaN reads as 0), the nearest table entry.
    pub fn rgb(&self, t: f64) -> [u8; 3] {
        self.lut[index(t)]
    }

    /// The table entry nearest to `rgb`: (its t in 0..1, the Euclidean RGB distance to it).
    /// A distance of a few units means the colour is the map's; a large one means it is not
    /// (a shaded face, the background, a line).
    pub fn invert(&self, rgb: [u8; 3]) -> (f64, f64) {
        let d2 = |c: &[u8; 3]| -> i32 { (0..3).map(|k| (c[k] as i32 - rgb[k] as i32).pow(2)).sum() };
        let (i, d) = self.lut.iter().enumerate().map(|(i, c)| (i, d2(c))).min_by_key(|&(_, d)| d).unwrap_or((0, 0));
        (i as f64 / 255.0, (d as f64).sqrt())
    }

    /// The value a colour shows on the range `lo..hi` (see [`Colormap::invert`]).
    pub fn value_of(&self, rgb: [u8; 3], lo: f64, hi: f64) -> (f64, f64) {
        let (t, d) = self.invert(rgb);
        (lo + t * (hi - lo), d)
    }
}

/// The table index of `t` in 0..1.
pub(crate) fn index(t: f64) -> usize {
    if t.is_nan() {
        return 0;
    }
    (t.clamp(0.0, 1.0) * 255.0).round() as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to8(v: [f64; 3]) -> [u8; 3] {
        v.map(|x| (x * 255.0).round() as u8)
    }

    #[test]
    fn tables_match_the_viewers_lut() {
        // The viewer's lut("viridis"): 11 stops, so entry i sits at t = 10 i / 255. Entry 0
        // and 255 are the end stops; entry 51 falls exactly on stop 2, 102 on stop 4, and
        // entry 128 (t = 5.0196) between stops 5 and 6. Values from running the TS `lut`.
        let v = Colormap::named("viridis");
        assert_eq!(v.table()[0], to8([0.267, 0.005, 0.329]));
        assert_eq!(v.table()[255], to8([0.993, 0.906, 0.144]));
        assert_eq!(v.table()[51], to8([0.254, 0.265, 0.530]));
        assert_eq!(v.table()[102], to8([0.164, 0.471, 0.558]));
        let f = 128.0 * 10.0 / 255.0 - 5.0;
        let mid = [0.128 + f * (0.135 - 0.128), 0.567 + f * (0.659 - 0.567), 0.551 + f * (0.518 - 0.551)];
        assert_eq!(v.table()[128], to8(mid));
        assert_eq!(to8(mid), [33, 145, 140], "the TS lut's entry 128, times 255, rounded");
        // grayscale is the identity ramp.
        let g = Colormap::named("grayscale");
        assert!((0..256).all(|i| g.table()[i] == [i as u8; 3]));
        assert_eq!(Colormap::names(), ["coolwarm", "grayscale", "jet", "viridis"]);
    }

    #[test]
    fn unknown_names_fall_back_to_viridis_and_t_is_clamped() {
        let c = Colormap::named("no-such-map");
        assert_eq!(c.name(), "viridis");
        let jet = Colormap::named("jet");
        assert_eq!(jet.rgb(-3.0), jet.rgb(0.0));
        assert_eq!(jet.rgb(7.0), [128, 0, 0]);
        assert_eq!(jet.rgb(f64::NAN), jet.rgb(0.0));
    }

    #[test]
    fn invert_reads_every_entry_back() {
        for name in Colormap::names() {
            if name == "grayscale" {
                continue;
            }
            let c = Colormap::named(name);
            for i in (0..256).step_by(5) {
                let t = i as f64 / 255.0;
                let (back, d) = c.invert(c.rgb(t));
                assert_eq!(d, 0.0);
                // Neighbouring entries can share a colour after rounding to 8 bits.
                assert!((back - t).abs() <= 2.0 / 255.0, "{name} {t} -> {back}");
            }
        }
        let (v, _) = Colormap::named("coolwarm").value_of(Colormap::named("coolwarm").rgb(0.75), -2.0, 2.0);
        assert!((v - 1.0).abs() < 0.02, "{v}");
        let (_, far) = Colormap::named("viridis").invert([255, 255, 255]);
        assert!(far > 50.0, "white is not a viridis colour: {far}");
    }
}
