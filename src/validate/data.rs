//! The reference data, embedded from `src/validate/reference/` (copies of the shared reference
//! files, each keeping its `#` source header): a small CSV reader for them.

/// Ghia, Ghia & Shin 1982, Table I: u on the vertical centre-line.
pub const GHIA_U: &str = include_str!("reference/ghia1982_cavity_u_vertical_centerline.csv");
/// Ghia, Ghia & Shin 1982, Table II: v on the horizontal centre-line.
pub const GHIA_V: &str = include_str!("reference/ghia1982_cavity_v_horizontal_centerline.csv");
/// Blasius similarity solution: cf(Re_x).
pub const BLASIUS: &str = include_str!("reference/laminar_flatplate_blasius.csv");
/// Hagen-Poiseuille / plane Poiseuille formulas.
pub const POISEUILLE: &str = include_str!("reference/laminar_pipe_poiseuille.csv");
/// Driver & Seegmiller 1985: lower-wall cf.
pub const BFS_CF: &str = include_str!("reference/driver_seegmiller1985_bfs_cf_exp.csv");
/// Driver & Seegmiller 1985: wall Cp.
pub const BFS_CP: &str = include_str!("reference/driver_seegmiller1985_bfs_cp_exp.csv");
/// Ahmed, Ramm & Faltin 1984: drag by slant angle.
pub const AHMED: &str = include_str!("reference/ahmed1984_drag.csv");

/// The rows of a reference CSV (after its `#` lines and header), as text cells, with the header.
pub fn rows(text: &str) -> (Vec<&str>, Vec<Vec<&str>>) {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#'));
    let header = lines.next().map(|h| h.split(',').map(str::trim).collect()).unwrap_or_default();
    (header, lines.map(|l| l.split(',').map(str::trim).collect()).collect())
}

/// Two numeric columns as (x, y) points, for the rows where `keep(row)` holds and both parse.
pub fn xy(text: &str, x: &str, y: &str, keep: impl Fn(&[&str]) -> bool) -> Vec<(f64, f64)> {
    let (header, rows) = rows(text);
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("column {name} in embedded data"));
    let (ix, iy) = (col(x), col(y));
    rows.iter()
        .filter(|r| keep(r))
        .filter_map(|r| Some((r.get(ix)?.parse().ok()?, r.get(iy)?.parse().ok()?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_tables_read() {
        let u = xy(GHIA_U, "y_over_L", "u_over_Ulid_Re100", |_| true);
        assert_eq!(u.len(), 17);
        assert_eq!(u[16], (1.0, 1.0));
        let v = xy(GHIA_V, "x_over_L", "v_over_Ulid_Re1000", |_| true);
        assert_eq!(v.len(), 17);
        assert_eq!(xy(BFS_CF, "x_over_H", "cf", |_| true).len(), 20);
        let cp = xy(BFS_CP, "x_over_H", "cp_orig", |r| r[0] == "bottom wall");
        assert!(cp.len() > 20);
        assert!(!xy(AHMED, "slant_deg", "Cd", |_| true).is_empty());
    }
}
