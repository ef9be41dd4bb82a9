//! The tables under [`Config`](super::Config) (`[blobs]`, `[auth]`, `[[clusters]]`, ...) and
//! their defaults, which are the zero-configuration start and what `flowcfd.example.toml`
//! states.
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A Slurm cluster reached over SSH, chosen per job by `name`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    /// What jobs choose it by (`"executor": NAME`).
    pub name: String,
    /// `slurm`.
    pub kind: String,
    pub host: String,
    pub port: u16,
    pub user: String,
    /// The private key, sealed under the server secret by `flowcfd admin seal-key FILE`
    /// (so that it is encrypted at rest).
    pub key_sealed: Option<String>,
    /// The cluster's host key: `SHA256:…` (as `ssh-keygen -l` prints it) or the public-key
    /// line. Without it FlowCFD does not connect, and says which key the host offered.
    pub host_key: Option<String>,
    pub partition: Option<String>,
    pub account: Option<String>,
    pub qos: Option<String>,
    /// Slurm time limit per job, minutes (default: the wall-time limit, jobs.max_wall_s,
    /// rounded up).
    pub time_limit_min: Option<u32>,
    /// Lines run at the top of each batch script (`module load openfoam/v2312`, `export …`).
    pub preamble: Vec<String>,
    /// The most cores a job may ask for here.
    pub max_cores: u32,
    /// Scratch directory on the cluster, relative to the home directory.
    pub remote_dir: String,
    /// `flowcfd` on the cluster; without it this binary is uploaded once per version.
    pub flowcfd_path: Option<String>,
    /// Kubernetes: the namespace jobs run in (default `flowcfd`).
    pub namespace: Option<String>,
    /// Kubernetes: the solver image (default `ghcr.io/flowcfd/solver:of2312-flowcfdVERSION`,
    /// from solver-images/openfoam).
    pub image: Option<String>,
    /// Kubernetes: the kubeconfig file (default: KUBECONFIG, or the in-cluster account).
    pub kubeconfig: Option<PathBuf>,
    /// Kubernetes: node labels the pods must land on (a Karpenter NodePool's).
    pub node_selector: std::collections::BTreeMap<String, String>,
    /// Kubernetes: tolerations for the NodePool's taints (`key`, `operator`, `value`, `effect`).
    pub tolerations: Vec<std::collections::BTreeMap<String, String>>,
    /// Kubernetes: runs with more cores than one node has become MPIJobs (needs the Kubeflow
    /// MPI Operator); without it such requests are refused.
    pub mpi_operator: bool,
    /// Kubernetes: cores of one node (and of one MPIJob worker).
    pub cores_per_node: u32,
    /// Kubernetes: memory requested per core, GiB.
    pub memory_per_core_gib: u32,
    /// Kubernetes: how the ranks of an MPIJob on several nodes see the decomposed case (see
    /// [`MpiMode`]; default `object_store`).
    pub mpi_mode: MpiMode,
    /// Kubernetes: the ReadWriteMany PersistentVolumeClaim (EFS, FSx for Lustre) in
    /// `namespace` that `mpi_mode = "shared_volume"` mounts at `/work` in the launcher and
    /// every worker. Required with that mode.
    pub shared_volume_claim: Option<String>,
    /// Kubernetes: the ServiceAccount the solver pods run as (`serviceAccountName`), for
    /// example one with an IAM role (IRSA); default: the namespace's `default`.
    pub service_account: Option<String>,
    /// Slurm: seconds every transfer of results (packing on the cluster, then the download)
    /// may take besides its size-bound share; see `transfer_min_kib_s`.
    pub transfer_base_s: u64,
    /// Slurm: the slowest rate, KiB/s, at which packing and downloading results still counts
    /// as progress. A case of B bytes gets `transfer_base_s + B / (transfer_min_kib_s * 1024)`
    /// seconds for each; past that the transfer stops (and resumes from where it was on the
    /// next try) instead of hanging a worker.
    pub transfer_min_kib_s: u64,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            name: String::new(),
            kind: "slurm".into(),
            host: String::new(),
            port: 22,
            user: String::new(),
            key_sealed: None,
            host_key: None,
            partition: None,
            account: None,
            qos: None,
            time_limit_min: None,
            preamble: Vec::new(),
            max_cores: 64,
            remote_dir: "flowcfd-jobs".into(),
            flowcfd_path: None,
            namespace: None,
            image: None,
            kubeconfig: None,
            node_selector: Default::default(),
            tolerations: Vec::new(),
            mpi_operator: false,
            cores_per_node: 64,
            memory_per_core_gib: 2,
            mpi_mode: MpiMode::ObjectStore,
            shared_volume_claim: None,
            service_account: None,
            transfer_base_s: 300,
            transfer_min_kib_s: 1024,
        }
    }
}

