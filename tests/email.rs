//! Issue 24, mail delivery through a real SMTP server: aiosmtpd (PyPI, started by the test
//! on loopback, saving to a Maildir; `.ci/test` installs it and sets FLOWCFD_TEST_AIOSMTPD).
//! A reset link requested while the SMTP server is down is retried, arrives once it is up
//! (plain text and HTML, with the instance's name), and works once. A new account verifies
//! its address by the mailed link before it submits jobs or accepts invitations. A job that
//! ends mails its submitter Cd, Cl and a link, unless they turned job mail off.
mod common;

use common::db;
use common::server::TestServer;
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Smtp(Child);

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// aiosmtpd on 127.0.0.1:`port`, delivering into the Maildir `dir`, once it accepts.
fn start_smtp(port: u16, dir: &Path) -> Smtp {
    let bin = std::env::var("FLOWCFD_TEST_AIOSMTPD")
        .expect("FLOWCFD_TEST_AIOSMTPD is not set: run the tests with .ci/test, which installs aiosmtpd");
    let child = Command::new(bin)
        .args(["-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start aiosmtpd");
    let smtp = Smtp(child);
    let t0 = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t0.elapsed() < Duration::from_secs(20), "aiosmtpd did not listen on {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
    smtp
}

/// The messages delivered so far, as text.
fn messages(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir.join("new")) else { return Vec::new() };
    entries.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok()).collect()
}

