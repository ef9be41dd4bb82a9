//! OpenFOAM results without VTK: `constant/polyMesh` (points, faces, owner, neighbour,
//! boundary) and `volScalarField` / `volVectorField` files, in ascii or binary
//! (`arch "LSB;label=32|64;scalar=64|32"`), uniform or nonuniform, plain or `.gz`, from a
//! reconstructed case or from its `processor*/` directories (merged back into the global
//! mesh with decomposePar's `*ProcAddressing`).
use super::PostError;
use flate2::read::GzDecoder;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A boundary patch of the mesh: faces `start..start + size`.
#[derive(Debug, Clone, PartialEq)]
pub struct Patch {
    pub name: String,
    /// `patch`, `wall`, `empty`, `symmetryPlane`, `processor`, ...
    pub kind: String,
    pub groups: Vec<String>,
    pub start: usize,
    pub size: usize,
}

/// An OpenFOAM polyMesh: faces as a compact list, owner and neighbour per face.
#[derive(Debug, Clone, Default)]
pub struct PolyMesh {
    pub points: Vec<[f64; 3]>,
    /// Offsets into `face_points`, one more than there are faces.
    pub face_offsets: Vec<usize>,
    pub face_points: Vec<u32>,
    pub owner: Vec<u32>,
    /// One per internal face; internal faces come first.
    pub neighbour: Vec<u32>,
    pub n_cells: usize,
    pub patches: Vec<Patch>,
}

impl PolyMesh {
    pub fn n_faces(&self) -> usize {
        self.face_offsets.len() - 1
    }
    pub fn n_internal(&self) -> usize {
        self.neighbour.len()
    }
    pub fn face(&self, f: usize) -> &[u32] {
        &self.face_points[self.face_offsets[f]..self.face_offsets[f + 1]]
    }
}

/// Values of one field, per cell or per face.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    Scalar(Vec<f64>),
    Vector(Vec<[f64; 3]>),
}