/// How the ranks of a Kubernetes MPIJob on several nodes reach the decomposed case.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum MpiMode {
    /// Per-pod staging through the object store (presigned URLs, no credentials in the
    /// pods): the launcher meshes and decomposes, uploads each `processor*` directory, and
    /// every rank downloads its own before the solve and uploads it after.
    #[default]
    ObjectStore,
    /// A ReadWriteMany volume (`shared_volume_claim`) mounted at `/work` everywhere: the
    /// launcher works in a per-run directory of it, which the ranks read directly.
    SharedVolume,
}

/// The job worker that `flowcfd serve` runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobsConfig {
    /// Jobs this server runs at once (0: none; the server then only queues).
    pub slots: usize,
    /// The `flowcfd` binary the local executor starts for each run (default: this one).
    pub flowcfd_bin: Option<PathBuf>,
    /// The static runner uploaded to Slurm clusters (default: `flowcfd-runner` beside this
    /// executable, then `../lib/flowcfd/flowcfd-runner` relative to it, as packaged; else
    /// this executable, with a warning).
    pub runner_bin: Option<PathBuf>,
    /// Seconds a worker's claim on a job lasts without a heartbeat; after a crash, another
    /// worker takes the job over this long after the last heartbeat.
    pub lease_s: u64,
    /// Longest a job may run, seconds; it is then stopped and marked failed.
    pub max_wall_s: u64,
    /// Times a job is claimed before it is failed: a job whose worker keeps dying (or
    /// stopping with an error) fails on the next claim past this, with the last reason.
    pub max_attempts: u32,
    /// Cores one local run may use (0: this machine's).
    pub local_max_cores: u32,
    /// Cores one user's live jobs may hold together.
    pub max_cores_per_user: u32,
    /// Cores the live jobs in one organization's projects may hold together.
    pub max_cores_per_org: u32,
}

impl Default for JobsConfig {
    fn default() -> Self {
        JobsConfig {
            slots: 1,
            flowcfd_bin: None,
            runner_bin: None,
            lease_s: 30,
            max_wall_s: 24 * 3600,
            max_attempts: 3,
            local_max_cores: 0,
            max_cores_per_user: 64,
            max_cores_per_org: 256,
        }
    }
}

/// Object storage: a local directory unless `kind = "s3"`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BlobConfig {
    /// `local` or `s3`.
    pub kind: String,
    /// Local directory (default `DATA_DIR/blobs`).
    pub path: Option<PathBuf>,
    pub s3: S3Config,
}

/// An S3-protocol bucket: AWS, MinIO, Garage.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Config {
    pub bucket: String,
    pub region: String,
    /// Custom endpoint (MinIO, Garage); empty for AWS.
    pub endpoint: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// `http://endpoint/bucket/key` instead of `http://bucket.endpoint/key`.
    pub path_style: bool,
    /// Allow a plain-HTTP endpoint (a loopback MinIO, a test server).
    pub allow_http: bool,
}

/// The shortest `auth.secret` (or `secret.key`) accepted, bytes: HS256 wants a key at
/// least as long as its hash.
pub const MIN_SECRET_BYTES: usize = 32;

/// Sessions, tokens and sign-in providers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Signs access tokens and encrypts stored keys. Default: generated once and kept in
    /// `DATA_DIR/secret.key`. Several replicas must share one value.
    pub secret: Option<String>,
    /// Access-token lifetime, seconds.
    pub access_ttl_s: u64,
    /// Refresh-token and browser-session lifetime, seconds.
    pub refresh_ttl_s: u64,
    /// Sign-in with OAuth 2.0 / OpenID Connect providers.
    pub providers: Vec<ProviderConfig>,
}

/// One OAuth 2.0 / OpenID Connect provider.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProviderConfig {
    /// Short name used in URLs: `/auth/oidc/{name}/login`.
    pub name: String,
    /// `github`, `google` or `oidc` (generic OpenID Connect with discovery).
    pub kind: String,
    /// Issuer URL for `oidc` (its `/.well-known/openid-configuration` is read).
    pub issuer: Option<String>,
    pub client_id: String,
    pub client_secret: Option<String>,
    /// Button text on the login page.
    pub label: Option<String>,
    /// Overrides of the provider's endpoints (GitHub Enterprise, test servers). For `oidc`
    /// they come from discovery and need not be set.
    pub authorize_url: Option<String>,
    pub token_url: Option<String>,
    pub userinfo_url: Option<String>,
}

