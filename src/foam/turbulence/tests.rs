//! Inlet values by hand, the wall-treatment choice, the fields per model and the messages
//! for bad `[turbulence]` input.

use super::*;
use crate::foam::dict::{write_entries_string, Word};
use crate::foam::spec::SpecError;

fn spec(turbulence: &str) -> Result<CaseSpec, SpecError> {
    let text = format!("[flow]\ntype = \"external\"\nvelocity = [10.0, 0.0, 0.0]\n[turbulence]\n{turbulence}\n");
    CaseSpec::from_toml(&text, "case.toml")
}

fn layers(count: u32, yplus: f64) -> LayerPlan {
    LayerPlan {
        count,
        expansion_ratio: 1.2,
        first_layer_thickness: 1e-4,
        estimated_yplus: yplus,
        surface_cell_size: 0.01,
        feature_angle: 130,
        tet_check: false,
        friction: crate::foam::friction::FrictionModel::FlatPlate,
    }
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs()
}

#[test]
fn pitz_daily_inlet_values_by_hand() {
    // simpleFoam/pitzDaily: U 10 m/s, k 0.375, epsilon 14.855. k = 1.5 (10 × 0.05)² = 0.375
    // gives I = 5 %; ε = 0.09^0.75 × 0.375^1.5 / l = 0.164317 × 0.229640 / l = 0.0377338 / l,
    // so l = 2.54 mm (a tenth of the 25.4 mm step).
    let t = InletTurbulence::from_length_scale(10.0, 0.05, 0.00254, 1e-5);
    assert!(close(t.k, 0.375, 1e-12), "{t:?}");
    assert!(close(t.epsilon, 14.855, 1e-3), "{t:?}");
    // ω = √k / (Cμ^¼ l) = 0.612372 / (0.547723 × 0.00254) = 440.17; νt = k/ω = Cμ k²/ε.
    assert!(close(t.omega, 440.17, 1e-4), "{t:?}");
    assert!(close(t.nut, C_MU * t.k * t.k / t.epsilon, 1e-12), "{t:?}");
    assert!(close(t.nut, 8.519e-4, 1e-3), "{t:?}");
}

#[test]
fn motorbike_inlet_values_by_hand() {
    // simpleFoam/motorBike: U 20, k 0.24 → I = 2 %; ω 1.78 → l ≈ 0.503 m.
    let t = InletTurbulence::from_length_scale(20.0, 0.02, 0.5025, 1.5e-5);
    assert!((t.k - 0.24).abs() < 1e-12);
    assert!((t.omega - 1.78).abs() < 0.01, "{}", t.omega);
}

#[test]
fn viscosity_ratio_inlet_values_by_hand() {
    // U 10, I 1 %: k = 1.5 × 0.1² = 0.015; νt = 10 × 1.5e-5 = 1.5e-4;
    // ω = k/νt = 100; ε = 0.09 × 0.015² / 1.5e-4 = 0.135.
    let t = InletTurbulence::from_viscosity_ratio(10.0, 0.01, 10.0, 1.5e-5);
    assert!(close(t.k, 0.015, 1e-12));
    assert!(close(t.nut, 1.5e-4, 1e-12));
    assert!(close(t.omega, 100.0, 1e-12));
    assert!(close(t.epsilon, 0.135, 1e-12));
    // The spec picks the ratio over the length scale when both are there.
    let s = spec("viscosity_ratio = 10.0\nlength_scale = 0.3").unwrap();
    assert_eq!(InletTurbulence::for_spec(&s, 0.3), t);
    let s = spec("length_scale = 0.3").unwrap();
    assert_eq!(InletTurbulence::for_spec(&s, 0.3), InletTurbulence::from_length_scale(10.0, 0.01, 0.3, 1.5e-5));
}

#[test]
fn nu_tilda_gives_the_same_eddy_viscosity() {
    // χ = 10: fv1 = 1000 / (1000 + 7.1³) = 1000 / 1357.911 = 0.736425, so νt = 7.36425 ν.
    let nu = 1.5e-5;
    assert!(close(nu_tilda_for(7.36425 * nu, nu), 10.0 * nu, 1e-5));
    for r in [5.0, 47.0, 1000.0, 1e5] {
        let nt = nu_tilda_for(r * nu, nu);
        let chi = nt / nu;
        let nut = nt * chi.powi(3) / (chi.powi(3) + SA_CV1.powi(3));
        assert!(close(nut, r * nu, 1e-9), "ratio {r}: ν̃ {nt} gives νt {nut}");
    }
    // A quiet free stream: the 3ν floor.
    assert_eq!(nu_tilda_for(1e-3 * nu, nu), 3.0 * nu);
    // The serialised keys: the old three and the two new ones.
    let t = InletTurbulence::from_length_scale(10.0, 0.01, 0.1, nu);
    let json = serde_json::to_value(t).unwrap();
    for key in ["k", "omega", "nut", "epsilon", "nuTilda"] {
        assert!(json[key].as_f64().is_some_and(|x| x > 0.0), "{key} in {json}");
    }
}

