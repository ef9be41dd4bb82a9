//! The appliance over real HTTP on loopback, against SQLite and a real PostgreSQL.
mod common;

use common::db;
use common::server::{cookie_of, TestServer, PW};
use serde_json::{json, Value};

fn cube_stl() -> Vec<u8> {
    std::fs::read(common::root().join("examples/cube.stl")).unwrap()
}

#[tokio::test]
async fn auth_tokens_and_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, url) in db::backends(dir.path()).await {
        let s =
            TestServer::start(&url, |c| c.auth.secret = Some("test-secret-0123456789abcdef0123456789".into())).await;
        let reg = |body: Value| {
            let s = &s;
            async move {
                let r = s.http.post(s.u("/api/auth/register")).json(&body).send().await.unwrap();
                let st = r.status().as_u16();
                let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
                (st, ct, r.json::<Value>().await.unwrap_or(Value::Null))
            }
        };
        let (st, _, first) = reg(json!({"email": "Ada@Example.org", "password": PW, "name": "Ada"})).await;
        assert_eq!(st, 202, "{backend}: {first}");
        let t0 = s.login("ada@example.org").await;
        let me = s.call("GET", "/api/me", t0["token"].as_str().unwrap(), None).await.1["user"].clone();
        assert_eq!(me["is_admin"], true, "{backend}: the first account is admin");
        assert_eq!(me["email"], "ada@example.org");
        assert!(me.get("password_hash").is_none());
        // A taken email gets the very answer a new one gets, and its account is untouched.
        let (st, ct, p) =
            reg(json!({"email": "ada@example.org", "password": "another-password-77", "name": "Eve"})).await;
        assert_eq!((st, &p), (202, &first), "{backend}: registration does not tell which emails are taken");
        assert!(ct.starts_with("application/json"), "{ct}");
        let r = s
            .http
            .post(s.u("/api/auth/login"))
            .json(&json!({"email": "ada@example.org", "password": "another-password-77"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{backend}: the second registration set no password");
        let (st, _, p) = reg(json!({"email": "bo@example.org", "password": "short", "name": "Bo"})).await;
        assert_eq!(st, 422, "{p}");
        assert!(p["detail"].as_str().unwrap().contains("at least 10"));
        let (st, _, p) = reg(json!({"email": "not-an-email", "password": PW, "name": "Bo"})).await;
        assert_eq!(st, 422, "{p}");
        let (st, _, p) = reg(json!({"email": "bo@example.org", "password": PW, "name": "Bo", "role": "admin"})).await;
        assert_eq!(st, 422, "unknown field: {p}");
        assert!(p["detail"].as_str().unwrap().contains("unknown field"), "{p}");

        // Malformed JSON, wrong content type, oversized body.
        let r = s
            .http
            .post(s.u("/api/auth/login"))
            .header("content-type", "application/json")
            .body("{\"email\":")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let r =
            s.http.post(s.u("/api/auth/login")).header("content-type", "text/plain").body("{}").send().await.unwrap();
        assert_eq!(r.status(), 415);
        let big = format!("{{\"email\":\"{}\",\"password\":\"x\"}}", "a".repeat((1 << 20) + 1000));
        let r = s
            .http
            .post(s.u("/api/auth/login"))
            .header("content-type", "application/json")
            .body(big)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 413);

        // Login, wrong password, refresh rotation and reuse detection.
        let r = s
            .http
            .post(s.u("/api/auth/login"))
            .json(&json!({"email": "ada@example.org", "password": "wrong-password-1"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        let t = s.login("ada@example.org").await;
        let (token, refresh) = (t["token"].as_str().unwrap(), t["refresh_token"].as_str().unwrap());
        assert_eq!(s.call("GET", "/api/me", token, None).await.0, 200);
        let r = s.http.post(s.u("/api/auth/refresh")).json(&json!({"refresh_token": refresh})).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let t2: Value = r.json().await.unwrap();
        let refresh2 = t2["refresh_token"].as_str().unwrap();
        assert_ne!(refresh, refresh2);
        let r = s.http.post(s.u("/api/auth/refresh")).json(&json!({"refresh_token": refresh})).send().await.unwrap();
        assert_eq!(r.status(), 401, "a used refresh token is refused");
        let r = s.http.post(s.u("/api/auth/refresh")).json(&json!({"refresh_token": refresh2})).send().await.unwrap();
        assert_eq!(r.status(), 401, "reuse revoked the whole family");

        // Forged and expired access tokens.
        let mut forged = token.to_string();
        forged.pop();
        forged.push(if token.ends_with('A') { 'B' } else { 'A' });
        let (st, p) = s.call("GET", "/api/me", &forged, None).await;
        assert_eq!(st, 401, "{p}");
        let now = flowcfd::store::now_ms() / 1000;
        let me_id = me["id"].as_str().unwrap();
        let expired = jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &json!({"sub": me_id, "iat": now - 100, "exp": now - 60, "typ": "access"}),
            &jsonwebtoken::EncodingKey::from_secret(b"test-secret-0123456789abcdef0123456789"),
        )
        .unwrap();
        let (st, p) = s.call("GET", "/api/me", &expired, None).await;
        assert_eq!(st, 401);
        assert!(p["detail"].as_str().unwrap().contains("expired"), "{p}");
        assert_eq!(s.call("GET", "/api/projects", "", None).await.0, 401);

        // API tokens for scripts: shown once, usable, revocable.
        let (st, t) = s.call("POST", "/api/tokens", token, Some(json!({"name": "ci"}))).await;
        assert_eq!(st, 201);
        let api = t["token"].as_str().unwrap();
        assert!(api.starts_with("fcfd_"));
        assert_eq!(s.call("GET", "/api/projects", api, None).await.0, 200);
        let (_, list) = s.call("GET", "/api/tokens", token, None).await;
        assert!(list.to_string().find(api).is_none(), "the token is never shown again");
        assert_eq!(s.call("DELETE", &format!("/api/tokens/{}", t["id"].as_str().unwrap()), token, None).await.0, 204);
        assert_eq!(s.call("GET", "/api/projects", api, None).await.0, 401);

        // Admin: close registration; non-admins cannot.
        let bo = s.user("bo@example.org").await;
        assert_eq!(s.call("PATCH", "/api/admin/settings", &bo, Some(json!({"registration_open": false}))).await.0, 403);
        assert_eq!(
            s.call("PATCH", "/api/admin/settings", token, Some(json!({"registration_open": false}))).await.0,
            200
        );
        let (st, _, p) = reg(json!({"email": "cy@example.org", "password": PW, "name": "Cy"})).await;
        assert_eq!(st, 403, "{p}");
        assert!(p["detail"].as_str().unwrap().contains("closed"));
        let (st, users) = s.call("GET", "/api/admin/users", token, None).await;
        assert_eq!((st, users.as_array().unwrap().len()), (200, 2));
        let bo_id = users.as_array().unwrap().iter().find(|u| u["email"] == "bo@example.org").unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            s.call("PATCH", &format!("/api/admin/users/{bo_id}"), token, Some(json!({"disabled": true}))).await.0,
            200
        );
        assert_eq!(s.call("GET", "/api/me", &bo, None).await.0, 401, "a disabled account's tokens stop working");
        assert_eq!(
            s.call("PATCH", &format!("/api/admin/users/{me_id}"), token, Some(json!({"is_admin": false}))).await.0,
            422
        );
        let (st, audit) = s.call("GET", "/api/admin/audit", token, None).await;
        assert_eq!(st, 200);
        assert!(audit.to_string().contains("token.reuse"), "{audit}");
        s.stop().await;
    }
}

#[tokio::test]
async fn tenancy_projects_orgs_and_geometries() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, url) in db::backends(dir.path()).await {
        let s = TestServer::start(&url, |_| {}).await;
        let a = s.user("owner@example.org").await;
        let b = s.user("viewer@example.org").await;
        let c = s.user("stranger@example.org").await;

        let (st, p) = s.call("POST", "/api/projects", &a, Some(json!({"name": "wing", "description": "NACA"}))).await;
        assert_eq!(st, 201, "{backend}: {p}");
        let pid = p["id"].as_str().unwrap().to_string();
        let (st, g) = s.upload(&a, &pid, "cube.stl", cube_stl()).await;
        assert_eq!(st, 202, "{g}");
        let gid = g["id"].as_str().unwrap().to_string();
        assert_eq!(g["status"], "pending");

        // Another tenant sees nothing: every route answers 404, never 403.
        for (m, path, body) in [
            ("GET", format!("/api/projects/{pid}"), None),
            ("PATCH", format!("/api/projects/{pid}"), Some(json!({"name": "x"}))),
            ("DELETE", format!("/api/projects/{pid}"), None),
            ("GET", format!("/api/projects/{pid}/geometries"), None),
            ("GET", format!("/api/geometries/{gid}"), None),
            ("GET", format!("/api/geometries/{gid}/surface"), None),
            ("GET", format!("/api/geometries/{gid}/original"), None),
            ("POST", format!("/api/geometries/{gid}/retry"), None),
            ("DELETE", format!("/api/geometries/{gid}"), None),
        ] {
            let (st, body) = s.call(m, &path, &c, body).await;
            assert_eq!(st, 404, "{backend} {m} {path}: {body}");
        }
        assert_eq!(s.upload(&c, &pid, "cube.stl", cube_stl()).await.0, 404);
        assert!(s.call("GET", "/api/projects", &c, None).await.1.as_array().unwrap().is_empty());

        // Org roles: a viewer reads, cannot write.
        let (st, org) =
            s.call("POST", "/api/orgs", &a, Some(json!({"name": "Fluids lab", "slug": "fluids-lab"}))).await;
        assert_eq!(st, 201, "{org}");
        let oid = org["id"].as_str().unwrap();
        assert_eq!(s.call("POST", "/api/orgs", &b, Some(json!({"name": "x", "slug": "Bad Slug"}))).await.0, 422);
        let (st, inv) = s
            .call(
                "POST",
                &format!("/api/orgs/{oid}/invitations"),
                &a,
                Some(json!({"email": "viewer@example.org", "role": "viewer"})),
            )
            .await;
        assert_eq!(st, 202, "{inv}");
        let (st, _) =
            s.call("POST", &format!("/api/invitations/{}/accept", inv["id"].as_str().unwrap()), &b, None).await;
        assert_eq!(st, 200);
        assert_eq!(
            s.call(
                "POST",
                &format!("/api/orgs/{oid}/invitations"),
                &b,
                Some(json!({"email": "stranger@example.org", "role": "admin"}))
            )
            .await
            .0,
            403
        );
        assert_eq!(s.call("GET", &format!("/api/orgs/{oid}"), &c, None).await.0, 404);
        let (st, op) = s.call("POST", "/api/projects", &a, Some(json!({"name": "car", "org_id": oid}))).await;
        assert_eq!(st, 201);
        let opid = op["id"].as_str().unwrap().to_string();
        assert_eq!(s.call("POST", "/api/projects", &b, Some(json!({"name": "mine", "org_id": oid}))).await.0, 403);
        let (st, seen) = s.call("GET", &format!("/api/projects/{opid}"), &b, None).await;
        assert_eq!((st, seen["role"].as_str()), (200, Some("viewer")));
        assert_eq!(s.call("PATCH", &format!("/api/projects/{opid}"), &b, Some(json!({"name": "x"}))).await.0, 403);
        assert_eq!(s.call("DELETE", &format!("/api/projects/{opid}"), &b, None).await.0, 403);
        assert_eq!(s.upload(&b, &opid, "cube.stl", cube_stl()).await.0, 403);
        let (st, og) = s.upload(&a, &opid, "cube.stl", cube_stl()).await;
        assert_eq!(st, 202);
        let ogid = og["id"].as_str().unwrap();
        assert_eq!(s.call("GET", &format!("/api/geometries/{ogid}"), &b, None).await.0, 200);
        assert_eq!(s.call("DELETE", &format!("/api/geometries/{ogid}"), &b, None).await.0, 403);
        assert_eq!(s.call("GET", &format!("/api/geometries/{ogid}"), &c, None).await.0, 404);
        assert_eq!(s.call("GET", &format!("/api/projects/{opid}"), &c, None).await.0, 404);

        // The geometry is processed in the background.
        let g = s.settle(&a, &gid).await;
        assert_eq!(g["status"], "ready", "{g}");
        assert_eq!(g["surface_groups"][0]["triangles"], 12);
        assert!((g["surface_groups"][0]["area"].as_f64().unwrap() - 6.0).abs() < 1e-9, "{g}");
        assert_eq!(g["bounding_box"]["min"], json!([-0.5, -0.5, -0.5]));
        assert_eq!(g["healing"]["input_triangles"], 12);
        let r = s.http.get(s.u(&format!("/api/geometries/{gid}/surface"))).bearer_auth(&a).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let bin = r.bytes().await.unwrap();
        assert_eq!(&bin[..4], b"FCS1");
        let n = |i: usize| u32::from_le_bytes(bin[4 + 4 * i..8 + 4 * i].try_into().unwrap()) as usize;
        assert_eq!((n(0), n(1), n(2)), (8, 12, 1));
        assert_eq!(bin.len(), 16 + 8 * 12 + 12 * 12 + 12 * 4);

        // PATCH, then DELETE removes the project and its geometries.
        let (st, p) = s.call("PATCH", &format!("/api/projects/{pid}"), &a, Some(json!({"name": "wing v2"}))).await;
        assert_eq!((st, p["name"].as_str()), (200, Some("wing v2")));
        assert_eq!(s.call("PATCH", &format!("/api/projects/{pid}"), &a, Some(json!({"name": ""}))).await.0, 422);
        assert_eq!(s.call("DELETE", &format!("/api/projects/{pid}"), &a, None).await.0, 204);
        assert_eq!(s.call("GET", &format!("/api/geometries/{gid}"), &a, None).await.0, 404);
        s.stop().await;
    }
}

