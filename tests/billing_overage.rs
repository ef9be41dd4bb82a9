//! Metered overage reaches Stripe exactly once, even when the server is killed between
//! Stripe's answer and recording the report as sent (`FLOWCFD_TEST_CRASH_AFTER=billing_post`,
//! test builds only). localstripe keeps the invoice items and does not honour
//! `Idempotency-Key`, so only the outbox and the lookup before a re-send keep the count
//! right; the stub in front of it counts the POSTs. Then `flowcfd admin billing reconcile`
//! finds and repairs a subscription cancelled behind FlowCFD's back.
#![cfg(debug_assertions)]
mod common;

use common::child::ChildServer;
use common::stripe::{event, localstripe, Peer, SECRET_KEY, WHSEC};
use reqwest::Method;
use serde_json::json;
use sqlx::Connection;
use std::path::Path;
use std::time::{Duration, Instant};

/// `flowcfd serve` with `config`; `env` adds the crash switch.
fn serve(data: &Path, config: &Path, env: &[(&str, &str)]) -> ChildServer {
    common::child::serve(data, |c| {
        c.arg("--config").arg(config).envs(env.iter().copied());
    })
}

fn config(dir: &Path, peer: &Peer, price: &str) -> std::path::PathBuf {
    let path = dir.join("flowcfd.toml");
    let text = format!(
        "[billing]\nprovider = \"stripe\"\nreport_interval_s = 1\n[billing.stripe]\nsecret_key = \"{SECRET_KEY}\"\n\
         webhook_secret = \"{WHSEC}\"\napi_base = \"{}\"\ntimeout_s = 2\n[billing.stripe.prices]\nengineer = \"{price}\"\n",
        peer.url
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// Records `hours` core-hours of `user`'s this month, as the metering does.
async fn use_hours(db: &mut sqlx::SqliteConnection, user: &str, hours: f64) {
    let now = flowcfd::store::now_ms();
    sqlx::query(
        "INSERT INTO usage_records (id, user_id, org_id, record_type, quantity, job_id, period_start, period_end, \
         created_at, subject, period) VALUES ($1, $2, NULL, 'core_seconds', $3, NULL, '', '', $4, $5, $6)",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(user)
    .bind(hours * 3600.0)
    .bind(now)
    .bind(format!("user:{user}"))
    .bind(flowcfd::billing::month_of(now))
    .execute(db)
    .await
    .unwrap();
}

/// Waits until `n` reports are sent (60 s at most); their idempotency keys.
async fn sent(db: &mut sqlx::SqliteConnection, n: usize) -> Vec<String> {
    let start = Instant::now();
    loop {
        let keys: Vec<(String,)> =
            sqlx::query_as("SELECT idempotency_key FROM billing_outbox WHERE sent_at IS NOT NULL ORDER BY seq")
                .fetch_all(&mut *db)
                .await
                .unwrap();
        if keys.len() >= n {
            return keys.into_iter().map(|k| k.0).collect();
        }
        assert!(start.elapsed() < Duration::from_secs(60), "only {} of {n} reports sent in 60 s", keys.len());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn reconcile(config: &Path, data: &Path, fix: bool) -> String {
    let mut cmd = common::flowcfd_clean();
    cmd.args(["admin", "billing", "reconcile", "--config"]).arg(config).arg("--data-dir").arg(data);
    if fix {
        cmd.arg("--fix");
    }
    let (ok, out, err) = common::run(&mut cmd);
    assert!(ok, "reconcile failed: {err}");
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn overage_is_reported_exactly_once_across_a_kill() {
    let Some(ls) = localstripe() else { return };
    let peer = Peer::start(&ls).await;
    let price = format!("price_engineer_{}", uuid::Uuid::new_v4().simple());
    peer.price(&price, 19900).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cfg = config(dir.path(), &peer, &price);

    // The first server dies right after Stripe has taken its first report.
    let mut a = serve(&data, &cfg, &[("FLOWCFD_TEST_CRASH_AFTER", "billing_post")]);
    let http = reqwest::Client::new();
    let token = common::server::sign_up(&http, &a.url, "metered@example.com").await;
    let me: serde_json::Value =
        http.get(format!("{}/api/me", a.url)).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    let user = me["user"]["id"].as_str().unwrap().to_string();
    let subject = format!("user:{user}");
    let r = http
        .post(format!("{}/api/billing/checkout", a.url))
        .bearer_auth(&token)
        .json(&json!({"plan": "engineer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let customer = peer.seen("POST", "/v1/checkout/sessions")[0].get("customer").unwrap().to_string();
    let sub = peer.subscribe(&customer, &price, &subject).await;
    let sub_id = sub["id"].as_str().unwrap().to_string();
    let (body, sig) =
        event("evt_overage_created", "customer.subscription.created", sub["created"].as_i64().unwrap(), &sub);
    let r = http
        .post(format!("{}/api/billing/webhook", a.url))
        .header("stripe-signature", sig)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());

    // 600 core-hours on a plan with 500 included: 100 past it.
    let mut db =
        sqlx::SqliteConnection::connect(&format!("sqlite://{}", data.join("flowcfd.db").display())).await.unwrap();
    use_hours(&mut db, &user, 600.0).await;
    let start = Instant::now();
    while a.child.try_wait().unwrap().is_none() {
        assert!(start.elapsed() < Duration::from_secs(30), "the server did not reach the crash point");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let posts = peer.seen("POST", "/v1/invoiceitems");
    assert_eq!(posts.len(), 1, "the report reached Stripe before the crash");
    let period = flowcfd::billing::month_of(flowcfd::store::now_ms());
    let key1 = format!("flowcfd-{sub_id}-{period}-1");
    assert_eq!(posts[0].idempotency_key.as_deref(), Some(key1.as_str()));
    assert_eq!(posts[0].get("metadata[flowcfd_idempotency_key]"), Some(key1.as_str()));
    assert_eq!(posts[0].get("amount"), Some("1200"), "100 core-hours at $0.12");
    assert_eq!(posts[0].get("subscription"), Some(sub_id.as_str()));

    // The restarted server finds the report in Stripe instead of sending it again.
    let b = serve(&data, &cfg, &[]);
    assert_eq!(sent(&mut db, 1).await, vec![key1.clone()]);
    assert_eq!(peer.seen("POST", "/v1/invoiceitems").len(), 1, "not sent twice");
    assert!(!peer.seen("GET", "/v1/invoiceitems").is_empty(), "looked up before re-sending");

    // More use: 10.5 more core-hours make 10 whole new ones, reported once.
    use_hours(&mut db, &user, 10.5).await;
    let key2 = format!("flowcfd-{sub_id}-{period}-2");
    assert_eq!(sent(&mut db, 2).await, vec![key1.clone(), key2.clone()]);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let posts = peer.seen("POST", "/v1/invoiceitems");
    assert_eq!(posts.len(), 2, "{posts:?}");
    assert_eq!(posts[1].get("amount"), Some("120"));

    // localstripe holds exactly one invoice item per report.
    let items = peer.ls(Method::GET, &format!("/v1/invoiceitems?customer={customer}&limit=100"), &[]).await;
    let mut keys: Vec<String> = items["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["flowcfd_idempotency_key"].as_str().unwrap().to_string())
        .collect();
    keys.sort();
    assert_eq!(keys, vec![key1, key2]);
    let total: i64 = items["data"].as_array().unwrap().iter().map(|i| i["amount"].as_i64().unwrap()).sum();
    assert_eq!(total, 1320);
    drop(b);

    // Reconciliation from the command line: in agreement, then the subscription is
    // cancelled in Stripe without a webhook.
    assert!(reconcile(&cfg, &data, false).contains("no drift"));
    peer.ls(Method::DELETE, &format!("/v1/subscriptions/{sub_id}"), &[]).await;
    let out = reconcile(&cfg, &data, false);
    assert!(out.contains(&format!("{subject}: status is active here, canceled in Stripe")), "{out}");
    assert!(out.contains(&format!("{subject}: plan is engineer here, free in Stripe")), "{out}");
    assert!(out.contains("run with --fix"), "{out}");
    let out = reconcile(&cfg, &data, true);
    assert!(out.contains("2 difference(s) repaired"), "{out}");
    assert!(reconcile(&cfg, &data, false).contains("no drift"));
    let (plan,): (String,) = sqlx::query_as("SELECT plan FROM billing_accounts WHERE subject = $1")
        .bind(&subject)
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(plan, "free");
}
