//! A decomposed case: `processor*/` meshes merged back into the global mesh with
//! decomposePar's `*ProcAddressing`, and fields scattered onto it.
use super::mesh::read_labels;
use super::{read_field, read_polymesh, Patch, PolyMesh, Values, VolField};
use crate::post::PostError;
use std::path::{Path, PathBuf};

/// A decomposed case: each processor's mesh and its addressing into the global mesh.
#[derive(Debug, Clone)]
pub struct Decomposition {
    /// The `processor*` directories, in processor order.
    pub dirs: Vec<PathBuf>,
    /// Per processor: global cell of each local cell.
    cell_addr: Vec<Vec<u32>>,
    /// Per processor, per local patch: (global patch, global face offset in that patch) of
    /// each of its faces, for non-processor patches.
    patch_addr: Vec<Vec<Option<(usize, Vec<u32>)>>>,
    local_meshes: Vec<PolyMesh>,
}

/// Merges `processor*/constant/polyMesh` back into one mesh.
pub fn read_decomposed(
    root: &Path,
    mesh_dir: &dyn Fn(&Path) -> PathBuf,
) -> Result<(PolyMesh, Decomposition), PostError> {
    let mut dirs: Vec<(usize, PathBuf)> = std::fs::read_dir(root)
        .map_err(|e| PostError::Io { path: root.display().to_string(), source: e })?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().strip_prefix("processor")?.parse::<usize>().ok()?;
            Some((n, e.path()))
        })
        .collect();
    dirs.sort();
    if dirs.is_empty() {
        return Err(PostError::Missing(format!("no processor* directories in {}", root.display())));
    }
    let mut locals = Vec::new();
    let (mut point_addr, mut face_addr, mut cell_addr) = (Vec::new(), Vec::new(), Vec::new());
    for (_, d) in &dirs {
        let md = mesh_dir(d);
        let m = read_polymesh(&md)?;
        let pa: Vec<u32> = read_labels(&md.join("pointProcAddressing"))?;
        let fa: Vec<i64> = read_labels(&md.join("faceProcAddressing"))?;
        let ca: Vec<u32> = read_labels(&md.join("cellProcAddressing"))?;
        if pa.len() != m.points.len() || fa.len() != m.n_faces() || ca.len() != m.n_cells {
            return Err(PostError::Parse {
                path: md.display().to_string(),
                line: 0,
                what: "the *ProcAddressing files do not match the mesh (rerun decomposePar)".into(),
            });
        }
        // decomposePar numbers faces from 1 (the sign marks a flip): 0 is no face.
        if fa.contains(&0) {
            return Err(PostError::Parse {
                path: md.display().to_string(),
                line: 0,
                what: "faceProcAddressing holds 0, which names no face (rerun decomposePar)".into(),
            });
        }
        locals.push(m);
        point_addr.push(pa);
        face_addr.push(fa);
        cell_addr.push(ca);
    }
    let n_points = point_addr.iter().flatten().map(|&p| p as usize + 1).max().unwrap_or(0);
    let n_cells = cell_addr.iter().flatten().map(|&c| c as usize + 1).max().unwrap_or(0);
    let n_faces = face_addr.iter().flatten().map(|&f| f.unsigned_abs() as usize).max().unwrap_or(0);
    // Every global point, cell and face comes from some processor, so a label past the
    // sum of their lists leaves gaps: refused before the global arrays are allocated.
    fn total<T>(v: &[Vec<T>]) -> usize {
        v.iter().map(Vec::len).sum()
    }
    if n_points > total(&point_addr) || n_cells > total(&cell_addr) || n_faces > total(&face_addr) {
        return Err(PostError::Parse {
            path: root.display().to_string(),
            line: 0,
            what: "the *ProcAddressing files name more points, cells or faces than the processors hold (rerun decomposePar)".into(),
        });
    }
    let mut points = vec![[0.0; 3]; n_points];
    let mut faces: Vec<Option<Vec<u32>>> = vec![None; n_faces];
    let mut owner = vec![u32::MAX; n_faces];
    let mut neigh = vec![u32::MAX; n_faces];
    for (pi, m) in locals.iter().enumerate() {
        for (lp, &gp) in point_addr[pi].iter().enumerate() {
            points[gp as usize] = m.points[lp];
        }
        for f in 0..m.n_faces() {
            let a = face_addr[pi][f];
            let g = a.unsigned_abs() as usize - 1;
            let flipped = a < 0;
            let own = cell_addr[pi][m.owner[f] as usize];
            let nei = m.neighbour.get(f).map(|&n| cell_addr[pi][n as usize]);
            if faces[g].is_none() {
                let mut verts: Vec<u32> = m.face(f).iter().map(|&p| point_addr[pi][p as usize]).collect();
                if flipped {
                    verts[1..].reverse();
                }
                faces[g] = Some(verts);
            }
            if flipped {
                neigh[g] = own;
                if let Some(n) = nei {
                    owner[g] = n;
                }
            } else {
                owner[g] = own;
                if let Some(n) = nei {
                    neigh[g] = n;
                }
            }
        }
    }
    // Global patches: the first processor's non-processor patches, in order; each covers
    // the global faces its local faces map to, which decomposePar keeps contiguous.
    let gpatches: Vec<String> = locals[0]
        .patches
        .iter()
        .filter(|p| p.kind != "processor" && p.kind != "processorCyclic")
        .map(|p| p.name.clone())
        .collect();
    let mut ranges: Vec<(usize, usize)> = vec![(usize::MAX, 0); gpatches.len()];
    for (pi, m) in locals.iter().enumerate() {
        for p in &m.patches {
            if let Some(gi) = gpatches.iter().position(|n| *n == p.name) {
                for f in p.start..p.start + p.size {
                    let g = face_addr[pi][f].unsigned_abs() as usize - 1;
                    ranges[gi].0 = ranges[gi].0.min(g);
                    ranges[gi].1 = ranges[gi].1.max(g + 1);
                }
            }
        }
    }
    let n_internal = neigh.iter().take_while(|&&n| n != u32::MAX).count();
    let mut next = n_internal;
    let mut patches = Vec::new();
    for (gi, name) in gpatches.iter().enumerate() {
        let src = locals[0].patches.iter().find(|p| &p.name == name).unwrap();
        let (start, size) =
            if ranges[gi].0 == usize::MAX { (next, 0) } else { (ranges[gi].0, ranges[gi].1 - ranges[gi].0) };
        next = start + size;
        patches.push(Patch { name: name.clone(), kind: src.kind.clone(), groups: src.groups.clone(), start, size });
    }
    let bad = |what: &str| PostError::Parse { path: root.display().to_string(), line: 0, what: what.to_string() };
    if let Some(what) = super::mesh::check_patches(&patches, n_internal, n_faces) {
        return Err(bad(&what));
    }
    let mut face_offsets = Vec::with_capacity(n_faces + 1);
    let mut face_points = Vec::new();
    face_offsets.push(0);
    for f in faces {
        face_points.extend(f.ok_or_else(|| bad("the processors do not cover every face"))?);
        face_offsets.push(face_points.len());
    }
    if owner.iter().any(|&o| o == u32::MAX) || neigh[..n_internal].iter().any(|&n| n == u32::MAX) {
        return Err(bad("the processors do not cover every cell"));
    }
    neigh.truncate(n_internal);
    let mut patch_addr = Vec::new();
    for (pi, m) in locals.iter().enumerate() {
        let per: Vec<Option<(usize, Vec<u32>)>> = m
            .patches
            .iter()
            .map(|p| {
                let gi = patches.iter().position(|g| g.name == p.name)?;
                let start = patches[gi].start;
                Some((
                    gi,
                    (p.start..p.start + p.size)
                        .map(|f| (face_addr[pi][f].unsigned_abs() as usize - 1 - start) as u32)
                        .collect(),
                ))
            })
            .collect();
        patch_addr.push(per);
    }
    let mesh = PolyMesh { points, face_offsets, face_points, owner, neighbour: neigh, n_cells, patches };
    Ok((
        mesh,
        Decomposition { dirs: dirs.into_iter().map(|(_, d)| d).collect(), cell_addr, patch_addr, local_meshes: locals },
    ))
}

