//! Stripe billing end to end through the API, on SQLite and PostgreSQL: Checkout and
//! Customer Portal sessions (against the stub, which checks the form-encoded requests as
//! Stripe's API reference documents them), an upgrade through a `customer.subscription.created`
//! webhook that localstripe itself signs and delivers, replayed and badly signed webhooks,
//! out-of-order subscription events, a failed payment's grace period, and reconciliation
//! with localstripe's subscriptions.
mod common;

use common::server::TestServer;
use common::stripe::{event, localstripe, now_s, Peer, SECRET_KEY, WHSEC};
use serde_json::{json, Value};

/// Prices unique to one run (localstripe is shared by the tests running at once).
struct Prices {
    engineer: String,
    team: String,
}

async fn prices(peer: &Peer) -> Prices {
    let sfx = uuid::Uuid::new_v4().simple().to_string();
    let p = Prices { engineer: format!("price_engineer_{sfx}"), team: format!("price_team_{sfx}") };
    peer.price(&p.engineer, 19900).await;
    peer.price(&p.team, 69900).await;
    p
}

fn configure(cfg: &mut flowcfd::config::Config, peer: &Peer, p: &Prices) {
    // Jobs are only queued (the upgrade test asks for 64 cores, which the plan decides).
    cfg.jobs.slots = 0;
    cfg.jobs.local_max_cores = 64;
    let mut stripe = flowcfd::config::StripeConfig {
        secret_key: SECRET_KEY.into(),
        webhook_secret: WHSEC.into(),
        api_base: peer.url.clone(),
        ..Default::default()
    };
    stripe.prices.insert("engineer".into(), p.engineer.clone());
    stripe.prices.insert("team".into(), p.team.clone());
    cfg.billing = Some(flowcfd::config::BillingConfig {
        provider: "stripe".into(),
        grace_days: 0,
        report_interval_s: 3600,
        stripe,
        ..Default::default()
    });
}

