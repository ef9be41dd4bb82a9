//! Surface repair: weld, drop degenerate and duplicate triangles, orient consistently
//! and outward, and report what changed so the user can trust (or question) the result.

use std::collections::{HashMap, HashSet};

use super::analyse::{bbox, cross, dot, edge_runs, edge_stats, norm, sorted_edges, sub, tri_area};
use super::Surface;

/// Tolerances for [`heal`].
#[derive(Debug, Clone, PartialEq)]
pub struct HealOptions {
    /// Weld distance as a fraction of the bounding-box diagonal.
    pub weld_tolerance: f64,
}

impl Default for HealOptions {
    fn default() -> Self {
        HealOptions { weld_tolerance: 1e-6 }
    }
}

/// What [`heal`] found and changed.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct HealReport {
    /// Triangles in the input.
    pub input_triangles: usize,
    /// Triangles in the output.
    pub output_triangles: usize,
    /// Points merged into another point.
    pub welded_vertices: usize,
    /// Triangles removed for zero area, repeated vertices or invalid indices.
    pub degenerate_removed: usize,
    /// Triangles removed because another has the same three vertices.
    pub duplicates_removed: usize,
    /// Triangles whose orientation was reversed.
    pub flipped_triangles: usize,
    /// Edge-connected components.
    pub components: usize,
    /// Components with every edge shared by exactly two triangles.
    pub closed_components: usize,
    /// Edges used by one triangle.
    pub open_edges: usize,
    /// Edges used by more than two triangles.
    pub non_manifold_edges: usize,
    /// No open and no non-manifold edges.
    pub watertight: bool,
    /// Human sentences describing each change.
    pub changes: Vec<String>,
    /// Groups renamed because their names belong to generated patches (`bottom` is
    /// `body_bottom` in the case); `from` stays the label the interface shows.
    #[serde(default)]
    pub renamed_groups: Vec<super::GroupRename>,
}

/// Repairs `s` and reports what changed. Never panics on bad input: triangles with
/// out-of-range indices are dropped and counted as degenerate.
pub fn heal(s: Surface, o: &HealOptions) -> (Surface, HealReport) {
    let input_triangles = s.tris.len();
    let mut changes = Vec::new();
    let (lo, hi) = bbox(&s);
    let diag = norm(sub(hi, lo));
    let diag = if diag.is_finite() { diag } else { 0.0 };
    let tol = (o.weld_tolerance.max(0.0) * diag).min(f64::MAX);

    // Weld.
    let (points, remap) = weld(&s.points, tol);
    let welded_vertices = s.points.len() - points.len();
    if welded_vertices > 0 {
        changes.push(format!("welded {welded_vertices} vertices closer than {tol:.3e} m"));
    }

    // Degenerate and invalid triangles. Groups out of range go to a fallback group.
    let mut groups = s.groups;
    let mut fallback: Option<u32> = None;
    let min_area = diag * diag * 1e-14;
    let mut out = Surface { points, tris: Vec::new(), tri_group: Vec::new(), groups: Vec::new() };
    let mut degenerate_removed = 0;
    for (i, t) in s.tris.iter().enumerate() {
        if t.iter().any(|&v| v as usize >= remap.len()) {
            degenerate_removed += 1;
            continue;
        }
        let t = t.map(|v| remap[v as usize]);
        if t[0] == t[1] || t[1] == t[2] || t[0] == t[2] || tri_area(&out, &t).is_nan() || tri_area(&out, &t) <= min_area
        {
            degenerate_removed += 1;
            continue;
        }
        let g = match s.tri_group.get(i) {
            Some(&g) if (g as usize) < groups.len() => g,
            _ => *fallback.get_or_insert_with(|| {
                groups.push(super::sanitize_group_name("default"));
                (groups.len() - 1) as u32
            }),
        };
        out.tris.push(t);
        out.tri_group.push(g);
    }
    if degenerate_removed > 0 {
        changes.push(format!("removed {degenerate_removed} degenerate triangles (zero area or repeated vertices)"));
    }

    // Duplicates, regardless of orientation.
    let mut seen = HashSet::with_capacity(out.tris.len());
    let before = out.tris.len();
    let mask: Vec<bool> = out
        .tris
        .iter()
        .map(|t| {
            let mut k = *t;
            k.sort_unstable();
            seen.insert(k)
        })
        .collect();
    retain_tris(&mut out, &mask);
    let duplicates_removed = before - out.tris.len();
    if duplicates_removed > 0 {
        changes.push(format!(
            "removed {duplicates_removed} duplicate triangles (same three vertices, either orientation)"
        ));
    }

    // Orientation and components.
    let topo = orient(&mut out);
    if topo.flipped > 0 {
        changes.push(format!("flipped {} triangles to orient surfaces consistently and outward", topo.flipped));
    }

    // Drop unused points and empty groups so writers never emit stray data.
    let unused = compact_points(&mut out);
    if unused > 0 {
        changes.push(format!("removed {unused} unused points"));
    }
    let dropped = compact_groups(&mut out, groups);
    if !dropped.is_empty() {
        // Name them: a vanished region (e.g. a duplicated "-shadow" sheet) matters to the user.
        let mut names = dropped.iter().take(5).map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", ");
        if dropped.len() > 5 {
            names.push_str(", ...");
        }
        changes.push(format!("removed {} groups left without triangles: {names}", dropped.len()));
    }

    // A group called `bottom` or `inlet` would clash with the wind tunnel's patches.
    let renamed_groups = super::names::rename_reserved(&mut out.groups);
    for r in &renamed_groups {
        changes.push(format!(
            "renamed group '{}' to '{}': '{}' is the name of a patch FlowCFD generates (the wind tunnel's faces or the background box)",
            r.from, r.to, r.from
        ));
    }

    let (open_edges, non_manifold_edges) = edge_stats(&out);
    let watertight = !out.tris.is_empty() && open_edges == 0 && non_manifold_edges == 0;
    let report = HealReport {
        input_triangles,
        output_triangles: out.tris.len(),
        welded_vertices,
        degenerate_removed,
        duplicates_removed,
        flipped_triangles: topo.flipped,
        components: topo.components,
        closed_components: topo.closed,
        open_edges,
        non_manifold_edges,
        watertight,
        changes,
        renamed_groups,
    };
    (out, report)
}

