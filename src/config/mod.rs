//! One configuration struct, layered: defaults < `flowcfd.toml` < `FLOWCFD_*` env < flags.
//!
//! Nested keys come from the environment with a double underscore:
//! `FLOWCFD_BLOBS__S3__BUCKET=results` sets `blobs.s3.bucket`. Values are read as TOML
//! scalars where they parse (`true`, `42`, `1.5`), as strings otherwise.
//!
//! This room holds the top-level [`Config`] and what is derived from it; the rest lives by
//! role: `sections` (the tables under it and their defaults), `load` (the layers),
//! `validate` (what a loaded configuration must satisfy) and `show` (`flowcfd config show`,
//! secrets masked) and `private` (the data directory's owner-only files and folders).
mod billing;
mod email;
mod load;
pub mod private;
mod proxy;
mod sections;
mod show;
mod validate;

pub use billing::{default_plans, BillingConfig, Plan, StripeConfig};
pub use email::{EmailConfig, SmtpTarget, SmtpTls};
pub use load::{ConfigError, Overrides, DEFAULT_FILE};
pub use proxy::{parse_forwarded, parse_x_forwarded_for, Cidr};
pub use sections::{
    AuthConfig, BlobConfig, ClusterConfig, CorsConfig, DatabaseConfig, JobsConfig, LimitsConfig, LogConfig, MpiMode,
    ProviderConfig, ReportConfig, S3Config, ServerConfig, WebhooksConfig, MIN_SECRET_BYTES,
};
pub use show::mask_url;

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

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
    pub database: DatabaseConfig,
    pub server: ServerConfig,
    pub blobs: BlobConfig,
    pub auth: AuthConfig,
    pub limits: LimitsConfig,
    pub cors: CorsConfig,
    pub log: LogConfig,
    pub jobs: JobsConfig,
    /// PDF reports: paper size and unit system (`[report]`).
    pub report: ReportConfig,
    /// Named clusters jobs can be sent to (`[[clusters]]`), besides `local`.
    pub clusters: Vec<ClusterConfig>,
    /// Plans, quotas and Stripe (`[billing]`); absent: everyone on `unlimited`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billing: Option<BillingConfig>,
    /// SMTP delivery of the mail outbox (`[email]`); absent: links are held for admins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailConfig>,
    /// Outbound webhooks: private addresses, retries, timeout (`[webhooks]`).
    pub webhooks: WebhooksConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("data"),
            public_url: None,
            database_url: None,
            database: DatabaseConfig::default(),
            server: ServerConfig::default(),
            blobs: BlobConfig::default(),
            auth: AuthConfig::default(),
            limits: LimitsConfig::default(),
            cors: CorsConfig::default(),
            log: LogConfig::default(),
            jobs: JobsConfig::default(),
            report: ReportConfig::default(),
            clusters: Vec::new(),
            billing: None,
            email: None,
            webhooks: WebhooksConfig::default(),
        }
    }
}

impl Config {
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

    /// The billing section in effect (without one: the shipped plans, everyone unlimited).
    pub fn billing(&self) -> BillingConfig {
        self.billing.clone().unwrap_or_else(BillingConfig::absent)
    }

    /// Whether users reach the server over TLS (Secure cookies, HSTS).
    pub fn tls(&self) -> bool {
        self.public_url.as_deref().is_some_and(|u| u.starts_with("https://"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An environment for [`Config::load_from`] from name-value pairs.
    pub(super) fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
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
}
