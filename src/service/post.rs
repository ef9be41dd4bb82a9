//! A job's result behind the API: the case archive unpacked once per server into
//! `data_dir/post/{job}`, opened with `post::Case` (the last two kept in memory), and each
//! extraction cached in the object store per (job, view) as the viewer's chunked stream.
use crate::error::{AppError, AppResult};
use crate::post::view::{Seeds, View};
use crate::post::{self, parse_vec3, Case, FieldSel, PostError};
use crate::service::{jobs, Caller};
use crate::state::AppState;
use crate::store::JobStatus;
use crate::store::PostView;
use serde::Serialize;
use serde_json::Value;
use sha2::Digest;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The default triangle budget of one extraction sent to the browser.
pub const DEFAULT_MAX_TRIANGLES: usize = 2_000_000;

impl From<PostError> for AppError {
    fn from(e: PostError) -> Self {
        match e {
            PostError::BadInput(m) => AppError::Validation(m),
            PostError::Missing(m) => AppError::Validation(format!("the result has no {m}")),
            other => AppError::Internal(other.to_string()),
        }
    }
}

type Opened = Mutex<Vec<(String, Arc<Case>)>>;

fn opened() -> &'static Opened {
    static CASES: std::sync::OnceLock<Opened> = std::sync::OnceLock::new();
    CASES.get_or_init(Mutex::default)
}

/// The job's result, opened (unpacking its case archive on first use).
pub async fn case(st: &AppState, caller: &Caller, job_id: &str) -> AppResult<(crate::store::Job, Arc<Case>)> {
    let (job, _) = jobs::get(st, caller, job_id).await?;
    if job.status != JobStatus::Completed {
        return Err(AppError::Conflict(format!(
            "the job is {}; its results can be viewed once it has completed",
            job.status.as_str()
        )));
    }
    if let Some((_, c)) = opened().lock().unwrap().iter().find(|(id, _)| *id == job.id) {
        return Ok((job, c.clone()));
    }
    let dir = st.cfg.data_dir.join("post").join(&job.id);
    if !dir.is_dir() {
        let bytes = st.blobs.get(&format!("jobs/{}/case.tar.gz", job.id)).await.map_err(|e| match e {
            crate::blob::BlobError::NotFound(_) => {
                AppError::Conflict("the job kept no case archive, so there is no result to view".into())
            }
            other => other.into(),
        })?;
        let target = dir.clone();
        tokio::task::spawn_blocking(move || unpack_once(&bytes, &target))
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?
            .map_err(|e| AppError::Internal(format!("unpacking the case: {e}")))?;
    }
    let path: PathBuf = dir.join("case");
    let c = tokio::task::spawn_blocking(move || Case::open(&path, None, post::Source::Auto))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))??;
    let c = Arc::new(c);
    let mut cache = opened().lock().unwrap();
    cache.retain(|(id, _)| *id != job.id);
    cache.push((job.id.clone(), c.clone()));
    if cache.len() > 2 {
        cache.remove(0);
    }
    Ok((job, c))
}

/// Unpacks a case archive (`.tar.gz`) to `target`, which appears whole or not at all.
///
/// Each caller unpacks into a directory of its own beside `target` and renames it into
/// place; rename(2) is atomic, so a reader never sees part of an unpack. When several
/// first opens race, the first rename wins, the others find `target` there (the rename
/// fails, as it does onto a non-empty directory), drop their copy and use the winner's. A
/// `target` that exists is complete: nothing else creates it.
pub fn unpack_once(archive: &[u8], target: &std::path::Path) -> std::io::Result<()> {
    let parent = target.parent().ok_or_else(|| std::io::Error::other("the unpack target has no parent"))?;
    std::fs::create_dir_all(parent)?;
    let name = target.file_name().unwrap_or_default().to_string_lossy();
    let tmp = parent.join(format!(".{name}.unpacking-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir(&tmp)?;
    let unpacked = (|| {
        let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
        ar.set_preserve_permissions(false);
        // unpack() refuses entries that would escape the directory.
        ar.unpack(&tmp)?;
        std::fs::rename(&tmp, target)
    })();
    if unpacked.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
        if target.is_dir() {
            // Another open won the race (or our rename lost to it): its unpack is whole.
            return Ok(());
        }
    }
    unpacked
}

/// What a result holds: times, fields, patches, bounds.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ResultIndex {
    /// The time shown (the latest written).
    pub time: String,
    pub times: Vec<String>,
    pub cells: usize,
    pub points: usize,
    /// Whether it was read from `processor*/`.
    pub decomposed: bool,
    /// `[[xmin, ymin, zmin], [xmax, ymax, zmax]]`, m.
    pub bounds: [[f64; 3]; 2],
    pub fields: Vec<FieldInfo>,
    pub patches: Vec<PatchInfo>,
}

