//! Wavefront OBJ reader: `v`, `f` (all index forms, negative indices, polygons),
//! `g`/`o` groups. Texture, normal, material and smoothing lines are ignored because
//! meshing only needs the surface and its regions.

use std::collections::HashMap;
use std::io::BufRead;

use super::read::Lines;
use super::{GeometryError, GroupNames, ReadOptions, Surface};

/// Parses OBJ bytes (unscaled). Faces before any `g`/`o` go to group `default`;
/// groups that end up with no faces are dropped. A group name used again later
/// (`g a` … `g b` … `g a`) continues the same group, as the format intends.
pub fn parse(bytes: &[u8], opts: &ReadOptions) -> Result<Surface, GeometryError> {
    parse_reader(bytes, opts)
}

/// As [`parse`], line by line from a stream (a `.gz` being inflated).
pub fn parse_reader<R: BufRead>(r: R, opts: &ReadOptions) -> Result<Surface, GeometryError> {
    let mut lines = Lines::new(r);
    let mut s = Surface::default();
    let mut names = GroupNames::default();
    // Raw name -> group index, filled lazily at the first face so empty groups vanish.
    let mut by_raw: HashMap<String, u32> = HashMap::new();
    let mut current_raw = "default".to_string();
    let mut current: Option<u32> = None;
    // Positive indices may point at vertices defined further down; checked at the end.
    let mut forward: Option<(usize, i64)> = None;
    let mut poly: Vec<u32> = Vec::new();
    let bad = |line: usize, msg: String| GeometryError::Malformed { line, msg };

    while let Some((line, raw)) = lines.next_line()? {
        let mut tok = raw.split_whitespace();
        let Some(key) = tok.next() else { continue };
        match key {
            "v" => {
                let mut p = [0.0f64; 3];
                for c in p.iter_mut() {
                    let t = tok.next().ok_or_else(|| bad(line, "'v' needs 3 coordinates".into()))?;
                    *c = t.parse().map_err(|_| bad(line, format!("'{t}' is not a number")))?;
                }
                if p.iter().any(|c| !c.is_finite()) {
                    return Err(GeometryError::NonFinite { location: format!("line {line}") });
                }
                if s.points.len() >= u32::MAX as usize {
                    return Err(GeometryError::TooLarge {
                        what: "the number of vertices".into(),
                        limit: u32::MAX as u64,
                    });
                }
                s.points.push(p);
            }
            "f" => {
                poly.clear();
                for t in tok {
                    let idx = t.split('/').next().unwrap_or("");
                    let k: i64 = idx.parse().map_err(|_| bad(line, format!("'{t}' is not a vertex index")))?;
                    let n = s.points.len() as i64;
                    let abs = match k {
                        0 => return Err(bad(line, "vertex index 0 is invalid (OBJ indices start at 1)".into())),
                        k if k < 0 => {
                            if k < -n {
                                return Err(bad(line, format!("relative index {k} points before the first vertex")));
                            }
                            n + k
                        }
                        k => {
                            if k > u32::MAX as i64 {
                                return Err(bad(line, format!("vertex index {k} is too large")));
                            }
                            if k > n && forward.is_none_or(|(_, f)| k > f) {
                                forward = Some((line, k));
                            }
                            k - 1
                        }
                    };
                    poly.push(abs as u32);
                }
                if poly.len() < 3 {
                    return Err(bad(line, format!("a face needs at least 3 vertices, found {}", poly.len())));
                }
                if s.tris.len() + poly.len() - 2 > opts.tri_limit() {
                    return Err(opts.too_many_tris());
                }
                let g = *current.get_or_insert_with(|| {
                    *by_raw.entry(current_raw.clone()).or_insert_with(|| names.add(&current_raw))
                });
                // Fan triangulation is exact for the convex polygons CAD exporters write.
                for w in 1..poly.len() - 1 {
                    s.tris.push([poly[0], poly[w], poly[w + 1]]);
                    s.tri_group.push(g);
                }
            }
            "g" | "o" => {
                let name: Vec<&str> = tok.collect();
                current_raw = if name.is_empty() { "default".into() } else { name.join(" ") };
                current = None;
            }
            // Everything else (vn, vt, vp, usemtl, mtllib, s, l, p, comments, curves)
            // carries nothing a surface mesh needs.
            _ => {}
        }
    }
    if let Some((line, k)) = forward {
        if k as usize > s.points.len() {
            return Err(bad(line, format!("vertex index {k} but the file has only {} vertices", s.points.len())));
        }
    }
    if s.tris.is_empty() {
        return Err(GeometryError::Empty);
    }
    s.groups = names.into_names();
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn opts() -> ReadOptions {
        ReadOptions::default()
    }

    #[test]
    fn groups_quads_negative_indices() {
        let text = "# cube bits\nmtllib x.mtl\nv 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nvn 0 0 1\nvt 0 0\n\
            f 1 2 3\n\
            g top part\nusemtl red\ns 1\nf 1/1/1 2/1/1 3/1/1 4/1/1\n\
            o empty\n\
            g side\nv 0 0 1\nf -5//1 -4//1 -1//1\nl 1 2\n\
            g top part\nf 4 3 2 1\n";
        let s = parse(text.as_bytes(), &opts()).unwrap();
        assert_eq!(s.groups, vec!["default", "top_part", "side"]);
        assert_eq!(s.tris.len(), 1 + 2 + 1 + 2);
        assert_eq!(s.tris[1], [0, 1, 2]);
        assert_eq!(s.tris[2], [0, 2, 3]);
        assert_eq!(s.tris[3], [0, 1, 4]);
        assert_eq!(s.tri_group, vec![0, 1, 1, 2, 1, 1]);
    }

    #[test]
    fn forward_reference_allowed_but_checked() {
        let ok = "f 1 2 3\nv 0 0 0\nv 1 0 0\nv 0 1 0\n";
        assert_eq!(parse(ok.as_bytes(), &opts()).unwrap().tris.len(), 1);
        let e = parse(b"v 0 0 0\nv 1 0 0\nf 1 2 3\n", &opts()).unwrap_err();
        assert!(matches!(e, GeometryError::Malformed { line: 3, .. }), "{e}");
    }

    #[test]
    fn errors() {
        assert!(matches!(parse(b"", &opts()), Err(GeometryError::Empty)));
        assert!(matches!(parse(b"v 0 0 0\n", &opts()), Err(GeometryError::Empty)));
        assert!(matches!(parse(b"v 0 0 NaN\n", &opts()), Err(GeometryError::NonFinite { .. })));
        assert!(matches!(parse(b"v 0 0 0\nf 0 1 1\n", &opts()), Err(GeometryError::Malformed { line: 2, .. })));
        assert!(matches!(parse(b"v 0 0 0\nf -2 1 1\n", &opts()), Err(GeometryError::Malformed { .. })));
        assert!(matches!(parse(b"v 0 0 0\nf 1 1\n", &opts()), Err(GeometryError::Malformed { .. })));
        assert!(matches!(parse(b"v 0 0\n", &opts()), Err(GeometryError::Malformed { .. })));
        let limit = ReadOptions { max_triangles: 1, ..opts() };
        let quad = b"v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nf 1 2 3 4\n";
        assert!(matches!(parse(quad, &limit), Err(GeometryError::TooLarge { .. })));
    }

    /// OpenFOAM's tutorial geometry: 331653 triangles in 67 `g` groups.
    #[test]
    fn motorbike_loads() {
        let p = std::path::Path::new("/usr/share/doc/openfoam-examples/examples/resources/geometry/motorBike.obj.gz");
        // CI installs openfoam-examples (.ci/test); a missing file fails rather than skips.
        assert!(p.exists(), "{} missing: apt-get install openfoam-examples", p.display());
        let s = crate::geometry::read_file(p, &opts()).unwrap();
        assert_eq!(s.tris.len(), 331_653);
        assert_eq!(s.groups.len(), 67);
        assert!(s.groups.iter().any(|g| g == "frt-fairing_001_1"), "{:?}", &s.groups[..5]);
        assert!(s.tris.iter().flatten().all(|&i| (i as usize) < s.points.len()));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = crate::geometry::read_bytes("x.obj", &bytes, &opts());
        }

        #[test]
        fn arbitrary_obj_lines_never_panic(lines in proptest::collection::vec(
            "(v|f|g|o|vn|#)( -?[0-9]{0,3}(/[0-9]{0,2}){0,2}){0,5}", 0..30)) {
            let _ = crate::geometry::read_bytes("x.obj", lines.join("\n").as_bytes(), &opts());
        }
    }
}