impl Values {
    pub fn len(&self) -> usize {
        match self {
            Values::Scalar(v) => v.len(),
            Values::Vector(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn is_vector(&self) -> bool {
        matches!(self, Values::Vector(_))
    }
}

/// A volume field: cell values, and per patch the face values when the file stores them
/// (`value` entries); a patch without them (zeroGradient, empty) is `None`.
#[derive(Debug, Clone)]
pub struct VolField {
    pub name: String,
    pub cells: Values,
    pub patches: Vec<Option<Values>>,
}

/// What the `FoamFile` header says about the body.
#[derive(Debug, Clone)]
struct Header {
    class: String,
    binary: bool,
    label64: bool,
    scalar32: bool,
}

/// Reads a file, or its `.gz` sibling, whole.
pub(crate) fn read_maybe_gz(path: &Path) -> Result<Vec<u8>, PostError> {
    let io = |p: &Path, e: std::io::Error| PostError::Io { path: p.display().to_string(), source: e };
    let gz = if path.extension().is_some_and(|e| e == "gz") {
        path.to_path_buf()
    } else {
        PathBuf::from(format!("{}.gz", path.display()))
    };
    if path.is_file() && gz != path {
        return std::fs::read(path).map_err(|e| io(path, e));
    }
    if gz.is_file() {
        let raw = std::fs::read(&gz).map_err(|e| io(&gz, e))?;
        let mut out = Vec::with_capacity(raw.len() * 4);
        GzDecoder::new(&raw[..]).read_to_end(&mut out).map_err(|e| io(&gz, e))?;
        return Ok(out);
    }
    Err(PostError::Missing(format!("{} (nor {}.gz)", path.display(), path.display())))
}

/// A cursor over one OpenFOAM file.
struct Src<'a> {
    b: &'a [u8],
    i: usize,
    path: &'a Path,
    h: Header,
}

fn is_delim(c: u8) -> bool {
    c.is_ascii_whitespace() || matches!(c, b'(' | b')' | b'{' | b'}' | b';' | b'[' | b']' | b'"')
}

impl<'a> Src<'a> {
    fn new(b: &'a [u8], path: &'a Path) -> Result<Self, PostError> {
        let mut s =
            Src { b, i: 0, path, h: Header { class: String::new(), binary: false, label64: false, scalar32: false } };
        s.header()?;
        Ok(s)
    }

    fn err(&self, what: impl std::fmt::Display) -> PostError {
        let line = 1 + self.b[..self.i.min(self.b.len())].iter().filter(|&&c| c == b'\n').count();
        PostError::Parse { path: self.path.display().to_string(), line, what: what.to_string() }
    }

    fn skip_ws(&mut self) {
        let b = self.b;
        loop {
            while self.i < b.len() && b[self.i].is_ascii_whitespace() {
                self.i += 1;
            }
            if b[self.i..].starts_with(b"//") {
                while self.i < b.len() && b[self.i] != b'\n' {
                    self.i += 1;
                }
            } else if b[self.i..].starts_with(b"/*") {
                match b[self.i + 2..].windows(2).position(|w| w == b"*/") {
                    Some(p) => self.i += p + 4,
                    None => self.i = b.len(),
                }
            } else {
                return;
            }
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.b.get(self.i).copied()
    }

    fn eof(&mut self) -> bool {
        self.peek().is_none()
    }

    /// The next token: a punctuation byte, a quoted string (quotes kept out), or a word.
    fn token(&mut self) -> Result<&'a [u8], PostError> {
        self.skip_ws();
        let b = self.b;
        let start = self.i;
        match b.get(start) {
            None => Err(self.err("unexpected end of file")),
            Some(b'"') => {
                let end =
                    b[start + 1..].iter().position(|&c| c == b'"').ok_or_else(|| self.err("unterminated string"))?;
                self.i = start + 2 + end;
                Ok(&b[start + 1..start + 1 + end])
            }
            Some(&c) if is_delim(c) => {
                self.i += 1;
                Ok(&b[start..start + 1])
            }
            Some(_) => {
                // A word may hold brackets: div(phi,U). A count never does: 3(...) is two
                // tokens, and a binary list body follows its '('.
                let ident = b[start].is_ascii_alphabetic();
                let mut depth = 0i32;
                while self.i < b.len() {
                    let c = b[self.i];
                    if c == b'(' && ident {
                        depth += 1;
                    } else if c == b')' && depth > 0 {
                        depth -= 1;
                    } else if is_delim(c) && depth == 0 {
                        break;
                    }
                    self.i += 1;
                }
                Ok(&b[start..self.i])
            }
        }
    }

    fn word(&mut self) -> Result<String, PostError> {
        Ok(String::from_utf8_lossy(self.token()?).into_owned())
    }

    fn expect(&mut self, c: u8) -> Result<(), PostError> {
        match self.peek() {
            Some(x) if x == c => {
                self.i += 1;
                Ok(())
            }
            Some(x) => Err(self.err(format!("expected '{}', found '{}'", c as char, x as char))),
            None => Err(self.err(format!("expected '{}', found the end of the file", c as char))),
        }
    }

    /// A bare number token (no punctuation), as bytes.
    fn number_token(&mut self) -> Result<&'a [u8], PostError> {
        self.skip_ws();
        let b = self.b;
        let start = self.i;
        while self.i < b.len() && !is_delim(b[self.i]) {
            self.i += 1;
        }
        if self.i == start {
            return Err(self.err("expected a number"));
        }
        Ok(&b[start..self.i])
    }

    fn label(&mut self) -> Result<usize, PostError> {
        let t = self.number_token()?;
        let mut v: usize = 0;
        for &c in t {
            if !c.is_ascii_digit() {
                return Err(self.err(format!("expected a count, found '{}'", String::from_utf8_lossy(t))));
            }
            v = v
                .checked_mul(10)
                .and_then(|v| v.checked_add((c - b'0') as usize))
                .ok_or_else(|| self.err("count overflows"))?;
        }
        Ok(v)
    }

    fn scalar(&mut self) -> Result<f64, PostError> {
        let t = self.number_token()?;
        // SAFETY-free: number tokens are ASCII; from_utf8 only fails on garbage, which errs.
        std::str::from_utf8(t)
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .ok_or_else(|| self.err(format!("expected a number, found '{}'", String::from_utf8_lossy(t))))
    }

    fn vector(&mut self) -> Result<[f64; 3], PostError> {
        self.expect(b'(')?;
        let v = [self.scalar()?, self.scalar()?, self.scalar()?];
        self.expect(b')')?;
        Ok(v)
    }

    fn header(&mut self) -> Result<(), PostError> {
        loop {
            if self.eof() {
                return Err(self.err("no FoamFile header"));
            }
            if self.token()? == b"FoamFile" {
                break;
            }
        }
        self.expect(b'{')?;
        while self.peek() != Some(b'}') {
            let key = self.word()?;
            let mut val = String::new();
            loop {
                let t = self.token()?;
                if t == b";" {
                    break;
                }
                if !val.is_empty() {
                    val.push(' ');
                }
                val.push_str(&String::from_utf8_lossy(t));
            }
            match key.as_str() {
                "format" => self.h.binary = val == "binary",
                "class" => self.h.class = val,
                "arch" => {
                    self.h.label64 = val.contains("label=64");
                    self.h.scalar32 = val.contains("scalar=32");
                }
                _ => {}
            }
        }
        self.expect(b'}')
    }

    fn scalar_size(&self) -> usize {
        if self.h.scalar32 {
            4
        } else {
            8
        }
    }

    fn label_size(&self) -> usize {
        if self.h.label64 {
            8
        } else {
            4
        }
    }

    /// `n` raw bytes of a binary list body, after its `(`.
    fn raw(&mut self, n: usize) -> Result<&'a [u8], PostError> {
        let end = self
            .i
            .checked_add(n)
            .filter(|&e| e <= self.b.len())
            .ok_or_else(|| self.err("binary list runs past the end"))?;
        let s = &self.b[self.i..end];
        self.i = end;
        Ok(s)
    }