#[test]
fn wall_treatment_follows_the_first_layer() {
    let sst = spec("").unwrap();
    assert_eq!(near_wall(&sst, &layers(5, 50.0)), NearWall::WallFunctions);
    assert_eq!(near_wall(&sst, &layers(5, 11.5)), NearWall::WallFunctions);
    // A plan that aimed at the log layer (target y+ 100) and got a thin first layer because
    // the cells were too fine is no resolved wall: wall functions still.
    assert_eq!(near_wall(&sst, &layers(1, 5.0)), NearWall::WallFunctions);
    // Aimed at the sublayer (target y+ below 11): resolved. A first layer given outright
    // (the mesh AI's, or the user's) does not say which layer it aimed at.
    let text = "[flow]\ntype = \"external\"\nvelocity = [10.0, 0.0, 0.0]\n[mesh.layers]\n";
    let aimed = CaseSpec::from_toml(&format!("{text}target_yplus = 1\n"), "case.toml").unwrap();
    assert_eq!(near_wall(&aimed, &layers(5, 1.2)), NearWall::LowRe);
    let own = CaseSpec::from_toml(&format!("{text}first_layer_thickness = 1e-5\n"), "case.toml").unwrap();
    assert_eq!(near_wall(&own, &layers(5, 1.2)), NearWall::WallFunctions);
    // No layers: the surface cell itself is the first cell, far above the sublayer.
    assert_eq!(near_wall(&sst, &layers(0, 0.0)), NearWall::WallFunctions);
    let sa = CaseSpec::from_toml(
        &format!("{text}target_yplus = 1\n[turbulence]\nmodel = \"SpalartAllmaras\"\n"),
        "case.toml",
    )
    .unwrap();
    assert_eq!(near_wall(&sa, &layers(5, 0.8)), NearWall::LowRe);
    // k-ε under auto: always wall functions, whatever the layers.
    for m in ["kEpsilon", "realizableKE"] {
        let s = spec(&format!("model = \"{m}\"")).unwrap();
        assert_eq!(near_wall(&s, &layers(5, 1.0)), NearWall::WallFunctions, "{m}");
    }
    // Explicit choices win over the layers.
    let s = spec("wall_treatment = \"low_re\"").unwrap();
    assert_eq!(near_wall(&s, &layers(5, 60.0)), NearWall::LowRe);
    let s = spec("wall_treatment = \"wall_functions\"").unwrap();
    assert_eq!(near_wall(&s, &layers(5, 1.0)), NearWall::WallFunctions);
    let s = spec("model = \"laminar\"\nwall_treatment = \"wall_functions\"").unwrap();
    assert_eq!(near_wall(&s, &layers(5, 1.0)), NearWall::Laminar);
}

#[test]
fn a_first_layer_that_does_not_suit_the_wall_treatment_is_named() {
    let s = spec("wall_treatment = \"low_re\"").unwrap();
    let w = near_wall_warning(&s, &layers(5, 391.0), NearWall::LowRe).unwrap();
    assert!(w.contains("y+ ≈ 391") && w.contains("mesh.layers.count"), "{w}");
    assert_eq!(near_wall_warning(&s, &layers(5, 1.1), NearWall::LowRe), None);
    let s = spec("wall_treatment = \"wall_functions\"").unwrap();
    let w = near_wall_warning(&s, &layers(5, 2.0), NearWall::WallFunctions).unwrap();
    assert!(w.contains("y+ ≈ 2.0") && w.contains("target_yplus"), "{w}");
    assert_eq!(near_wall_warning(&s, &layers(5, 60.0), NearWall::WallFunctions), None);
    assert_eq!(near_wall_warning(&spec("").unwrap(), &layers(5, 60.0), NearWall::WallFunctions), None);
}

#[test]
fn low_re_aims_the_layers_at_yplus_one() {
    assert_eq!(layer_target_yplus(&spec("").unwrap()), 100.0);
    assert_eq!(layer_target_yplus(&spec("wall_treatment = \"low_re\"").unwrap()), LOW_RE_YPLUS);
    assert_eq!(layer_target_yplus(&spec("model = \"laminar\"\nwall_treatment = \"low_re\"").unwrap()), 100.0);
    let mut s = spec("model = \"SpalartAllmaras\"\nwall_treatment = \"low_re\"").unwrap();
    s.mesh.layers.target_yplus = 0.5;
    assert_eq!(layer_target_yplus(&s), 0.5, "a smaller user target stays");
}

