//! A block-mesh case: a `blockMeshDict` from blocks and named patches, and the product's own
//! physics (`foam::physics`: fields, schemes, solution, turbulence, controlDict) around it,
//! every file through the typed writer. The channel-flow validation cases use it.

use crate::foam::case::Step;
use crate::foam::dict::{w, write_file, Dict, DictError, Key, Value, Word};
use crate::foam::flavour::Flavour;
use crate::foam::patches::{BcKind, Patch};
use crate::foam::physics::{self, InletTurbulence, Reference};
use crate::foam::spec::CaseSpec;
use crate::foam::turbulence::NearWall;
use std::path::{Path, PathBuf};

/// One hex block: its 8 vertices, cells per direction, and grading (`simpleGrading`'s
/// value, or `edgeGrading`'s when `edge` is set).
#[derive(Debug, Clone)]
pub struct Block {
    /// Vertex labels in blockMesh order.
    pub verts: [usize; 8],
    /// Cells along the block's local x, y, z.
    pub cells: [usize; 3],
    /// Grading: three (simple) or twelve (edge) entries, each a number or a multi-grading list.
    pub grading: Vec<Value>,
}

impl Block {
    /// A block with uniform grading ratios along x, y and z.
    pub fn simple(verts: [usize; 8], cells: [usize; 3], grading: [f64; 3]) -> Self {
        Block { verts, cells, grading: grading.iter().map(|g| Value::Float(*g)).collect() }
    }
}

/// Multi-grading `((fraction cells ratio) ...)`, for a block direction graded in parts.
pub fn multi(parts: &[[f64; 3]]) -> Value {
    Value::List(parts.iter().map(|p| Value::List(p.iter().map(|x| Value::Float(*x)).collect())).collect())
}

/// A boundary patch of a block mesh: the physics, and the block faces (four vertex labels each).
#[derive(Debug, Clone)]
pub struct BlockPatch {
    /// Name and boundary condition.
    pub patch: Patch,
    /// Faces, outward-pointing vertex order.
    pub faces: Vec<[usize; 4]>,
}

/// A mesh of hex blocks. Faces listed in `empty` are the front and back of a 2D case.
#[derive(Debug, Clone, Default)]
pub struct BlockMesh {
    /// Multiplies every vertex coordinate (`scale`).
    pub scale: f64,
    /// Vertex coordinates.
    pub vertices: Vec<[f64; 3]>,
    /// The blocks.
    pub blocks: Vec<Block>,
    /// Patches with boundary conditions.
    pub patches: Vec<BlockPatch>,
    /// Faces of the `frontAndBack` empty patch (2D); none for a 3D mesh.
    pub empty: Vec<[usize; 4]>,
}

/// The name of the empty patch of a 2D block mesh.
pub const EMPTY_PATCH: &str = "frontAndBack";

fn ints(v: &[usize]) -> Value {
    Value::List(v.iter().map(|x| Value::Int(*x as i64)).collect())
}

impl BlockMesh {
    /// `system/blockMeshDict`.
    pub fn dict(&self) -> Dict {
        let blocks = self
            .blocks
            .iter()
            .map(|b| {
                let kind = if b.grading.len() == 12 { "edgeGrading" } else { "simpleGrading" };
                Value::Seq(vec![w("hex"), ints(&b.verts), ints(&b.cells), w(kind), Value::List(b.grading.clone())])
            })
            .collect();
        let mut boundary: Vec<Value> = self
            .patches
            .iter()
            .map(|p| {
                let body = Dict::new()
                    .set("type", w(p.patch.kind.mesh_type()))
                    .set("faces", Value::List(p.faces.iter().map(|f| ints(f)).collect()));
                Value::NamedDict(p.patch.name.clone(), body)
            })
            .collect();
        if !self.empty.is_empty() {
            let body = Dict::new()
                .set("type", w("empty"))
                .set("faces", Value::List(self.empty.iter().map(|f| ints(f)).collect()));
            boundary.push(Value::NamedDict(Word::new(EMPTY_PATCH).expect("literal"), body));
        }
        Dict::new()
            .set("scale", self.scale)
            .set("vertices", Value::List(self.vertices.iter().map(|v| Value::Vector(*v)).collect()))
            .set("blocks", Value::List(blocks))
            .set("edges", Value::List(vec![]))
            .set("boundary", Value::List(boundary))
            .set("mergePatchPairs", Value::List(vec![]))
    }

    /// Cells in the mesh.
    pub fn cells(&self) -> usize {
        self.blocks.iter().map(|b| b.cells.iter().product::<usize>()).sum()
    }
}

/// A case written from a block mesh: its files and its steps (blockMesh, the 0/ copy, the
/// solver).
#[derive(Debug, Clone)]
pub struct BlockCase {
    /// Files relative to the case directory, with their contents.
    pub files: Vec<(PathBuf, String)>,
    /// Steps to run, in order.
    pub steps: Vec<Step>,
}