/// A field of the result.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FieldInfo {
    pub name: String,
    pub vector: bool,
}

/// A boundary patch that carries values.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PatchInfo {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub faces: usize,
    pub groups: Vec<String>,
}

/// What the result of a job holds.
pub async fn index(st: &AppState, caller: &Caller, job_id: &str) -> AppResult<ResultIndex> {
    let (_, c) = case(st, caller, job_id).await?;
    let fields = c.field_names().into_iter().map(|(name, vector)| FieldInfo { name, vector }).collect();
    let patches = c
        .mesh
        .patches
        .iter()
        .filter(|p| post::geom::carries_values(&p.kind))
        .map(|p| PatchInfo { name: p.name.clone(), kind: p.kind.clone(), faces: p.size, groups: p.groups.clone() })
        .collect();
    Ok(ResultIndex {
        time: c.time.clone(),
        times: c.times.clone(),
        cells: c.mesh.n_cells,
        points: c.mesh.points.len(),
        decomposed: c.decomposed,
        bounds: [c.geom.bbox.0, c.geom.bbox.1],
        fields,
        patches,
    })
}

fn vec3(q: &HashMap<String, String>, key: &str) -> AppResult<Option<[f64; 3]>> {
    let Some(s) = q.get(key) else { return Ok(None) };
    parse_vec3(s).map(Some).map_err(|e| AppError::Validation(format!("{key}: {e}")))
}

fn need<'a>(q: &'a HashMap<String, String>, key: &str, kind: &str) -> AppResult<&'a String> {
    q.get(key).ok_or_else(|| AppError::Validation(format!("a {kind} needs '{key}'")))
}

fn num<T: std::str::FromStr>(q: &HashMap<String, String>, key: &str) -> AppResult<Option<T>> {
    q.get(key)
        .map(|s| s.parse::<T>().map_err(|_| AppError::Validation(format!("{key}: '{s}' is not a number"))))
        .transpose()
}

/// A view from `GET /api/jobs/{id}/post/{kind}` query parameters.
pub fn view_from_query(kind: &str, q: &HashMap<String, String>) -> AppResult<View> {
    let field = q.get("field").cloned();
    Ok(match kind {
        "surface" => View::Surface {
            patches: q
                .get("patches")
                .map(|p| p.split(',').filter(|s| !s.is_empty()).map(String::from).collect())
                .unwrap_or_default(),
            field,
        },
        "slice" => View::Slice {
            origin: vec3(q, "origin")?.ok_or_else(|| AppError::Validation("a slice needs 'origin' (X,Y,Z)".into()))?,
            normal: vec3(q, "normal")?.ok_or_else(|| AppError::Validation("a slice needs 'normal' (X,Y,Z)".into()))?,
            field,
        },
        "iso" => View::Iso {
            field: need(q, "field", "isosurface")?.clone(),
            value: num(q, "value")?.ok_or_else(|| AppError::Validation("an isosurface needs 'value'".into()))?,
            color_by: q.get("color_by").cloned(),
            method: q.get("method").cloned(),
        },
        "streamlines" => {
            let seeds = if let Some(line) = q.get("seed_line") {
                let (a, b) =
                    line.split_once(':').ok_or_else(|| AppError::Validation("seed_line is X,Y,Z:X,Y,Z".into()))?;
                Seeds::Line {
                    from: parse_vec3(a).map_err(AppError::Validation)?,
                    to: parse_vec3(b).map_err(AppError::Validation)?,
                }
            } else if let Some(b) = q.get("seed_box") {
                let (a, c) = b.split_once(':').ok_or_else(|| AppError::Validation("seed_box is X,Y,Z:X,Y,Z".into()))?;
                Seeds::Box {
                    lo: parse_vec3(a).map_err(AppError::Validation)?,
                    hi: parse_vec3(c).map_err(AppError::Validation)?,
                }
            } else if let Some(o) = vec3(q, "seed_plane")? {
                Seeds::Plane {
                    origin: o,
                    normal: vec3(q, "seed_normal")?.unwrap_or([1.0, 0.0, 0.0]),
                    size: num(q, "seed_size")?.unwrap_or(1.0),
                }
            } else {
                return Err(AppError::Validation("streamlines need seed_line, seed_plane or seed_box".into()));
            };
            View::Streamlines {
                seeds,
                count: num(q, "count")?.unwrap_or(100),
                field: field.unwrap_or_else(|| "U".into()),
                color_by: q.get("color_by").cloned(),
                max_length: num(q, "max_length")?,
                direction: q.get("direction").cloned().unwrap_or_else(|| "both".into()),
            }
        }
        _ => return Err(AppError::NotFound("post-processing kind (surface, slice, iso, streamlines or probe)")),
    })
}

