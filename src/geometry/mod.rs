//! Surface geometry: readers, healing, analysis. Pure functions (readers take bytes).
//!
//! The pipeline is `read_bytes`/`read_file` → [`heal::heal`] → [`analyse::analyse`] /
//! [`query::Locator`] → [`write`](mod@write). Readers never weld vertices; healing does, so every
//! reader stays a thin, testable translation of its format.

pub mod analyse;
pub mod heal;
pub mod obj;
pub mod primitives;
pub mod query;
pub mod stl;
pub mod write;

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

/// Indexed triangle surface with named groups.
///
/// `tri_group[i]` is the index into `groups` of triangle `i`; group names are
/// OpenFOAM-safe words (see [`sanitize_group_name`]) and unique.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Surface {
    /// Vertex coordinates in metres (after [`ReadOptions::scale`]).
    pub points: Vec<[f64; 3]>,
    /// Triangles as indices into `points`, counter-clockwise seen from outside once healed.
    pub tris: Vec<[u32; 3]>,
    /// Group index of each triangle, one per entry of `tris`.
    pub tri_group: Vec<u32>,
    /// Group (region) names.
    pub groups: Vec<String>,
}

/// Everything that can go wrong reading a surface. Each message says what is wrong
/// and what the user can do about it, because it is shown to them verbatim.
#[derive(Debug, thiserror::Error)]
pub enum GeometryError {
    /// The file parsed but holds no triangles.
    #[error("the file holds no triangles: check that the right part was exported and that it is not empty")]
    Empty,
    /// The file ends before the data its header announces.
    #[error("{detail}: the file is truncated; re-export it from your CAD tool")]
    Truncated {
        /// What was expected and what was found.
        detail: String,
    },
    /// A text line could not be understood.
    #[error("line {line}: {msg}; fix that line or re-export the file from your CAD tool")]
    Malformed {
        /// 1-based line number.
        line: usize,
        /// What is wrong with the line.
        msg: String,
    },
    /// A coordinate is NaN or infinite.
    #[error("{location} has a NaN or infinite coordinate: repair the model in your CAD tool and export it again")]
    NonFinite {
        /// `line N` (text formats) or `triangle N` (binary STL), 1-based.
        location: String,
    },
    /// Binary STL whose triangle count disagrees with its size (and is not ASCII STL).
    #[error("binary STL header says {header} triangles, which needs {expected_bytes} bytes, but the file has {actual_bytes} bytes and is not valid ASCII STL either: re-export it as binary or ASCII STL")]
    CountMismatch {
        /// Triangle count in the header.
        header: u64,
        /// File size the header implies.
        expected_bytes: u64,
        /// Actual file size.
        actual_bytes: u64,
    },
    /// The input exceeds a configured limit.
    #[error(
        "{what} exceeds the limit of {limit}: simplify or decimate the surface, or raise the limit in the read options"
    )]
    TooLarge {
        /// Which quantity is too large, with its value.
        what: String,
        /// The configured limit.
        limit: u64,
    },
    /// The file extension is not a supported surface format.
    #[error("unknown surface format '{0}': use a .stl, .obj, .stl.gz or .obj.gz file")]
    UnknownFormat(String),
    /// The scale factor is unusable.
    #[error("scale factor {0} is not a positive finite number: use e.g. 0.001 to convert millimetres to metres")]
    BadScale(f64),
    /// A `.gz` file could not be decompressed.
    #[error("could not decompress {name}: {msg}; the .gz file is corrupt or truncated, compress it again")]
    Decompress {
        /// File name hint.
        name: String,
        /// Decoder message.
        msg: String,
    },
    /// The file could not be read from disk.
    #[error("could not read {path}: {source}; check that the file exists and is readable")]
    Io {
        /// Path that failed.
        path: String,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Limits and unit conversion applied while reading.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadOptions {
    /// Factor applied to every coordinate, e.g. 0.001 for a model drawn in millimetres.
    pub scale: f64,
    /// Largest file (and decompressed `.gz` content) accepted, in bytes.
    pub max_bytes: u64,
    /// Largest number of triangles accepted (polygons count after triangulation).
    pub max_triangles: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions { scale: 1.0, max_bytes: 1 << 30, max_triangles: 20_000_000 }
    }
}

