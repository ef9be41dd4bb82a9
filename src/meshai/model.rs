//! The mesh AI's ONNX model (`mesh-ai/train.py`), run with ort over tract: pure Rust,
//! nothing downloaded at build or run time. A model is a directory with `mesh_ai.onnx`
//! (fixed input shapes) and `model.json` (feature names, normalisation, training ranges).
use serde::Deserialize;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

/// Why the model cannot answer.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("the mesh model could not be loaded ({0}); the rules are used instead")]
    Load(String),
    #[error("the mesh model's model.json is not valid ({0})")]
    Meta(String),
    #[error("the mesh model failed ({0})")]
    Run(String),
}

/// `model.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct Meta {
    pub features: Vec<String>,
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
    pub grid: usize,
    pub range: Range,
    /// Whether the y+ head beat the wall-shear estimate alone on the held-out solves when it
    /// was trained (`train.py` decides, with enough of them); otherwise its correction is
    /// not applied.
    #[serde(default)]
    pub yplus_head_validated: bool,
}

/// The smallest and largest value of each raw feature in the training data.
#[derive(Debug, Clone, Deserialize)]
pub struct Range {
    pub min: Vec<f32>,
    pub max: Vec<f32>,
}

/// The raw heads (see `mesh-ai/train.py` for their meaning).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Output {
    pub base: Vec<f32>,
    pub levels: Vec<f32>,
    #[serde(rename = "box")]
    pub boxes: Vec<f32>,
    pub layers: Vec<f32>,
    /// ln(actual cells / the rules' estimate) for these parameters on this shape (models
    /// from before this head have none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cells: Option<Vec<f32>>,
    /// Predicted fraction of the walls covered by 1, 2, … layers on this shape (models from
    /// before this head have none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage: Option<Vec<f32>>,
    /// ln(measured y+ / the wall-shear estimate's y+) on this shape: the correction to
    /// [`crate::foam::friction`] (models from before this head have none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub yplus: Option<Vec<f32>>,
}

/// A loaded mesh model: the ONNX session and its card (inputs, ranges, outputs).
pub struct Model {
    session: Mutex<ort::session::Session>,
    pub meta: Meta,
}

/// The one ONNX environment of the process (ort allows one), on the tract backend.
fn environment() -> Result<&'static ort::environment::Environment, ModelError> {
    static ENV: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        ort::set_api(ort_tract::api());
        ort::init().with_name("flowcfd-mesh-ai").build().map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|e| ModelError::Load(e.clone()))
}

impl Model {
    /// Loads a model from its bytes and its `model.json` text.
    pub fn load(onnx: &[u8], meta_json: &str) -> Result<Model, ModelError> {
        let meta: Meta = serde_json::from_str(meta_json).map_err(|e| ModelError::Meta(e.to_string()))?;
        let nf = meta.features.len();
        if nf == 0
            || meta.mean.len() != nf
            || meta.std.len() != nf
            || meta.range.min.len() != nf
            || meta.range.max.len() != nf
        {
            return Err(ModelError::Meta(format!("{nf} features, but normalisation and ranges of other lengths")));
        }
        if !(4..=256).contains(&meta.grid) {
            return Err(ModelError::Meta(format!("grid {} is not 4 to 256 cells per side", meta.grid)));
        }
        let env = environment()?;
        let session = ort::session::Session::builder(env)
            .and_then(|mut b| b.commit_from_memory(onnx))
            .map_err(|e| ModelError::Load(e.to_string()))?;
        Ok(Model { session: Mutex::new(session), meta })
    }

    /// Loads `DIR/mesh_ai.onnx` with `DIR/model.json`.
    pub fn load_dir(dir: &Path) -> Result<Model, ModelError> {
        let read = |name: &str| {
            std::fs::read(dir.join(name)).map_err(|e| ModelError::Load(format!("{}: {e}", dir.join(name).display())))
        };
        let onnx = read("mesh_ai.onnx")?;
        let meta = String::from_utf8(read("model.json")?).map_err(|_| ModelError::Meta("not UTF-8".into()))?;
        Model::load(&onnx, &meta)
    }

    /// The first raw feature outside the training range (with a tenth of the range as
    /// margin), or a feature that is not a number: why the rules should answer instead.
    pub fn out_of_range(&self, features: &[f32]) -> Option<String> {
        for (i, name) in self.meta.features.iter().enumerate() {
            let x = features.get(i).copied().unwrap_or(f32::NAN);
            if !x.is_finite() {
                return Some(format!("input {name} is not a finite number"));
            }
            let (lo, hi) = (self.meta.range.min[i], self.meta.range.max[i]);
            let margin = 0.1 * (hi - lo).abs();
            if x < lo - margin || x > hi + margin {
                return Some(format!("input {name} = {x:.3} is outside the training range {lo:.3} to {hi:.3}"));
            }
        }
        None
    }

    /// Runs the model on an occupancy grid (`grid³` bytes, see `voxel`) and raw features.
    pub fn run(&self, grid: &[u8], features: &[f32]) -> Result<Output, ModelError> {
        let n = self.meta.grid;
        let nf = self.meta.features.len();
        if grid.len() != n * n * n || features.len() != nf {
            return Err(ModelError::Run(format!(
                "expected a {n}³ grid and {nf} features, got {} cells and {} features",
                grid.len(),
                features.len()
            )));
        }
        let v = ndarray::Array::from_shape_fn((1, 1, n, n, n), |(_, _, i, j, k)| grid[(i * n + j) * n + k] as f32);
        let f = ndarray::Array::from_shape_fn((1, nf), |(_, i)| (features[i] - self.meta.mean[i]) / self.meta.std[i]);
        let err = |e: ort::Error| ModelError::Run(e.to_string());
        let mut session = self.session.lock().unwrap_or_else(|p| p.into_inner());
        let inputs = ort::inputs![
            ort::value::TensorRef::from_array_view(&v).map_err(err)?,
            ort::value::TensorRef::from_array_view(&f).map_err(err)?
        ];
        let out = session.run(inputs).map_err(err)?;
        let head = |name: &str| -> Result<Vec<f32>, ModelError> {
            let a = out
                .get(name)
                .ok_or_else(|| ModelError::Run(format!("the model has no output {name:?}")))?
                .try_extract_array::<f32>()
                .map_err(err)?;
            Ok(a.iter().copied().collect())
        };
        let optional = |name: &str| if out.get(name).is_some() { head(name).map(Some) } else { Ok(None) };
        let o = Output {
            base: head("base")?,
            levels: head("levels")?,
            boxes: head("box")?,
            layers: head("layers")?,
            cells: optional("cells")?,
            coverage: optional("coverage")?,
            yplus: optional("yplus")?,
        };
        // A model that outputs NaN or infinity has failed: the rules answer, saying so.
        let heads = [
            Some(&o.base),
            Some(&o.levels),
            Some(&o.boxes),
            Some(&o.layers),
            o.cells.as_ref(),
            o.coverage.as_ref(),
            o.yplus.as_ref(),
        ];
        if heads.iter().flatten().any(|h| h.iter().any(|x| !x.is_finite())) {
            return Err(ModelError::Run("it gave a value that is not a finite number".into()));
        }
        if o.base.is_empty() || o.levels.len() < 2 || o.layers.len() < 3 {
            return Err(ModelError::Run("a head gave fewer values than expected".into()));
        }
        Ok(o)
    }
}
