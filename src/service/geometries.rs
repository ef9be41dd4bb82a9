//! Geometry uploads: stored first (streamed to the blob store, size-limited), processed
//! after (parse, heal, analyse) in the background; a failed one keeps its file and can be
//! retried.
//!
//! The viewer's binary surface (`GET /api/geometries/{id}/surface`), little-endian:
//!
//! | bytes | content |
//! |---|---|
//! | 4 | magic `FCS1` |
//! | 4 × 3 | u32 point count P, triangle count T, group count G |
//! | 4 × 3P | f32 positions x, y, z (metres) |
//! | 4 × 3T | u32 triangle vertex indices |
//! | 4 × T | u32 group index per triangle (order of `surface_groups`) |
use super::Caller;
use crate::error::{AppError, AppResult};
use crate::geometry::{analyse::analyse, heal::heal, heal::HealOptions, Surface};
use crate::state::AppState;
use crate::store::{new_id, Geometry, GeometryResult, GeometryStatus, Role};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde_json::json;

/// The formats the server parses. STEP and IGES are converted in the browser first.
pub const FORMATS: &[&str] = &["stl", "obj", "stl.gz", "obj.gz"];

/// The format named by a file name, or what to do instead.
pub fn format_of(file_name: &str) -> AppResult<&'static str> {
    let lower = file_name.to_ascii_lowercase();
    for f in ["stl.gz", "obj.gz", "stl", "obj"] {
        if lower.ends_with(&format!(".{f}")) {
            return Ok(FORMATS.iter().find(|x| **x == f).expect("listed"));
        }
    }
    let hint = if CAD_FORMATS.iter().any(|f| lower.ends_with(&format!(".{f}"))) {
        " STEP and IGES files are converted in the browser: use the upload page, or export STL from your CAD tool."
    } else {
        ""
    };
    Err(AppError::UnsupportedMedia(format!(
        "{file_name:?} is not a surface file FlowCFD reads (expected .stl, .obj, or either with .gz).{hint}"
    )))
}

fn original_key(project: &str, id: &str, format: &str) -> String {
    format!("projects/{project}/geometries/{id}/original.{format}")
}

fn surface_key(project: &str, id: &str) -> String {
    format!("projects/{project}/geometries/{id}/surface.bin")
}

/// Stores an upload and queues it for processing. The name is the client's file name.
pub async fn upload<S>(
    st: &AppState,
    caller: &Caller,
    project_id: &str,
    file_name: &str,
    scale: f64,
    mut body: S,
) -> AppResult<Geometry>
where
    S: Stream<Item = AppResult<Bytes>> + Unpin,
{
    let project = super::projects::get(st, caller, project_id, true).await?;
    let format = format_of(file_name)?;
    if !(scale.is_finite() && scale > 0.0) {
        return Err(AppError::Validation(format!("scale {scale}: must be a positive number (0.001 for millimetres)")));
    }
    let name = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name).trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(|c| c.is_control()) {
        return Err(AppError::Validation("the file name must be 1 to 200 printable characters".into()));
    }
    let id = new_id();
    let key = original_key(&project.id, &id, format);
    let bytes = store_stream(st, &key, &mut body).await?;
    let mut g = Geometry::pending(&project.id, name, format, &key, bytes as i64, scale);
    g.id = id.clone();
    g.role = project.role;
    st.store.create_geometry(&g).await?;
    st.store.audit(Some(caller.id()), "geometry.upload", Some(&id), &json!({"bytes": bytes}).to_string(), None).await?;
    st.enqueue_geometry(caller.id(), &id);
    Ok(g)
}

/// Streams an upload into the object store under `key`, within the upload limit; nothing
/// is left behind when it fails. Returns the size.
async fn store_stream<S>(st: &AppState, key: &str, body: &mut S) -> AppResult<u64>
where
    S: Stream<Item = AppResult<Bytes>> + Unpin,
{
    let limit = st.cfg.limits.max_upload_bytes;
    let mut w = st.blobs.writer(key).await?;
    while let Some(chunk) = body.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                w.abort().await;
                return Err(e);
            }
        };
        if w.written() + chunk.len() as u64 > limit {
            w.abort().await;
            return Err(AppError::TooLarge(format!(
                "the file is larger than the {} MiB upload limit (limits.max_upload_bytes); decimate the surface or ask an administrator to raise the limit",
                limit >> 20
            )));
        }
        w.write(&chunk).await?;
    }
    if w.written() == 0 {
        w.abort().await;
        return Err(AppError::Validation("the uploaded file is empty".into()));
    }
    Ok(w.finish().await?)
}