#[tokio::test]
async fn uploads_that_fail_keep_their_file_and_can_be_retried() {
    let dir = tempfile::tempdir().unwrap();
    let url = db::sqlite_in(dir.path());
    let s = TestServer::start(&url, |c| c.limits.max_upload_bytes = 4096).await;
    let a = s.user("ada@example.org").await;
    let (_, p) = s.call("POST", "/api/projects", &a, Some(json!({"name": "p"}))).await;
    let pid = p["id"].as_str().unwrap();

    // A file that is not a surface: stored, then failed with a reason, original kept.
    let junk = b"solid x\n facet normal 0 0 1\n  outer loop\n   vertex 0 0 zero\n".to_vec();
    let (st, g) = s.upload(&a, pid, "part.stl", junk.clone()).await;
    assert_eq!(st, 202, "{g}");
    let gid = g["id"].as_str().unwrap();
    let g = s.settle(&a, gid).await;
    assert_eq!(g["status"], "failed");
    assert!(g["error"].as_str().unwrap().contains("line 4"), "{g}");
    let r = s.http.get(s.u(&format!("/api/geometries/{gid}/original"))).bearer_auth(&a).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().to_vec(), junk, "the original file is kept");
    let (st, p) = s.call("GET", &format!("/api/geometries/{gid}/surface"), &a, None).await;
    assert_eq!(st, 409, "{p}");
    let (st, g2) = s.call("POST", &format!("/api/geometries/{gid}/retry"), &a, None).await;
    assert_eq!(st, 202, "{g2}");
    assert_eq!(s.settle(&a, gid).await["status"], "failed");
    assert_eq!(s.call("POST", &format!("/api/geometries/{gid}/retry"), &a, None).await.0, 202);

    // Refused before anything is stored: wrong type, too large, empty, no file field.
    let (st, p) = s.upload(&a, pid, "part.step", b"ISO-10303-21;".to_vec()).await;
    assert_eq!(st, 415, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("browser"), "{p}");
    let (st, p) = s.upload(&a, pid, "big.stl", vec![b'x'; 5000]).await;
    assert_eq!(st, 413, "{p}");
    let (st, _) = s.upload(&a, pid, "empty.stl", vec![]).await;
    assert_eq!(st, 422);
    let r = s
        .http
        .post(s.u(&format!("/api/projects/{pid}/geometries")))
        .bearer_auth(&a)
        .header("content-type", "multipart/form-data; boundary=XyZ")
        .body("--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.stl\"\r\n\r\nsolid a\nfacet")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "a truncated multipart body");
    let r = s
        .http
        .post(s.u(&format!("/api/projects/{pid}/geometries")))
        .bearer_auth(&a)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let (_, list) = s.call("GET", &format!("/api/projects/{pid}/geometries"), &a, None).await;
    assert_eq!(list.as_array().unwrap().len(), 1, "refused uploads leave no rows: {list}");
    let blobs: Vec<_> = walk(&s.dir.path().join("blobs"));
    assert_eq!(blobs.iter().filter(|p| p.contains("original")).count(), 1, "{blobs:?}");
    s.stop().await;
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p.display().to_string());
            }
        }
    }
    out
}

