//! Reading a surface file: the format from the name, `.gz` inflated as a stream under a
//! separate cap, the text read line by line, the scale applied and the size checked.
//!
//! Nothing here holds an inflated file whole: a `.gz` is inflated once to measure it
//! (into nothing) and once more straight into the parser, so a decompression bomb costs
//! CPU time up to the cap, never memory.

use std::borrow::Cow;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use super::{obj, stl, GeometryError, ReadOptions, Surface};

/// Longest text line accepted; a longer one is no STL or OBJ line a CAD tool writes.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// The UTF-8 byte-order mark some Windows tools put before text.
pub(crate) const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Smallest and largest geometry accepted, metres (largest bounding-box side after scaling).
pub const SIZE_RANGE_M: (f64, f64) = (1e-6, 1e5);

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
    let mut s = if gz {
        let limit = opts.inflated_limit(bytes.len() as u64);
        let len = inflated_len(name_hint, bytes, limit)?;
        let inflated = Capped::new(flate2::read::MultiGzDecoder::new(bytes), limit);
        let r = BufReader::with_capacity(1 << 16, inflated);
        if ext == "stl" {
            stl::parse_reader(r, len, opts)?
        } else {
            obj::parse_reader(r, opts)?
        }
    } else if ext == "stl" {
        stl::parse(bytes, opts)?
    } else {
        obj::parse(bytes, opts)?
    };
    apply_scale(&mut s, opts.scale)?;
    check_size(&s)?;
    Ok(s)
}

/// Inflates `bytes` into nothing to measure them, stopping at `limit`.
fn inflated_len(name: &str, bytes: &[u8], limit: u64) -> Result<u64, GeometryError> {
    let mut r = Capped::new(flate2::read::MultiGzDecoder::new(bytes), limit);
    match std::io::copy(&mut r, &mut std::io::sink()) {
        Ok(n) => Ok(n),
        Err(_) if r.over => Err(GeometryError::TooLarge {
            what: format!("the decompressed size of {name} (more than {limit} bytes, from {} compressed)", bytes.len()),
            limit,
        }),
        Err(e) => Err(GeometryError::Decompress { name: name.to_string(), msg: e.to_string() }),
    }
}

/// A reader that fails once more than `limit` bytes came through it.
struct Capped<R> {
    inner: R,
    left: u64,
    over: bool,
}

impl<R> Capped<R> {
    fn new(inner: R, limit: u64) -> Self {
        Capped { inner, left: limit, over: false }
    }
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // Ask for one byte more than allowed, so reaching the limit exactly is not "over".
        let want = buf.len().min(self.left.saturating_add(1).min(usize::MAX as u64) as usize);
        let n = self.inner.read(&mut buf[..want])?;
        if n as u64 > self.left {
            self.over = true;
            return Err(std::io::Error::other("decompressed size limit reached"));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Maps a read failure of the (possibly inflating) input to a user-facing error.
pub(crate) fn read_error(e: std::io::Error) -> GeometryError {
    GeometryError::Decompress { name: "the file".into(), msg: e.to_string() }
}

/// Text lines from a reader, without their `\n` or `\r\n`, the byte-order mark dropped
/// from the first, each at most [`MAX_LINE_BYTES`] long. Invalid UTF-8 is replaced, as
/// names are the only text and they are sanitized anyway.
pub(crate) struct Lines<R> {
    r: R,
    buf: Vec<u8>,
    line: usize,
}

impl<R: BufRead> Lines<R> {
    pub(crate) fn new(r: R) -> Self {
        Lines { r, buf: Vec::new(), line: 0 }
    }

    /// The next line and its 1-based number, or `None` at the end.
    pub(crate) fn next_line(&mut self) -> Result<Option<(usize, Cow<'_, str>)>, GeometryError> {
        self.buf.clear();
        let n = (&mut self.r).take(MAX_LINE_BYTES as u64 + 1).read_until(b'\n', &mut self.buf).map_err(read_error)?;
        if n == 0 {
            return Ok(None);
        }
        self.line += 1;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
            if self.buf.last() == Some(&b'\r') {
                self.buf.pop();
            }
        } else if self.buf.len() > MAX_LINE_BYTES {
            return Err(GeometryError::Malformed {
                line: self.line,
                msg: format!("the line is longer than {} bytes, so this is not a text surface file", MAX_LINE_BYTES),
            });
        }
        let mut text = &self.buf[..];
        if self.line == 1 {
            text = text.strip_prefix(BOM).unwrap_or(text);
        }
        Ok(Some((self.line, String::from_utf8_lossy(text))))
    }

    /// The number of the last line read.
    pub(crate) fn line(&self) -> usize {
        self.line
    }
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

/// The largest side of the bounding box of the points the triangles use, metres.
pub fn size_of(s: &Surface) -> f64 {
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [f64::NEG_INFINITY; 3];
    for &i in s.tris.iter().flatten() {
        if let Some(p) = s.points.get(i as usize) {
            for k in 0..3 {
                lo[k] = lo[k].min(p[k]);
                hi[k] = hi[k].max(p[k]);
            }
        }
    }
    (0..3).map(|k| hi[k] - lo[k]).fold(0.0, f64::max)
}

/// Refuses a geometry smaller than a micrometre or larger than 100 km: either is a wrong
/// unit scale, and meshing it would make cells no solver can use.
pub fn check_size(s: &Surface) -> Result<(), GeometryError> {
    check_size_value(size_of(s))
}

/// As [`check_size`], for a size already measured (metres).
pub fn check_size_value(size: f64) -> Result<(), GeometryError> {
    let (lo, hi) = SIZE_RANGE_M;
    if size.is_finite() && (lo..=hi).contains(&size) {
        return Ok(());
    }
    Err(GeometryError::OutOfRange {
        field: "geometry size (largest bounding-box side, after scaling)".into(),
        value: format!("{size:e} m"),
        range: "1e-6 m (1 µm) to 1e5 m (100 km)".into(),
        hint: "check the unit scale: 0.001 reads a file drawn in millimetres as metres".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_strip_ends_and_bom_and_cap_length() {
        let text = b"\xEF\xBB\xBFsolid a\r\nfacet\n\nlast";
        let mut l = Lines::new(&text[..]);
        let mut got = Vec::new();
        while let Some((n, t)) = l.next_line().unwrap() {
            got.push((n, t.into_owned()));
        }
        assert_eq!(got, vec![(1, "solid a".into()), (2, "facet".into()), (3, String::new()), (4, "last".into())]);
        let long = vec![b'x'; MAX_LINE_BYTES + 10];
        let e = Lines::new(&long[..]).next_line().unwrap_err();
        assert!(matches!(e, GeometryError::Malformed { line: 1, .. }), "{e}");
    }

    #[test]
    fn capped_reader_stops_past_the_limit() {
        let data = vec![7u8; 100];
        let mut r = Capped::new(&data[..], 100);
        assert_eq!(std::io::copy(&mut r, &mut std::io::sink()).unwrap(), 100);
        let mut r = Capped::new(&data[..], 99);
        assert!(std::io::copy(&mut r, &mut std::io::sink()).is_err());
        assert!(r.over);
    }

    #[test]
    fn size_limits() {
        assert!(check_size_value(1.0).is_ok());
        assert!(check_size_value(1e-6).is_ok() && check_size_value(1e5).is_ok());
        let e = check_size_value(1e30).unwrap_err().to_string();
        assert!(e.contains("1e30 m") && e.contains("100 km") && e.contains("geometry size"), "{e}");
        assert!(check_size_value(5e-7).is_err());
        assert!(check_size_value(f64::NAN).is_err());
    }
}
