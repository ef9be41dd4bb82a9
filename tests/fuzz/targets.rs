//! The fuzz targets: what the server does with bytes it did not write itself. An upload
//! goes through the STL or OBJ reader, healing and analysis; a case spec through the TOML
//! or JSON parser, validation and case assembly; a result through the OpenFOAM readers
//! (`post::Case::open`, the field list and each field), ascii, binary and decomposed.
use flowcfd::foam::spec::CaseSpec;
use flowcfd::geometry::{analyse::analyse, heal, primitives, read_bytes, ReadOptions};
use flowcfd::post::{Case, FieldSel, Source};
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

/// Limits as the server sets them, but a triangle limit small enough that a mutated
/// binary header cannot make one execution take seconds.
fn read_opts() -> ReadOptions {
    ReadOptions { scale: 1.0, max_bytes: 1 << 20, max_triangles: 200_000, ..Default::default() }
}

/// `service::geometries::process` without the storage: read, heal, analyse, report.
fn surface(name: &str, data: &[u8]) -> String {
    match read_bytes(name, data, &read_opts()) {
        Err(e) => e.to_string(),
        Ok(raw) => {
            let (s, report) = heal::heal(raw, &heal::HealOptions::default());
            let a = analyse(&s, [1.0, 0.0, 0.0]);
            let _ = serde_json::to_string(&report);
            let _ = serde_json::to_string(&a);
            format!("ok: {} groups, watertight {}", a.groups.len(), a.watertight)
        }
    }
}

pub fn stl(data: &[u8]) -> String {
    surface("upload.stl", data)
}

pub fn obj(data: &[u8]) -> String {
    surface("upload.obj", data)
}

/// A unit cube, analysed once: what a case spec is assembled against.
fn cube() -> &'static (flowcfd::geometry::Surface, flowcfd::geometry::analyse::Analysis) {
    static CUBE: OnceLock<(flowcfd::geometry::Surface, flowcfd::geometry::analyse::Analysis)> = OnceLock::new();
    CUBE.get_or_init(|| {
        // Two faces named `in` and `out`, so that internal-flow specs have an inlet and an
        // outlet to name.
        let mut s = primitives::cuboid([0.0; 3], [1.0; 3], "cube");
        s.groups = vec!["cube".into(), "in".into(), "out".into()];
        s.tri_group = (0..s.tris.len() as u32).map(|t| if t < 4 { t / 2 + 1 } else { 0 }).collect();
        let a = analyse(&s, [1.0, 0.0, 0.0]);
        (s, a)
    })
}

/// A case spec as the CLI (TOML) or the API (JSON, when it starts with `{`) reads it, then
/// assembled into the case's dictionaries.
pub fn spec(data: &[u8]) -> String {
    let text = String::from_utf8_lossy(data);
    let parsed = if text.trim_start().starts_with('{') {
        CaseSpec::from_json(&text)
    } else {
        CaseSpec::from_toml(&text, "case.toml")
    };
    match parsed {
        Err(e) => e.to_string(),
        Ok(spec) => {
            let (s, a) = cube();
            match flowcfd::foam::case::build(&spec, s, a, None) {
                Ok(_) => "ok".into(),
                Err(e) => e.to_string(),
            }
        }
    }
}

/// A directory of its own per fuzzing thread, on tmpfs where there is one.
fn scratch() -> PathBuf {
    thread_local! {
        static DIR: tempfile::TempDir = {
            let shm = Path::new("/dev/shm");
            let b = tempfile::Builder::new().prefix("flowcfd-fuzz").tempdir_in(if shm.is_dir() { shm } else { Path::new("/tmp") });
            b.or_else(|_| tempfile::tempdir()).expect("a scratch directory")
        };
    }
    DIR.with(|d| d.path().join("case"))
}