impl ReadOptions {
    /// Triangle limit, also capped so that 3 points per triangle still fit `u32` indices.
    pub(crate) fn tri_limit(&self) -> usize {
        self.max_triangles.min((u32::MAX / 3) as usize)
    }

    /// Error for exceeding the triangle limit.
    pub(crate) fn too_many_tris(&self) -> GeometryError {
        GeometryError::TooLarge {
            what: format!("the number of triangles (more than {})", self.tri_limit()),
            limit: self.tri_limit() as u64,
        }
    }
}

/// Reads a surface file, choosing the format from the extension
/// (`.stl`, `.obj`, optionally followed by `.gz`), and applies `opts.scale`.
///
/// The file size is checked against `opts.max_bytes` before anything is read.
pub fn read_file(path: &Path, opts: &ReadOptions) -> Result<Surface, GeometryError> {
    let shown = path.display().to_string();
    let io = |source| GeometryError::Io { path: shown.clone(), source };
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len > opts.max_bytes {
        return Err(GeometryError::TooLarge { what: format!("file size ({len} bytes)"), limit: opts.max_bytes });
    }
    let bytes = std::fs::read(path).map_err(io)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or(shown.clone());
    read_bytes(&name, &bytes, opts)
}

/// Parses a surface held in memory; `name_hint` (a file name) selects the format the
/// same way as [`read_file`], including `.gz` decompression.
pub fn read_bytes(name_hint: &str, bytes: &[u8], opts: &ReadOptions) -> Result<Surface, GeometryError> {
    if !(opts.scale.is_finite() && opts.scale > 0.0) {
        return Err(GeometryError::BadScale(opts.scale));
    }
    if bytes.len() as u64 > opts.max_bytes {
        return Err(GeometryError::TooLarge {
            what: format!("input size ({} bytes)", bytes.len()),
            limit: opts.max_bytes,
        });
    }
    let lower = name_hint.to_ascii_lowercase();
    let (stem, gz) = match lower.strip_suffix(".gz") {
        Some(s) => (s.to_string(), true),
        None => (lower.clone(), false),
    };
    let ext = stem.rsplit_once('.').map(|(_, e)| e.to_string()).unwrap_or_default();
    if ext != "stl" && ext != "obj" {
        return Err(GeometryError::UnknownFormat(name_hint.to_string()));
    }
    let inflated;
    let data = if gz {
        inflated = gunzip(name_hint, bytes, opts.max_bytes)?;
        &inflated[..]
    } else {
        bytes
    };
    let mut s = if ext == "stl" { stl::parse(data, opts)? } else { obj::parse(data, opts)? };
    apply_scale(&mut s, opts.scale)?;
    Ok(s)
}

/// Decompresses with a hard cap, so a small "zip bomb" cannot exhaust memory.
fn gunzip(name: &str, bytes: &[u8], max_bytes: u64) -> Result<Vec<u8>, GeometryError> {
    let mut out = Vec::new();
    let decoder = flate2::read::MultiGzDecoder::new(bytes);
    decoder
        .take(max_bytes.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| GeometryError::Decompress { name: name.to_string(), msg: e.to_string() })?;
    if out.len() as u64 > max_bytes {
        return Err(GeometryError::TooLarge {
            what: format!("decompressed size of {name} (more than {max_bytes} bytes)"),
            limit: max_bytes,
        });
    }
    Ok(out)
}

/// Scales after parsing; a huge factor may overflow to infinity, which is caught here.
fn apply_scale(s: &mut Surface, scale: f64) -> Result<(), GeometryError> {
    if scale == 1.0 {
        return Ok(());
    }
    for (i, p) in s.points.iter_mut().enumerate() {
        for c in p.iter_mut() {
            *c *= scale;
        }
        if p.iter().any(|c| !c.is_finite()) {
            return Err(GeometryError::NonFinite { location: format!("point {} after scaling", i + 1) });
        }
    }
    Ok(())
}

/// Turns any group name into an OpenFOAM-safe word: keeps `[A-Za-z0-9_.-]`, replaces
/// every other character by `_`, collapses runs of `_`, prefixes `g_` when the first
/// character is not a letter or `_`, and returns `group` for an empty name.
pub fn sanitize_group_name(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for ch in raw.trim().chars() {
        let c = if ch.is_ascii_alphanumeric() || matches!(ch, '_' | '.' | '-') { ch } else { '_' };
        // Collapsing keeps names like "frt-fairing:001%1" readable (frt-fairing_001_1).
        if c == '_' && out.ends_with('_') {
            continue;
        }
        out.push(c);
    }
    match out.chars().next() {
        None => "group".to_string(),
        Some(c) if c.is_ascii_alphabetic() || c == '_' => out,
        Some(_) => format!("g_{out}"),
    }
}