/// CAD formats the browser tessellates (and whose originals are kept).
pub const CAD_FORMATS: &[&str] = &["step", "stp", "iges", "igs"];

/// Keeps the STEP or IGES file a surface was tessellated from in the browser.
pub async fn attach_cad<S>(st: &AppState, g: &Geometry, file_name: &str, mut body: S) -> AppResult<Geometry>
where
    S: Stream<Item = AppResult<Bytes>> + Unpin,
{
    let name = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name).trim();
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    if !CAD_FORMATS.contains(&ext.as_str()) {
        return Err(AppError::UnsupportedMedia(format!(
            "the CAD original {name:?} is not a STEP or IGES file (.step, .stp, .iges, .igs)"
        )));
    }
    if name.chars().count() > 200 || name.chars().any(|c| c.is_control()) {
        return Err(AppError::Validation("the CAD file name must be 1 to 200 printable characters".into()));
    }
    let key = format!("projects/{}/geometries/{}/cad.{ext}", g.project_id, g.id);
    store_stream(st, &key, &mut body).await?;
    st.store.set_geometry_cad(&g.id, name, &key).await?;
    let mut g = g.clone();
    g.cad_name = Some(name.to_string());
    g.cad_key = Some(key);
    Ok(g)
}

/// A geometry the caller can see; `write` requires member rights.
pub async fn get(st: &AppState, caller: &Caller, id: &str, write: bool) -> AppResult<Geometry> {
    let g = st.store.geometry(caller.id(), id).await?.ok_or(AppError::NotFound("geometry"))?;
    if write && !g.role.can_write() {
        return Err(AppError::Forbidden("viewers cannot change geometries".into()));
    }
    Ok(g)
}

/// Queues a failed geometry for another try (its original file is still stored). A
/// processing one is queued too: it is taken over if its worker's lease has run out, and
/// left to its worker otherwise.
pub async fn retry(st: &AppState, caller: &Caller, id: &str) -> AppResult<Geometry> {
    let g = get(st, caller, id, true).await?;
    match g.status {
        GeometryStatus::Failed => st.store.set_geometry_status(id, GeometryStatus::Pending, None).await?,
        GeometryStatus::Processing => {}
        s => return Err(AppError::Conflict(format!("the geometry is {s}; only a failed one can be retried"))),
    }
    st.enqueue_geometry(caller.id(), id);
    get(st, caller, id, false).await
}

/// Deletes a geometry and its files (admins and owners of the project).
pub async fn delete(st: &AppState, caller: &Caller, id: &str) -> AppResult<()> {
    let g = get(st, caller, id, true).await?;
    st.store.delete_geometry(id).await?;
    st.blobs.delete_prefix(&format!("projects/{}/geometries/{id}", g.project_id)).await.ok();
    Ok(())
}

/// The viewer's binary surface of a ready geometry.
pub async fn surface(st: &AppState, caller: &Caller, id: &str) -> AppResult<Bytes> {
    let g = get(st, caller, id, false).await?;
    match (g.status, &g.processed_key) {
        (GeometryStatus::Ready, Some(k)) => Ok(st.blobs.get(k).await?),
        (GeometryStatus::Failed, _) => {
            Err(AppError::Conflict(format!("the geometry failed processing: {}", g.error_message.unwrap_or_default())))
        }
        _ => Err(AppError::Conflict(format!("the geometry is still {}; try again when it is ready", g.status))),
    }
}

