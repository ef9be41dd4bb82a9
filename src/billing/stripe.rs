//! A small typed Stripe client over `reqwest`: only the calls FlowCFD makes (customers,
//! Checkout and Customer Portal sessions, subscriptions, invoice items). Every POST is
//! form-encoded (`form::Form`) and carries an `Idempotency-Key`; Stripe's
//! `{"error": {"message", "type"}}` comes back as [`StripeError::Api`].
use super::form::{Form, Value};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// What a call to Stripe can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StripeError {
    /// Stripe answered with an error object.
    #[error("Stripe refused the request ({status}, {kind}): {message}")]
    Api { status: u16, kind: String, message: String },
    /// No answer (connection refused, timeout, TLS).
    #[error("cannot reach Stripe at {base}: {message}")]
    Transport { base: String, message: String },
    /// An answer that is not what the API reference documents.
    #[error("unexpected answer from Stripe ({what}): {message}")]
    Decode { what: String, message: String },
}

impl StripeError {
    /// Whether trying again later may succeed: no answer, rate limits, conflicts of
    /// concurrent idempotent requests, and Stripe's own failures.
    pub fn is_transient(&self) -> bool {
        match self {
            StripeError::Transport { .. } => true,
            StripeError::Api { status, .. } => *status == 409 || *status == 429 || *status >= 500,
            StripeError::Decode { .. } => false,
        }
    }
}

/// A list of objects (`{"object": "list", "data": [...], "has_more": …}`).
#[derive(Debug, Clone, Deserialize)]
pub struct List<T> {
    pub data: Vec<T>,
    #[serde(default)]
    pub has_more: bool,
}

/// A customer.
#[derive(Debug, Clone, Deserialize)]
pub struct Customer {
    pub id: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// A Checkout Session or a Customer Portal session: where to send the browser.
#[derive(Debug, Clone, Deserialize)]
pub struct Session {
    pub id: String,
    #[serde(default)]
    pub url: Option<String>,
}

/// Only the id of an expanded object (a price, a legacy plan).
#[derive(Debug, Clone, Deserialize)]
pub struct IdOnly {
    pub id: String,
}

/// One item of a subscription.
#[derive(Debug, Clone, Deserialize)]
pub struct SubscriptionItem {
    #[serde(default)]
    pub price: Option<IdOnly>,
    /// Older API versions (and localstripe) name the price a plan.
    #[serde(default)]
    pub plan: Option<IdOnly>,
}

impl SubscriptionItem {
    /// The price id of the item.
    pub fn price_id(&self) -> Option<&str> {
        self.price.as_ref().or(self.plan.as_ref()).map(|p| p.id.as_str())
    }
}

/// A subscription.
#[derive(Debug, Clone, Deserialize)]
pub struct Subscription {
    pub id: String,
    pub customer: String,
    pub status: String,
    pub items: List<SubscriptionItem>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub created: i64,
}

/// A pending charge on a customer's next invoice.
#[derive(Debug, Clone, Deserialize)]
pub struct InvoiceItem {
    pub id: String,
    pub customer: String,
    pub amount: i64,
    pub currency: String,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub subscription: Option<String>,
}

/// A Checkout Session in subscription mode for one price.
#[derive(Debug, Clone)]
pub struct CheckoutRequest<'a> {
    pub customer: &'a str,
    pub price: &'a str,
    pub success_url: &'a str,
    pub cancel_url: &'a str,
    /// Who pays, in FlowCFD's terms (`user:ID`, `org:ID`).
    pub client_reference_id: &'a str,
    /// Also given to the subscription Checkout creates.
    pub metadata: &'a BTreeMap<String, String>,
}

/// An invoice item on a subscription's upcoming invoice.
#[derive(Debug, Clone)]
pub struct InvoiceItemRequest<'a> {
    pub customer: &'a str,
    pub subscription: &'a str,
    /// Cents.
    pub amount: i64,
    pub currency: &'a str,
    pub description: &'a str,
    pub metadata: &'a BTreeMap<String, String>,
}

