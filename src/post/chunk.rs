//! The viewer's stream: a sequence of self-contained chunks of about 1 MB, so a large
//! result draws progressively while it downloads. Little-endian, 4-byte aligned:
//!
//! ```text
//! chunk  := magic "FCP1" | kind u32 | a u32 | b u32 | payload
//! kind 0 (meta):      a = JSON byte length, b = 0; the JSON, padded with spaces to 4 bytes
//! kind 1 (triangles): a = vertices, b = indices; f32 xyz × a, f32 scalar × a, u32 × b
//! kind 2 (lines):     a = vertices, b = indices; as kind 1, indices in segment pairs
//! ```
//!
//! The first chunk is meta (statistics, field name, scalar range, bounds); every geometry
//! chunk carries its own vertices, so it can be drawn as soon as it arrives.
use super::extract::PolyData;
use super::le::{self, Le};

/// The first four bytes of every chunked result.
pub const MAGIC: &[u8; 4] = b"FCP1";
/// Target chunk size.
pub const CHUNK_BYTES: usize = 1 << 20;

fn header(out: &mut Vec<u8>, kind: u32, a: u32, b: u32) {
    out.extend_from_slice(MAGIC);
    for v in [kind, a, b] {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// Encodes `pd` with `meta` (extended with the scalar range and bounds) as the first chunk.
pub fn encode(pd: &PolyData, mut meta: serde_json::Value) -> Vec<u8> {
    let scal: Vec<f64> = pd.scalars.as_ref().map(|(_, v)| v.clone()).unwrap_or_else(|| vec![0.0; pd.points.len()]);
    let (lo, hi) = scal
        .iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    let mut blo = [f64::INFINITY; 3];
    let mut bhi = [f64::NEG_INFINITY; 3];
    for p in &pd.points {
        for k in 0..3 {
            blo[k] = blo[k].min(p[k]);
            bhi[k] = bhi[k].max(p[k]);
        }
    }
    if let Some(obj) = meta.as_object_mut() {
        if lo.is_finite() {
            obj.insert("range".into(), serde_json::json!([lo, hi]));
        }
        if blo[0].is_finite() {
            obj.insert("bounds".into(), serde_json::json!([blo, bhi]));
        }
        obj.insert("scalar".into(), serde_json::json!(pd.scalars.as_ref().map(|(n, _)| n.clone())));
    }
    let mut json = serde_json::to_vec(&meta).unwrap_or_default();
    while json.len() % 4 != 0 {
        json.push(b' ');
    }
    let mut out = Vec::with_capacity(16 + json.len() + pd.points.len() * 16 + pd.tris.len() * 12);
    header(&mut out, 0, json.len() as u32, 0);
    out.extend_from_slice(&json);
    // Triangles: about CHUNK_BYTES per chunk, vertices renumbered per chunk.
    let per_tri = 12 + 3 * 16; // worst case: three fresh vertices
    let tris_per_chunk = (CHUNK_BYTES / per_tri).max(1) * 2;
    for group in pd.tris.chunks(tris_per_chunk) {
        let flat: Vec<u32> = group.iter().flatten().copied().collect();
        emit(&mut out, 1, &flat, pd, &scal);
    }
    // Lines: polylines as segment pairs.
    let mut segs: Vec<u32> = Vec::new();
    for l in &pd.lines {
        for w in l.windows(2) {
            segs.extend_from_slice(w);
            if segs.len() * 4 + segs.len() * 16 >= CHUNK_BYTES {
                emit(&mut out, 2, &segs, pd, &scal);
                segs.clear();
            }
        }
    }
    if !segs.is_empty() {
        emit(&mut out, 2, &segs, pd, &scal);
    }
    out
}

fn emit(out: &mut Vec<u8>, kind: u32, idx: &[u32], pd: &PolyData, scal: &[f64]) {
    let mut local: std::collections::HashMap<u32, u32, super::extract::Fx> = Default::default();
    let mut order: Vec<u32> = Vec::new();
    let remapped: Vec<u32> = idx
        .iter()
        .map(|&i| {
            *local.entry(i).or_insert_with(|| {
                order.push(i);
                (order.len() - 1) as u32
            })
        })
        .collect();
    header(out, kind, order.len() as u32, remapped.len() as u32);
    for &i in &order {
        for k in 0..3 {
            out.extend_from_slice(&(pd.points[i as usize][k] as f32).to_le_bytes());
        }
    }
    for &i in &order {
        out.extend_from_slice(&(scal[i as usize] as f32).to_le_bytes());
    }
    for i in remapped {
        out.extend_from_slice(&i.to_le_bytes());
    }
}

/// Decodes a stream: (meta, triangle count, segment count). For tests.
pub fn decode(bytes: &[u8]) -> Option<(serde_json::Value, usize, usize)> {
    let (mut at, mut meta, mut tris, mut segs) = (0usize, None, 0, 0);
    let u = |at: usize| -> Option<u32> { Some(u32::read_le(bytes.get(at..at + 4)?)) };
    while at < bytes.len() {
        if bytes.get(at..at + 4)? != MAGIC {
            return None;
        }
        let (kind, a, b) = (u(at + 4)?, u(at + 8)? as usize, u(at + 12)? as usize);
        at += 16;
        match kind {
            0 => {
                meta = serde_json::from_slice(bytes.get(at..at + a)?).ok();
                at += a;
            }
            1 | 2 => {
                let idx = bytes.get(at + 16 * a..at + 16 * a + 4 * b)?;
                if le::values::<u32>(idx).any(|i| i as usize >= a) {
                    return None;
                }
                if kind == 1 {
                    tris += b / 3
                } else {
                    segs += b / 2
                }
                at += 16 * a + 4 * b;
            }
            _ => return None,
        }
    }
    Some((meta?, tris, segs))
}