#[tokio::test]
async fn operations_health_metrics_headers_rate_limit() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(&db::sqlite_in(dir.path()), |c| {
        c.limits.auth_per_minute = 5;
        c.public_url = Some("https://cfd.example.org".into());
        c.cors.allowed_origins = vec!["https://app.example.org".into()];
    })
    .await;
    let r = s.http.get(s.u("/health/live")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("x-request-id").is_some());
    let r = s.http.get(s.u("/health/ready")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let h = r.headers();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(h["content-security-policy"].to_str().unwrap().contains("default-src 'self'"));
    assert!(h["strict-transport-security"].to_str().unwrap().contains("max-age"), "HSTS under TLS");
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"status": "ok", "database": "ok", "blobs": "ok"}));

    // CORS: the configured origin only.
    let pre = |origin: &'static str| {
        s.http
            .request(reqwest::Method::OPTIONS, s.u("/api/projects"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .send()
    };
    let r = pre("https://app.example.org").await.unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], "https://app.example.org");
    assert!(pre("https://evil.example").await.unwrap().headers().get("access-control-allow-origin").is_none());

    // Rate limiting on sign-in.
    let mut codes = Vec::new();
    for _ in 0..7 {
        let r = s
            .http
            .post(s.u("/api/auth/login"))
            .json(&json!({"email": "x@example.org", "password": "nope-nope-nope"}))
            .send()
            .await
            .unwrap();
        codes.push(r.status().as_u16());
        if r.status() == 429 {
            assert!(r.headers().get("retry-after").is_some());
        }
    }
    assert_eq!(codes, vec![401, 401, 401, 401, 401, 429, 429]);

    // The OpenAPI document against the router: tests/openapi.rs.

    let m = s.http.get(s.u("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(
        m.contains("flowcfd_http_requests_total{method=\"POST\",route=\"/api/auth/login\",status=\"429\"} 2"),
        "{m}"
    );
    assert!(m.contains("flowcfd_http_request_duration_seconds_bucket{route=\"/health/ready\""), "{m}");
    assert!(m.contains("flowcfd_jobs{state=\"queued\"} 0"), "{m}");
    s.stop().await;
}