/// Encodes a surface for the viewer (see the module doc for the layout).
pub fn encode_surface(s: &Surface) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + s.points.len() * 12 + s.tris.len() * 16);
    out.extend_from_slice(b"FCS1");
    for n in [s.points.len(), s.tris.len(), s.groups.len()] {
        out.extend_from_slice(&(n as u32).to_le_bytes());
    }
    for p in &s.points {
        for c in p {
            out.extend_from_slice(&(*c as f32).to_le_bytes());
        }
    }
    for t in &s.tris {
        for i in t {
            out.extend_from_slice(&i.to_le_bytes());
        }
    }
    for g in &s.tri_group {
        out.extend_from_slice(&g.to_le_bytes());
    }
    out
}

/// This process's name as the holder of geometry leases.
fn lease_holder() -> &'static str {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| format!("geometry-{}-{}", std::process::id(), new_id()))
}

/// Renews a geometry's lease until dropped, as the job worker renews a job's.
struct LeaseKeeper(tokio::task::JoinHandle<()>);

impl LeaseKeeper {
    fn start(st: &AppState, id: &str, lease_ms: i64) -> LeaseKeeper {
        let (store, id) = (st.store.clone(), id.to_string());
        LeaseKeeper(tokio::spawn(async move {
            let every = std::time::Duration::from_millis((lease_ms / 3).max(100) as u64);
            loop {
                tokio::time::sleep(every).await;
                match store.heartbeat_geometry(&id, lease_holder(), lease_ms).await {
                    Ok(true) => {}
                    // Taken over (this worker stalled past its lease): the other one's result
                    // is the same, so this one just finishes.
                    Ok(false) => break,
                    Err(e) => tracing::warn!(geometry = %id, error = %e, "geometry heartbeat failed"),
                }
            }
        }))
    }
}

