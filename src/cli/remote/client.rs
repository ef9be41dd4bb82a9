//! The saved login and the HTTP client of `flowcfd remote`: where the server is, the bearer
//! token (refreshed once on a 401 when a refresh token was saved), problem+json answers as
//! `<detail> (HTTP <status>)`, and an unreachable server named by its URL.
use anyhow::{anyhow, bail, Context};
use reqwest::{RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

/// What `remote login` saves.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Saved {
    /// The server's base URL, without a trailing slash.
    pub url: String,
    /// An access token (password login) or an API token (`fcfd_…`).
    pub token: String,
    /// Renews `token` when it expires (password login only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// `$XDG_CONFIG_HOME/flowcfd/remote.toml`, else `~/.config/flowcfd/remote.toml`.
pub fn saved_path() -> anyhow::Result<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(x) => PathBuf::from(x),
        None => PathBuf::from(
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .ok_or_else(|| anyhow!("neither XDG_CONFIG_HOME nor HOME is set"))?,
        )
        .join(".config"),
    };
    Ok(base.join("flowcfd").join("remote.toml"))
}

impl Saved {
    /// The saved login, if there is one.
    pub fn load() -> anyhow::Result<Option<Saved>> {
        let path = saved_path()?;
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some(
                toml::from_str(&text).with_context(|| format!("{} is damaged; sign in again", path.display()))?,
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(anyhow!("{}: {e}", path.display())),
        }
    }

