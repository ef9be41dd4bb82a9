//! Tenancy after membership changes (issue 19, items 1, 2 and 6), over real HTTP on SQLite
//! and PostgreSQL: an org project's role comes from the membership alone, never from
//! having created it; org membership is by invitation and consent, and neither inviting
//! nor registering tells which emails have accounts; a WebSocket signed in by the session
//! cookie must be opened from this site's own pages.
mod common;

use common::db;
use common::server::{cookie_of, TestServer, PW};
use flowcfd::store::JobStatus;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

fn cube_stl() -> Vec<u8> {
    std::fs::read(common::root().join("examples/cube.stl")).unwrap()
}

/// The status of a WebSocket handshake to a job's events (101 when it opened) sent with
/// `headers`.
async fn ws(s: &TestServer, job: &str, headers: &[(&str, &str)]) -> u16 {
    let mut r = format!("{}/api/jobs/{job}/ws", s.url.replacen("http", "ws", 1)).into_client_request().unwrap();
    for (k, v) in headers {
        let name = tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(k.as_bytes()).unwrap();
        r.headers_mut().insert(name, v.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(r).await {
        Ok((_socket, resp)) => resp.status().as_u16(),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("handshake failed without an HTTP answer: {e}"),
    }
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_else(|| panic!("no id in {v}")).to_string()
}

/// Invites `email` to `org` as `role` and accepts as `token`.
async fn join(s: &TestServer, owner: &str, org: &str, email: &str, token: &str, role: &str) {
    let body = json!({"email": email, "role": role});
    let (st, inv) = s.call("POST", &format!("/api/orgs/{org}/invitations"), owner, Some(body)).await;
    assert_eq!(st, 202, "{inv}");
    let (st, o) = s.call("POST", &format!("/api/invitations/{}/accept", id(&inv)), token, None).await;
    // "member" is the old name of "editor", still taken as input.
    let expect = if role == "member" { "editor" } else { role };
    assert_eq!((st, o["role"].as_str()), (200, Some(expect)), "{o}");
}

/// A ready cube in project `pid` with one case: (geometry id, case id).
async fn cube_case(s: &TestServer, token: &str, pid: &str) -> (String, String) {
    let (st, g) = s.upload(token, pid, "cube.stl", cube_stl()).await;
    assert_eq!(st, 202, "{g}");
    let gid = id(&g);
    assert_eq!(s.settle(token, &gid).await["status"], "ready");
    let case = json!({"name": "cube", "geometry_id": gid, "flow": {"type": "external", "velocity": [10, 0, 0]},
                      "mesh": {"target_cells": 20000}, "solver": {"iterations": 10}});
    let (st, c) = s.call("POST", &format!("/api/projects/{pid}/cases"), token, Some(case)).await;
    assert_eq!(st, 201, "{c}");
    (gid, id(&c))
}

/// Submits a run of the case (the server runs none: `jobs.slots = 0`).
async fn submit(s: &TestServer, token: &str, case: &str) -> String {
    let (st, j) = s.call("POST", &format!("/api/cases/{case}/jobs"), token, Some(json!({"executor": "local"}))).await;
    assert_eq!(st, 201, "{j}");
    id(&j)
}

/// Finishes the only queued job as a worker would, with a summary.json to read back.
async fn complete(s: &TestServer, job: &str, summary: &Value) {
    let st = &s.running.as_ref().unwrap().state;
    let claimed = st.store.claim_job("test-worker", 60_000).await.unwrap().expect("a queued job");
    assert_eq!(claimed.id, job);
    for to in [JobStatus::Preparing, JobStatus::Meshing, JobStatus::Solving, JobStatus::Completed] {
        assert!(st.store.transition(job, "test-worker", to, "test").await.unwrap(), "to {to:?}");
    }
    st.blobs.put(&format!("jobs/{job}/summary.json"), summary.to_string().into()).await.unwrap();
}

#[tokio::test]
async fn an_org_projects_role_comes_from_membership_not_from_creating_it() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, url) in db::backends(dir.path()).await {
        let s = TestServer::start(&url, |c| c.jobs.slots = 0).await;
        let lead = s.user("lead@example.org").await;
        let b = s.user("creator@example.org").await;
        let b_id = id(&s.call("GET", "/api/me", &b, None).await.1["user"]);
        let (st, org) = s.call("POST", "/api/orgs", &lead, Some(json!({"name": "Wind lab", "slug": "wind-lab"}))).await;
        assert_eq!(st, 201, "{org}");
        let oid = id(&org);
        join(&s, &lead, &oid, "creator@example.org", &b, "member").await;

        // A member creates an org project and fills it: geometry, case, a finished job with
        // a result, and a queued one.
        let (st, p) = s.call("POST", "/api/projects", &b, Some(json!({"name": "bracket", "org_id": oid}))).await;
        assert_eq!(st, 201, "{backend}: {p}");
        assert_eq!((p["owner_id"].as_str(), p["role"].as_str()), (Some(b_id.as_str()), Some("editor")), "{p}");
        let pid = id(&p);
        let (gid, cid) = cube_case(&s, &b, &pid).await;
        let done = submit(&s, &b, &cid).await;
        let summary = json!({"solve": {"iterations": 10, "final_residuals": {"p": 1e-4}}, "forces": {"Cd": 1.05}});
        complete(&s, &done, &summary).await;
        let queued = submit(&s, &b, &cid).await;
        let case = json!({"name": "again", "geometry_id": gid, "flow": {"type": "external", "velocity": [5, 0, 0]}});

        let reads = [
            format!("/api/projects/{pid}"),
            format!("/api/projects/{pid}/geometries"),
            format!("/api/geometries/{gid}"),
            format!("/api/geometries/{gid}/surface"),
            format!("/api/projects/{pid}/cases"),
            format!("/api/cases/{cid}"),
            format!("/api/jobs?project={pid}"),
            format!("/api/jobs/{done}"),
            format!("/api/jobs/{done}/summary"),
            format!("/api/jobs/{done}/samples"),
            format!("/api/jobs/{done}/log"),
            format!("/api/jobs/{done}/views"),
            format!("/api/jobs/{queued}"),
        ];
        let writes = [
            ("PATCH", format!("/api/projects/{pid}"), Some(json!({"name": "renamed"}))),
            ("POST", format!("/api/projects/{pid}/cases"), Some(case.clone())),
            ("POST", format!("/api/cases/{cid}/jobs"), Some(json!({"executor": "local"}))),
            ("POST", format!("/api/jobs/{queued}/cancel"), None),
            ("POST", format!("/api/jobs/{done}/views"), Some(json!({"name": "v", "config": {"kind": "slice"}}))),
            ("POST", format!("/api/geometries/{gid}/retry"), None),
            ("DELETE", format!("/api/geometries/{gid}"), None),
            ("DELETE", format!("/api/projects/{pid}"), None),
        ];
        let bearer = format!("Bearer {b}");
        let listed = |v: &Value| v.as_array().unwrap().iter().find(|p| p["id"] == pid.as_str()).cloned();

        // As a member, the creator may change it (rename) but not delete it: deleting an
        // org project is for the org's admins.
        let (st, r) = s.call("PATCH", &format!("/api/projects/{pid}"), &b, Some(json!({"name": "bracket 2"}))).await;
        assert_eq!(st, 200, "{backend}: {r}");
        assert_eq!(s.call("DELETE", &format!("/api/projects/{pid}"), &b, None).await.0, 403, "{backend}");

        // Demoted to viewer: every read, the socket included; no write.
        let (st, m) =
            s.call("PATCH", &format!("/api/orgs/{oid}/members/{b_id}"), &lead, Some(json!({"role": "viewer"}))).await;
        assert_eq!(st, 200, "{backend}: {m}");
        let (_, list) = s.call("GET", "/api/projects", &b, None).await;
        assert_eq!(listed(&list).expect("still listed")["role"], "viewer", "{backend}: {list}");
        for path in &reads {
            let (st, v) = s.call("GET", path, &b, None).await;
            assert_eq!(st, 200, "{backend} viewer GET {path}: {v}");
        }
        assert_eq!(s.call("GET", &format!("/api/jobs/{done}/summary"), &b, None).await.1, summary);
        assert_eq!(
            ws(&s, &queued, &[("authorization", bearer.as_str())]).await,
            101,
            "{backend}: a viewer watches jobs"
        );
        for (m, path, body) in &writes {
            let (st, v) = s.call(m, path, &b, body.clone()).await;
            assert_eq!(st, 403, "{backend} viewer {m} {path}: {v}");
        }
        assert_eq!(s.upload(&b, &pid, "cube.stl", cube_stl()).await.0, 403, "{backend}: viewer upload");
        let (_, p) = s.call("GET", &format!("/api/projects/{pid}"), &b, None).await;
        assert_eq!(p["name"], "bracket 2", "{backend}: nothing changed");

        // Removed from the org: the project they created is gone from their view entirely.
        assert_eq!(s.call("DELETE", &format!("/api/orgs/{oid}/members/{b_id}"), &lead, None).await.0, 204);
        let (_, list) = s.call("GET", "/api/projects", &b, None).await;
        assert!(listed(&list).is_none(), "{backend}: {list}");
        for path in &reads {
            let (st, v) = s.call("GET", path, &b, None).await;
            assert_eq!(st, 404, "{backend} removed GET {path}: {v}");
        }
        for (m, path, body) in &writes {
            let (st, v) = s.call(m, path, &b, body.clone()).await;
            assert_eq!(st, 404, "{backend} removed {m} {path}: {v}");
        }
        assert_eq!(s.upload(&b, &pid, "cube.stl", cube_stl()).await.0, 404, "{backend}: removed upload");
        assert_eq!(ws(&s, &queued, &[("authorization", bearer.as_str())]).await, 404, "{backend}: removed socket");
        let (st, _) = s.call("POST", "/api/projects", &b, Some(json!({"name": "x", "org_id": oid}))).await;
        assert_eq!(st, 404, "{backend}");

        // The org keeps the project: its owner holds it, and the queued job is still queued.
        let (_, j) = s.call("GET", &format!("/api/jobs/{queued}"), &lead, None).await;
        assert_eq!(j["status"], "queued", "{backend}: {j}");
        let (st, p) = s.call("GET", &format!("/api/projects/{pid}"), &lead, None).await;
        assert_eq!((st, p["role"].as_str(), p["owner_id"].as_str()), (200, Some("owner"), Some(b_id.as_str())));
        assert_eq!(s.call("DELETE", &format!("/api/projects/{pid}"), &lead, None).await.0, 204, "{backend}");
        s.stop().await;
    }
}