/// Allocates sanitized, unique group names for readers.
#[derive(Default)]
pub(crate) struct GroupNames {
    names: Vec<String>,
    taken: HashMap<String, ()>,
}

impl GroupNames {
    /// Adds a new group named after `raw` (suffixed `_2`, `_3`, … if taken); returns its index.
    pub(crate) fn add(&mut self, raw: &str) -> u32 {
        let base = sanitize_group_name(raw);
        let mut name = base.clone();
        let mut k = 2;
        while self.taken.contains_key(&name) {
            name = format!("{base}_{k}");
            k += 1;
        }
        self.taken.insert(name.clone(), ());
        self.names.push(name);
        (self.names.len() - 1) as u32
    }

    /// The names in index order.
    pub(crate) fn into_names(self) -> Vec<String> {
        self.names
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn sanitize_examples() {
        assert_eq!(sanitize_group_name("frt-fairing:001%1"), "frt-fairing_001_1");
        assert_eq!(sanitize_group_name("my  part!!"), "my_part_");
        assert_eq!(sanitize_group_name("1abc"), "g_1abc");
        assert_eq!(sanitize_group_name(".x"), "g_.x");
        assert_eq!(sanitize_group_name(""), "group");
        assert_eq!(sanitize_group_name("   "), "group");
        assert_eq!(sanitize_group_name("_ok"), "_ok");
        assert_eq!(sanitize_group_name("wing\u{e9}"), "wing_");
    }

    #[test]
    fn unique_names() {
        let mut g = GroupNames::default();
        assert_eq!(g.add("a"), 0);
        g.add("a");
        g.add("a:");
        g.add("a");
        assert_eq!(g.into_names(), vec!["a", "a_2", "a_", "a_3"]);
    }

    const TRI: &str = "solid t\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex 1000 0 0\nvertex 0 1000 0\nendloop\nendfacet\nendsolid t\n";

    #[test]
    fn read_file_gz_and_scale() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("part.STL.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(TRI.as_bytes()).unwrap();
        std::fs::write(&p, enc.finish().unwrap()).unwrap();
        let opts = ReadOptions { scale: 0.001, ..Default::default() };
        let s = read_file(&p, &opts).unwrap();
        assert_eq!(s.tris.len(), 1);
        assert_eq!(s.points[1], [1.0, 0.0, 0.0]);
        assert_eq!(s.groups, vec!["t"]);
    }

    #[test]
    fn limits_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.stl");
        std::fs::write(&p, TRI).unwrap();
        let small = ReadOptions { max_bytes: 10, ..Default::default() };
        assert!(matches!(read_file(&p, &small), Err(GeometryError::TooLarge { .. })));
        let few = ReadOptions { max_triangles: 0, ..Default::default() };
        assert!(matches!(read_file(&p, &few), Err(GeometryError::TooLarge { .. })));
        let missing = read_file(&dir.path().join("nope.stl"), &ReadOptions::default());
        assert!(matches!(missing, Err(GeometryError::Io { .. })));
        let e = read_bytes("a.step", b"x", &ReadOptions::default()).unwrap_err();
        assert!(matches!(e, GeometryError::UnknownFormat(_)));
        let bad = ReadOptions { scale: 0.0, ..Default::default() };
        assert!(matches!(read_bytes("a.stl", TRI.as_bytes(), &bad), Err(GeometryError::BadScale(_))));
        let e = read_bytes("a.stl.gz", b"not gzip", &ReadOptions::default()).unwrap_err();
        assert!(matches!(e, GeometryError::Decompress { .. }));
        assert!(e.to_string().contains("compress it again"));
    }

    #[test]
    fn gzip_bomb_is_capped() {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&vec![b' '; 100_000]).unwrap();
        let gz = enc.finish().unwrap();
        let opts = ReadOptions { max_bytes: 50_000, ..Default::default() };
        assert!(matches!(read_bytes("x.obj.gz", &gz, &opts), Err(GeometryError::TooLarge { .. })));
    }
}
