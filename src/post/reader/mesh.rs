//! A `polyMesh` directory: points, faces (plain or `faceCompactList`), owner, neighbour
//! and boundary, checked against each other.
use super::list::MAX_UNIFORM;
use super::token::parse_file;
use super::{Patch, PolyMesh};
use crate::post::le;
use crate::post::PostError;
use std::path::Path;

/// A label-list file (owner, neighbour, `*ProcAddressing`) as `T`.
pub(super) fn read_labels<T: TryFrom<i64> + Clone>(path: &Path) -> Result<Vec<T>, PostError> {
    parse_file(path, |s| s.labels())
}

fn read_points(path: &Path) -> Result<Vec<[f64; 3]>, PostError> {
    parse_file(path, |s| {
        if s.h.binary && !s.h.scalar32 {
            // The common case read straight into points: one allocation.
            let at = s.i;
            let n = s.label()?;
            if s.peek() == Some(b'(') {
                s.i += 1;
                let raw = s.raw_items(n, 24)?;
                let v = le::triples::<f64>(raw).collect();
                s.expect(b')')?;
                return Ok(v);
            }
            s.i = at;
        }
        let flat = s.scalar_list(3, MAX_UNIFORM)?;
        Ok(flat.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect())
    })
}

fn read_faces(path: &Path) -> Result<(Vec<usize>, Vec<u32>), PostError> {
    parse_file(path, |s| {
        if s.h.class == "faceCompactList" {
            let offsets: Vec<usize> = s.labels::<u32>()?.into_iter().map(|x| x as usize).collect();
            let labels = s.labels()?;
            if offsets.last().copied().unwrap_or(0) != labels.len() || offsets.windows(2).any(|w| w[1] < w[0]) {
                return Err(s.err("face offsets do not match the face labels"));
            }
            return Ok((offsets, labels));
        }
        let n = s.label()?;
        s.expect(b'(')?;
        // A face takes eight bytes at least (`3(0 1 2)`): reserve no more than the file holds.
        let reserve = n.min(s.room(8));
        let mut offsets = Vec::with_capacity(reserve + 1);
        let mut labels = Vec::with_capacity(reserve * 4);
        offsets.push(0);
        for _ in 0..n {
            let k = s.label()?;
            s.expect(b'(')?;
            for _ in 0..k {
                let v = s.label()?;
                labels.push(u32::try_from(v).map_err(|_| s.err("point label out of range"))?);
            }
            s.expect(b')')?;
            offsets.push(labels.len());
        }
        s.expect(b')')?;
        Ok((offsets, labels))
    })
}

fn read_boundary(path: &Path) -> Result<Vec<Patch>, PostError> {
    parse_file(path, |s| {
        let n = s.label()?;
        s.expect(b'(')?;
        let mut out = Vec::with_capacity(n.min(s.room(8)));
        for _ in 0..n {
            let name = s.word()?;
            s.expect(b'{')?;
            let (mut kind, mut groups, mut start, mut size) = (String::new(), Vec::new(), None, None);
            while s.peek() != Some(b'}') {
                let key = s.word()?;
                match key.as_str() {
                    "type" => kind = s.word()?,
                    "nFaces" => size = Some(s.label()?),
                    "startFace" => start = Some(s.label()?),
                    "inGroups" => {
                        // inGroups List<word> 1(wall); or inGroups 1(wall);
                        if s.peek().is_some_and(|c| !c.is_ascii_digit() && c != b'(') {
                            s.word()?;
                        }
                        if s.peek().is_some_and(|c| c.is_ascii_digit()) {
                            s.label()?;
                        }
                        s.expect(b'(')?;
                        while s.peek() != Some(b')') {
                            groups.push(s.word()?);
                        }
                        s.i += 1;
                    }
                    _ => {
                        s.skip_entry()?;
                        continue;
                    }
                }
                s.expect(b';')?;
            }
            s.expect(b'}')?;
            let (Some(start), Some(size)) = (start, size) else {
                return Err(s.err(format!("patch {name} has no startFace or nFaces")));
            };
            out.push(Patch { name, kind, groups, start, size });
        }
        Ok(out)
    })
}

/// Reads one `polyMesh` directory.
pub fn read_polymesh(dir: &Path) -> Result<PolyMesh, PostError> {
    let points = read_points(&dir.join("points"))?;
    let (face_offsets, face_points) = read_faces(&dir.join("faces"))?;
    let owner = read_labels(&dir.join("owner"))?;
    let neighbour = read_labels(&dir.join("neighbour"))?;
    let patches = read_boundary(&dir.join("boundary"))?;
    let n_faces = face_offsets.len() - 1;
    let bad = |what: String| PostError::Parse { path: dir.display().to_string(), line: 0, what };
    if owner.len() != n_faces {
        return Err(bad(format!("{} owners for {n_faces} faces", owner.len())));
    }
    if neighbour.len() > n_faces {
        return Err(bad(format!("{} neighbours for {n_faces} faces", neighbour.len())));
    }
    if let Some(&p) = face_points.iter().find(|&&p| p as usize >= points.len()) {
        return Err(bad(format!("a face uses point {p}; there are {}", points.len())));
    }
    if let Some(what) = check_patches(&patches, neighbour.len(), n_faces) {
        return Err(bad(what));
    }
    let n_cells = owner.iter().chain(&neighbour).map(|&c| c as usize + 1).max().unwrap_or(0);
    // Every cell is the owner or neighbour of some face, so a label past their number
    // skips cells: refused here, before fields allocate a value for each.
    if n_cells > owner.len() + neighbour.len() {
        return Err(bad(format!(
            "owner and neighbour name cell {} but hold only {} labels",
            n_cells - 1,
            owner.len() + neighbour.len()
        )));
    }
    Ok(PolyMesh { points, face_offsets, face_points, owner, neighbour, n_cells, patches })
}

/// Patches hold boundary faces only: from the first face after the internal ones to the
/// last face. Whatever else a patch says is a corrupt mesh (and would index past the
/// boundary arrays of everything downstream).
pub(super) fn check_patches(patches: &[Patch], n_internal: usize, n_faces: usize) -> Option<String> {
    patches.iter().find_map(|p| {
        if p.start.checked_add(p.size).is_none_or(|end| end > n_faces) {
            Some(format!("patch {} runs past the last face", p.name))
        } else if p.start < n_internal && p.size > 0 {
            Some(format!("patch {} starts at face {}, among the {n_internal} internal faces", p.name, p.start))
        } else {
            None
        }
    })
}
