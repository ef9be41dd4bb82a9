//! Issue 19, accounts and data at rest: the per-account sign-in back-off and trusted
//! proxies (item 3), a weak or damaged server secret (4), the first-user admin race and
//! `admin create-user` (5), and owner-only data files (7).
mod common;

use common::db;
use common::server::{cookie_of, TestServer, PW};
use serde_json::{json, Value};
use std::io::{BufRead, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Registers `email` (201 today, 202 once registration stops telling whether an email
/// is taken).
async fn register(s: &TestServer, email: &str) {
    let r = s
        .http
        .post(s.u("/api/auth/register"))
        .json(&json!({"email": email, "password": PW, "name": "Test"}))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    assert!(status == 201 || status == 202, "register {email}: {status} {}", r.text().await.unwrap());
}

/// An API sign-in: (status, Retry-After, body).
async fn login(s: &TestServer, email: &str, password: &str, xff: Option<&str>) -> (u16, Option<u64>, Value) {
    let mut req = s.http.post(s.u("/api/auth/login")).json(&json!({"email": email, "password": password}));
    if let Some(x) = xff {
        req = req.header("x-forwarded-for", x);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let retry = r.headers().get("retry-after").map(|v| v.to_str().unwrap().parse().unwrap());
    (status, retry, r.json().await.unwrap_or(Value::Null))
}

/// Waits out a back-off of `s` seconds.
async fn wait_out(s: u64) {
    tokio::time::sleep(Duration::from_millis(s * 1000 + 150)).await;
}

async fn backoff_on(label: &str, url: String) {
    let s = TestServer::start(&url, |c| {
        c.limits.auth_per_minute = 10_000;
        c.limits.login_backoff_after = 3;
    })
    .await;
    let email = "ada@example.org";
    register(&s, email).await;
    // Two failures are free; the third starts a wait of 1 s.
    for _ in 0..3 {
        assert_eq!(login(&s, email, "wrong-password-1", None).await.0, 401, "{label}");
    }
    // While it lasts even the right password is refused, with when to come back.
    let (st, retry, body) = login(&s, email, PW, None).await;
    assert_eq!((st, retry), (429, Some(1)), "{label}: {body}");
    assert!(body["detail"].as_str().unwrap().contains("failed sign-ins to this account"), "{label}: {body}");
    // Each failure after a wait doubles the next wait.
    let mut waits = vec![1];
    for _ in 0..2 {
        wait_out(*waits.last().unwrap()).await;
        assert_eq!(login(&s, email, "wrong-password-1", None).await.0, 401, "{label}");
        let (st, retry, _) = login(&s, email, PW, None).await;
        assert_eq!(st, 429, "{label}");
        waits.push(retry.unwrap());
    }
    assert_eq!(waits, [1, 2, 4], "{label}: the wait doubles");
    // The sign-in form is held back the same way, with Retry-After.
    let r = s.http.get(s.u("/login")).send().await.unwrap();
    let pre = cookie_of(&r, "flowcfd_pre").unwrap();
    let r = s
        .http
        .post(s.u("/login"))
        .header("cookie", format!("flowcfd_pre={pre}"))
        .form(&[("csrf", pre.as_str()), ("email", email), ("password", PW)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429, "{label}");
    assert!(r.headers().contains_key("retry-after"), "{label}");
    assert!(r.text().await.unwrap().contains("wait"), "{label}");
    // Once the wait is over the right password works, and resets the count.
    wait_out(4).await;
    assert_eq!(login(&s, email, PW, None).await.0, 200, "{label}");
    assert_eq!(login(&s, email, "wrong-password-1", None).await.0, 401, "{label}");
    assert_eq!(login(&s, email, PW, None).await.0, 200, "{label}: one failure after a success costs no wait");
    // An email without an account backs off alike (the answer tells nothing about it).
    for _ in 0..3 {
        assert_eq!(login(&s, "nobody@example.org", "wrong-password-1", None).await.0, 401, "{label}");
    }
    assert_eq!(login(&s, "nobody@example.org", "wrong-password-1", None).await.0, 429, "{label}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn login_backoff_grows_per_account_and_the_right_password_works_after_the_wait() {
    let dir = tempfile::tempdir().unwrap();
    let mut runs = Vec::new();
    for (label, url) in db::backends(dir.path()).await {
        runs.push(tokio::spawn(backoff_on(label, url)));
    }
    for r in runs {
        r.await.unwrap();
    }
}

#[tokio::test]
async fn clients_behind_a_trusted_proxy_get_their_own_rate_limit() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(&db::sqlite_in(dir.path()), |c| {
        c.limits.auth_per_minute = 2;
        c.server.trusted_proxies = vec!["10.0.0.0/8".into(), "127.0.0.1".into()];
    })
    .await;
    let try_as = |xff: &'static str, n: usize| {
        let s = &s;
        async move { login(s, &format!("someone{n}@example.org"), "wrong-password-1", Some(xff)).await.0 }
    };
    assert_eq!(try_as("203.0.113.1", 1).await, 401);
    assert_eq!(try_as("203.0.113.1", 2).await, 401);
    assert_eq!(try_as("203.0.113.1", 3).await, 429, "the first client's bucket is used up");
    // Another client behind the same proxy has a bucket of its own.
    assert_eq!(try_as("203.0.113.2", 4).await, 401, "a second client is not limited by the first");
    // A client cannot choose its address by sending the header itself: the proxy's
    // right-most entry counts (here through a second, trusted proxy hop).
    assert_eq!(try_as("198.51.100.9, 203.0.113.1, 10.1.2.3", 5).await, 429);
    s.stop().await;

    // RFC 7239 Forwarded, when configured.
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(&db::sqlite_in(dir.path()), |c| {
        c.limits.auth_per_minute = 1;
        c.server.trusted_proxies = vec!["127.0.0.0/8".into()];
        c.server.forwarded_header = "forwarded".into();
    })
    .await;
    let fwd = |ip: &str| {
        s.http
            .post(s.u("/api/auth/login"))
            .header("forwarded", format!("for={ip};proto=https"))
            .json(&json!({"email": "x@example.org", "password": "wrong-password-1"}))
    };
    assert_eq!(fwd("192.0.2.1").send().await.unwrap().status(), 401);
    assert_eq!(fwd("192.0.2.1").send().await.unwrap().status(), 429);
    assert_eq!(fwd("\"[2001:db8::1]:4711\"").send().await.unwrap().status(), 401);
    s.stop().await;
}

#[tokio::test]
async fn an_untrusted_peers_forwarded_header_is_ignored() {
    for trusted in [vec![], vec!["10.0.0.0/8".to_string()]] {
        let dir = tempfile::tempdir().unwrap();
        let s = TestServer::start(&db::sqlite_in(dir.path()), |c| {
            c.limits.auth_per_minute = 2;
            c.server.trusted_proxies = trusted.clone();
        })
        .await;
        assert_eq!(login(&s, "a@example.org", "wrong-password-1", Some("203.0.113.1")).await.0, 401);
        assert_eq!(login(&s, "b@example.org", "wrong-password-1", Some("203.0.113.2")).await.0, 401);
        let (st, retry, _) = login(&s, "c@example.org", "wrong-password-1", Some("203.0.113.3")).await;
        assert_eq!(st, 429, "{trusted:?}: the header of a peer that is no trusted proxy changes nothing");
        assert!(retry.is_some());
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_registrations_make_exactly_one_admin() {
    let dir = tempfile::tempdir().unwrap();
    for (label, url) in db::backends(dir.path()).await {
        let s = TestServer::start(&url, |c| c.limits.auth_per_minute = 10_000).await;
        let regs: Vec<_> = (0..20)
            .map(|i| {
                let (http, u) = (s.http.clone(), s.u("/api/auth/register"));
                tokio::spawn(async move {
                    let body = json!({"email": format!("u{i}@example.org"), "password": PW, "name": "U"});
                    http.post(u).json(&body).send().await.unwrap().status().as_u16()
                })
            })
            .collect();
        for r in regs {
            let st = r.await.unwrap();
            assert!(st == 201 || st == 202, "{label}: {st}");
        }
        let users = s.running.as_ref().unwrap().state.store.list_users().await.unwrap();
        assert_eq!(users.len(), 20, "{label}");
        let admins: Vec<_> = users.iter().filter(|u| u.is_admin).map(|u| u.email.as_str()).collect();
        assert_eq!(admins.len(), 1, "{label}: admins {admins:?}");
        s.stop().await;
    }
}

/// Store-level contention, where the race window is widest: many first inserts at once,
/// several rounds on one emptied PostgreSQL database.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn first_user_creations_racing_on_postgres_make_one_admin_each_round() {
    use sqlx::Connection;
    let url = db::fresh_postgres().await;
    let store = flowcfd::store::open(&url).await.unwrap();
    store.migrate().await.unwrap();
    let mut raw = sqlx::PgConnection::connect(&url).await.unwrap();
    for round in 0..10 {
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(16));
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let (store, barrier) = (store.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    store
                        .create_user(flowcfd::store::NewUser {
                            email: format!("r{round}u{i}@example.org"),
                            name: "U".into(),
                            password_hash: None,
                            auth_provider: "email".into(),
                            auth_provider_id: None,
                        })
                        .await
                        .unwrap()
                        .is_admin
                })
            })
            .collect();
        let mut admins = 0;
        for t in tasks {
            admins += usize::from(t.await.unwrap());
        }
        assert_eq!(admins, 1, "round {round}: {admins} first users became admin");
        sqlx::query("DELETE FROM users").execute(&mut raw).await.unwrap();
    }
}

