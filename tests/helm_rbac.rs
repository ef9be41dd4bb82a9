//! The Helm chart's Role grants exactly what the Kubernetes executor uses. The executor is
//! driven through whole lifecycles (submit, status, log, usage, results, cancel; a Job, and
//! with the MPI Operator an MPIJob) against kube's mock transport, answered by a small fake
//! API server that keeps the objects it was given. Every request is recorded and mapped to
//! the RBAC (apiGroup, resource[/subresource], verb) it needs; the set must equal the rules
//! in `charts/flowcfd/files/executor-rules.json`, which the chart's Role template includes:
//! nothing granted goes unused, nothing used is missing, and every request is namespaced in
//! the solver namespace (the chart has no ClusterRole).
mod common;

use flowcfd::blob::Blobs;
use flowcfd::config::ClusterConfig;
use flowcfd::jobs::executor::{Bundle, Executor};
use flowcfd::jobs::kube::KubeExecutor;
use http::{Method, Request, Response};
use kube::client::Body;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

const NS: &str = "flowcfd-solvers";

/// What one request needs: (apiGroup, resource or resource/subresource, verb).
type Grant = (String, String, String);

fn cluster(mpi_operator: bool) -> ClusterConfig {
    ClusterConfig {
        name: "eks".into(),
        kind: "kubernetes".into(),
        namespace: Some(NS.into()),
        cores_per_node: 8,
        max_cores: 64,
        mpi_operator,
        ..Default::default()
    }
}

/// The RBAC a request needs, from its method and path (the API server's own mapping:
/// GET on a collection is list, on an object get; DELETE on an object delete, ...).
fn grant(method: &Method, path: &str, query: &str) -> Grant {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (group, rest) = match parts.as_slice() {
        ["api", "v1", rest @ ..] => (String::new(), rest),
        ["apis", group, _version, rest @ ..] => (group.to_string(), rest),
        _ => panic!("not a Kubernetes API path: {path}"),
    };
    let (resource, name, sub) = match rest {
        ["namespaces", ns, resource, tail @ ..] => {
            assert_eq!(*ns, NS, "every request stays in the solver namespace: {method} {path}");
            (resource.to_string(), tail.first().copied(), tail.get(1).copied())
        }
        _ => panic!("a cluster-scoped request (the chart grants nothing cluster-wide): {method} {path}"),
    };
    let watch = query.split('&').any(|kv| kv == "watch=true" || kv == "watch=1");
    let verb = match (method.as_str(), name.is_some()) {
        ("GET", _) if watch => "watch",
        ("GET", true) => "get",
        ("GET", false) => "list",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        (m, _) => panic!("unexpected method {m} {path}"),
    };
    let resource = match sub {
        Some(s) => format!("{resource}/{s}"),
        None => resource,
    };
    (group, resource, verb.to_string())
}

/// A fake API server behind the mock transport: it keeps created Jobs and MPIJobs (so a
/// lookup before submitting answers 404, and after it the object), lists one pod per run,
/// serves its log, and records each request's grant.
struct FakeApi {
    objects: BTreeMap<String, Value>,
    used: Arc<Mutex<BTreeSet<Grant>>>,
}