/// Merges points within `tol` using a hash grid of cell size `tol`, so each point only
/// checks 27 cells: O(n) instead of O(n²). Returns the kept points and old→new map.
fn weld(points: &[[f64; 3]], tol: f64) -> (Vec<[f64; 3]>, Vec<u32>) {
    let mut kept: Vec<[f64; 3]> = Vec::new();
    let mut remap = Vec::with_capacity(points.len());
    if tol <= 0.0 {
        // Exact welding by bit pattern (+0.0 and -0.0 are the same point).
        let mut exact: HashMap<[u64; 3], u32> = HashMap::new();
        for p in points {
            let key = p.map(|c| (c + 0.0).to_bits());
            let id = *exact.entry(key).or_insert_with(|| {
                kept.push(*p);
                (kept.len() - 1) as u32
            });
            remap.push(id);
        }
        return (kept, remap);
    }
    let cell = |p: &[f64; 3]| p.map(|c| (c / tol).floor() as i64);
    let mut grid: HashMap<[i64; 3], Vec<u32>> = HashMap::new();
    let tol2 = tol * tol;
    for p in points {
        let c = cell(p);
        let mut found = None;
        'search: for dx in -1i64..=1 {
            for dy in -1i64..=1 {
                for dz in -1i64..=1 {
                    let key = [c[0].saturating_add(dx), c[1].saturating_add(dy), c[2].saturating_add(dz)];
                    for &k in grid.get(&key).into_iter().flatten() {
                        let d = sub(kept[k as usize], *p);
                        if dot(d, d) <= tol2 {
                            found = Some(k);
                            break 'search;
                        }
                    }
                }
            }
        }
        let id = found.unwrap_or_else(|| {
            kept.push(*p);
            let id = (kept.len() - 1) as u32;
            grid.entry(c).or_default().push(id);
            id
        });
        remap.push(id);
    }
    (kept, remap)
}

fn retain_tris(s: &mut Surface, keep: &[bool]) {
    let mut k = keep.iter();
    s.tris.retain(|_| *k.next().unwrap_or(&false));
    let mut k = keep.iter();
    s.tri_group.retain(|_| *k.next().unwrap_or(&false));
}

/// Result of [`orient`].
struct Topology {
    flipped: usize,
    components: usize,
    closed: usize,
}