impl Drop for LeaseKeeper {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The lease on a geometry's processing: the job lease (`jobs.lease_s`).
pub fn lease_ms(st: &AppState) -> i64 {
    st.cfg.jobs.lease_s.max(1) as i64 * 1000
}

/// Test builds only: `FLOWCFD_TEST_GEOMETRY_DELAY_MS` makes processing that slow, so that
/// a test can crash a server while it processes.
#[cfg(debug_assertions)]
fn test_delay() -> Option<std::time::Duration> {
    let ms = std::env::var("FLOWCFD_TEST_GEOMETRY_DELAY_MS").ok()?.parse().ok()?;
    Some(std::time::Duration::from_millis(ms))
}

#[cfg(not(debug_assertions))]
fn test_delay() -> Option<std::time::Duration> {
    None
}

/// Parses, heals and analyses a stored upload; records `ready` or `failed` with a reason.
pub async fn process(st: &AppState, id: &str) -> AppResult<()> {
    // Several replicas may be asked; one claims it, with a lease it renews while it works.
    // If it dies, the lease runs out and another worker (or it, restarted) takes over.
    let lease_ms = lease_ms(st);
    let Some(g) = st.store.claim_geometry(id, lease_holder(), lease_ms).await? else { return Ok(()) };
    let _lease = LeaseKeeper::start(st, id, lease_ms);
    if let Some(d) = test_delay() {
        tokio::time::sleep(d).await;
    }
    let data = match st.blobs.get(&g.original_key).await {
        Ok(d) => d,
        Err(e) => {
            let msg = format!("the uploaded file could not be read back from storage ({e}); retry, or upload it again");
            st.store.set_geometry_status(id, GeometryStatus::Failed, Some(&msg)).await?;
            return Ok(());
        }
    };
    let opts = super::healed::read_options(st, g.scale);
    // The user's file name, so that messages name it; it ends with the format (see `format_of`).
    let name = if g.name.to_ascii_lowercase().ends_with(&format!(".{}", g.format)) {
        g.name.clone()
    } else {
        format!("upload.{}", g.format)
    };
    let work = tokio::task::spawn_blocking(move || -> Result<(Vec<u8>, Vec<u8>, GeometryResult), String> {
        let raw = crate::geometry::read_bytes(&name, &data, &opts).map_err(|e| e.to_string())?;
        drop(data);
        let (s, report) = heal(raw, &HealOptions::default());
        if s.tris.is_empty() {
            return Err(format!(
                "nothing is left after healing: {} of {} triangles were degenerate (zero area or repeated vertices) and {} were duplicates; check the export, and the scale if the part is tiny",
                report.degenerate_removed, report.input_triangles, report.duplicates_removed
            ));
        }
        let a = analyse(&s, [1.0, 0.0, 0.0]);
        // The label is the user's name for a group healing renamed (`bottom`, now `body_bottom`).
        let label = |name: &str| {
            report.renamed_groups.iter().find(|r| r.to == name).map_or(name, |r| r.from.as_str()).to_string()
        };
        let groups: Vec<_> = a
            .groups
            .iter()
            .map(|gi| json!({"name": gi.name, "label": label(&gi.name), "area": gi.area, "triangles": gi.triangles}))
            .collect();
        let r = GeometryResult {
            processed_key: String::new(),
            triangle_count: s.tris.len() as i64,
            surface_count: a.groups.len() as i64,
            surface_area: a.area,
            volume: a.volume,
            bounding_box: json!({"min": a.bbox_min, "max": a.bbox_max}).to_string(),
            surface_groups: serde_json::Value::Array(groups).to_string(),
            healing: serde_json::to_string(&report).map_err(|e| e.to_string())?,
            analysis: serde_json::to_string(&a).map_err(|e| e.to_string())?,
        };
        Ok((encode_surface(&s), super::healed::encode(&s), r))
    })
    .await
    .map_err(|e| AppError::Internal(format!("geometry worker: {e}")))?;
    match work {
        Ok((bin, healed, mut r)) => {
            r.processed_key = surface_key(&g.project_id, id);
            st.blobs.put(&r.processed_key, Bytes::from(bin)).await?;
            // Mesh suggestions start from this instead of the original (see `healed`).
            st.blobs.put(&super::healed::healed_key(&g.project_id, id), Bytes::from(healed)).await?;
            st.store.finish_geometry(id, &r).await?;
        }
        Err(msg) => {
            st.store.set_geometry_status(id, GeometryStatus::Failed, Some(&msg)).await?;
        }
    }
    Ok(())
}

/// A geometry as the API shows it: its state, size and the analysis once it is ready.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct GeometryView {
    pub id: String,
    pub project_id: String,
    pub name: String,
    /// `stl` or `obj`.
    pub format: String,
    pub status: GeometryStatus,
    pub error: Option<String>,
    pub original_bytes: i64,
    /// The unit scale applied to the file (0.001 for millimetres).
    pub scale: f64,
    pub triangles: Option<i64>,
    /// m².
    pub surface_area: Option<f64>,
    /// m³.
    pub volume: Option<f64>,
    /// `{"min": [x, y, z], "max": [x, y, z]}`, m.
    pub bounding_box: Option<serde_json::Value>,
    /// `[{"name", "area", "triangles"}]`.
    pub surface_groups: serde_json::Value,
    /// What healing changed.
    pub healing: Option<serde_json::Value>,
    /// The full analysis.
    pub analysis: Option<serde_json::Value>,
    pub cad_name: Option<String>,
    pub created_at: i64,
    /// Whether the caller may change it.
    pub can_write: bool,
}

/// The view of geometry `g`.
pub fn view(g: &Geometry) -> GeometryView {
    let parse = |s: &Option<String>| s.as_deref().and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok());
    GeometryView {
        id: g.id.clone(),
        project_id: g.project_id.clone(),
        name: g.name.clone(),
        format: g.format.clone(),
        status: g.status,
        error: g.error_message.clone(),
        original_bytes: g.original_bytes,
        scale: g.scale,
        triangles: g.triangle_count,
        surface_area: g.surface_area,
        volume: g.volume,
        bounding_box: parse(&g.bounding_box),
        surface_groups: serde_json::from_str::<serde_json::Value>(&g.surface_groups).unwrap_or(json!([])),
        healing: parse(&g.healing),
        analysis: parse(&g.analysis),
        cad_name: g.cad_name.clone(),
        created_at: g.created_at,
        can_write: g.role >= Role::Editor,
    }
}

/// A free-stream speed (along +x, or along the spec's direction) or a velocity vector.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum VelocityArg {
    Speed(f64),
    Vector([f64; 3]),
}