/// The client: one API base and secret key.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl Client {
    /// A client for `base` (`https://api.stripe.com`) with a secret key; each call may take
    /// `timeout`.
    pub fn new(base: &str, secret_key: &str, timeout: Duration) -> Client {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("flowcfd/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Client { http, base: base.trim_end_matches('/').to_string(), key: secret_key.to_string() }
    }

    /// `POST /v1/customers`.
    pub async fn create_customer(
        &self,
        email: &str,
        name: &str,
        metadata: &BTreeMap<String, String>,
        idempotency_key: &str,
    ) -> Result<Customer, StripeError> {
        let form = Form::new().field("email", email).field("name", name).field("metadata", metadata);
        self.post("/v1/customers", &form, idempotency_key).await
    }

    /// `POST /v1/checkout/sessions` in subscription mode.
    pub async fn create_checkout_session(
        &self,
        r: &CheckoutRequest<'_>,
        idempotency_key: &str,
    ) -> Result<Session, StripeError> {
        let item = Value::Map(vec![("price".into(), r.price.into()), ("quantity".into(), 1.into())]);
        let form = Form::new()
            .field("mode", "subscription")
            .field("customer", r.customer)
            .field("line_items", Value::List(vec![item]))
            .field("success_url", r.success_url)
            .field("cancel_url", r.cancel_url)
            .field("client_reference_id", r.client_reference_id)
            .field("metadata", r.metadata)
            .field("subscription_data", Value::Map(vec![("metadata".into(), r.metadata.into())]));
        self.post("/v1/checkout/sessions", &form, idempotency_key).await
    }

    /// `POST /v1/billing_portal/sessions`.
    pub async fn create_portal_session(
        &self,
        customer: &str,
        return_url: &str,
        idempotency_key: &str,
    ) -> Result<Session, StripeError> {
        let form = Form::new().field("customer", customer).field("return_url", return_url);
        self.post("/v1/billing_portal/sessions", &form, idempotency_key).await
    }

    /// `GET /v1/subscriptions?customer=…&status=all`, every page.
    pub async fn list_subscriptions(&self, customer: &str) -> Result<Vec<Subscription>, StripeError> {
        self.list_all("/v1/subscriptions", &[("customer", customer), ("status", "all")]).await
    }

    /// `POST /v1/invoiceitems`.
    pub async fn create_invoice_item(
        &self,
        r: &InvoiceItemRequest<'_>,
        idempotency_key: &str,
    ) -> Result<InvoiceItem, StripeError> {
        let form = Form::new()
            .field("customer", r.customer)
            .field("subscription", r.subscription)
            .field("amount", r.amount)
            .field("currency", r.currency)
            .field("description", r.description)
            .field("metadata", r.metadata);
        self.post("/v1/invoiceitems", &form, idempotency_key).await
    }

    /// `GET /v1/invoiceitems?customer=…`, every page.
    pub async fn list_invoice_items(&self, customer: &str) -> Result<Vec<InvoiceItem>, StripeError> {
        self.list_all("/v1/invoiceitems", &[("customer", customer)]).await
    }

    async fn list_all<T: DeserializeOwned + HasId>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<Vec<T>, StripeError> {
        let mut out: Vec<T> = Vec::new();
        loop {
            let mut q: Vec<(&str, &str)> = query.to_vec();
            q.push(("limit", "100"));
            let after = out.last().map(|t| t.id().to_string());
            if let Some(a) = &after {
                q.push(("starting_after", a));
            }
            let req = self.http.get(format!("{}{path}", self.base)).query(&q);
            let page: List<T> = self.send(req, path).await?;
            let (more, n) = (page.has_more, page.data.len());
            out.extend(page.data);
            // A page that says there is more but brings nothing would loop for ever.
            if !more || n == 0 {
                return Ok(out);
            }
        }
    }

    async fn post<T: DeserializeOwned>(&self, path: &str, form: &Form, key: &str) -> Result<T, StripeError> {
        let req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("Idempotency-Key", key)
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form.encode());
        self.send(req, path).await
    }

    async fn send<T: DeserializeOwned>(&self, req: reqwest::RequestBuilder, what: &str) -> Result<T, StripeError> {
        let transport = |e: reqwest::Error| StripeError::Transport { base: self.base.clone(), message: e.to_string() };
        let resp = req.bearer_auth(&self.key).send().await.map_err(transport)?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await.map_err(transport)?;
        if !(200..300).contains(&status) {
            return Err(api_error(status, &body));
        }
        serde_json::from_slice(&body).map_err(|e| StripeError::Decode { what: what.into(), message: e.to_string() })
    }
}

/// Objects that pagination can continue after.
pub trait HasId {
    fn id(&self) -> &str;
}

impl HasId for Subscription {
    fn id(&self) -> &str {
        &self.id
    }
}

impl HasId for InvoiceItem {
    fn id(&self) -> &str {
        &self.id
    }
}

/// Stripe's error object, or what there is of it.
fn api_error(status: u16, body: &[u8]) -> StripeError {
    #[derive(Deserialize)]
    struct Wrapper {
        error: Inner,
    }
    #[derive(Deserialize)]
    struct Inner {
        #[serde(default)]
        message: Option<String>,
        #[serde(default, rename = "type")]
        kind: Option<String>,
    }
    match serde_json::from_slice::<Wrapper>(body) {
        Ok(w) => StripeError::Api {
            status,
            kind: w.error.kind.unwrap_or_else(|| "api_error".into()),
            message: w.error.message.unwrap_or_else(|| "(no message)".into()),
        },
        Err(_) => StripeError::Api {
            status,
            kind: "api_error".into(),
            message: String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripe_errors_are_read_from_the_error_object() {
        let e = api_error(402, br#"{"error":{"message":"Your card was declined.","type":"card_error"}}"#);
        assert_eq!(e.to_string(), "Stripe refused the request (402, card_error): Your card was declined.");
        assert!(!e.is_transient());
        let e = api_error(502, b"<html>bad gateway</html>");
        assert!(e.is_transient() && e.to_string().contains("bad gateway"), "{e}");
    }

    #[test]
    fn a_subscription_item_names_its_price_or_legacy_plan() {
        let s: Subscription = serde_json::from_str(
            r#"{"id":"sub_1","customer":"cus_1","status":"active","items":{"data":[{"plan":{"id":"price_e"}}]}}"#,
        )
        .unwrap();
        assert_eq!(s.items.data[0].price_id(), Some("price_e"));
    }
}
