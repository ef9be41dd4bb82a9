//! Outbound webhooks per project: a URL and a secret that receive `job.completed`,
//! `job.failed` and `geometry.ready` as signed JSON POSTs.
//!
//! The signature is Stripe's scheme, so that receivers can reuse what they know: the
//! `FlowCFD-Signature` header is `t=UNIX_SECONDS,v1=HEX`, where HEX is the HMAC-SHA256 of
//! `t.BODY` under the webhook's secret (`billing::webhook::sign`). Deliveries go through
//! the `webhook_deliveries` outbox (also the log the project page shows): `serve` claims
//! due ones with a lease, POSTs them without following redirects, and retries failures
//! (no answer, or a status other than 2xx) with doubling back-off until `max_attempts`.
//!
//! Only `http` and `https` URLs are taken, and unless `[webhooks] allow_private` is set,
//! no URL whose host is or resolves to a loopback, private, link-local, shared, multicast
//! or unspecified address: checked when the webhook is saved and again before each
//! delivery, and the connection goes to the address that was checked (a DNS answer that
//! changes in between cannot redirect it).
use super::Caller;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::{new_id, now_ms, Attempt, Delivery, Webhook};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// The events a webhook can receive.
pub const EVENTS: [&str; 3] = ["job.completed", "job.failed", "geometry.ready"];
/// Webhooks one project may have.
pub const MAX_PER_PROJECT: usize = 10;
/// The signature header.
pub const SIGNATURE_HEADER: &str = "FlowCFD-Signature";
const POLL: Duration = Duration::from_secs(1);
const LEASE_MS: i64 = 120_000;

/// What creating a webhook takes.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    pub url: String,
    /// Defaults to every event.
    #[serde(default)]
    pub events: Option<Vec<String>>,
    /// Defaults to a random `whsec_…` secret, shown once.
    #[serde(default)]
    pub secret: Option<String>,
}

/// A webhook as the API shows it, with its secret only right after creation.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WebhookView {
    #[serde(flatten)]
    pub hook: Webhook,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// A delivery as the log shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    #[serde(flatten)]
    pub delivery: Delivery,
    /// `pending`, `delivered` or `failed`.
    pub state: &'static str,
}

/// Why an address may not be a webhook's target, or None when it may.
pub fn forbidden(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            if v4.is_loopback() {
                Some("loopback")
            } else if v4.is_private() {
                Some("private")
            } else if v4.is_link_local() {
                Some("link-local (cloud metadata lives here)")
            } else if a == 100 && (64..128).contains(&b) {
                Some("shared (carrier-grade NAT)")
            } else if v4.is_unspecified() || a == 0 {
                Some("unspecified")
            } else if v4.is_multicast() || v4.is_broadcast() || a >= 240 {
                Some("multicast or reserved")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            if v6.is_loopback() {
                Some("loopback")
            } else if v6.is_unspecified() {
                Some("unspecified")
            } else if first & 0xfe00 == 0xfc00 {
                Some("private (unique local)")
            } else if first & 0xffc0 == 0xfe80 {
                Some("link-local")
            } else if v6.is_multicast() {
                Some("multicast")
            } else {
                None
            }
        }
    }
}

/// Checks a webhook URL's form: http(s), a host, no credentials.
pub fn check_url(raw: &str) -> AppResult<url::Url> {
    let bad = |why: String| AppError::Validation(format!("webhook url {raw:?}: {why}"));
    let u = url::Url::parse(raw.trim()).map_err(|e| bad(format!("{e}; give a full URL such as https://example.com/hooks/flowcfd")))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(bad(format!("the scheme {:?} is not allowed; use https:// (or http://)", u.scheme())));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(bad("it has no host".into()));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(bad("credentials in the URL are not allowed; the signature authenticates FlowCFD".into()));
    }
    if raw.len() > 2000 {
        return Err(bad("it is longer than 2000 characters".into()));
    }
    Ok(u)
}

/// Resolves the URL's host and checks every address; the address to connect to.
pub async fn resolve(u: &url::Url, allow_private: bool) -> Result<SocketAddr, String> {
    let host = u.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_string();
    let port = u.port_or_known_default().unwrap_or(443);
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| format!("cannot resolve {host}: {e}"))?
            .collect(),
    };
    let first = *addrs.first().ok_or_else(|| format!("{host} has no address"))?;
    if !allow_private {
        for a in &addrs {
            if let Some(why) = forbidden(a.ip()) {
                return Err(format!(
                    "{host} is {} address {}; webhooks may only reach public addresses \
                     (an operator can set [webhooks] allow_private = true)",
                    why,
                    a.ip()
                ));
            }
        }
    }
    Ok(first)
}

