//! The backward-facing step of Driver & Seegmiller (1985) with k-ω SST, as the OpenFOAM
//! tutorial `simpleFoam/backwardFacingStep2D` (H = 0.0127 m, U = 44.2 m/s, ν = 1.56e-5,
//! Re_H 36 000, the same 20 540 cells on a block grid with its gradings): the reattachment
//! point x_r/H (the first upward zero crossing of the lower-wall cf after x/H = 2), and cf
//! and Cp along the lower wall against the experiment.

use super::block::{self, multi, Grid2d, Side};
use super::compare::{interp, zero_crossing_up};
use super::svg::{Plot, Series, Style};
use super::{data, r4, run_block, sample, spec, Ctx, Measured};
use crate::foam::dict::Value;
use crate::foam::patches::BcKind;
use crate::foam::spec::TurbulenceModel;
use serde_json::json;

const H: f64 = 0.0127;
const U: f64 = 44.2;
const NU: f64 = 1.56e-5;

/// Blocks: columns x/H ∈ [-130, -110] (slip lead-in), [-110, 0], [0, 8], [8, 50]; rows
/// y/H ∈ [0, 1] (below the step's top, downstream only) and [1, 9].
fn present(i: usize, j: usize) -> bool {
    j == 1 || i >= 2
}

/// Runs the case and compares.
pub fn run(ctx: &Ctx) -> Result<Measured, String> {
    let mut s = spec(U, NU, TurbulenceModel::KOmegaSst, 2000, ctx.flavour);
    s.solver.residual_targets =
        [("p", 1e-4), ("U", 1e-6), ("k", 1e-5), ("omega", 1e-5)].into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    s.solver.relaxation = [("U", 0.9), ("k", 0.8), ("omega", 0.8)].into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    let y_spacing = multi(&[[0.3, 0.47, 250.0], [0.2, 0.06, 1.0], [0.3, 0.47, 0.004]]);
    let g = Grid2d {
        xs: vec![-130.0, -110.0, 0.0, 8.0, 50.0],
        ys: vec![0.0, 1.0, 9.0],
        nx: vec![
            (2, Value::Float(0.3)),
            (88, multi(&[[106.0, 63.0, 0.1], [4.0, 25.0, 0.3]])),
            (97, Value::Float(1.0)),
            (33, Value::Float(80.0)),
        ],
        ny: vec![(48, multi(&[[0.5, 0.5, 50.0], [0.5, 0.5, 0.1]])), (65, y_spacing)],
        thickness: 1.0,
        present,
    };
    let mesh = g.mesh(
        H,
        vec![
            ("inlet", BcKind::Inlet([U, 0.0, 0.0]), vec![Side::Left(0, 1)]),
            ("outlet", BcKind::Outlet(0.0), vec![Side::Right(3, 0), Side::Right(3, 1)]),
            ("lowerWallStartup", BcKind::Symmetry, vec![Side::Bottom(0, 1)]),
            ("upperWallStartup", BcKind::Symmetry, vec![Side::Top(0, 1)]),
            ("upperWall", BcKind::Wall, vec![Side::Top(1, 1), Side::Top(2, 1), Side::Top(3, 1)]),
            (
                "lowerWall",
                BcKind::Wall,
                vec![Side::Bottom(1, 1), Side::Left(2, 0), Side::Bottom(2, 0), Side::Bottom(3, 0)],
            ),
        ],
    );
    // The tutorial's inlet turbulence: k 1.09e-3 m²/s² (0.061 %), ω 181 728 1/s.
    let turb = block::turbulence(1.09e-3, 181_728.0);
    let reference = block::reference(&["lowerWall"], U, H, H * H);
    let case = block::build(&s, &mesh, turb, [U, 0.0, 0.0], &reference, false).map_err(|e| e.to_string())?;
    let solved = run_block(ctx, &case, 900)?;
    let q = 0.5 * U * U;
    // The lower wall downstream of the step (y = 0), and upstream of it (y = H).
    let tau = sample::wall(&solved, "lowerWall", "wallShearStress")?;
    let floor = |c: &[f64; 3], down: bool| if down { c[1] < 0.5 * H && c[0] > 1e-9 } else { c[1] > 0.5 * H };
    let mut cf: Vec<(f64, f64)> = tau
        .iter()
        .filter(|(c, _)| floor(c, true) || (floor(c, false) && c[0] < -1e-9))
        .map(|(c, t)| (c[0] / H, -t[0] / q))
        .collect();
    cf.sort_by(|a, b| a.0.total_cmp(&b.0));
    let xr = zero_crossing_up(&cf, 2.0).ok_or("the lower-wall cf never turns positive after x/H = 2: no reattachment")?;
    let p = sample::beside(&solved, "lowerWall", "p")?;
    let p_ref = interp(&p, -4.0 * H).unwrap_or(0.0);
    let cp: Vec<(f64, f64)> = p.iter().map(|(x, v)| (x / H, (v - p_ref) / q)).filter(|(x, _)| *x > -10.0).collect();
    let cf_m4 = interp(&cf, -4.0).unwrap_or(f64::NAN);
    let mut m = Measured { pass: (5.9..=7.0).contains(&xr), ..Measured::default() };
    m.metrics.insert("x_r_over_H".into(), r4(xr));
    m.metrics.insert("cf_at_x_over_H_minus_4".into(), r4(cf_m4));
    m.metrics.insert("cells".into(), json!(mesh.cells()));
    m.reference.insert("source".into(), json!("Driver & Seegmiller 1985 (NASA TMR); SST on TMR grids 6.54"));
    m.reference.insert("x_r_over_H".into(), json!(6.26));
    m.reference.insert("x_r_over_H_range".into(), json!([5.9, 7.0]));
    m.reference.insert("cf_at_x_over_H_minus_4".into(), json!(2.88e-3));
    let exp_cf = data::xy(data::BFS_CF, "x_over_H", "cf", |_| true);
    let exp_cp = data::xy(data::BFS_CP, "x_over_H", "cp_orig", |r| r.first() == Some(&"bottom wall"));
    let window = |v: &[(f64, f64)]| -> Vec<(f64, f64)> { v.iter().copied().filter(|(x, _)| (-6.0..=36.0).contains(x)).collect() };
    m.plots.push(Plot {
        file: "cf_lower_wall".into(),
        title: format!("Backward-facing step, k-ω SST: lower-wall cf (x_r/H = {xr:.2})"),
        x_label: "x / H (-)".into(),
        y_label: "c_f (-)".into(),
        series: vec![
            Series { label: "FlowCFD k-ω SST".into(), points: window(&cf), style: Style::Line },
            Series { label: "Driver & Seegmiller 1985".into(), points: exp_cf, style: Style::Markers },
        ],
    });
    m.plots.push(Plot {
        file: "cp_lower_wall".into(),
        title: "Backward-facing step, k-ω SST: lower-wall Cp (referenced to x/H = −4)".into(),
        x_label: "x / H (-)".into(),
        y_label: "C_p (-)".into(),
        series: vec![
            Series { label: "FlowCFD k-ω SST".into(), points: window(&cp), style: Style::Line },
            Series { label: "Driver & Seegmiller 1985".into(), points: exp_cp, style: Style::Markers },
        ],
    });
    Ok(m)
}