/// Undoes quoted-printable soft line breaks and `=3D`, enough to read a link back.
fn unqp(s: &str) -> String {
    s.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reset_link_mailed_during_an_smtp_outage_arrives_afterwards_and_works_once() {
    let dir = tempfile::tempdir().unwrap();
    let (smtp_port, port) = (free_port(), free_port());
    let s = TestServer::start(&db::sqlite_in(dir.path()), |c| {
        c.bind = format!("127.0.0.1:{port}");
        c.public_url = Some(format!("http://127.0.0.1:{port}"));
        c.server.instance_name = "FlowCFD at the Test Lab".into();
        c.email = Some(flowcfd::config::EmailConfig {
            smtp_url: format!("smtp://127.0.0.1:{smtp_port}"),
            from: "FlowCFD Test <cfd@example.org>".into(),
            retry_base_s: 1,
        });
    })
    .await;
    s.user("admin@example.org").await;
    let admin = s.session("admin@example.org").await;
    s.user("alice@example.org").await;

    // The SMTP server is down: the request still answers at once.
    let t0 = Instant::now();
    let r = s.http.post(s.u("/api/auth/password-reset")).json(&json!({"email": "alice@example.org"})).send().await;
    assert_eq!(r.unwrap().status(), 202);
    assert!(t0.elapsed() < Duration::from_secs(5), "the request waited on the mail server");
    // Attempts fail meanwhile (1 s, then 2 s apart); with mail configured nothing is held.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (_, html) = s.page("/admin", &admin).await;
    assert!(!html.contains("/reset-password?token="), "with [email] a link is mailed, not held");

    let maildir = dir.path().join("maildir");
    let _smtp = start_smtp(smtp_port, &maildir);
    let t0 = Instant::now();
    // (The two accounts' verification mails arrive too.)
    let resets = |dir: &Path| -> Vec<String> {
        messages(dir).into_iter().filter(|m| m.contains("Subject: Reset your")).collect()
    };
    let mail = loop {
        if let Some(m) = resets(&maildir).into_iter().next() {
            break m;
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "no mail arrived after the SMTP server came back");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(mail.contains("Subject: Reset your FlowCFD at the Test Lab password"), "{mail}");
    assert!(mail.contains("To: alice@example.org"), "{mail}");
    assert!(
        mail.contains("From: \"FlowCFD Test\" <cfd@example.org>")
            || mail.contains("From: FlowCFD Test <cfd@example.org>"),
        "{mail}"
    );
    assert!(mail.contains("text/plain") && mail.contains("text/html"), "plain text and HTML: {mail}");
    let body = unqp(&mail);
    let at = body.find("/reset-password?token=").expect("the link");
    let token: String = body[at + "/reset-password?token=".len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    assert!(body.contains(&format!("http://127.0.0.1:{port}/reset-password?token={token}")), "{body}");
    assert!(token.len() >= 40, "{token}");

    let confirm = |pw: &'static str| {
        s.http.post(s.u("/api/auth/password-reset/confirm")).json(&json!({"token": token.clone(), "password": pw}))
    };
    assert_eq!(confirm("karman-vortex-street-3").send().await.unwrap().status(), 204);
    let again = confirm("karman-vortex-street-4").send().await.unwrap();
    assert_eq!(again.status(), 400, "the mailed link works once");
    let v: Value = again.json().await.unwrap();
    assert!(v["detail"].as_str().unwrap().contains("already used"), "{v}");
    let r = s
        .http
        .post(s.u("/api/auth/login"))
        .json(&json!({"email": "alice@example.org", "password": "karman-vortex-street-3"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(resets(&maildir).len(), 1, "the message is sent once");
    s.stop().await;
}

/// The first link to `page` in `mail` (quoted-printable undone): its token.
fn token_in(mail: &str, page: &str) -> String {
    let body = unqp(mail);
    let key = format!("/{page}?token=");
    let at = body.find(&key).unwrap_or_else(|| panic!("no {key} link in {body}"));
    body[at + key.len()..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}

/// aiosmtpd on a free port delivering into DIR/maildir, and a server (SQLite in `dir`)
/// that mails through it: (server, SMTP process, maildir, the server's port).
async fn mailing_server(dir: &Path) -> (TestServer, Smtp, std::path::PathBuf, u16) {
    let (smtp_port, port) = (free_port(), free_port());
    let maildir = dir.join("maildir");
    let smtp = start_smtp(smtp_port, &maildir);
    let s = TestServer::start(&db::sqlite_in(dir), |c| {
        c.bind = format!("127.0.0.1:{port}");
        c.public_url = Some(format!("http://127.0.0.1:{port}"));
        c.email = Some(flowcfd::config::EmailConfig {
            smtp_url: format!("smtp://127.0.0.1:{smtp_port}"),
            from: "cfd@example.org".into(),
            retry_base_s: 1,
        });
    })
    .await;
    (s, smtp, maildir, port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_new_account_verifies_its_address_before_it_submits_jobs_or_joins_an_org() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _smtp, maildir, port) = mailing_server(dir.path()).await;
    let wait_mails = |n: usize| {
        let maildir = maildir.clone();
        async move {
            let t0 = Instant::now();
            loop {
                let m = messages(&maildir);
                if m.len() >= n {
                    return m;
                }
                assert!(t0.elapsed() < Duration::from_secs(30), "{} of {n} mails arrived", m.len());
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    let owner = s.user("owner@example.org").await;
    let carol = s.user("carol@example.org").await;
    let mails = wait_mails(2).await;
    let carols = mails.iter().find(|m| m.contains("To: carol@example.org")).expect("carol's verification mail");
    assert!(carols.contains("Subject: Verify your email address for FlowCFD"), "{carols}");
    let (_, me) = s.call("GET", "/api/me", &carol, None).await;
    assert_eq!(me["user"]["email_verified"], false, "{me}");

    // Signed in, but no job and no org until the address is shown to be hers.
    let (st, body) = s.call("POST", "/api/cases/no-such-case/jobs", &carol, Some(json!({"executor": "local"}))).await;
    assert_eq!(st, 403, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("verify your email address"), "{body}");
    let cookie = s.session("carol@example.org").await;
    let (_, dash) = s.page("/", &cookie).await;
    assert!(dash.contains("id=\"verify-banner\""), "the dashboard says what to do");
    // The owner verifies first (their own mail), then invites carol.
    let owners = mails.iter().find(|m| m.contains("To: owner@example.org")).unwrap();
    let r = s.http.post(s.u("/api/auth/verify")).json(&json!({"token": token_in(owners, "verify-email")})).send().await;
    assert_eq!(r.unwrap().status(), 204);
    let (st, org) = s.call("POST", "/api/orgs", &owner, Some(json!({"name": "Wake lab", "slug": "wake-lab"}))).await;
    assert_eq!(st, 201, "{org}");
    let oid = org["id"].as_str().unwrap().to_string();
    let (st, inv) = s
        .call(
            "POST",
            &format!("/api/orgs/{oid}/invitations"),
            &owner,
            Some(json!({"email": "carol@example.org", "role": "viewer"})),
        )
        .await;
    assert_eq!(st, 202, "{inv}");
    // The invitation is mailed to the address, with the org, the inviter and the role.
    let t0 = Instant::now();
    let invite = loop {
        if let Some(m) = messages(&maildir).into_iter().find(|m| m.contains("invited you to Wake lab")) {
            break m;
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "no invitation mail");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(invite.contains("To: carol@example.org"), "{invite}");
    assert!(
        unqp(&invite).contains("as viewer") && unqp(&invite).contains(&format!("http://127.0.0.1:{port}/")),
        "{invite}"
    );
    let accept = format!("/api/invitations/{}/accept", inv["id"].as_str().unwrap());
    let (st, body) = s.call("POST", &accept, &carol, None).await;
    assert_eq!(st, 403, "an unverified account cannot take an invitation sent to the address: {body}");

    // A new link at once is refused (one a minute); the mailed one works, once.
    let (st, _) = s.call("POST", "/api/auth/verify/resend", &carol, None).await;
    assert_eq!(st, 429);
    let token = token_in(carols, "verify-email");
    let page = s.http.get(s.u(&format!("/verify-email?token={token}"))).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("id=\"verify-done\""));
    let again = s.http.get(s.u(&format!("/verify-email?token={token}"))).send().await.unwrap();
    assert_eq!(again.status(), 400, "a verification link works once");
    let (_, me) = s.call("GET", "/api/me", &carol, None).await;
    assert_eq!(me["user"]["email_verified"], true, "{me}");
    let (st, body) = s.call("POST", &accept, &carol, None).await;
    assert_eq!(st, 200, "{body}");
    let (st, body) = s.call("POST", "/api/cases/no-such-case/jobs", &carol, Some(json!({"executor": "local"}))).await;
    assert_eq!(st, 404, "past the gate, the case is looked up: {body}");
    let (st, body) = s.call("POST", "/api/auth/verify/resend", &carol, None).await;
    assert_eq!(st, 409, "{body}");
    let (_, dash) = s.page("/", &cookie).await;
    assert!(!dash.contains("id=\"verify-banner\""));
    s.stop().await;
}

/// Polls a job until it ends (at most 5 minutes): its view.
async fn ended(s: &TestServer, token: &str, job: &str) -> Value {
    for _ in 0..1500 {
        let (_, j) = s.call("GET", &format!("/api/jobs/{job}"), token, None).await;
        if ["completed", "failed", "cancelled"].contains(&j["status"].as_str().unwrap_or("")) {
            return j;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("job {job} did not end in 5 minutes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_job_that_ends_mails_its_submitter_cd_cl_and_a_link_unless_turned_off() {
    common::require_openfoam();
    let dir = tempfile::tempdir().unwrap();
    let (s, _smtp, maildir, port) = mailing_server(dir.path()).await;
    let wait_for = |what: &'static str| {
        let maildir = maildir.clone();
        async move {
            let t0 = Instant::now();
            loop {
                if let Some(m) = messages(&maildir).into_iter().find(|m| m.contains(what)) {
                    return m;
                }
                assert!(t0.elapsed() < Duration::from_secs(60), "no mail with {what:?}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    let dana = s.user("dana@example.org").await;
    let verify = wait_for("To: dana@example.org").await;
    let r =
        s.http.post(s.u("/api/auth/verify")).json(&json!({"token": token_in(&verify, "verify-email")})).send().await;
    assert_eq!(r.unwrap().status(), 204);
    let (st, me) = s.call("GET", "/api/me", &dana, None).await;
    assert_eq!((st, me["user"]["notify_jobs"].as_bool()), (200, Some(true)), "on by default: {me}");

    let (_, _, case) = s.cube_case(&dana, 3_000, 5).await;
    let (st, job) = s.call("POST", &format!("/api/cases/{case}/jobs"), &dana, Some(json!({"executor": "local"}))).await;
    assert_eq!(st, 201, "{job}");
    let jid = job["id"].as_str().unwrap().to_string();
    let j = ended(&s, &dana, &jid).await;
    assert_eq!(j["status"], "completed", "{j}");
    let mail = unqp(&wait_for("Subject: cube completed").await);
    let cd = j["forces"]["Cd"].as_f64().expect("Cd");
    assert!(mail.contains(&format!("{cd:.4}")), "Cd {cd:.4} in the mail: {mail}");
    assert!(mail.contains(&format!("http://127.0.0.1:{port}/jobs/{jid}")), "the job's link: {mail}");
    assert!(mail.contains("text/html"), "{mail}");

    // Turned off: the next job ends without a mail.
    let (st, me) = s.call("PATCH", "/api/me", &dana, Some(json!({"notify_jobs": false}))).await;
    assert_eq!((st, me["notify_jobs"].as_bool()), (200, Some(false)), "{me}");
    let (st, job) = s.call("POST", &format!("/api/cases/{case}/jobs"), &dana, Some(json!({"executor": "local"}))).await;
    assert_eq!(st, 201, "{job}");
    let second = job["id"].as_str().unwrap().to_string();
    assert_eq!(ended(&s, &dana, &second).await["status"], "completed");
    tokio::time::sleep(Duration::from_secs(5)).await;
    let about = messages(&maildir).into_iter().filter(|m| m.contains("Subject: cube completed")).count();
    assert_eq!(about, 1, "no mail for the second job");
    s.stop().await;
}
