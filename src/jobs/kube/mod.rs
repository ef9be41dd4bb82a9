//! The Kubernetes executor: one Job per run (or an MPIJob across nodes when the Kubeflow
//! MPI Operator is installed), on nodes that Karpenter provisions for it.
//!
//! The pod runs the solver image (`solver-images/openfoam/Dockerfile`: OpenFOAM and
//! `flowcfd`). It downloads the bundle through presigned GET URLs, runs `flowcfd run
//! --stream-log`, and uploads `summary.json` (or `failure.json`) and the case through
//! presigned PUT URLs, so it needs no credentials. Requests and limits come from the job's
//! cores, `activeDeadlineSeconds` from the wall-time limit, nodeSelector, tolerations and
//! the ServiceAccount from the cluster's configuration. Progress is read from the pod's (the
//! launcher's) log; cancel deletes the Job or MPIJob and its pods.
//!
//! `manifest` builds the objects; `staging` gives an MPIJob's ranks the decomposed case
//! (per-rank object-store staging, or a ReadWriteMany volume), by `mpi_mode`.
mod manifest;
pub mod staging;

pub use manifest::{DEFAULT_IMAGE, POD_SCRIPT, SSH_DIR, WORKER_COMMAND, WORK_DIR};

use super::executor::{Bundle, ExecError, ExecStatus, ExecUsage, Executor, Handle};
use crate::blob::Blobs;
use crate::config::ClusterConfig;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, LogParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::Value;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

/// How long the pod's presigned URLs stay valid: the wall-time limit plus a margin.
fn url_ttl(max_wall_s: u64) -> Duration {
    Duration::from_secs(max_wall_s + 3600)
}

/// Runs jobs as Kubernetes Jobs.
pub struct KubeExecutor {
    cfg: ClusterConfig,
    client: tokio::sync::OnceCell<kube::Client>,
    blobs: Blobs,
    max_wall_s: u64,
    data_dir: PathBuf,
    /// Runs this executor deleted (a missing Job is then a cancellation, not a failure).
    cancelled: Mutex<HashSet<String>>,
}

fn kerr(e: kube::Error) -> ExecError {
    match e {
        kube::Error::Api(s) => ExecError::Io(format!("Kubernetes API: {} ({})", s.message, s.code)),
        other => ExecError::Unreachable(format!("Kubernetes API: {other}")),
    }
}

fn not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

impl KubeExecutor {
    /// An executor for `cfg`; the client is made on first use from `cfg.kubeconfig`, or
    /// from the environment (KUBECONFIG, or the in-cluster service account).
    pub fn new(cfg: ClusterConfig, blobs: Blobs, max_wall_s: u64, data_dir: PathBuf) -> Self {
        KubeExecutor {
            cfg,
            client: tokio::sync::OnceCell::new(),
            blobs,
            max_wall_s,
            data_dir,
            cancelled: Mutex::new(HashSet::new()),
        }
    }

    /// With a given client (tests pass kube's mock service).
    pub fn with_client(
        cfg: ClusterConfig,
        client: kube::Client,
        blobs: Blobs,
        max_wall_s: u64,
        data_dir: PathBuf,
    ) -> Self {
        let ex = Self::new(cfg, blobs, max_wall_s, data_dir);
        let _ = ex.client.set(client);
        ex
    }

    async fn client(&self) -> Result<kube::Client, ExecError> {
        self.client
            .get_or_try_init(|| async {
                match &self.cfg.kubeconfig {
                    Some(path) => {
                        let kc = kube::config::Kubeconfig::read_from(path)
                            .map_err(|e| ExecError::Unreachable(format!("{}: {e}", path.display())))?;
                        let c = kube::Config::from_custom_kubeconfig(kc, &Default::default())
                            .await
                            .map_err(|e| ExecError::Unreachable(format!("{}: {e}", path.display())))?;
                        kube::Client::try_from(c).map_err(kerr)
                    }
                    None => kube::Client::try_default().await.map_err(kerr),
                }
            })
            .await
            .cloned()
    }

    fn namespace(&self) -> &str {
        self.cfg.namespace.as_deref().unwrap_or("flowcfd")
    }

