//! Sign-in with OAuth 2.0 (GitHub) and OpenID Connect (Google, or any issuer with
//! discovery: Keycloak, Azure AD, a university's Shibboleth OIDC).
//!
//! Authorization-code flow with PKCE. The state, nonce and PKCE verifier travel in a
//! signed, short-lived cookie, so no server-side state is needed between the redirect and
//! the callback (any replica can finish the login). ID tokens are verified against the
//! issuer's JWKS: signature, issuer, audience, expiry and nonce.
use super::{random_b64, Keys};
use crate::config::ProviderConfig;
use base64::Engine;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// Cookie that carries the login attempt between redirect and callback.
pub const STATE_COOKIE: &str = "flowcfd_oauth";
const STATE_TTL_S: i64 = 600;

/// Why a sign-in failed; the message is shown to the user.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the sign-in attempt expired or came from another browser; start again")]
    BadState,
    #[error("the identity provider refused: {0}")]
    Provider(String),
    #[error("cannot reach the identity provider: {0}")]
    Unreachable(String),
    #[error("the identity provider's answer is not valid: {0}")]
    BadToken(String),
}

/// Who the provider says signed in.
#[derive(Debug, Clone)]
pub struct Identity {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    userinfo_endpoint: Option<String>,
}

/// One configured provider, with its endpoints resolved.
#[derive(Debug, Clone)]
pub struct Provider {
    pub cfg: ProviderConfig,
    discovery: Option<Discovery>,
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(15))
        .user_agent("FlowCFD")
        .build()
        .expect("HTTP client")
}

impl Provider {
    /// Resolves the provider's endpoints (discovery for OpenID Connect).
    pub async fn resolve(cfg: &ProviderConfig) -> Result<Provider, OidcError> {
        let issuer = match cfg.kind.as_str() {
            "google" => Some(cfg.issuer.clone().unwrap_or_else(|| "https://accounts.google.com".into())),
            "oidc" => cfg.issuer.clone(),
            _ => None,
        };
        let discovery = match issuer {
            Some(iss) => {
                let url = format!("{}/.well-known/openid-configuration", iss.trim_end_matches('/'));
                let r = http().get(&url).send().await.map_err(|e| OidcError::Unreachable(e.to_string()))?;
                if !r.status().is_success() {
                    return Err(OidcError::Provider(format!("{url} answered {}", r.status())));
                }
                Some(r.json::<Discovery>().await.map_err(|e| OidcError::BadToken(format!("discovery: {e}")))?)
            }
            None => None,
        };
        Ok(Provider { cfg: cfg.clone(), discovery })
    }

    fn authorize_url(&self) -> String {
        self.cfg.authorize_url.clone().unwrap_or_else(|| match &self.discovery {
            Some(d) => d.authorization_endpoint.clone(),
            None => "https://github.com/login/oauth/authorize".into(),
        })
    }

    fn token_url(&self) -> String {
        self.cfg.token_url.clone().unwrap_or_else(|| match &self.discovery {
            Some(d) => d.token_endpoint.clone(),
            None => "https://github.com/login/oauth/access_token".into(),
        })
    }

    fn userinfo_url(&self) -> Option<String> {
        self.cfg.userinfo_url.clone().or_else(|| match &self.discovery {
            Some(d) => d.userinfo_endpoint.clone(),
            None => Some("https://api.github.com/user".into()),
        })
    }

    /// The URL to send the browser to, and the signed cookie value to set.
    pub fn begin(&self, keys: &Keys, redirect_uri: &str) -> (String, String) {
        let state = random_b64(18);
        let nonce = random_b64(18);
        let verifier = random_b64(32);
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let expires = crate::store::now_ms() / 1000 + STATE_TTL_S;
        let cookie = keys.sign("oauth", &format!("{}|{state}|{nonce}|{verifier}|{expires}", self.cfg.name));
        let scope = if self.discovery.is_some() { "openid email profile" } else { "read:user user:email" };
        let mut url = url::Url::parse(&self.authorize_url()).expect("authorize URL");
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.cfg.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", scope)
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        (url.to_string(), cookie)
    }

