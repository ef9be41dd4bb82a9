//! One configuration struct, layered: defaults < `flowcfd.toml` < `FLOWCFD_*` env < flags.
//!
//! Nested keys come from the environment with a double underscore:
//! `FLOWCFD_BLOBS__S3__BUCKET=results` sets `blobs.s3.bucket`. Values are read as TOML
//! scalars where they parse (`true`, `42`, `1.5`), as strings otherwise.
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Everything `flowcfd serve`, `worker`, `migrate` and `admin` read.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server listens on.
    pub bind: String,
    /// Where the embedded defaults keep their data (`flowcfd.db`, `blobs/`, `secret.key`).
    pub data_dir: PathBuf,
    /// The URL users reach the server at; `https://` turns on Secure cookies and HSTS.
    pub public_url: Option<String>,
    /// `sqlite://PATH` (default `DATA_DIR/flowcfd.db`) or `postgres://…`.
    pub database_url: Option<String>,
    pub blobs: BlobConfig,
    pub auth: AuthConfig,
    pub limits: LimitsConfig,
    pub cors: CorsConfig,
    pub log: LogConfig,
    pub jobs: JobsConfig,
    /// Named clusters jobs can be sent to (`[[clusters]]`), besides `local`.
    pub clusters: Vec<ClusterConfig>,
}

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
    /// Kubernetes: the solver image (default `ghcr.io/flowcfd/solver:v2312`).
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
        }
    }
}

/// The job worker that `flowcfd serve` runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobsConfig {
    /// Jobs this server runs at once (0: none; the server then only queues).
    pub slots: usize,
    /// The `flowcfd` binary the local executor starts for each run (default: this one).
    pub flowcfd_bin: Option<PathBuf>,
    /// Seconds a worker's claim on a job lasts without a heartbeat; after a crash, another
    /// worker takes the job over this long after the last heartbeat.
    pub lease_s: u64,
    /// Longest a job may run, seconds; it is then stopped and marked failed.
    pub max_wall_s: u64,
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
            lease_s: 30,
            max_wall_s: 24 * 3600,
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

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("data"),
            public_url: None,
            database_url: None,
            blobs: BlobConfig::default(),
            auth: AuthConfig::default(),
            limits: LimitsConfig::default(),
            cors: CorsConfig::default(),
            log: LogConfig::default(),
            jobs: JobsConfig::default(),
            clusters: Vec::new(),
        }
    }
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
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig { format: "json".into(), filter: "info".into() }
    }
}

/// Values given on the command line; `None` leaves the lower layers alone.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub bind: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
}

/// A configuration that cannot be used, with what to change.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    #[error("configuration: {0}")]
    Invalid(String),
}

/// The top-level keys, for telling configuration variables from other `FLOWCFD_*` ones.
const TOP_LEVEL_KEYS: &[&str] =
    &["bind", "data_dir", "public_url", "database_url", "blobs", "auth", "limits", "cors", "log", "jobs", "clusters"];

/// The default config file name, looked for in the working directory.
pub const DEFAULT_FILE: &str = "flowcfd.toml";

impl Config {
    /// Builds the effective configuration from every layer.
    pub fn load(over: &Overrides) -> Result<Config, ConfigError> {
        Self::load_from(over, std::env::vars())
    }