    /// The Kubernetes name of a run: `kube:CLUSTER:JOB:NAME` (the run name of the attempt
    /// that submitted it), or `flowcfd-JOB` for handles made before runs had attempt names.
    fn name_of(h: &Handle) -> String {
        let rest = h.0.splitn(3, ':').nth(2).unwrap_or("");
        match rest.split_once(':') {
            Some((_, name)) => name.to_string(),
            None => format!("flowcfd-{}", rest.to_ascii_lowercase()),
        }
    }

    /// The job id in a handle.
    fn parse<'a>(&self, h: &'a Handle) -> Result<&'a str, ExecError> {
        let rest = h.0.strip_prefix("kube:").ok_or_else(|| ExecError::BadHandle(h.0.clone()))?;
        let (cluster, rest) = rest.split_once(':').ok_or_else(|| ExecError::BadHandle(h.0.clone()))?;
        let job = rest.split_once(':').map_or(rest, |(job, _)| job);
        if cluster != self.cfg.name || job.is_empty() {
            return Err(ExecError::BadHandle(h.0.clone()));
        }
        Ok(job)
    }

    /// The Job (or MPIJob) named `name`, if it exists: submitting looks before creating.
    async fn exists(&self, name: &str, mpijob: bool) -> Result<bool, ExecError> {
        let client = self.client().await?;
        let r = if mpijob {
            self.mpijob_api(client).get(name).await.map(|_| ())
        } else {
            Api::<Job>::namespaced(client, self.namespace()).get(name).await.map(|_| ())
        };
        match r {
            Ok(()) => Ok(true),
            Err(e) if not_found(&e) => Ok(false),
            Err(e) => Err(ExecError::Submit(kerr(e).to_string())),
        }
    }

    /// Whether this run spans several nodes as an MPIJob.
    pub fn uses_mpijob(&self, cores: u32) -> bool {
        self.cfg.mpi_operator && cores > self.cfg.cores_per_node
    }

    fn mpijob_api(&self, client: kube::Client) -> Api<DynamicObject> {
        let gvk = GroupVersionKind::gvk("kubeflow.org", "v2beta1", "MPIJob");
        Api::namespaced_with(client, self.namespace(), &ApiResource::from_gvk(&gvk))
    }

    async fn pods(&self, job: &str) -> Result<Vec<Pod>, ExecError> {
        let pods: Api<Pod> = Api::namespaced(self.client().await?, self.namespace());
        let lp = ListParams::default().labels(&format!("flowcfd.io/job={job}"));
        Ok(pods.list(&lp).await.map_err(kerr)?.items)
    }

    /// A pod that cannot start because its image cannot be pulled, with the reason.
    fn image_problem(pods: &[Pod]) -> Option<String> {
        pods.iter().find_map(|p| {
            let st = p.status.as_ref()?;
            st.container_statuses.as_ref()?.iter().find_map(|c| {
                let w = c.state.as_ref()?.waiting.as_ref()?;
                let reason = w.reason.as_deref()?;
                matches!(reason, "ErrImagePull" | "ImagePullBackOff" | "InvalidImageName").then(|| {
                    format!(
                        "cannot pull the solver image {}: {reason}{}",
                        c.image,
                        w.message.as_deref().map(|m| format!(" ({m})")).unwrap_or_default()
                    )
                })
            })
        })
    }

    /// Where the run `name` stands: its Job's status, or, with the MPI Operator, its
    /// MPIJob's conditions. None when neither exists.
    async fn phase(&self, name: &str) -> Result<Option<Phase>, ExecError> {
        let client = self.client().await?;
        let k8s = match Api::<Job>::namespaced(client.clone(), self.namespace()).get(name).await {
            Ok(j) => j,
            Err(e) if not_found(&e) && self.cfg.mpi_operator => {
                return match self.mpijob_api(client).get(name).await {
                    Ok(m) => Ok(Some(mpijob_phase(&m.data["status"]))),
                    Err(e) if not_found(&e) => Ok(None),
                    Err(e) => Err(kerr(e)),
                };
            }
            Err(e) if not_found(&e) => return Ok(None),
            Err(e) => return Err(kerr(e)),
        };
        let st = k8s.status.unwrap_or_default();
        if st.succeeded.unwrap_or(0) > 0 {
            return Ok(Some(Phase::Succeeded));
        }
        if st.failed.unwrap_or(0) > 0 {
            let cond = st.conditions.unwrap_or_default().into_iter().find(|c| c.type_ == "Failed");
            let (reason, message) = cond.map(|c| (c.reason, c.message)).unwrap_or_default();
            return Ok(Some(Phase::Failed { reason, message }));
        }
        Ok(Some(Phase::Active))
    }

    async fn blob_put_url(&self, key: &str) -> Result<String, ExecError> {
        self.blobs
            .presigned_put(key, url_ttl(self.max_wall_s))
            .await
            .map_err(|e| ExecError::Submit(e.to_string()))?
            .map(|u| u.to_string())
            .ok_or_else(|| ExecError::Submit(NEEDS_S3.into()))
    }
}

