//! One `volScalarField` / `volVectorField` file: the internal field and each patch's
//! `value` entry, read against the mesh it belongs to.
use super::token::{parse_file, read_maybe_gz, Src};
use super::{PolyMesh, Values, VolField};
use crate::post::PostError;
use std::path::Path;

impl Src<'_> {
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
                let flat = self.scalar_list(width, n)?;
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

/// Reads one field file against the mesh it belongs to.
pub fn read_field(path: &Path, mesh: &PolyMesh) -> Result<VolField, PostError> {
    parse_file(path, |s| {
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
        let name =
            path.file_name().map(|n| n.to_string_lossy().trim_end_matches(".gz").to_string()).unwrap_or_default();
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
                                ("value", Some(pi)) => {
                                    patches[pi] = Some(s.field_value(vector, mesh.patches[pi].size)?)
                                }
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
    })
}

/// The class written in a file's header (`volScalarField`, ...), or `None` if it has none.
pub fn file_class(path: &Path) -> Option<String> {
    let bytes = read_maybe_gz(path).ok()?;
    // The header is near the top; do not scan a whole binary field.
    let head = &bytes[..bytes.len().min(4096)];
    Src::new(head, path).ok().map(|s| s.h.class)
}