/// Splits a case container (`@@ relative/path` lines, each followed by the file's bytes)
/// into files, keeping only plain relative paths.
pub fn unpack(data: &[u8]) -> Vec<(PathBuf, &[u8])> {
    let mut out = Vec::new();
    let mut starts = Vec::new();
    if data.starts_with(b"@@ ") {
        starts.push(0);
    }
    starts.extend(data.windows(4).enumerate().filter(|(_, w)| w == b"\n@@ ").map(|(i, _)| i + 1));
    for (k, &s) in starts.iter().enumerate() {
        let end = starts.get(k + 1).map(|&e| e - 1).unwrap_or(data.len());
        let Some(nl) = data[s..end].iter().position(|&c| c == b'\n') else { continue };
        let name = String::from_utf8_lossy(&data[s + 3..s + nl]).trim().to_string();
        let path = PathBuf::from(&name);
        let plain = path.components().all(|c| matches!(c, Component::Normal(_)))
            && path.components().count() <= 5
            && name.bytes().all(|c| c.is_ascii_alphanumeric() || b"_./-".contains(&c));
        if plain && !name.is_empty() && out.len() < 40 {
            out.push((path, &data[s + nl + 1..end]));
        }
    }
    out
}

/// Writes the container as a case and reads it the way the results viewer does.
pub fn foam(data: &[u8]) -> String {
    let root = scratch();
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    for (rel, bytes) in unpack(data) {
        let p = root.join(rel);
        if let Some(d) = p.parent() {
            // A path that is both a file and a directory in the container: skip the clash.
            if std::fs::create_dir_all(d).is_err() {
                continue;
            }
        }
        let _ = std::fs::write(&p, bytes);
    }
    let case = match Case::open(&root, None, Source::Auto) {
        Ok(c) => c,
        Err(e) => return format!("open: {e}"),
    };
    let mut out = format!("ok: {} cells", case.mesh.n_cells);
    for (name, _vector) in case.field_names() {
        match case.field(&name) {
            Err(e) => out = format!("field: {e}"),
            // A vector field gives its magnitude at the points, as the viewer colours it.
            Ok(_) => match FieldSel::parse(&name).map(|sel| case.point_scalars(&sel)) {
                Ok(Err(e)) => out = format!("points: {e}"),
                Err(e) => out = format!("name: {e}"),
                Ok(Ok(_)) => {}
            },
        }
    }
    out
}

/// Keywords of each format, for token-level mutations.
pub const STL_DICT: &[&str] =
    &["solid", "endsolid", "facet", "normal", "outer", "loop", "vertex", "endloop", "endfacet", "\u{feff}", "\r\n"];
pub const OBJ_DICT: &[&str] = &["v", "vn", "vt", "f", "g", "o", "usemtl", "s", "l", "#", "/", "//", "-1", "\n"];
pub const SPEC_DICT: &[&str] = &[
    "[flow]",
    "[mesh]",
    "[solver]",
    "[fluid]",
    "[turbulence]",
    "[boundaries]",
    "[reference]",
    "[mesh.layers]",
    "[[mesh.refinement_boxes]]",
    "[flow.tunnel]",
    "type",
    "velocity",
    "external",
    "internal",
    "target_cells",
    "base_cell_size",
    "surface_level",
    "group_levels",
    "feature_level",
    "cores",
    "iterations",
    "scale",
    "=",
    "\"",
    "true",
    "false",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    "1e300",
    "-1e300",
    "0.0",
    "velocity_inlet",
    "pressure_outlet",
    "wall",
    "slip",
    "symmetry",
    "ground",
    "upstream",
    "nu",
    "rho",
    "intensity",
    "kOmegaSST",
    "laminar",
    "count",
    "expansion_ratio",
    "first_layer_thickness",
    "target_yplus",
    "Aref",
    "lRef",
    "CofR",
    "patches",
    "mesh_only",
];
pub const FOAM_DICT: &[&str] = &[
    "FoamFile",
    "format",
    "binary",
    "ascii",
    "class",
    "arch",
    "\"LSB;label=64;scalar=32\"",
    "\"LSB;label=32;scalar=64\"",
    "volScalarField",
    "volVectorField",
    "faceCompactList",
    "faceList",
    "labelList",
    "polyBoundaryMesh",
    "internalField",
    "boundaryField",
    "uniform",
    "nonuniform",
    "List<scalar>",
    "List<vector>",
    "List<label>",
    "List<tensor>",
    "value",
    "type",
    "nFaces",
    "startFace",
    "inGroups",
    "processor",
    "#include",
    "(",
    ")",
    "{",
    "}",
    ";",
    "0()",
    "3{0}",
    "2{(1 2 3)}",
    "//",
    "/*",
    "*/",
    "\"",
    "@@ constant/polyMesh/owner\n",
    "@@ 0/p\n",
    "@@ processor1/constant/polyMesh/faceProcAddressing\n",
    "@@ 1/polyMesh/points\n",
];
