//! Resolves the spec's boundary conditions onto mesh patches (tunnel faces and surface groups).

use super::dict::Word;
use super::spec::{Boundary, CaseSpec, FlowKind};
use crate::geometry::{analyse::Analysis, sanitize_group_name};

/// What a patch is physically.
#[derive(Debug, Clone, PartialEq)]
pub enum BcKind {
    /// Fixed velocity vector.
    Inlet([f64; 3]),
    /// Fixed speed (m/s) into the domain, normal to the patch, whatever way it faces.
    InletNormal(f64),
    /// Fixed (kinematic) pressure.
    Outlet(f64),
    /// No-slip wall.
    Wall,
    /// Wall moving tangentially at this velocity (rolling road).
    MovingWall([f64; 3]),
    /// Free slip.
    Slip,
    /// Symmetry plane.
    Symmetry,
}

impl BcKind {
    /// The polyMesh patch type that the mesher must give this patch.
    pub fn mesh_type(&self) -> &'static str {
        match self {
            BcKind::Wall | BcKind::MovingWall(_) => "wall",
            BcKind::Symmetry => "symmetry",
            _ => "patch",
        }
    }
    /// True for walls that carry wall functions and layers.
    pub fn is_wall(&self) -> bool {
        matches!(self, BcKind::Wall | BcKind::MovingWall(_))
    }
}

/// One patch of the final mesh.
#[derive(Debug, Clone, PartialEq)]
pub struct Patch {
    /// Patch name (a validated OpenFOAM word).
    pub name: Word,
    /// Boundary condition.
    pub kind: BcKind,
    /// True when the patch comes from the geometry (a snappy region), false for tunnel faces.
    pub from_surface: bool,
}

/// Why the boundary conditions cannot be applied.
#[derive(Debug, thiserror::Error)]
pub enum BcError {
    /// A BC names a group the geometry does not have.
    #[error("boundary {name:?} names no surface group; the geometry's groups are: {available}. Fix the name in [boundaries]")]
    UnknownGroup {
        /// The name in the spec.
        name: String,
        /// The groups that exist.
        available: String,
    },
    /// Internal flow without an inlet or an outlet.
    #[error(
        "internal flow needs at least one velocity_inlet and one pressure_outlet group in [boundaries]; groups: {0}"
    )]
    MissingInletOutlet(String),
    /// Two spec keys name the same group.
    #[error("boundaries {a:?} and {b:?} both name surface group {group:?}; keep one")]
    Duplicate {
        /// First key.
        a: String,
        /// Second key.
        b: String,
        /// The group.
        group: String,
    },
    /// A surface group has the name of a generated patch.
    #[error("surface group {0:?} has the name of a wind-tunnel patch; rename that solid/group in the CAD file")]
    NameClash(String),
    /// A name could not become an OpenFOAM word.
    #[error(transparent)]
    Word(#[from] super::dict::DictError),
}

/// Name of the moving floor when `flow.ground` is set.
pub const GROUND: &str = "ground";
/// Name of the background-box patch for internal flows (snappy removes its faces).
pub const BACKGROUND: &str = "background";

/// Maps the spec onto the final list of patches.
pub fn resolve(spec: &CaseSpec, a: &Analysis) -> Result<Vec<Patch>, BcError> {
    let names: Vec<&str> = a.groups.iter().map(|g| g.name.as_str()).collect();
    let available = names.join(", ");
    let mut kinds: Vec<BcKind> = vec![BcKind::Wall; names.len()];
    let mut seen = vec![None::<&str>; names.len()];
    for (key, bc) in &spec.boundaries {
        let idx = names
            .iter()
            .position(|n| *n == key || *n == sanitize_group_name(key))
            .or_else(|| renamed_position(&names, key))
            .ok_or_else(|| BcError::UnknownGroup { name: key.clone(), available: available.clone() })?;
        if let Some(other) = seen[idx].replace(key) {
            return Err(BcError::Duplicate { a: other.to_string(), b: key.clone(), group: names[idx].to_string() });
        }
        kinds[idx] = match bc {
            // Without a vector, the inlet blows |flow.velocity| straight in, so an inlet face
            // that is not normal to flow.velocity still gets its full flux.
            Boundary::VelocityInlet { velocity: Some(u) } => BcKind::Inlet(*u),
            Boundary::VelocityInlet { velocity: None } => BcKind::InletNormal(spec.speed()),
            Boundary::PressureOutlet { pressure } => BcKind::Outlet(pressure / spec.fluid.rho()),
            Boundary::Wall => BcKind::Wall,
            Boundary::Slip => BcKind::Slip,
            Boundary::Symmetry => BcKind::Symmetry,
        };
    }
    let mut patches = Vec::new();
    match spec.flow.kind {
        FlowKind::External => {
            let u = spec.flow.velocity;
            patches.push(tunnel("inlet", BcKind::Inlet(u)));
            patches.push(tunnel("outlet", BcKind::Outlet(0.0)));
            patches.push(tunnel("sides", BcKind::Slip));
            patches.push(tunnel("top", BcKind::Slip));
            if spec.flow.ground {
                patches.push(tunnel(GROUND, BcKind::MovingWall([u[0], u[1], 0.0])));
            } else {
                patches.push(tunnel("bottom", BcKind::Slip));
            }
        }
        FlowKind::Internal => {
            let has_in = kinds.iter().any(|k| matches!(k, BcKind::Inlet(_) | BcKind::InletNormal(_)));
            let has_out = kinds.iter().any(|k| matches!(k, BcKind::Outlet(_)));
            if !(has_in && has_out) {
                return Err(BcError::MissingInletOutlet(available));
            }
            patches.push(tunnel(BACKGROUND, BcKind::Slip));
        }
    }
    for (name, kind) in names.iter().zip(kinds) {
        if patches.iter().any(|p: &Patch| p.name.as_str() == *name) {
            return Err(BcError::NameClash(name.to_string()));
        }
        patches.push(Patch { name: Word::new(*name)?, kind, from_surface: true });
    }
    Ok(patches)
}

/// A boundary keyed by the user's name of a group that healing renamed (`bottom`, now
/// `body_bottom`, see `geometry::names`) still finds it.
fn renamed_position(names: &[&str], key: &str) -> Option<usize> {
    let key = sanitize_group_name(key);
    if !crate::geometry::names::is_reserved(&key) {
        return None;
    }
    let renamed = format!("{}{key}", crate::geometry::names::RENAME_PREFIX);
    names.iter().position(|n| *n == renamed)
}

fn tunnel(name: &str, kind: BcKind) -> Patch {
    Patch { name: Word::new(name).expect("literal patch name"), kind, from_surface: false }
}

#[cfg(test)]
mod rename_tests {
    use super::*;
    use crate::geometry::names::is_reserved;

    /// Every patch the case generates is a name healing keeps users' groups away from.
    #[test]
    fn generated_patch_names_are_reserved_for_groups() {
        for name in
            ["inlet", "outlet", "sides", "top", "bottom", GROUND, BACKGROUND, "front", "back", "symFront", "symBack"]
        {
            assert!(is_reserved(name), "{name} is generated but not in geometry::RESERVED_GROUP_NAMES");
        }
    }

    #[test]
    fn a_boundary_may_name_a_renamed_group_by_its_label() {
        let names = ["wing", "body_inlet"];
        assert_eq!(renamed_position(&names, "inlet"), Some(1));
        assert_eq!(renamed_position(&names, "wing"), None);
        assert_eq!(renamed_position(&names, "outlet"), None);
    }
}
