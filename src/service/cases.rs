//! Simulation cases: the same case spec as `flowcfd run CASE.toml`, as JSON, with the
//! surface taken from an uploaded geometry (`geometry_id`).
use super::Caller;
use crate::error::{AppError, AppResult};
use crate::foam::spec::CaseSpec;
use crate::state::AppState;
use crate::store::{Case, GeometryStatus, NewCase};
use serde_json::Value;

/// Checks a spec against its project and geometry and stores it. Everything the spec
/// leaves out is filled with its default, so the stored case says exactly what will run.
pub async fn create(st: &AppState, caller: &Caller, project_id: &str, body: &Value) -> AppResult<Case> {
    let project = super::projects::get(st, caller, project_id, true).await?;
    if body.get("geometry").is_some() {
        return Err(AppError::Validation(
            "\"geometry\" is a file path for the command line; through the API name an uploaded geometry with \"geometry_id\"".into(),
        ));
    }
    let spec = CaseSpec::from_json(&body.to_string()).map_err(|e| AppError::Validation(e.to_string()))?;
    let gid = spec.geometry_id.clone().ok_or_else(|| {
        AppError::Validation("\"geometry_id\" is missing: upload a geometry to the project and give its id".into())
    })?;
    let g = st
        .store
        .geometry(caller.id(), &gid)
        .await?
        .filter(|g| g.project_id == project.id)
        .ok_or_else(|| AppError::Validation(format!("geometry {gid:?} is not a geometry of this project")))?;
    match g.status {
        GeometryStatus::Ready => {}
        GeometryStatus::Failed => {
            return Err(AppError::Conflict(format!(
                "geometry {:?} failed processing ({}); fix the file and upload it again",
                g.name,
                g.error_message.unwrap_or_default()
            )))
        }
        s @ (GeometryStatus::Pending | GeometryStatus::Processing) => {
            return Err(AppError::Conflict(format!(
                "geometry {:?} is still {s}; create the case once it is ready",
                g.name
            )))
        }
    }
    if let Some(size) = geometry_size(&g) {
        // The spec's scale applies on top of the upload's: the case must still be physical.
        crate::geometry::read::check_size_value(size * spec.scale)
            .map_err(|e| AppError::Validation(format!("with scale = {}: {e}", spec.scale)))?;
    }
    let groups: Vec<Value> = serde_json::from_str(&g.surface_groups).unwrap_or_default();
    let names: Vec<&str> = groups.iter().filter_map(|x| x.get("name").and_then(|n| n.as_str())).collect();
    // A group renamed by healing (`bottom` → `body_bottom`) may be named by its label.
    let labels: Vec<&str> = groups.iter().filter_map(|x| x.get("label").and_then(|n| n.as_str())).collect();
    for b in spec.boundaries.keys() {
        if !names.contains(&b.as_str()) && !labels.contains(&b.as_str()) {
            return Err(AppError::Validation(format!(
                "boundaries.{b}: the geometry has no surface group {b:?} (it has: {})",
                names.join(", ")
            )));
        }
    }
    let name = spec.name.clone().unwrap_or_else(|| g.name.clone());
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 120 || name.chars().any(|c| c.is_control()) {
        return Err(AppError::Validation("name must be 1 to 120 printable characters".into()));
    }
    let stored = serde_json::to_string(&spec).map_err(|e| AppError::Internal(e.to_string()))?;
    let id = st
        .store
        .create_case(&NewCase { project_id: project.id, geometry_id: Some(gid), name: name.to_string(), spec: stored })
        .await?;
    st.store.audit(Some(caller.id()), "case.create", Some(&id), "{}", None).await?;
    get(st, caller, &id).await
}

/// The largest side of a processed geometry's bounding box, metres.
fn geometry_size(g: &crate::store::Geometry) -> Option<f64> {
    let b: Value = serde_json::from_str(g.bounding_box.as_deref()?).ok()?;
    let (lo, hi) = (b["min"].as_array()?, b["max"].as_array()?);
    (0..3).map(|k| Some(hi.get(k)?.as_f64()? - lo.get(k)?.as_f64()?)).try_fold(0.0f64, |m, d| Some(m.max(d?)))
}

/// A case the caller can see.
pub async fn get(st: &AppState, caller: &Caller, id: &str) -> AppResult<Case> {
    st.store.case(caller.id(), id).await?.ok_or(AppError::NotFound("case"))
}

/// A case as the API shows it, with its full spec.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CaseView {
    pub id: String,
    pub project_id: String,
    pub geometry_id: Option<String>,
    pub name: String,
    /// The stored spec, as it was validated and written.
    pub spec: Value,
    pub created_at: i64,
}

/// The view of case `c`.
pub fn view(c: &Case) -> CaseView {
    CaseView {
        id: c.id.clone(),
        project_id: c.project_id.clone(),
        geometry_id: c.geometry_id.clone(),
        name: c.name.clone(),
        spec: serde_json::from_str::<Value>(&c.spec).unwrap_or(Value::Null),
        created_at: c.created_at,
    }
}
