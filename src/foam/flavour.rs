//! Which OpenFOAM a case is written for: the ESI release (openfoam.com, `v2312`) or the
//! Foundation release (openfoam.org, `11`), with its version.
//!
//! The two lines share the mesh utilities but differ where FlowCFD's case touches them: the
//! Foundation runs the solver as `foamRun` (`solver incompressibleFluid;`), reads
//! `physicalProperties` and `momentumTransport`, extracts features with `surfaceFeatures`,
//! keeps surfaces in `constant/geometry`, and names some function objects and
//! snappyHexMesh keys differently. The case writer takes a [`Flavour`] and writes what that
//! release reads; the runner finds it from `WM_PROJECT_VERSION`.
//!
//! Spelling (flag `--openfoam-flavour`, case key `solver.openfoam`): `esi:2312`,
//! `foundation:11`. Supported: ESI v1906 and later (v1906 brought the `solverInfo` function
//! object FlowCFD's controlDict uses) and Foundation 11 and later (11 brought `foamRun`).
//! `WM_PROJECT_VERSION=dev` (a Foundation development build) is refused with a message
//! that names the flag: its dictionaries change from week to week, so FlowCFD will not
//! guess which release it resembles.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An OpenFOAM release line and its version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Flavour {
    /// openfoam.com releases, versioned by year and month (`v1912` is 1912, `v2312` 2312).
    Esi {
        /// yymm, e.g. 2312.
        version: u32,
    },
    /// openfoam.org releases, numbered 11, 12, ...
    Foundation {
        /// Major version, e.g. 11.
        version: u32,
    },
}

/// A flavour that cannot be used, with what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlavourError {
    /// Not one of the spellings.
    #[error("{0:?} is not an OpenFOAM flavour: write esi:VERSION (e.g. esi:2312) or foundation:VERSION (e.g. foundation:11)")]
    Syntax(String),
    /// A release FlowCFD does not write cases for.
    #[error("{0}")]
    Unsupported(String),
    /// `WM_PROJECT_VERSION` says nothing FlowCFD can rely on (unset, `dev`, ...).
    #[error("cannot tell which OpenFOAM this is from WM_PROJECT_VERSION={0:?}; say it with --openfoam-flavour esi:VERSION or foundation:VERSION (or solver.openfoam in the case file)")]
    Unknown(String),
}

/// The oldest ESI release FlowCFD writes for.
pub const ESI_MIN: u32 = 1906;
/// The oldest Foundation release FlowCFD writes for.
pub const FOUNDATION_MIN: u32 = 11;

impl Default for Flavour {
    /// ESI v2312, the solver image's release: what `flowcfd case` writes when it is not
    /// told otherwise and finds no OpenFOAM.
    fn default() -> Self {
        Flavour::Esi { version: 2312 }
    }
}

impl Flavour {
    /// Checks the version range.
    pub fn checked(self) -> Result<Self, FlavourError> {
        match self {
            Flavour::Esi { version } if !(ESI_MIN..=9999).contains(&version) => Err(FlavourError::Unsupported(format!(
                "OpenFOAM v{version} (ESI) is not supported: FlowCFD writes cases for v{ESI_MIN} and later (yymm, e.g. esi:2312)"
            ))),
            Flavour::Foundation { version } if !(FOUNDATION_MIN..=99).contains(&version) => {
                Err(FlavourError::Unsupported(format!(
                    "OpenFOAM {version} (Foundation) is not supported: FlowCFD writes cases for {FOUNDATION_MIN} and later, which run the solver as foamRun"
                )))
            }
            f => Ok(f),
        }
    }

    /// From `WM_PROJECT_VERSION`: `v2312` is ESI 2312, `11` is Foundation 11.
    pub fn from_project_version(v: &str) -> Result<Self, FlavourError> {
        let v = v.trim();
        let digits = |s: &str| !s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit());
        if let Some(n) = v.strip_prefix('v').filter(|n| digits(n)) {
            return Flavour::Esi { version: n.parse().expect("digits") }.checked();
        }
        // Foundation point releases ("11.0" never shipped, but "2.3.1"-style names did).
        let major = v.split('.').next().unwrap_or_default();
        if digits(major) && major.len() <= 2 && v.split('.').skip(1).all(digits) {
            return Flavour::Foundation { version: major.parse().expect("digits") }.checked();
        }
        Err(FlavourError::Unknown(v.to_string()))
    }

    /// True for the openfoam.org line.
    pub fn is_foundation(self) -> bool {
        matches!(self, Flavour::Foundation { .. })
    }

    /// The application that solves the case (also its log name, `log.<app>`).
    pub fn solver_app(self) -> &'static str {
        if self.is_foundation() {
            "foamRun"
        } else {
            "simpleFoam"
        }
    }

    /// The feature-edge extraction utility.
    pub fn feature_app(self) -> &'static str {
        if self.is_foundation() {
            "surfaceFeatures"
        } else {
            "surfaceFeatureExtract"
        }
    }

    /// Where snappyHexMesh and the feature utility look for surfaces, under `constant/`.
    pub fn surface_dir(self) -> &'static str {
        if self.is_foundation() {
            "geometry"
        } else {
            "triSurface"
        }
    }

    /// Human-readable name, for messages and the generated Allrun.
    pub fn describe(self) -> String {
        match self {
            Flavour::Esi { version } => format!("OpenFOAM v{version} (ESI, openfoam.com)"),
            Flavour::Foundation { version } => format!("OpenFOAM {version} (Foundation, openfoam.org)"),
        }
    }
}

