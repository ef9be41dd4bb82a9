//! The objects the Kubernetes executor creates: a batch/v1 Job for a run on one node, a
//! kubeflow.org/v2beta1 MPIJob for a run across nodes, and the pod script both run.
//!
//! An MPIJob's launcher runs the whole pipeline (`flowcfd run`: meshing, decomposition, the
//! solve through `mpirun`, reconstruction), so it is sized like a worker (`cores_per_node`
//! CPUs and their memory); the workers run only sshd, which the MPI Operator's hostfile and
//! key pair let the launcher's `mpirun` reach. The ranks see the case at `/work` through
//! an emptyDir and object-store staging (`mpi_mode = "object_store"`, see `staging`) or
//! through a ReadWriteMany claim mounted in every pod (`"shared_volume"`).
use super::KubeExecutor;
use crate::config::MpiMode;
use serde_json::{json, Value};

/// What the pod runs. URLs come in through the environment, so nothing here varies. The
/// work directory is `/work` unless FLOWCFD_WORKDIR names another (an MPIJob's own
/// directory on a shared volume, removed at the end when FLOWCFD_REMOVE_WORKDIR is set).
pub const POD_SCRIPT: &str = r#"set -u
W=${FLOWCFD_WORKDIR:-/work}
mkdir -p "$W" && cd "$W" || exit 90
curl -fsS --retry 5 -o case.json "$FLOWCFD_CASE_URL" || exit 90
curl -fsS --retry 5 -o "$FLOWCFD_GEOMETRY_FILE" "$FLOWCFD_GEOMETRY_URL" || exit 90
code=0
flowcfd run case.json --out out --force --stream-log || code=$?
for f in summary failure; do
  if [ -f "out/$f.json" ]; then
    eval "url=\$FLOWCFD_$(echo $f | tr a-z A-Z)_URL"
    curl -fsS --retry 5 -X PUT --upload-file "out/$f.json" "$url" || code=91
  fi
done
if [ -d out/case ]; then tar -czf case.tar.gz -C out case; else tar -czf case.tar.gz -C out/.partial case; fi \
  && curl -fsS --retry 5 -X PUT --upload-file case.tar.gz "$FLOWCFD_CASE_TGZ_URL"
if [ -n "${FLOWCFD_REMOVE_WORKDIR:-}" ]; then cd / && rm -rf "$W"; fi
exit $code
"#;

/// The default solver image.
pub const DEFAULT_IMAGE: &str = concat!("ghcr.io/flowcfd/solver:of2312-flowcfd", env!("CARGO_PKG_VERSION"));

/// Where every pod of an MPIJob sees its work volume.
pub const WORK_DIR: &str = "/work";

/// The solver image's user's ssh directory: the MPI Operator mounts the job's key pair
/// there (`sshAuthMountPath`), and the workers' sshd reads its configuration beside it.
pub const SSH_DIR: &str = "/home/flowcfd/.ssh";

/// The workers' command: sshd in the foreground as the image's non-root user, on the
/// port the image's ssh client uses (solver-images/openfoam/Dockerfile).
pub const WORKER_COMMAND: [&str; 4] = ["/usr/sbin/sshd", "-De", "-f", "/home/flowcfd/.sshd_config"];

/// Labels of every object and pod of a run.
pub(super) fn labels(job: &str) -> Value {
    json!({"app.kubernetes.io/managed-by": "flowcfd", "flowcfd.io/job": job})
}

impl KubeExecutor {
    /// The pod template of one rank (the whole run for a Job, the launcher of an MPIJob).
    fn pod_spec(&self, job: &str, cores: u32, env: &[(String, String)]) -> Value {
        let mem = format!("{}Gi", cores * self.cfg.memory_per_core_gib);
        let res = json!({"cpu": cores.to_string(), "memory": mem});
        let env: Vec<Value> = env.iter().map(|(k, v)| json!({"name": k, "value": v})).collect();
        let mut spec = json!({
            "restartPolicy": "Never",
            "containers": [{
                "name": "solver",
                "image": self.cfg.image.as_deref().unwrap_or(DEFAULT_IMAGE),
                "command": ["/bin/sh", "-c", POD_SCRIPT],
                "env": env,
                "resources": {"requests": res, "limits": res},
            }],
        });
        if !self.cfg.node_selector.is_empty() {
            spec["nodeSelector"] = json!(self.cfg.node_selector);
        }
        if !self.cfg.tolerations.is_empty() {
            spec["tolerations"] = json!(self.cfg.tolerations);
        }
        if let Some(sa) = &self.cfg.service_account {
            spec["serviceAccountName"] = json!(sa);
        }
        json!({"metadata": {"labels": labels(job)}, "spec": spec})
    }

    /// The batch/v1 Job of a run on one node.
    pub fn job_manifest(&self, job: &str, name: &str, cores: u32, env: &[(String, String)]) -> Value {
        json!({
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": name, "namespace": self.namespace(), "labels": labels(job)},
            "spec": {
                "backoffLimit": 0,
                "activeDeadlineSeconds": self.max_wall_s,
                "ttlSecondsAfterFinished": 86400,
                "template": self.pod_spec(job, cores, env),
            },
        })
    }

    /// The volume every pod of an MPIJob mounts at [`WORK_DIR`].
    fn work_volume(&self) -> Value {
        match (self.cfg.mpi_mode, &self.cfg.shared_volume_claim) {
            (MpiMode::SharedVolume, Some(claim)) => {
                json!({"name": "work", "persistentVolumeClaim": {"claimName": claim}})
            }
            // Validation refuses shared_volume without a claim; a hand-made config falls
            // back to per-pod space (and object-store staging, see `mpi_env`).
            _ => json!({"name": "work", "emptyDir": {}}),
        }
    }

    /// The kubeflow.org/v2beta1 MPIJob of a run across nodes: a launcher of one worker's
    /// size that runs the pod script (flowcfd's `mpirun` reaches the workers through the
    /// operator's hostfile, see `runner::mpi`), and `ceil(cores / cores_per_node)` workers
    /// running sshd with `cores_per_node` slots each. `env` is the launcher's, with the
    /// staging of `mpi_env`.
    pub fn mpijob_manifest(&self, job: &str, name: &str, cores: u32, env: &[(String, String)]) -> Value {
        let per = self.cfg.cores_per_node.max(1);
        let workers = cores.div_ceil(per);
        let mut launcher = self.pod_spec(job, per, env);
        let mut worker = self.pod_spec(job, per, &[]);
        worker["spec"]["containers"][0]["command"] = json!(WORKER_COMMAND);
        for pod in [&mut launcher, &mut worker] {
            pod["spec"]["volumes"] = json!([self.work_volume()]);
            pod["spec"]["containers"][0]["volumeMounts"] = json!([{"name": "work", "mountPath": WORK_DIR}]);
        }
        json!({
            "apiVersion": "kubeflow.org/v2beta1",
            "kind": "MPIJob",
            "metadata": {"name": name, "namespace": self.namespace(), "labels": labels(job)},
            "spec": {
                "slotsPerWorker": per,
                "mpiImplementation": "OpenMPI",
                "sshAuthMountPath": SSH_DIR,
                "runPolicy": {"backoffLimit": 0, "activeDeadlineSeconds": self.max_wall_s, "cleanPodPolicy": "Running",
                              "ttlSecondsAfterFinished": 86400},
                "mpiReplicaSpecs": {
                    "Launcher": {"replicas": 1, "template": launcher},
                    "Worker": {"replicas": workers, "template": worker},
                },
            },
        })
    }
}
