//! Single sign-on against a real OpenID Connect provider on loopback (oauth2-mock-server):
//! discovery, authorization code with PKCE, ID token checked against the provider's JWKS.
mod common;

use common::{db, server::TestServer};
use std::process::{Child, Command, Stdio};

struct Node(Child);
impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_provider() -> (Node, String) {
    use std::io::BufRead;
    let js = common::root().join("tests/js");
    assert!(js.join("node_modules/oauth2-mock-server").exists(), "run `npm ci --prefix tests/js` (.ci/test does)");
    // Port 0: the provider binds a port itself and names it in its issuer URL. (Picking a free
    // port here and handing it over raced with the other test's listeners.)
    let mut child = Command::new("node")
        .arg(js.join("oidc-server.mjs"))
        .arg("0")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start node");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let issuer = line
        .trim()
        .strip_prefix("ready ")
        .unwrap_or_else(|| panic!("OIDC provider did not start: {line:?}"))
        .to_string();
    (Node(child), issuer)
}

fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).find_map(|c| {
        let kv = c.split(';').next()?;
        let (k, v) = kv.split_once('=')?;
        (k == name && !v.is_empty()).then(|| v.to_string())
    })
}

/// Follows login → provider → callback and returns the session cookie (or the failure).
async fn sso_round_trip(s: &TestServer, name: &str) -> Result<String, (u16, String)> {
    let r = s.http.get(s.u(&format!("/auth/oidc/{name}/login"))).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let state_cookie = set_cookie(&r, "flowcfd_oauth").expect("state cookie");
    let authorize = r.headers()["location"].to_str().unwrap().to_string();
    let r = s.http.get(&authorize).send().await.unwrap();
    let callback = r.headers()["location"].to_str().unwrap().to_string();
    let r = s.http.get(&callback).header("cookie", format!("flowcfd_oauth={state_cookie}")).send().await.unwrap();
    match set_cookie(&r, "flowcfd_session") {
        Some(c) if r.status() == 303 => Ok(c),
        _ => Err((r.status().as_u16(), r.text().await.unwrap())),
    }
}

#[tokio::test]
async fn sign_in_with_github_style_oauth2() {
    let (_provider, issuer) = start_provider();
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(&db::sqlite_in(dir.path()), |c| {
        c.auth.providers = vec![flowcfd::config::ProviderConfig {
            name: "github".into(),
            kind: "github".into(),
            client_id: "flowcfd".into(),
            client_secret: Some("s3cret".into()),
            authorize_url: Some(format!("{issuer}/authorize")),
            token_url: Some(format!("{issuer}/token")),
            userinfo_url: Some(format!("{issuer}/userinfo")),
            ..Default::default()
        }];
    })
    .await;
    assert!(s.http.get(s.u("/login")).send().await.unwrap().text().await.unwrap().contains("Sign in with GitHub"));
    let session = sso_round_trip(&s, "github").await.expect("GitHub-style sign-in");
    let html = s.http.get(s.u("/")).header("cookie", format!("flowcfd_session={session}")).send().await.unwrap();
    let html = html.text().await.unwrap();
    assert!(html.contains("Octo Cat") && html.contains("octo@example.org"), "{html}");
    // The same provider account signs in to the same FlowCFD account.
    let again = sso_round_trip(&s, "github").await.expect("second sign-in");
    s.user("password-user@example.org").await;
    // The first account (the SSO one) is admin: it sees exactly two accounts.
    let r =
        s.http.get(s.u("/api/admin/users")).header("cookie", format!("flowcfd_session={again}")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let users: serde_json::Value = r.json().await.unwrap();
    let users = users.as_array().unwrap();
    assert_eq!(users.len(), 2, "{users:?}");
    assert!(users.iter().any(|u| u["email"] == "octo@example.org" && u["auth_provider"] == "github"), "{users:?}");
    s.stop().await;
}

#[tokio::test]
async fn sign_in_with_openid_connect() {
    let (_provider, issuer) = start_provider();
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(&db::sqlite_in(dir.path()), |c| {
        c.auth.providers = vec![flowcfd::config::ProviderConfig {
            name: "campus".into(),
            kind: "oidc".into(),
            issuer: Some(issuer.clone()),
            client_id: "flowcfd".into(),
            client_secret: Some("s3cret".into()),
            label: Some("University SSO".into()),
            ..Default::default()
        }];
    })
    .await;
    let login_page = s.http.get(s.u("/login")).send().await.unwrap().text().await.unwrap();
    assert!(login_page.contains("Sign in with University SSO"));

    // 1. FlowCFD sends the browser to the provider with state, nonce and a PKCE challenge.
    let r = s.http.get(s.u("/auth/oidc/campus/login")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let state_cookie = set_cookie(&r, "flowcfd_oauth").expect("state cookie");
    let authorize = r.headers()["location"].to_str().unwrap().to_string();
    assert!(authorize.starts_with(&issuer) && authorize.contains("code_challenge="), "{authorize}");

    // 2. The provider signs the user in and redirects back with a code.
    let r = s.http.get(&authorize).send().await.unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    let callback = r.headers()["location"].to_str().unwrap().to_string();
    assert!(callback.starts_with(&s.url), "{callback}");

    // A callback without the browser's state cookie is refused.
    let r = s.http.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 401);

    // 3. With it, FlowCFD trades the code, verifies the ID token, and opens a session.
    let r = s.http.get(&callback).header("cookie", format!("flowcfd_oauth={state_cookie}")).send().await.unwrap();
    let status = r.status();
    let session = set_cookie(&r, "flowcfd_session");
    assert_eq!(status, 303, "{}", r.text().await.unwrap());
    let session = session.expect("session cookie");
    let home = s.http.get(s.u("/")).header("cookie", format!("flowcfd_session={session}")).send().await.unwrap();
    let html = home.text().await.unwrap();
    assert!(html.contains("SSO User") && html.contains("sso.user@example.org"), "{html}");

    // A tampered state is refused.
    let bad = callback.replace("state=", "state=x");
    let r = s.http.get(&bad).header("cookie", format!("flowcfd_oauth={state_cookie}")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    s.stop().await;
}
