//! Physical ranges for a case: values that parse as numbers but describe no flow these
//! solvers can compute (a geometry 10³⁰ m across, a speed of 10³⁰⁸ m/s) are refused with
//! the field, the value and the range, before any mesh is made.
//!
//! The ranges are those of real fluids with an order of magnitude to spare:
//! - kinematic viscosity 1e-8 to 1e-1 m²/s: liquid metals (mercury 1.1e-7) and water
//!   (1.0e-6) up to gases (air 1.5e-5, hydrogen 1.1e-4) and glycerol, heavy oils and honey
//!   (1e-3 to 1e-2);
//! - density 0.01 to 20,000 kg/m³: air at 30 km altitude (0.018) up to mercury (13,546);
//! - speed 1e-6 m/s up to Mach 0.3: the solvers (simpleFoam) are incompressible, and past
//!   Mach 0.3 density changes by more than about 5 %, so their answer would be wrong.

use super::spec::{Boundary, CaseSpec, FluidPreset, SpecError};

/// Accepted kinematic viscosity, m²/s.
pub const NU_RANGE: (f64, f64) = (1e-8, 1e-1);
/// Accepted density, kg/m³.
pub const RHO_RANGE: (f64, f64) = (1e-2, 2e4);
/// Slowest accepted speed, m/s.
pub const MIN_SPEED: f64 = 1e-6;
/// Highest Mach number an incompressible solver is trusted at.
pub const MAX_MACH: f64 = 0.3;

/// Speed of sound of the spec's fluid, m/s (air at 15 °C unless the preset is water).
pub fn speed_of_sound(spec: &CaseSpec) -> f64 {
    match spec.fluid.preset {
        FluidPreset::Air => 343.0,
        FluidPreset::Water => 1481.0,
    }
}

/// Checks the speeds and fluid properties of `spec` against the physical ranges.
pub fn check(spec: &CaseSpec) -> Result<(), SpecError> {
    let c = speed_of_sound(spec);
    let fluid = match spec.fluid.preset {
        FluidPreset::Air => "air",
        FluidPreset::Water => "water",
    };
    let speed_ok = |field: &str, u: &[f64; 3]| -> Result<(), SpecError> {
        // hypot, not the sum of squares: 1.7e308 squared overflows and would read "inf".
        let m = u[0].hypot(u[1]).hypot(u[2]);
        let max = MAX_MACH * c;
        if m.is_finite() && (MIN_SPEED..=max).contains(&m) {
            return Ok(());
        }
        Err(SpecError::Invalid(format!(
            "{field}: |U| = {m:e} m/s is outside the accepted range {MIN_SPEED:e} to {max:.1} m/s (Mach {MAX_MACH} in {fluid}, speed of sound {c} m/s): FlowCFD's solvers are incompressible, so they are only right below Mach 0.3; check the units (m/s)"
        )))
    };
    speed_ok("flow.velocity", &spec.flow.velocity)?;
    for (name, bc) in &spec.boundaries {
        if let Boundary::VelocityInlet { velocity: Some(u) } = bc {
            speed_ok(&format!("boundaries.{name}.velocity"), u)?;
        }
    }
    let range = |field: &str, x: Option<f64>, (lo, hi): (f64, f64), unit: &str, hint: &str| match x {
        Some(x) if !(lo..=hi).contains(&x) => Err(SpecError::Invalid(format!(
            "{field} = {x:e} {unit} is outside the accepted range {lo:e} to {hi:e} {unit}: {hint}"
        ))),
        _ => Ok(()),
    };
    range(
        "fluid.nu",
        spec.fluid.nu,
        NU_RANGE,
        "m²/s",
        "that is the kinematic viscosity (air 1.5e-5, water 1.0e-6); for dynamic viscosity in Pa·s divide by the density",
    )?;
    range("fluid.rho", spec.fluid.rho, RHO_RANGE, "kg/m³", "that is the density (air 1.225, water 998.2)")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(extra: &str) -> Result<CaseSpec, SpecError> {
        CaseSpec::from_toml(&format!("[flow]\ntype = \"external\"\nvelocity = [10, 0, 0]\n{extra}"), "t.toml")
    }

    fn with_speed(u: f64, fluid: &str) -> Result<CaseSpec, SpecError> {
        CaseSpec::from_toml(&format!("[flow]\ntype = \"external\"\nvelocity = [{u:e}, 0, 0]\n{fluid}"), "t.toml")
    }

    #[test]
    fn speeds() {
        assert!(with_speed(1e-6, "").is_ok());
        assert!(with_speed(102.0, "").is_ok());
        for bad in [1.7e308, 104.0, 5e-7] {
            let e = with_speed(bad, "").unwrap_err().to_string();
            assert!(e.contains("flow.velocity") && e.contains("102.9 m/s") && e.contains("incompressible"), "{e}");
            assert!(e.contains(&format!("{bad:e} m/s")), "{e}");
        }
        // Water's speed of sound is higher: 300 m/s is below its Mach 0.3.
        assert!(with_speed(300.0, "[fluid]\npreset = \"water\"\n").is_ok());
        let e = with_speed(500.0, "[fluid]\npreset = \"water\"\n").unwrap_err().to_string();
        assert!(e.contains("444.3 m/s"), "{e}");
    }

    #[test]
    fn inlet_speeds() {
        let e = spec("[boundaries]\nin = { type = \"velocity_inlet\", velocity = [1e9, 0, 0] }\n").unwrap_err();
        assert!(e.to_string().contains("boundaries.in.velocity"), "{e}");
    }

    #[test]
    fn fluid_properties() {
        assert!(spec("[fluid]\nnu = 1e-8\nrho = 2e4\n").is_ok());
        assert!(spec("[fluid]\nnu = 0.1\nrho = 0.01\n").is_ok());
        for (extra, says) in [
            ("[fluid]\nnu = 1.8e-5\nrho = 1e30\n", "fluid.rho = 1e30 kg/m³"),
            ("[fluid]\nrho = 0.001\n", "fluid.rho = 1e-3"),
            ("[fluid]\nnu = 1\n", "fluid.nu = 1e0 m²/s"),
            ("[fluid]\nnu = 1e-9\n", "1e-8 to 1e-1 m²/s"),
        ] {
            let e = spec(extra).unwrap_err().to_string();
            assert!(e.contains(says), "{extra}: {e}");
        }
    }
}
