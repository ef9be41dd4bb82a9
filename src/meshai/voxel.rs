//! Voxelisation of a surface, exactly as the mesh AI's training data was made (the dataset
//! generator calls `flowcfd mesh-ai voxelize`, so training and inference share this code;
//! `mesh-ai/voxel_reference.py` re-implements the solid grid for the parity test). A closed
//! surface gets the solid grid below ([`voxelize`]); an open one, or one too thin for the
//! grid, the shell grid of its neighbourhood ([`shell`], chosen by [`grid`]).
//!
//! The grid is `n³` cells in a cube whose side is the largest bounding-box extent, centred on
//! the bounding-box centre, so shapes keep their proportions. A cell is occupied when its
//! centre is inside the surface, by the parity of crossings of a vertical ray (+z) through
//! the centre. Rays are shifted by a tiny fixed fraction of a cell so that they never run
//! exactly through a vertex or along an edge of the axis-aligned shapes most CAD parts are
//! made of. Layout: index `(i * n + j) * n + k` for x index i, y index j, z index k.
use crate::geometry::Surface;

/// Why a surface cannot be voxelised.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum VoxelError {
    #[error("the surface has no triangles")]
    Empty,
    #[error("the surface has no volume (its bounding box is flat or not finite), so it has no solid grid")]
    Flat,
    #[error(
        "the surface is open ({0} of the grid's vertical rays cross it an odd number of times), so it encloses no volume: close the holes (the geometry report lists open edges) or use the rules (--mesh-params rules)"
    )]
    Open(usize),
}

/// Ray offsets, as fractions of a cell (irrational-ish, fixed).
const JITTER: [f64; 2] = [0.000_137_2, 0.000_291_7];

/// The grid's cube: lower corner and cell size; a flat surface is refused (the solid grid
/// needs a volume).
pub fn frame(s: &Surface, n: usize) -> Result<([f64; 3], f64), VoxelError> {
    let (c, h) = cube(s, n)?;
    let (lo, hi) = tri_bbox(s);
    let min_ext = (0..3).map(|a| hi[a] - lo[a]).fold(f64::INFINITY, f64::min);
    if min_ext <= h * n as f64 * 1e-9 {
        return Err(VoxelError::Flat);
    }
    Ok((c, h))
}

/// The bounding box of the points the triangles use.
fn tri_bbox(s: &Surface) -> ([f64; 3], [f64; 3]) {
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [f64::NEG_INFINITY; 3];
    for p in s.tris.iter().flatten().map(|&v| s.points[v as usize]) {
        for a in 0..3 {
            lo[a] = lo[a].min(p[a]);
            hi[a] = hi[a].max(p[a]);
        }
    }
    (lo, hi)
}

/// The cube of side the largest bounding-box extent, centred on the bounding box, cut in
/// `n³` cells: lower corner and cell size.
pub fn cube(s: &Surface, n: usize) -> Result<([f64; 3], f64), VoxelError> {
    if s.tris.is_empty() {
        return Err(VoxelError::Empty);
    }
    let (lo, hi) = tri_bbox(s);
    let ext = (0..3).map(|a| hi[a] - lo[a]).fold(0.0, f64::max);
    if !(ext.is_finite() && ext > 0.0) {
        return Err(VoxelError::Flat);
    }
    let h = ext / n as f64;
    Ok(([0, 1, 2].map(|a| 0.5 * (lo[a] + hi[a]) - 0.5 * ext), h))
}

