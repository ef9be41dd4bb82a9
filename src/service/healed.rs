//! The healed surface of each geometry, kept in the object store beside the original so
//! that mesh suggestions never parse and heal the upload again (that took seconds and
//! hundreds of MB per call on a large STL).
//!
//! Layout (`healed.bin`), little-endian: magic `FCH1`; u32 point count P, triangle count
//! T, group count G; f64 × 3P positions (metres, at the upload's scale); u32 × 3T vertex
//! indices; u32 × T group per triangle; then G names, each a u32 length and UTF-8 bytes.
//!
//! Healing is scale-free (its tolerances are fractions of the bounding box), so the healed
//! surface at the upload's scale, multiplied by a case's extra scale, is what a run of that
//! case heals.
use crate::error::{AppError, AppResult};
use crate::geometry::{heal::heal, heal::HealOptions, ReadOptions, Surface};
use crate::state::AppState;
use crate::store::Geometry;
use bytes::Bytes;

/// Where the healed surface of geometry `id` of project `project` is kept.
pub fn healed_key(project: &str, id: &str) -> String {
    format!("projects/{project}/geometries/{id}/healed.bin")
}

/// Encodes a healed surface (see the module doc).
pub fn encode(s: &Surface) -> Vec<u8> {
    let names: usize = s.groups.iter().map(|g| 4 + g.len()).sum();
    let mut out = Vec::with_capacity(16 + s.points.len() * 24 + s.tris.len() * 16 + names);
    out.extend_from_slice(b"FCH1");
    for n in [s.points.len(), s.tris.len(), s.groups.len()] {
        out.extend_from_slice(&(n as u32).to_le_bytes());
    }
    for c in s.points.iter().flatten() {
        out.extend_from_slice(&c.to_le_bytes());
    }
    for i in s.tris.iter().flatten().chain(&s.tri_group) {
        out.extend_from_slice(&i.to_le_bytes());
    }
    for g in &s.groups {
        out.extend_from_slice(&(g.len() as u32).to_le_bytes());
        out.extend_from_slice(g.as_bytes());
    }
    out
}

/// Decodes [`encode`]'s output; `None` when it is not one (then the caller heals again).
pub fn decode(b: &[u8]) -> Option<Surface> {
    let mut r = Reader { b, at: 0 };
    if r.take(4)? != b"FCH1" {
        return None;
    }
    let counts = r.u32s(3)?;
    let (p, t, g) = (counts[0] as usize, counts[1] as usize, counts[2] as usize);
    let coords: Vec<f64> =
        r.take(p.checked_mul(24)?)?.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect();
    let idx = r.u32s(t.checked_mul(4)?)?;
    let mut s = Surface {
        points: coords.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect(),
        tris: idx[..3 * t].chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect(),
        tri_group: idx[3 * t..].to_vec(),
        groups: Vec::with_capacity(g.min(1 << 16)),
    };
    for _ in 0..g {
        let len = r.u32s(1)?[0] as usize;
        s.groups.push(String::from_utf8(r.take(len)?.to_vec()).ok()?);
    }
    let valid = s.tris.iter().flatten().all(|&i| (i as usize) < p) && s.tri_group.iter().all(|&i| (i as usize) < g);
    (valid && r.at == b.len()).then_some(s)
}

/// A bounds-checked cursor over stored bytes.
struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }

    fn u32s(&mut self, n: usize) -> Option<Vec<u32>> {
        Some(self.take(n.checked_mul(4)?)?.chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().unwrap())).collect())
    }
}

/// The read options for geometry `g`'s original at `scale`, from the configured limits.
pub fn read_options(st: &AppState, scale: f64) -> ReadOptions {
    ReadOptions {
        scale,
        max_bytes: st.cfg.limits.max_upload_bytes.max(1),
        max_triangles: st.cfg.limits.max_triangles,
        max_inflated_bytes: st.cfg.limits.max_inflated_bytes,
    }
}

/// The healed surface of ready geometry `g` at its upload scale: from the store, or (for a
/// geometry processed before the store kept it, or a damaged copy) healed from the
/// original once and stored.
pub async fn load(st: &AppState, g: &Geometry) -> AppResult<Surface> {
    let key = healed_key(&g.project_id, &g.id);
    if let Ok(b) = st.blobs.get(&key).await {
        if let Some(s) = tokio::task::spawn_blocking(move || decode(&b))
            .await
            .map_err(|e| AppError::Internal(format!("healed surface: {e}")))?
        {
            return Ok(s);
        }
    }
    let data = st.blobs.get(&g.original_key).await?;
    let opts = read_options(st, g.scale);
    let name = format!("upload.{}", g.format);
    let (s, bin) = tokio::task::spawn_blocking(move || {
        let raw = crate::geometry::read_bytes(&name, &data, &opts).map_err(|e| AppError::Validation(e.to_string()))?;
        let s = heal(raw, &HealOptions::default()).0;
        let bin = encode(&s);
        Ok::<_, AppError>((s, bin))
    })
    .await
    .map_err(|e| AppError::Internal(format!("healed surface: {e}")))??;
    st.blobs.put(&key, Bytes::from(bin)).await?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejects_damage() {
        let s = Surface {
            points: vec![[0.0, 0.0, 0.0], [1.5, 0.0, 0.0], [0.0, 1e-9, 2.0]],
            tris: vec![[0, 1, 2]],
            tri_group: vec![1],
            groups: vec!["body_bottom".into(), "wing é".into()],
        };
        let b = encode(&s);
        assert_eq!(decode(&b), Some(s.clone()));
        assert_eq!(decode(&b[..b.len() - 1]), None);
        assert_eq!(decode(b"FCS1"), None);
        let mut bad = b.clone();
        bad[16 + 72] = 9; // a vertex index past the points
        assert_eq!(decode(&bad), None);
    }
}
