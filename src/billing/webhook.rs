//! Stripe webhooks: the `Stripe-Signature` check (HMAC-SHA256 of `t.payload` under the
//! endpoint's secret, any of several `v1` values, five minutes of tolerance) and the
//! events FlowCFD acts on, typed.
use super::stripe::Subscription;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

/// How far a signature's timestamp may be from now, seconds (Stripe's libraries' default).
pub const TOLERANCE_S: i64 = 300;

/// Why a webhook's signature is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no Stripe-Signature header")]
    Missing,
    #[error("the Stripe-Signature header has no t=… and v1=… values")]
    Malformed,
    #[error("the signature is {0} s away from now (at most {TOLERANCE_S} s): a replay or a wrong clock")]
    Stale(i64),
    #[error("no v1 signature matches the payload under the webhook secret")]
    Mismatch,
}

fn mac(secret: &str, t: i64, payload: &[u8]) -> Hmac<Sha256> {
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    m.update(t.to_string().as_bytes());
    m.update(b".");
    m.update(payload);
    m
}

/// Checks `header` (`t=…,v1=…[,v1=…]`) against `payload` at `now` (Unix seconds); the
/// signature's time on success.
pub fn verify(payload: &[u8], header: Option<&str>, secret: &str, now: i64) -> Result<i64, SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => sigs.push(v),
            _ => {}
        }
    }
    let t = t.ok_or(SignatureError::Malformed)?;
    if sigs.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if (now - t).abs() > TOLERANCE_S {
        return Err(SignatureError::Stale(now - t));
    }
    let expected = mac(secret, t, payload);
    // verify_slice compares in constant time.
    let ok = sigs.iter().filter_map(|s| hex(s)).any(|bytes| expected.clone().verify_slice(&bytes).is_ok());
    if ok {
        Ok(t)
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The `Stripe-Signature` header Stripe would send for `payload` at time `t` (tests, and
/// the test peers that play Stripe).
pub fn sign(payload: &[u8], secret: &str, t: i64) -> String {
    let bytes = mac(secret, t, payload).finalize().into_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={t},v1={hex}")
}

fn hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// A webhook event as Stripe sends it.
#[derive(Debug, Clone, Deserialize)]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// Unix seconds.
    pub created: i64,
    pub data: EventData,
}

/// The object an event is about.
#[derive(Debug, Clone, Deserialize)]
pub struct EventData {
    pub object: serde_json::Value,
}

/// What an event means to FlowCFD.
#[derive(Debug, Clone)]
pub enum BillingEvent {
    /// `checkout.session.completed`: the customer and subscription of a finished Checkout.
    CheckoutCompleted { customer: Option<String>, subscription: Option<String>, subject: Option<String> },
    /// `customer.subscription.created|updated|deleted`.
    Subscription { subscription: Subscription, deleted: bool },
    /// `invoice.paid` (`paid`) or `invoice.payment_failed`.
    Invoice { customer: String, subscription: Option<String>, paid: bool },
    /// Anything else: recorded, not acted on.
    Other,
}

/// Reads the event's object for the types FlowCFD handles.
pub fn parse(ev: &Event) -> Result<BillingEvent, String> {
    let obj = &ev.data.object;
    let text = |k: &str| obj.get(k).and_then(|v| v.as_str()).map(str::to_string);
    Ok(match ev.kind.as_str() {
        "checkout.session.completed" => BillingEvent::CheckoutCompleted {
            customer: text("customer"),
            subscription: text("subscription"),
            subject: text("client_reference_id")
                .or_else(|| obj.pointer("/metadata/flowcfd_subject").and_then(|v| v.as_str()).map(str::to_string)),
        },
        "customer.subscription.created" | "customer.subscription.updated" | "customer.subscription.deleted" => {
            let subscription: Subscription =
                serde_json::from_value(obj.clone()).map_err(|e| format!("{}: subscription object: {e}", ev.kind))?;
            BillingEvent::Subscription { subscription, deleted: ev.kind.ends_with(".deleted") }
        }
        "invoice.paid" | "invoice.payment_failed" => BillingEvent::Invoice {
            customer: text("customer").ok_or_else(|| format!("{}: invoice without a customer", ev.kind))?,
            subscription: text("subscription"),
            paid: ev.kind == "invoice.paid",
        },
        _ => BillingEvent::Other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";
    const BODY: &[u8] = br#"{"id":"evt_1","type":"invoice.paid"}"#;

    #[test]
    fn a_good_signature_passes() {
        let h = sign(BODY, SECRET, 1_800_000_000);
        assert_eq!(verify(BODY, Some(&h), SECRET, 1_800_000_010), Ok(1_800_000_000));
    }

    #[test]
    fn a_bad_signature_or_payload_or_secret_fails() {
        let h = sign(BODY, SECRET, 1_800_000_000);
        let now = 1_800_000_000;
        assert_eq!(verify(b"{}", Some(&h), SECRET, now), Err(SignatureError::Mismatch));
        assert_eq!(verify(BODY, Some(&h), "whsec_other", now), Err(SignatureError::Mismatch));
        let flipped = h.replace("v1=", "v1=00").chars().take(h.len()).collect::<String>();
        assert_eq!(verify(BODY, Some(&flipped), SECRET, now), Err(SignatureError::Mismatch));
        assert_eq!(verify(BODY, Some("t=1800000000,v1=zz"), SECRET, now), Err(SignatureError::Mismatch));
        assert_eq!(verify(BODY, None, SECRET, now), Err(SignatureError::Missing));
        assert_eq!(verify(BODY, Some("v1=abcd"), SECRET, now), Err(SignatureError::Malformed));
        assert_eq!(verify(BODY, Some("t=1800000000"), SECRET, now), Err(SignatureError::Malformed));
        // A v0 (test-mode legacy) signature alone is not accepted.
        let v0 = h.replace("v1=", "v0=");
        assert_eq!(verify(BODY, Some(&v0), SECRET, now), Err(SignatureError::Malformed));
    }

    #[test]
    fn a_stale_or_future_signature_fails() {
        let h = sign(BODY, SECRET, 1_800_000_000);
        assert_eq!(verify(BODY, Some(&h), SECRET, 1_800_000_301), Err(SignatureError::Stale(301)));
        assert_eq!(verify(BODY, Some(&h), SECRET, 1_799_999_699), Err(SignatureError::Stale(-301)));
        assert!(verify(BODY, Some(&h), SECRET, 1_800_000_300).is_ok());
    }

    #[test]
    fn any_of_several_v1_signatures_may_match() {
        // While a webhook secret is rolled, Stripe signs with the old and the new one.
        let good = sign(BODY, SECRET, 1_800_000_000);
        let other = sign(BODY, "whsec_old", 1_800_000_000);
        let other_v1 = other.split_once(",v1=").unwrap().1;
        let good_v1 = good.split_once(",v1=").unwrap().1;
        let both = format!("t=1800000000,v1={other_v1},v0=ignored,v1={good_v1}");
        assert!(verify(BODY, Some(&both), SECRET, 1_800_000_000).is_ok());
        let neither = format!("t=1800000000,v1={other_v1}");
        assert_eq!(verify(BODY, Some(&neither), SECRET, 1_800_000_000), Err(SignatureError::Mismatch));
    }

    #[test]
    fn events_are_typed() {
        let ev: Event = serde_json::from_str(
            r#"{"id":"evt_1","type":"customer.subscription.deleted","created":1800000000,"data":{"object":
                {"id":"sub_1","customer":"cus_1","status":"canceled","items":{"data":[{"price":{"id":"price_t"}}]}}}}"#,
        )
        .unwrap();
        match parse(&ev).unwrap() {
            BillingEvent::Subscription { subscription, deleted } => {
                assert!(deleted);
                assert_eq!(subscription.items.data[0].price_id(), Some("price_t"));
            }
            other => panic!("{other:?}"),
        }
        let ev: Event = serde_json::from_str(
            r#"{"id":"evt_2","type":"checkout.session.completed","created":1,"data":{"object":
                {"customer":"cus_1","subscription":"sub_1","client_reference_id":"org:o1"}}}"#,
        )
        .unwrap();
        assert!(
            matches!(parse(&ev).unwrap(), BillingEvent::CheckoutCompleted { subject: Some(s), .. } if s == "org:o1")
        );
    }
}