    /// As [`Config::load`], with the environment given (tests).
    pub fn load_from(over: &Overrides, env: impl IntoIterator<Item = (String, String)>) -> Result<Config, ConfigError> {
        let mut value = toml::Value::try_from(Config::default()).expect("defaults serialise");
        let env: Vec<(String, String)> = env.into_iter().collect();
        let file = over
            .config_file
            .clone()
            .or_else(|| env.iter().find(|(k, _)| k == "FLOWCFD_CONFIG").map(|(_, v)| PathBuf::from(v)))
            .or_else(|| Path::new(DEFAULT_FILE).exists().then(|| PathBuf::from(DEFAULT_FILE)));
        if let Some(path) = file {
            let text =
                std::fs::read_to_string(&path).map_err(|source| ConfigError::Read { path: path.clone(), source })?;
            let layer: toml::Table =
                toml::from_str(&text).map_err(|e| ConfigError::Parse { path: path.clone(), message: e.to_string() })?;
            merge(&mut value, toml::Value::Table(layer));
            // Unknown keys are a typo the user wants to hear about.
            toml::Value::try_into::<Config>(value.clone())
                .map_err(|e| ConfigError::Parse { path: path.clone(), message: e.to_string() })?;
        }
        for (var, raw) in &env {
            let Some(rest) = var.strip_prefix("FLOWCFD_") else { continue };
            let keys: Vec<String> = rest.split("__").map(|k| k.to_ascii_lowercase()).collect();
            // Other FLOWCFD_* variables (FLOWCFD_CONFIG, FLOWCFD_OPENFOAM_ENV, test settings)
            // are not configuration keys; below the top level a typo is an error.
            if !TOP_LEVEL_KEYS.contains(&keys[0].as_str()) {
                continue;
            }
            set_path(&mut value, &keys, scalar(raw));
            toml::Value::try_into::<Config>(value.clone())
                .map_err(|e| ConfigError::Env { var: var.clone(), message: e.to_string() })?;
        }
        let mut cfg: Config = value.try_into().map_err(|e: toml::de::Error| ConfigError::Invalid(e.to_string()))?;
        if let Some(b) = &over.bind {
            cfg.bind = b.clone();
        }
        if let Some(d) = &over.data_dir {
            cfg.data_dir = d.clone();
        }
        if let Some(u) = &over.database_url {
            cfg.database_url = Some(u.clone());
        }
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.bind.parse::<std::net::SocketAddr>().is_err() {
            return Err(ConfigError::Invalid(format!(
                "bind = {:?} is not ADDR:PORT (for example 127.0.0.1:8080 or 0.0.0.0:8080)",
                self.bind
            )));
        }
        match self.blobs.kind.as_str() {
            "local" => {}
            "s3" if self.blobs.s3.bucket.is_empty() => {
                return Err(ConfigError::Invalid("blobs.kind = \"s3\" needs blobs.s3.bucket".into()))
            }
            "s3" => {}
            other => return Err(ConfigError::Invalid(format!("blobs.kind = {other:?}: expected \"local\" or \"s3\""))),
        }
        if let Some(url) = &self.database_url {
            if !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                return Err(ConfigError::Invalid(format!(
                    "database_url must start with sqlite: or postgres:// (got {})",
                    mask_url(url)
                )));
            }
        }
        for p in &self.auth.providers {
            if !matches!(p.kind.as_str(), "github" | "google" | "oidc") {
                return Err(ConfigError::Invalid(format!(
                    "auth.providers {:?}: kind {:?}, expected github, google or oidc",
                    p.name, p.kind
                )));
            }
            if p.kind == "oidc" && p.issuer.is_none() {
                return Err(ConfigError::Invalid(format!("auth.providers {:?}: kind oidc needs issuer", p.name)));
            }
            if !p.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') || p.name.is_empty() {
                return Err(ConfigError::Invalid(format!(
                    "auth.providers name {:?}: use letters, digits, - and _",
                    p.name
                )));
            }
        }
        let mut names = std::collections::HashSet::new();
        for c in &self.clusters {
            let word = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !word(&c.name) || c.name == "local" {
                return Err(ConfigError::Invalid(format!(
                    "clusters name {:?}: use letters, digits, - and _ (and not \"local\")",
                    c.name
                )));
            }
            if !names.insert(c.name.clone()) {
                return Err(ConfigError::Invalid(format!("clusters: the name {:?} is used twice", c.name)));
            }
            if c.kind != "slurm" {
                return Err(ConfigError::Invalid(format!(
                    "clusters {:?}: kind {:?}, expected \"slurm\"",
                    c.name, c.kind
                )));
            }
            if c.host.is_empty() || c.user.is_empty() || c.key_sealed.is_none() {
                return Err(ConfigError::Invalid(format!(
                    "clusters {:?}: needs host, user and key_sealed (from `flowcfd admin seal-key KEYFILE`)",
                    c.name
                )));
            }
            if c.remote_dir.is_empty() || c.remote_dir.contains("..") || c.max_cores == 0 {
                return Err(ConfigError::Invalid(format!(
                    "clusters {:?}: remote_dir must be a plain directory and max_cores at least 1",
                    c.name
                )));
            }
        }
        if self.jobs.lease_s < 2 {
            return Err(ConfigError::Invalid(
                "jobs.lease_s must be at least 2 (workers renew every half second)".into(),
            ));
        }
        if self.auth.access_ttl_s == 0 || self.auth.refresh_ttl_s == 0 {
            return Err(ConfigError::Invalid("auth.access_ttl_s and auth.refresh_ttl_s must be positive".into()));
        }
        Ok(())
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("flowcfd.db").display()))
    }

    /// The `flowcfd` binary local runs use.
    pub fn flowcfd_bin(&self) -> PathBuf {
        self.jobs.flowcfd_bin.clone().or_else(|| std::env::current_exe().ok()).unwrap_or_else(|| "flowcfd".into())
    }

    /// The local blob directory in effect.
    pub fn blob_dir(&self) -> PathBuf {
        self.blobs.path.clone().unwrap_or_else(|| self.data_dir.join("blobs"))
    }

    /// Whether users reach the server over TLS (Secure cookies, HSTS).
    pub fn tls(&self) -> bool {
        self.public_url.as_deref().is_some_and(|u| u.starts_with("https://"))
    }

    /// The effective configuration as TOML, secrets masked.
    pub fn show(&self) -> String {
        let mut v = toml::Value::try_from(self).expect("config serialises");
        mask(&mut v, "");
        toml::to_string_pretty(&v).expect("config prints")
    }
}