fn events_of(requested: Option<&[String]>) -> AppResult<Vec<String>> {
    let Some(list) = requested else { return Ok(EVENTS.iter().map(|e| e.to_string()).collect()) };
    if list.is_empty() {
        return Err(AppError::Validation(format!("events: give at least one of {}", EVENTS.join(", "))));
    }
    let mut out: Vec<String> = Vec::new();
    for e in list {
        if !EVENTS.contains(&e.as_str()) {
            return Err(AppError::Validation(format!("event {e:?} is not one of {}", EVENTS.join(", "))));
        }
        if !out.contains(e) {
            out.push(e.clone());
        }
    }
    Ok(out)
}

async fn writable_project(st: &AppState, caller: &Caller, project_id: &str) -> AppResult<()> {
    super::projects::get(st, caller, project_id, true).await.map(|_| ())
}

/// Adds a webhook to a project (editors and up); the view carries the secret, once.
pub async fn create(st: &AppState, caller: &Caller, project_id: &str, req: &NewWebhook) -> AppResult<WebhookView> {
    writable_project(st, caller, project_id).await?;
    let u = check_url(&req.url)?;
    let events = events_of(req.events.as_deref())?;
    resolve(&u, st.cfg.webhooks.allow_private).await.map_err(|e| AppError::Validation(format!("webhook url: {e}")))?;
    let secret = match &req.secret {
        Some(s) if s.len() < 16 || s.len() > 200 || s.chars().any(char::is_control) => {
            return Err(AppError::Validation(
                "secret: 16 to 200 characters with no control characters (or leave it out for a generated one)".into(),
            ))
        }
        Some(s) => s.clone(),
        None => crate::auth::new_token("whsec_"),
    };
    if st.store.webhooks(project_id).await?.len() >= MAX_PER_PROJECT {
        return Err(AppError::Conflict(format!("a project has at most {MAX_PER_PROJECT} webhooks; delete one first")));
    }
    let hook = Webhook {
        id: new_id(),
        project_id: project_id.to_string(),
        url: u.to_string(),
        events,
        secret_sealed: st.keys.seal(secret.as_bytes()),
        created_by: Some(caller.id().to_string()),
        created_at: now_ms(),
    };
    st.store.create_webhook(&hook).await?;
    let detail = json!({"project": project_id, "url": hook.url}).to_string();
    st.store.audit(Some(caller.id()), "webhook.create", Some(&hook.id), &detail, None).await?;
    Ok(WebhookView { hook, secret: Some(secret) })
}

/// A project's webhooks (editors and up: viewers do not see where events go).
pub async fn list(st: &AppState, caller: &Caller, project_id: &str) -> AppResult<Vec<WebhookView>> {
    writable_project(st, caller, project_id).await?;
    Ok(st.store.webhooks(project_id).await?.into_iter().map(|hook| WebhookView { hook, secret: None }).collect())
}

async fn hook(st: &AppState, caller: &Caller, project_id: &str, id: &str) -> AppResult<Webhook> {
    writable_project(st, caller, project_id).await?;
    st.store.webhooks(project_id).await?.into_iter().find(|h| h.id == id).ok_or(AppError::NotFound("webhook"))
}

/// Deletes a webhook and its delivery log.
pub async fn delete(st: &AppState, caller: &Caller, project_id: &str, id: &str) -> AppResult<()> {
    hook(st, caller, project_id, id).await?;
    st.store.delete_webhook(project_id, id).await?;
    st.store.audit(Some(caller.id()), "webhook.delete", Some(id), &json!({"project": project_id}).to_string(), None).await?;
    Ok(())
}

/// A webhook's latest 50 deliveries, newest first.
pub async fn deliveries(st: &AppState, caller: &Caller, project_id: &str, id: &str) -> AppResult<Vec<DeliveryView>> {
    hook(st, caller, project_id, id).await?;
    let list = st.store.deliveries(id, 50).await?;
    Ok(list.into_iter().map(|d| DeliveryView { state: d.state(), delivery: d }).collect())
}

/// Queues a `ping` event to a webhook, to try the receiver.
pub async fn ping(st: &AppState, caller: &Caller, project_id: &str, id: &str) -> AppResult<DeliveryView> {
    let h = hook(st, caller, project_id, id).await?;
    let d = delivery(&h.id, "ping", json!({"project": {"id": project_id}, "webhook": {"id": h.id}}));
    st.store.add_delivery(&d).await?;
    Ok(DeliveryView { state: d.state(), delivery: d })
}

/// A new delivery of `event` with `data`, due now. The body is the event envelope
/// `{"id", "type", "created", "data"}` (like Stripe's).
pub fn delivery(webhook_id: &str, event: &str, data: Value) -> Delivery {
    let now = now_ms();
    let id = new_id();
    let payload = json!({"id": format!("evt_{id}"), "type": event, "created": now / 1000, "data": data}).to_string();
    Delivery {
        id,
        webhook_id: webhook_id.to_string(),
        event: event.to_string(),
        payload,
        attempts: 0,
        next_at: now,
        delivered_at: None,
        failed_at: None,
        response_status: None,
        last_error: None,
        created_at: now,
    }
}

