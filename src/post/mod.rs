//! Post-processing without ParaView: read an OpenFOAM result (`reader`), derive the mesh
//! geometry (`geom`), interpolate cell values to points (`interp`), and extract what people
//! look at: boundary surfaces, exact cut planes and isosurfaces (`extract`), the mesh's cell
//! outlines on a plane (`cut`), streamlines and probes through a BVH point locator
//! (`stream`), decimated to a triangle budget (`lod`), written as VTK `.vtp` (`vtp`) or as
//! the viewer's chunked binary stream (`chunk`).
//! Little-endian binary numbers, in OpenFOAM's files and VTK's, are decoded in `le`.
//!
//! A pure library: paths in, values out; it knows nothing of HTTP or databases.
pub mod chunk;
pub mod cut;
pub mod extract;
pub mod geom;
pub mod interp;
mod le;
pub mod lod;
pub mod reader;
pub mod stream;
pub mod view;
pub mod vtp;

use geom::{dot, Geometry, V3};
use reader::{Decomposition, PolyMesh, Values, VolField};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// What can go wrong reading or extracting a result, each saying what to fix.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    #[error("reading {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}, line {line}: {what}")]
    Parse { path: String, line: usize, what: String },
    #[error("not found: {0}")]
    Missing(String),
    #[error("{0}")]
    BadInput(String),
}

/// Which copy of the result to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Source {
    /// The reconstructed time when it exists, else `processor*/`.
    #[default]
    Auto,
    Reconstructed,
    Decomposed,
}

impl std::str::FromStr for Source {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Source::Auto),
            "reconstructed" => Ok(Source::Reconstructed),
            "decomposed" => Ok(Source::Decomposed),
            _ => Err(format!("'{s}' is not a source; use auto, reconstructed or decomposed")),
        }
    }
}

/// A field selection as users write it: `p`, `U` (magnitude where a scalar is needed),
/// `U:mag`, `U:x|y|z`, or `Q` (the Q-criterion from the velocity gradient).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldSel {
    pub name: String,
    pub part: Part,
}

/// Which part of a field: the whole of it, a vector's magnitude or one component, or Q
/// (the second invariant of the velocity gradient).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    Whole,
    Mag,
    X,
    Y,
    Z,
    Q,
}

impl FieldSel {
    /// Parses `p`, `U`, `U:mag` or `U:x` (`:y`, `:z`).
    pub fn parse(s: &str) -> Result<FieldSel, PostError> {
        let s = s.trim();
        if s == "Q" {
            return Ok(FieldSel { name: "U".into(), part: Part::Q });
        }
        let (name, part) = match s.split_once(':') {
            None => (s, Part::Whole),
            Some((n, "mag")) => (n, Part::Mag),
            Some((n, "x")) => (n, Part::X),
            Some((n, "y")) => (n, Part::Y),
            Some((n, "z")) => (n, Part::Z),
            Some((_, other)) => {
                return Err(PostError::BadInput(format!(
                    "'{other}' is not a component; use :mag, :x, :y or :z (as in U:mag)"
                )))
            }
        };
        if name.is_empty()
            || !name.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'(' | b')' | b','))
        {
            return Err(PostError::BadInput(format!("'{name}' is not a field name")));
        }
        Ok(FieldSel { name: name.to_string(), part })
    }

    /// How the selection is written back (`U:mag`, `Q`, `p`).
    pub fn label(&self) -> String {
        match self.part {
            Part::Whole => self.name.clone(),
            Part::Mag => format!("{}:mag", self.name),
            Part::X => format!("{}:x", self.name),
            Part::Y => format!("{}:y", self.name),
            Part::Z => format!("{}:z", self.name),
            Part::Q => "Q".into(),
        }
    }

    fn pick(&self, v: [f64; 3]) -> f64 {
        match self.part {
            Part::X => v[0],
            Part::Y => v[1],
            Part::Z => v[2],
            _ => dot(v, v).sqrt(),
        }
    }
}

/// An opened result: the mesh of one time, its geometry, and fields read on demand.
pub struct Case {
    pub root: PathBuf,
    pub time: String,
    /// Every time with results, ascending.
    pub times: Vec<String>,
    pub decomposed: bool,
    pub mesh: PolyMesh,
    pub geom: Geometry,
    decomp: Option<Decomposition>,
    fields: OnceMap<String, VolField>,
    points: OnceMap<FieldSel, Vec<f64>>,
    vectors: OnceMap<String, Vec<V3>>,
    locator: OnceLock<stream::Locator>,
}

