//! How a parallel step is started: `mpirun` on this machine, or across the hosts of an MPI
//! hostfile (a Kubernetes MPIJob's launcher) with the environment the ranks need, and, when
//! the hosts share no file system, a stage-in and stage-out around it.
//!
//! Everything here is chosen by the environment of `flowcfd run`, so a local or Slurm run,
//! which sets none of it, is exactly `mpirun -np N --oversubscribe APP ARGS`:
//! - [`HOSTFILE`]: ranks go to the hostfile's hosts, one per slot in order (`--map-by slot`,
//!   `--bind-to core`, never oversubscribed), with the OpenFOAM environment, PATH,
//!   LD_LIBRARY_PATH, [`CASE_DIR`] and the names in [`EXPORT`] exported to them (`-x`):
//!   ranks started through ssh inherit nothing else.
//! - [`RANK_SCRIPT`]: each rank runs `sh -c SCRIPT flowcfd-rank APP ARGS` (the script ends
//!   by running `"$@"`), which can fetch the rank's `processor*` directory first.
//! - [`BEFORE_PARALLEL`] / [`AFTER_PARALLEL`]: shell commands run in the case directory
//!   just before and just after each parallel step, logged as `log.stageIn` and
//!   `log.stageOut`.
use crate::foam::case::Step;
use std::path::Path;
use std::process::Command;

/// The MPI hostfile (the MPI Operator's `/etc/mpi/hostfile`).
pub const HOSTFILE: &str = "FLOWCFD_MPI_HOSTFILE";
/// A shell script each rank runs its application through.
pub const RANK_SCRIPT: &str = "FLOWCFD_MPI_RANK_SCRIPT";
/// Further variables (comma-separated names) mpirun exports to the ranks.
pub const EXPORT: &str = "FLOWCFD_MPI_EXPORT";
/// Run in the case directory before each parallel step.
pub const BEFORE_PARALLEL: &str = "FLOWCFD_BEFORE_PARALLEL";
/// Run in the case directory after each parallel step that succeeded.
pub const AFTER_PARALLEL: &str = "FLOWCFD_AFTER_PARALLEL";
/// Set by the runner for the hooks and the ranks: the case directory, absolute.
pub const CASE_DIR: &str = "FLOWCFD_CASE_DIR";

/// How `mpirun` is called.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MpiLaunch {
    /// The hostfile, when ranks run on other hosts.
    pub hostfile: Option<String>,
    /// The script each rank runs its application through.
    pub rank_script: Option<String>,
    /// Variables exported to the ranks (names; values come from mpirun's environment).
    pub export: Vec<String>,
    /// Running as root (Open MPI refuses it without `--allow-run-as-root`).
    pub as_root: bool,
}

/// Variables a sourced environment script sets that must not be forced onto the ranks.
fn exportable(name: &str) -> bool {
    let shell = ["_", "SHLVL", "PWD", "OLDPWD", "HOSTNAME", "HOME", "USER", "LOGNAME", "SHELL", "TERM"];
    !name.is_empty()
        && !shell.contains(&name)
        && !name.starts_with("OMPI_")
        && !name.starts_with("BASH_FUNC_")
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
}

impl MpiLaunch {
    /// From `env` (this process's environment, as name-value pairs) and `openfoam`, the
    /// variables the runner sets on OpenFOAM's processes.
    pub fn from_env(env: &[(String, String)], openfoam: &[(String, String)], as_root: bool) -> MpiLaunch {
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).filter(|v| !v.is_empty());
        let hostfile = get(HOSTFILE);
        let mut export = Vec::new();
        if hostfile.is_some() {
            let set = |n: &str| env.iter().any(|(k, _)| k == n) || openfoam.iter().any(|(k, _)| k == n);
            let extra = get(EXPORT).unwrap_or_default();
            // OpenFOAM's own variables may already be in this process's environment (an
            // image's ENV), where the sourced script leaves them out of `openfoam`.
            let foam = env.iter().map(|(k, _)| k).filter(|k| {
                k.starts_with("WM_")
                    || k.starts_with("FOAM_")
                    || ["MPI_ARCH_PATH", "MPI_BUFFER_SIZE"].contains(&k.as_str())
            });
            let names = ["PATH", "LD_LIBRARY_PATH"]
                .into_iter()
                .map(String::from)
                .chain(foam.cloned())
                .chain(openfoam.iter().map(|(k, _)| k.clone()))
                .chain(extra.split(',').map(|s| s.trim().to_string()));
            export = names.filter(|n| exportable(n) && set(n)).collect();
            export.push(CASE_DIR.to_string());
            export.sort();
            export.dedup();
        }
        MpiLaunch { hostfile, rank_script: get(RANK_SCRIPT), export, as_root }
    }

    /// mpirun's arguments for `np` ranks of `app args`.
    pub fn args(&self, np: u32, app: &str, app_args: &[String]) -> Vec<String> {
        let mut a = vec!["-np".to_string(), np.to_string()];
        if self.as_root {
            a.push("--allow-run-as-root".into());
        }
        match &self.hostfile {
            None => a.push("--oversubscribe".into()),
            Some(h) => {
                a.extend(["--hostfile", h, "--map-by", "slot", "--bind-to", "core"].map(String::from));
                for name in &self.export {
                    a.extend(["-x".to_string(), name.clone()]);
                }
            }
        }
        if let Some(script) = &self.rank_script {
            a.extend(["sh", "-c", script, "flowcfd-rank"].map(String::from));
        }
        a.push(app.to_string());
        a.extend(app_args.iter().cloned());
        a
    }

    /// The `mpirun` command of a parallel step in `case`.
    pub fn command(&self, np: u32, app: &str, app_args: &[String], case: &Path) -> Command {
        let mut c = Command::new("mpirun");
        c.args(self.args(np, app, app_args)).env(CASE_DIR, absolute(case));
        c
    }
}