    fn raw_scalars(&mut self, count: usize) -> Result<Vec<f64>, PostError> {
        let sz = self.scalar_size();
        let raw = self.raw(count * sz)?;
        Ok(if sz == 8 {
            raw.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect()
        } else {
            raw.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap()) as f64).collect()
        })
    }

    fn raw_labels(&mut self, count: usize) -> Result<Vec<i64>, PostError> {
        let sz = self.label_size();
        let raw = self.raw(count * sz)?;
        Ok(if sz == 8 {
            raw.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap())).collect()
        } else {
            raw.chunks_exact(4).map(|c| i32::from_le_bytes(c.try_into().unwrap()) as i64).collect()
        })
    }

    /// A list of `count` items of `width` scalars each: `N(...)`, `N{v}` or (ascii) `(...)`.
    fn scalar_list(&mut self, width: usize) -> Result<Vec<f64>, PostError> {
        let counted = self.peek().is_some_and(|c| c.is_ascii_digit());
        let n = if counted { Some(self.label()?) } else { None };
        match (self.peek(), n) {
            // A binary file writes an empty list as a bare `0`.
            (Some(c), Some(0)) if c != b'(' && c != b'{' => Ok(Vec::new()),
            (Some(b'{'), Some(n)) => {
                self.i += 1;
                let one = if width == 1 { vec![self.scalar()?] } else { self.vector()?.to_vec() };
                self.expect(b'}')?;
                Ok(one.iter().copied().cycle().take(n * width).collect())
            }
            (Some(b'('), Some(n)) if self.h.binary => {
                self.i += 1;
                let v = self.raw_scalars(n * width)?;
                self.expect(b')')?;
                Ok(v)
            }
            (Some(b'('), _) => {
                self.i += 1;
                let mut v = Vec::with_capacity(n.unwrap_or(16) * width);
                while self.peek() != Some(b')') {
                    if width == 1 {
                        v.push(self.scalar()?);
                    } else {
                        v.extend(self.vector()?);
                    }
                }
                self.i += 1;
                if let Some(n) = n.filter(|&n| n * width != v.len()) {
                    return Err(self.err(format!("the list says {n} items but holds {}", v.len() / width)));
                }
                Ok(v)
            }
            _ => Err(self.err("expected a list")),
        }
    }

    fn label_list(&mut self) -> Result<Vec<i64>, PostError> {
        let n = self.label()?;
        match self.peek() {
            Some(c) if n == 0 && c != b'(' && c != b'{' => Ok(Vec::new()),
            Some(b'{') => {
                self.i += 1;
                let v = self.scalar()? as i64;
                self.expect(b'}')?;
                Ok(vec![v; n])
            }
            Some(b'(') if self.h.binary => {
                self.i += 1;
                let v = self.raw_labels(n)?;
                self.expect(b')')?;
                Ok(v)
            }
            Some(b'(') => {
                self.i += 1;
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    let t = self.number_token()?;
                    let x = std::str::from_utf8(t).ok().and_then(|s| s.parse::<i64>().ok());
                    v.push(x.ok_or_else(|| {
                        self.err(format!("expected a label, found '{}'", String::from_utf8_lossy(t)))
                    })?);
                }
                self.expect(b')')?;
                Ok(v)
            }
            _ => Err(self.err("expected a list")),
        }
    }

    /// A list of non-negative labels straight into u32 (owner, neighbour, face points):
    /// one allocation, no intermediate i64 copy.
    fn labels_u32(&mut self) -> Result<Vec<u32>, PostError> {
        let n = self.label()?;
        let bad = |s: &Self, x: i64| s.err(format!("label {x} is out of range"));
        match self.peek() {
            Some(c) if n == 0 && c != b'(' && c != b'{' => Ok(Vec::new()),
            Some(b'(') if self.h.binary => {
                self.i += 1;
                let sz = self.label_size();
                let raw = self.raw(n * sz)?;
                let mut v = Vec::with_capacity(n);
                if sz == 4 {
                    for c in raw.chunks_exact(4) {
                        let x = i32::from_le_bytes(c.try_into().unwrap());
                        v.push(u32::try_from(x).map_err(|_| bad(self, x as i64))?);
                    }
                } else {
                    for c in raw.chunks_exact(8) {
                        let x = i64::from_le_bytes(c.try_into().unwrap());
                        v.push(u32::try_from(x).map_err(|_| bad(self, x))?);
                    }
                }
                self.expect(b')')?;
                Ok(v)
            }
            Some(b'(') => {
                self.i += 1;
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    let x = self.label()?;
                    v.push(u32::try_from(x).map_err(|_| bad(self, x as i64))?);
                }
                self.expect(b')')?;
                Ok(v)
            }
            Some(b'{') => {
                self.i += 1;
                let x = self.label()?;
                self.expect(b'}')?;
                Ok(vec![u32::try_from(x).map_err(|_| bad(self, x as i64))?; n])
            }
            _ => Err(self.err("expected a list")),
        }
    }

    /// Skips one entry's value up to its `;` (or a sub-dictionary's `}`), stepping over
    /// binary list bodies.
    fn skip_entry(&mut self) -> Result<(), PostError> {
        let mut depth = 0i32;
        let mut list_type: Option<usize> = None; // scalars per item of a pending List<T>
        let mut pending: Option<usize> = None; // a count just read
        loop {
            let t = self.token()?;
            match t {
                b";" if depth == 0 => return Ok(()),
                b"{" => depth += 1,
                b"}" => {
                    depth -= 1;
                    if depth == 0 {
                        // A sub-dictionary entry ends at its brace.
                        return Ok(());
                    }
                    if depth < 0 {
                        return Err(self.err("unbalanced '}'"));
                    }
                }
                b"(" => {
                    if let (true, Some(n), Some(w)) = (self.h.binary, pending, list_type) {
                        self.raw(n * w)?;
                        self.expect(b')')?;
                        list_type = None;
                    } else {
                        depth += 1;
                    }
                }
                b")" => depth -= 1,
                _ => {
                    if let Some(ty) = t.strip_prefix(b"List<") {
                        let sz = self.scalar_size();
                        list_type = Some(match ty {
                            b"scalar>" => sz,
                            b"vector>" => 3 * sz,
                            b"symmTensor>" => 6 * sz,
                            b"tensor>" => 9 * sz,
                            b"sphericalTensor>" => sz,
                            b"label>" => self.label_size(),
                            _ => 0,
                        })
                        .filter(|&w| w > 0);
                    }
                    pending = if t.iter().all(u8::is_ascii_digit) {
                        std::str::from_utf8(t).ok().and_then(|s| s.parse().ok())
                    } else {
                        None
                    };
                    continue;
                }
            }
            pending = None;
        }
    }

    /// `uniform X` or `nonuniform List<T> N(...)` for a scalar or vector field.
    fn field_value(&mut self, vector: bool, n: usize) -> Result<Values, PostError> {
        let kind = self.word()?;
        let width = if vector { 3 } else { 1 };
        let v = match kind.as_str() {
            "uniform" => {
                if vector {
                    let v = self.vector()?;
                    Values::Vector(vec![v; n])
                } else {
                    Values::Scalar(vec![self.scalar()?; n])
                }
            }
            "nonuniform" => {
                // decomposePar writes an empty list as `nonuniform 0()`, without its type.
                if !self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    let ty = self.word()?;
                    let want = if vector { "List<vector>" } else { "List<scalar>" };
                    if ty != want && !(ty == "List<scalar>" && self.peek() == Some(b'0')) {
                        return Err(self.err(format!("expected {want}, found {ty}")));
                    }
                }
                let flat = self.scalar_list(width)?;
                if flat.len() != n * width && !flat.is_empty() {
                    return Err(self.err(format!("{} values where the mesh has {n}", flat.len() / width)));
                }
                if flat.is_empty() && n > 0 {
                    return Err(self.err(format!("no values where the mesh has {n}")));
                }
                if vector {
                    Values::Vector(flat.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect())
                } else {
                    Values::Scalar(flat)
                }
            }
            other => return Err(self.err(format!("expected 'uniform' or 'nonuniform', found '{other}'"))),
        };
        self.expect(b';')?;
        Ok(v)
    }
}

