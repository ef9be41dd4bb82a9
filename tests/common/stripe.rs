//! Stripe for the billing tests. localstripe (a stateful fake Stripe from PyPI that
//! `.ci/test` starts and names in FLOWCFD_TEST_LOCALSTRIPE) keeps customers,
//! subscriptions and invoice items; what it lacks (Checkout and Customer Portal sessions)
//! is answered by a stub in front of it, which checks those requests as Stripe's API
//! reference documents them and passes every other request on to localstripe. Every
//! request is recorded, so tests can count what the server sent.
#![allow(dead_code)]

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

/// The secret key the servers under test use.
pub const SECRET_KEY: &str = "sk_test_flowcfd";
/// The webhook signing secret.
pub const WHSEC: &str = "whsec_flowcfd_test";

/// localstripe's URL; `None` (and a loud notice) when the variable is unset.
pub fn localstripe() -> Option<String> {
    match std::env::var("FLOWCFD_TEST_LOCALSTRIPE") {
        Ok(u) if !u.is_empty() => Some(u.trim_end_matches('/').to_string()),
        _ => {
            eprintln!(
                "\n********************************************************************************\n\
                 SKIPPED: FLOWCFD_TEST_LOCALSTRIPE is not set, so the Stripe tests did not run.\n\
                 .ci/test installs localstripe (PyPI localstripe==1.15.6) and sets it; by hand:\n\
                 localstripe --port PORT --from-scratch & FLOWCFD_TEST_LOCALSTRIPE=http://127.0.0.1:PORT\n\
                 ********************************************************************************\n"
            );
            None
        }
    }
}

/// One request the stub received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
    pub idempotency_key: Option<String>,
    pub content_type: Option<String>,
    /// The form-encoded body, decoded, in order.
    pub form: Vec<(String, String)>,
}

impl Seen {
    /// The value of form field `k`.
    pub fn get(&self, k: &str) -> Option<&str> {
        self.form.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str())
    }
}

#[derive(Clone)]
struct Stub {
    upstream: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    http: reqwest::Client,
}