fn absolute(case: &Path) -> std::path::PathBuf {
    std::path::absolute(case).unwrap_or_else(|_| case.to_path_buf())
}

/// Before or after a parallel step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// [`BEFORE_PARALLEL`], logged as `log.stageIn`.
    Before,
    /// [`AFTER_PARALLEL`], logged as `log.stageOut`.
    After,
}

/// The step and command of `hook` for a run in `case`, if the environment sets one.
pub fn hook(hook: Hook, env: &[(String, String)], case: &Path) -> Option<(Step, Command)> {
    let (var, name) = match hook {
        Hook::Before => (BEFORE_PARALLEL, "stageIn"),
        Hook::After => (AFTER_PARALLEL, "stageOut"),
    };
    let script = env.iter().find(|(k, _)| k == var).map(|(_, v)| v.clone()).filter(|v| !v.trim().is_empty())?;
    let mut c = Command::new("sh");
    c.args(["-c", &script, name]).env(CASE_DIR, absolute(case));
    Some((Step::App { app: name, args: Vec::new(), parallel: false, meshing: false }, c))
}

/// This process's environment as name-value pairs (non-Unicode entries left out).
pub fn process_env() -> Vec<(String, String)> {
    std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn a_local_run_is_the_plain_mpirun_it_always_was() {
        let m = MpiLaunch::from_env(&env(&[("PATH", "/usr/bin")]), &env(&[("WM_PROJECT_DIR", "/x")]), false);
        assert_eq!(
            m.args(4, "simpleFoam", &["-parallel".into()]),
            ["-np", "4", "--oversubscribe", "simpleFoam", "-parallel"]
        );
        let root = MpiLaunch { as_root: true, ..m };
        assert_eq!(
            root.args(2, "simpleFoam", &[]),
            ["-np", "2", "--allow-run-as-root", "--oversubscribe", "simpleFoam"]
        );
        assert!(hook(Hook::Before, &env(&[]), Path::new("c")).is_none());
    }

    #[test]
    fn with_a_hostfile_ranks_get_the_environment_and_the_rank_script() {
        let process = env(&[
            ("PATH", "/usr/bin"),
            (HOSTFILE, "/etc/mpi/hostfile"),
            (EXPORT, "FLOWCFD_STAGE_URLS, NOT_SET"),
            ("FLOWCFD_STAGE_URLS", "https://s3/x"),
            (RANK_SCRIPT, "exec \"$@\""),
        ]);
        let foam = env(&[("WM_PROJECT_DIR", "/opt/of"), ("_", "/usr/bin/env"), ("SHLVL", "2"), ("FOAM_RUN", "/r")]);
        let m = MpiLaunch::from_env(&process, &foam, false);
        assert_eq!(
            m.args(20, "simpleFoam", &["-parallel".into()]),
            [
                "-np",
                "20",
                "--hostfile",
                "/etc/mpi/hostfile",
                "--map-by",
                "slot",
                "--bind-to",
                "core",
                "-x",
                "FLOWCFD_CASE_DIR",
                "-x",
                "FLOWCFD_STAGE_URLS",
                "-x",
                "FOAM_RUN",
                "-x",
                "PATH",
                "-x",
                "WM_PROJECT_DIR",
                "sh",
                "-c",
                "exec \"$@\"",
                "flowcfd-rank",
                "simpleFoam",
                "-parallel",
            ]
        );
        // OpenFOAM set up by the image's environment rather than a sourced script.
        let mut image = process.clone();
        image.push(("WM_PROJECT_DIR".into(), "/opt/of".into()));
        let from_image = MpiLaunch::from_env(&image, &[], false);
        assert!(from_image.export.contains(&"WM_PROJECT_DIR".to_string()), "{:?}", from_image.export);
        let c = m.command(20, "simpleFoam", &[], Path::new("/w/out/.partial/case"));
        let dir = c.get_envs().find(|(k, _)| *k == CASE_DIR).and_then(|(_, v)| v).unwrap();
        assert_eq!(dir, "/w/out/.partial/case");
    }

    #[test]
    fn hooks_run_in_sh_with_the_case_directory() {
        let e = env(&[(BEFORE_PARALLEL, "echo in"), (AFTER_PARALLEL, " ")]);
        let (step, c) = hook(Hook::Before, &e, Path::new("/w/case")).unwrap();
        assert_eq!(step.name(), "stageIn");
        let args: Vec<_> = c.get_args().map(|a| a.to_str().unwrap()).collect();
        assert_eq!(args, ["-c", "echo in", "stageIn"]);
        assert!(hook(Hook::After, &e, Path::new("/w/case")).is_none(), "blank means none");
    }
}