/// Posts a webhook; (status, body).
async fn post_event(s: &TestServer, body: &[u8], sig: Option<&str>) -> (u16, Value) {
    let mut r = s.http.post(s.u("/api/billing/webhook")).header("content-type", "application/json").body(body.to_vec());
    if let Some(sig) = sig {
        r = r.header("stripe-signature", sig);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    if status >= 400 {
        assert_eq!(ct, "application/problem+json", "{v}");
    }
    (status, v)
}

async fn account(s: &TestServer, token: &str) -> Value {
    let (st, a) = s.call("GET", "/api/billing/account", token, None).await;
    assert_eq!(st, 200, "{a}");
    a
}

async fn billing_audits(s: &TestServer, token: &str) -> usize {
    let (st, log) = s.call("GET", "/api/admin/audit", token, None).await;
    assert_eq!(st, 200, "{log}");
    log.as_array().unwrap().iter().filter(|e| e["action"].as_str().unwrap().starts_with("billing.")).count()
}

/// A subscription object as Stripe sends it in events, with `status` and `price`.
fn subscription(id: &str, customer: &str, status: &str, price: &str) -> Value {
    json!({"id": id, "object": "subscription", "customer": customer, "status": status,
           "items": {"object": "list", "data": [{"id": "si_x", "price": {"id": price}, "quantity": 1}]},
           "metadata": {}})
}

#[tokio::test(flavor = "multi_thread")]
async fn checkout_portal_and_webhooks_move_the_plan() {
    let Some(ls) = localstripe() else { return };
    let peer = Peer::start(&ls).await;
    let dir = tempfile::tempdir().unwrap();
    for (label, db) in common::db::backends(dir.path()).await {
        let p = prices(&peer).await;
        let s = TestServer::start(&db, |c| configure(c, &peer, &p)).await;
        one_backend(label, &s, &peer, &p).await;
        s.stop().await;
    }
}

async fn one_backend(label: &str, s: &TestServer, peer: &Peer, p: &Prices) {
    let email = format!("payer-{label}@example.com");
    let token = s.user(&email).await;
    let (_, me) = s.call("GET", "/api/me", &token, None).await;
    let subject = format!("user:{}", me["user"]["id"].as_str().unwrap());

    // Mistakes the user can fix, each with a clear 4xx.
    for (body, want, says) in [
        (json!({"plan": "gold"}), 400, "unknown plan"),
        (json!({"plan": "free"}), 400, "no Stripe price"),
        (json!({"plan": "team"}), 400, "for an organization"),
        (json!({"plan": "team", "org": "nope"}), 404, "not found"),
    ] {
        let (st, v) = s.call("POST", "/api/billing/checkout", &token, Some(body.clone())).await;
        assert_eq!(st, want, "{label} {body}: {v}");
        assert!(v["detail"].as_str().unwrap().contains(says), "{label} {body}: {v}");
    }
    let (st, v) = s.call("POST", "/api/billing/portal", &token, None).await;
    assert_eq!(st, 409, "{label}: portal before any checkout: {v}");
    assert_eq!(account(s, &token).await["plan"], "free", "{label}");

    // Checkout: the customer is created in localstripe, the session by the stub.
    let (st, v) = s.call("POST", "/api/billing/checkout", &token, Some(json!({"plan": "engineer"}))).await;
    assert_eq!(st, 200, "{label}: {v}");
    assert!(v["url"].as_str().unwrap().starts_with("https://checkout.stripe.com/c/pay/cs_test_"), "{v}");
    let customers: Vec<_> =
        peer.seen("POST", "/v1/customers").into_iter().filter(|c| c.get("email") == Some(&email)).collect();
    assert_eq!(customers.len(), 1, "{label}: one customer");
    assert_eq!(customers[0].get("metadata[flowcfd_subject]"), Some(subject.as_str()));
    let sessions = peer.seen("POST", "/v1/checkout/sessions");
    let cs = sessions.last().unwrap();
    let customer = cs.get("customer").unwrap().to_string();
    let pairs = |v: &[(&str, &str)]| v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<Vec<_>>();
    assert_eq!(
        cs.form,
        pairs(&[
            ("mode", "subscription"),
            ("customer", &customer),
            ("line_items[0][price]", &p.engineer),
            ("line_items[0][quantity]", "1"),
            ("success_url", &s.u("/billing?checkout=success")),
            ("cancel_url", &s.u("/billing?checkout=cancel")),
            ("client_reference_id", &subject),
            ("metadata[flowcfd_plan]", "engineer"),
            ("metadata[flowcfd_subject]", &subject),
            ("subscription_data[metadata][flowcfd_plan]", "engineer"),
            ("subscription_data[metadata][flowcfd_subject]", &subject),
        ]),
        "{label}: the Checkout Session request"
    );
    assert_eq!(cs.authorization.as_deref(), Some(format!("Bearer {SECRET_KEY}").as_str()));
    assert_eq!(cs.content_type.as_deref(), Some("application/x-www-form-urlencoded"));
    assert!(cs.idempotency_key.as_deref().is_some_and(|k| k.starts_with("flowcfd-")), "{cs:?}");
    assert!(customers[0].idempotency_key.is_some());
    let a = account(s, &token).await;
    assert_eq!((a["plan"].as_str(), a["has_customer"].as_bool()), (Some("free"), Some(true)), "{a}");

    // A second checkout reuses the customer.
    let (st, _) = s.call("POST", "/api/billing/checkout", &token, Some(json!({"plan": "engineer"}))).await;
    assert_eq!(st, 200);
    assert_eq!(peer.seen("POST", "/v1/customers").iter().filter(|c| c.get("email") == Some(&email)).count(), 1);

    // The portal.
    let (st, v) = s.call("POST", "/api/billing/portal", &token, None).await;
    assert_eq!(st, 200, "{label}: {v}");
    assert!(v["url"].as_str().unwrap().starts_with("https://billing.stripe.com/p/session/"), "{v}");
    let ps = peer.seen("POST", "/v1/billing_portal/sessions");
    assert_eq!(ps.last().unwrap().form, pairs(&[("customer", &customer), ("return_url", &s.u("/billing"))]));

    // On the free plan, 64 cores are refused by the plan.
    let (_, _, case) = s.cube_case(&token, 20_000, 50).await;
    let submit = |cores: u32| {
        let (s, token, case) = (s, &token, &case);
        async move {
            s.call(
                "POST",
                &format!("/api/cases/{case}/jobs"),
                token,
                Some(json!({"executor": "local", "cores": cores})),
            )
            .await
        }
    };
    let (st, v) = submit(64).await;
    assert_eq!((st, v["limit"].as_str()), (403, Some("max_cores_per_job")), "{label}: {v}");

    // The upgrade: localstripe creates the subscription and signs and delivers
    // customer.subscription.created itself.
    peer.deliver_to(&format!("flowcfd-{label}-{}", uuid::Uuid::new_v4().simple()), &s.u("/api/billing/webhook")).await;
    let sub = peer.subscribe(&customer, &p.engineer, &subject).await;
    let sub_id = sub["id"].as_str().unwrap().to_string();
    let mut a = Value::Null;
    for _ in 0..300 {
        a = account(s, &token).await;
        if a["plan"] == "engineer" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(a["plan"], "engineer", "{label}: the webhook from localstripe upgraded the account: {a}");
    assert_eq!(a["subscription_status"], "active", "{a}");
    let (st, v) = submit(64).await;
    assert_eq!((st, v["status"].as_str()), (201, Some("queued")), "{label}: 64 cores on the engineer plan: {v}");
    let (st, v) = s.call("POST", "/api/billing/checkout", &token, Some(json!({"plan": "engineer"}))).await;
    assert_eq!(st, 409, "{label}: a second subscription is refused: {v}");
    assert!(v["detail"].as_str().unwrap().contains("Customer Portal"), "{v}");

    // A replayed event is a no-op: the second delivery changes nothing and writes nothing.
    let t = now_s() + 100;
    let (body, sig) = event(&format!("evt_{label}_team"), "customer.subscription.updated", t, &{
        let mut o = subscription(&sub_id, &customer, "active", &p.team);
        o["metadata"] = json!({"flowcfd_subject": subject});
        o
    });
    assert_eq!(
        post_event(s, &body, Some(&sig)).await,
        (200, json!({"event": format!("evt_{label}_team"), "outcome": "applied"}))
    );
    assert_eq!(account(s, &token).await["plan"], "team");
    let audits = billing_audits(s, &token).await;
    let again = flowcfd::billing::webhook::sign(&body, WHSEC, now_s());
    let (st, v) = post_event(s, &body, Some(&again)).await;
    assert_eq!((st, v["outcome"].as_str()), (200, Some("duplicate")), "{v}");
    assert_eq!(billing_audits(s, &token).await, audits, "{label}: a replay writes nothing");

    // Bad, stale and missing signatures: 400, and nothing changes.
    let (cancel, _) = event(
        &format!("evt_{label}_cancel"),
        "customer.subscription.deleted",
        t + 1,
        &subscription(&sub_id, &customer, "canceled", &p.team),
    );
    let wrong = flowcfd::billing::webhook::sign(&cancel, "whsec_not_ours", now_s());
    let stale = flowcfd::billing::webhook::sign(&cancel, WHSEC, now_s() - 400);
    let tampered = flowcfd::billing::webhook::sign(&body, WHSEC, now_s());
    for (sig, why) in [
        (Some(wrong.as_str()), "no v1 signature matches"),
        (Some(stale.as_str()), "away from now"),
        (None, "no Stripe-Signature"),
        (Some(tampered.as_str()), "no v1 signature matches"),
    ] {
        let (st, v) = post_event(s, &cancel, sig).await;
        assert_eq!(st, 400, "{label}: {v}");
        assert!(v["detail"].as_str().unwrap().contains(why), "{v}");
    }
    assert_eq!(account(s, &token).await["plan"], "team", "{label}: bad signatures changed nothing");
    assert_eq!(billing_audits(s, &token).await, audits);

    // Out of order: deleted (t+30) arrives before updated (t+20) and past_due (t+10); the
    // subscription stays canceled on the free plan.
    let send = |id: String, kind: &'static str, at: i64, obj: Value| async move {
        let (b, sg) = event(&id, kind, at, &obj);
        let (st, v) = post_event(s, &b, Some(&sg)).await;
        assert_eq!(st, 200, "{v}");
        v["outcome"].as_str().unwrap().to_string()
    };
    let ev = |n: &str| format!("evt_{label}_{n}");
    assert_eq!(
        send(ev("del"), "customer.subscription.deleted", t + 30, subscription(&sub_id, &customer, "canceled", &p.team))
            .await,
        "applied"
    );
    assert_eq!(
        send(
            ev("upd"),
            "customer.subscription.updated",
            t + 20,
            subscription(&sub_id, &customer, "active", &p.engineer)
        )
        .await,
        "stale"
    );
    assert_eq!(
        send(
            ev("pd"),
            "customer.subscription.updated",
            t + 10,
            subscription(&sub_id, &customer, "past_due", &p.engineer)
        )
        .await,
        "stale"
    );
    let a = account(s, &token).await;
    assert_eq!(
        (a["plan"].as_str(), a["subscription_status"].as_str()),
        (Some("free"), Some("canceled")),
        "{label}: {a}"
    );
    // A new subscription (t+50, team); its older update (t+45) and the old subscription's
    // events do not undo it.
    let sub2 = format!("sub_{label}_second");
    assert_eq!(
        send(ev("c2"), "customer.subscription.created", t + 50, subscription(&sub2, &customer, "active", &p.team))
            .await,
        "applied"
    );
    assert_eq!(
        send(ev("u2"), "customer.subscription.updated", t + 45, subscription(&sub2, &customer, "active", &p.engineer))
            .await,
        "stale"
    );
    assert_eq!(
        send(
            ev("old"),
            "customer.subscription.updated",
            t + 60,
            subscription(&sub_id, &customer, "active", &p.engineer)
        )
        .await,
        "other_subscription"
    );
    let a = account(s, &token).await;
    assert_eq!((a["plan"].as_str(), a["subscription_status"].as_str()), (Some("team"), Some("active")), "{label}: {a}");

    // A failed payment starts the grace period (0 days here); the billing task then moves
    // the account to the default plan. invoice.paid clears the debt.
    let inv = json!({"id": "in_1", "object": "invoice", "customer": customer, "subscription": sub2});
    assert_eq!(send(ev("fail"), "invoice.payment_failed", now_s() - 10, inv.clone()).await, "applied");
    let a = account(s, &token).await;
    assert!(a["past_due_since"].as_i64().is_some() && a["plan"] == "team", "{a}");
    let st = &s.running.as_ref().unwrap().state;
    flowcfd::service::billing_report::run_once(st).await.unwrap();
    let a = account(s, &token).await;
    assert_eq!(a["plan"], "free", "{label}: downgraded after the grace period: {a}");
    assert_eq!(send(ev("paid"), "invoice.paid", now_s(), inv).await, "applied");
    assert!(account(s, &token).await["past_due_since"].is_null());

    // Reconciliation: localstripe has the first subscription, active on the engineer
    // price; the account says sub2 (which Stripe never had) on free.
    let drifts = flowcfd::service::billing_report::reconcile(st, false).await.unwrap();
    let mine: Vec<String> = drifts.iter().filter(|d| d.subject == subject).map(|d| d.to_string()).collect();
    assert_eq!(
        mine,
        vec![
            format!("{subject}: subscription is {sub2} here, {sub_id} in Stripe"),
            format!("{subject}: plan is free here, engineer in Stripe"),
        ],
        "{label}"
    );
    flowcfd::service::billing_report::reconcile(st, true).await.unwrap();
    let a = account(s, &token).await;
    assert_eq!((a["plan"].as_str(), a["subscription_status"].as_str()), (Some("engineer"), Some("active")), "{a}");
    let again = flowcfd::service::billing_report::reconcile(st, false).await.unwrap();
    assert!(again.iter().all(|d| d.subject != subject), "{label}: {again:?}");

    // An organization: its owner checks out the team plan for it; Checkout's completion
    // and the subscription move the org's plan, not the owner's.
    let slug = format!("cfd-{label}");
    let (st, org) = s.call("POST", "/api/orgs", &token, Some(json!({"name": slug, "slug": slug}))).await;
    assert_eq!(st, 201, "{org}");
    let org_id = org["id"].as_str().unwrap();
    let org_subject = format!("org:{org_id}");
    let (st, v) = s.call("POST", "/api/billing/checkout", &token, Some(json!({"plan": "team", "org": org_id}))).await;
    assert_eq!(st, 200, "{v}");
    let cs = peer.seen("POST", "/v1/checkout/sessions").last().unwrap().clone();
    assert_eq!(cs.get("client_reference_id"), Some(org_subject.as_str()));
    assert_eq!(cs.get("line_items[0][price]"), Some(p.team.as_str()));
    let org_customer = cs.get("customer").unwrap().to_string();
    assert_ne!(org_customer, customer);
    let sub_org = format!("sub_{label}_org");
    let done = json!({"id": "cs_x", "object": "checkout.session", "customer": org_customer,
                      "subscription": sub_org, "client_reference_id": org_subject});
    assert_eq!(send(ev("cs"), "checkout.session.completed", now_s(), done).await, "applied");
    let created = subscription(&sub_org, &org_customer, "active", &p.team);
    assert_eq!(send(ev("org"), "customer.subscription.created", now_s(), created).await, "applied");
    let (st, a) = s.call("GET", &format!("/api/billing/account?org={org_id}"), &token, None).await;
    assert_eq!((st, a["plan"].as_str(), a["subject"].as_str()), (200, Some("team"), Some(org_subject.as_str())), "{a}");
    assert_eq!(account(s, &token).await["plan"], "engineer", "{label}: the owner's own plan is unchanged");

    // A plain member may not buy or look at the org's plan.
    let member_email = format!("member-{label}@example.com");
    let member = s.user(&member_email).await;
    let invite = json!({"email": member_email, "role": "member"});
    let (st, inv) = s.call("POST", &format!("/api/orgs/{org_id}/invitations"), &token, Some(invite)).await;
    assert_eq!(st, 202, "{inv}");
    let accept = format!("/api/invitations/{}/accept", inv["id"].as_str().unwrap());
    assert_eq!(s.call("POST", &accept, &member, None).await.0, 200);
    let (st, v) = s.call("POST", "/api/billing/checkout", &member, Some(json!({"plan": "team", "org": org_id}))).await;
    assert_eq!(st, 403, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("owner and admins"), "{v}");
    assert_eq!(s.call("GET", &format!("/api/billing/account?org={org_id}"), &member, None).await.0, 403);

    // Seats: the team plan has 5; a 6th member is one extra seat, reported once a month.
    let state = &s.running.as_ref().unwrap().state;
    let seats = |r: &[flowcfd::store::OutboxRow]| {
        r.iter().filter(|r| r.period.ends_with("/seats")).map(|r| r.quantity).sum::<f64>()
    };
    flowcfd::service::billing_report::queue_overage(state).await.unwrap();
    assert_eq!(seats(&state.store.outbox_of(&org_subject).await.unwrap()), 0.0, "{label}: 2 of 5 seats");
    for i in 0..4 {
        let u = state
            .store
            .create_user(flowcfd::store::NewUser {
                email: format!("seat{i}-{label}@example.com"),
                name: "Seat".into(),
                password_hash: None,
                auth_provider: "email".into(),
                auth_provider_id: None,
            })
            .await
            .unwrap();
        state.store.set_member(org_id, &u.id, flowcfd::store::Role::Editor).await.unwrap();
    }
    for _ in 0..2 {
        flowcfd::service::billing_report::queue_overage(state).await.unwrap();
    }
    let rows = state.store.outbox_of(&org_subject).await.unwrap();
    assert_eq!(seats(&rows), 1.0, "{label}: one extra seat, reported once: {rows:?}");
    let row = rows.iter().find(|r| r.period.ends_with("/seats")).unwrap();
    assert_eq!(row.subscription_id, sub_org);
    assert!(row.idempotency_key.starts_with(&format!("flowcfd-{sub_org}-")), "{row:?}");
}

#[tokio::test]
async fn billing_off_answers_409_and_the_webhook_is_not_a_session_route() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(&common::db::sqlite_in(dir.path()), |_| {}).await;
    let token = s.user("nobody-pays@example.com").await;
    let (st, v) = s.call("POST", "/api/billing/checkout", &token, Some(json!({"plan": "engineer"}))).await;
    assert_eq!(st, 409, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("billing.provider"), "{v}");
    let (st, _) = s.call("POST", "/api/billing/portal", &token, None).await;
    assert_eq!(st, 409);
    let (st, a) = s.call("GET", "/api/billing/account", &token, None).await;
    assert_eq!((st, a["plan"].as_str(), a["provider"].as_str()), (200, Some("unlimited"), Some("none")), "{a}");
    let (body, sig) = event("evt_x", "invoice.paid", now_s(), &json!({"customer": "cus_x"}));
    let (st, _) = post_event(&s, &body, Some(&sig)).await;
    assert_eq!(st, 409);
    s.stop().await;
}

