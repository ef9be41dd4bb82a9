//! Finding and configuring OpenFOAM so that a user never has to source anything.
//!
//! Order: an explicit environment script (`--openfoam-env` / `FLOWCFD_OPENFOAM_ENV`), then
//! Debian's package (`/usr/share/openfoam` + binaries on PATH, which only needs
//! `WM_PROJECT_DIR`), then the usual install locations of openfoam.com packages and source
//! builds (`/usr/lib/openfoam/openfoam*/etc/bashrc`, `/opt/openfoam*/etc/bashrc`).
//! An environment that is already set up (a `module load openfoam/...` in a batch script,
//! a sourced bashrc) counts when `WM_PROJECT_DIR` is set and a solver is on PATH.
//!
//! It also tells which OpenFOAM it found ([`OpenFoamEnv::flavour`]): from
//! `WM_PROJECT_VERSION` as the environment script or the inherited environment sets it, else
//! from the `export WM_PROJECT_VERSION=` line of `$WM_PROJECT_DIR/etc/bashrc` (Debian's
//! package sets no variables; its bashrc says `v1912`).

use crate::foam::flavour::{Flavour, FlavourError};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The environment OpenFOAM applications run with.
#[derive(Debug, Clone)]
pub struct OpenFoamEnv {
    /// Variables to set on every child process (on top of the inherited environment).
    pub vars: Vec<(String, String)>,
    /// How it was found, for messages.
    pub source: String,
    /// `WM_PROJECT_VERSION` as found (`v1912`, `11`, `dev`), if anything said it.
    pub project_version: Option<String>,
}

impl OpenFoamEnv {
    /// Which OpenFOAM this is, from its `WM_PROJECT_VERSION`.
    pub fn flavour(&self) -> Result<Flavour, FlavourError> {
        Flavour::from_project_version(self.project_version.as_deref().unwrap_or_default())
    }

    fn new(vars: Vec<(String, String)>, source: String, project_dir: Option<&str>) -> Self {
        let from_vars = vars.iter().find(|(k, _)| k == "WM_PROJECT_VERSION").map(|(_, v)| v.clone());
        let project_version =
            from_vars.or_else(|| std::env::var("WM_PROJECT_VERSION").ok().filter(|v| !v.is_empty())).or_else(|| {
                let dir = vars
                    .iter()
                    .find(|(k, _)| k == "WM_PROJECT_DIR")
                    .map(|(_, v)| v.clone())
                    .or_else(|| project_dir.map(str::to_string))?;
                version_from_bashrc(&std::fs::read_to_string(Path::new(&dir).join("etc/bashrc")).ok()?)
            });
        // A `module load openfoam/...` (a Slurm preamble) is worth naming in the record.
        let source = match std::env::var("LOADEDMODULES").ok().filter(|m| !m.is_empty()) {
            Some(modules) => format!("{source}; modules loaded: {modules}"),
            None => source,
        };
        OpenFoamEnv { vars, source, project_version }
    }
}

/// The value of `export WM_PROJECT_VERSION=...` in an OpenFOAM `etc/bashrc`.
pub fn version_from_bashrc(text: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let v = l.trim().strip_prefix("export WM_PROJECT_VERSION=")?;
        let v = v.split('#').next()?.trim().trim_matches(|c| c == '"' || c == '\'');
        (!v.is_empty() && !v.contains('$')).then(|| v.to_string())
    })
}

/// OpenFOAM could not be found or configured.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    /// Nothing found.
    #[error(
        "OpenFOAM was not found. On Debian/Ubuntu install it with `sudo apt-get install openfoam openmpi-bin`; \
         elsewhere point FlowCFD at your installation with --openfoam-env /path/to/OpenFOAM/etc/bashrc \
         (or FLOWCFD_OPENFOAM_ENV)"
    )]
    NotFound,
    /// The given script does not exist or failed.
    #[error("OpenFOAM environment script {path}: {msg}")]
    Script {
        /// The script.
        path: String,
        /// What went wrong.
        msg: String,
    },
}

const DEBIAN_DIR: &str = "/usr/share/openfoam";

fn on_path(exe: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| std::env::split_paths(&paths).map(|d| d.join(exe)).find(|p| p.is_file()))
}

/// A flow solver of either flavour on PATH (the Foundation's 11 and later have only foamRun).
fn solver_on_path() -> bool {
    on_path("simpleFoam").is_some() || on_path("foamRun").is_some()
}

