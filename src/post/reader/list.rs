//! List bodies, ascii and binary: `N(...)`, `N{v}`, a bare `0`, and binary bodies sized by
//! the header's `arch` (label 32/64 bits, scalar 64/32 bits).
use super::token::Src;
use crate::post::le;
use crate::post::PostError;

/// The longest `N{v}` list expanded where the caller knows no length to expect. OpenFOAM
/// writes `N{v}` only for a list whose items are all equal, which in a mesh is the owner
/// or addressing list of a single cell: a few faces long. A longer one would let a few
/// bytes ask for gigabytes, so it is refused instead of expanded.
pub(super) const MAX_UNIFORM: usize = 1 << 16;

impl<'a> Src<'a> {
    /// How many items of at least `min_bytes` each the rest of the file can still hold. A
    /// reservation never exceeds it, so a declared count cannot allocate more memory than
    /// the file has bytes to back it.
    pub(super) fn room(&self, min_bytes: usize) -> usize {
        self.b.len().saturating_sub(self.i) / min_bytes.max(1)
    }

    /// `n` items of `size` bytes of a binary list body (a count too large for memory
    /// runs past the end like any other).
    pub(super) fn raw_items(&mut self, n: usize, size: usize) -> Result<&'a [u8], PostError> {
        let bytes = n.checked_mul(size).ok_or_else(|| self.err("binary list runs past the end"))?;
        self.raw(bytes)
    }

    fn too_uniform(&self, n: usize, max: usize) -> PostError {
        self.err(format!("a uniform list of {n} items is longer than the {max} this file can need"))
    }

    pub(super) fn scalar_size(&self) -> usize {
        if self.h.scalar32 {
            4
        } else {
            8
        }
    }

    pub(super) fn label_size(&self) -> usize {
        if self.h.label64 {
            8
        } else {
            4
        }
    }

    /// `n` raw bytes of a binary list body, after its `(`.
    pub(super) fn raw(&mut self, n: usize) -> Result<&'a [u8], PostError> {
        let end = self
            .i
            .checked_add(n)
            .filter(|&e| e <= self.b.len())
            .ok_or_else(|| self.err("binary list runs past the end"))?;
        let s = &self.b[self.i..end];
        self.i = end;
        Ok(s)
    }

    pub(super) fn raw_scalars(&mut self, count: usize) -> Result<Vec<f64>, PostError> {
        let sz = self.scalar_size();
        let raw = self.raw_items(count, sz)?;
        Ok(if sz == 8 { le::values::<f64>(raw).collect() } else { le::values::<f32>(raw).map(f64::from).collect() })
    }

    /// A list of `count` items of `width` scalars each: `N(...)`, `N{v}` or (ascii) `(...)`;
    /// a `N{v}` list longer than `uniform_max` is refused before it is expanded.
    pub(super) fn scalar_list(&mut self, width: usize, uniform_max: usize) -> Result<Vec<f64>, PostError> {
        let counted = self.peek().is_some_and(|c| c.is_ascii_digit());
        let n = if counted { Some(self.label()?) } else { None };
        match (self.peek(), n) {
            // A binary file writes an empty list as a bare `0`.
            (Some(c), Some(0)) if c != b'(' && c != b'{' => Ok(Vec::new()),
            (Some(b'{'), Some(n)) => {
                if n > uniform_max {
                    return Err(self.too_uniform(n, uniform_max));
                }
                self.i += 1;
                let one = if width == 1 { vec![self.scalar()?] } else { self.vector()?.to_vec() };
                self.expect(b'}')?;
                Ok(one.iter().copied().cycle().take(n * width).collect())
            }
            (Some(b'('), Some(n)) if self.h.binary => {
                self.i += 1;
                let count = n.checked_mul(width).ok_or_else(|| self.err("binary list runs past the end"))?;
                let v = self.raw_scalars(count)?;
                self.expect(b')')?;
                Ok(v)
            }
            (Some(b'('), _) => {
                self.i += 1;
                // An ascii number takes two bytes at least, with its separator.
                let mut v = Vec::with_capacity(n.unwrap_or(16).min(self.room(2)) * width);
                while self.peek() != Some(b')') {
                    if width == 1 {
                        v.push(self.scalar()?);
                    } else {
                        v.extend(self.vector()?);
                    }
                }
                self.i += 1;
                if let Some(n) = n.filter(|&n| n.checked_mul(width) != Some(v.len())) {
                    return Err(self.err(format!("the list says {n} items but holds {}", v.len() / width)));
                }
                Ok(v)
            }
            _ => Err(self.err("expected a list")),
        }
    }

    /// A list of labels straight into `T` (one allocation, no intermediate copy): `u32` for
    /// owner, neighbour and face points, `i64` for faceProcAddressing, whose sign marks a
    /// flipped face. A label that `T` cannot hold is an error.
    pub(super) fn labels<T: TryFrom<i64> + Clone>(&mut self) -> Result<Vec<T>, PostError> {
        let n = self.label()?;
        let conv = |s: &Self, x: i64| T::try_from(x).map_err(|_| s.err(format!("label {x} is out of range")));
        match self.peek() {
            Some(c) if n == 0 && c != b'(' && c != b'{' => Ok(Vec::new()),
            Some(b'(') if self.h.binary => {
                self.i += 1;
                let sz = self.label_size();
                let raw = self.raw_items(n, sz)?;
                let mut v = Vec::with_capacity(n);
                if sz == 4 {
                    for x in le::values::<i32>(raw) {
                        v.push(conv(self, x.into())?);
                    }
                } else {
                    for x in le::values::<i64>(raw) {
                        v.push(conv(self, x)?);
                    }
                }
                self.expect(b')')?;
                Ok(v)
            }
            Some(b'(') => {
                self.i += 1;
                let mut v = Vec::with_capacity(n.min(self.room(2)));
                for _ in 0..n {
                    let x = self.signed_label()?;
                    v.push(conv(self, x)?);
                }
                self.expect(b')')?;
                Ok(v)
            }
            Some(b'{') => {
                if n > MAX_UNIFORM {
                    return Err(self.too_uniform(n, MAX_UNIFORM));
                }
                self.i += 1;
                let x = self.signed_label()?;
                self.expect(b'}')?;
                Ok(vec![conv(self, x)?; n])
            }
            _ => Err(self.err("expected a list")),
        }
    }

    /// One label, which may be negative (unlike a count).
    fn signed_label(&mut self) -> Result<i64, PostError> {
        let t = self.number_token()?;
        std::str::from_utf8(t)
            .ok()
            .and_then(|s| s.parse::<i64>().ok())
            .ok_or_else(|| self.err(format!("expected a label, found '{}'", String::from_utf8_lossy(t))))
    }
}
