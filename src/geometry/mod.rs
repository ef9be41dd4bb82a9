//! Surface geometry: readers, healing, analysis. Pure functions (readers take bytes).
//!
//! The pipeline is `read_bytes`/`read_file` → [`heal::heal`] → [`analyse::analyse`] /
//! [`query::Locator`] → [`write`](mod@write). Readers never weld vertices; healing does, so every
//! reader stays a thin, testable translation of its format.

pub mod ahmed;
pub mod analyse;
pub mod heal;
pub mod names;
pub mod obj;
pub mod primitives;
pub mod profile;
pub mod query;
pub mod read;
pub mod stl;
pub mod write;

pub(crate) use names::GroupNames;
pub use names::{sanitize_group_name, GroupRename, RESERVED_GROUP_NAMES};
pub use read::{read_bytes, read_file};

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
    /// A value is outside the range a physical model can have.
    #[error("{field} = {value} is outside the accepted range {range}: {hint}")]
    OutOfRange {
        /// What was measured.
        field: String,
        /// The value, with its unit.
        value: String,
        /// The accepted range, with units.
        range: String,
        /// What to do about it.
        hint: String,
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
    /// Largest file accepted (compressed, for a `.gz`), in bytes.
    pub max_bytes: u64,
    /// Largest number of triangles accepted (polygons count after triangulation).
    pub max_triangles: usize,
    /// Largest decompressed size of a `.gz`, in bytes; see [`ReadOptions::inflated_limit`]
    /// for the other bounds that apply with it.
    pub max_inflated_bytes: u64,
}

/// Default cap on a decompressed `.gz` (2 GiB).
pub const DEFAULT_MAX_INFLATED_BYTES: u64 = 2 << 30;

/// Bytes an ASCII STL spends on one facet (seven lines of text, about 250 bytes): the
/// triangle limit times this bounds any honest decompressed file.
pub const TEXT_BYTES_PER_TRIANGLE: u64 = 256;

/// Largest ratio of decompressed to compressed size accepted beyond the first MiB.
/// Surface files compress 3 to 10 times; Apache POI refuses zip entries past 100× for the
/// same reason (`ZipSecureFile`'s minimum inflate ratio of 0.01).
pub const MAX_INFLATE_RATIO: u64 = 100;

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            scale: 1.0,
            max_bytes: 1 << 30,
            max_triangles: 20_000_000,
            max_inflated_bytes: DEFAULT_MAX_INFLATED_BYTES,
        }
    }
}

impl ReadOptions {
    /// How many bytes a `.gz` of `compressed` bytes may inflate to: the smallest of
    /// `max_inflated_bytes`, the triangle limit times [`TEXT_BYTES_PER_TRIANGLE`], and
    /// [`MAX_INFLATE_RATIO`] times the compressed size (at least 1 MiB).
    pub fn inflated_limit(&self, compressed: u64) -> u64 {
        let by_ratio = compressed.saturating_mul(MAX_INFLATE_RATIO).max(1 << 20);
        let by_tris = (self.tri_limit() as u64).saturating_mul(TEXT_BYTES_PER_TRIANGLE);
        self.max_inflated_bytes.min(by_tris).min(by_ratio)
    }

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

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
        let opts = ReadOptions { max_inflated_bytes: 50_000, ..Default::default() };
        let e = read_bytes("x.obj.gz", &gz, &opts).unwrap_err();
        assert!(matches!(e, GeometryError::TooLarge { limit: 50_000, .. }), "{e}");
        assert!(e.to_string().contains("decompressed size"), "{e}");
        // Within the cap the same file is read (and holds no triangles).
        let roomy = ReadOptions { max_inflated_bytes: 100_000, ..Default::default() };
        assert!(matches!(read_bytes("x.obj.gz", &gz, &roomy), Err(GeometryError::Empty)));
    }

    /// 1 MiB of zeros compresses to about 1 KiB: far past the 100× ratio, so a small bomb
    /// is refused after inflating about 1 MiB, whatever the configured cap.
    #[test]
    fn inflate_ratio_bounds_small_bombs() {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&vec![0u8; 4 << 20]).unwrap();
        let gz = enc.finish().unwrap();
        assert!(gz.len() < 40 << 10, "{}", gz.len());
        let e = read_bytes("bomb.stl.gz", &gz, &ReadOptions::default()).unwrap_err();
        assert!(matches!(e, GeometryError::TooLarge { limit, .. } if limit == 1 << 20), "{e}");
        let o = ReadOptions::default();
        assert_eq!(o.inflated_limit(1 << 30), DEFAULT_MAX_INFLATED_BYTES);
        let few = ReadOptions { max_triangles: 1000, ..Default::default() };
        assert_eq!(few.inflated_limit(1 << 30), 1000 * TEXT_BYTES_PER_TRIANGLE);
    }
}
