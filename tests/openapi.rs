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
    }
    for external in ["src=\"http", "href=\"http", "src=\"//", "href=\"//", "<script>"] {
        assert!(!html.contains(external), "nothing from elsewhere, no inline script: {external}");
    }
    s.stop().await;
}