/// `POST /api/geometries/{id}/mesh-suggestion`: what the mesh wizard shows.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuggestionRequest {
    /// Cell budget (default the spec's, else 100,000).
    pub target_cells: Option<u64>,
    /// Free-stream or inlet velocity, m/s (default 20 m/s along +x, or the spec's).
    pub velocity: Option<VelocityArg>,
    /// The case being set up (flow type, boundaries, fluid, turbulence, explicit mesh
    /// values), in the same JSON form as `POST /api/projects/{id}/cases`.
    pub spec: Option<serde_json::Value>,
}

/// Mesh parameters for a ready geometry, exactly as a run of the same spec would use them,
/// with a one-line reason for each.
pub async fn mesh_suggestion(
    st: &AppState,
    caller: &Caller,
    id: &str,
    req: SuggestionRequest,
) -> AppResult<serde_json::Value> {
    use crate::foam::spec::CaseSpec;
    let g = get(st, caller, id, false).await?;
    if !g.role.can_write() {
        // It costs CPU and memory; it is part of setting a case up, which viewers cannot.
        return Err(AppError::Forbidden(
            "mesh suggestions are for setting up a case, which needs member rights in the project; viewers cannot ask for them".into(),
        ));
    }
    if g.status != GeometryStatus::Ready {
        return Err(AppError::Conflict(format!("the geometry is {}; mesh parameters need a ready one", g.status)));
    }
    if g.analysis.is_none() {
        return Err(AppError::Conflict("the geometry has no analysis; retry its processing".into()));
    }
    let Some(_slot) = st.suggestions.try_acquire(caller.id()) else {
        return Err(AppError::Busy(format!(
            "{} mesh suggestions of yours are already being computed (limits.mesh_suggestions_per_user); wait for them and ask again",
            st.suggestions.per_user()
        )));
    };
    let mut body = req.spec.unwrap_or_else(|| json!({"flow": {"type": "external", "velocity": [20.0, 0.0, 0.0]}}));
    if !body.is_object() {
        return Err(AppError::Validation("spec must be a JSON object (a case specification)".into()));
    }
    if let Some(v) = &req.velocity {
        let v = match v {
            VelocityArg::Vector(v) => *v,
            VelocityArg::Speed(s) => {
                let dir: Option<[f64; 3]> = serde_json::from_value(body["flow"]["velocity"].clone()).ok();
                let dir = dir.filter(|d| d.iter().map(|x| x * x).sum::<f64>() > 0.0).unwrap_or([1.0, 0.0, 0.0]);
                let m = dir.iter().map(|x| x * x).sum::<f64>().sqrt();
                dir.map(|c| c / m * s)
            }
        };
        body["flow"]["velocity"] = json!(v);
    }
    if let Some(n) = req.target_cells {
        body["mesh"]["target_cells"] = json!(n);
    }
    if body.get("geometry").is_some() {
        return Err(AppError::Validation("spec.geometry is for the command line; leave it out here".into()));
    }
    let spec = CaseSpec::from_json(&body.to_string()).map_err(|e| AppError::Validation(e.to_string()))?;
    // The mesh AI reads the surface itself (its voxel grid), healed exactly as a run heals it.
    let extra = spec.scale;
    let key = format!("{}@{extra:e}", g.id);
    let surface = match st.surfaces.get(&key) {
        Some(s) => s,
        None => {
            let mut s = super::healed::load(st, &g).await?;
            if extra != 1.0 {
                s.points.iter_mut().flatten().for_each(|c| *c *= extra);
                let size = crate::geometry::read::size_of(&s);
                crate::geometry::read::check_size_value(size).map_err(|e| AppError::Validation(e.to_string()))?;
            }
            let s = std::sync::Arc::new(s);
            st.surfaces.put(key, s.clone());
            s
        }
    };
    tokio::task::spawn_blocking(move || {
        let a = analyse(&surface, spec.flow.velocity);
        let (model, load_error) = crate::meshai::model_or_default(None);
        let mut v = crate::meshai::suggest_with(&spec, &a, &surface, model.as_deref())
            .map_err(|e| AppError::Validation(e.to_string()))?;
        if let Some(e) = load_error {
            v["reason"] = json!(e);
        }
        Ok(v)
    })
    .await
    .map_err(|e| AppError::Internal(format!("mesh suggestion: {e}")))?
}
