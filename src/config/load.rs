//! The layers, lowest first: defaults, the config file, `FLOWCFD_*` variables, flags. Each
//! layer is merged as TOML and checked at once, so an error names the layer it came from.
use super::Config;
use std::path::{Path, PathBuf};

/// Values given on the command line; `None` leaves the lower layers alone.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// The config file; without it `FLOWCFD_CONFIG`, then `flowcfd.toml` if there is one.
    pub config_file: Option<PathBuf>,
    /// Replaces `bind`.
    pub bind: Option<String>,
    /// Replaces `data_dir`.
    pub data_dir: Option<PathBuf>,
    /// Replaces `database_url`.
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
const TOP_LEVEL_KEYS: &[&str] = &[
    "bind",
    "data_dir",
    "public_url",
    "database_url",
    "database",
    "server",
    "blobs",
    "auth",
    "limits",
    "cors",
    "log",
    "jobs",
    "report",
    "billing",
    "email",
    "webhooks",
    "clusters",
];

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::env;

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
            billing: Some(Default::default()),
            email: Some(crate::config::EmailConfig {
                smtp_url: "smtp://127.0.0.1".into(),
                from: "cfd@example.com".into(),
                retry_base_s: 30,
            }),
            ..Default::default()
        };
        let v = toml::Value::try_from(&full).unwrap();
        let mut keys: Vec<&str> = v.as_table().unwrap().keys().map(|k| k.as_str()).collect();
        keys.sort();
        let mut known = TOP_LEVEL_KEYS.to_vec();
        known.sort();
        assert_eq!(keys, known);
    }
}