#[tokio::test]
async fn a_report_that_cannot_reach_stripe_waits_longer_each_time_and_says_why() {
    use flowcfd::store::{new_report, AccountChange, PastDue, StripeEventRecord};
    // Nothing listens on the API base: every attempt fails to connect.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(&common::db::sqlite_in(dir.path()), |c| {
        let stripe = flowcfd::config::StripeConfig {
            secret_key: SECRET_KEY.into(),
            webhook_secret: WHSEC.into(),
            api_base: format!("http://{closed}"),
            timeout_s: 1,
            ..Default::default()
        };
        c.billing = Some(flowcfd::config::BillingConfig {
            provider: "stripe".into(),
            report_interval_s: 3600,
            stripe,
            ..Default::default()
        });
    })
    .await;
    let st = &s.running.as_ref().unwrap().state;
    st.store.link_customer("user:u9", "cus_9").await.unwrap();
    let live = AccountChange {
        subject: None,
        customer_id: Some("cus_9".into()),
        subscription_id: Some("sub_9".into()),
        status: Some("active".into()),
        plan: Some("engineer".into()),
        past_due: PastDue::Keep,
        is_state: true,
        own_subscription_only: false,
    };
    let ev = StripeEventRecord { id: "evt_9", kind: "customer.subscription.created", created_ms: 1 };
    st.store.apply_stripe_event(&ev, &live).await.unwrap();
    let r = new_report("user:u9", "sub_9", "2026-12", 1, 3.0);
    assert!(st.store.outbox_add(&r).await.unwrap());
    let mut waits = Vec::new();
    for attempt in 1..=3 {
        // Make the report due now, as time passing would.
        st.store.outbox_retry(&r.id, 0, "due").await.unwrap();
        let before = flowcfd::store::now_ms();
        flowcfd::service::billing_report::send_due(st).await.unwrap();
        let row = st.store.outbox_of("user:u9").await.unwrap().remove(0);
        assert_eq!((row.attempts, row.sent_at), (attempt, None));
        assert!(row.last_error.as_deref().unwrap().contains("cannot reach Stripe"), "{row:?}");
        waits.push(row.next_at - before);
    }
    assert!(waits[0] >= 5_000 && waits[0] < 6_000, "{waits:?}");
    assert!(waits[1] >= 10_000 && waits[1] < 11_000, "{waits:?}");
    assert!(waits[2] >= 20_000 && waits[2] < 21_000, "{waits:?}");
    s.stop().await;
}