/// The occupancy grid (0 or 1 per cell), `n³` bytes.
pub fn voxelize(s: &Surface, n: usize) -> Result<Vec<u8>, VoxelError> {
    let (lo, h) = frame(s, n)?;
    // Crossing heights per (i, j) column.
    let mut hits: Vec<Vec<f64>> = vec![Vec::new(); n * n];
    for t in &s.tris {
        let p = t.map(|v| s.points[v as usize]);
        let (x0, x1) = (p[0][0].min(p[1][0]).min(p[2][0]), p[0][0].max(p[1][0]).max(p[2][0]));
        let (y0, y1) = (p[0][1].min(p[1][1]).min(p[2][1]), p[0][1].max(p[1][1]).max(p[2][1]));
        let i0 = (((x0 - lo[0]) / h - 0.5 - JITTER[0]).ceil().max(0.0)) as usize;
        let i1 = (((x1 - lo[0]) / h - 0.5 - JITTER[0]).floor()).min(n as f64 - 1.0);
        let j0 = (((y0 - lo[1]) / h - 0.5 - JITTER[1]).ceil().max(0.0)) as usize;
        let j1 = (((y1 - lo[1]) / h - 0.5 - JITTER[1]).floor()).min(n as f64 - 1.0);
        if i1 < 0.0 || j1 < 0.0 {
            continue;
        }
        let d = (p[1][0] - p[0][0]) * (p[2][1] - p[0][1]) - (p[2][0] - p[0][0]) * (p[1][1] - p[0][1]);
        if d == 0.0 {
            continue; // vertical in xy: no vertical ray crosses it
        }
        for i in i0..=i1 as usize {
            let x = lo[0] + (i as f64 + 0.5 + JITTER[0]) * h;
            for j in j0..=j1 as usize {
                let y = lo[1] + (j as f64 + 0.5 + JITTER[1]) * h;
                // Barycentric coordinates of (x, y) in the projected triangle.
                let l1 = ((x - p[0][0]) * (p[2][1] - p[0][1]) - (p[2][0] - p[0][0]) * (y - p[0][1])) / d;
                let l2 = ((p[1][0] - p[0][0]) * (y - p[0][1]) - (x - p[0][0]) * (p[1][1] - p[0][1])) / d;
                let l0 = 1.0 - l1 - l2;
                if l0 >= 0.0 && l1 >= 0.0 && l2 >= 0.0 {
                    hits[i * n + j].push(l0 * p[0][2] + l1 * p[1][2] + l2 * p[2][2]);
                }
            }
        }
    }
    let mut grid = vec![0u8; n * n * n];
    let mut odd = 0;
    for (col, zs) in hits.iter_mut().enumerate() {
        if zs.is_empty() {
            continue;
        }
        if zs.len() % 2 == 1 {
            odd += 1;
            continue;
        }
        zs.sort_by(|a, b| a.total_cmp(b));
        for pair in zs.chunks(2) {
            let k0 = (((pair[0] - lo[2]) / h - 0.5).ceil().max(0.0)) as usize;
            let k1 = ((pair[1] - lo[2]) / h - 0.5).floor();
            if k1 < 0.0 {
                continue;
            }
            for k in k0..=(k1 as usize).min(n - 1) {
                grid[col * n + k] = 1;
            }
        }
    }
    // A handful of odd columns can come from a ray grazing a fold; many mean an open surface.
    if odd > (n * n) / 200 {
        return Err(VoxelError::Open(odd));
    }
    Ok(grid)
}

/// The shell grid of a surface that encloses nothing (an open sheet, a shell, a CAD export
/// with gaps): the cells the surface passes through, dilated by one cell in every
/// direction, so the grid holds the surface's neighbourhood rather than an inside it does
/// not have. Same cube as [`voxelize`] (a flat surface is allowed: the cube's side is its
/// largest extent). Each triangle is sampled at a quarter of a cell, so no crossed cell is
/// missed.
pub fn shell(s: &Surface, n: usize) -> Result<Vec<u8>, VoxelError> {
    let (c, h) = cube(s, n)?;
    let idx = |x: f64, a: usize| (((x - c[a]) / h).floor().max(0.0) as usize).min(n - 1);
    let mut hit = vec![0u8; n * n * n];
    for t in &s.tris {
        let p = t.map(|v| s.points[v as usize]);
        let edge = |a: usize, b: usize| (0..3).map(|i| (p[a][i] - p[b][i]).powi(2)).sum::<f64>().sqrt();
        // A quarter of a cell along each of the two edges from p0: a long sliver costs its
        // length, not its length squared.
        let steps = |len: f64| ((4.0 * len / h).ceil() as usize).clamp(1, 4 * n);
        let (mu, mv) = (steps(edge(0, 1)), steps(edge(0, 2)));
        for i in 0..=mu {
            let u = i as f64 / mu as f64;
            for j in 0..=mv {
                let v = j as f64 / mv as f64;
                if u + v > 1.0 + 1e-12 {
                    break;
                }
                let q = [0, 1, 2].map(|k| p[0][k] + u * (p[1][k] - p[0][k]) + v * (p[2][k] - p[0][k]));
                hit[(idx(q[0], 0) * n + idx(q[1], 1)) * n + idx(q[2], 2)] = 1;
            }
        }
    }
    let mut grid = hit.clone();
    for i in 0..n {
        for j in 0..n {
            for k in 0..n {
                if hit[(i * n + j) * n + k] == 0 {
                    continue;
                }
                for di in i.saturating_sub(1)..=(i + 1).min(n - 1) {
                    for dj in j.saturating_sub(1)..=(j + 1).min(n - 1) {
                        for dk in k.saturating_sub(1)..=(k + 1).min(n - 1) {
                            grid[(di * n + dj) * n + dk] = 1;
                        }
                    }
                }
            }
        }
    }
    Ok(grid)
}

/// Which grid the mesh AI sees of a surface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GridKind {
    /// The inside of a closed surface ([`voxelize`]).
    Solid,
    /// The neighbourhood of an open surface, or of a closed one too thin for the grid to
    /// see its inside ([`shell`]).
    Shell,
}

impl GridKind {
    pub fn as_str(self) -> &'static str {
        match self {
            GridKind::Solid => "solid",
            GridKind::Shell => "shell",
        }
    }
}

