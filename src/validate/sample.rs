//! Samples of a solved block-mesh case, read with `post` (ascii or binary, serial or
//! decomposed): a velocity component along a straight line of cell centres interpolated
//! between the two bracketing columns, and the face values of a field on a wall patch.

use crate::post::reader::Values;
use crate::post::Case;

/// A coordinate as an integer, for matching cells of one row: offset so that the round
/// fractions of a uniform grid (k + ½)/n never sit on a rounding boundary.
fn key(x: f64, scale: f64) -> i64 {
    (x / scale * 1e6 + 0.2137).round() as i64
}

/// Values of cell field `comp(field)` on the line `coord[across] = at`, as (coord[along],
/// value) sorted by coord[along]: each pair of cells of the two columns of cell centres
/// bracketing the line (same `along` coordinate) is interpolated linearly. `scale` is a
/// length of the mesh (to compare coordinates).
pub fn line(
    case: &Case,
    field: &str,
    comp: usize,
    across: usize,
    at: f64,
    along: usize,
    scale: f64,
) -> Result<Vec<(f64, f64)>, String> {
    let f = case.field(field).map_err(|e| e.to_string())?;
    let values: Vec<f64> = match &f.cells {
        Values::Vector(v) => v.iter().map(|x| x[comp]).collect(),
        Values::Scalar(v) => v.clone(),
    };
    let c = &case.geom.cell_centres;
    let (mut left, mut right) = (f64::NEG_INFINITY, f64::INFINITY);
    for p in c {
        let x = p[across];
        if x <= at && x > left {
            left = x;
        }
        if x >= at && x < right {
            right = x;
        }
    }
    if !left.is_finite() || !right.is_finite() {
        return Err(format!("no cells on both sides of the sampling line at {at}"));
    }
    let (kl, kr) = (key(left, scale), key(right, scale));
    let mut lv = std::collections::BTreeMap::new();
    let mut rv = std::collections::BTreeMap::new();
    for (i, p) in c.iter().enumerate() {
        let k = key(p[across], scale);
        if k == kl {
            lv.insert(key(p[along], scale), (p[along], values[i]));
        }
        if k == kr {
            rv.insert(key(p[along], scale), (p[along], values[i]));
        }
    }
    let t = if right > left { (at - left) / (right - left) } else { 0.0 };
    let mut out: Vec<(f64, f64)> =
        lv.iter().filter_map(|(k, (s, a))| rv.get(k).map(|(_, b)| (*s, a + t * (b - a)))).collect();
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    if out.is_empty() {
        return Err("the columns around the sampling line do not share cell rows".into());
    }
    Ok(out)
}

/// Face values of `field` on `patch`, with the face centres, sorted by x. Scalars come back
/// as `[v, 0, 0]`. A patch without stored values gives the owner cells' values.
pub fn wall(case: &Case, patch: &str, field: &str) -> Result<Vec<([f64; 3], [f64; 3])>, String> {
    let (pi, p) = case
        .mesh
        .patches
        .iter()
        .enumerate()
        .find(|(_, p)| p.name == patch)
        .ok_or_else(|| format!("the mesh has no patch {patch}"))?;
    let f = case.field(field).map_err(|e| e.to_string())?;
    let get = |vals: &Values, i: usize| match vals {
        Values::Vector(v) => v[i],
        Values::Scalar(v) => [v[i], 0.0, 0.0],
    };
    let mut out = Vec::with_capacity(p.size);
    for i in 0..p.size {
        let face = p.start + i;
        let v = match f.patches.get(pi).and_then(|v| v.as_ref()) {
            Some(vals) if vals.len() == p.size => get(vals, i),
            _ => get(&f.cells, case.mesh.owner[face] as usize),
        };
        out.push((case.geom.face_centres[face], v));
    }
    out.sort_by(|a, b| a.0[0].total_cmp(&b.0[0]));
    Ok(out)
}

/// The owner-cell values of a scalar field along a patch (pressure beside a wall), sorted by x.
pub fn beside(case: &Case, patch: &str, field: &str) -> Result<Vec<(f64, f64)>, String> {
    let p = case.mesh.patches.iter().find(|p| p.name == patch).ok_or_else(|| format!("the mesh has no patch {patch}"))?;
    let f = case.field(field).map_err(|e| e.to_string())?;
    let Values::Scalar(v) = &f.cells else { return Err(format!("{field} is not a scalar field")) };
    let mut out: Vec<(f64, f64)> = (p.start..p.start + p.size)
        .map(|face| (case.geom.face_centres[face][0], v[case.mesh.owner[face] as usize]))
        .collect();
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(out)
}