fn read_labels(path: &Path) -> Result<Vec<i64>, PostError> {
    let bytes = read_maybe_gz(path)?;
    let mut s = Src::new(&bytes, path)?;
    s.label_list()
}

fn read_labels_u32(path: &Path) -> Result<Vec<u32>, PostError> {
    let bytes = read_maybe_gz(path)?;
    let mut s = Src::new(&bytes, path)?;
    s.labels_u32()
}

fn read_points(path: &Path) -> Result<Vec<[f64; 3]>, PostError> {
    let bytes = read_maybe_gz(path)?;
    let mut s = Src::new(&bytes, path)?;
    if s.h.binary && !s.h.scalar32 {
        // The common case read straight into points: one allocation.
        let at = s.i;
        let n = s.label()?;
        if s.peek() == Some(b'(') {
            s.i += 1;
            let raw = s.raw(n * 24)?;
            let v = raw
                .chunks_exact(24)
                .map(|c| [0, 8, 16].map(|k| f64::from_le_bytes(c[k..k + 8].try_into().unwrap())))
                .collect();
            s.expect(b')')?;
            return Ok(v);
        }
        s.i = at;
    }
    let flat = s.scalar_list(3)?;
    Ok(flat.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect())
}

fn read_faces(path: &Path) -> Result<(Vec<usize>, Vec<u32>), PostError> {
    let bytes = read_maybe_gz(path)?;
    let mut s = Src::new(&bytes, path)?;
    if s.h.class == "faceCompactList" {
        let offsets: Vec<usize> = s.labels_u32()?.into_iter().map(|x| x as usize).collect();
        let labels = s.labels_u32()?;
        if offsets.last().copied().unwrap_or(0) != labels.len() || offsets.windows(2).any(|w| w[1] < w[0]) {
            return Err(s.err("face offsets do not match the face labels"));
        }
        return Ok((offsets, labels));
    }
    let n = s.label()?;
    s.expect(b'(')?;
    let mut offsets = Vec::with_capacity(n + 1);
    let mut labels = Vec::with_capacity(n * 4);
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
}