impl Decomposition {
    /// Reads `time/name` in every processor and maps it onto the global mesh.
    pub fn read_field(&self, time: &str, name: &str, global: &PolyMesh) -> Result<VolField, PostError> {
        let mut cells: Option<Values> = None;
        let mut patches: Vec<Option<Values>> = vec![None; global.patches.len()];
        for (pi, d) in self.dirs.iter().enumerate() {
            let local = read_field(&d.join(time).join(name), &self.local_meshes[pi])?;
            let ca = &self.cell_addr[pi];
            scatter(&mut cells, global.n_cells, &local.cells, ca)?;
            for (lp, vals) in local.patches.iter().enumerate() {
                if let (Some(vals), Some((gi, addr))) = (vals, &self.patch_addr[pi][lp]) {
                    scatter(&mut patches[*gi], global.patches[*gi].size, vals, addr)?;
                }
            }
        }
        Ok(VolField { name: name.to_string(), cells: cells.unwrap_or(Values::Scalar(vec![])), patches })
    }
}

fn scatter(into: &mut Option<Values>, n: usize, from: &Values, addr: &[u32]) -> Result<(), PostError> {
    let into = into.get_or_insert_with(|| match from {
        Values::Scalar(_) => Values::Scalar(vec![0.0; n]),
        Values::Vector(_) => Values::Vector(vec![[0.0; 3]; n]),
    });
    match (into, from) {
        (Values::Scalar(a), Values::Scalar(b)) => addr.iter().zip(b).for_each(|(&i, &v)| a[i as usize] = v),
        (Values::Vector(a), Values::Vector(b)) => addr.iter().zip(b).for_each(|(&i, &v)| a[i as usize] = v),
        _ => return Err(PostError::BadInput("a field is scalar in one processor and vector in another".into())),
    }
    Ok(())
}