    /// Writes the login, owner-only (0600) from its creation: a new file beside the old
    /// one, renamed over it.
    pub fn store(&self) -> anyhow::Result<PathBuf> {
        use std::io::Write;
        let path = saved_path()?;
        let dir = path.parent().expect("a file in a directory");
        flowcfd::config::private::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let tmp = dir.join(format!(".remote.toml.{}", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        let written = (|| {
            let mut f = flowcfd::config::private::create_new_file(&tmp)?;
            f.write_all(toml::to_string(self).map_err(std::io::Error::other)?.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            bail!("saving the login in {}: {e}", path.display());
        }
        Ok(path)
    }
}

/// A server's base URL: `http(s)://host[:port][/prefix]`, without the trailing slash.
pub fn normalise_url(url: &str) -> anyhow::Result<String> {
    let u = url.trim().trim_end_matches('/');
    let parsed =
        url::Url::parse(u).map_err(|e| anyhow!("{url:?} is not a URL ({e}); give e.g. https://cfd.example.com"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        bail!("{url:?}: give the server's http:// or https:// address, e.g. https://cfd.example.com");
    }
    Ok(u.to_string())
}

/// The bearer token in use, and how to renew it.
struct Auth {
    token: String,
    refresh_token: Option<String>,
    /// Where a renewed token is saved (None: it came from the environment).
    persist: bool,
}

/// An authenticated connection to one FlowCFD server.
pub struct Client {
    pub base: String,
    http: reqwest::Client,
    auth: Mutex<Auth>,
}

/// An HTTP client with the timeouts a terminal user expects (no total: downloads are long).
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(15))
        .user_agent(concat!("flowcfd-remote/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("HTTP client")
}

impl Client {
    /// A client for `url` with `token` (not saved, not renewed).
    pub fn new(url: &str, token: &str) -> anyhow::Result<Client> {
        Ok(Client {
            base: normalise_url(url)?,
            http: http(),
            auth: Mutex::new(Auth { token: token.to_string(), refresh_token: None, persist: false }),
        })
    }

    /// FLOWCFD_URL and FLOWCFD_TOKEN first, then the saved login. A saved token is only
    /// sent to the server it was issued by.
    pub fn from_env_or_saved() -> anyhow::Result<Client> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let saved = Saved::load()?;
        let url = match (env("FLOWCFD_URL"), &saved) {
            (Some(u), _) => normalise_url(&u)?,
            (None, Some(s)) => s.url.clone(),
            (None, None) => {
                bail!("not signed in: run `flowcfd remote login URL`, or set FLOWCFD_URL and FLOWCFD_TOKEN")
            }
        };
        if let Some(t) = env("FLOWCFD_TOKEN") {
            return Client::new(&url, t.trim());
        }
        match saved {
            Some(s) if s.url == url => Ok(Client {
                base: url,
                http: http(),
                auth: Mutex::new(Auth { token: s.token, refresh_token: s.refresh_token, persist: true }),
            }),
            Some(s) => bail!(
                "the saved login is for {}, not FLOWCFD_URL={url}: set FLOWCFD_TOKEN too, or run `flowcfd remote login {url}`",
                s.url
            ),
            None => bail!("no token for {url}: set FLOWCFD_TOKEN or run `flowcfd remote login {url}`"),
        }
    }

    /// The bearer token now in use.
    pub fn token(&self) -> String {
        self.auth.lock().unwrap_or_else(|p| p.into_inner()).token.clone()
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request built by `build` (called again for the retry after a token
    /// renewal) and returns a successful response; an error answer becomes its detail.
    pub async fn send(
        &self,
        build: impl Fn(&reqwest::Client) -> anyhow::Result<RequestBuilder>,
    ) -> anyhow::Result<Response> {
        let r = self.send_once(&build).await?;
        if r.status() == StatusCode::UNAUTHORIZED && self.refresh().await? {
            return check(self.send_once(&build).await?).await;
        }
        check(r).await
    }

    async fn send_once(
        &self,
        build: &impl Fn(&reqwest::Client) -> anyhow::Result<RequestBuilder>,
    ) -> anyhow::Result<Response> {
        let req = build(&self.http)?.bearer_auth(self.token());
        req.send().await.map_err(|e| unreachable(&self.base, &e))
    }

    /// Renews the access token with the saved refresh token; false when there is none.
    pub async fn refresh(&self) -> anyhow::Result<bool> {
        let Some(rt) = self.auth.lock().unwrap_or_else(|p| p.into_inner()).refresh_token.clone() else {
            return Ok(false);
        };
        let r = self
            .http
            .post(self.url("/api/auth/refresh"))
            .json(&json!({"refresh_token": rt}))
            .send()
            .await
            .map_err(|e| unreachable(&self.base, &e))?;
        if r.status() == StatusCode::UNAUTHORIZED {
            bail!("the saved login for {} has expired: run `flowcfd remote login {}`", self.base, self.base);
        }
        let t: Value = check(r).await?.json().await.context("the refresh answer is not JSON")?;
        let (Some(token), Some(refresh)) = (t["token"].as_str(), t["refresh_token"].as_str()) else {
            bail!("the server's refresh answer has no token");
        };
        let mut a = self.auth.lock().unwrap_or_else(|p| p.into_inner());
        a.token = token.to_string();
        a.refresh_token = Some(refresh.to_string());
        if a.persist {
            Saved { url: self.base.clone(), token: a.token.clone(), refresh_token: a.refresh_token.clone() }.store()?;
        }
        Ok(true)
    }

    /// GET `path` as JSON.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let url = self.url(path);
        let r = self.send(|h| Ok(h.get(&url))).await?;
        r.json().await.with_context(|| format!("GET {path}: the answer is not the JSON expected"))
    }

    /// POST `body` to `path`; the answer as JSON.
    pub async fn post<T: DeserializeOwned>(&self, path: &str, body: &Value) -> anyhow::Result<T> {
        let url = self.url(path);
        let r = self.send(|h| Ok(h.post(&url).json(body))).await?;
        r.json().await.with_context(|| format!("POST {path}: the answer is not the JSON expected"))
    }
}

/// A transport error as a message that names the server.
pub fn unreachable(base: &str, e: &reqwest::Error) -> anyhow::Error {
    let mut why = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        why = s.to_string();
        src = s.source();
    }
    anyhow!("cannot reach the FlowCFD server at {base}: {why}")
}

/// A response with an error status as `<detail> (HTTP <status>)`.
pub async fn check(r: Response) -> anyhow::Result<Response> {
    let status = r.status();
    if status.is_success() {
        return Ok(r);
    }
    let text = r.text().await.unwrap_or_default();
    let detail = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v["detail"].as_str().map(String::from))
        .unwrap_or_else(|| text.chars().take(300).collect::<String>().trim().to_string());
    let detail = if detail.is_empty() { status.canonical_reason().unwrap_or("error").to_string() } else { detail };
    Err(anyhow!("{detail} (HTTP {})", status.as_u16()))
}