#[tokio::test]
async fn browser_session_pages_and_csrf() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(&db::sqlite_in(dir.path()), |_| {}).await;
    let r = s.http.get(s.u("/")).send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.headers()["location"].to_str().unwrap()), (303, "/login"));
    let r = s.http.get(s.u("/register")).send().await.unwrap();
    let pre = cookie_of(&r, "flowcfd_pre").unwrap();
    let html = r.text().await.unwrap();
    assert!(html.contains(&format!("value=\"{pre}\"")));
    // Without the matching pre-session token the form is refused.
    let r = s
        .http
        .post(s.u("/register"))
        .form(&[("csrf", "x"), ("name", "Ada"), ("email", "ada@example.org"), ("password", PW)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = s
        .http
        .post(s.u("/register"))
        .header("cookie", format!("flowcfd_pre={pre}"))
        .form(&[("csrf", pre.as_str()), ("name", "Ada <b>"), ("email", "ada@example.org"), ("password", PW)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let raw = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(raw.contains("HttpOnly") && raw.contains("SameSite=Lax"), "{raw}");
    assert!(!raw.contains("Secure"), "no Secure flag without TLS: {raw}");
    let session = cookie_of(&r, "flowcfd_session").unwrap();
    let cookie = format!("flowcfd_session={session}");
    let html = s.http.get(s.u("/")).header("cookie", &cookie).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Ada &#60;b&#62;") || html.contains("Ada &lt;b&gt;"), "user text is escaped");
    let csrf = html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();

    // Forms need the session's CSRF token.
    let r = s
        .http
        .post(s.u("/projects"))
        .header("cookie", &cookie)
        .form(&[("csrf", "forged"), ("name", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = s
        .http
        .post(s.u("/projects"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str()), ("name", "Wing")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    let page = s.http.get(s.u(&loc)).header("cookie", &cookie).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Upload a surface"));

    // The cookie also works for the API: reads freely, changes only with X-CSRF-Token.
    let r = s.http.get(s.u("/api/projects")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r =
        s.http.post(s.u("/api/projects")).header("cookie", &cookie).json(&json!({"name": "p2"})).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let r = s
        .http
        .post(s.u("/api/projects"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&json!({"name": "p2"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    // Static assets are embedded, typed and cacheable.
    let r = s.http.get(s.u("/static/app.css")).send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "text/css");
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let r = s.http.get(s.u("/static/app.css")).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(r.status(), 304);
    assert_eq!(s.http.get(s.u("/static/nope.js")).send().await.unwrap().status(), 404);
    let r = s.http.get(s.u("/no/such/page")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let r = s.http.get(s.u("/api/no/such/route")).send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.headers()["content-type"].to_str().unwrap()), (404, "application/problem+json"));

    // Sign-out ends the session.
    let r =
        s.http.post(s.u("/logout")).header("cookie", &cookie).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let r = s.http.get(s.u("/")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(r.status(), 303);
    s.stop().await;
}

#[tokio::test]
async fn cases_take_the_run_spec_as_json() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, url) in db::backends(dir.path()).await {
        let s = TestServer::start(&url, |_| {}).await;
        let a = s.user("cfd@example.org").await;
        let other = s.user("other@example.org").await;
        let (_, p) = s.call("POST", "/api/projects", &a, Some(json!({"name": "cube"}))).await;
        let pid = p["id"].as_str().unwrap().to_string();
        let (_, g) = s.upload(&a, &pid, "cube.stl", cube_stl()).await;
        let gid = g["id"].as_str().unwrap().to_string();
        assert_eq!(s.settle(&a, &gid).await["status"], "ready");

        // The minimal JSON of the jobs issue, everything else defaulted.
        let minimal = json!({"name":"cube","geometry_id":gid,"flow":{"type":"external","velocity":[10,0,0]},
            "mesh":{"target_cells":40000},"solver":{"iterations":300}});
        let path = format!("/api/projects/{pid}/cases");
        let (st, c) = s.call("POST", &path, &a, Some(minimal.clone())).await;
        assert_eq!(st, 201, "{backend}: {c}");
        assert_eq!((c["name"].as_str(), c["geometry_id"].as_str()), (Some("cube"), Some(gid.as_str())));
        assert_eq!(c["spec"]["solver"]["iterations"], 300);
        assert_eq!(c["spec"]["mesh"]["target_cells"], 40000);
        assert!(c["spec"]["fluid"].is_object() && c["spec"]["turbulence"].is_object(), "defaults are filled in: {c}");
        let cid = c["id"].as_str().unwrap();
        assert_eq!(s.call("GET", &format!("/api/cases/{cid}"), &a, None).await.1["spec"], c["spec"]);
        assert_eq!(s.call("GET", &path, &a, None).await.1.as_array().unwrap().len(), 1);
        assert_eq!(s.call("GET", &format!("/api/cases/{cid}"), &other, None).await.0, 404);
        assert_eq!(s.call("POST", &path, &other, Some(minimal.clone())).await.0, 404);

        // Bad specs say what to fix.
        let with = |k: &str, v: Value| {
            let mut m = minimal.clone();
            m[k] = v;
            m
        };
        let bad = [
            (json!({"flow":{"type":"external","velocity":[10,0,0]}}), 422, "geometry_id"),
            (with("geometry_id", json!("nope")), 422, "not a geometry of this project"),
            (with("geometry", json!("cube.stl")), 422, "geometry_id"),
            (with("colour", json!("red")), 422, "colour"),
            (with("boundaries", json!({"wing": {"type": "wall"}})), 422, "(it has: cube)"),
            (with("flow", json!({"type":"external","velocity":[0,0,0]})), 422, "velocity"),
        ];
        for (body, code, needle) in bad {
            let (st, p) = s.call("POST", &path, &a, Some(body.clone())).await;
            assert_eq!(st, code, "{backend} {body}: {p}");
            assert!(p["detail"].as_str().unwrap().contains(needle), "{backend} {body}: {p}");
        }
        // A geometry that failed processing cannot be used.
        let (_, bad_g) = s.upload(&a, &pid, "broken.stl", b"solid x\n facet normal 0 0 1\n".to_vec()).await;
        let bid = bad_g["id"].as_str().unwrap();
        assert_eq!(s.settle(&a, bid).await["status"], "failed");
        let (st, p) = s.call("POST", &path, &a, Some(with("geometry_id", json!(bid)))).await;
        assert_eq!(st, 409, "{p}");
        assert!(p["detail"].as_str().unwrap().contains("failed processing"), "{p}");
        s.stop().await;
    }
}
