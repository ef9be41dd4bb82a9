//! Issue 24, the account and org pages and their API, on SQLite and PostgreSQL: the name
//! and job-mail setting, a password change that signs out everywhere else, live sign-ins
//! revoked one by one, API tokens made and revoked on the account page, and an org
//! renamed, its roles (owner, admin, editor, viewer; "member" still means editor) and its
//! deletion, which its owner confirms by typing its name.
mod common;

use common::db;
use common::server::{TestServer, PW};
use serde_json::json;

/// The hidden CSRF field of a page.
fn csrf(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a form with a CSRF field") + "name=\"csrf\" value=\"".len();
    html[at..].chars().take_while(|c| *c != '"').collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_account_its_password_sign_ins_and_tokens() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, url) in db::backends(dir.path()).await {
        let s = TestServer::start(&url, |_| {}).await;
        let a = s.user("ann@example.org").await;
        let (st, me) = s.call("PATCH", "/api/me", &a, Some(json!({"name": "Ann Lee", "notify_jobs": false}))).await;
        assert_eq!(
            (st, me["name"].as_str(), me["notify_jobs"].as_bool()),
            (200, Some("Ann Lee"), Some(false)),
            "{backend}: {me}"
        );
        for bad in
            [json!({"name": ""}), json!({"name": "x\u{7}"}), json!({"nickname": "x"}), json!({"notify_jobs": "yes"})]
        {
            let (st, body) = s.call("PATCH", "/api/me", &a, Some(bad.clone())).await;
            assert!(st == 422 || st == 400, "{backend}: {bad} → {st} {body}");
            assert!(body["detail"].is_string(), "{body}");
        }

        // Two sign-ins: this API client's and a browser's; the browser's is revoked.
        let login = s.login("ann@example.org").await;
        let cookie = s.session("ann@example.org").await;
        let (st, list) = s.call("GET", "/api/me/sessions", &a, None).await;
        assert_eq!(st, 200);
        let kinds: Vec<&str> = list.as_array().unwrap().iter().map(|x| x["kind"].as_str().unwrap()).collect();
        assert!(kinds.contains(&"session") && kinds.contains(&"refresh"), "{backend}: {list}");
        let browser = list.as_array().unwrap().iter().find(|x| x["kind"] == "session").unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (st, _) = s.call("DELETE", &format!("/api/me/sessions/{browser}"), &a, None).await;
        assert_eq!(st, 204);
        let (st, _) = s.page("/account", &cookie).await;
        assert_eq!(st, 303, "{backend}: the revoked browser is signed out");
        let (st, _) = s.call("DELETE", &format!("/api/me/sessions/{browser}"), &a, None).await;
        assert_eq!(st, 404);

        // The account page: the token made there is shown once, then listed by prefix only.
        let cookie = s.session("ann@example.org").await;
        let (st, html) = s.page("/account", &cookie).await;
        assert_eq!(st, 200);
        assert!(
            html.contains("Ann Lee") && html.contains("(this browser)") && html.contains("id=\"tokens\""),
            "{html}"
        );
        let form = [("csrf", csrf(&html)), ("action", "create-token".into()), ("name", "lab pipeline".into())];
        let r = s.http.post(s.u("/account")).header("cookie", &cookie).form(&form).send().await.unwrap();
        let html = r.text().await.unwrap();
        let at = html.find("id=\"new-token\"").expect("the new token, once");
        let token: String = html[..at].rsplit("value=\"").next().unwrap().chars().take_while(|c| *c != '"').collect();
        assert!(token.starts_with("fcfd_"), "{token}");
        let (st, me) = s.call("GET", "/api/me", &token, None).await;
        assert_eq!((st, me["user"]["email"].as_str()), (200, Some("ann@example.org")));
        let (_, again) = s.page("/account", &cookie).await;
        assert!(!again.contains(&token), "{backend}: shown once");

        // Changing the password needs the current one, and ends the other sign-ins.
        let change = |cur: &str, new: &str| json!({"current_password": cur, "new_password": new});
        let (st, body) =
            s.call("POST", "/api/me/password", &a, Some(change("wrong-password-1", "laminar-flow-77"))).await;
        assert_eq!(st, 400, "{body}");
        assert!(body["detail"].as_str().unwrap().contains("current password"), "{body}");
        let (st, _) = s.call("POST", "/api/me/password", &a, Some(change(PW, "short"))).await;
        assert_eq!(st, 400);
        let (st, _) = s.call("POST", "/api/me/password", &a, Some(change(PW, "laminar-flow-77"))).await;
        assert_eq!(st, 204, "{backend}");
        let r =
            s.http.post(s.u("/api/auth/refresh")).json(&json!({"refresh_token": login["refresh_token"]})).send().await;
        assert_eq!(r.unwrap().status(), 401, "{backend}: the earlier refresh token is revoked");
        let (st, _) = s.page("/account", &cookie).await;
        assert_eq!(st, 303, "{backend}: and the browser session");
        let (st, _) = s.call("GET", "/api/me", &token, None).await;
        assert_eq!(st, 200, "API tokens keep working");
        // Audited as a change by its owner, not as a reset by mail (Ann, the first account, is the admin).
        let (_, log) = s.call("GET", "/api/admin/audit", &token, None).await;
        let actions: Vec<&str> = log.as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
        assert!(actions.contains(&"user.password_change") && !actions.contains(&"user.password_reset"), "{log}");
        let r = s
            .http
            .post(s.u("/api/auth/login"))
            .json(&json!({"email": "ann@example.org", "password": "laminar-flow-77"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_org_is_renamed_its_roles_changed_and_deleted_by_its_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, url) in db::backends(dir.path()).await {
        let s = TestServer::start(&url, |_| {}).await;
        let owner = s.user("owner@example.org").await;
        let ed = s.user("ed@example.org").await;
        let (_, org) = s.call("POST", "/api/orgs", &owner, Some(json!({"name": "Wake lab", "slug": "wake-lab"}))).await;
        let oid = org["id"].as_str().unwrap().to_string();
        // "member" is still taken, as editor.
        let (st, inv) = s
            .call(
                "POST",
                &format!("/api/orgs/{oid}/invitations"),
                &owner,
                Some(json!({"email": "ed@example.org", "role": "member"})),
            )
            .await;
        assert_eq!(st, 202, "{backend}: {inv}");
        let (st, o) =
            s.call("POST", &format!("/api/invitations/{}/accept", inv["id"].as_str().unwrap()), &ed, None).await;
        assert_eq!((st, o["role"].as_str()), (200, Some("editor")), "{backend}: {o}");
        let (_, p) = s.call("POST", "/api/projects", &ed, Some(json!({"name": "flap", "org_id": oid}))).await;
        let pid = p["id"].as_str().unwrap().to_string();

        let (st, _) = s.call("PATCH", &format!("/api/orgs/{oid}"), &ed, Some(json!({"name": "Ed's lab"}))).await;
        assert_eq!(st, 403, "{backend}: editors do not rename");
        let (st, o) =
            s.call("PATCH", &format!("/api/orgs/{oid}"), &owner, Some(json!({"name": "Wake and wing lab"}))).await;
        assert_eq!((st, o["name"].as_str()), (200, Some("Wake and wing lab")), "{o}");

        // The org page: members with roles; the owner's delete form.
        let cookie = s.session("owner@example.org").await;
        let (st, html) = s.page(&format!("/orgs/{oid}"), &cookie).await;
        assert_eq!(st, 200);
        assert!(
            html.contains("ed@example.org") && html.contains("id=\"delete\"") && html.contains("id=\"invite\""),
            "{html}"
        );
        let ed_cookie = s.session("ed@example.org").await;
        let (st, html) = s.page(&format!("/orgs/{oid}"), &ed_cookie).await;
        assert_eq!(st, 200);
        assert!(!html.contains("id=\"delete\"") && !html.contains("id=\"invite\""), "an editor manages nothing");
        let (_, dash) = s.page("/", &ed_cookie).await;
        assert!(dash.contains(&format!("/orgs/{oid}")), "the dashboard links the org page");

        // Deleting: the owner only, confirmed by the name; nothing is lost on a wrong one.
        let (st, _) = s.call("DELETE", &format!("/api/orgs/{oid}?confirm=Wake%20and%20wing%20lab"), &ed, None).await;
        assert_eq!(st, 403);
        let (st, body) = s.call("DELETE", &format!("/api/orgs/{oid}?confirm=Wake"), &owner, None).await;
        assert_eq!(st, 422, "{body}");
        assert!(body["detail"].as_str().unwrap().contains("nothing was deleted"), "{body}");
        let (st, _) = s.call("GET", &format!("/api/projects/{pid}"), &ed, None).await;
        assert_eq!(st, 200);
        let (_, html) = s.page(&format!("/orgs/{oid}"), &cookie).await;
        let form = [("csrf", csrf(&html)), ("action", "delete".into()), ("confirm", "Wake and wing lab".into())];
        let r = s.http.post(s.u(&format!("/orgs/{oid}"))).header("cookie", &cookie).form(&form).send().await.unwrap();
        assert_eq!(r.status(), 303, "{backend}");
        let (st, _) = s.call("GET", &format!("/api/orgs/{oid}"), &owner, None).await;
        assert_eq!(st, 404, "{backend}");
        let (st, _) = s.call("GET", &format!("/api/projects/{pid}"), &ed, None).await;
        assert_eq!(st, 404, "{backend}: its projects went with it");
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_see_the_clusters_health_and_every_job_but_no_one_else_does() {
    common::require_openfoam();
    let dir = tempfile::tempdir().unwrap();
    // A Kubernetes cluster whose API server is not there.
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: gone\n  cluster:\n    server: https://127.0.0.1:1\n\
         contexts:\n- name: gone\n  context:\n    cluster: gone\n    user: u\ncurrent-context: gone\n\
         users:\n- name: u\n  user:\n    token: t\n",
    )
    .unwrap();
    for (backend, url) in db::backends(dir.path()).await {
        let kubeconfig = kubeconfig.clone();
        let s = TestServer::start(&url, |c| {
            c.clusters = vec![flowcfd::config::ClusterConfig {
                name: "eks".into(),
                kind: "kubernetes".into(),
                kubeconfig: Some(kubeconfig.clone()),
                image: Some("registry.example.com/flowcfd/solver:v2312".into()),
                cores_per_node: 8,
                max_cores: 64,
                ..Default::default()
            }];
        })
        .await;
        let admin = s.user("root@example.org").await;
        let ann = s.user("ann@example.org").await;
        let (_, _, case) = s.cube_case(&ann, 3_000, 2).await;
        let (st, job) =
            s.call("POST", &format!("/api/cases/{case}/jobs"), &ann, Some(json!({"executor": "local"}))).await;
        assert_eq!(st, 201, "{job}");

        let (st, health) = s.call("GET", "/api/admin/clusters", &admin, None).await;
        assert_eq!(st, 200, "{health}");
        let local = &health[0];
        assert_eq!((local["name"].as_str(), local["ok"].as_bool()), (Some("local"), Some(true)), "{health}");
        assert!(local["detail"].as_str().unwrap().contains("cores"), "{local}");
        let eks = &health[1];
        assert_eq!((eks["name"].as_str(), eks["ok"].as_bool()), (Some("eks"), Some(false)), "{health}");
        assert!(!eks["detail"].as_str().unwrap().is_empty(), "says what failed: {eks}");

        let (st, jobs) = s.call("GET", "/api/admin/jobs?user=ANN&executor=local", &admin, None).await;
        assert_eq!(st, 200);
        assert_eq!(jobs[0]["id"], job["id"], "{jobs}");
        assert_eq!(jobs[0]["user_email"], "ann@example.org");
        let (_, none) = s.call("GET", "/api/admin/jobs?user=nobody", &admin, None).await;
        assert_eq!(none, json!([]));
        let (_, none) = s.call("GET", "/api/admin/jobs?status=failed&user=ann", &admin, None).await;
        assert!(none.as_array().unwrap().iter().all(|j| j["status"] == "failed"), "{none}");

        for path in ["/api/admin/clusters", "/api/admin/jobs"] {
            let (st, _) = s.call("GET", path, &ann, None).await;
            assert_eq!(st, 403, "{path}");
        }
        let cookie = s.session("root@example.org").await;
        let (st, html) = s.page("/admin?check=clusters", &cookie).await;
        assert_eq!(st, 200);
        assert!(
            html.contains("data-cluster=\"eks\" data-ok=\"false\"")
                && html.contains("data-cluster=\"local\" data-ok=\"true\""),
            "{html}"
        );
        assert!(
            html.contains(&format!("data-job=\"{}\"", job["id"].as_str().unwrap()))
                && html.contains("no impersonation")
        );
        let (st, _) = s.page("/admin", &s.session("ann@example.org").await).await;
        assert_eq!(st, 403, "{backend}");
        s.stop().await;
    }
}