/// Starts the sender (`serve` runs it, on every replica: claims keep them apart).
pub fn spawn(st: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = send_due(&st).await {
                tracing::warn!(error = %e, "webhook deliveries");
            }
        }
    })
}

/// One round: claims due deliveries and attempts each; how many were delivered.
pub async fn send_due(st: &AppState) -> Result<usize, String> {
    let claimed = st.store.claim_deliveries(now_ms(), LEASE_MS, 20).await.map_err(|e| e.to_string())?;
    let mut delivered = 0;
    for (d, hook) in claimed {
        let (status, result) = attempt(st, &hook, &d).await;
        let cfg = &st.cfg.webhooks;
        let outcome = match result {
            Ok(()) => {
                delivered += 1;
                Attempt::Delivered { status: status.unwrap_or(200) }
            }
            Err(error) if d.attempts >= cfg.max_attempts => Attempt::GaveUp { status, error },
            Err(error) => {
                Attempt::Retry { next_at: now_ms() + super::mail::backoff_ms(cfg.retry_base_s, d.attempts), status, error }
            }
        };
        tracing::info!(webhook = %hook.id, delivery = %d.id, event = %d.event, attempt = d.attempts, outcome = ?outcome, "webhook delivery");
        st.store.delivery_attempted(&d.id, now_ms(), &outcome).await.map_err(|e| e.to_string())?;
    }
    Ok(delivered)
}

/// POSTs one delivery: the receiver's status (if it answered) and whether it took it.
async fn attempt(st: &AppState, hook: &Webhook, d: &Delivery) -> (Option<i64>, Result<(), String>) {
    let cfg = &st.cfg.webhooks;
    let target = async {
        let u = check_url(&hook.url).map_err(|e| e.to_string())?;
        let addr = resolve(&u, cfg.allow_private).await?;
        let secret = st.keys.unseal(&hook.secret_sealed).map_err(|e| format!("the secret cannot be read: {e}"))?;
        Ok::<_, String>((u, addr, String::from_utf8_lossy(&secret).into_owned()))
    };
    let (u, addr, secret) = match target.await {
        Ok(t) => t,
        Err(e) => return (None, Err(e)),
    };
    let host = u.host_str().unwrap_or_default().to_string();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(cfg.timeout_s))
        .resolve(&host, addr)
        .user_agent(concat!("FlowCFD-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build();
    let client = match client {
        Ok(c) => c,
        Err(e) => return (None, Err(format!("HTTP client: {e}"))),
    };
    let t = now_ms() / 1000;
    let sent = client
        .post(u)
        .header("content-type", "application/json")
        .header(SIGNATURE_HEADER, crate::billing::webhook::sign(d.payload.as_bytes(), &secret, t))
        .header("FlowCFD-Event", d.event.as_str())
        .header("FlowCFD-Delivery", d.id.as_str())
        .body(d.payload.clone())
        .send()
        .await;
    match sent {
        Ok(r) if r.status().is_success() => (Some(r.status().as_u16() as i64), Ok(())),
        Ok(r) => {
            let code = r.status().as_u16() as i64;
            let body: String = r.text().await.unwrap_or_default().chars().take(200).collect();
            (Some(code), Err(format!("the receiver answered HTTP {code} (2xx expected): {body}")))
        }
        Err(e) => (None, Err(format!("POST {}: {e}", hook.url))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_loopback_and_metadata_addresses_are_refused() {
        for a in ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "::1", "fd00::1", "fe80::1", "::ffff:127.0.0.1", "224.0.0.1"] {
            assert!(forbidden(a.parse().unwrap()).is_some(), "{a}");
        }
        for a in ["93.184.216.34", "8.8.8.8", "2606:2800:220:1::1", "172.32.0.1"] {
            assert!(forbidden(a.parse().unwrap()).is_none(), "{a}");
        }
    }

    #[test]
    fn only_http_urls_with_a_host_and_no_credentials() {
        assert!(check_url("https://example.com/hook").is_ok());
        for (bad, says) in [
            ("ftp://example.com/x", "scheme"),
            ("file:///etc/passwd", "scheme"),
            ("https://user:pw@example.com/", "credentials"),
            ("example.com/hook", "full URL"),
        ] {
            let e = check_url(bad).unwrap_err().to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn events_default_to_all_and_are_checked() {
        assert_eq!(events_of(None).unwrap().len(), 3);
        assert_eq!(events_of(Some(&["job.failed".into(), "job.failed".into()])).unwrap(), vec!["job.failed"]);
        assert!(events_of(Some(&["job.started".into()])).is_err());
        assert!(events_of(Some(&[])).is_err());
    }
}