/// Orients each component consistently (BFS across manifold edges, flipping a
/// neighbour that traverses the shared edge in the same direction), then makes closed
/// components enclose positive volume. Open patches keep the majority orientation of
/// the input so a mostly-correct surface is changed as little as possible.
fn orient(s: &mut Surface) -> Topology {
    let n = s.tris.len();
    let edges = sorted_edges(&s.tris);
    // Adjacency across manifold edges: (neighbour, my forward, its forward).
    let mut adj: Vec<Vec<(u32, bool, bool)>> = vec![Vec::new(); n];
    let mut parent: Vec<u32> = (0..n as u32).collect();
    let mut bad_edge_tris = Vec::new();
    for run in edge_runs(&edges) {
        if run.len() == 2 {
            let (a, b) = (run[0], run[1]);
            adj[a.tri as usize].push((b.tri, a.forward, b.forward));
            adj[b.tri as usize].push((a.tri, b.forward, a.forward));
        } else {
            bad_edge_tris.push(run[0].tri);
        }
        for w in run.windows(2) {
            union(&mut parent, w[0].tri, w[1].tri);
        }
    }
    // Components joined through any shared edge; closed = no open or non-manifold edge.
    let roots: Vec<u32> = (0..n as u32).map(|t| find(&mut parent, t)).collect();
    let mut open_root = vec![false; n];
    for t in bad_edge_tris {
        open_root[roots[t as usize] as usize] = true;
    }

    let mut flip = vec![false; n];
    let mut visited = vec![false; n];
    let mut queue = std::collections::VecDeque::new();
    let mut patch = Vec::new();
    for seed in 0..n {
        if visited[seed] {
            continue;
        }
        visited[seed] = true;
        patch.clear();
        queue.push_back(seed as u32);
        while let Some(t) = queue.pop_front() {
            patch.push(t);
            for &(nb, my_fw, nb_fw) in &adj[t as usize] {
                if !visited[nb as usize] {
                    visited[nb as usize] = true;
                    // Shared edge must be traversed in opposite directions.
                    flip[nb as usize] = !(my_fw ^ flip[t as usize]) ^ nb_fw;
                    queue.push_back(nb);
                }
            }
        }
        let root = roots[seed] as usize;
        let reverse = if open_root[root] {
            2 * patch.iter().filter(|&&t| flip[t as usize]).count() > patch.len()
        } else {
            // A closed manifold component is exactly one patch: decide by its volume.
            let o = s.points[s.tris[seed][0] as usize];
            let vol: f64 = patch
                .iter()
                .map(|&t| {
                    let [a, b, c] = s.tris[t as usize].map(|i| sub(s.points[i as usize], o));
                    let v = dot(a, cross(b, c));
                    if flip[t as usize] {
                        -v
                    } else {
                        v
                    }
                })
                .sum();
            vol < 0.0
        };
        if reverse {
            for &t in &patch {
                flip[t as usize] = !flip[t as usize];
            }
        }
    }
    let mut flipped = 0;
    for (t, f) in s.tris.iter_mut().zip(&flip) {
        if *f {
            t.swap(1, 2);
            flipped += 1;
        }
    }
    let mut components = 0;
    let mut closed = 0;
    for t in 0..n {
        if roots[t] as usize == t {
            components += 1;
            closed += usize::from(!open_root[t]);
        }
    }
    Topology { flipped, components, closed }
}

fn find(parent: &mut [u32], mut x: u32) -> u32 {
    while parent[x as usize] != x {
        parent[x as usize] = parent[parent[x as usize] as usize]; // path halving
        x = parent[x as usize];
    }
    x
}

fn union(parent: &mut [u32], a: u32, b: u32) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    if ra != rb {
        parent[ra.max(rb) as usize] = ra.min(rb);
    }
}

/// Removes points no triangle uses; returns how many.
fn compact_points(s: &mut Surface) -> usize {
    let mut new_id = vec![u32::MAX; s.points.len()];
    let mut points = Vec::new();
    for t in s.tris.iter_mut() {
        for v in t.iter_mut() {
            if new_id[*v as usize] == u32::MAX {
                new_id[*v as usize] = points.len() as u32;
                points.push(s.points[*v as usize]);
            }
            *v = new_id[*v as usize];
        }
    }
    let removed = s.points.len() - points.len();
    s.points = points;
    removed
}

/// Keeps only groups with triangles (in their original order); returns the dropped names.
fn compact_groups(s: &mut Surface, groups: Vec<String>) -> Vec<String> {
    let mut used = vec![false; groups.len()];
    for &g in &s.tri_group {
        used[g as usize] = true;
    }
    let mut new_id = vec![0u32; groups.len()];
    let mut dropped = Vec::new();
    for (i, name) in groups.into_iter().enumerate() {
        if used[i] {
            new_id[i] = s.groups.len() as u32;
            s.groups.push(name);
        } else {
            dropped.push(name);
        }
    }
    for g in s.tri_group.iter_mut() {
        *g = new_id[*g as usize];
    }
    dropped
}

#[cfg(test)]
#[path = "heal_tests.rs"]
mod tests;
