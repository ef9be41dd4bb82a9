//! How the ranks of an MPIJob on other nodes see the decomposed case: the launcher's
//! environment for each `mpi_mode`, and the shell scripts of object-store staging.
//!
//! Object store (the default): the pods hold no credentials, so submit presigns, for the
//! case's common part and for each rank's `processor<r>` directory, one GET and one PUT URL
//! of the same key, and stores the table (`NAME GET PUT` per line) as one object whose GET
//! URL is the launcher's FLOWCFD_STAGE_URLS. Around the parallel step the runner
//! (`runner::mpi`) then runs:
//! 1. [`PUSH`] on the launcher, after decomposePar: it uploads `system/` and `constant/`
//!    (without the mesh and surfaces) and each `processor*` directory;
//! 2. [`RANK`] on each rank, through mpirun: it downloads the common part (the first rank
//!    on a host puts it in place by an atomic rename), then its own `processor<r>`, runs the
//!    solver, and uploads `processor<r>` (without its mesh) again;
//! 3. [`PULL`] on the launcher: it downloads every `processor*` back, so reconstructPar,
//!    the summary and the case archive see the solution.
//!
//! Shared volume: the launcher works in `/work/<run name>` on the claim, which every worker
//! mounts at the same path, so the ranks start in the case directory itself.
use super::manifest::WORK_DIR;
use super::{key, url_ttl, KubeExecutor, NEEDS_S3};
use crate::config::MpiMode;
use crate::jobs::executor::ExecError;
use crate::runner::mpi;

/// The hostfile the MPI Operator (v2beta1) mounts in the launcher.
pub const OPERATOR_HOSTFILE: &str = "/etc/mpi/hostfile";

/// The launcher's variable with the GET URL of the staging table.
pub const STAGE_URLS: &str = "FLOWCFD_STAGE_URLS";

/// Launcher, before the solve, in the case directory: uploads the common part and every
/// `processor*` directory.
pub const PUSH: &str = r#"set -u
t=$(mktemp -d) || exit 90
trap 'rm -rf "$t"' EXIT
curl -fsS --retry 5 -o "$t/urls" "$FLOWCFD_STAGE_URLS" || { echo "cannot fetch the staging URLs" >&2; exit 90; }
put() {
  u=$(awk -v n="$1" '$1 == n { print $3 }' "$t/urls")
  [ -n "$u" ] || { echo "no staging URL for $1 (more processor directories than ranks?)" >&2; return 1; }
  curl -fsS --retry 5 -X PUT --upload-file "$2" "$u" || { echo "cannot upload $1" >&2; return 1; }
}
tar -czf "$t/c.tgz" --exclude=constant/polyMesh --exclude=constant/triSurface \
  --exclude=constant/extendedFeatureEdgeMesh system constant && put common "$t/c.tgz" || exit 91
n=0
for p in processor*; do
  [ -d "$p" ] || continue
  tar -czf "$t/p.tgz" "$p" && put "$p" "$t/p.tgz" || exit 91
  n=$((n + 1))
done
echo "staged the case and $n processor directories for the ranks"
"#;

/// Each rank, through mpirun (`sh -c RANK flowcfd-rank APP ARGS`): fetches the case into
/// FLOWCFD_CASE_DIR on its host, runs the application there, and sends its directory back.
pub const RANK: &str = r#"set -u
r=${OMPI_COMM_WORLD_RANK:-${PMI_RANK:-}}
[ -n "$r" ] || { echo "flowcfd-rank: not started by mpirun" >&2; exit 90; }
d=$FLOWCFD_CASE_DIR
p=processor$r
t="$d.rank$r"
mkdir -p "${d%/*}" && rm -rf "$t" && mkdir "$t" || exit 90
curl -fsS --retry 5 -o "$t.urls" "$FLOWCFD_STAGE_URLS" || { echo "rank $r: cannot fetch the staging URLs" >&2; exit 90; }
url() { awk -v n="$1" -v f="$2" '$1 == n { print $f }' "$t.urls"; }
if [ ! -d "$d" ]; then
  curl -fsS --retry 5 -o "$t.tgz" "$(url common 2)" && tar -xzf "$t.tgz" -C "$t" \
    || { echo "rank $r: cannot fetch the case" >&2; exit 90; }
  # The first rank on this host puts the case in place; the others find it there.
  mv -T "$t" "$d" 2>/dev/null || true
