//! STL reader (ASCII and binary). Our own parser because common crates read only the
//! first solid and drop solid names, which we need as OpenFOAM regions.
//!
//! Vertices are not welded here: each facet adds three points; `heal` welds.

use std::io::{BufRead, Read};

use super::read::{read_error, Lines, BOM};
use super::{GeometryError, GroupNames, ReadOptions, Surface};

/// Size of the binary header plus triangle count.
const HEADER: usize = 84;
/// Size of one binary triangle record (normal, 3 vertices, attribute word).
const RECORD: usize = 50;

/// Parses ASCII or binary STL bytes (unscaled).
///
/// A file whose size is exactly `84 + 50 * count` is binary even when its header
/// starts with `solid` (many exporters write that), unless it starts with a UTF-8
/// byte-order mark followed by `solid`, which only text has; otherwise text starting
/// with `solid` is parsed as ASCII.
pub fn parse(bytes: &[u8], opts: &ReadOptions) -> Result<Surface, GeometryError> {
    parse_reader(bytes, bytes.len() as u64, opts)
}

/// As [`parse`], from a stream of `len` bytes (a `.gz` being inflated): only the first
/// KiB is held to decide the flavour, then triangles are read as they come.
pub fn parse_reader<R: BufRead>(mut r: R, len: u64, opts: &ReadOptions) -> Result<Surface, GeometryError> {
    let mut prefix = Vec::with_capacity(PROBE);
    (&mut r).take(PROBE as u64).read_to_end(&mut prefix).map_err(read_error)?;
    if prefix.iter().all(|b| b.is_ascii_whitespace()) && len == prefix.len() as u64 {
        return Err(GeometryError::Empty);
    }
    let input = std::io::Cursor::new(&prefix[..]).chain(r);
    if prefix.starts_with(BOM) && looks_ascii(&prefix[BOM.len()..]) {
        return parse_ascii(input, opts);
    }
    let header_count =
        (prefix.len() >= HEADER).then(|| u32::from_le_bytes([prefix[80], prefix[81], prefix[82], prefix[83]]) as u64);
    if let Some(n) = header_count {
        if len == HEADER as u64 + RECORD as u64 * n {
            return parse_binary(input, n as usize, opts);
        }
    }
    // The size does not fit a binary file: text is read as text whatever its start.
    if looks_ascii(&prefix) || prefix.iter().all(|b| b.is_ascii_whitespace()) {
        return parse_ascii(input, opts);
    }
    // Shorter than a binary header, it is more likely a cut binary file than text.
    if let Some(word) = text_word(&prefix).filter(|_| prefix.len() >= HEADER) {
        return Err(GeometryError::Malformed {
            line: 1,
            msg: format!("an ASCII STL starts with 'solid', this text starts with '{word}'"),
        });
    }
    // Not text and the size does not fit the header: say which way it is off.
    match header_count {
        None => Err(GeometryError::Truncated {
            detail: format!("the file has {len} bytes, fewer than the 84-byte binary STL header"),
        }),
        Some(n) => {
            let expected = HEADER as u64 + RECORD as u64 * n;
            let found = (len - HEADER as u64) / RECORD as u64;
            if len < expected {
                Err(GeometryError::Truncated {
                    detail: format!("binary STL header says {n} triangles but the file holds bytes for {found}"),
                })
            } else {
                Err(GeometryError::CountMismatch { header: n, expected_bytes: expected, actual_bytes: len })
            }
        }
    }
}

/// How much of the start decides between ASCII and binary.
const PROBE: usize = 1024;

/// ASCII STL starts with `solid` and has no NUL/control bytes near the start; binary
/// headers that start with `solid` almost always have binary floats soon after.
fn looks_ascii(bytes: &[u8]) -> bool {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(0);
    let rest = &bytes[start..];
    if rest.len() < 5 || !rest[..5].eq_ignore_ascii_case(b"solid") {
        return false;
    }
    let probe = &rest[..rest.len().min(PROBE)];
    probe.iter().all(|&b| b >= 0x20 || b == b'\n' || b == b'\r' || b == b'\t')
}