/// Returns `d` with the sub-dictionary `key` replaced by `f(old)`.
pub fn edit_sub(d: &Dict, key: &str, f: impl FnOnce(Dict) -> Dict) -> Dict {
    let mut out = Dict::new();
    let mut f = Some(f);
    for (k, v) in d.entries() {
        let v = match (k, v) {
            (Key::Word(wd), Value::Dict(sub)) if wd.as_str() == key => Value::Dict((f.take().expect("once"))(sub.clone())),
            _ => v.clone(),
        };
        match k {
            Key::Word(wd) => out.insert_word(wd.clone(), v),
            Key::Pattern(p) => out.insert_pattern(p, v),
        }
    }
    out
}

/// Assembles the case: the product's fvSchemes, fvSolution (plus `pRefCell` for a closed
/// domain), transport and turbulence properties, initial fields and controlDict around the
/// block mesh. `turb` gives the inlet and initial turbulence; `reference` the force patches.
pub fn build(
    spec: &CaseSpec,
    mesh: &BlockMesh,
    turb: InletTurbulence,
    u_init: [f64; 3],
    reference: &Reference,
    closed: bool,
) -> Result<BlockCase, DictError> {
    let flavour = spec.solver.openfoam.unwrap_or_default();
    let org = flavour.is_foundation();
    let mut files = Vec::new();
    let mut put = |dir: &str, class: &str, object: &str, body: &Dict| -> Result<(), DictError> {
        files.push((Path::new(dir).join(object), write_file(class, Some(dir), object, body)?));
        Ok(())
    };
    put("system", "dictionary", "blockMeshDict", &mesh.dict())?;
    put("system", "dictionary", "controlDict", &physics::control_dict(spec, reference, flavour))?;
    put("system", "dictionary", "fvSchemes", &physics::fv_schemes(spec))?;
    let mut solution = physics::fv_solution(spec, flavour);
    if closed {
        // A closed domain fixes the pressure level at one cell.
        solution = edit_sub(&solution, "SIMPLE", |s| s.set("pRefCell", 0i64).set("pRefValue", 0.0));
    }
    put("system", "dictionary", "fvSolution", &solution)?;
    if org {
        put("constant", "dictionary", "physicalProperties", &physics::physical_properties(spec))?;
        put("constant", "dictionary", "momentumTransport", &physics::turbulence_properties(spec, flavour))?;
    } else {
        put("constant", "dictionary", "transportProperties", &physics::transport_properties(spec))?;
        put("constant", "dictionary", "turbulenceProperties", &physics::turbulence_properties(spec, flavour))?;
    }
    let patches: Vec<Patch> = mesh.patches.iter().map(|p| p.patch.clone()).collect();
    // The validation block meshes resolve the wall (first cell at y+ ≈ 1).
    let wall = if spec.turbulence.model.is_laminar() { NearWall::Laminar } else { NearWall::LowRe };
    for (name, class, body) in physics::initial_fields(spec, &patches, turb, wall, u_init) {
        let body = if mesh.empty.is_empty() {
            body
        } else {
            edit_sub(&body, "boundaryField", |mut b| {
                b.insert_word(Word::new(EMPTY_PATCH).expect("literal"), Dict::new().set("type", w("empty")));
                b
            })
        };
        put("0.orig", &class, name, &body)?;
    }
    files.push(("case.foam".into(), String::new()));
    let app = |app: &'static str| Step::App { app, args: vec![], parallel: false, meshing: app == "blockMesh" };
    let steps = vec![app("blockMesh"), Step::Restore0, app(flavour.solver_app())];
    Ok(BlockCase { files, steps })
}

/// Writes the case's files under `dir` (created).
pub fn write(case: &BlockCase, dir: &Path) -> std::io::Result<()> {
    for (rel, text) in &case.files {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().expect("file has a parent"))?;
        std::fs::write(&path, text)?;
    }
    Ok(())
}

/// A force reference on `patches` (the controlDict's forceCoeffs needs one; the block cases
/// read wall shear and fields, not forces).
pub fn reference(patches: &[&str], u: f64, lref: f64, aref: f64) -> Reference {
    let (d, l, p) = physics::directions([u, 0.0, 0.0]);
    Reference {
        aref,
        lref,
        mag_u_inf: u,
        cofr: [0.0; 3],
        drag_dir: d,
        lift_dir: [0.0, 1.0, 0.0],
        pitch_axis: if l[2] != 0.0 { [0.0, 0.0, 1.0] } else { p },
        patches: patches.iter().map(|s| s.to_string()).collect(),
    }
}

/// Inlet and initial turbulence from k and ω (νt = k/ω, ε = Cμ k ω, ν̃ = νt); a laminar case
/// passes `(0, 1)`.
pub fn turbulence(k: f64, omega: f64) -> InletTurbulence {
    InletTurbulence { k, omega, nut: k / omega, epsilon: physics::C_MU * k * omega, nu_tilda: k / omega }
}

/// A patch of a block mesh.
pub fn patch(name: &str, kind: BcKind, faces: Vec<[usize; 4]>) -> BlockPatch {
    BlockPatch { patch: Patch { name: Word::new(name).expect("literal patch name"), kind, from_surface: false }, faces }
}

/// The flavour the case files are written for.
pub fn flavour(spec: &CaseSpec) -> Flavour {
    spec.solver.openfoam.unwrap_or_default()
}