fn merge(base: &mut toml::Value, layer: toml::Value) {
    match (base, layer) {
        (toml::Value::Table(b), toml::Value::Table(l)) => {
            for (k, v) in l {
                match b.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

fn set_path(v: &mut toml::Value, keys: &[String], leaf: toml::Value) {
    let toml::Value::Table(t) = v else { return };
    match keys {
        [] => {}
        [k] => {
            t.insert(k.clone(), leaf);
        }
        [k, rest @ ..] => {
            let slot = t.entry(k.clone()).or_insert_with(|| toml::Value::Table(Default::default()));
            set_path(slot, rest, leaf);
        }
    }
}

fn scalar(raw: &str) -> toml::Value {
    if let Ok(t) = format!("x = {raw}").parse::<toml::Table>() {
        if let Some(v) = t.get("x") {
            if !matches!(v, toml::Value::Table(_) | toml::Value::Datetime(_)) {
                return v.clone();
            }
        }
    }
    toml::Value::String(raw.to_string())
}

fn is_secret_key(k: &str) -> bool {
    k.contains("secret") || k.contains("password") || k == "key_sealed"
}

fn mask(v: &mut toml::Value, key: &str) {
    match v {
        toml::Value::Table(t) => {
            for (k, v) in t.iter_mut() {
                mask(v, k);
            }
        }
        toml::Value::Array(a) => a.iter_mut().for_each(|v| mask(v, key)),
        toml::Value::String(s) if is_secret_key(key) && !s.is_empty() => *s = "********".into(),
        toml::Value::String(s) if key == "database_url" => *s = mask_url(s),
        _ => {}
    }
}

/// `postgres://user:pw@host/db` → `postgres://user:********@host/db`.
pub fn mask_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("********"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn defaults_are_the_zero_configuration_start() {
        let c = Config::load_from(&Overrides::default(), env(&[])).unwrap();
        assert_eq!(c.bind, "127.0.0.1:8080");
        assert_eq!(c.database_url(), "sqlite://data/flowcfd.db");
        assert_eq!(c.blob_dir(), PathBuf::from("data/blobs"));
        assert_eq!(c.limits.max_upload_bytes, 1 << 30);
    }

    #[test]
    fn layers_apply_in_order_file_env_flags() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f.toml");
        std::fs::write(&file, "bind = \"127.0.0.1:9000\"\ndata_dir = \"/srv/a\"\n[limits]\nauth_per_minute = 5\n")
            .unwrap();
        let over = Overrides { config_file: Some(file.clone()), ..Default::default() };
        let c = Config::load_from(
            &over,
            env(&[("FLOWCFD_DATA_DIR", "/srv/b"), ("FLOWCFD_LIMITS__MAX_UPLOAD_BYTES", "1000")]),
        )
        .unwrap();
        assert_eq!(c.bind, "127.0.0.1:9000");
        assert_eq!(c.data_dir, PathBuf::from("/srv/b"));
        assert_eq!(c.limits.auth_per_minute, 5);
        assert_eq!(c.limits.max_upload_bytes, 1000);
        let over = Overrides { config_file: Some(file), data_dir: Some("/srv/c".into()), ..Default::default() };
        let c = Config::load_from(&over, env(&[("FLOWCFD_DATA_DIR", "/srv/b")])).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/srv/c"));
    }

    #[test]
    fn typos_and_bad_values_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f.toml");
        std::fs::write(&file, "bnid = \"x\"\n").unwrap();
        let e = Config::load_from(&Overrides { config_file: Some(file), ..Default::default() }, env(&[])).unwrap_err();
        assert!(e.to_string().contains("bnid"), "{e}");
        let e =
            Config::load_from(&Overrides::default(), env(&[("FLOWCFD_LIMITS__AUTH_PER_MINUTE", "lots")])).unwrap_err();
        assert!(e.to_string().contains("FLOWCFD_LIMITS__AUTH_PER_MINUTE"), "{e}");
        let e =
            Config::load_from(&Overrides { bind: Some("8080".into()), ..Default::default() }, env(&[])).unwrap_err();
        assert!(e.to_string().contains("ADDR:PORT"), "{e}");
    }

    #[test]
    fn the_shipped_example_is_valid_and_states_the_defaults() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("flowcfd.example.toml");
        let c = Config::load_from(&Overrides { config_file: Some(path), ..Default::default() }, env(&[])).unwrap();
        assert_eq!(c.show(), Config::default().show());
    }

    #[test]
    fn env_names_outside_the_config_are_left_alone() {
        let c = Config::load_from(
            &Overrides::default(),
            env(&[
                ("FLOWCFD_OPENFOAM_ENV", "/opt/of/etc/bashrc"),
                ("FLOWCFD_ADMIN_PASSWORD", "x"),
                ("FLOWCFD_BIND", "0.0.0.0:9"),
            ]),
        )
        .unwrap();
        assert_eq!(c.bind, "0.0.0.0:9");
        // Every top-level field is a known key (Options included).
        let full = Config {
            public_url: Some("https://x".into()),
            database_url: Some("sqlite://x".into()),
            ..Default::default()
        };
        let v = toml::Value::try_from(&full).unwrap();
        let mut keys: Vec<&str> = v.as_table().unwrap().keys().map(|k| k.as_str()).collect();
        keys.sort();
        let mut known = TOP_LEVEL_KEYS.to_vec();
        known.sort();
        assert_eq!(keys, known);
    }

    #[test]
    fn show_masks_secrets() {
        let c = Config::load_from(
            &Overrides::default(),
            env(&[
                ("FLOWCFD_AUTH__SECRET", "hunter2hunter2"),
                ("FLOWCFD_DATABASE_URL", "postgres://app:pw123@db/flowcfd"),
                ("FLOWCFD_BLOBS__S3__SECRET_ACCESS_KEY", "AKIAsecret"),
            ]),
        )
        .unwrap();
        let shown = c.show();
        assert!(!shown.contains("hunter2") && !shown.contains("pw123") && !shown.contains("AKIAsecret"), "{shown}");
        assert!(shown.contains("postgres://app:********@db/flowcfd"), "{shown}");
    }
}