/// An extraction as the viewer's chunked stream, from the object-store cache or made now.
pub async fn extract(
    st: &AppState,
    caller: &Caller,
    job_id: &str,
    view: View,
    max_triangles: Option<usize>,
) -> AppResult<bytes::Bytes> {
    let (job, c) = case(st, caller, job_id).await?;
    let budget = max_triangles.unwrap_or(DEFAULT_MAX_TRIANGLES).clamp(1_000, 20_000_000);
    let key = format!("jobs/{}/post/{}.fcp", job.id, cache_key(&c.time, &view, budget));
    let view_copy = view.clone();
    if let Ok(b) = st.blobs.get(&key).await {
        return Ok(b);
    }
    let kind = view.kind();
    let time = c.time.clone();
    let (bytes, also) =
        tokio::task::spawn_blocking(move || -> Result<(Vec<u8>, Option<(usize, Vec<u8>)>), PostError> {
            let t0 = std::time::Instant::now();
            let full = post::view::extract(&c, &view)?;
            let n = full.tris.len();
            let encode = |pd: &post::extract::PolyData| {
                let mut meta = pd.stats();
                meta["kind"] = kind.into();
                meta["time"] = c.time.clone().into();
                meta["triangles_before_lod"] = n.into();
                meta["extract_s"] = t0.elapsed().as_secs_f64().into();
                meta["view"] = serde_json::to_value(&view).unwrap_or_default();
                post::chunk::encode(pd, meta)
            };
            // A preview (a small budget) is usually followed by the full result: keep that too.
            let also = (n > budget && budget < DEFAULT_MAX_TRIANGLES)
                .then(|| (DEFAULT_MAX_TRIANGLES, encode(&post::lod::decimate(&full, DEFAULT_MAX_TRIANGLES))));
            Ok((encode(&post::lod::decimate(&full, budget)), also))
        })
        .await
        .map_err(|e| AppError::Internal(e.to_string()))??;
    let bytes = bytes::Bytes::from(bytes);
    let mut puts = vec![(key, bytes.clone())];
    if let Some((b, data)) = also {
        puts.push((format!("jobs/{}/post/{}.fcp", job.id, cache_key(&time, &view_copy, b)), data.into()));
    }
    for (k, data) in puts {
        if let Err(e) = st.blobs.put(&k, data).await {
            tracing::warn!(job = %job.id, error = %e, "cannot cache the extraction");
        }
    }
    Ok(bytes)
}

fn cache_key(time: &str, view: &View, budget: usize) -> String {
    let h = sha2::Sha256::digest(format!("{time}|{}|{budget}", view.key()).as_bytes());
    h.iter().take(12).map(|b| format!("{b:02x}")).collect()
}

/// Values of a field at points.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)] // no extra members in the schema: the two answers tell apart
pub struct Probe {
    pub field: String,
    pub points: Vec<[f64; 3]>,
    /// One per point; null outside the mesh.
    pub values: Vec<Option<f64>>,
}