/// Values computed once per key. A caller asking for a key that another is still computing
/// waits for that result instead of computing it again (the viewer's requests come in
/// bursts: a slider dragged, the preview and the full pass). A failed computation leaves
/// nothing behind.
struct OnceMap<K, V> {
    slots: Mutex<HashMap<K, Arc<Mutex<Option<Arc<V>>>>>>,
}

impl<K, V> Default for OnceMap<K, V> {
    fn default() -> Self {
        Self { slots: Mutex::default() }
    }
}

impl<K: std::hash::Hash + Eq + Clone, V> OnceMap<K, V> {
    fn get_or_try(&self, key: &K, make: impl FnOnce() -> Result<V, PostError>) -> Result<Arc<V>, PostError> {
        fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
            m.lock().unwrap_or_else(|e| e.into_inner())
        }
        let slot = lock(&self.slots).entry(key.clone()).or_default().clone();
        let mut value = lock(&slot);
        if let Some(v) = &*value {
            return Ok(v.clone());
        }
        match make() {
            Ok(v) => Ok(value.insert(Arc::new(v)).clone()),
            Err(e) => {
                drop(value);
                let mut slots = lock(&self.slots);
                if slots.get(key).is_some_and(|s| Arc::ptr_eq(s, &slot)) {
                    slots.remove(key);
                }
                Err(e)
            }
        }
    }
}

fn time_dirs(dir: &Path) -> Vec<(f64, String)> {
    let mut out: Vec<(f64, String)> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.path().is_dir())
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().to_string();
                    name.parse::<f64>().ok().filter(|t| t.is_finite()).map(|t| (t, name))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

impl Case {
    /// Opens `root` at `time` (the latest with results when `None`).
    pub fn open(root: &Path, time: Option<&str>, source: Source) -> Result<Case, PostError> {
        if !root.join("constant").is_dir() && !root.join("processor0").is_dir() {
            return Err(PostError::Missing(format!(
                "{} is not an OpenFOAM case (no constant/ or processor0/ directory)",
                root.display()
            )));
        }
        let recon = time_dirs(root);
        let proc = time_dirs(&root.join("processor0"));
        let pick = |list: &[(f64, String)]| -> Option<String> {
            match time {
                Some(t) => {
                    let want: f64 = t.parse().ok()?;
                    list.iter().find(|(v, _)| (*v - want).abs() <= 1e-9 * want.abs().max(1.0)).map(|(_, n)| n.clone())
                }
                None => list.last().map(|(_, n)| n.clone()),
            }
        };
        let (r, d) = (pick(&recon), pick(&proc));
        let use_decomposed = match source {
            Source::Reconstructed => false,
            Source::Decomposed => true,
            Source::Auto => match (&r, &d) {
                (Some(a), Some(b)) => b.parse::<f64>().unwrap_or(0.0) > a.parse::<f64>().unwrap_or(0.0),
                (None, Some(_)) => true,
                _ => false,
            },
        };
        let (chosen, all) = if use_decomposed { (d, &proc) } else { (r, &recon) };
        let times: Vec<String> = all.iter().map(|(_, n)| n.clone()).collect();
        let time = chosen.ok_or_else(|| {
            let where_ = if use_decomposed { "processor0/" } else { "the case" };
            match time {
                Some(t) => PostError::Missing(format!(
                    "time {t} in {where_}; times there: {}",
                    if times.is_empty() { "none".into() } else { times.join(", ") }
                )),
                None => PostError::Missing(format!("any time directory in {where_} {}", root.display())),
            }
        })?;
        let mesh_dir = |base: &Path| -> PathBuf {
            let moving = base.join(&time).join("polyMesh");
            if moving.join("points").is_file() || moving.join("points.gz").is_file() {
                moving
            } else {
                base.join("constant/polyMesh")
            }
        };
        let (mesh, decomp) = if use_decomposed {
            let (m, d) = reader::read_decomposed(root, &mesh_dir)?;
            (m, Some(d))
        } else {
            (reader::read_polymesh(&mesh_dir(root))?, None)
        };
        let geom = Geometry::new(&mesh);
        Ok(Case {
            root: root.to_path_buf(),
            time,
            times,
            decomposed: use_decomposed,
            mesh,
            geom,
            decomp,
            fields: OnceMap::default(),
            points: OnceMap::default(),
            vectors: OnceMap::default(),
            locator: OnceLock::new(),
        })
    }

    fn time_dir(&self) -> PathBuf {
        match &self.decomp {
            Some(d) => d.dirs[0].join(&self.time),
            None => self.root.join(&self.time),
        }
    }

