//! Credentials: password hashing (argon2id), signed access tokens (JWT, HS256), opaque
//! refresh/session/API tokens (only their SHA-256 is stored) and CSRF tokens.
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub mod oidc;

/// Prefix of API tokens, so a leaked one is recognisable (and scannable).
pub const API_TOKEN_PREFIX: &str = "fcfd_";
pub use crate::config::MIN_SECRET_BYTES;
/// Browser session cookie.
pub const SESSION_COOKIE: &str = "flowcfd_session";

/// Why a credential was refused. The message is safe to show.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TokenError {
    #[error("the access token has expired; get a new one with POST /api/auth/refresh")]
    Expired,
    #[error("the access token is not valid (bad signature or format); sign in again")]
    Invalid,
}

/// Claims of an access token.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
    /// Always `access`.
    pub typ: String,
    /// When it was issued, in ms (`iat` is whole seconds): a password reset ends the
    /// tokens issued before it, and not those of a sign-in in the same second after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat_ms: Option<i64>,
}

/// The server secret and what is derived from it.
#[derive(Clone)]
pub struct Keys {
    secret: Vec<u8>,
    enc: EncodingKey,
    dec: DecodingKey,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(..)")
    }
}

impl Keys {
    fn seal_cipher(&self) -> chacha20poly1305::ChaCha20Poly1305 {
        use chacha20poly1305::KeyInit;
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.secret).expect("any key length");
        mac.update(b"flowcfd sealed secrets v1");
        chacha20poly1305::ChaCha20Poly1305::new(&mac.finalize().into_bytes())
    }

    /// Encrypts a secret for storage (a cluster's SSH key) under the server secret:
    /// ChaCha20-Poly1305 with a key derived from it and a random nonce.
    pub fn seal(&self, plain: &[u8]) -> String {
        use chacha20poly1305::aead::Aead;
        let nonce: [u8; 12] = rand::random();
        let ct = self.seal_cipher().encrypt(&nonce.into(), plain).expect("encryption does not fail");
        let mut all = nonce.to_vec();
        all.extend_from_slice(&ct);
        format!("sealed1:{}", base64::engine::general_purpose::STANDARD.encode(all))
    }

    /// Decrypts what [`Keys::seal`] made with the same server secret.
    pub fn unseal(&self, sealed: &str) -> Result<Vec<u8>, String> {
        use chacha20poly1305::aead::Aead;
        let b64 = sealed.trim().strip_prefix("sealed1:").ok_or("not a sealed value (it starts with sealed1:)")?;
        let all = base64::engine::general_purpose::STANDARD.decode(b64).map_err(|e| format!("sealed value: {e}"))?;
        if all.len() < 12 + 16 {
            return Err("sealed value too short".into());
        }
        let (nonce, ct) = all.split_at(12);
        self.seal_cipher().decrypt(nonce.into(), ct).map_err(|_| {
            "cannot decrypt the sealed value: it was sealed under another server secret, or altered".to_string()
        })
    }

    /// Derives the keys from the server secret.
    pub fn new(secret: &[u8]) -> Keys {
        Keys { secret: secret.to_vec(), enc: EncodingKey::from_secret(secret), dec: DecodingKey::from_secret(secret) }
    }

    /// Loads the secret from configuration, or from `DATA_DIR/secret.key`, creating it once.
    ///
    /// A `secret.key` that exists but cannot be read, or is too short, stops the server:
    /// replacing it would orphan every sealed SSH key and sign everyone out.
    pub fn load(configured: Option<&str>, data_dir: &std::path::Path) -> std::io::Result<Keys> {
        if let Some(s) = configured {
            if s.len() < MIN_SECRET_BYTES {
                return Err(std::io::Error::other(format!(
                    "auth.secret is {} bytes; it must be at least {MIN_SECRET_BYTES} (generate one with `openssl rand -base64 48`)",
                    s.len()
                )));
            }
            return Ok(Keys::new(s.as_bytes()));
        }
        let path = data_dir.join("secret.key");
        let kept = |s: &[u8]| {
            let s = s.trim_ascii();
            if s.len() >= MIN_SECRET_BYTES {
                Ok(Keys::new(s))
            } else {
                Err(std::io::Error::other(format!(
                    "{} holds {} bytes, fewer than the {MIN_SECRET_BYTES} a secret needs; restore the original \
                     file from a backup (a new secret would orphan every sealed SSH key and sign everyone out), \
                     or delete it to generate a new one",
                    path.display(),
                    s.len()
                )))
            }
        };
        match std::fs::read(&path) {
            Ok(s) => return kept(&s),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(std::io::Error::new(
                    e.kind(),
                    format!(
                        "{} exists but cannot be read ({e}); give the server's user read access to it \
                         (it is not replaced: a new secret would orphan every sealed SSH key)",
                        path.display()
                    ),
                ))
            }
        }
        crate::config::private::create_dir_all(data_dir)?;
        // Written whole under another name, then linked into place: a crash never leaves a
        // short secret.key, and of two processes starting at once the second uses the first's.
        let s = random_b64(48);
        let tmp = data_dir.join(format!("secret.key.{}", random_b64(6)));
        let mut f = crate::config::private::create_new_file(&tmp)?;
        let linked = std::io::Write::write_all(&mut f, s.as_bytes())
            .and_then(|()| f.sync_all())
            .and_then(|()| std::fs::hard_link(&tmp, &path));
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => Ok(Keys::new(s.as_bytes())),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => kept(&std::fs::read(&path)?),
            Err(e) => Err(e),
        }
    }

    /// Signs an access token for `user_id`, valid `ttl_s` seconds.
    pub fn access_token(&self, user_id: &str, ttl_s: u64) -> String {
        let now_ms = crate::store::now_ms();
        let now = now_ms / 1000;
        let c =
            Claims { sub: user_id.into(), iat: now, exp: now + ttl_s as i64, typ: "access".into(), iat_ms: Some(now_ms) };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &c, &self.enc).expect("HS256 signing cannot fail")
    }

    /// Checks an access token's signature, algorithm and expiry.
    pub fn verify_access(&self, token: &str) -> Result<Claims, TokenError> {
        let mut v = Validation::new(Algorithm::HS256);
        v.leeway = 5;
        v.set_required_spec_claims(&["exp", "sub"]);
        match jsonwebtoken::decode::<Claims>(token, &self.dec, &v) {
            Ok(d) if d.claims.typ == "access" => Ok(d.claims),
            Ok(_) => Err(TokenError::Invalid),
            Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::ExpiredSignature) => Err(TokenError::Expired),
            Err(_) => Err(TokenError::Invalid),
        }
    }

    /// An HMAC-SHA256 of `msg` under the server secret, URL-safe base64.
    pub fn mac(&self, purpose: &str, msg: &str) -> String {
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&self.secret).expect("HMAC takes any key length");
        m.update(purpose.as_bytes());
        m.update(&[0]);
        m.update(msg.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(m.finalize().into_bytes())
    }

    /// The CSRF token that goes with a browser session.
    pub fn csrf_token(&self, session_token: &str) -> String {
        self.mac("csrf", session_token)
    }

    /// Constant-time check of a CSRF token.
    pub fn csrf_ok(&self, session_token: &str, given: &str) -> bool {
        constant_time_eq(self.csrf_token(session_token).as_bytes(), given.as_bytes())
    }

    /// Signs a short-lived value (OAuth state) as `value.mac`.
    pub fn sign(&self, purpose: &str, value: &str) -> String {
        format!("{value}.{}", self.mac(purpose, value))
    }

    /// Returns the value of a string made by [`Keys::sign`] if the signature holds.
    pub fn unsign(&self, purpose: &str, signed: &str) -> Option<String> {
        let (value, mac) = signed.rsplit_once('.')?;
        constant_time_eq(self.mac(purpose, value).as_bytes(), mac.as_bytes()).then(|| value.to_string())
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `n` random bytes as URL-safe base64.
pub fn random_b64(n: usize) -> String {
    let mut buf = vec![0u8; n];
    rand::Rng::fill(&mut rand::rng(), &mut buf[..]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// A new opaque token (refresh, session or API token with its prefix).
pub fn new_token(prefix: &str) -> String {
    format!("{prefix}{}", random_b64(32))
}

/// What is stored instead of a token.
pub fn token_hash(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

/// SHA-256 as lowercase hex.
pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

/// Hashes a password with argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> String {
    let mut salt = [0u8; 16];
    rand::Rng::fill(&mut rand::rng(), &mut salt[..]);
    let salt = SaltString::encode_b64(&salt).expect("16 bytes is a valid salt");
    Argon2::default().hash_password(password.as_bytes(), &salt).expect("argon2 hashing").to_string()
}

/// Checks a password against a stored PHC hash.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A password the server accepts, or what is wrong with it.
pub fn check_password(password: &str, email: &str) -> Result<(), String> {
    const COMMON: &[&str] = &[
        "password",
        "password1",
        "password123",
        "1234567890",
        "12345678",
        "123456789",
        "qwertyuiop",
        "letmein",
        "iloveyou",
        "welcome123",
        "adminadmin",
        "changeme",
        "openfoam",
        "flowcfd",
    ];
    let n = password.chars().count();
    if n < 10 {
        return Err(format!("the password has {n} characters; use at least 10"));
    }
    if n > 256 {
        return Err("the password is longer than 256 characters".into());
    }
    let lower = password.to_lowercase();
    if COMMON.iter().any(|c| lower == *c || lower.starts_with(c) && lower.len() < c.len() + 3) {
        return Err("the password is too common; choose one that is not a well-known password".into());
    }
    let distinct: std::collections::HashSet<char> = password.chars().collect();
    if distinct.len() < 5 {
        return Err("the password repeats too few characters; use at least 5 different ones".into());
    }
    let local = email.split('@').next().unwrap_or("").to_lowercase();
    if local.len() >= 4 && lower.contains(&local) {
        return Err("the password contains your email name; choose one that does not".into());
    }
    Ok(())
}

/// A plausible email address (one `@`, a dot in the domain, no spaces), lower-cased.
pub fn normalise_email(email: &str) -> Result<String, String> {
    let e = email.trim().to_lowercase();
    let ok = e.len() <= 254
        && e.split('@').count() == 2
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
        && e.split('@').nth(1).is_some_and(|d| d.contains('.') && !d.starts_with('.') && !d.ends_with('.'))
        && !e.starts_with('@');
    if ok {
        Ok(e)
    } else {
        Err(format!("{email:?} is not an email address (expected name@example.org)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_round_trip_and_weak_ones_are_refused() {
        let h = hash_password("correct horse battery");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&h, "correct horse battery"));
        assert!(!verify_password(&h, "correct horse batterz"));
        assert!(!verify_password("not a hash", "x"));
        assert!(check_password("short", "a@b.c").unwrap_err().contains("at least 10"));
        assert!(check_password("password123", "a@b.c").unwrap_err().contains("common"));
        assert!(check_password("aaaaaaaaaaaa", "a@b.c").unwrap_err().contains("different"));
        assert!(check_password("xyz-alice-2024!", "alice@b.org").unwrap_err().contains("email"));
        assert!(check_password("tunnel-vortex-42", "alice@b.org").is_ok());
    }

    #[test]
    fn access_tokens_expire_and_reject_forgery() {
        let k = Keys::new(b"0123456789abcdef0123456789abcdef");
        let t = k.access_token("u1", 60);
        assert_eq!(k.verify_access(&t).unwrap().sub, "u1");
        let other = Keys::new(b"another secret of enough length!!");
        assert_eq!(other.verify_access(&t).unwrap_err(), TokenError::Invalid);
        // Expired: issued with a lifetime in the past.
        let now = crate::store::now_ms() / 1000;
        let c = Claims { sub: "u1".into(), iat: now - 100, exp: now - 60, typ: "access".into(), iat_ms: None };
        let old = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &c, &k.enc).unwrap();
        assert_eq!(k.verify_access(&old).unwrap_err(), TokenError::Expired);
        // alg=none and garbage.
        assert_eq!(k.verify_access("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1MSJ9.").unwrap_err(), TokenError::Invalid);
        assert_eq!(k.verify_access("garbage").unwrap_err(), TokenError::Invalid);
    }

    #[test]
    fn csrf_and_signed_values() {
        let k = Keys::new(b"0123456789abcdef0123456789abcdef");
        let t = k.csrf_token("sess");
        assert!(k.csrf_ok("sess", &t));
        assert!(!k.csrf_ok("other", &t));
        let s = k.sign("state", "abc.def");
        assert_eq!(k.unsign("state", &s).as_deref(), Some("abc.def"));
        assert_eq!(k.unsign("nonce", &s), None);
        assert_eq!(k.unsign("state", "abc.def.xyz"), None);
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = new_token(API_TOKEN_PREFIX);
        assert!(a.starts_with("fcfd_") && a.len() > 40);
        assert_ne!(a, new_token(API_TOKEN_PREFIX));
        assert_eq!(token_hash("abc").len(), 64);
        assert_eq!(normalise_email(" Alice@Example.ORG ").unwrap(), "alice@example.org");
        assert!(normalise_email("alice").is_err());
        assert!(normalise_email("a b@c.d").is_err());
    }
}