/// Registers through the API: (status, body).
async fn register(s: &TestServer, email: &str, password: &str) -> (u16, Value) {
    let body = json!({"email": email, "password": password, "name": "Someone"});
    let r = s.http.post(s.u("/api/auth/register")).json(&body).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn org_membership_is_by_consent_and_tells_nothing_about_accounts() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, url) in db::backends(dir.path()).await {
        let s = TestServer::start(&url, |_| {}).await;
        let a = s.user("owner@example.org").await;
        let b = s.user("member@example.org").await;
        let c = s.user("other@example.org").await;
        let (_, org) = s.call("POST", "/api/orgs", &a, Some(json!({"name": "Wind lab", "slug": "wind-lab"}))).await;
        let oid = id(&org);
        let (_, op) = s.call("POST", "/api/projects", &a, Some(json!({"name": "secret wing", "org_id": oid}))).await;
        let opid = id(&op);
        let invite = |token: &str, email: &str, role: &str| {
            let (token, body) = (token.to_string(), json!({"email": email, "role": role}));
            let s = &s;
            let path = format!("/api/orgs/{oid}/invitations");
            async move { s.call("POST", &path, &token, Some(body)).await }
        };

        // The same answer for an email with an account, one without, and a member's.
        let mut answers = Vec::new();
        for email in ["member@example.org", "nobody@example.org", "Owner@Example.org"] {
            let (st, v) = invite(&a, email, "member").await;
            let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
            answers.push((st, keys.iter().map(|k| k.to_string()).collect::<Vec<_>>()));
            assert!(uuid::Uuid::parse_str(&id(&v)).is_ok(), "{v}");
        }
        assert!(answers.iter().all(|x| *x == (202, vec!["id".to_string()])), "{backend}: {answers:?}");
        // Input errors that do not depend on who has an account.
        for (email, role, says) in [
            ("not-an-email", "member", "not an email address"),
            ("x@example.org", "owner", "expected admin, editor or viewer"),
            ("x@example.org", "boss", "expected admin, editor or viewer"),
        ] {
            let (st, p) = invite(&a, email, role).await;
            assert_eq!(st, 422, "{p}");
            assert!(p["detail"].as_str().unwrap().contains(says), "{p}");
        }
        // Only the org's owners and admins invite; strangers do not learn the org exists.
        assert_eq!(invite(&c, "z@example.org", "viewer").await.0, 404, "{backend}");
        // The old "add a member by email" route is gone.
        let (st, _) = s
            .call(
                "POST",
                &format!("/api/orgs/{oid}/members"),
                &a,
                Some(json!({"email": "other@example.org", "role": "viewer"})),
            )
            .await;
        assert!(st == 404 || st == 405, "{backend}: {st}");

        // Until they accept, the invitee sees the invitation and nothing else of the org.
        let (st, mine) = s.call("GET", "/api/invitations", &b, None).await;
        assert_eq!(st, 200);
        let mine = mine.as_array().unwrap().clone();
        assert_eq!(mine.len(), 1, "{backend}: {mine:?}");
        let inv = &mine[0];
        assert_eq!(
            (inv["org_name"].as_str(), inv["role"].as_str(), inv["inviter"].as_str()),
            (Some("Wind lab"), Some("editor"), Some("owner"))
        );
        let ttl = inv["expires_at"].as_i64().unwrap() - inv["created_at"].as_i64().unwrap();
        assert_eq!(ttl, 7 * 24 * 3600 * 1000, "invitations expire after 7 days");
        assert_eq!(s.call("GET", "/api/orgs", &b, None).await.1, json!([]));
        assert_eq!(s.call("GET", &format!("/api/orgs/{oid}"), &b, None).await.0, 404);
        assert_eq!(s.call("GET", &format!("/api/projects/{opid}"), &b, None).await.0, 404);
        assert_eq!(s.call("GET", "/api/projects", &b, None).await.1, json!([]));
        assert_eq!(s.call("GET", &format!("/api/orgs/{oid}/invitations"), &b, None).await.0, 404);

        // Nobody else can see, accept or decline it.
        let inv_id = id(inv);
        assert!(!s.call("GET", "/api/invitations", &c, None).await.1.to_string().contains(&inv_id));
        for action in ["accept", "decline"] {
            let (st, p) = s.call("POST", &format!("/api/invitations/{inv_id}/{action}"), &c, None).await;
            assert_eq!(st, 404, "{backend} {action}: {p}");
        }
        assert_eq!(s.call("POST", "/api/invitations/no-such-id/accept", &b, None).await.0, 404);

        // Accepting makes a member with the invited role, once.
        let (st, o) = s.call("POST", &format!("/api/invitations/{inv_id}/accept"), &b, None).await;
        assert_eq!((st, o["id"].as_str(), o["role"].as_str()), (200, Some(oid.as_str()), Some("editor")), "{o}");
        assert_eq!(s.call("POST", &format!("/api/invitations/{inv_id}/accept"), &b, None).await.0, 404);
        let (st, p) = s.call("GET", &format!("/api/projects/{opid}"), &b, None).await;
        assert_eq!((st, p["role"].as_str()), (200, Some("editor")));
        assert_eq!(s.call("GET", "/api/invitations", &b, None).await.1, json!([]));

        // Roles change through PATCH; the owner's stays; members cannot change roles.
        let b_id = id(&s.call("GET", "/api/me", &b, None).await.1["user"]);
        let a_id = id(&s.call("GET", "/api/me", &a, None).await.1["user"]);
        let role = |r: &str| Some(json!({"role": r}));
        let member_path = |u: &str| format!("/api/orgs/{oid}/members/{u}");
        assert_eq!(s.call("PATCH", &member_path(&b_id), &a, role("viewer")).await.0, 200);
        assert_eq!(s.call("GET", &format!("/api/projects/{opid}"), &b, None).await.1["role"], "viewer");
        assert_eq!(s.call("PATCH", &member_path(&a_id), &a, role("viewer")).await.0, 422);
        assert_eq!(s.call("PATCH", &member_path(&b_id), &a, role("owner")).await.0, 422);
        assert_eq!(s.call("PATCH", &member_path("nobody"), &a, role("viewer")).await.0, 404);
        assert_eq!(s.call("PATCH", &member_path(&a_id), &b, role("viewer")).await.0, 403);

        // Declining; withdrawing; an account registered after its invitation finds it.
        let (_, i) = invite(&a, "other@example.org", "viewer").await;
        assert_eq!(s.call("POST", &format!("/api/invitations/{}/decline", id(&i)), &c, None).await.0, 204);
        assert_eq!(s.call("POST", &format!("/api/invitations/{}/accept", id(&i)), &c, None).await.0, 404);
        assert_eq!(s.call("GET", &format!("/api/orgs/{oid}"), &c, None).await.0, 404, "{backend}");
        let (st, pending) = s.call("GET", &format!("/api/orgs/{oid}/invitations"), &a, None).await;
        assert_eq!(st, 200);
        let later = pending.as_array().unwrap().iter().find(|i| i["email"] == "nobody@example.org").expect("pending");
        let (_, i) = invite(&a, "withdrawn@example.org", "viewer").await;
        assert_eq!(s.call("DELETE", &format!("/api/orgs/{oid}/invitations/{}", id(&i)), &a, None).await.0, 204);
        let n = s.user("nobody@example.org").await;
        let (_, mine) = s.call("GET", "/api/invitations", &n, None).await;
        assert_eq!(mine.as_array().unwrap().len(), 1, "{backend}: {mine}");
        assert_eq!(mine[0]["id"], later["id"]);
        assert_eq!(s.call("POST", &format!("/api/invitations/{}/accept", id(later)), &n, None).await.0, 200);
        let w = s.user("withdrawn@example.org").await;
        assert_eq!(s.call("GET", "/api/invitations", &w, None).await.1, json!([]), "{backend}");

        // An expired invitation is neither listed nor usable.
        let store = &s.running.as_ref().unwrap().state.store;
        let old = store
            .invite(&oid, "other@example.org", flowcfd::store::Role::Editor, &a_id, flowcfd::store::now_ms() - 1)
            .await
            .unwrap();
        assert_eq!(s.call("GET", "/api/invitations", &c, None).await.1, json!([]));
        assert_eq!(s.call("POST", &format!("/api/invitations/{old}/accept"), &c, None).await.0, 404);

        // Registration: a taken email gets the answer a new one gets and keeps its password.
        let new = register(&s, "fresh@example.org", PW).await;
        let taken = register(&s, "member@example.org", "a-different-password-9").await;
        assert_eq!(new.0, 202, "{backend}: {new:?}");
        assert_eq!(new, taken, "{backend}");
        let r = s
            .http
            .post(s.u("/api/auth/login"))
            .json(&json!({"email": "member@example.org", "password": "a-different-password-9"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        s.login("member@example.org").await;
        s.login("fresh@example.org").await;
        s.stop().await;
    }
}

#[tokio::test]
async fn the_dashboard_lists_invitations_and_the_sign_up_form_reveals_no_more_than_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(&db::sqlite_in(dir.path()), |_| {}).await;
    let a = s.user("owner@example.org").await;
    s.user("guest@example.org").await;
    let (_, org) = s.call("POST", "/api/orgs", &a, Some(json!({"name": "Wind lab", "slug": "wind-lab"}))).await;
    let oid = id(&org);
    let body = json!({"email": "guest@example.org", "role": "viewer"});
    let (_, inv) = s.call("POST", &format!("/api/orgs/{oid}/invitations"), &a, Some(body)).await;
    let cookie = s.session("guest@example.org").await;
    let (st, html) = s.page("/", &cookie).await;
    assert_eq!(st, 200);
    let accept = format!("/invitations/{}/accept", id(&inv));
    assert!(html.contains("Wind lab") && html.contains(&accept), "{html}");
    let csrf = html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let r = s.http.post(s.u(&accept)).header("cookie", &cookie).form(&[("csrf", "forged")]).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let r = s.http.post(s.u(&accept)).header("cookie", &cookie).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let (_, html) = s.page("/", &cookie).await;
    assert!(!html.contains(&accept), "accepted invitations leave the dashboard");
    let token = s.login("guest@example.org").await["token"].as_str().unwrap().to_string();
    assert_eq!(s.call("GET", &format!("/api/orgs/{oid}"), &token, None).await.0, 200);

    // The sign-up form signs in like the sign-in form would: a new email, or a taken one
    // with its own password, gets a session; a taken one with another password gets
    // "wrong email or password".
    let sr = &s;
    let form = |email: &'static str, password: &'static str| async move {
        let s = sr;
        let r = s.http.get(s.u("/register")).send().await.unwrap();
        let pre = cookie_of(&r, "flowcfd_pre").unwrap();
        s.http
            .post(s.u("/register"))
            .header("cookie", format!("flowcfd_pre={pre}"))
            .form(&[("csrf", pre.as_str()), ("name", "X"), ("email", email), ("password", password)])
            .send()
            .await
            .unwrap()
    };
    for (email, password) in [("new@example.org", PW), ("guest@example.org", PW)] {
        let r = form(email, password).await;
        assert_eq!(r.status(), 303, "{email}");
        assert!(cookie_of(&r, "flowcfd_session").is_some(), "{email}");
    }
    let r = form("guest@example.org", "not-the-password-1").await;
    assert_eq!(r.status(), 401);
    assert!(cookie_of(&r, "flowcfd_session").is_none());
    assert!(r.text().await.unwrap().contains("wrong email or password"));
    s.stop().await;
}

#[tokio::test]
async fn a_cookie_websocket_must_come_from_this_sites_pages() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(&db::sqlite_in(dir.path()), |c| c.jobs.slots = 0).await;
    let a = s.user("watcher@example.org").await;
    let (_, p) = s.call("POST", "/api/projects", &a, Some(json!({"name": "wing"}))).await;
    let (_, cid) = cube_case(&s, &a, &id(&p)).await;
    let job = submit(&s, &a, &cid).await;
    let cookie = s.session("watcher@example.org").await;
    let bearer = format!("Bearer {a}");
    let own = s.url.clone();

    // Another site's page opening a socket with the visitor's cookie is refused.
    let suffixed = format!("{own}.evil.example");
    for foreign in ["https://evil.example", "null", suffixed.as_str(), "http://localhost:1"] {
        let st = ws(&s, &job, &[("cookie", cookie.as_str()), ("origin", foreign)]).await;
        assert_eq!(st, 403, "cookie from {foreign}");
    }
    // This site's own pages, and clients that send no Origin, are served.
    assert_eq!(ws(&s, &job, &[("cookie", cookie.as_str()), ("origin", own.as_str())]).await, 101);
    assert_eq!(ws(&s, &job, &[("cookie", cookie.as_str())]).await, 101);
    // A bearer token is not sent by browsers on their own, so its Origin does not matter.
    let st = ws(&s, &job, &[("authorization", bearer.as_str()), ("origin", "https://evil.example")]).await;
    assert_eq!(st, 101);
    // The check comes before the job lookup: a foreign page learns nothing of job ids.
    let st = ws(&s, "no-such-job", &[("cookie", cookie.as_str()), ("origin", "https://evil.example")]).await;
    assert_eq!(st, 403);
    s.stop().await;
}

