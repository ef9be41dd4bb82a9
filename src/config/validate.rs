//! What a loaded configuration must satisfy, checked once after the last layer so that the
//! server refuses to start with a message that says what to change.
use super::{mask_url, ClusterConfig, Config, ConfigError, MpiMode};

impl Config {
    /// Refuses what cannot work, naming the key and what to change.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
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
            match c.kind.as_str() {
                "slurm" => slurm_cluster(c)?,
                // Its pods exchange files through presigned URLs, which only S3 gives.
                "kubernetes" if self.blobs.kind != "s3" => {
                    return Err(ConfigError::Invalid(format!(
                        "clusters {:?}: kind \"kubernetes\" needs blobs.kind = \"s3\" (its pods fetch and return files \
                         through presigned URLs)",
                        c.name
                    )));
                }
                "kubernetes" => kubernetes_cluster(c)?,
                other => {
                    return Err(ConfigError::Invalid(format!(
                        "clusters {:?}: kind {other:?}, expected \"slurm\" or \"kubernetes\"",
                        c.name
                    )))
                }
            }
        }
        if self.jobs.max_attempts == 0 {
            return Err(ConfigError::Invalid("jobs.max_attempts must be at least 1".into()));
        }
        if self.jobs.lease_s < 2 {
            return Err(ConfigError::Invalid(
                "jobs.lease_s must be at least 2 (workers renew every half second)".into(),
            ));
        }
        if let Some(secret) = &self.auth.secret {
            let min = super::MIN_SECRET_BYTES;
            if secret.len() < min {
                return Err(ConfigError::Invalid(format!(
                    "auth.secret is {} bytes; it must be at least {min} random bytes (generate one with \
                     `openssl rand -base64 48`), or leave it out to use a generated DATA_DIR/secret.key",
                    secret.len()
                )));
            }
        }
        for p in &self.server.trusted_proxies {
            p.parse::<super::Cidr>().map_err(|e| ConfigError::Invalid(format!("server.trusted_proxies: {e}")))?;
        }
        if !matches!(self.server.forwarded_header.as_str(), "x-forwarded-for" | "forwarded") {
            return Err(ConfigError::Invalid(format!(
                "server.forwarded_header = {:?}: expected \"x-forwarded-for\" or \"forwarded\"",
                self.server.forwarded_header
            )));
        }
        if self.limits.login_backoff_max_s == 0 {
            return Err(ConfigError::Invalid(
                "limits.login_backoff_max_s must be at least 1 (to turn the back-off off, set limits.login_backoff_after = 0)"
                    .into(),
            ));
        }
        if self.auth.access_ttl_s == 0 || self.auth.refresh_ttl_s == 0 {
            return Err(ConfigError::Invalid("auth.access_ttl_s and auth.refresh_ttl_s must be positive".into()));
        }
        // The report service parses these with report::Paper and report::Units; the words
        // are checked here so that a typo stops the start, not the first report.
        if !matches!(self.report.paper.as_str(), "a4" | "letter") {
            return Err(ConfigError::Invalid(format!(
                "report.paper = {:?}: expected \"a4\" or \"letter\"",
                self.report.paper
            )));
        }
        if !matches!(self.report.units.as_str(), "si" | "automotive") {
            return Err(ConfigError::Invalid(format!(
                "report.units = {:?}: expected \"si\" or \"automotive\" (SI with degrees and km/h)",
                self.report.units
            )));
        }
        if let Some(problem) = self.billing().problems() {
            return Err(ConfigError::Invalid(problem));
        }
        if let Some(problem) = self.email.as_ref().and_then(|e| e.problems()) {
            return Err(ConfigError::Invalid(problem));
        }
        Ok(())
    }
}

fn slurm_cluster(c: &ClusterConfig) -> Result<(), ConfigError> {
    if c.host.is_empty() || c.user.is_empty() || c.key_sealed.is_none() {
        return Err(ConfigError::Invalid(format!(
            "clusters {:?}: needs host, user and key_sealed (from `flowcfd admin seal-key KEYFILE`)",
            c.name
        )));
    }
    if c.transfer_min_kib_s == 0 {
        return Err(ConfigError::Invalid(format!(
            "clusters {:?}: transfer_min_kib_s must be at least 1 (KiB/s)",
            c.name
        )));
    }
    if c.remote_dir.is_empty() || c.remote_dir.contains("..") || c.max_cores == 0 {
        return Err(ConfigError::Invalid(format!(
            "clusters {:?}: remote_dir must be a plain directory and max_cores at least 1",
            c.name
        )));
    }
    Ok(())
}

/// A Kubernetes object name (RFC 1123 subdomain, as PVC and ServiceAccount names are).
fn k8s_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