fi
rm -rf "$t"
curl -fsS --retry 5 -o "$t.tgz" "$(url "$p" 2)" && tar -xzf "$t.tgz" -C "$d" \
  || { echo "rank $r: cannot fetch $p" >&2; exit 90; }
cd "$d" || exit 90
code=0
"$@" || code=$?
if [ "$code" = 0 ]; then
  tar -czf "$t.tgz" --exclude="$p/constant" "$p" && curl -fsS --retry 5 -X PUT --upload-file "$t.tgz" "$(url "$p" 3)" \
    || { echo "rank $r: cannot upload $p" >&2; code=91; }
fi
rm -f "$t.tgz" "$t.urls"
exit $code
"#;

/// Launcher, after the solve, in the case directory: fetches every `processor*` back.
pub const PULL: &str = r#"set -u
t=$(mktemp -d) || exit 90
trap 'rm -rf "$t"' EXIT
curl -fsS --retry 5 -o "$t/urls" "$FLOWCFD_STAGE_URLS" || { echo "cannot fetch the staging URLs" >&2; exit 90; }
n=0
for p in processor*; do
  [ -d "$p" ] || continue
  u=$(awk -v n="$p" '$1 == n { print $2 }' "$t/urls")
  curl -fsS --retry 5 -o "$t/p.tgz" "$u" && tar -xzf "$t/p.tgz" || { echo "cannot fetch $p back from its rank" >&2; exit 91; }
  n=$((n + 1))
done
echo "gathered $n processor directories from the ranks"
"#;

fn pair(k: &str, v: impl Into<String>) -> (String, String) {
    (k.to_string(), v.into())
}

impl KubeExecutor {
    /// The launcher's environment for a run of `cores` ranks across nodes, by `mpi_mode`;
    /// for the object store this presigns and stores the staging table of `job`.
    pub(super) async fn mpi_env(&self, job: &str, name: &str, cores: u32) -> Result<Vec<(String, String)>, ExecError> {
        let mut env = vec![pair(mpi::HOSTFILE, OPERATOR_HOSTFILE)];
        if let (MpiMode::SharedVolume, Some(_)) = (self.cfg.mpi_mode, &self.cfg.shared_volume_claim) {
            env.push(pair("FLOWCFD_WORKDIR", format!("{WORK_DIR}/{name}")));
            env.push(pair("FLOWCFD_REMOVE_WORKDIR", "1"));
            return Ok(env);
        }
        let ttl = url_ttl(self.max_wall_s);
        let sub = |e: crate::blob::BlobError| ExecError::Submit(e.to_string());
        let mut table = String::new();
        for part in std::iter::once("common".to_string()).chain((0..cores).map(|r| format!("processor{r}"))) {
            let k = key(job, &format!("stage/{part}.tar.gz"));
            let get = self.blobs.presigned_get(&k, ttl).await.map_err(sub)?;
            let put = self.blobs.presigned_put(&k, ttl).await.map_err(sub)?;
            let (Some(get), Some(put)) = (get, put) else { return Err(ExecError::Submit(NEEDS_S3.into())) };
            table.push_str(&format!("{part} {get} {put}\n"));
        }
        let k = key(job, "stage.urls");
        self.blobs.put(&k, table.into_bytes().into()).await.map_err(sub)?;
        let urls =
            self.blobs.presigned_get(&k, ttl).await.map_err(sub)?.ok_or_else(|| ExecError::Submit(NEEDS_S3.into()))?;
        env.extend([
            pair(STAGE_URLS, urls.to_string()),
            pair(mpi::EXPORT, STAGE_URLS),
            pair(mpi::RANK_SCRIPT, RANK),
            pair(mpi::BEFORE_PARALLEL, PUSH),
            pair(mpi::AFTER_PARALLEL, PULL),
        ]);
        Ok(env)
    }
}