/// The stub in front of localstripe.
pub struct Peer {
    /// What the server under test uses as `billing.stripe.api_base`.
    pub url: String,
    pub localstripe: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    http: reqwest::Client,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Peer {
    /// Starts the stub on a loopback port, in front of `localstripe`.
    pub async fn start(localstripe: &str) -> Peer {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let http = reqwest::Client::new();
        let stub = Stub { upstream: localstripe.to_string(), seen: seen.clone(), http: http.clone() };
        let app = axum::Router::new().fallback(handle).with_state(stub);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Peer { url, localstripe: localstripe.to_string(), seen, http, task }
    }

    /// The requests seen for `method` and `path`, in order.
    pub fn seen(&self, method: &str, path: &str) -> Vec<Seen> {
        self.seen.lock().unwrap().iter().filter(|s| s.method == method && s.path == path).cloned().collect()
    }

    /// A call straight to localstripe (as the test, not the server); the JSON answer.
    pub async fn ls(&self, method: Method, path: &str, form: &[(&str, &str)]) -> Value {
        let r = self
            .http
            .request(method.clone(), format!("{}{path}", self.localstripe))
            .basic_auth(SECRET_KEY, Some(""))
            .form(form)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let v: Value = r.json().await.unwrap();
        assert!(status.is_success(), "localstripe {method} {path}: {status} {v}");
        v
    }

    /// A monthly price (a plan, in localstripe's terms) with the given id.
    pub async fn price(&self, id: &str, cents: i64) {
        let amount = cents.to_string();
        self.ls(
            Method::POST,
            "/v1/plans",
            &[("id", id), ("amount", &amount), ("currency", "usd"), ("interval", "month"), ("product[name]", id)],
        )
        .await;
    }

    /// What Checkout does once the customer has paid: a card on file and a subscription
    /// to `price`. The subscription object.
    pub async fn subscribe(&self, customer: &str, price: &str, subject: &str) -> Value {
        let card = [
            ("source[object]", "card"),
            ("source[number]", "4242424242424242"),
            ("source[exp_month]", "12"),
            ("source[exp_year]", "2034"),
            ("source[cvc]", "123"),
        ];
        self.ls(Method::POST, &format!("/v1/customers/{customer}/sources"), &card).await;
        self.ls(
            Method::POST,
            "/v1/subscriptions",
            &[("customer", customer), ("items[0][plan]", price), ("metadata[flowcfd_subject]", subject)],
        )
        .await
    }

    /// Has localstripe deliver its subscription events to `url`, signed with [`WHSEC`].
    pub async fn deliver_to(&self, id: &str, url: &str) {
        let r = self
            .http
            .post(format!("{}/_config/webhooks/{id}", self.localstripe))
            .basic_auth(SECRET_KEY, Some(""))
            .json(&json!({"url": url, "secret": WHSEC, "events": [
                "customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted"]}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "register webhook: {}", r.status());
    }
}

/// A Stripe event around `object`, as bytes, and its `Stripe-Signature` signed now.
pub fn event(id: &str, kind: &str, created: i64, object: &Value) -> (Vec<u8>, String) {
    let body = serde_json::to_vec(&json!({
        "id": id, "object": "event", "type": kind, "created": created, "livemode": false,
        "data": {"object": object},
    }))
    .unwrap();
    let sig = flowcfd::billing::webhook::sign(&body, WHSEC, now_s());
    (body, sig)
}

/// Unix seconds.
pub fn now_s() -> i64 {
    flowcfd::store::now_ms() / 1000
}

fn stripe_error(status: StatusCode, message: String) -> Response {
    (status, axum::Json(json!({"error": {"type": "invalid_request_error", "message": message}}))).into_response()
}

/// Checks a request against the parameters Stripe documents for it: the required ones are
/// there, nothing unknown is sent ("Received unknown parameter"), and ids have their
/// prefixes.
fn check_params(form: &[(String, String)], required: &[&str], known: &[&str]) -> Result<(), String> {
    for r in required {
        if !form.iter().any(|(k, _)| k == r) {
            return Err(format!("Missing required param: {r}."));
        }
    }
    for (k, v) in form {
        let fits = known.iter().any(|pat| match pat.strip_suffix("[*]") {
            Some(prefix) => k.starts_with(&format!("{prefix}[")) && k.ends_with(']'),
            None => *pat == k.as_str(),
        });
        if !fits {
            return Err(format!("Received unknown parameter: {k}"));
        }
        if k == "customer" && !v.starts_with("cus_") {
            return Err(format!("No such customer: '{v}'"));
        }
        if k.starts_with("metadata[") && (k.len() - 10 > 40 || v.len() > 500) {
            return Err(format!("metadata key or value too long: {k}"));
        }
    }
    Ok(())
}

async fn handle(State(s): State<Stub>, method: Method, uri: Uri, h: HeaderMap, body: Bytes) -> Response {
    let header = |n: &str| h.get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let seen = Seen {
        method: method.to_string(),
        path: uri.path().to_string(),
        authorization: header("authorization"),
        idempotency_key: header("idempotency-key"),
        content_type: header("content-type"),
        form: if method == Method::POST { form.clone() } else { Vec::new() },
    };
    s.seen.lock().unwrap().push(seen.clone());
    if !seen.authorization.as_deref().is_some_and(|a| a.starts_with("Bearer sk_")) {
        return stripe_error(StatusCode::UNAUTHORIZED, "Invalid API Key provided".into());
    }
    let id = || uuid::Uuid::new_v4().simple().to_string();
    match (method.as_str(), uri.path()) {
        // https://docs.stripe.com/api/checkout/sessions/create
        ("POST", "/v1/checkout/sessions") => {
            let known = [
                "mode",
                "customer",
                "success_url",
                "cancel_url",
                "client_reference_id",
                "line_items[0][price]",
                "line_items[0][quantity]",
                "metadata[*]",
                "subscription_data[metadata][*]",
            ];
            if let Err(m) = check_params(&form, &["mode", "success_url", "line_items[0][price]"], &known) {
                return stripe_error(StatusCode::BAD_REQUEST, m);
            }
            if seen.get("mode") != Some("subscription") && seen.get("mode") != Some("payment") {
                return stripe_error(StatusCode::BAD_REQUEST, "Invalid mode".into());
            }
            let cs = format!("cs_test_{}", id());
            axum::Json(json!({
                "id": cs, "object": "checkout.session", "mode": seen.get("mode"), "customer": seen.get("customer"),
                "client_reference_id": seen.get("client_reference_id"), "status": "open",
                "url": format!("https://checkout.stripe.com/c/pay/{cs}"),
            }))
            .into_response()
        }
        // https://docs.stripe.com/api/customer_portal/sessions/create
        ("POST", "/v1/billing_portal/sessions") => {
            if let Err(m) = check_params(&form, &["customer"], &["customer", "return_url"]) {
                return stripe_error(StatusCode::BAD_REQUEST, m);
            }
            let bps = format!("bps_{}", id());
            axum::Json(json!({
                "id": bps, "object": "billing_portal.session", "customer": seen.get("customer"),
                "return_url": seen.get("return_url"), "url": format!("https://billing.stripe.com/p/session/test_{bps}"),
            }))
            .into_response()
        }
        _ => proxy(&s, method, &uri, &seen, body).await,
    }
}

async fn proxy(s: &Stub, method: Method, uri: &Uri, seen: &Seen, body: Bytes) -> Response {
    let target = format!("{}{}", s.upstream, uri.path_and_query().map_or("/", |p| p.as_str()));
    let mut req = s.http.request(method, target).body(body);
    if let Some(a) = &seen.authorization {
        req = req.header("authorization", a);
    }
    if let Some(c) = &seen.content_type {
        req = req.header("content-type", c);
    }
    if let Some(k) = &seen.idempotency_key {
        req = req.header("idempotency-key", k);
    }
    match req.send().await {
        Ok(r) => {
            let status = StatusCode::from_u16(r.status().as_u16()).unwrap();
            let bytes = r.bytes().await.unwrap_or_default();
            (status, [("content-type", "application/json")], bytes).into_response()
        }
        Err(e) => stripe_error(StatusCode::BAD_GATEWAY, format!("localstripe: {e}")),
    }
}
