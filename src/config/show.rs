//! `flowcfd config show`: the effective configuration as TOML with every secret masked, and
//! the URL masking that error messages share.
use super::Config;

impl Config {
    /// The effective configuration as TOML, secrets masked.
    pub fn show(&self) -> String {
        let mut v = toml::Value::try_from(self).expect("config serialises");
        mask(&mut v, "");
        toml::to_string_pretty(&v).expect("config prints")
    }
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
        toml::Value::String(s) if key == "database_url" || key == "smtp_url" => *s = mask_url(s),
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
    use crate::config::tests::env;
    use crate::config::Overrides;

    #[test]
    fn show_masks_secrets() {
        let c = Config::load_from(
            &Overrides::default(),
            env(&[
                ("FLOWCFD_AUTH__SECRET", "hunter2hunter2hunter2hunter2hunter2"),
                ("FLOWCFD_DATABASE_URL", "postgres://app:pw123@db/flowcfd"),
                ("FLOWCFD_BLOBS__S3__SECRET_ACCESS_KEY", "AKIAsecret"),
                ("FLOWCFD_EMAIL__SMTP_URL", "smtps://cfd:mailpw9@mail.example.com"),
                ("FLOWCFD_EMAIL__FROM", "cfd@example.com"),
            ]),
        )
        .unwrap();
        let shown = c.show();
        assert!(!shown.contains("hunter2") && !shown.contains("pw123") && !shown.contains("AKIAsecret"), "{shown}");
        assert!(shown.contains("smtps://cfd:********@mail.example.com") && !shown.contains("mailpw9"), "{shown}");
        assert!(shown.contains("postgres://app:********@db/flowcfd"), "{shown}");
    }
}
