//! The OpenAPI document against the router: every route is documented, every documented
//! operation is routed (and no undocumented method is), every reference resolves, every
//! error is problem+json, and `/api/docs` renders it. The regressions that schemathesis
//! found (`tests/schemathesis/run.sh`) are at the end.
mod common;

use common::db;
use common::server::TestServer;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn document() -> Value {
    serde_json::to_value(flowcfd::api::document()).unwrap()
}

/// Every `.route("PATH"` / `.route_service("PATH"` / `.nest("PATH"` in `dir`: (file, path).
fn routed_in_source(dir: &Path, out: &mut Vec<(String, String)>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            routed_in_source(&p, out);
            continue;
        }
        if p.extension().is_none_or(|x| x != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap();
        for call in [".route(", ".route_service(", ".nest(", ".nest_service("] {
            for (i, _) in text.match_indices(call) {
                let rest = text[i + call.len()..].trim_start();
                let path = rest.strip_prefix('"').and_then(|r| r.split('"').next()).unwrap_or("<not a literal>");
                out.push((p.display().to_string(), path.to_string()));
            }
        }
    }
}

/// The router is built from one list: `routes!(handler)` routes a handler and puts its
/// `#[utoipa::path]` in the document. A plain axum `.route(...)` would route without
/// documenting, so under `/api` and `/health` there must be none, anywhere in `src/`.
/// Routes outside the API are not in the document, and are listed here on purpose:
/// the server-rendered pages (`src/pages`), the embedded assets (`/static`, `/assets`) and
/// Prometheus's `/metrics` (text exposition, for scrapers, not clients).
#[test]
fn no_route_bypasses_the_document() {
    let mut routed = Vec::new();
    routed_in_source(&common::root().join("src"), &mut routed);
    assert!(routed.iter().any(|(_, p)| p == "/metrics"), "the scan finds routes: {routed:?}");
    let doc = document();
    let mut bad = Vec::new();
    for (file, path) in &routed {
        let api = path.starts_with("/api") || path.starts_with("/health") || path == "<not a literal>";
        if api {
            let known = doc["paths"].get(path).is_some();
            bad.push(format!(
                "{file}: .route(\"{path}\") (documented: {known}); route it with routes!(handler) and #[utoipa::path]"
            ));
        }
    }
    assert!(bad.is_empty(), "API routes outside the document:\n{}", bad.join("\n"));
    // The six routes the hand-written document once missed are in it now.
    for p in [
        "/api/geometries/{id}/cad",
        "/api/geometries/{id}/mesh-suggestion",
        "/api/jobs/{id}/post",
        "/api/jobs/{id}/post/{kind}",
        "/api/jobs/{id}/views",
        "/api/jobs/{id}/views/{view}",
    ] {
        assert!(doc["paths"].get(p).is_some(), "{p} is documented");
    }
}

/// Every operation has a summary, a tag, a success answer and problem+json errors, and
/// every `$ref` names a component that exists.
#[test]
fn every_operation_is_complete() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut refs = BTreeSet::new();
    collect_refs(&doc, &mut refs);
    for r in &refs {
        let mut at = &doc;
        for part in r.trim_start_matches("#/").split('/') {
            at = &at[part];
        }
        assert!(!at.is_null(), "{r} does not resolve");
    }
    let mut count = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (m, op) in item.as_object().unwrap() {
            count += 1;
            let what = format!("{} {path}", m.to_uppercase());
            assert!(op["summary"].as_str().is_some_and(|s| !s.is_empty()), "{what}: a summary");
            assert!(op["tags"][0].is_string(), "{what}: a tag");
            let codes: Vec<&String> = op["responses"].as_object().unwrap().keys().collect();
            assert!(codes.iter().any(|c| c.starts_with('2') || *c == "101"), "{what}: a success answer: {codes:?}");
            for c in ["4XX", "5XX"] {
                assert!(op["responses"][c].is_object(), "{what}: {c}");
            }
            if path.contains('{') {
                for name in path.split('{').skip(1).map(|s| s.split('}').next().unwrap()) {
                    let params = op["parameters"].as_array().cloned().unwrap_or_default();
                    assert!(
                        params.iter().any(|p| p["name"] == name && p["in"] == "path"),
                        "{what}: path parameter {name} is described"
                    );
                }
            }
        }
    }
    assert!(count >= 70, "{count} operations");
    for name in ["ClientError", "ServerError"] {
        let r = &doc["components"]["responses"][name]["content"]["application/problem+json"]["schema"]["$ref"];
        assert_eq!(r, "#/components/schemas/Problem");
    }
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    assert_eq!(doc["components"]["securitySchemes"]["session"]["in"], "cookie");
}