/// Where a run stands, from its Job or MPIJob.
#[derive(Debug, PartialEq)]
enum Phase {
    Active,
    Succeeded,
    Failed { reason: Option<String>, message: Option<String> },
}

/// An MPIJob's phase from its `status.conditions` (`Succeeded` or `Failed` once true; the
/// operator copies the launcher Job's reason, such as `DeadlineExceeded`).
fn mpijob_phase(status: &Value) -> Phase {
    let conditions = status["conditions"].as_array().cloned().unwrap_or_default();
    let holds = |t: &str| conditions.iter().find(|c| c["type"] == t && c["status"] == "True");
    if holds("Succeeded").is_some() {
        return Phase::Succeeded;
    }
    match holds("Failed") {
        Some(c) => Phase::Failed {
            reason: c["reason"].as_str().map(String::from),
            message: c["message"].as_str().map(String::from),
        },
        None => Phase::Active,
    }
}

/// The cores a container asked for (`4`, `1.5`, `500m`), rounded up to whole cores.
fn cpu_cores(q: &str) -> Option<u32> {
    let q = q.trim();
    let cores = match q.strip_suffix('m') {
        Some(milli) => milli.parse::<f64>().ok()? / 1000.0,
        None => q.parse::<f64>().ok()?,
    };
    (cores.is_finite() && cores > 0.0).then(|| cores.ceil() as u32)
}

/// A run's time by its pods' own record: from the earliest pod's `startTime` to the latest
/// `finishedAt` of a terminated solver container, on the cores the pods asked for. None
/// when no pod is left (deleted with a cancelled Job, or by `ttlSecondsAfterFinished`).
pub fn pod_usage(pods: &[Pod]) -> Option<ExecUsage> {
    let mut cores = 0u32;
    let mut started: Option<i64> = None;
    let mut ended: Option<i64> = Some(i64::MIN);
    for p in pods {
        let st = p.status.as_ref()?;
        let start = st.start_time.as_ref()?.0.as_millisecond();
        started = Some(started.map_or(start, |s: i64| s.min(start)));
        let containers = p.spec.as_ref().map(|s| s.containers.as_slice()).unwrap_or_default();
        cores += containers
            .iter()
            .filter_map(|c| cpu_cores(&c.resources.as_ref()?.requests.as_ref()?.get("cpu")?.0))
            .sum::<u32>();
        let finished = st.container_statuses.as_ref().and_then(|cs| {
            cs.iter().find(|c| c.name == "solver")?.state.as_ref()?.terminated.as_ref()?.finished_at.as_ref()
        });
        ended = match (ended, finished) {
            (Some(e), Some(f)) => Some(e.max(f.0.as_millisecond())),
            _ => None,
        };
    }
    let started_ms = started?;
    Some(ExecUsage { cores: cores.max(1), started_ms, ended_ms: ended.map(|e| e.max(started_ms)), source: "pod" })
}

const NEEDS_S3: &str = "the Kubernetes executor needs S3 object storage (blobs.kind = \"s3\"), which its pods \
                        reach through presigned URLs";

/// Object-store keys of a run's exchange with its pod.
fn key(job: &str, file: &str) -> String {
    format!("jobs/{job}/exec/{file}")
}

#[async_trait::async_trait]
impl Executor for KubeExecutor {
    fn name(&self) -> &str {
        &self.cfg.name
    }

    async fn health(&self) -> Result<String, ExecError> {
        let v = self.client().await?.apiserver_version().await.map_err(kerr)?;
        Ok(format!("Kubernetes API {} ({}); namespace {}", v.git_version, v.platform, self.cfg.namespace.as_deref().unwrap_or("flowcfd")))
    }

    /// The pod-log API returns the whole log each time: ask less often.
    fn log_interval(&self) -> Duration {
        Duration::from_secs(2)
    }

