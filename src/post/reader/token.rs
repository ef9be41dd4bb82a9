//! The cursor over one OpenFOAM file: comments skipped, tokens, numbers, the `FoamFile`
//! header, and stepping over entries the reader does not want. List bodies are in `list`.
use crate::post::PostError;
use flate2::read::GzDecoder;
use std::io::Read;
use std::path::{Path, PathBuf};

/// What the `FoamFile` header says about the body.
#[derive(Debug, Clone)]
pub(super) struct Header {
    pub(super) class: String,
    pub(super) binary: bool,
    pub(super) label64: bool,
    pub(super) scalar32: bool,
}

/// Reads a file, or its `.gz` sibling, whole.
pub(super) fn read_maybe_gz(path: &Path) -> Result<Vec<u8>, PostError> {
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
pub(super) struct Src<'a> {
    pub(super) b: &'a [u8],
    pub(super) i: usize,
    path: &'a Path,
    pub(super) h: Header,
}

fn is_delim(c: u8) -> bool {
    c.is_ascii_whitespace() || matches!(c, b'(' | b')' | b'{' | b'}' | b';' | b'[' | b']' | b'"')
}

/// Parses the file at `path` (or its `.gz`) with `f`, the header already read.
pub(super) fn parse_file<T>(path: &Path, f: impl FnOnce(&mut Src<'_>) -> Result<T, PostError>) -> Result<T, PostError> {
    let bytes = read_maybe_gz(path)?;
    let mut s = Src::new(&bytes, path)?;
    f(&mut s)
}

impl<'a> Src<'a> {
    pub(super) fn new(b: &'a [u8], path: &'a Path) -> Result<Self, PostError> {
        let mut s =
            Src { b, i: 0, path, h: Header { class: String::new(), binary: false, label64: false, scalar32: false } };
        s.header()?;
        Ok(s)
    }

    pub(super) fn err(&self, what: impl std::fmt::Display) -> PostError {
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

    pub(super) fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.b.get(self.i).copied()
    }

    pub(super) fn eof(&mut self) -> bool {
        self.peek().is_none()
    }

    /// The next token: a punctuation byte, a quoted string (quotes kept out), or a word.
    pub(super) fn token(&mut self) -> Result<&'a [u8], PostError> {
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

    pub(super) fn word(&mut self) -> Result<String, PostError> {
        Ok(String::from_utf8_lossy(self.token()?).into_owned())
    }

    pub(super) fn expect(&mut self, c: u8) -> Result<(), PostError> {
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
    pub(super) fn number_token(&mut self) -> Result<&'a [u8], PostError> {
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

    pub(super) fn label(&mut self) -> Result<usize, PostError> {
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

    pub(super) fn scalar(&mut self) -> Result<f64, PostError> {
        let t = self.number_token()?;
        // SAFETY-free: number tokens are ASCII; from_utf8 only fails on garbage, which errs.
        std::str::from_utf8(t)
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .ok_or_else(|| self.err(format!("expected a number, found '{}'", String::from_utf8_lossy(t))))
    }

    pub(super) fn vector(&mut self) -> Result<[f64; 3], PostError> {
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

    /// Skips one entry's value up to its `;` (or a sub-dictionary's `}`), stepping over
    /// binary list bodies.
    pub(super) fn skip_entry(&mut self) -> Result<(), PostError> {
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
                        self.raw_items(n, w)?;
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
}
