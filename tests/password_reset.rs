//! Issue 24, password reset without mail delivery, on SQLite and PostgreSQL: the request
//! answers the same for known and unknown addresses; the link is held for the admin page
//! (and printed by `flowcfd admin reset-link`); it works once; a reset ends the account's
//! refresh tokens, sessions and earlier access tokens; expired links are refused; the pages
//! take a user through it.
mod common;

use common::db;
use common::server::{cookie_of, TestServer, PW};
use serde_json::{json, Value};

const NEW_PW: &str = "boundary-layer-77";

async fn post(s: &TestServer, path: &str, body: Value) -> (u16, Value) {
    let r = s.http.post(s.u(path)).json(&body).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The reset links on the admin page (newest first).
async fn held_links(s: &TestServer, admin_cookie: &str) -> Vec<String> {
    let (st, html) = s.page("/admin", admin_cookie).await;
    assert_eq!(st, 200, "{html}");
    html.split("value=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|v| v.contains("/reset-password?token="))
        .map(|v| v.replace("&#x3D;", "=").replace("&#61;", "=").replace("&amp;", "&"))
        .collect()
}

fn token_of(link: &str) -> String {
    link.split("token=").nth(1).unwrap().to_string()
}

async fn login(s: &TestServer, email: &str, pw: &str) -> u16 {
    post(s, "/api/auth/login", json!({"email": email, "password": pw})).await.0
}

async fn reset_on(label: &'static str, url: String) {
    // Links are made from public_url: a fixed free port, so that it is known in advance.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let s = TestServer::start(&url, |c| {
        c.bind = format!("127.0.0.1:{port}");
        c.public_url = Some(format!("http://127.0.0.1:{port}/"));
    })
    .await;
    s.user("admin@example.org").await; // the first account: the server admin
    let admin = s.session("admin@example.org").await;
    let access = s.user("alice@example.org").await;
    let tokens = s.login("alice@example.org").await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    let alice_session = s.session("alice@example.org").await;

    // The same answer for an account and for nobody; a malformed address is a 400.
    let known = post(&s, "/api/auth/password-reset", json!({"email": "Alice@Example.org"})).await;
    let unknown = post(&s, "/api/auth/password-reset", json!({"email": "nobody@example.org"})).await;
    assert_eq!(known.0, 202, "{label}: {known:?}");
    assert_eq!(known, unknown, "{label}: the answer must not tell whether the address has an account");
    let (st, bad) = post(&s, "/api/auth/password-reset", json!({"email": "not an address"})).await;
    assert_eq!(st, 400, "{label}: {bad}");
    assert!(bad["detail"].as_str().unwrap().contains("email"), "{label}: {bad}");

    // No mail delivery: the link waits on the admin page, and only there.
    let links = held_links(&s, &admin).await;
    assert_eq!(links.len(), 1, "{label}: one held link (none for the unknown address): {links:?}");
    assert!(links[0].starts_with(&format!("{}/reset-password?token=", s.url)), "{label}: {}", links[0]);
    let (st, _) = s.page("/admin", &alice_session).await;
    assert_eq!(st, 403, "{label}: only admins see held links");
    let token = token_of(&links[0]);

    // A weak password is refused without spending the link.
    let (st, weak) = post(&s, "/api/auth/password-reset/confirm", json!({"token": token, "password": "short"})).await;
    assert_eq!(st, 400, "{label}: {weak}");
    assert!(weak["detail"].as_str().unwrap().contains("at least 10"), "{label}: {weak}");
    // The link works once.
    let (st, body) = post(&s, "/api/auth/password-reset/confirm", json!({"token": token, "password": NEW_PW})).await;
    assert_eq!(st, 204, "{label}: {body}");
    let (st, again) = post(&s, "/api/auth/password-reset/confirm", json!({"token": token, "password": NEW_PW})).await;
    assert_eq!(st, 400, "{label}: a used link must fail: {again}");
    assert!(again["detail"].as_str().unwrap().contains("ask for a new one"), "{label}: {again}");
    assert!(held_links(&s, &admin).await.is_empty(), "{label}: a used link is no longer held");

    // Signed out everywhere: the refresh token, the browser session and the access token.
    let (st, _) = post(&s, "/api/auth/refresh", json!({"refresh_token": refresh})).await;
    assert_eq!(st, 401, "{label}: the refresh token must be revoked");
    let (st, _) = s.call("GET", "/api/me", &access, None).await;
    assert_eq!(st, 401, "{label}: an access token from before the reset must be refused");
    let (st, _) = s.page("/usage", &alice_session).await;
    assert_ne!(st, 200, "{label}: the old browser session must be over");
    assert_eq!(login(&s, "alice@example.org", PW).await, 401, "{label}: the old password");
    assert_eq!(login(&s, "alice@example.org", NEW_PW).await, 200, "{label}: the new password");

    // The operator's link, printed by the CLI against the same data directory and database.
    let mut c = common::flowcfd_clean();
    c.args(["admin", "reset-link", "alice@example.org", "--database-url", &url, "--data-dir"]).arg(s.dir.path());
    let (ok, out, err) = common::run(&mut c);
    assert!(ok, "{label}: {err}");
    let link = out.trim().to_string();
    assert!(link.contains("/reset-password?token="), "{label}: {out}");
    let (ok, _, err) = common::run(
        common::flowcfd_clean()
            .args(["admin", "reset-link", "ghost@example.org", "--database-url", &url, "--data-dir"])
            .arg(s.dir.path()),
    );
    assert!(!ok && err.contains("no password account"), "{label}: {err}");

    // The pages: the link opens the form, which sets the password and says so.
    let page = s.http.get(s.u(&format!("/reset-password?token={}", token_of(&link)))).send().await.unwrap();
    let pre = cookie_of(&page, "flowcfd_pre").expect("pre-session cookie");
    let html = page.text().await.unwrap();
    assert!(html.contains("Choose a new password"), "{label}: {html}");
    let form = |pw: &'static str, confirm: &'static str| {
        let t = token_of(&link);
        let pre = pre.clone();
        s.http.post(s.u("/reset-password")).header("cookie", format!("flowcfd_pre={pre}")).form(&[
            ("csrf", pre.clone()),
            ("token", t),
            ("password", pw.into()),
            ("confirm", confirm.into()),
        ])
    };
    let r = form("tollmien-schlichting-5", "tollmien-schlichting-6").send().await.unwrap();
    assert_eq!(r.status(), 400, "{label}: passwords that differ");
    let r = form("tollmien-schlichting-5", "tollmien-schlichting-5").send().await.unwrap();
    assert_eq!(r.status(), 200, "{label}");
    assert!(r.text().await.unwrap().contains("id=\"reset-done\""), "{label}");
    assert_eq!(login(&s, "alice@example.org", "tollmien-schlichting-5").await, 200, "{label}");

    // The forgot-password page gives every address the same sentence.
    let page = s.http.get(s.u("/forgot-password")).send().await.unwrap();
    let pre = cookie_of(&page, "flowcfd_pre").unwrap();
    let mut answers = Vec::new();
    for email in ["alice@example.org", "nobody@example.org"] {
        let r = s
            .http
            .post(s.u("/forgot-password"))
            .header("cookie", format!("flowcfd_pre={pre}"))
            .form(&[("csrf", pre.as_str()), ("email", email)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{label}");
        let html = r.text().await.unwrap();
        let at = html.find("id=\"reset-requested\"").expect("the answer");
        answers.push(html[at..at + 200].to_string());
    }
    assert_eq!(answers[0], answers[1], "{label}");

    // Expired links are refused and not held, at the store (the 30 minutes are not waited).
    let store = flowcfd::store::open(&url).await.unwrap();
    let user = store.user_by_email("alice@example.org").await.unwrap().unwrap();
    let now = flowcfd::store::now_ms();
    let mail = |expires: i64| flowcfd::store::OutboxMail {
        id: flowcfd::store::new_id(),
        kind: "reset".into(),
        user_id: Some(user.id.clone()),
        to_addr: user.email.clone(),
        subject: "Reset".into(),
        link_sealed: None,
        detail: None,
        held: true,
        expires_at: Some(expires),
        created_at: now,
        attempts: 0,
        last_error: None,
    };
    store.issue_user_token("reset", "expired-hash", &mail(now - 1)).await.unwrap();
    assert_eq!(store.use_user_token("expired-hash", "reset", now).await.unwrap(), None, "{label}");
    assert!(store.held_mail(now, 10).await.unwrap().is_empty(), "{label}: an expired link is not held");
    // A newer link spends the older one.
    store.issue_user_token("reset", "older-hash", &mail(now + 60_000)).await.unwrap();
    store.issue_user_token("reset", "newer-hash", &mail(now + 60_000)).await.unwrap();
    assert_eq!(store.use_user_token("older-hash", "reset", now).await.unwrap(), None, "{label}");
    assert_eq!(store.use_user_token("newer-hash", "reset", now).await.unwrap(), Some(user.id.clone()), "{label}");
    assert_eq!(store.use_user_token("newer-hash", "reset", now).await.unwrap(), None, "{label}: once");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reset_link_works_once_and_signs_the_account_out_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let mut runs = Vec::new();
    for (label, url) in db::backends(dir.path()).await {
        runs.push(tokio::spawn(reset_on(label, url)));
    }
    for r in runs {
        r.await.unwrap();
    }
}
