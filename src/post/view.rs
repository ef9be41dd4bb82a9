//! A view: one extraction with its parameters, as the CLI, the API and stored
//! `postprocessing_views` all name it. `extract` runs it.
use super::extract::{self, PolyData};
use super::geom::{cross, norm, sub, V3};
use super::stream::{self, Direction, StreamOptions};
use super::{Case, FieldSel, PostError};
use serde::{Deserialize, Serialize};

/// One extraction, as the CLI, the API and saved views name it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum View {
    /// Boundary patches (names, globs or groups; walls when empty).
    Surface {
        #[serde(default)]
        patches: Vec<String>,
        field: Option<String>,
    },
    Slice {
        origin: V3,
        normal: V3,
        field: Option<String>,
    },
    Iso {
        field: String,
        value: f64,
        color_by: Option<String>,
        /// `cells` (default) or `tets`; see `extract::Method`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        method: Option<String>,
    },
    Streamlines {
        seeds: Seeds,
        count: usize,
        #[serde(default = "default_u")]
        field: String,
        color_by: Option<String>,
        max_length: Option<f64>,
        #[serde(default = "default_direction")]
        direction: String,
    },
}

fn default_u() -> String {
    "U".into()
}
fn default_direction() -> String {
    "both".into()
}

/// Where streamlines start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Seeds {
    Line {
        from: V3,
        to: V3,
    },
    /// A square of side `size` centred on `origin`, across `normal`.
    Plane {
        origin: V3,
        normal: V3,
        size: f64,
    },
    Box {
        lo: V3,
        hi: V3,
    },
}

/// The most streamlines one view may ask for.
pub const MAX_STREAMLINES: usize = 20_000;

fn sel(s: &str) -> Result<FieldSel, PostError> {
    FieldSel::parse(s)
}

impl View {
    /// A stable text form for cache keys.
    pub fn key(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// `surface`, `slice`, `iso` or `streamlines`.
    pub fn kind(&self) -> &'static str {
        match self {
            View::Surface { .. } => "surface",
            View::Slice { .. } => "slice",
            View::Iso { .. } => "iso",
            View::Streamlines { .. } => "streamlines",
        }
    }
}

/// Runs a view on an opened case.
pub fn extract(case: &Case, view: &View) -> Result<PolyData, PostError> {
    match view {
        View::Surface { patches, field } => {
            let ps = case.select_patches(patches)?;
            let f = field.as_deref().map(sel).transpose()?;
            extract::surface(case, &ps, f.as_ref())
        }
        View::Slice { origin, normal, field } => {
            let f = field.as_deref().map(sel).transpose()?;
            extract::slice(case, *origin, *normal, f.as_ref())
        }
        View::Iso { field, value, color_by, method } => {
            let f = sel(field)?;
            let c = color_by.as_deref().map(sel).transpose()?;
            let m = method.as_deref().map(str::parse).transpose()?.unwrap_or_default();
            extract::iso(case, &f, *value, c.as_ref(), m)
        }
        View::Streamlines { seeds, count, field, color_by, max_length, direction } => {
            if *count == 0 || *count > MAX_STREAMLINES {
                return Err(PostError::BadInput(format!(
                    "the streamline count must be 1 to {MAX_STREAMLINES}; it is {count}"
                )));
            }
            let pts = match seeds {
                Seeds::Line { from, to } => stream::seeds_on_line(*from, *to, *count),
                Seeds::Plane { origin, normal, size } => {
                    let n = norm(*normal);
                    if n == 0.0 || !n.is_finite() || !(*size > 0.0) {
                        return Err(PostError::BadInput(
                            "a seed plane needs a non-zero normal and a positive size".into(),
                        ));
                    }
                    let nn = normal.map(|x| x / n);
                    let helper = if nn[0].abs() < 0.9 { [1.0, 0.0, 0.0] } else { [0.0, 1.0, 0.0] };
                    let u = cross(nn, helper);
                    let u = u.map(|x| x / norm(u) * size);
                    let v = cross(nn, u);
                    let side = (*count as f64).sqrt().ceil() as usize;
                    let corner = sub(sub(*origin, u.map(|x| x / 2.0)), v.map(|x| x / 2.0));
                    let mut s = stream::seeds_on_plane(corner, u, v, side, side);
                    s.truncate(*count);
                    s
                }
                Seeds::Box { lo, hi } => stream::seeds_in_box(*lo, *hi, *count, 1),
            };
            let direction = match direction.as_str() {
                "forward" => Direction::Forward,
                "backward" => Direction::Backward,
                "both" => Direction::Both,
                d => {
                    return Err(PostError::BadInput(format!("'{d}' is not a direction; use forward, backward or both")))
                }
            };
            let opt = StreamOptions {
                field: sel(field)?.name,
                color_by: color_by.as_deref().map(sel).transpose()?,
                direction,
                max_length: *max_length,
                ..StreamOptions::default()
            };
            stream::streamlines(case, &pts, &opt)
        }
    }
}
