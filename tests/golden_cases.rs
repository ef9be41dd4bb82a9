//! Golden cases: the complete case FlowCFD writes for `examples/cube.toml`, per OpenFOAM
//! flavour, compared file by file with `tests/fixtures/golden/<flavour>/`.
//!
//! No Foundation OpenFOAM runs on this machine, so its case is pinned here, after a review
//! of every file against the OpenFOAM-11 tutorials (incompressibleFluid/motorBike and
//! pipeCyclic) and the OpenFOAM-11 sources; each dictionary is also read back by the ESI
//! installation's `foamDictionary`, which checks the syntax (not the keywords).
//! Set FLOWCFD_REGENERATE=1 to rewrite the golden files after a deliberate change, and
//! review the diff.

mod common;
use common::{require_openfoam, root};
use flowcfd::foam::flavour::Flavour;
use flowcfd::foam::spec::CaseSpec;
use flowcfd::runner::pipeline;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The cube example's case files for `flavour` (rule-based mesh parameters, so nothing
/// depends on the mesh AI's model).
fn cube_case(flavour: Option<Flavour>) -> BTreeMap<PathBuf, String> {
    cube_case_with(flavour, "")
}

/// As [`cube_case`], with `more` appended to the case file (whose last section is `[solver]`).
fn cube_case_with(flavour: Option<Flavour>, more: &str) -> BTreeMap<PathBuf, String> {
    let text = std::fs::read_to_string(root().join("examples/cube.toml")).unwrap() + more;
    let mut spec = CaseSpec::from_toml(&text, "cube.toml").unwrap();
    spec.solver.openfoam = flavour;
    let p = pipeline::prepare(spec, &root().join("examples/cube.stl"), &Default::default()).unwrap();
    assert_eq!(p.case.flavour, flavour.unwrap_or_default());
    p.case.files.into_iter().collect()
}

fn golden_dir(flavour: Flavour) -> PathBuf {
    root().join("tests/fixtures/golden").join(flavour.to_string().replace(':', "-"))
}

/// The cube as a transient run with two outer correctors (so relaxation is written too).
const TRANSIENT: &str = "type = \"transient\"\nend_time = 2.0\nmax_co = 2.0\nouter_correctors = 2\n";

fn transient_golden_dir(flavour: Flavour) -> PathBuf {
    root().join("tests/fixtures/golden").join(flavour.to_string().replace(':', "-") + "-transient")
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

/// The transient case's files that differ from the steady one's, against
/// `tests/fixtures/golden/<flavour>-transient/` (every other file is the steady golden's).
fn check_transient_golden(flavour: Flavour) {
    let steady = cube_case(Some(flavour));
    let case = cube_case_with(Some(flavour), TRANSIENT);
    assert_eq!(case.keys().collect::<Vec<_>>(), steady.keys().collect::<Vec<_>>(), "the same files");
    let changed: BTreeMap<&PathBuf, &String> = case.iter().filter(|(k, v)| steady[*k] != **v).collect();
    let dir = transient_golden_dir(flavour);
    if std::env::var_os("FLOWCFD_REGENERATE").is_some() {
        let _ = std::fs::remove_dir_all(&dir);
        for (rel, text) in &changed {
            let path = dir.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
    }
    let names: Vec<PathBuf> = changed.keys().map(|p| (*p).clone()).collect();
    assert_eq!(files_under(&dir), names, "{flavour}: the transient case changes other files than {}", dir.display());
    for (rel, text) in changed {
        let golden = std::fs::read_to_string(dir.join(rel)).unwrap();
        assert!(&golden == text, "{flavour} transient: {} differs from its golden file:\n{text}", rel.display());
    }
}

#[test]
fn transient_cases_match_their_golden_files() {
    check_transient_golden(Flavour::Esi { version: 2312 });
    check_transient_golden(Flavour::Foundation { version: 11 });
    let org = cube_case_with(Some(Flavour::Foundation { version: 11 }), TRANSIENT);
    let control = &org[Path::new("system/controlDict")];
    assert!(control.contains("application     foamRun;") && !control.contains("pimpleFoam"), "{control}");
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
    let dirs = flavours.iter().flat_map(|f| [(*f, golden_dir(*f)), (*f, transient_golden_dir(*f))]);
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
