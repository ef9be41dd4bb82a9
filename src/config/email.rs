//! `[email]`: SMTP delivery of the mail outbox.
//!
//! `smtp_url` is `smtp://host:port?tls=starttls` (STARTTLS, required), `smtps://host:port`
//! (implicit TLS), or `smtp://host:port` with no TLS, which only a loopback host may use (a
//! relay on the same machine). `user:password@` before the host signs in (percent-encode
//! special characters). `from` is the sender, `FlowCFD <cfd@example.com>`. Without the
//! section nothing is mailed: the links are held for administrators instead.
use serde::{Deserialize, Serialize};

/// The `[email]` section. Every key has a default so that the section can be built from
/// `FLOWCFD_EMAIL__*` variables one at a time; [`EmailConfig::problems`] then requires
/// `smtp_url` and `from`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailConfig {
    /// Where to send: `smtp://…?tls=starttls`, `smtps://…`, or plain `smtp://` on loopback.
    pub smtp_url: String,
    /// The sender, `Name <address>` or a bare address.
    pub from: String,
    /// The first retry waits this long (s); each later one twice as long, at most an hour.
    pub retry_base_s: u64,
}

impl Default for EmailConfig {
    fn default() -> Self {
        EmailConfig { smtp_url: String::new(), from: String::new(), retry_base_s: 30 }
    }
}

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text (loopback only).
    None,
    /// STARTTLS after connecting; refused if the server does not offer it.
    StartTls,
    /// TLS from the first byte (`smtps://`, usually port 465).
    Implicit,
}

/// An `smtp_url`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpTarget {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    /// User name and password, percent-decoded.
    pub credentials: Option<(String, String)>,
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost") || bare.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl EmailConfig {
    /// The SMTP server to use, or what is wrong with `smtp_url` (naming the key and the fix).
    pub fn target(&self) -> Result<SmtpTarget, String> {
        let shown = super::mask_url(&self.smtp_url);
        let bad = |why: &str| Err(format!("email.smtp_url = {shown:?}: {why}"));
        let Ok(u) = url::Url::parse(&self.smtp_url) else {
            return bad("not a URL; use smtp://HOST:PORT?tls=starttls or smtps://HOST:PORT");
        };
        let Some(host) = u.host_str().filter(|h| !h.is_empty()).map(str::to_string) else {
            return bad("no host; use smtp://HOST:PORT?tls=starttls or smtps://HOST:PORT");
        };
        let mut tls_query = None;
        for (k, v) in u.query_pairs() {
            match (k.as_ref(), v.as_ref()) {
                ("tls", "starttls") => tls_query = Some(SmtpTls::StartTls),
                ("tls", "none") => tls_query = Some(SmtpTls::None),
                ("tls", other) => return bad(&format!("tls={other} is not a mode; use tls=starttls, or smtps:// for implicit TLS")),
                (other, _) => return bad(&format!("unknown parameter {other:?}; the only one is tls=starttls")),
            }
        }
        let (tls, default_port) = match (u.scheme(), tls_query) {
            ("smtps", None) => (SmtpTls::Implicit, 465),
            ("smtps", Some(_)) => return bad("smtps:// is implicit TLS already; drop the tls parameter"),
            ("smtp", Some(SmtpTls::StartTls)) => (SmtpTls::StartTls, 587),
            ("smtp", _) => (SmtpTls::None, 25),
            (other, _) => return bad(&format!("the scheme {other}:// is not smtp:// or smtps://")),
        };
        if tls == SmtpTls::None && !is_loopback(&host) {
            return bad(&format!(
                "mail to {host} would travel unencrypted; add ?tls=starttls or use smtps:// (plain SMTP is for a relay on loopback only)"
            ));
        }
        let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
        let credentials = match (u.username(), u.password()) {
            ("", None) => None,
            (user, Some(pw)) => Some((decode(user), decode(pw))),
            (_, None) => return bad("a user name needs a password: smtp://USER:PASSWORD@HOST"),
        };
        Ok(SmtpTarget { host, port: u.port().unwrap_or(default_port), tls, credentials })
    }

    /// The checks of `[email]` at start-up.
    pub(super) fn problems(&self) -> Option<String> {
        if self.smtp_url.is_empty() {
            return Some("[email] needs smtp_url, e.g. \"smtp://mail.example.com:587?tls=starttls\"".into());
        }
        if self.from.is_empty() {
            return Some("[email] needs from, the sender: \"FlowCFD <cfd@example.com>\"".into());
        }
        if let Err(e) = self.target() {
            return Some(e);
        }
        if self.from.parse::<lettre::message::Mailbox>().is_err() {
            return Some(format!(
                "email.from = {:?} is not an address; use \"FlowCFD <cfd@example.com>\" or cfd@example.com",
                self.from
            ));
        }
        if !(1..=3600).contains(&self.retry_base_s) {
            return Some(format!("email.retry_base_s = {} must be between 1 and 3600 seconds", self.retry_base_s));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(url: &str) -> EmailConfig {
        EmailConfig { smtp_url: url.into(), from: "FlowCFD <cfd@example.com>".into(), retry_base_s: 30 }
    }

    #[test]
    fn the_three_tls_modes_and_their_ports() {
        let t = cfg("smtp://mail.example.com?tls=starttls").target().unwrap();
        assert_eq!((t.port, t.tls), (587, SmtpTls::StartTls));
        let t = cfg("smtps://u%40x:p%3Aw@mail.example.com").target().unwrap();
        assert_eq!((t.port, t.tls), (465, SmtpTls::Implicit));
        assert_eq!(t.credentials, Some(("u@x".into(), "p:w".into())));
        let t = cfg("smtp://127.0.0.1:2525").target().unwrap();
        assert_eq!((t.host.as_str(), t.port, t.tls), ("127.0.0.1", 2525, SmtpTls::None));
        assert!(cfg("smtp://localhost").target().is_ok());
        assert!(cfg("smtp://[::1]:25").target().is_ok());
    }

    #[test]
    fn mistakes_name_the_key_and_the_fix_and_hide_the_password() {
        let e = cfg("smtp://mail.example.com").target().unwrap_err();
        assert!(e.contains("email.smtp_url") && e.contains("tls=starttls"), "{e}");
        let e = cfg("smtp://u:hunter2@mail.example.com?tls=required").target().unwrap_err();
        assert!(e.contains("tls=required") && !e.contains("hunter2"), "{e}");
        assert!(cfg("http://mail.example.com").target().unwrap_err().contains("http://"));
        assert!(cfg("smtps://x?tls=starttls").target().unwrap_err().contains("implicit TLS already"));
        let mut c = cfg("smtps://mail.example.com");
        c.from = "not an address".into();
        assert!(c.problems().unwrap().contains("email.from"));
        c.from = String::new();
        assert!(c.problems().unwrap().contains("needs from"));
        assert!(EmailConfig::default().problems().unwrap().contains("needs smtp_url"));
    }
}
