//! Issue 24, mail delivery through a real SMTP server: aiosmtpd (PyPI, started by the test
//! on loopback, saving to a Maildir; `.ci/test` installs it and sets FLOWCFD_TEST_AIOSMTPD).
//! A reset link requested while the SMTP server is down is retried, arrives once it is up
//! (plain text and HTML, with the instance's name), and works once.
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
    let mail = loop {
        if let Some(m) = messages(&maildir).into_iter().next() {
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
    assert_eq!(messages(&maildir).len(), 1, "the message is sent once");
    s.stop().await;
}
