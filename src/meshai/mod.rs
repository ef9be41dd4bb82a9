//! Mesh parameters for a geometry: the mesh AI's proposal where a trained model is built in
//! and the inputs are inside its training distribution, the pipeline's rules otherwise. Every
//! answer says which one it came from and gives a one-line reason per parameter.
//!
//! This release has no trained model yet: every answer comes from the rules, with the reason
//! saying so. `voxel` is the model's input representation, shared with the dataset
//! generator (`mesh-ai/`).
pub mod eval;
pub mod voxel;

use crate::foam::case::{suggested_plan, CaseError};
use crate::foam::rules::MeshPlan;
use crate::foam::spec::CaseSpec;
use crate::geometry::analyse::Analysis;
use serde_json::{json, Value};

/// Why the rules answered rather than the mesh AI.
pub const NO_MODEL: &str = "no trained mesh model is built into this server yet; the pipeline's rules proposed these";

/// The suggestion for a spec and geometry, exactly as a run of that spec would mesh.
pub fn suggest(spec: &CaseSpec, a: &Analysis) -> Result<Value, CaseError> {
    Ok(to_json(spec, &suggested_plan(spec, a)?, "rules", Some(NO_MODEL)))
}

/// The JSON every caller gets (`POST /api/geometries/{id}/mesh-suggestion`,
/// `flowcfd mesh-ai predict`); these key names are an interface.
pub fn to_json(spec: &CaseSpec, plan: &MeshPlan, source: &str, reason: Option<&str>) -> Value {
    let lo = plan.group_levels.values().map(|l| l[0]).min().unwrap_or(0);
    let hi = plan.group_levels.values().map(|l| l[1]).max().unwrap_or(0);
    json!({
        "source": source,
        "reason": reason,
        "target_cells": spec.mesh.target_cells,
        "base_cell_size": plan.base_cell_size,
        "surface_refinement": [lo, hi],
        "group_levels": plan.group_levels,
        "feature_level": plan.feature_level,
        "refinement_boxes": plan.boxes,
        "wake_box": spec.mesh.wake_box && spec.mesh.refinement_boxes.is_empty() && !plan.boxes.is_empty(),
        "layers": {
            "count": plan.layers.count,
            "expansion_ratio": plan.layers.expansion_ratio,
            "first_layer_thickness": plan.layers.first_layer_thickness,
            "estimated_yplus": plan.layers.estimated_yplus,
            "target_yplus": spec.mesh.layers.target_yplus,
        },
        "predicted_cells": plan.estimated_cells,
        "domain": {"min": plan.domain_min, "max": plan.domain_max, "divisions": plan.divisions},
        "why": plan.why,
    })
}