fn read_boundary(path: &Path) -> Result<Vec<Patch>, PostError> {
    let bytes = read_maybe_gz(path)?;
    let mut s = Src::new(&bytes, path)?;
    let n = s.label()?;
    s.expect(b'(')?;
    let mut out = Vec::with_capacity(n);
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
}

/// Reads one `polyMesh` directory.
pub fn read_polymesh(dir: &Path) -> Result<PolyMesh, PostError> {
    let points = read_points(&dir.join("points"))?;
    let (face_offsets, face_points) = read_faces(&dir.join("faces"))?;
    let owner = read_labels_u32(&dir.join("owner"))?;
    let neighbour = read_labels_u32(&dir.join("neighbour"))?;
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
    for p in &patches {
        if p.start + p.size > n_faces {
            return Err(bad(format!("patch {} runs past the last face", p.name)));
        }
    }
    let n_cells = owner.iter().chain(&neighbour).map(|&c| c as usize + 1).max().unwrap_or(0);
    Ok(PolyMesh { points, face_offsets, face_points, owner, neighbour, n_cells, patches })
}

/// Reads one field file against the mesh it belongs to.
pub fn read_field(path: &Path, mesh: &PolyMesh) -> Result<VolField, PostError> {
    let bytes = read_maybe_gz(path)?;
    let mut s = Src::new(&bytes, path)?;
    let vector = match s.h.class.as_str() {
        "volScalarField" => false,
        "volVectorField" => true,
        other => {
            return Err(PostError::BadInput(format!(
                "{} is a {other}; only volScalarField and volVectorField can be read",
                path.display()
            )))
        }
    };
    let name = path.file_name().map(|n| n.to_string_lossy().trim_end_matches(".gz").to_string()).unwrap_or_default();
    let mut cells = None;
    let mut patches: Vec<Option<Values>> = vec![None; mesh.patches.len()];
    while !s.eof() {
        let key = s.word()?;
        match key.as_str() {
            "internalField" => cells = Some(s.field_value(vector, mesh.n_cells)?),
            "boundaryField" => {
                s.expect(b'{')?;
                while s.peek() != Some(b'}') {
                    let pname = s.word()?;
                    if pname.starts_with('#') {
                        s.skip_entry()?;
                        continue;
                    }
                    let idx = mesh.patches.iter().position(|p| p.name == pname);
                    s.expect(b'{')?;
                    while s.peek() != Some(b'}') {
                        let k = s.word()?;
                        match (k.as_str(), idx) {
                            ("value", Some(pi)) => patches[pi] = Some(s.field_value(vector, mesh.patches[pi].size)?),
                            _ => s.skip_entry()?,
                        }
                    }
                    s.expect(b'}')?;
                }
                s.expect(b'}')?;
            }
            k if k.starts_with('#') => {
                // #include and friends: results written by OpenFOAM do not carry them.
                while s.i < s.b.len() && s.b[s.i] != b'\n' {
                    s.i += 1;
                }
            }
            _ => s.skip_entry()?,
        }
    }
    let cells = cells.ok_or_else(|| PostError::Parse {
        path: path.display().to_string(),
        line: 0,
        what: "no internalField".into(),
    })?;
    Ok(VolField { name, cells, patches })
}