impl fmt::Display for Flavour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Flavour::Esi { version } => write!(f, "esi:{version}"),
            Flavour::Foundation { version } => write!(f, "foundation:{version}"),
        }
    }
}

impl FromStr for Flavour {
    type Err = FlavourError;
    /// `esi:2312` (or `esi:v2312`) and `foundation:11`.
    fn from_str(s: &str) -> Result<Self, FlavourError> {
        let syntax = || FlavourError::Syntax(s.to_string());
        let (line, version) = s.trim().split_once(':').ok_or_else(syntax)?;
        let version = version.trim();
        let version = match line.trim().to_ascii_lowercase().as_str() {
            "esi" => version.strip_prefix('v').unwrap_or(version),
            "foundation" => version,
            _ => return Err(syntax()),
        };
        if version.is_empty() || version.len() > 4 || !version.bytes().all(|b| b.is_ascii_digit()) {
            return Err(syntax());
        }
        let version: u32 = version.parse().map_err(|_| syntax())?;
        if line.trim().eq_ignore_ascii_case("esi") {
            Flavour::Esi { version }.checked()
        } else {
            Flavour::Foundation { version }.checked()
        }
    }
}

impl TryFrom<String> for Flavour {
    type Error = FlavourError;
    fn try_from(s: String) -> Result<Self, FlavourError> {
        s.parse()
    }
}

impl From<Flavour> for String {
    fn from(f: Flavour) -> String {
        f.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_versions() {
        assert_eq!(Flavour::from_project_version("v1912"), Ok(Flavour::Esi { version: 1912 }));
        assert_eq!(Flavour::from_project_version("v2312\n"), Ok(Flavour::Esi { version: 2312 }));
        assert_eq!(Flavour::from_project_version("11"), Ok(Flavour::Foundation { version: 11 }));
        assert_eq!(Flavour::from_project_version("12"), Ok(Flavour::Foundation { version: 12 }));
        for unknown in ["dev", "", "vdev", "v", "2312x", "com"] {
            let e = Flavour::from_project_version(unknown).unwrap_err();
            assert!(matches!(e, FlavourError::Unknown(_)), "{unknown}: {e}");
            assert!(e.to_string().contains("--openfoam-flavour"), "{e}");
        }
        let old = Flavour::from_project_version("10").unwrap_err().to_string();
        assert!(old.contains("11 and later") && old.contains("foamRun"), "{old}");
        let old = Flavour::from_project_version("v1812").unwrap_err().to_string();
        assert!(old.contains("v1906"), "{old}");
    }

    #[test]
    fn spelling_round_trips() {
        for s in ["esi:1912", "esi:2312", "foundation:11", "foundation:12"] {
            let f: Flavour = s.parse().unwrap();
            assert_eq!(f.to_string(), s);
        }
        assert_eq!("ESI:v2312".parse(), Ok(Flavour::Esi { version: 2312 }));
        for bad in ["2312", "esi", "esi:", "openfoam:11", "foundation:v11", "esi:23120", "foundation:-1"] {
            assert!(matches!(bad.parse::<Flavour>(), Err(FlavourError::Syntax(_))), "{bad}");
        }
        assert!(matches!("foundation:9".parse::<Flavour>(), Err(FlavourError::Unsupported(_))));
    }

    #[test]
    fn serde_uses_the_spelling() {
        let f: Flavour = serde_json::from_str("\"foundation:11\"").unwrap();
        assert_eq!(f, Flavour::Foundation { version: 11 });
        assert_eq!(serde_json::to_string(&Flavour::default()).unwrap(), "\"esi:2312\"");
        let e = serde_json::from_str::<Flavour>("\"of11\"").unwrap_err().to_string();
        assert!(e.contains("foundation:VERSION"), "{e}");
    }

    #[test]
    fn per_flavour_names() {
        let esi = Flavour::Esi { version: 1912 };
        let org = Flavour::Foundation { version: 11 };
        assert_eq!((esi.solver_app(), org.solver_app()), ("simpleFoam", "foamRun"));
        assert_eq!((esi.feature_app(), org.feature_app()), ("surfaceFeatureExtract", "surfaceFeatures"));
        assert_eq!((esi.surface_dir(), org.surface_dir()), ("triSurface", "geometry"));
    }
}