    async fn submit(&self, bundle: &Bundle) -> Result<Handle, ExecError> {
        let job = bundle.dir.file_name().and_then(|n| n.to_str()).unwrap_or("job").to_string();
        let name = bundle.run_name();
        let handle = Handle(format!("kube:{}:{job}:{name}", self.cfg.name));
        let mpijob = self.uses_mpijob(bundle.cores);
        if self.exists(&name, mpijob).await? {
            tracing::info!(run = %name, "already submitted; re-attaching");
            return Ok(handle);
        }
        let ttl = url_ttl(self.max_wall_s);
        let mut env = Vec::new();
        let case = std::fs::read(bundle.dir.join("case.json")).map_err(|e| ExecError::Submit(e.to_string()))?;
        let spec: Value = serde_json::from_slice(&case).map_err(|e| ExecError::Submit(e.to_string()))?;
        let geometry = spec["geometry"].as_str().unwrap_or("geometry.stl").to_string();
        for (file, var) in [("case.json", "FLOWCFD_CASE_URL"), (geometry.as_str(), "FLOWCFD_GEOMETRY_URL")] {
            let data = std::fs::read(bundle.dir.join(file)).map_err(|e| ExecError::Submit(format!("{file}: {e}")))?;
            self.blobs.put(&key(&job, file), data.into()).await.map_err(|e| ExecError::Submit(e.to_string()))?;
            let url =
                self.blobs.presigned_get(&key(&job, file), ttl).await.map_err(|e| ExecError::Submit(e.to_string()))?;
            env.push((var.to_string(), url.ok_or_else(|| ExecError::Submit(NEEDS_S3.into()))?.to_string()));
        }
        env.push(("FLOWCFD_GEOMETRY_FILE".into(), geometry));
        for (file, var) in [
            ("summary.json", "FLOWCFD_SUMMARY_URL"),
            ("failure.json", "FLOWCFD_FAILURE_URL"),
            ("case.tar.gz", "FLOWCFD_CASE_TGZ_URL"),
        ] {
            env.push((var.to_string(), self.blob_put_url(&key(&job, file)).await?));
        }
        env.push(("WM_PROJECT_DIR".into(), "/usr/lib/openfoam/openfoam2312".into()));
        let client = self.client().await?;
        let pp = PostParams::default();
        if mpijob {
            env.extend(self.mpi_env(&job, &name, bundle.cores).await?);
            let m = self.mpijob_manifest(&job, &name, bundle.cores, &env);
            let obj: DynamicObject = serde_json::from_value(m).map_err(|e| ExecError::Submit(e.to_string()))?;
            self.mpijob_api(client).create(&pp, &obj).await.map_err(|e| ExecError::Submit(kerr(e).to_string()))?;
        } else {
            let m = self.job_manifest(&job, &name, bundle.cores, &env);
            let obj: Job = serde_json::from_value(m).map_err(|e| ExecError::Submit(e.to_string()))?;
            let jobs: Api<Job> = Api::namespaced(client, self.namespace());
            jobs.create(&pp, &obj).await.map_err(|e| ExecError::Submit(kerr(e).to_string()))?;
        }
        Ok(handle)
    }