/// The class written in a file's header (`volScalarField`, ...), or `None` if it has none.
pub fn file_class(path: &Path) -> Option<String> {
    let bytes = read_maybe_gz(path).ok()?;
    // The header is near the top; do not scan a whole binary field.
    let head = &bytes[..bytes.len().min(4096)];
    Src::new(head, path).ok().map(|s| s.h.class)
}

/// A decomposed case: each processor's mesh and its addressing into the global mesh.
#[derive(Debug, Clone)]
pub struct Decomposition {
    pub dirs: Vec<PathBuf>,
    /// Per processor: global cell of each local cell.
    cell_addr: Vec<Vec<u32>>,
    /// Per processor, per local patch: (global patch, global face offset in that patch) of
    /// each of its faces, for non-processor patches.
    patch_addr: Vec<Vec<Option<(usize, Vec<u32>)>>>,
    local_meshes: Vec<PolyMesh>,
}

/// Merges `processor*/constant/polyMesh` back into one mesh.
pub fn read_decomposed(
    root: &Path,
    mesh_dir: &dyn Fn(&Path) -> PathBuf,
) -> Result<(PolyMesh, Decomposition), PostError> {
    let mut dirs: Vec<(usize, PathBuf)> = std::fs::read_dir(root)
        .map_err(|e| PostError::Io { path: root.display().to_string(), source: e })?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().strip_prefix("processor")?.parse::<usize>().ok()?;
            Some((n, e.path()))
        })
        .collect();
    dirs.sort();
    if dirs.is_empty() {
        return Err(PostError::Missing(format!("no processor* directories in {}", root.display())));
    }
    let mut locals = Vec::new();
    let (mut point_addr, mut face_addr, mut cell_addr) = (Vec::new(), Vec::new(), Vec::new());
    for (_, d) in &dirs {
        let md = mesh_dir(d);
        let m = read_polymesh(&md)?;
        let pa = read_labels_u32(&md.join("pointProcAddressing"))?;
        let fa = read_labels(&md.join("faceProcAddressing"))?;
        let ca = read_labels_u32(&md.join("cellProcAddressing"))?;
        if pa.len() != m.points.len() || fa.len() != m.n_faces() || ca.len() != m.n_cells {
            return Err(PostError::Parse {
                path: md.display().to_string(),
                line: 0,
                what: "the *ProcAddressing files do not match the mesh (rerun decomposePar)".into(),
            });
        }
        locals.push(m);
        point_addr.push(pa);
        face_addr.push(fa);
        cell_addr.push(ca);
    }
    let n_points = point_addr.iter().flatten().map(|&p| p as usize + 1).max().unwrap_or(0);
    let n_cells = cell_addr.iter().flatten().map(|&c| c as usize + 1).max().unwrap_or(0);
    let n_faces = face_addr.iter().flatten().map(|&f| f.unsigned_abs() as usize).max().unwrap_or(0);
    let mut points = vec![[0.0; 3]; n_points];
    let mut faces: Vec<Option<Vec<u32>>> = vec![None; n_faces];
    let mut owner = vec![u32::MAX; n_faces];
    let mut neigh = vec![u32::MAX; n_faces];
    for (pi, m) in locals.iter().enumerate() {
        for (lp, &gp) in point_addr[pi].iter().enumerate() {
            points[gp as usize] = m.points[lp];
        }
        for f in 0..m.n_faces() {
            let a = face_addr[pi][f];
            let g = a.unsigned_abs() as usize - 1;
            let flipped = a < 0;
            let own = cell_addr[pi][m.owner[f] as usize];
            let nei = m.neighbour.get(f).map(|&n| cell_addr[pi][n as usize]);
            if faces[g].is_none() {
                let mut verts: Vec<u32> = m.face(f).iter().map(|&p| point_addr[pi][p as usize]).collect();
                if flipped {
                    verts[1..].reverse();
                }
                faces[g] = Some(verts);
            }
            if flipped {
                neigh[g] = own;
                if let Some(n) = nei {
                    owner[g] = n;
                }
            } else {
                owner[g] = own;
                if let Some(n) = nei {
                    neigh[g] = n;
                }
            }
        }
    }
    // Global patches: the first processor's non-processor patches, in order; each covers
    // the global faces its local faces map to, which decomposePar keeps contiguous.
    let gpatches: Vec<String> = locals[0]
        .patches
        .iter()
        .filter(|p| p.kind != "processor" && p.kind != "processorCyclic")
        .map(|p| p.name.clone())
        .collect();
    let mut ranges: Vec<(usize, usize)> = vec![(usize::MAX, 0); gpatches.len()];
    for (pi, m) in locals.iter().enumerate() {
        for p in &m.patches {
            if let Some(gi) = gpatches.iter().position(|n| *n == p.name) {
                for f in p.start..p.start + p.size {
                    let g = face_addr[pi][f].unsigned_abs() as usize - 1;
                    ranges[gi].0 = ranges[gi].0.min(g);
                    ranges[gi].1 = ranges[gi].1.max(g + 1);
                }
            }
        }
    }
    let n_internal = neigh.iter().take_while(|&&n| n != u32::MAX).count();
    let mut next = n_internal;
    let mut patches = Vec::new();
    for (gi, name) in gpatches.iter().enumerate() {
        let src = locals[0].patches.iter().find(|p| &p.name == name).unwrap();
        let (start, size) =
            if ranges[gi].0 == usize::MAX { (next, 0) } else { (ranges[gi].0, ranges[gi].1 - ranges[gi].0) };
        next = start + size;
        patches.push(Patch { name: name.clone(), kind: src.kind.clone(), groups: src.groups.clone(), start, size });
    }
    let bad = |what: &str| PostError::Parse { path: root.display().to_string(), line: 0, what: what.to_string() };
    let mut face_offsets = Vec::with_capacity(n_faces + 1);
    let mut face_points = Vec::new();
    face_offsets.push(0);
    for f in faces {
        face_points.extend(f.ok_or_else(|| bad("the processors do not cover every face"))?);
        face_offsets.push(face_points.len());
    }
    if owner.iter().any(|&o| o == u32::MAX) || neigh[..n_internal].iter().any(|&n| n == u32::MAX) {
        return Err(bad("the processors do not cover every cell"));
    }
    neigh.truncate(n_internal);
    let mut patch_addr = Vec::new();
    for (pi, m) in locals.iter().enumerate() {
        let per: Vec<Option<(usize, Vec<u32>)>> = m
            .patches
            .iter()
            .map(|p| {
                let gi = patches.iter().position(|g| g.name == p.name)?;
                let start = patches[gi].start;
                Some((
                    gi,
                    (p.start..p.start + p.size)
                        .map(|f| (face_addr[pi][f].unsigned_abs() as usize - 1 - start) as u32)
                        .collect(),
                ))
            })
            .collect();
        patch_addr.push(per);
    }
    let mesh = PolyMesh { points, face_offsets, face_points, owner, neighbour: neigh, n_cells, patches };
    Ok((
        mesh,
        Decomposition { dirs: dirs.into_iter().map(|(_, d)| d).collect(), cell_addr, patch_addr, local_meshes: locals },
    ))
}