fn kubernetes_cluster(c: &ClusterConfig) -> Result<(), ConfigError> {
    let bad = |msg: String| Err(ConfigError::Invalid(format!("clusters {:?}: {msg}", c.name)));
    if c.cores_per_node == 0 || c.memory_per_core_gib == 0 || c.max_cores == 0 {
        return bad("cores_per_node, memory_per_core_gib and max_cores must be at least 1".into());
    }
    if c.mpi_mode == MpiMode::SharedVolume && c.shared_volume_claim.is_none() {
        return bad("mpi_mode = \"shared_volume\" needs shared_volume_claim, the name of a ReadWriteMany \
             PersistentVolumeClaim (EFS, FSx for Lustre) in the solver namespace; or use mpi_mode = \
             \"object_store\", which needs no shared volume"
            .into());
    }
    if c.shared_volume_claim.is_some() && c.mpi_mode != MpiMode::SharedVolume {
        return bad("shared_volume_claim is set but mpi_mode is not \"shared_volume\"; set both or neither".into());
    }
    for (key, value) in [
        ("shared_volume_claim", &c.shared_volume_claim),
        ("service_account", &c.service_account),
        ("namespace", &c.namespace),
    ] {
        if let Some(v) = value.as_deref().filter(|v| !k8s_name(v)) {
            return bad(format!("{key} = {v:?} is not a Kubernetes name (lower-case letters, digits, - and .)"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::config::tests::env;
    use crate::config::{Config, MpiMode, Overrides};

    #[test]
    fn report_paper_and_units_are_checked_words() {
        let c = Config::load_from(&Overrides::default(), env(&[])).unwrap();
        assert_eq!((c.report.paper.as_str(), c.report.units.as_str()), ("a4", "si"));
        let c = Config::load_from(
            &Overrides::default(),
            env(&[("FLOWCFD_REPORT__PAPER", "letter"), ("FLOWCFD_REPORT__UNITS", "automotive")]),
        )
        .unwrap();
        assert_eq!((c.report.paper.as_str(), c.report.units.as_str()), ("letter", "automotive"));
        let e = Config::load_from(&Overrides::default(), env(&[("FLOWCFD_REPORT__PAPER", "A3")])).unwrap_err();
        assert!(e.to_string().contains("report.paper = \"A3\"") && e.to_string().contains("\"letter\""), "{e}");
        let e = Config::load_from(&Overrides::default(), env(&[("FLOWCFD_REPORT__UNITS", "imperial")])).unwrap_err();
        assert!(e.to_string().contains("report.units = \"imperial\""), "{e}");
    }

    #[test]
    fn kubernetes_clusters_are_accepted_and_their_mpi_mode_checked() {
        let dir = tempfile::tempdir().unwrap();
        let load = |extra: &str| {
            let path = dir.path().join("flowcfd.toml");
            let text = format!(
                "[blobs]\nkind = \"s3\"\n[blobs.s3]\nbucket = \"b\"\nregion = \"r\"\n\
                 [[clusters]]\nname = \"eks\"\nkind = \"kubernetes\"\nmpi_operator = true\ncores_per_node = 8\n{extra}"
            );
            std::fs::write(&path, text).unwrap();
            Config::load_from(&Overrides { config_file: Some(path), ..Default::default() }, env(&[]))
        };
        // The defaults: object-store staging, no claim, no service account.
        let c = load("").unwrap();
        let k = &c.clusters[0];
        assert_eq!((k.mpi_mode, &k.shared_volume_claim, &k.service_account), (MpiMode::ObjectStore, &None, &None));
        let c =
            load("mpi_mode = \"shared_volume\"\nshared_volume_claim = \"cfd-scratch\"\nservice_account = \"solver\"")
                .unwrap();
        let k = &c.clusters[0];
        assert_eq!(k.mpi_mode, MpiMode::SharedVolume);
        assert_eq!(
            (k.shared_volume_claim.as_deref(), k.service_account.as_deref()),
            (Some("cfd-scratch"), Some("solver"))
        );

        let e = load("mpi_mode = \"shared_volume\"").unwrap_err().to_string();
        assert!(
            e.contains("clusters \"eks\"") && e.contains("needs shared_volume_claim") && e.contains("ReadWriteMany"),
            "{e}"
        );
        let e = load("shared_volume_claim = \"cfd-scratch\"").unwrap_err().to_string();
        assert!(e.contains("mpi_mode is not \"shared_volume\""), "{e}");
        let e = load("mpi_mode = \"nfs\"").unwrap_err().to_string();
        assert!(e.contains("object_store") && e.contains("shared_volume"), "{e}");
        let e = load("mpi_mode = \"shared_volume\"\nshared_volume_claim = \"Scratch_1\"").unwrap_err().to_string();
        assert!(e.contains("shared_volume_claim = \"Scratch_1\" is not a Kubernetes name"), "{e}");
        let e = load("cores_per_node = 0").unwrap_err().to_string();
        assert!(e.contains("cores_per_node"), "{e}");
        // Without S3 there are no presigned URLs for the pods.
        std::fs::write(dir.path().join("flowcfd.toml"), "[[clusters]]\nname = \"eks\"\nkind = \"kubernetes\"\n")
            .unwrap();
        let e = Config::load_from(
            &Overrides { config_file: Some(dir.path().join("flowcfd.toml")), ..Default::default() },
            env(&[]),
        )
        .unwrap_err();
        assert!(e.to_string().contains("needs blobs.kind = \"s3\""), "{e}");
        // Slurm clusters keep their own checks; an unknown kind names both.
        let e = load("").map(|_| ()).and_then(|_| {
            std::fs::write(dir.path().join("flowcfd.toml"), "[[clusters]]\nname = \"x\"\nkind = \"nomad\"\n").unwrap();
            Config::load_from(
                &Overrides { config_file: Some(dir.path().join("flowcfd.toml")), ..Default::default() },
                env(&[]),
            )
            .map(|_| ())
        });
        let e = e.unwrap_err().to_string();
        assert!(e.contains("\"slurm\" or \"kubernetes\""), "{e}");
    }
}