impl FakeApi {
    fn answer(&mut self, method: &Method, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
        let not_found = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                               "reason": "NotFound", "code": 404, "message": "not found"});
        let json = |v: Value| serde_json::to_vec(&v).unwrap();
        if path.ends_with("/log") {
            return (200, b"==> flowcfd step 1/7 blockMesh\n".to_vec());
        }
        if path.ends_with("/pods") {
            let pod = json!({"metadata": {"name": "run-pod", "namespace": NS,
                                          "labels": {"training.kubeflow.org/job-role": "launcher"}},
                             "spec": {"containers": [{"name": "solver", "resources": {"requests": {"cpu": "4"}}}]},
                             "status": {"phase": "Running", "startTime": "2026-12-06T10:00:00Z"}});
            return (200, json(json!({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": [pod]})));
        }
        match *method {
            Method::POST => {
                let mut obj: Value = serde_json::from_slice(body).unwrap();
                let name = obj["metadata"]["name"].as_str().unwrap().to_string();
                obj["status"] = json!({"active": 1});
                self.objects.insert(format!("{path}/{name}"), obj.clone());
                (201, json(obj))
            }
            Method::GET => match self.objects.get(path) {
                Some(o) => (200, json(o.clone())),
                None => (404, json(not_found)),
            },
            Method::DELETE => match self.objects.remove(path) {
                Some(_) => (200, json(json!({"kind": "Status", "apiVersion": "v1", "status": "Success", "code": 200}))),
                None => (404, json(not_found)),
            },
            _ => (405, json(json!({"kind": "Status", "apiVersion": "v1", "code": 405}))),
        }
    }
}

/// Drives `ex` through every call of the Executor trait that reaches the API, for a run of
/// `cores` (`attempt` keeps the runs' names apart).
async fn lifecycle(ex: &KubeExecutor, root: &std::path::Path, cores: u32, attempt: u32) {
    let dir = root.join("0f1e2d3c-aaaa-bbbb-cccc-000000000001");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("case.json"), r#"{"name":"cube","geometry":"geometry.stl"}"#).unwrap();
    std::fs::write(dir.join("geometry.stl"), "solid cube\nendsolid cube\n").unwrap();
    let b = Bundle { dir, cores, job: "0f1e2d3c-aaaa-bbbb-cccc-000000000001".into(), attempt, account: None };
    let h = ex.submit(&b).await.expect("submit");
    // Submitting again finds the run instead of creating another.
    assert_eq!(ex.submit(&b).await.expect("resubmit"), h);
    ex.status(std::slice::from_ref(&h)).await.expect("status");
    let (log, _) = ex.read_log(&h, 0).await.expect("log");
    assert!(!log.is_empty(), "the launcher's log is read");
    ex.usage(&h).await.expect("usage");
    ex.fetch_results(&h).await.expect("results");
    ex.stop_gracefully(&h, "quota").await.expect("stop");
    ex.cancel(&h).await.expect("cancel");
    // Gone after the cancel: the status says cancelled, a second cancel is not an error.
    ex.status(std::slice::from_ref(&h)).await.expect("status after cancel");
    ex.cancel(&h).await.expect("second cancel");
}

/// The grants every lifecycle of `cfg` needed (runs of 4 cores, and of 20 on 8-core nodes).
async fn used_by(cfg: ClusterConfig) -> BTreeSet<Grant> {
    let m = common::moto::start("flowcfd-rbac").await;
    let mut c = flowcfd::config::Config::default();
    common::moto::configure(&m, &mut c, "flowcfd-rbac");
    let blobs = Blobs::from_config(&c).unwrap();
    let (svc, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let used = Arc::new(Mutex::new(BTreeSet::new()));
    let mut api = FakeApi { objects: BTreeMap::new(), used: used.clone() };
    let server = tokio::spawn(async move {
        while let Some((req, send)) = handle.next_request().await {
            let (method, path) = (req.method().clone(), req.uri().path().to_string());
            let query = req.uri().query().unwrap_or("").to_string();
            api.used.lock().unwrap().insert(grant(&method, &path, &query));
            let body = req.into_body().collect_bytes().await.unwrap();
            let (status, reply) = api.answer(&method, &path, &body);
            send.send_response(Response::builder().status(status).body(Body::from(reply)).unwrap());
        }
    });
    let data = tempfile::tempdir().unwrap();
    let mpi = cfg.mpi_operator;
    let ex = KubeExecutor::with_client(cfg, kube::Client::new(svc, NS), blobs, 3600, data.path().into());
    lifecycle(&ex, data.path(), 4, 1).await;
    if mpi {
        assert!(ex.uses_mpijob(20));
        lifecycle(&ex, data.path(), 20, 2).await;
    }
    drop(ex);
    server.abort();
    let set = used.lock().unwrap().clone();
    set
}

/// The chart's rules, expanded to grants: (`rules`, `mpiOperatorRules`).
fn chart_rules() -> (BTreeSet<Grant>, BTreeSet<Grant>) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("charts/flowcfd/files/executor-rules.json");
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let expand = |rules: &Value| {
        let mut out = BTreeSet::new();
        for r in rules.as_array().expect("a list of rules") {
            let strs = |k: &str| -> Vec<String> {
                r[k].as_array()
                    .unwrap_or_else(|| panic!("{k} in {r}"))
                    .iter()
                    .map(|v| v.as_str().unwrap().into())
                    .collect()
            };
            for g in strs("apiGroups") {
                for res in strs("resources") {
                    for v in strs("verbs") {
                        assert!(g != "*" && res != "*" && v != "*", "no wildcards in the chart's rules: {r}");
                        out.insert((g.clone(), res.clone(), v));
                    }
                }
            }
        }
        out
    };
    (expand(&file["rules"]), expand(&file["mpiOperatorRules"]))
}

fn assert_exact(used: &BTreeSet<Grant>, granted: &BTreeSet<Grant>, what: &str) {
    let unused: Vec<_> = granted.difference(used).collect();
    let missing: Vec<_> = used.difference(granted).collect();
    assert!(
        unused.is_empty() && missing.is_empty(),
        "{what}: the chart's Role and the executor's requests differ\n  granted but never used: {unused:?}\n  \
         used but not granted: {missing:?}\n(charts/flowcfd/files/executor-rules.json)"
    );
}

#[tokio::test]
async fn the_role_grants_exactly_what_the_job_executor_calls() {
    let (rules, _) = chart_rules();
    let used = used_by(cluster(false)).await;
    assert_exact(&used, &rules, "without the MPI Operator");
}

#[tokio::test]
async fn with_the_mpi_operator_the_role_adds_exactly_the_mpijob_calls() {
    let (rules, mpi) = chart_rules();
    let used = used_by(cluster(true)).await;
    assert_exact(&used, &rules.union(&mpi).cloned().collect(), "with the MPI Operator");
    assert!(mpi.iter().all(|(g, _, _)| g == "kubeflow.org"), "the MPI rules are kubeflow.org's only: {mpi:?}");
}

#[test]
fn requests_map_to_the_rbac_they_need() {
    let g = |m: Method, p: &str, q: &str| grant(&m, p, q);
    let t = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
    assert_eq!(g(Method::GET, &format!("/apis/batch/v1/namespaces/{NS}/jobs/x"), ""), t("batch", "jobs", "get"));
    assert_eq!(g(Method::GET, &format!("/api/v1/namespaces/{NS}/pods"), "labelSelector=a"), t("", "pods", "list"));
    assert_eq!(g(Method::GET, &format!("/api/v1/namespaces/{NS}/pods"), "watch=true"), t("", "pods", "watch"));
    assert_eq!(g(Method::GET, &format!("/api/v1/namespaces/{NS}/pods/p/log"), ""), t("", "pods/log", "get"));
    assert_eq!(
        g(Method::DELETE, &format!("/apis/kubeflow.org/v2beta1/namespaces/{NS}/mpijobs/x"), ""),
        t("kubeflow.org", "mpijobs", "delete")
    );
    assert_eq!(
        g(Method::DELETE, &format!("/apis/batch/v1/namespaces/{NS}/jobs"), ""),
        t("batch", "jobs", "deletecollection")
    );
    assert!(std::panic::catch_unwind(|| grant(&Method::GET, "/api/v1/nodes", "")).is_err(), "cluster-scoped");
    assert!(
        std::panic::catch_unwind(|| grant(&Method::GET, "/api/v1/namespaces/other/pods", "")).is_err(),
        "other namespace"
    );
}
