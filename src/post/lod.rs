//! Level of detail: vertex clustering on a uniform grid, coarsened until the surface fits a
//! triangle budget. Each cluster's vertex is the mean of its members (and so is its
//! scalar); triangles that collapse are dropped, and duplicates merged.
use super::extract::{Fx, PolyData};
use std::collections::{HashMap, HashSet};

/// `pd` itself when it fits `budget` triangles, else a clustered copy that does.
pub fn decimate(pd: &PolyData, budget: usize) -> PolyData {
    if pd.tris.len() <= budget || pd.points.is_empty() || budget == 0 {
        return pd.clone();
    }
    let (mut lo, mut hi) = ([f64::INFINITY; 3], [f64::NEG_INFINITY; 3]);
    for p in &pd.points {
        for k in 0..3 {
            lo[k] = lo[k].min(p[k]);
            hi[k] = hi[k].max(p[k]);
        }
    }
    let ext = (0..3).map(|k| hi[k] - lo[k]).fold(0.0f64, f64::max).max(1e-300);
    // Start where a uniform grid would give about the budget, then coarsen by 1.25 steps.
    let mut n = ((budget as f64 / 2.0).sqrt() * 2.0).max(2.0);
    loop {
        let out = cluster(pd, lo, ext / n);
        if out.tris.len() <= budget || n <= 2.0 {
            return out;
        }
        n /= 1.25;
    }
}

fn cluster(pd: &PolyData, lo: [f64; 3], h: f64) -> PolyData {
    let key = |p: &[f64; 3]| -> (i64, i64, i64) {
        (((p[0] - lo[0]) / h) as i64, ((p[1] - lo[1]) / h) as i64, ((p[2] - lo[2]) / h) as i64)
    };
    let mut ids: HashMap<(i64, i64, i64), u32, Fx> = HashMap::default();
    let mut sum: Vec<([f64; 3], f64, f64)> = Vec::new();
    let map: Vec<u32> = pd
        .points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let id = *ids.entry(key(p)).or_insert_with(|| {
                sum.push(([0.0; 3], 0.0, 0.0));
                (sum.len() - 1) as u32
            });
            let s = &mut sum[id as usize];
            for k in 0..3 {
                s.0[k] += p[k];
            }
            s.1 += pd.scalars.as_ref().map(|(_, v)| v[i]).unwrap_or(0.0);
            s.2 += 1.0;
            id
        })
        .collect();
    let mut seen: HashSet<[u32; 3], Fx> = HashSet::default();
    let mut tris = Vec::new();
    for t in &pd.tris {
        let m = t.map(|i| map[i as usize]);
        if m[0] == m[1] || m[1] == m[2] || m[0] == m[2] {
            continue;
        }
        let mut k = m;
        k.sort_unstable();
        if seen.insert(k) {
            tris.push(m);
        }
    }
    PolyData {
        points: sum.iter().map(|(p, _, n)| p.map(|x| x / n)).collect(),
        tris,
        lines: Vec::new(),
        scalars: pd.scalars.as_ref().map(|(name, _)| (name.clone(), sum.iter().map(|(_, s, n)| s / n).collect())),
    }
}