/// Request and upload limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Largest geometry upload, bytes.
    pub max_upload_bytes: u64,
    /// Largest JSON or form body, bytes.
    pub max_body_bytes: usize,
    /// Sign-in and registration attempts per client address per minute.
    pub auth_per_minute: u32,
    /// Largest triangle count a geometry may have.
    pub max_triangles: usize,
    /// Failed sign-ins to one account before it must wait between attempts.
    pub login_backoff_after: u32,
    /// The longest wait between attempts on one account, seconds; each failure past
    /// `login_backoff_after` doubles the wait from 1 s up to this.
    pub login_backoff_max_s: u64,
    /// Largest decompressed size of a `.gz` upload, bytes (also bounded by max_triangles ×
    /// 256 bytes and by 100 × the compressed size).
    pub max_inflated_bytes: u64,
    /// Geometries processed at once (default: the number of cores, at most 4).
    pub geometry_workers: usize,
    /// Geometries of one user processed at once; the rest wait for their turn.
    pub geometry_per_user: usize,
    /// Mesh suggestions of one user computed at once; more are refused with 429.
    pub mesh_suggestions_per_user: usize,
}

/// How the server sees its clients: which reverse proxies it believes about them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Reverse proxies whose forwarding header is believed, as addresses or CIDRs
    /// (`10.0.0.0/8`, `127.0.0.1`, `fd00::/8`). Empty: no header is believed and the client
    /// is the connection's peer.
    pub trusted_proxies: Vec<String>,
    /// The header the proxies set: `x-forwarded-for` (nginx, HAProxy, Caddy, Traefik) or
    /// `forwarded` (RFC 7239).
    pub forwarded_header: String,
    /// The instance's name in mail ("FlowCFD at Example Lab").
    pub instance_name: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            trusted_proxies: Vec::new(),
            forwarded_header: "x-forwarded-for".into(),
            instance_name: "FlowCFD".into(),
        }
    }
}

/// Outbound webhooks (`[webhooks]`): projects' event deliveries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhooksConfig {
    /// Deliver to private, loopback and link-local addresses too (an appliance whose
    /// receivers live on the same network). Off: such URLs are refused, when a webhook is
    /// created and again at each delivery (after resolving the name), so that a webhook
    /// cannot reach the server's own network (SSRF).
    pub allow_private: bool,
    /// The first retry waits this long (s); each later one twice as long, at most an hour.
    pub retry_base_s: u64,
    /// Attempts before a delivery is given up (shown as failed in the delivery log).
    pub max_attempts: i64,
    /// How long a receiver may take to answer (s).
    pub timeout_s: u64,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        WebhooksConfig { allow_private: false, retry_base_s: 30, max_attempts: 8, timeout_s: 10 }
    }
}

/// Cross-origin requests to the API.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CorsConfig {
    /// Origins allowed to call the API from a browser (`https://app.example.com`); empty: none.
    pub allowed_origins: Vec<String>,
}

/// Logging.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `json` (structured, one object a line) or `text`.
    pub format: String,
    /// A tracing filter, e.g. `info,flowcfd=debug`.
    pub filter: String,
}

impl Default for BlobConfig {
    fn default() -> Self {
        BlobConfig { kind: "local".into(), path: None, s3: S3Config::default() }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig { secret: None, access_ttl_s: 900, refresh_ttl_s: 30 * 86400, providers: Vec::new() }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_upload_bytes: 1 << 30,
            max_body_bytes: 1 << 20,
            auth_per_minute: 20,
            max_triangles: 20_000_000,
            login_backoff_after: 5,
            login_backoff_max_s: 900,
            max_inflated_bytes: 2 << 30,
            geometry_workers: std::thread::available_parallelism().map_or(2, |n| n.get()).min(4),
            geometry_per_user: 1,
            mesh_suggestions_per_user: 2,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig { format: "json".into(), filter: "info".into() }
    }
}

/// PDF reports of ended jobs (`[report]`). Kept as words here (configuration does not know
/// the report library); the report service parses them into `report::Paper` and
/// `report::Units`, and `validate` refuses any other word at start-up.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReportConfig {
    /// `a4` or `letter`.
    pub paper: String,
    /// `si`, or `automotive` (SI with angles in degrees and speeds in km/h).
    pub units: String,
}

impl Default for ReportConfig {
    fn default() -> Self {
        ReportConfig { paper: "a4".into(), units: "si".into() }
    }
}

/// The database connection pool (`[database]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// Connections at most (0: 8 for SQLite, 16 for PostgreSQL).
    pub pool_size: usize,
    /// How long a query waits for a free connection before the request fails with 503.
    pub acquire_timeout_ms: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig { pool_size: 0, acquire_timeout_ms: 10_000 }
    }
}