/// The first word of `prefix` when it is plain text (printable ASCII and line ends only).
fn text_word(prefix: &[u8]) -> Option<String> {
    let text = prefix.strip_prefix(BOM).unwrap_or(prefix);
    let printable = text.iter().all(|&b| (0x20..0x7f).contains(&b) || matches!(b, b'\n' | b'\r' | b'\t'));
    let word = text.split(|b| b.is_ascii_whitespace()).find(|w| !w.is_empty())?;
    printable.then(|| String::from_utf8_lossy(&word[..word.len().min(40)]).into_owned())
}

fn parse_binary<R: Read>(mut r: R, n: usize, opts: &ReadOptions) -> Result<Surface, GeometryError> {
    if n == 0 {
        return Err(GeometryError::Empty);
    }
    if n > opts.tri_limit() {
        return Err(GeometryError::TooLarge {
            what: format!("the triangle count ({n})"),
            limit: opts.tri_limit() as u64,
        });
    }
    let mut s = Surface {
        points: Vec::with_capacity(3 * n),
        tris: Vec::with_capacity(n),
        tri_group: vec![0; n],
        groups: vec!["body".to_string()],
    };
    let mut header = [0u8; HEADER];
    r.read_exact(&mut header).map_err(read_error)?;
    let mut rec = [0u8; RECORD];
    for t in 0..n {
        r.read_exact(&mut rec).map_err(read_error)?;
        let base = s.points.len() as u32;
        for v in 0..3 {
            let mut p = [0.0f64; 3];
            for (c, pc) in p.iter_mut().enumerate() {
                let o = 12 + 12 * v + 4 * c;
                *pc = f32::from_le_bytes([rec[o], rec[o + 1], rec[o + 2], rec[o + 3]]) as f64;
            }
            if p.iter().any(|c| !c.is_finite()) {
                return Err(GeometryError::NonFinite { location: format!("triangle {}", t + 1) });
            }
            s.points.push(p);
        }
        s.tris.push([base, base + 1, base + 2]);
    }
    Ok(s)
}

/// Where the ASCII parser is inside the `solid`/`facet` nesting.
#[derive(PartialEq)]
enum State {
    Outside,
    InSolid,
    InFacet,
}

fn parse_ascii<R: BufRead>(r: R, opts: &ReadOptions) -> Result<Surface, GeometryError> {
    let mut lines = Lines::new(r);
    let mut s = Surface::default();
    let mut names = GroupNames::default();
    let mut state = State::Outside;
    // Groups are created at the first facet of a solid, so empty solids vanish.
    let mut solid_name = String::new();
    let mut group: Option<u32> = None;
    let mut facet: Vec<[f64; 3]> = Vec::with_capacity(3);
    let bad = |line: usize, msg: &str| GeometryError::Malformed { line, msg: msg.to_string() };

    while let Some((line, raw)) = lines.next_line()? {
        let mut tok = raw.split_whitespace();
        let Some(key) = tok.next() else { continue };
        match key.to_ascii_lowercase().as_str() {
            "solid" => {
                if state == State::InFacet {
                    return Err(bad(line, "'solid' inside a facet (missing 'endfacet')"));
                }
                // A missing 'endsolid' before the next 'solid' is tolerated.
                state = State::InSolid;
                let name = raw.trim().get(5..).unwrap_or("").trim();
                solid_name = if name.is_empty() { "solid".into() } else { name.into() };
                group = None;
            }
            "facet" => {
                match state {
                    State::Outside => return Err(bad(line, "'facet' outside a 'solid'")),
                    State::InFacet => return Err(bad(line, "'facet' inside a facet (missing 'endfacet')")),
                    State::InSolid => {}
                }
                state = State::InFacet;
                facet.clear();
            }
            "outer" | "endloop" => {
                if state != State::InFacet {
                    return Err(bad(line, &format!("'{key}' outside a facet")));
                }
            }
            "vertex" => {
                if state != State::InFacet {
                    return Err(bad(line, "'vertex' outside a facet"));
                }
                if facet.len() == 3 {
                    return Err(bad(line, "a facet has more than 3 vertices"));
                }
                let mut p = [0.0f64; 3];
                for c in p.iter_mut() {
                    let t = tok.next().ok_or_else(|| bad(line, "'vertex' needs 3 coordinates"))?;
                    *c = t.parse().map_err(|_| bad(line, &format!("'{t}' is not a number")))?;
                }
                if p.iter().any(|c| !c.is_finite()) {
                    return Err(GeometryError::NonFinite { location: format!("line {line}") });
                }
                facet.push(p);
            }
            "endfacet" => {
                if state != State::InFacet {
                    return Err(bad(line, "'endfacet' without 'facet'"));
                }
                if facet.len() != 3 {
                    return Err(bad(line, &format!("a facet has {} vertices instead of 3", facet.len())));
                }
                if s.tris.len() >= opts.tri_limit() {
                    return Err(opts.too_many_tris());
                }
                let g = *group.get_or_insert_with(|| names.add(&solid_name));
                let base = s.points.len() as u32;
                s.points.extend_from_slice(&facet);
                s.tris.push([base, base + 1, base + 2]);
                s.tri_group.push(g);
                state = State::InSolid;
            }
            "endsolid" => {
                if state == State::InFacet {
                    return Err(bad(line, "'endsolid' inside a facet (missing 'endfacet')"));
                }
                state = State::Outside;
            }
            other => return Err(bad(line, &format!("unexpected keyword '{other}'"))),
        }
    }
    if state == State::InFacet {
        return Err(GeometryError::Truncated {
            detail: format!("the ASCII STL ends inside a facet at line {}", lines.line()),
        });
    }
    if s.tris.is_empty() {
        return Err(GeometryError::Empty);
    }
    s.groups = names.into_names();
    Ok(s)
}

