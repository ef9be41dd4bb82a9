//! The Kubernetes executor against kube's mock service (tower-test) and a real object
//! store (moto): a cluster configuration, a bundle, and the API calls answered as a
//! cluster would.
use super::moto;
use flowcfd::blob::Blobs;
use flowcfd::config::ClusterConfig;
use flowcfd::jobs::executor::Bundle;
use flowcfd::jobs::kube::KubeExecutor;
use http::{Method, Request, Response};
use kube::client::Body;
use serde_json::{json, Value};
use tower_test::mock::Handle as MockHandle;

pub type Mock = MockHandle<Request<Body>, Response<Body>>;

pub fn cluster() -> ClusterConfig {
    ClusterConfig {
        name: "eks".into(),
        kind: "kubernetes".into(),
        namespace: Some("cfd".into()),
        image: Some("registry.example.com/flowcfd/solver:v2312".into()),
        node_selector: [("karpenter.sh/nodepool".to_string(), "cfd-c7i".to_string())].into(),
        tolerations: vec![[
            ("key".to_string(), "flowcfd.io/solver".to_string()),
            ("operator".to_string(), "Exists".to_string()),
            ("effect".to_string(), "NoSchedule".to_string()),
        ]
        .into()],
        cores_per_node: 8,
        max_cores: 64,
        ..Default::default()
    }
}

pub async fn setup(cfg: ClusterConfig) -> (KubeExecutor, Mock, moto::Moto, tempfile::TempDir) {
    let m = moto::start("flowcfd-kube").await;
    let mut c = flowcfd::config::Config::default();
    moto::configure(&m, &mut c, "flowcfd-kube");
    let blobs = Blobs::from_config(&c).unwrap();
    let (svc, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(svc, "default");
    let data = tempfile::tempdir().unwrap();
    (KubeExecutor::with_client(cfg, client, blobs, 3600, data.path().to_path_buf()), handle, m, data)
}

/// A bundle directory named like a job id, with case.json and its geometry.
pub fn bundle(root: &std::path::Path, cores: u32) -> Bundle {
    let dir = root.join("0f1e2d3c-aaaa-bbbb-cccc-000000000001");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("case.json"), r#"{"name":"cube","geometry":"geometry.stl"}"#).unwrap();
    std::fs::write(dir.join("geometry.stl"), "solid cube\nendsolid cube\n").unwrap();
    Bundle { dir, cores, job: JOB.into(), attempt: 1, account: None }
}

/// Takes the next API call, checks its method and path, and answers with `reply`.
pub async fn expect(h: &mut Mock, method: Method, path: &str, status: u16, reply: Value) -> Value {
    let (req, send) = h.next_request().await.expect("the executor called the API");
    assert_eq!(req.method(), method, "{}", req.uri());
    assert_eq!(req.uri().path(), path, "{}", req.uri());
    let query = req.uri().query().unwrap_or("").to_string();
    let body = req.into_body().collect_bytes().await.unwrap();
    let sent: Value = if body.is_empty() { json!({"query": query}) } else { serde_json::from_slice(&body).unwrap() };
    send.send_response(
        Response::builder().status(status).body(Body::from(serde_json::to_vec(&reply).unwrap())).unwrap(),
    );
    sent
}

pub fn env_of(manifest: &Value, pointer: &str) -> std::collections::BTreeMap<String, String> {
    manifest
        .pointer(pointer)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap().to_string(), e["value"].as_str().unwrap().to_string()))
        .collect()
}

pub fn not_found() -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "not found", "reason": "NotFound", "code": 404})
}

pub fn pod(phase: &str, waiting: Option<(&str, &str)>) -> Value {
    let mut status = json!({"phase": phase});
    if let Some((reason, message)) = waiting {
        status["containerStatuses"] = json!([{"name": "solver", "image": "registry.example.com/flowcfd/solver:v2312",
            "imageID": "", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": reason, "message": message}}}]);
    }
    json!({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": [{
        "metadata": {"name": "flowcfd-0f1e2d3c-aaaa-bbbb-cccc-000000000001-x7k2p", "namespace": "cfd",
                     "labels": {"flowcfd.io/job": "0f1e2d3c-aaaa-bbbb-cccc-000000000001"}},
        "status": status}]})
}

pub const JOB_PATH: &str = "/apis/batch/v1/namespaces/cfd/jobs";
pub const JOB: &str = "0f1e2d3c-aaaa-bbbb-cccc-000000000001";
/// The Job of a run made before runs had attempt names (an old handle: `kube:eks:JOB`).
pub const NAME: &str = "flowcfd-0f1e2d3c-aaaa-bbbb-cccc-000000000001";
/// The Job of the run the first attempt submits.
pub const RUN: &str = "flowcfd-0f1e2d3c-aaaa-bbbb-cccc-000000000001-1";
