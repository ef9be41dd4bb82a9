//! OpenFOAM results without VTK: `constant/polyMesh` (points, faces, owner, neighbour,
//! boundary) and `volScalarField` / `volVectorField` files, in ascii or binary
//! (`arch "LSB;label=32|64;scalar=64|32"`), uniform or nonuniform, plain or `.gz`, from a
//! reconstructed case or from its `processor*/` directories (merged back into the global
//! mesh with decomposePar's `*ProcAddressing`).
//!
//! This room holds the values the reader produces; the parsing lives by role: `token`
//! (the cursor: tokens, numbers, the `FoamFile` header), `list` (ascii and binary list
//! bodies), `mesh` (a `polyMesh` directory), `field` (a field file) and `decomposed`
//! (`processor*/` merged into one mesh).
mod decomposed;
mod field;
mod list;
mod mesh;
mod token;

pub use decomposed::{read_decomposed, Decomposition};
pub use field::{file_class, read_field};
pub use mesh::read_polymesh;

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
    /// Faces, internal and boundary.
    pub fn n_faces(&self) -> usize {
        self.face_offsets.len() - 1
    }

    /// Internal faces: they come first, `0..n_internal()`.
    pub fn n_internal(&self) -> usize {
        self.neighbour.len()
    }

    /// The point labels of face `f`, in OpenFOAM's order (normal out of the owner).
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
    /// Values held, whatever their kind.
    pub fn len(&self) -> usize {
        match self {
            Values::Scalar(v) => v.len(),
            Values::Vector(v) => v.len(),
        }
    }

    /// Whether no values are held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether these are vectors (three components) rather than scalars.
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