    /// The volume fields of the chosen time: (name, is vector), sorted.
    pub fn field_names(&self) -> Vec<(String, bool)> {
        let mut out: Vec<(String, bool)> = std::fs::read_dir(self.time_dir())
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter(|e| e.path().is_file())
                    .filter_map(|e| {
                        let class = reader::file_class(&e.path())?;
                        let name = e.file_name().to_string_lossy().trim_end_matches(".gz").to_string();
                        match class.as_str() {
                            "volScalarField" => Some((name, false)),
                            "volVectorField" => Some((name, true)),
                            _ => None,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out.dedup();
        out
    }

    /// A volume field as stored, read once.
    pub fn field(&self, name: &str) -> Result<Arc<VolField>, PostError> {
        self.fields.get_or_try(&name.to_string(), || self.read_field(name))
    }

    fn read_field(&self, name: &str) -> Result<VolField, PostError> {
        let present = self.field_names();
        if !present.iter().any(|(n, _)| n == name) {
            let names: Vec<&str> = present.iter().map(|(n, _)| n.as_str()).collect();
            return Err(PostError::BadInput(format!(
                "no field '{name}' at time {}; fields there: {}",
                self.time,
                if names.is_empty() { "none".to_string() } else { names.join(", ") }
            )));
        }
        let f = match &self.decomp {
            Some(d) => d.read_field(&self.time, name, &self.mesh)?,
            None => reader::read_field(&self.time_dir().join(name), &self.mesh)?,
        };
        if f.cells.len() != self.mesh.n_cells {
            return Err(PostError::BadInput(format!(
                "{name} has {} cell values; the mesh has {} cells",
                f.cells.len(),
                self.mesh.n_cells
            )));
        }
        Ok(f)
    }

    /// A scalar selection at every mesh point.
    pub fn point_scalars(&self, sel: &FieldSel) -> Result<Arc<Vec<f64>>, PostError> {
        self.points.get_or_try(sel, || self.make_point_scalars(sel))
    }

    fn make_point_scalars(&self, sel: &FieldSel) -> Result<Vec<f64>, PostError> {
        let f = self.field(&sel.name)?;
        Ok(match (&f.cells, sel.part) {
            (Values::Scalar(_), Part::Whole | Part::Mag) => {
                let (c, b) = interp::samples(&self.mesh, &f, interp::scalar_at);
                let (v, _) =
                    interp::fit_points(&self.mesh, &self.geom, &interp::Samples { cells: &c, bfaces: &b }, false);
                v.into_iter().map(|x| x[0]).collect()
            }
            (Values::Scalar(_), _) => {
                return Err(PostError::BadInput(format!("{} is a scalar; it has no {}", sel.name, sel.label())))
            }
            (Values::Vector(_), Part::Q) => {
                let (c, b) = interp::samples(&self.mesh, &f, interp::vector_at);
                let (_, g) =
                    interp::fit_points(&self.mesh, &self.geom, &interp::Samples { cells: &c, bfaces: &b }, true);
                g.iter().map(q_criterion).collect()
            }
            (Values::Vector(_), _) => self.point_vectors(&sel.name)?.iter().map(|&v| sel.pick(v)).collect(),
        })
    }

    /// A vector field at every mesh point.
    pub fn point_vectors(&self, name: &str) -> Result<Arc<Vec<V3>>, PostError> {
        self.vectors.get_or_try(&name.to_string(), || {
            let f = self.field(name)?;
            if !f.cells.is_vector() {
                return Err(PostError::BadInput(format!(
                    "{name} is a scalar field; a vector field (such as U) is needed"
                )));
            }
            let (c, b) = interp::samples(&self.mesh, &f, interp::vector_at);
            Ok(interp::fit_points(&self.mesh, &self.geom, &interp::Samples { cells: &c, bfaces: &b }, false).0)
        })
    }

    /// The point locator (a BVH over cell bounds), built on first use.
    pub fn locator(&self) -> &stream::Locator {
        self.locator.get_or_init(|| stream::Locator::new(&self.mesh, &self.geom))
    }

    /// Patches matching names, globs (`motorBike*`) or group names; all patches that carry
    /// values (walls first choice) when `names` is empty.
    pub fn select_patches(&self, names: &[String]) -> Result<Vec<usize>, PostError> {
        let ps = &self.mesh.patches;
        if names.is_empty() {
            let walls: Vec<usize> = (0..ps.len()).filter(|&i| ps[i].kind == "wall" && ps[i].size > 0).collect();
            if !walls.is_empty() {
                return Ok(walls);
            }
            return Ok((0..ps.len()).filter(|&i| geom::carries_values(&ps[i].kind)).collect());
        }
        let mut out = Vec::new();
        for n in names {
            let hits: Vec<usize> =
                (0..ps.len()).filter(|&i| glob(n, &ps[i].name) || ps[i].groups.iter().any(|g| glob(n, g))).collect();
            if hits.is_empty() {
                let all: Vec<&str> = ps.iter().map(|p| p.name.as_str()).collect();
                return Err(PostError::BadInput(format!("no patch or group '{n}'; patches: {}", all.join(", "))));
            }
            out.extend(hits);
        }
        out.sort();
        out.dedup();
        Ok(out)
    }
}

/// `X,Y,Z` as three finite numbers (command-line and query-string points and vectors).
pub fn parse_vec3(s: &str) -> Result<[f64; 3], String> {
    let v: Vec<f64> =
        s.split(',').map(|x| x.trim().parse::<f64>()).collect::<Result<_, _>>().map_err(|e| format!("{s:?}: {e}"))?;
    match v.as_slice() {
        [a, b, c] if v.iter().all(|x| x.is_finite()) => Ok([*a, *b, *c]),
        _ => Err(format!("{s:?}: expected three finite numbers X,Y,Z")),
    }
}

/// Q = ½(‖Ω‖² − ‖S‖²) from a velocity gradient (rows: components, columns: d/dx_j).
fn q_criterion(g: &[V3; 3]) -> f64 {
    let mut q = 0.0;
    for i in 0..3 {
        for j in 0..3 {
            let s = 0.5 * (g[i][j] + g[j][i]);
            let w = 0.5 * (g[i][j] - g[j][i]);
            q += w * w - s * s;
        }
    }
    0.5 * q
}

/// `*` matches any run of characters; everything else literally.
fn glob(pat: &str, s: &str) -> bool {
    match pat.split_once('*') {
        None => pat == s,
        Some((head, rest)) => {
            let Some(tail) = s.strip_prefix(head) else { return false };
            if rest.is_empty() {
                return true;
            }
            (0..=tail.len()).any(|i| tail.is_char_boundary(i) && glob(rest, &tail[i..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_map_computes_each_key_once_and_forgets_failures() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let m: OnceMap<&str, usize> = OnceMap::default();
        let calls = AtomicUsize::new(0);
        std::thread::scope(|sc| {
            for _ in 0..4 {
                sc.spawn(|| {
                    let v = m
                        .get_or_try(&"a", || {
                            calls.fetch_add(1, Ordering::SeqCst);
                            std::thread::sleep(std::time::Duration::from_millis(50));
                            Ok(7)
                        })
                        .unwrap();
                    assert_eq!(*v, 7);
                });
            }
        });
        assert_eq!(calls.load(Ordering::SeqCst), 1, "concurrent callers wait for the first");
        assert!(m.get_or_try(&"b", || Err(PostError::BadInput("no".into()))).is_err());
        assert!(!m.slots.lock().unwrap().contains_key("b"), "a failure leaves no slot");
        assert_eq!(*m.get_or_try(&"b", || Ok(2)).unwrap(), 2);
    }

    #[test]
    fn field_selections_parse() {
        assert_eq!(FieldSel::parse("U:mag").unwrap(), FieldSel { name: "U".into(), part: Part::Mag });
        assert_eq!(FieldSel::parse("Q").unwrap().part, Part::Q);
        assert_eq!(FieldSel::parse("p").unwrap().label(), "p");
        let e = FieldSel::parse("U:w").unwrap_err().to_string();
        assert!(e.contains(":mag"), "{e}");
        assert!(FieldSel::parse("p;#codeStream").is_err());
    }

    #[test]
    fn globs_match() {
        assert!(glob("motorBike*", "motorBike_frt-fairing:001%1"));
        assert!(!glob("*wall*", "lowerWall"));
        assert!(glob("*Wall", "lowerWall"));
        assert!(!glob("inlet", "inlet2"));
    }

    #[test]
    fn q_of_solid_rotation_is_positive_and_of_shear_zero() {
        // u = (-y, x, 0): pure rotation, Q = 1.
        let rot = [[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0; 3]];
        assert!((q_criterion(&rot) - 1.0).abs() < 1e-12);
        let shear = [[0.0, 1.0, 0.0], [0.0; 3], [0.0; 3]];
        assert!(q_criterion(&shear).abs() < 1e-12);
    }
}