/// A closed surface whose solid grid has fewer occupied cells than this many per cell of
/// the grid's side is thinner than the grid resolves (a plate or a slender wing at 64³ can
/// fill no cell at all), so it gets the shell grid instead.
pub const THIN_CELLS_PER_SIDE: usize = 2;

/// The grid of a surface for the mesh AI, and its kind: solid when the surface is closed
/// and thick enough to fill [`THIN_CELLS_PER_SIDE`]` × n` cells, the shell otherwise. The
/// dataset generator gets the same answer through `flowcfd mesh-ai voxelize`.
pub fn grid(s: &Surface, n: usize) -> Result<(Vec<u8>, GridKind), VoxelError> {
    match voxelize(s, n) {
        Ok(g) if g.iter().filter(|&&v| v == 1).count() >= THIN_CELLS_PER_SIDE * n => Ok((g, GridKind::Solid)),
        Ok(_) | Err(VoxelError::Open(_)) | Err(VoxelError::Flat) => Ok((shell(s, n)?, GridKind::Shell)),
        Err(e) => Err(e),
    }
}

/// Packs 0/1 bytes into bits, most significant first (the dataset's storage form).
pub fn pack_bits(grid: &[u8]) -> Vec<u8> {
    grid.chunks(8).map(|c| c.iter().enumerate().fold(0u8, |b, (i, &v)| b | ((v & 1) << (7 - i)))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::primitives::cuboid;

    #[test]
    fn a_cube_fills_its_grid_and_a_flat_box_is_refused() {
        let g = voxelize(&cuboid([0.0; 3], [1.0; 3], "c"), 16).unwrap();
        assert_eq!(g.iter().filter(|&&v| v == 1).count(), 16 * 16 * 16);
        let g = voxelize(&cuboid([0.0; 3], [1.0, 0.5, 0.25], "c"), 16).unwrap();
        // 16 × 8 × 4 cells of the 16³ cube.
        assert_eq!(g.iter().filter(|&&v| v == 1).count(), 16 * 8 * 4);
        assert_eq!(voxelize(&cuboid([0.0; 3], [1.0, 1.0, 0.0], "c"), 8), Err(VoxelError::Flat));
    }

    #[test]
    fn an_open_surface_is_refused() {
        let mut s = cuboid([0.0; 3], [1.0; 3], "c");
        // Drop the two triangles of one face that vertical rays cross (a z face).
        let keep: Vec<usize> = (0..s.tris.len())
            .filter(|&t| {
                let z = s.tris[t].map(|v| s.points[v as usize][2]);
                !(z.iter().all(|&q| q == 1.0))
            })
            .collect();
        s.tris = keep.iter().map(|&t| s.tris[t]).collect();
        s.tri_group = keep.iter().map(|_| 0).collect();
        assert!(matches!(voxelize(&s, 16), Err(VoxelError::Open(_))));
    }

    #[test]
    fn an_open_sheet_gets_its_neighbourhood() {
        // The bottom face of a unit cube only: a flat open sheet at z = 0.
        let mut s = cuboid([0.0; 3], [1.0; 3], "c");
        let keep: Vec<usize> =
            (0..s.tris.len()).filter(|&t| s.tris[t].iter().all(|&v| s.points[v as usize][2] == 0.0)).collect();
        s.tris = keep.iter().map(|&t| s.tris[t]).collect();
        s.tri_group = keep.iter().map(|_| 0).collect();
        assert_eq!(voxelize(&s, 8), Err(VoxelError::Flat));
        let g = shell(&s, 8).unwrap();
        // The sheet lies in the middle layer of the cube (z index 4), dilated to 3..=5.
        for k in 0..8 {
            let count = (0..64).filter(|c| g[c * 8 + k] == 1).count();
            assert_eq!(count, if (3..=5).contains(&k) { 64 } else { 0 }, "layer {k}");
        }
        assert_eq!(grid(&s, 8).unwrap(), (g.clone(), GridKind::Shell));
        // A closed surface's shell is its skin, not its inside.
        let g = shell(&cuboid([0.0; 3], [1.0; 3], "c"), 16).unwrap();
        assert_eq!(g[(8 * 16 + 8) * 16 + 8], 0);
        assert_eq!(g[(0 * 16 + 8) * 16 + 8], 1);
        assert_eq!(grid(&cuboid([0.0; 3], [1.0; 3], "c"), 16).unwrap().1, GridKind::Solid);
        // A closed plate thinner than a cell fills no cell: the shell.
        let plate = cuboid([0.0; 3], [1.0, 1.0, 0.01], "p");
        assert_eq!(voxelize(&plate, 16).unwrap().iter().filter(|&&v| v == 1).count(), 0);
        assert_eq!(grid(&plate, 16).unwrap().1, GridKind::Shell);
    }

    #[test]
    fn bits_pack_most_significant_first() {
        assert_eq!(pack_bits(&[1, 0, 0, 0, 0, 0, 0, 1, 1]), vec![0b1000_0001, 0b1000_0000]);
    }
}