fn collect_refs(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.insert(r.clone());
            }
            m.values().for_each(|x| collect_refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

/// The live walk: on the real router, every documented method of every documented path is
/// routed (not the fallback's 404 nor a 405), every other method is a 405, and every error
/// on the way is problem+json.
#[tokio::test]
async fn the_router_answers_every_documented_operation_and_no_other() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(&db::sqlite_in(dir.path()), |_| {}).await;
    let served: Value = s.http.get(s.u("/api/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(served, document(), "the served document is the generated one");
    for (path, item) in served["paths"].as_object().unwrap() {
        let concrete = path
            .split('/')
            .map(|p| if p.starts_with('{') { "00000000-0000-0000-0000-000000000000" } else { p })
            .collect::<Vec<_>>()
            .join("/");
        for m in METHODS {
            let r = s
                .http
                .request(reqwest::Method::from_bytes(m.to_uppercase().as_bytes()).unwrap(), s.u(&concrete))
                .send()
                .await
                .unwrap();
            let st = r.status().as_u16();
            let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
            let body = r.text().await.unwrap();
            let what = format!("{} {path}: {st} {ct} {body}", m.to_uppercase());
            if item.get(m).is_some() {
                assert!(!(st == 404 && body.contains("API route not found")) && st != 405, "routed: {what}");
            } else {
                assert_eq!(st, 405, "not documented, so not routed: {what}");
            }
            if st >= 400 && path != "/health/ready" {
                assert!(ct.starts_with("application/problem+json"), "problem+json: {what}");
                let p: Value = serde_json::from_str(&body).unwrap();
                assert!(p["detail"].as_str().is_some_and(|d| !d.is_empty()) && p["status"] == st, "{what}");
            }
        }
    }
    s.stop().await;
}

/// `/api/docs`: HTML rendered from the document, every operation in it, nothing loaded from
/// elsewhere, under the pages' security policy.
#[tokio::test]
async fn the_reference_renders_every_operation() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(&db::sqlite_in(dir.path()), |_| {}).await;
    let r = s.http.get(s.u("/api/docs")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(r.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'self'"));
    let html = r.text().await.unwrap();
    for (path, item) in document()["paths"].as_object().unwrap() {
        for m in item.as_object().unwrap().keys() {
            let anchor = format!("id=\"{m}-{}\"", path.trim_matches('/').replace(['/', '{', '}', '.'], "-"));
            assert!(html.contains(&anchor), "{m} {path} ({anchor}) is in the reference");
        }
    }
    for name in ["Problem", "JobView", "GeometryView", "UsageReport"] {
        assert!(html.contains(&format!("id=\"schema-{name}\"")), "schema {name}");
        assert!(html.contains(&format!("<a href=\"#schema-{name}\">{name}</a>")), "a link to {name}");
    }
    for external in ["src=\"http", "href=\"http", "src=\"//", "href=\"//", "<script>"] {
        assert!(!html.contains(external), "nothing from elsewhere, no inline script: {external}");
    }
    s.stop().await;
}

// ---- Regressions: what schemathesis (tests/schemathesis/run.sh) found ---------------------

/// (status, content type, body) of a request with a bearer token.
async fn send(req: reqwest::RequestBuilder, token: &str) -> (u16, String, Value) {
    let r = req.bearer_auth(token).send().await.unwrap();
    let st = r.status().as_u16();
    let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let text = r.text().await.unwrap();
    (st, ct, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn schemathesis_findings_stay_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(&db::sqlite_in(dir.path()), |_| {}).await;
    let token = s.user("fuzz@example.org").await;
    let doc = document();
    let problem = |what: &str, (st, ct, p): &(u16, String, Value), want: u16| {
        assert_eq!(*st, want, "{what}: {p}");
        assert!(ct.starts_with("application/problem+json"), "{what}: {ct}");
        assert!(p["detail"].as_str().is_some_and(|d| !d.is_empty()), "{what}: {p}");
    };

    // The path parameter `kind` of /api/jobs/{id}/post/{kind} referred to a schema that was
    // not in the document (schemathesis: "Unresolvable reference"); it is inline now, and
    // every_operation_is_complete resolves every reference.
    let kind = &doc["paths"]["/api/jobs/{id}/post/{kind}"]["get"]["parameters"][1]["schema"];
    assert!(kind["enum"].as_array().is_some_and(|e| e.len() == 6), "{kind}");

    // POST /api/billing/portal with the body `null`, which its optional body allows, was a
    // 400; it is the caller's own portal, as no body is (409 here: billing is off).
    let url = s.u("/api/billing/portal");
    let none = send(s.http.post(&url), &token).await;
    let null = send(s.http.post(&url).header("content-type", "application/json").body("null"), &token).await;
    problem("portal without a body", &none, 409);
    assert_eq!(null, none, "null is no body");

    // POST /api/billing/webhook without its required Stripe-Signature header was a 409
    // (billing off); a request without a signature is refused as such, first.
    let r = send(s.http.post(s.u("/api/billing/webhook")).body("{}"), &token).await;
    problem("webhook without a signature", &r, 400);
    assert!(r.2["detail"].as_str().unwrap().contains("Stripe-Signature"), "{:?}", r.2);

    // GET /api/jobs/{id}/log?tail=N: a tail beyond what the server reads was a 400 for a
    // value the document allowed; the document now says the bound the server keeps, and
    // a value past it is a problem+json 400 (it was text/plain from axum).
    let tail = &doc["paths"]["/api/jobs/{id}/log"]["get"]["parameters"][1];
    assert_eq!((&tail["name"], &tail["schema"]["maximum"]), (&Value::from("tail"), &Value::from(4294967295u64)));
    let log = |q: &str| s.http.get(s.u(&format!("/api/jobs/00000000-0000-0000-0000-000000000000/log?tail={q}")));
    problem("tail at the bound, no such job", &send(log("4294967295"), &token).await, 404);
    problem("tail past the bound", &send(log("4294967296"), &token).await, 400);
    problem("tail not a number", &send(log("x"), &token).await, 400);

    // GET /api/jobs without ?project=ID was a 422 the document did not foresee: the
    // parameter is required in the document now.
    let p = &doc["paths"]["/api/jobs"]["get"]["parameters"][0];
    assert_eq!((&p["name"], &p["required"]), (&Value::from("project"), &Value::from(true)));
    problem("jobs without a project", &send(s.http.get(s.u("/api/jobs")), &token).await, 422);

    // GET /api/usage?period=…: any string was allowed by the document and refused by the
    // server; the document carries the server's pattern now, with the empty value (this
    // month, as a form with an empty field sends it) that a first pattern left out.
    let period = &doc["paths"]["/api/usage"]["get"]["parameters"][0]["schema"]["pattern"];
    assert_eq!(period, "^(2[0-9]{3}-(0[1-9]|1[0-2]))?$");
    for path in ["/api/usage", "/api/usage.csv"] {
        problem(path, &send(s.http.get(s.u(&format!("{path}?period=%C3%A1F"))), &token).await, 400);
        for ok in ["2026-12", ""] {
            let (st, _, _) = send(s.http.get(s.u(&format!("{path}?period={ok}"))), &token).await;
            assert_eq!(st, 200, "{path}?period={ok}");
        }
    }

    // PATCH /api/projects/{id} with the body [null, null] was a 200: serde reads a struct
    // from an array too. A JSON body is an object, everywhere.
    let (_, project) = s.call("POST", "/api/projects", &token, Some(serde_json::json!({"name": "P"}))).await;
    let url = s.u(&format!("/api/projects/{}", project["id"].as_str().unwrap()));
    let array = s.http.patch(&url).header("content-type", "application/json").body("[null, null]");
    problem("an array for an object", &send(array, &token).await, 422);
    let (st, _, p) = send(s.http.patch(&url).json(&serde_json::json!({"name": "Q"})), &token).await;
    assert_eq!((st, &p["name"]), (200, &Value::from("Q")));
    s.stop().await;
}