impl Decomposition {
    /// Reads `time/name` in every processor and maps it onto the global mesh.
    pub fn read_field(&self, time: &str, name: &str, global: &PolyMesh) -> Result<VolField, PostError> {
        let mut cells: Option<Values> = None;
        let mut patches: Vec<Option<Values>> = vec![None; global.patches.len()];
        for (pi, d) in self.dirs.iter().enumerate() {
            let local = read_field(&d.join(time).join(name), &self.local_meshes[pi])?;
            let ca = &self.cell_addr[pi];
            scatter(&mut cells, global.n_cells, &local.cells, ca)?;
            for (lp, vals) in local.patches.iter().enumerate() {
                if let (Some(vals), Some((gi, addr))) = (vals, &self.patch_addr[pi][lp]) {
                    scatter(&mut patches[*gi], global.patches[*gi].size, vals, addr)?;
                }
            }
        }
        Ok(VolField { name: name.to_string(), cells: cells.unwrap_or(Values::Scalar(vec![])), patches })
    }
}

fn scatter(into: &mut Option<Values>, n: usize, from: &Values, addr: &[u32]) -> Result<(), PostError> {
    let into = into.get_or_insert_with(|| match from {
        Values::Scalar(_) => Values::Scalar(vec![0.0; n]),
        Values::Vector(_) => Values::Vector(vec![[0.0; 3]; n]),
    });
    match (into, from) {
        (Values::Scalar(a), Values::Scalar(b)) => addr.iter().zip(b).for_each(|(&i, &v)| a[i as usize] = v),
        (Values::Vector(a), Values::Vector(b)) => addr.iter().zip(b).for_each(|(&i, &v)| a[i as usize] = v),
        _ => return Err(PostError::BadInput("a field is scalar in one processor and vector in another".into())),
    }
    Ok(())
}
