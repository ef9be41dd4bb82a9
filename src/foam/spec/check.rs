//! The specification's range checks: every value a user can type, with a message that says
//! what is wrong and how to fix it.

use super::{Boundary, CaseSpec, FlowKind, SpecError, KNOWN_FIELDS};

impl CaseSpec {
    /// Range checks that do not need the geometry.
    pub fn validate(&self) -> Result<(), SpecError> {
        let bad = |m: String| Err(SpecError::Invalid(m));
        if !(self.scale.is_finite() && self.scale > 0.0) {
            return bad(format!("scale = {} must be a positive number (0.001 for millimetres)", self.scale));
        }
        let v = self.flow.velocity;
        if v.iter().any(|x| !x.is_finite()) || v.iter().map(|x| x * x).sum::<f64>() <= 0.0 {
            return bad("flow.velocity must be a non-zero vector of finite numbers, in m/s".into());
        }
        crate::foam::twod::validate(self)?;
        crate::foam::limits::check(self)?;
        crate::foam::turbulence::validate(self).map_err(SpecError::Invalid)?;
        if self.flow.kind == FlowKind::External && v[2].abs() > v[0].hypot(v[1]) {
            return bad(
                "external flow must be mostly horizontal (z is up): rotate the geometry so that the flow runs along x or y"
                    .into(),
            );
        }
        let t = &self.flow.tunnel;
        for (name, x) in [("upstream", t.upstream), ("downstream", t.downstream), ("side", t.side), ("top", t.top)] {
            if !(x.is_finite() && x > 0.0) {
                return bad(format!("flow.tunnel.{name} = {x} must be a positive multiple of the body length"));
            }
        }
        for (name, x) in [("rho", self.fluid.rho), ("nu", self.fluid.nu)] {
            if let Some(x) = x {
                if !(x.is_finite() && x > 0.0) {
                    return bad(format!("fluid.{name} = {x} must be positive"));
                }
            }
        }
        if !(0.0..=0.5).contains(&self.turbulence.intensity) || self.turbulence.intensity <= 0.0 {
            return bad(format!(
                "turbulence.intensity = {} must be a fraction between 0 and 0.5 (0.01 = 1 %)",
                self.turbulence.intensity
            ));
        }
        if !(1_000..=500_000_000).contains(&self.mesh.target_cells) {
            return bad(format!("mesh.target_cells = {} must be between 1000 and 500000000", self.mesh.target_cells));
        }
        if let Some(h) = self.mesh.base_cell_size {
            if !(h.is_finite() && h > 0.0) {
                return bad(format!("mesh.base_cell_size = {h} must be positive, in m"));
            }
        }
        let levels = self.mesh.surface_level.iter().chain(self.mesh.group_levels.values());
        for l in levels {
            if l[0] > l[1] || l[1] > 10 {
                return bad(format!("surface levels {l:?} must be [min, max] with min <= max <= 10"));
            }
        }
        if !(self.mesh.layers.target_yplus > 0.0 && self.mesh.layers.target_yplus <= 1000.0) {
            return bad("mesh.layers.target_yplus must be between 0 and 1000".into());
        }
        if let Some(r) = self.mesh.layers.expansion_ratio {
            if !(1.0..=3.0).contains(&r) {
                return bad(format!("mesh.layers.expansion_ratio = {r} must be between 1 and 3"));
            }
        }
        if let Some(c) = self.mesh.layers.count {
            if c > 30 {
                return bad(format!("mesh.layers.count = {c} is too many; use at most 30"));
            }
        }
        let finite3 = |x: &[f64; 3]| x.iter().all(|c| c.is_finite());
        for (name, bc) in &self.boundaries {
            match bc {
                Boundary::VelocityInlet { velocity: Some(u) } if !finite3(u) => {
                    return bad(format!("boundaries.{name}.velocity must be three finite numbers, in m/s"))
                }
                Boundary::PressureOutlet { pressure } if !pressure.is_finite() => {
                    return bad(format!("boundaries.{name}.pressure must be a finite number, in Pa"))
                }
                _ => {}
            }
        }
        if let Some(l) = self.turbulence.length_scale {
            if !(l.is_finite() && l > 0.0) {
                return bad(format!("turbulence.length_scale = {l} must be positive, in m"));
            }
        }
        if let Some(y) = self.mesh.layers.first_layer_thickness {
            if !(y.is_finite() && y > 0.0) {
                return bad(format!("mesh.layers.first_layer_thickness = {y} must be positive, in m"));
            }
        }
        if self.mesh.feature_level.is_some_and(|l| l > 10) {
            return bad("mesh.feature_level must be at most 10".into());
        }
        for (i, b) in self.mesh.refinement_boxes.iter().enumerate() {
            if b.level > 10 || !finite3(&b.min) || !finite3(&b.max) || (0..3).any(|k| b.min[k] >= b.max[k]) {
                return bad(format!(
                    "mesh.refinement_boxes[{i}] needs finite min < max on every axis and a level of at most 10"
                ));
            }
        }
        if self.solver.step_timeout_s == 0 {
            return bad("solver.step_timeout_s must be at least 1 second".into());
        }
        for key in self.solver.residual_targets.keys().chain(self.solver.relaxation.keys()) {
            if !KNOWN_FIELDS.contains(&key.as_str()) {
                return bad(format!(
                    "solver: unknown field {key:?} in residual_targets or relaxation; use {}",
                    KNOWN_FIELDS.join(", ")
                ));
            }
        }
        if self.reference.cofr.is_some_and(|c| !finite3(&c)) {
            return bad("reference.CofR must be three finite numbers, in m".into());
        }
        if self.solver.iterations == 0 || self.solver.iterations > 1_000_000 {
            return bad("solver.iterations must be between 1 and 1000000".into());
        }
        if self.solver.cores == 0 || self.solver.cores > 4096 {
            return bad("solver.cores must be between 1 and 4096".into());
        }
        for (k, x) in self.solver.residual_targets.iter().chain(self.solver.relaxation.iter()) {
            if !(x.is_finite() && *x > 0.0 && *x <= 1.0) {
                return bad(format!("solver value {k} = {x} must be in (0, 1]"));
            }
        }
        if let Some(a) = self.reference.aref {
            if !(a.is_finite() && a > 0.0) {
                return bad("reference.Aref must be positive, in m²".into());
            }
        }
        if let Some(l) = self.reference.lref {
            if !(l.is_finite() && l > 0.0) {
                return bad("reference.lRef must be positive, in m".into());
            }
        }
        crate::foam::transient::validate(self).map_err(SpecError::Invalid)
    }
}