/// Encodes a surface as binary STL (single solid; group names are lost, as the
/// format has no place for them). Used by tests and by callers that need binary output.
pub fn to_binary(s: &Surface) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + RECORD * s.tris.len());
    let mut header = [b' '; 80];
    header[..15].copy_from_slice(b"FlowCFD surface");
    out.extend_from_slice(&header);
    out.extend_from_slice(&(s.tris.len() as u32).to_le_bytes());
    for t in &s.tris {
        let [a, b, c] = t.map(|i| s.points[i as usize]);
        let n = super::analyse::unit_normal(a, b, c);
        for v in [n, a, b, c] {
            for x in v {
                out.extend_from_slice(&(x as f32).to_le_bytes());
            }
        }
        out.extend_from_slice(&[0, 0]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn opts() -> ReadOptions {
        ReadOptions::default()
    }

    const TWO: &str = "solid wing\r\n  facet normal 0 0 1\r\n    outer loop\r\n      vertex 0 0 0\r\n      vertex 1 0 0\r\n      vertex 0 1 0\r\n    endloop\r\n  endfacet\r\nendsolid wing\r\n\
        solid\n facet normal 0 0 0\n outer loop\n vertex 0 0 1\n vertex 1   0 1\n\tvertex 0 1 1.5e0\n endloop\n endfacet\n\
        facet normal 0 0 0\n outer loop\n vertex 0 0 2\n vertex 1 0 2\n vertex 0 1 2\n endloop\n endfacet\nendsolid\n\
        solid empty\nendsolid empty\n";

    #[test]
    fn ascii_two_solids_two_groups() {
        let s = parse(TWO.as_bytes(), &opts()).unwrap();
        assert_eq!(s.groups, vec!["wing", "solid"]);
        assert_eq!(s.tris.len(), 3);
        assert_eq!(s.tri_group, vec![0, 1, 1]);
        assert_eq!(s.points.len(), 9);
        assert_eq!(s.points[5], [0.0, 1.0, 1.5]);
    }

    #[test]
    fn unnamed_solids_get_unique_names() {
        let one = "solid\nfacet normal 0 0 0\nouter loop\nvertex 0 0 0\nvertex 1 0 0\nvertex 0 1 0\nendloop\nendfacet\nendsolid\n";
        let s = parse(format!("{one}{one}").as_bytes(), &opts()).unwrap();
        assert_eq!(s.groups, vec!["solid", "solid_2"]);
    }

    #[test]
    fn binary_round_trip() {
        let a = parse(TWO.as_bytes(), &opts()).unwrap();
        let bin = to_binary(&a);
        assert_eq!(bin.len(), 84 + 50 * 3);
        let b = parse(&bin, &opts()).unwrap();
        assert_eq!(b.groups, vec!["body"]);
        assert_eq!(b.points, a.points);
        assert_eq!(b.tris, a.tris);
    }

    #[test]
    fn binary_with_solid_header_is_binary() {
        let a = parse(TWO.as_bytes(), &opts()).unwrap();
        let mut bin = to_binary(&a);
        bin[..6].copy_from_slice(b"solid ");
        assert_eq!(parse(&bin, &opts()).unwrap().tris.len(), 3);
    }

    #[test]
    fn truncated_binary() {
        let a = parse(TWO.as_bytes(), &opts()).unwrap();
        let bin = to_binary(&a);
        let e = parse(&bin[..bin.len() - 20], &opts()).unwrap_err();
        assert!(matches!(e, GeometryError::Truncated { .. }), "{e}");
        assert!(e.to_string().contains("header says 3 triangles but the file holds bytes for 2"), "{e}");
        let mut long = bin.clone();
        long.extend_from_slice(&[1; 7]);
        assert!(matches!(parse(&long, &opts()), Err(GeometryError::CountMismatch { header: 3, .. })));
        assert!(matches!(parse(&bin[..40], &opts()), Err(GeometryError::Truncated { .. })));
    }

    #[test]
    fn bom_and_crlf_ascii_is_ascii() {
        let text = format!("\u{feff}{}", TWO.replace('\n', "\r\n").replace("\r\r\n", "\r\n"));
        let s = parse(text.as_bytes(), &opts()).unwrap();
        assert_eq!(s.groups, vec!["wing", "solid"]);
        assert_eq!(s.tris.len(), 3);
    }

    #[test]
    fn text_that_is_not_stl_says_so() {
        let e = parse("facet normal 0 0 1\nouter loop\n".repeat(5).as_bytes(), &opts()).unwrap_err().to_string();
        assert!(e.contains("starts with 'solid'") && e.contains("'facet'"), "{e}");
    }

    #[test]
    fn nan_is_rejected() {
        let t = TWO.replace("vertex 1 0 0", "vertex nan 0 0");
        assert!(matches!(parse(t.as_bytes(), &opts()), Err(GeometryError::NonFinite { .. })));
        let t = TWO.replace("vertex 1 0 0", "vertex 1 inf 0");
        assert!(matches!(parse(t.as_bytes(), &opts()), Err(GeometryError::NonFinite { .. })));
        let mut bin = to_binary(&parse(TWO.as_bytes(), &opts()).unwrap());
        bin[84 + 12..84 + 16].copy_from_slice(&f32::NAN.to_le_bytes());
        let e = parse(&bin, &opts()).unwrap_err();
        assert!(e.to_string().starts_with("triangle 1 "), "{e}");
    }

    #[test]
    fn empty_inputs() {
        assert!(matches!(parse(b"", &opts()), Err(GeometryError::Empty)));
        assert!(matches!(parse(b" \n", &opts()), Err(GeometryError::Empty)));
        assert!(matches!(parse(b"solid x\nendsolid x\n", &opts()), Err(GeometryError::Empty)));
        let mut bin = vec![0u8; 84];
        bin[..5].copy_from_slice(b"solid");
        assert!(matches!(parse(&bin, &opts()), Err(GeometryError::Empty)));
    }

    #[test]
    fn malformed_ascii_reports_line() {
        let t = TWO.replace("vertex 1 0 0", "vertex 1 zero 0");
        match parse(t.as_bytes(), &opts()) {
            Err(GeometryError::Malformed { line, .. }) => assert_eq!(line, 5),
            other => panic!("{other:?}"),
        }
        let cut = &TWO[..TWO.find("endloop").unwrap()];
        assert!(matches!(parse(cut.as_bytes(), &opts()), Err(GeometryError::Truncated { .. })));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = crate::geometry::read_bytes("x.stl", &bytes, &opts());
        }

        #[test]
        fn arbitrary_binary_like_never_panics(n in 0u32..6, body in proptest::collection::vec(any::<u8>(), 0..400)) {
            let mut bytes = b"solid ".to_vec();
            bytes.resize(80, b' ');
            bytes.extend_from_slice(&n.to_le_bytes());
            bytes.extend_from_slice(&body);
            let _ = crate::geometry::read_bytes("x.stl", &bytes, &opts());
        }

        #[test]
        fn arbitrary_ascii_never_panics(lines in proptest::collection::vec(
            "(solid|facet normal|outer loop|vertex|endloop|endfacet|endsolid)( -?[0-9.e]{0,4}){0,4}", 0..30)) {
            let _ = crate::geometry::read_bytes("x.stl", lines.join("\n").as_bytes(), &opts());
        }
    }
}
