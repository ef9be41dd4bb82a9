//! Golden cases: the complete case FlowCFD writes for `examples/cube.toml`, per OpenFOAM
//! flavour, compared file by file with `tests/fixtures/golden/<flavour>/`.
//!
//! No Foundation OpenFOAM runs on this machine, so its case is pinned here, after a review
//! of every file against the OpenFOAM-11 tutorials (incompressibleFluid/motorBike and
//! pipeCyclic) and the OpenFOAM-11 sources; each dictionary is also read back by the ESI
//! installation's `foamDictionary`, which checks the syntax (not the keywords).
//! The other turbulence models (k-ε, realizable k-ε, Spalart-Allmaras) are pinned per flavour
//! in `tests/fixtures/golden/<flavour>-<model>/`, holding only the files a model changes
//! (`0.orig/`, fvSchemes, fvSolution, controlDict, the turbulence properties); every other
//! file must equal the cube case's.
//! Set FLOWCFD_REGENERATE=1 to rewrite the golden files after a deliberate change, and
//! review the diff.

mod common;
use common::{require_openfoam, root};
use flowcfd::foam::flavour::Flavour;
use flowcfd::foam::spec::{CaseSpec, TurbulenceModel};
use flowcfd::runner::pipeline;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The cube example's case files for `flavour` (rule-based mesh parameters, so nothing
/// depends on the mesh AI's model).
fn cube_case(flavour: Option<Flavour>) -> BTreeMap<PathBuf, String> {
    model_case(flavour, TurbulenceModel::KOmegaSst)
}

/// The cube example's case files with another turbulence model.
fn model_case(flavour: Option<Flavour>, model: TurbulenceModel) -> BTreeMap<PathBuf, String> {
    let text = std::fs::read_to_string(root().join("examples/cube.toml")).unwrap();
    let mut spec = CaseSpec::from_toml(&text, "cube.toml").unwrap();
    spec.solver.openfoam = flavour;
    spec.turbulence.model = model;
    let p = pipeline::prepare(spec, &root().join("examples/cube.stl"), &Default::default()).unwrap();
    assert_eq!(p.case.flavour, flavour.unwrap_or_default());
    p.case.files.into_iter().collect()
}

fn golden_dir(flavour: Flavour) -> PathBuf {
    root().join("tests/fixtures/golden").join(flavour.to_string().replace(':', "-"))
}

/// The models pinned beside the cube's k-ω SST.
const OTHER_MODELS: [TurbulenceModel; 3] =
    [TurbulenceModel::KEpsilon, TurbulenceModel::RealizableKe, TurbulenceModel::SpalartAllmaras];

fn model_golden_dir(flavour: Flavour, model: TurbulenceModel) -> PathBuf {
    let base = golden_dir(flavour);
    base.with_file_name(format!("{}-{}", base.file_name().unwrap().to_string_lossy(), model.of_name()))
}

/// Whether a file depends on the turbulence model.
fn model_file(rel: &Path) -> bool {
    rel.starts_with("0.orig")
        || ["system/fvSchemes", "system/fvSolution", "system/controlDict"].iter().any(|p| rel == Path::new(p))
        || ["constant/turbulenceProperties", "constant/momentumTransport"].iter().any(|p| rel == Path::new(p))
}