    async fn status(&self, handles: &[Handle]) -> Result<Vec<ExecStatus>, ExecError> {
        let mut out = Vec::new();
        for h in handles {
            let job = self.parse(h)?;
            let phase = match self.phase(&Self::name_of(h)).await? {
                Some(p) => p,
                None => {
                    let ours = self.cancelled.lock().unwrap_or_else(|p| p.into_inner()).contains(job);
                    out.push(if ours {
                        ExecStatus::Cancelled
                    } else {
                        ExecStatus::Failed("the Kubernetes Job is gone (deleted outside FlowCFD?)".into())
                    });
                    continue;
                }
            };
            match phase {
                Phase::Succeeded => out.push(ExecStatus::Completed),
                Phase::Failed { reason, message } => {
                    let why = match reason.as_deref() {
                        Some(r) if r.contains("DeadlineExceeded") => {
                            "stopped at the wall-time limit (activeDeadlineSeconds)".to_string()
                        }
                        _ => format!("the solver pod failed{}", message.map(|m| format!(": {m}")).unwrap_or_default()),
                    };
                    let recorded = match self.blobs.get(&key(job, "failure.json")).await {
                        Ok(b) => {
                            serde_json::from_slice::<Value>(&b).ok().and_then(|v| v["error"].as_str().map(String::from))
                        }
                        Err(_) => None,
                    };
                    out.push(ExecStatus::Failed(recorded.unwrap_or(why)));
                }
                Phase::Active => {
                    let pods = self.pods(job).await?;
                    if let Some(why) = Self::image_problem(&pods) {
                        out.push(ExecStatus::Failed(why));
                        continue;
                    }
                    let running =
                        pods.iter().any(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"));
                    out.push(ExecStatus::Running { step: if running { "running" } else { super::executor::QUEUED } });
                }
            }
        }
        Ok(out)
    }

    async fn read_log(&self, handle: &Handle, offset: u64) -> Result<(Vec<u8>, u64), ExecError> {
        let job = self.parse(handle)?;
        let Some(pod) = self.pods(job).await?.into_iter().find(|p| {
            let labels = p.metadata.labels.clone().unwrap_or_default();
            // An MPIJob's launcher runs the script; a Job has one pod.
            labels.get("training.kubeflow.org/job-role").is_none_or(|r| r == "launcher")
        }) else {
            return Ok((Vec::new(), offset));
        };
        let pods: Api<Pod> = Api::namespaced(self.client().await?, self.namespace());
        let name = pod.metadata.name.unwrap_or_default();
        let lp = LogParams { container: Some("solver".into()), ..Default::default() };
        let text = match pods.logs(&name, &lp).await {
            Ok(t) => t,
            // Not started yet.
            Err(kube::Error::Api(s)) if s.code == 400 => return Ok((Vec::new(), offset)),
            Err(e) => return Err(kerr(e)),
        };
        let bytes = text.into_bytes();
        let from = (offset as usize).min(bytes.len());
        Ok((bytes[from..].to_vec(), bytes.len() as u64))
    }

    async fn cancel(&self, handle: &Handle) -> Result<(), ExecError> {
        let job = self.parse(handle)?.to_string();
        let name = Self::name_of(handle);
        self.cancelled.lock().unwrap_or_else(|p| p.into_inner()).insert(job.clone());
        let client = self.client().await?;
        let dp = DeleteParams::background();
        let r = if self.cfg.mpi_operator {
            match self.mpijob_api(client.clone()).delete(&name, &dp).await {
                Err(e) if not_found(&e) => {
                    Api::<Job>::namespaced(client, self.namespace()).delete(&name, &dp).await.map(|_| ())
                }
                r => r.map(|_| ()),
            }
        } else {
            Api::<Job>::namespaced(client, self.namespace()).delete(&name, &dp).await.map(|_| ())
        };
        match r {
            Ok(()) => Ok(()),
            Err(e) if not_found(&e) => Ok(()),
            Err(e) => Err(kerr(e)),
        }
    }

    async fn fetch_results(&self, handle: &Handle) -> Result<PathBuf, ExecError> {
        let job = self.parse(handle)?;
        let out = self.data_dir.join("jobs").join(job).join("out");
        std::fs::create_dir_all(&out).map_err(|e| ExecError::Io(e.to_string()))?;
        for f in ["summary.json", "failure.json"] {
            if let Ok(b) = self.blobs.get(&key(job, f)).await {
                std::fs::write(out.join(f), &b).map_err(|e| ExecError::Io(e.to_string()))?;
            }
        }
        if let Ok(b) = self.blobs.get(&key(job, "case.tar.gz")).await {
            let _ = std::fs::remove_dir_all(out.join("case"));
            tar::Archive::new(flate2::read::GzDecoder::new(&b[..]))
                .unpack(&out)
                .map_err(|e| ExecError::Io(format!("unpacking the case: {e}")))?;
        }
        let _ = self.blobs.delete_prefix(&format!("jobs/{job}/exec")).await;
        Ok(out)
    }

    /// From the pods' status (see [`pod_usage`]).
    async fn usage(&self, handle: &Handle) -> Result<Option<ExecUsage>, ExecError> {
        let job = self.parse(handle)?;
        Ok(pod_usage(&self.pods(job).await?))
    }

    // stop_gracefully: not delivered (false, so the caller cancels). Reaching the pod's
    // case would need the exec API (a WebSocket this build of kube has not), and the pod
    // has no credentials to poll for a request; a Job deleted by cancel keeps no results.
}