/// A side of block (i, j) of a [`Grid2d`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Side {
    /// y = ys[j].
    Bottom(usize, usize),
    /// y = ys[j + 1].
    Top(usize, usize),
    /// x = xs[i].
    Left(usize, usize),
    /// x = xs[i + 1].
    Right(usize, usize),
}

/// A 2D mesh of blocks on the rectangles of a grid of x and y breaks, one cell thick along
/// z, with blocks left out where `present(i, j)` is false (a step).
pub struct Grid2d {
    /// x breaks (m before `scale`).
    pub xs: Vec<f64>,
    /// y breaks.
    pub ys: Vec<f64>,
    /// Cells per x interval, and its grading.
    pub nx: Vec<(usize, Value)>,
    /// Cells per y interval, and its grading.
    pub ny: Vec<(usize, Value)>,
    /// Thickness along z.
    pub thickness: f64,
    /// Blocks present.
    pub present: fn(usize, usize) -> bool,
}

impl Grid2d {
    fn v(&self, i: usize, j: usize, front: bool) -> usize {
        let n = self.xs.len();
        usize::from(front) * n * self.ys.len() + j * n + i
    }

    /// The four vertices of a side, outward.
    pub fn face(&self, s: Side) -> [usize; 4] {
        let v = |i, j, f| self.v(i, j, f);
        match s {
            Side::Bottom(i, j) => [v(i, j, false), v(i + 1, j, false), v(i + 1, j, true), v(i, j, true)],
            Side::Top(i, j) => [v(i, j + 1, false), v(i, j + 1, true), v(i + 1, j + 1, true), v(i + 1, j + 1, false)],
            Side::Left(i, j) => [v(i, j, false), v(i, j, true), v(i, j + 1, true), v(i, j + 1, false)],
            Side::Right(i, j) => [v(i + 1, j + 1, false), v(i + 1, j + 1, true), v(i + 1, j, true), v(i + 1, j, false)],
        }
    }

    /// The block mesh, with `patches` as (name, condition, sides).
    pub fn mesh(&self, scale: f64, patches: Vec<(&str, BcKind, Vec<Side>)>) -> BlockMesh {
        let mut vertices = Vec::new();
        for z in [0.0, self.thickness] {
            for y in &self.ys {
                for x in &self.xs {
                    vertices.push([*x, *y, z]);
                }
            }
        }
        let mut blocks = Vec::new();
        let mut empty = Vec::new();
        for j in 0..self.ys.len() - 1 {
            for i in 0..self.xs.len() - 1 {
                if !(self.present)(i, j) {
                    continue;
                }
                let v = |i, j, f| self.v(i, j, f);
                blocks.push(Block {
                    verts: [
                        v(i, j, false),
                        v(i + 1, j, false),
                        v(i + 1, j + 1, false),
                        v(i, j + 1, false),
                        v(i, j, true),
                        v(i + 1, j, true),
                        v(i + 1, j + 1, true),
                        v(i, j + 1, true),
                    ],
                    cells: [self.nx[i].0, self.ny[j].0, 1],
                    grading: vec![self.nx[i].1.clone(), self.ny[j].1.clone(), Value::Float(1.0)],
                });
                empty.push([v(i, j, false), v(i, j + 1, false), v(i + 1, j + 1, false), v(i + 1, j, false)]);
                empty.push([v(i, j, true), v(i + 1, j, true), v(i + 1, j + 1, true), v(i, j + 1, true)]);
            }
        }
        let patches =
            patches.into_iter().map(|(n, k, sides)| patch(n, k, sides.into_iter().map(|s| self.face(s)).collect())).collect();
        BlockMesh { scale, vertices, blocks, patches, empty }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(_: usize, _: usize) -> bool {
        true
    }

    #[test]
    fn a_grid_block_mesh_is_written_by_the_typed_writer() {
        let g = Grid2d {
            xs: vec![0.0, 1.0],
            ys: vec![0.0, 1.0],
            nx: vec![(4, Value::Float(1.0))],
            ny: vec![(4, multi(&[[0.5, 0.5, 4.0], [0.5, 0.5, 0.25]]))],
            thickness: 0.1,
            present: all,
        };
        let m = g.mesh(0.1, vec![("lid", BcKind::MovingWall([1.0, 0.0, 0.0]), vec![Side::Top(0, 0)])]);
        assert_eq!(m.cells(), 16);
        // The cavity tutorial's numbering: top (3 7 6 2), bottom (0 1 5 4).
        assert_eq!(g.face(Side::Top(0, 0)), [2, 6, 7, 3]);
        assert_eq!(g.face(Side::Bottom(0, 0)), [0, 1, 5, 4]);
        let text = write_file("dictionary", Some("system"), "blockMeshDict", &m.dict()).unwrap();
        assert!(text.contains("hex (0 1 3 2 4 5 7 6) (4 4 1) simpleGrading (1 ((0.5 0.5 4) (0.5 0.5 0.25)) 1)"), "{text}");
        assert!(text.contains("frontAndBack") && text.contains("type            empty;"), "{text}");
    }
}