#[tokio::test]
async fn an_org_cannot_pile_up_invitations() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(&db::sqlite_in(dir.path()), |_| {}).await;
    let a = s.user("admin@example.org").await;
    let (_, org) = s.call("POST", "/api/orgs", &a, Some(json!({"name": "Busy lab", "slug": "busy-lab"}))).await;
    let path = format!("/api/orgs/{}/invitations", id(&org));
    let max = flowcfd::service::invitations::MAX_PENDING_INVITATIONS;
    for i in 0..max {
        let (st, v) =
            s.call("POST", &path, &a, Some(json!({"email": format!("p{i}@example.org"), "role": "viewer"}))).await;
        assert_eq!(st, 202, "invitation {i}: {v}");
    }
    // One more is refused with a message that says what to do, whatever the email.
    for email in ["admin@example.org", "nobody@example.org"] {
        let (st, v) = s.call("POST", &path, &a, Some(json!({"email": email, "role": "viewer"}))).await;
        assert_eq!(st, 409, "{v}");
        assert!(v["detail"].as_str().unwrap().contains("withdraw some"), "{v}");
    }
    // Renewing a pending one is still allowed, and withdrawing one makes room.
    let (st, renewed) = s.call("POST", &path, &a, Some(json!({"email": "p0@example.org", "role": "member"}))).await;
    assert_eq!(st, 202, "{renewed}");
    let (st, _) = s.call("DELETE", &format!("{path}/{}", id(&renewed)), &a, None).await;
    assert_eq!(st, 204);
    let (st, v) = s.call("POST", &path, &a, Some(json!({"email": "late@example.org", "role": "viewer"}))).await;
    assert_eq!(st, 202, "{v}");
    s.stop().await;
}

/// Not tenancy, but it needs this file's job helpers: between the worker's intent to submit
/// and the executor's answer a job's handle is `intent:N`, and its log is empty, not a 503
/// (the job page fetches the log as soon as it opens; the browser e2e once caught it).
#[tokio::test]
async fn a_job_between_intent_and_submission_has_an_empty_log() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(&db::sqlite_in(dir.path()), |c| c.jobs.slots = 0).await;
    let a = s.user("intent@example.org").await;
    let (_, p) = s.call("POST", "/api/projects", &a, Some(json!({"name": "wing"}))).await;
    let (_, cid) = cube_case(&s, &a, &id(&p)).await;
    let job = submit(&s, &a, &cid).await;
    let st = &s.running.as_ref().unwrap().state;
    let claimed = st.store.claim_job("test-worker", 60_000).await.unwrap().expect("a queued job");
    assert!(st.store.set_handle(&claimed.id, "test-worker", "intent:1").await.unwrap());
    let r = s.http.get(s.u(&format!("/api/jobs/{job}/log?tail=12000"))).bearer_auth(&a).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-log-end"], "0");
    assert_eq!(r.text().await.unwrap(), "");
    s.stop().await;
}