fn flowcfd_in(dir: &Path) -> Command {
    let mut c = common::flowcfd_clean();
    c.current_dir(dir);
    c
}

/// `flowcfd serve --bind 127.0.0.1:0` in `dir`; its URL once it listens.
fn serve_in(dir: &Path, umask: Option<u32>) -> (Child, String) {
    let mut c = flowcfd_in(dir);
    c.args(["serve", "--bind", "127.0.0.1:0"]).stdout(Stdio::piped()).stderr(Stdio::piped());
    if let Some(m) = umask {
        // SAFETY: umask is async-signal-safe.
        unsafe {
            c.pre_exec(move || {
                libc::umask(m as libc::mode_t);
                Ok(())
            })
        };
    }
    let mut child = c.spawn().unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert!(line.starts_with("FlowCFD is running at http://"), "{line}");
    (child, line.split_whitespace().nth(4).unwrap().to_string())
}

fn stop(mut child: Child) {
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert!(child.wait().unwrap().success());
}

/// Runs `flowcfd serve` that must refuse to start: its stderr. A server that starts
/// instead is stopped and the test fails.
fn serve_refuses(dir: &Path, env: &[(&str, &str)]) -> String {
    let mut c = flowcfd_in(dir);
    c.args(["serve", "--bind", "127.0.0.1:0"]).stdout(Stdio::null()).stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c.spawn().unwrap();
    for _ in 0..300 {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
            assert!(!status.success() && !err.contains("panicked"), "{status:?} {err}");
            return err;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    panic!("flowcfd serve started instead of refusing");
}

#[test]
fn a_short_configured_secret_is_refused_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let err = serve_refuses(dir.path(), &[("FLOWCFD_AUTH__SECRET", "hunter2-hunter2")]);
    assert!(err.contains("auth.secret is 15 bytes") && err.contains("at least 32"), "{err}");
    let (ok, out, err) =
        common::run(flowcfd_in(dir.path()).args(["config", "show"]).env("FLOWCFD_AUTH__SECRET", "short"));
    assert!(!ok && err.contains("auth.secret"), "{out}{err}");
}