    /// Finishes the flow: checks the state, trades the code, verifies who signed in.
    pub async fn finish(
        &self,
        keys: &Keys,
        cookie: Option<&str>,
        state: &str,
        code: &str,
        redirect_uri: &str,
    ) -> Result<Identity, OidcError> {
        let raw = cookie.and_then(|c| keys.unsign("oauth", c)).ok_or(OidcError::BadState)?;
        let parts: Vec<&str> = raw.split('|').collect();
        let [name, want_state, nonce, verifier, expires] = parts[..] else { return Err(OidcError::BadState) };
        let expired = expires.parse::<i64>().map_or(true, |e| e < crate::store::now_ms() / 1000);
        if name != self.cfg.name || want_state != state || expired {
            return Err(OidcError::BadState);
        }
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("client_id", self.cfg.client_id.as_str()),
            ("code_verifier", verifier),
        ];
        if let Some(s) = &self.cfg.client_secret {
            form.push(("client_secret", s.as_str()));
        }
        let r = http()
            .post(self.token_url())
            .header("Accept", "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|e| OidcError::Unreachable(e.to_string()))?;
        let status = r.status();
        let body: serde_json::Value =
            r.json().await.map_err(|e| OidcError::BadToken(format!("token response: {e}")))?;
        if !status.is_success() || body.get("error").is_some() {
            let msg = body.get("error_description").or(body.get("error")).and_then(|v| v.as_str()).unwrap_or("");
            return Err(OidcError::Provider(format!("token endpoint answered {status}: {msg}")));
        }
        match &self.discovery {
            Some(d) => {
                let id_token = body
                    .get("id_token")
                    .and_then(|v| v.as_str())
                    .ok_or_else(|| OidcError::BadToken("no id_token in the token response".into()))?;
                self.verify_id_token(d, id_token, nonce).await
            }
            None => {
                let access = body
                    .get("access_token")
                    .and_then(|v| v.as_str())
                    .ok_or_else(|| OidcError::BadToken("no access_token in the token response".into()))?;
                self.github_user(access).await
            }
        }
    }

    async fn verify_id_token(&self, d: &Discovery, token: &str, nonce: &str) -> Result<Identity, OidcError> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| OidcError::BadToken(e.to_string()))?;
        let jwks: jsonwebtoken::jwk::JwkSet = http()
            .get(&d.jwks_uri)
            .send()
            .await
            .map_err(|e| OidcError::Unreachable(e.to_string()))?
            .json()
            .await
            .map_err(|e| OidcError::BadToken(format!("JWKS: {e}")))?;
        let jwk = match &header.kid {
            Some(kid) => jwks.find(kid),
            None => jwks.keys.first(),
        }
        .ok_or_else(|| OidcError::BadToken("the ID token's key is not in the provider's JWKS".into()))?;
        let key = jsonwebtoken::DecodingKey::from_jwk(jwk).map_err(|e| OidcError::BadToken(e.to_string()))?;
        if matches!(
            header.alg,
            jsonwebtoken::Algorithm::HS256 | jsonwebtoken::Algorithm::HS384 | jsonwebtoken::Algorithm::HS512
        ) {
            return Err(OidcError::BadToken("symmetric ID-token signatures are not accepted".into()));
        }
        let mut v = jsonwebtoken::Validation::new(header.alg);
        v.set_audience(&[&self.cfg.client_id]);
        v.set_issuer(&[&d.issuer]);
        v.leeway = 30;
        let claims = jsonwebtoken::decode::<serde_json::Value>(token, &key, &v)
            .map_err(|e| OidcError::BadToken(format!("ID token: {e}")))?
            .claims;
        if claims.get("nonce").and_then(|n| n.as_str()) != Some(nonce) {
            return Err(OidcError::BadToken("the ID token's nonce does not match this sign-in".into()));
        }
        let s = |k: &str| claims.get(k).and_then(|v| v.as_str()).map(str::to_string);
        Ok(Identity {
            subject: s("sub").ok_or_else(|| OidcError::BadToken("the ID token has no subject".into()))?,
            email: s("email"),
            email_verified: claims.get("email_verified").and_then(|v| v.as_bool()).unwrap_or(false),
            name: s("name").or_else(|| s("preferred_username")),
        })
    }

    async fn github_user(&self, access: &str) -> Result<Identity, OidcError> {
        let url = self.userinfo_url().expect("GitHub has a user endpoint");
        let u: serde_json::Value = http()
            .get(&url)
            .bearer_auth(access)
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|e| OidcError::Unreachable(e.to_string()))?
            .json()
            .await
            .map_err(|e| OidcError::BadToken(format!("user endpoint: {e}")))?;
        let subject = match u.get("id").or(u.get("sub")) {
            Some(serde_json::Value::Number(n)) => n.to_string(),
            Some(serde_json::Value::String(s)) => s.clone(),
            _ => return Err(OidcError::BadToken("the user endpoint gave no id".into())),
        };
        let s = |k: &str| u.get(k).and_then(|v| v.as_str()).map(str::to_string);
        Ok(Identity {
            subject,
            email: s("email"),
            // GitHub only shows a public email here; it is not proof of ownership.
            email_verified: false,
            name: s("name").or_else(|| s("login")),
        })
    }
}