#[test]
fn bad_turbulence_input_is_named() {
    for m in ["kEpsilon", "realizableKE"] {
        let err = spec(&format!("model = \"{m}\"\nwall_treatment = \"low_re\"")).unwrap_err().to_string();
        assert!(
            err.contains("turbulence.wall_treatment") && err.contains(m) && err.contains("wall_functions"),
            "{err}"
        );
    }
    for r in ["0.0", "-3.0", "nan", "1e9"] {
        let err = spec(&format!("viscosity_ratio = {r}")).unwrap_err().to_string();
        assert!(err.contains("turbulence.viscosity_ratio") && err.contains("between 0 and 100000"), "{r}: {err}");
    }
    let err = spec("model = \"kOmega\"").unwrap_err().to_string();
    assert!(err.contains("kOmega") && err.contains("realizableKE") && err.contains("SpalartAllmaras"), "{err}");
    let err = spec("wall_treatment = \"lowRe\"").unwrap_err().to_string();
    assert!(err.contains("low_re"), "{err}");
}

fn patches() -> Vec<Patch> {
    let p = |name: &str, kind| Patch { name: Word::new(name).unwrap(), kind, from_surface: false };
    vec![
        p("inlet", BcKind::Inlet([10.0, 0.0, 0.0])),
        p("outlet", BcKind::Outlet(0.0)),
        p("body", BcKind::Wall),
        p("top", BcKind::Slip),
    ]
}

fn fields_text(model: &str, wall: NearWall) -> Vec<(String, String)> {
    let s = spec(&format!("model = \"{model}\"")).unwrap();
    let t = InletTurbulence::from_length_scale(10.0, 0.01, 0.1, 1.5e-5);
    initial_fields(&s, &patches(), t, wall)
        .into_iter()
        .map(|(name, _, body)| (name.to_string(), write_entries_string(&body).unwrap()))
        .collect()
}

fn wall_of(text: &str) -> String {
    let start = text.find("body").unwrap();
    text[start..start + text[start..].find('}').unwrap()].split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn each_model_writes_its_fields_and_wall_conditions() {
    let names = |v: &[(String, String)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    let sst = fields_text("kOmegaSST", NearWall::WallFunctions);
    assert_eq!(names(&sst), ["k", "omega", "nut"]);
    assert!(wall_of(&sst[0].1).contains("type kqRWallFunction;"));
    assert!(wall_of(&sst[1].1).contains("type omegaWallFunction;"));
    assert!(wall_of(&sst[2].1).contains("type nutkWallFunction;"));
    let sst = fields_text("kOmegaSST", NearWall::LowRe);
    assert!(wall_of(&sst[0].1).contains("type fixedValue; value uniform 1e-10;"), "{}", wall_of(&sst[0].1));
    assert!(wall_of(&sst[1].1).contains("type omegaWallFunction;"));
    assert!(wall_of(&sst[2].1).contains("type nutLowReWallFunction;"));
    for m in ["kEpsilon", "realizableKE"] {
        let ke = fields_text(m, NearWall::WallFunctions);
        assert_eq!(names(&ke), ["k", "epsilon", "nut"]);
        assert!(wall_of(&ke[1].1).contains("type epsilonWallFunction;"));
        let flat = ke[1].1.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flat.starts_with("dimensions [0 2 -3 0 0 0 0];"), "{flat}");
    }
    for wall in [NearWall::WallFunctions, NearWall::LowRe] {
        let sa = fields_text("SpalartAllmaras", wall);
        assert_eq!(names(&sa), ["nuTilda", "nut"]);
        assert!(wall_of(&sa[0].1).contains("type fixedValue; value uniform 0;"), "{}", wall_of(&sa[0].1));
        assert!(wall_of(&sa[1].1).contains("type nutUSpaldingWallFunction;"));
    }
    assert!(fields_text("laminar", NearWall::Laminar).is_empty());
}

#[test]
fn schemes_and_solved_fields_follow_the_model() {
    for m in TurbulenceModel::ALL {
        let keys: Vec<String> = div_schemes(m).into_iter().map(|(k, _)| k).collect();
        let want: Vec<String> = m.fields().iter().map(|f| format!("div(phi,{f})")).collect();
        assert_eq!(keys, want, "{m:?}");
        assert_eq!(&solved_fields(m)[2..], m.fields());
    }
}