#[test]
fn a_damaged_secret_key_stops_the_server_and_is_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let key = data.join("secret.key");
    std::fs::write(&key, "truncated\n").unwrap();
    let err = serve_refuses(dir.path(), &[]);
    assert!(err.contains("secret.key holds 9 bytes") && err.contains("restore"), "{err}");
    assert_eq!(std::fs::read_to_string(&key).unwrap(), "truncated\n", "the damaged key is kept for recovery");
    // One that cannot be read at all (a folder here: root reads any file).
    std::fs::remove_file(&key).unwrap();
    std::fs::create_dir(&key).unwrap();
    let err = serve_refuses(dir.path(), &[]);
    assert!(err.contains("secret.key exists but cannot be read"), "{err}");
    assert!(key.is_dir());
}

#[tokio::test]
async fn create_user_makes_the_admin_with_registration_closed_from_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = flowcfd_in(dir.path());
    c.args(["admin", "create-user", "Root@Example.org", "--admin", "--close-registration", "--password-stdin"]);
    let mut child = c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"pressure-gradient-9\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    assert!(text.contains("root@example.org") && text.contains("administrator"), "{text}");
    assert!(text.contains("registration is closed"), "{text}");
    // Without a password and no terminal it says how to give one.
    let (ok, _, err) =
        common::run(flowcfd_in(dir.path()).args(["admin", "create-user", "x@example.org"]).stdin(Stdio::null()));
    assert!(!ok && err.contains("--password-stdin"), "{err}");

    let (child, url) = serve_in(dir.path(), None);
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{url}/api/auth/register"))
        .json(&json!({"email": "early@example.org", "password": PW, "name": "Early"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "nobody registers before the operator opens registration");
    let r = http
        .post(format!("{url}/api/auth/login"))
        .json(&json!({"email": "root@example.org", "password": "pressure-gradient-9"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let token = r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string();
    let me: Value = http.get(format!("{url}/api/me")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["user"]["is_admin"], true, "{me}");
    stop(child);
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).permissions().mode() & 0o777
}

/// Every file and folder under `dir`, with its mode.
fn modes_under(dir: &Path, out: &mut Vec<(String, u32, bool)>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        out.push((p.display().to_string(), mode(&p), p.is_dir()));
        if p.is_dir() {
            modes_under(&p, out);
        }
    }
}

#[tokio::test]
async fn data_files_are_owner_only_whatever_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    // The loosest umask an operator could have: nothing the server makes may inherit it.
    let (child, url) = serve_in(dir.path(), Some(0));
    let http = reqwest::Client::new();
    let body = json!({"email": "ada@example.org", "password": PW, "name": "Ada"});
    let st = http.post(format!("{url}/api/auth/register")).json(&body).send().await.unwrap().status();
    assert!(st == 201 || st == 202, "{st}");
    let body = json!({"email": "ada@example.org", "password": PW});
    let login: Value =
        http.post(format!("{url}/api/auth/login")).json(&body).send().await.unwrap().json().await.unwrap();
    let token = login["token"].as_str().unwrap();
    let p: Value = http
        .post(format!("{url}/api/projects"))
        .bearer_auth(token)
        .json(&json!({"name": "p"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let stl = std::fs::read(common::root().join("examples/cube.stl")).unwrap();
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(stl).file_name("cube.stl".to_string()));
    let r = http
        .post(format!("{url}/api/projects/{}/geometries", p["id"].as_str().unwrap()))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let data = dir.path().join("data");
    let mut blob_files = 0;
    for _ in 0..100 {
        let mut all = Vec::new();
        modes_under(&data.join("blobs"), &mut all);
        blob_files = all.iter().filter(|(_, _, d)| !d).count();
        if blob_files >= 2 {
            break; // the original and the processed surface
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(blob_files >= 2, "uploads reached the blob folder");
    assert_eq!(mode(&data), 0o700, "data");
    for f in ["flowcfd.db", "flowcfd.db-wal", "flowcfd.db-shm", "secret.key"] {
        assert_eq!(mode(&data.join(f)), 0o600, "{f}");
    }
    let mut all = Vec::new();
    modes_under(&data, &mut all);
    let loose: Vec<_> = all.iter().filter(|(_, m, d)| *m != if *d { 0o700 } else { 0o600 }).collect();
    assert!(loose.is_empty(), "not owner-only: {loose:?}");
    stop(child);
}