/// Runs `script` in a login-less bash and captures the environment it exports.
fn source_script(script: &Path) -> Result<Vec<(String, String)>, EnvError> {
    let err = |msg: String| EnvError::Script { path: script.display().to_string(), msg };
    if !script.is_file() {
        return Err(err("file not found".into()));
    }
    // The path goes in as a positional argument, never inside the script text.
    let out = Command::new("bash")
        .args(["-c", ". \"$1\" >/dev/null 2>&1; env -0", "flowcfd-env"])
        .arg(script)
        .output()
        .map_err(|e| err(format!("cannot run bash: {e}")))?;
    if !out.status.success() {
        return Err(err(format!("sourcing failed with {}", out.status)));
    }
    let vars: Vec<(String, String)> = out
        .stdout
        .split(|b| *b == 0)
        .filter_map(|kv| {
            let kv = String::from_utf8_lossy(kv);
            let (k, v) = kv.split_once('=')?;
            Some((k.to_string(), v.to_string()))
        })
        .filter(|(k, v)| std::env::var(k).ok().as_deref() != Some(v.as_str()))
        .collect();
    if !vars.iter().any(|(k, _)| k == "WM_PROJECT_DIR") {
        return Err(err("it did not set WM_PROJECT_DIR; is it OpenFOAM's etc/bashrc?".into()));
    }
    Ok(vars)
}

/// Finds OpenFOAM. `script` is the user's explicit environment script, if any.
pub fn detect(script: Option<&Path>) -> Result<OpenFoamEnv, EnvError> {
    if let Some(s) = script {
        return Ok(OpenFoamEnv::new(source_script(s)?, s.display().to_string(), None));
    }
    if let Ok(dir) = std::env::var("WM_PROJECT_DIR") {
        if solver_on_path() {
            return Ok(OpenFoamEnv::new(vec![], format!("WM_PROJECT_DIR={dir} (already set)"), Some(&dir)));
        }
    }
    if Path::new(DEBIAN_DIR).join("etc/controlDict").is_file() && solver_on_path() {
        return Ok(OpenFoamEnv::new(
            vec![("WM_PROJECT_DIR".into(), DEBIAN_DIR.into())],
            "Debian package (/usr/share/openfoam)".into(),
            None,
        ));
    }
    for pattern_dir in ["/usr/lib/openfoam", "/opt"] {
        let Ok(entries) = std::fs::read_dir(pattern_dir) else { continue };
        let mut candidates: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.to_lowercase().starts_with("openfoam"))
            })
            .map(|p| p.join("etc/bashrc"))
            .filter(|p| p.is_file())
            .collect();
        candidates.sort();
        if let Some(newest) = candidates.pop() {
            return Ok(OpenFoamEnv::new(source_script(&newest)?, newest.display().to_string(), None));
        }
    }
    Err(EnvError::NotFound)
}

/// Reads the OpenFOAM version from an application's log banner: `Build  : OPENFOAM=1912`
/// (ESI builds; Debian's banner leaves `Version:` empty) or `Version:  v2312`.
pub fn version_from_log(log: &str) -> Option<String> {
    let build = log.lines().find_map(|l| {
        let rest = l.strip_prefix("Build")?.split("OPENFOAM=").nth(1)?;
        let v: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        (!v.is_empty()).then(|| format!("v{v}"))
    });
    build.or_else(|| {
        log.lines().find_map(|l| {
            let i = l.find("Version:")?;
            let v = l[i + 8..].split_whitespace().next()?.trim_end_matches('|');
            v.starts_with(|c: char| c == 'v' || c.is_ascii_digit()).then(|| v.to_string())
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_from_banner() {
        let log = "| =========                 |                                                 |\n\
                   |  \\\\    /   O peration     | Version:  v1912                                 |\n";
        assert_eq!(version_from_log(log).as_deref(), Some("v1912"));
        assert_eq!(version_from_log("nothing"), None);
        let debian = "|  \\    /   O peration     | Version:                                        |\nBuild  : OPENFOAM=1912 patch=200626\n";
        assert_eq!(version_from_log(debian).as_deref(), Some("v1912"));
    }

    #[test]
    fn version_from_bashrc_lines() {
        assert_eq!(version_from_bashrc("# x\nexport WM_PROJECT_VERSION=v1912\n").as_deref(), Some("v1912"));
        assert_eq!(version_from_bashrc("export WM_PROJECT_VERSION=11  # org\n").as_deref(), Some("11"));
        assert_eq!(version_from_bashrc("export WM_PROJECT_VERSION=$FOAM_VERSION\n"), None);
        assert_eq!(version_from_bashrc("# export WM_PROJECT_VERSION=v2312 is a comment here too\n"), None);
    }

    #[test]
    fn an_env_script_sets_the_flavour() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("bashrc");
        std::fs::write(&script, "export WM_PROJECT_DIR=/opt/openfoam11\nexport WM_PROJECT_VERSION=11\n").unwrap();
        let env = detect(Some(&script)).unwrap();
        assert_eq!(env.flavour(), Ok(Flavour::Foundation { version: 11 }));
        std::fs::write(&script, "export WM_PROJECT_DIR=/opt/openfoam-dev\nexport WM_PROJECT_VERSION=dev\n").unwrap();
        let e = detect(Some(&script)).unwrap().flavour().unwrap_err().to_string();
        assert!(e.contains("--openfoam-flavour"), "{e}");
    }

    #[test]
    fn missing_script_is_a_clear_error() {
        let e = detect(Some(Path::new("/nonexistent/etc/bashrc"))).unwrap_err();
        assert!(e.to_string().contains("file not found"), "{e}");
    }
}