fn check_model_golden(flavour: Flavour, model: TurbulenceModel) {
    let base = cube_case(Some(flavour));
    let case = model_case(Some(flavour), model);
    assert_eq!(
        base.keys().filter(|r| !model_file(r)).collect::<Vec<_>>(),
        case.keys().filter(|r| !model_file(r)).collect::<Vec<_>>()
    );
    for (rel, text) in case.iter().filter(|(r, _)| !model_file(r)) {
        assert!(&base[rel] == text, "{flavour} {model:?}: {} differs from the k-ω SST case's", rel.display());
    }
    let case: BTreeMap<_, _> = case.into_iter().filter(|(r, _)| model_file(r)).collect();
    let dir = model_golden_dir(flavour, model);
    if std::env::var_os("FLOWCFD_REGENERATE").is_some() {
        let _ = std::fs::remove_dir_all(&dir);
        for (rel, text) in &case {
            let path = dir.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
    }
    let written: Vec<PathBuf> = case.keys().cloned().collect();
    assert_eq!(files_under(&dir), written, "{flavour} {model:?}: the file list differs from {}", dir.display());
    for (rel, text) in &case {
        let golden = std::fs::read_to_string(dir.join(rel)).unwrap();
        assert!(
            &golden == text,
            "{flavour} {model:?}: {} differs from its golden file (FLOWCFD_REGENERATE=1 rewrites it):\n{text}",
            rel.display()
        );
    }
}

#[test]
fn esi_other_turbulence_models_match_their_golden_files() {
    for m in OTHER_MODELS {
        check_model_golden(Flavour::Esi { version: 2312 }, m);
    }
}

#[test]
fn foundation_other_turbulence_models_match_their_golden_files() {
    for m in OTHER_MODELS {
        check_model_golden(Flavour::Foundation { version: 11 }, m);
    }
}

/// Each model's own fields, schemes, solvers and residual fields are present, and no other
/// model's.
#[test]
fn each_model_writes_only_its_own_fields() {
    for flavour in [Flavour::Esi { version: 2312 }, Flavour::Foundation { version: 11 }] {
        for m in TurbulenceModel::ALL {
            let case = model_case(Some(flavour), m);
            let mut want = vec!["U", "p"];
            want.extend(m.fields());
            if !m.is_laminar() {
                want.push("nut");
            }
            want.sort();
            let mut got: Vec<String> = case
                .keys()
                .filter(|r| r.starts_with("0.orig"))
                .map(|r| r.file_name().unwrap().to_string_lossy().to_string())
                .collect();
            got.sort();
            assert_eq!(got, want, "{flavour} {m:?}");
            let schemes = &case[Path::new("system/fvSchemes")];
            let solution = &case[Path::new("system/fvSolution")];
            let control = &case[Path::new("system/controlDict")];
            for f in ["k", "omega", "epsilon", "nuTilda"] {
                let own = m.fields().contains(&f);
                assert_eq!(schemes.contains(&format!("div(phi,{f})")), own, "{flavour} {m:?} fvSchemes {f}");
                let solver = solution.contains(&format!("\n    {f}\n    {{"));
                assert_eq!(solver, own, "{flavour} {m:?} fvSolution solver {f}:\n{solution}");
                let final_solver = solution.contains(&format!("\n    {f}Final\n"));
                assert_eq!(final_solver, own && flavour.is_foundation(), "{flavour} {m:?} {f}Final");
            }
            assert_eq!(control.contains("yPlus1"), !m.is_laminar(), "{flavour} {m:?} yPlus");
        }
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

fn check_golden(flavour: Flavour) {
    let case = cube_case(Some(flavour));
    let dir = golden_dir(flavour);
    if std::env::var_os("FLOWCFD_REGENERATE").is_some() {
        let _ = std::fs::remove_dir_all(&dir);
        for (rel, text) in &case {
            let path = dir.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
    }
    let written: Vec<PathBuf> = case.keys().cloned().collect();
    assert_eq!(files_under(&dir), written, "{flavour}: the case's file list differs from {}", dir.display());
    for (rel, text) in &case {
        let golden = std::fs::read_to_string(dir.join(rel)).unwrap();
        assert!(
            &golden == text,
            "{flavour}: {} differs from its golden file (FLOWCFD_REGENERATE=1 rewrites it):\n{text}",
            rel.display()
        );
    }
}

#[test]
fn esi_v2312_case_matches_its_golden_files() {
    check_golden(Flavour::Esi { version: 2312 });
}

#[test]
fn foundation_11_case_matches_its_golden_files() {
    check_golden(Flavour::Foundation { version: 11 });
}

/// ESI v1912 (Debian's package, which the other tests run for real) and v2312 read the
/// same dictionaries, and the default (no flavour named) is v2312.
#[test]
fn esi_releases_and_the_default_write_the_same_case() {
    let v2312 = cube_case(Some(Flavour::Esi { version: 2312 }));
    assert_eq!(cube_case(Some(Flavour::Esi { version: 1912 })), v2312);
    assert_eq!(cube_case(None), v2312);
}

/// The Foundation names its files and applications differently; the ESI ones are absent.
#[test]
fn foundation_case_uses_the_foundation_names() {
    let case = cube_case(Some(Flavour::Foundation { version: 11 }));
    let has = |p: &str| case.contains_key(Path::new(p));
    for p in [
        "constant/physicalProperties",
        "constant/momentumTransport",
        "system/surfaceFeaturesDict",
        "constant/geometry/body.obj",
    ] {
        assert!(has(p), "{p} missing");
    }
    for p in [
        "constant/transportProperties",
        "constant/turbulenceProperties",
        "system/surfaceFeatureExtractDict",
        "constant/triSurface/body.obj",
    ] {
        assert!(!has(p), "{p} is ESI's");
    }
    let control = &case[Path::new("system/controlDict")];
    assert!(control.contains("application     foamRun;") && control.contains("solver          incompressibleFluid;"));
    for esi_only in ["simpleFoam", "solverInfo", "abort", "<case>"] {
        assert!(!control.contains(esi_only), "{esi_only} in the Foundation controlDict:\n{control}");
    }
}

/// Every dictionary of both golden cases parses with a real OpenFOAM reader (the ESI
/// installation's foamDictionary: the syntax both lines share).
#[test]
fn golden_dictionaries_parse_with_foam_dictionary() {
    require_openfoam();
    let flavours = [Flavour::Esi { version: 2312 }, Flavour::Foundation { version: 11 }];
    let dirs = flavours.iter().flat_map(|f| {
        std::iter::once((*f, golden_dir(*f))).chain(OTHER_MODELS.iter().map(|m| (*f, model_golden_dir(*f, *m))))
    });
    for (flavour, dir) in dirs {
        for rel in files_under(&dir) {
            let top = rel.components().next().unwrap().as_os_str().to_string_lossy().to_string();
            if !["system", "constant", "0.orig"].contains(&top.as_str()) || rel.extension().is_some() {
                continue; // scripts, the surface, the ParaView marker
            }
            let out = Command::new("foamDictionary")
                .arg(dir.join(&rel))
                .arg("-keywords")
                .env("WM_PROJECT_DIR", std::env::var("WM_PROJECT_DIR").unwrap_or("/usr/share/openfoam".into()))
                .output()
                .expect("foamDictionary runs");
            let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success() && !text.contains("FOAM FATAL"), "{flavour} {}: {text}", rel.display());
            assert!(!out.stdout.is_empty(), "{flavour} {}: no keywords read", rel.display());
        }
    }
}