/// Values at points, or along a line (`line=X,Y,Z:X,Y,Z&n=N`).
pub async fn probe(st: &AppState, caller: &Caller, job_id: &str, q: &HashMap<String, String>) -> AppResult<Probe> {
    let sel = FieldSel::parse(need(q, "field", "probe")?)?;
    let points: Vec<[f64; 3]> = if let Some(p) = q.get("points") {
        p.split(';')
            .filter(|s| !s.trim().is_empty())
            .map(parse_vec3)
            .collect::<Result<_, _>>()
            .map_err(AppError::Validation)?
    } else if let Some(l) = q.get("line") {
        let (a, b) = l.split_once(':').ok_or_else(|| AppError::Validation("line is X,Y,Z:X,Y,Z".into()))?;
        let n: usize = num(q, "n")?.unwrap_or(100);
        if !(2..=10_000).contains(&n) {
            return Err(AppError::Validation("n must be 2 to 10000".into()));
        }
        post::stream::seeds_on_line(
            parse_vec3(a).map_err(AppError::Validation)?,
            parse_vec3(b).map_err(AppError::Validation)?,
            n,
        )
    } else {
        return Err(AppError::Validation("a probe needs 'points' (X,Y,Z;X,Y,Z) or 'line' (X,Y,Z:X,Y,Z)".into()));
    };
    if points.is_empty() || points.len() > 10_000 {
        return Err(AppError::Validation("give 1 to 10000 points".into()));
    }
    let (_, c) = case(st, caller, job_id).await?;
    let label = sel.label();
    let pts = points.clone();
    let values = tokio::task::spawn_blocking(move || c.probe(&sel, &pts))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))??;
    Ok(Probe { field: label, points, values })
}

/// A field's range over the mesh points; null where it has no finite value.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)] // no extra members in the schema: the two answers tell apart
pub struct FieldRange {
    pub field: String,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// A field's range over the mesh points (`range?field=F`), for sliders.
pub async fn range(st: &AppState, caller: &Caller, job_id: &str, q: &HashMap<String, String>) -> AppResult<FieldRange> {
    let sel = FieldSel::parse(need(q, "field", "range")?)?;
    let (_, c) = case(st, caller, job_id).await?;
    let label = sel.label();
    let v = tokio::task::spawn_blocking(move || c.point_scalars(&sel))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))??;
    let (lo, hi) =
        v.iter().filter(|x| x.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
    Ok(FieldRange { field: label, min: lo.is_finite().then_some(lo), max: hi.is_finite().then_some(hi) })
}

/// A saved view of a result.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SavedView {
    pub id: String,
    pub name: String,
    /// `surface`, `slice`, `iso`, `streamlines`.
    pub kind: String,
    /// The view's parameters, as `post::view::View` reads them.
    pub config: Value,
    pub created_at: i64,
}

/// Saved views of a job.
pub async fn list_views(st: &AppState, caller: &Caller, job_id: &str) -> AppResult<Vec<SavedView>> {
    let (job, _) = jobs::get(st, caller, job_id).await?;
    Ok(st.store.views(&job.id).await?.iter().map(saved_view).collect())
}

fn saved_view(v: &PostView) -> SavedView {
    SavedView {
        id: v.id.clone(),
        name: v.name.clone(),
        kind: v.view_type.clone(),
        config: serde_json::from_str::<Value>(&v.config).unwrap_or(Value::Null),
        created_at: v.created_at,
    }
}

/// Saves a view (its config is validated by parsing it as a `View`).
pub async fn save_view(
    st: &AppState,
    caller: &Caller,
    job_id: &str,
    name: &str,
    config: Value,
) -> AppResult<SavedView> {
    let (job, role) = jobs::get(st, caller, job_id).await?;
    if !role.can_write() {
        return Err(AppError::Forbidden("viewers cannot save views".into()));
    }
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::Validation("a view needs a name of 1 to 100 characters".into()));
    }
    let view: View =
        serde_json::from_value(config).map_err(|e| AppError::Validation(format!("the view's config: {e}")))?;
    let row = PostView {
        id: uuid::Uuid::new_v4().to_string(),
        job_id: job.id.clone(),
        name: name.to_string(),
        view_type: view.kind().to_string(),
        config: serde_json::to_string(&view).unwrap_or_default(),
        data_key: None,
        created_at: crate::store::now_ms(),
    };
    st.store.create_view(&row).await?;
    Ok(saved_view(&row))
}

/// Deletes a saved view (members and above).
pub async fn delete_view(st: &AppState, caller: &Caller, job_id: &str, id: &str) -> AppResult<()> {
    let (job, role) = jobs::get(st, caller, job_id).await?;
    if !role.can_write() {
        return Err(AppError::Forbidden("viewers cannot delete views".into()));
    }
    if !st.store.delete_view(&job.id, id).await? {
        return Err(AppError::NotFound("view"));
    }
    Ok(())
}
