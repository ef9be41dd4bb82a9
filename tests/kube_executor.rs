//! The Kubernetes executor. No Kubernetes API server can run on these machines, so the
//! executor is driven against kube's mock service (tower-test): each test asserts the exact
//! manifests and the sequence of API calls, and answers them as a cluster would. The object
//! store is real (moto on loopback): the bundle goes up, and the test plays the pod by
//! PUTting results to the presigned URLs from the manifest.
//!
//! `against_a_live_cluster` runs a real Job when KUBECONFIG points at a cluster; it is not
//! run in CI (none can be reached from here).
mod common;

use common::kube::*;
use flowcfd::config::ClusterConfig;
use flowcfd::jobs::executor::{Bundle, ExecStatus, Executor, Handle};
use flowcfd::jobs::kube::POD_SCRIPT;
use http::{Method, Response};
use kube::client::Body;
use serde_json::{json, Value};

#[tokio::test]
async fn a_run_is_one_job_with_the_exact_manifest_and_its_whole_lifecycle() {
    let (ex, mut h, _moto, data) = setup(cluster()).await;
    let b = bundle(data.path(), 4);
    let (handle, sent) = tokio::join!(ex.submit(&b), async {
        // Looked up first: a worker that died after creating it must not create another.
        expect(&mut h, Method::GET, &format!("{JOB_PATH}/{RUN}"), 404, not_found()).await;
        expect(
            &mut h,
            Method::POST,
            JOB_PATH,
            201,
            json!({"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": RUN, "namespace": "cfd"}}),
        )
        .await
    });
    let handle = handle.unwrap();
    assert_eq!(handle, Handle(format!("kube:eks:{JOB}:{RUN}")));

    // The manifest, exactly (the presigned URLs checked separately: they carry signatures).
    let env = env_of(&sent, "/spec/template/spec/containers/0/env");
    let mut expected = json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": RUN, "namespace": "cfd",
                     "labels": {"app.kubernetes.io/managed-by": "flowcfd", "flowcfd.io/job": "0f1e2d3c-aaaa-bbbb-cccc-000000000001"}},
        "spec": {
            "backoffLimit": 0, "activeDeadlineSeconds": 3600, "ttlSecondsAfterFinished": 86400,
            "template": {
                "metadata": {"labels": {"app.kubernetes.io/managed-by": "flowcfd", "flowcfd.io/job": "0f1e2d3c-aaaa-bbbb-cccc-000000000001"}},
                "spec": {
                    "restartPolicy": "Never",
                    "nodeSelector": {"karpenter.sh/nodepool": "cfd-c7i"},
                    "tolerations": [{"effect": "NoSchedule", "key": "flowcfd.io/solver", "operator": "Exists"}],
                    "containers": [{
                        "name": "solver", "image": "registry.example.com/flowcfd/solver:v2312",
                        "command": ["/bin/sh", "-c", POD_SCRIPT],
                        "env": "CHECKED BELOW",
                        "resources": {"requests": {"cpu": "4", "memory": "8Gi"}, "limits": {"cpu": "4", "memory": "8Gi"}},
                    }],
                },
            },
        },
    });
    let mut got = sent.clone();
    got["spec"]["template"]["spec"]["containers"][0]["env"] = json!("CHECKED BELOW");
    expected["spec"]["template"]["spec"]["containers"][0]["env"] = json!("CHECKED BELOW");
    assert_eq!(got, expected);
    let names: Vec<&str> = env.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "FLOWCFD_CASE_TGZ_URL",
            "FLOWCFD_CASE_URL",
            "FLOWCFD_FAILURE_URL",
            "FLOWCFD_GEOMETRY_FILE",
            "FLOWCFD_GEOMETRY_URL",
            "FLOWCFD_SUMMARY_URL",
            "WM_PROJECT_DIR"
        ]
    );
    // The bundle is fetchable through its presigned URL, as the pod would.
    let http = reqwest::Client::new();
    let case = http.get(&env["FLOWCFD_CASE_URL"]).send().await.unwrap();
    assert_eq!(case.status(), 200);
    assert!(case.text().await.unwrap().contains("geometry.stl"));

    // Pending, then running, then an image that cannot be pulled.
    let (st, _) = tokio::join!(ex.status(std::slice::from_ref(&handle)), async {
        expect(
            &mut h,
            Method::GET,
            &format!("{JOB_PATH}/{RUN}"),
            200,
            json!({"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": RUN}, "status": {"active": 1}}),
        )
        .await;
        expect(&mut h, Method::GET, "/api/v1/namespaces/cfd/pods", 200, pod("Running", None)).await
    });
    assert_eq!(st.unwrap(), vec![ExecStatus::Running { step: "running" }]);

    // The log, by offset.
    let (log, sent) = tokio::join!(ex.read_log(&handle, 4), async {
        expect(&mut h, Method::GET, "/api/v1/namespaces/cfd/pods", 200, pod("Running", None)).await;
        let (req, send) = h.next_request().await.unwrap();
        assert_eq!(
            req.uri().path(),
            "/api/v1/namespaces/cfd/pods/flowcfd-0f1e2d3c-aaaa-bbbb-cccc-000000000001-x7k2p/log"
        );
        send.send_response(Response::builder().body(Body::from(b"==> flowcfd step 1/7 blockMesh\n".to_vec())).unwrap());
        req.uri().query().unwrap_or("").to_string()
    });
    assert!(sent.contains("container=solver"), "{sent}");
    let (bytes, next) = log.unwrap();
    assert_eq!(String::from_utf8(bytes).unwrap(), "flowcfd step 1/7 blockMesh\n");
    assert_eq!(next, 31, "the next read starts after the whole log so far");

    // The pod plays its part: results through the presigned PUT URLs.
    let summary = json!({"mesh": {"cells": 40000}, "forces": {"Cd": 1.05}});
    let put = |url: &str, body: Vec<u8>| http.put(url.to_string()).body(body).send();
    assert!(put(&env["FLOWCFD_SUMMARY_URL"], serde_json::to_vec(&summary).unwrap())
        .await
        .unwrap()
        .status()
        .is_success());
    let mut tgz = Vec::new();
    {
        let gz = flate2::write::GzEncoder::new(&mut tgz, flate2::Compression::fast());
        let mut t = tar::Builder::new(gz);
        let mut hdr = tar::Header::new_gnu();
        hdr.set_size(7);
        hdr.set_mode(0o644);
        hdr.set_cksum();
        t.append_data(&mut hdr, "case/system/controlDict", &b"FoamFile"[..7]).unwrap();
        t.into_inner().unwrap().finish().unwrap();
    }
    assert!(put(&env["FLOWCFD_CASE_TGZ_URL"], tgz).await.unwrap().status().is_success());

    // Succeeded: the results come back from the object store.
    let (st, _) = tokio::join!(ex.status(std::slice::from_ref(&handle)), async {
        expect(
            &mut h,
            Method::GET,
            &format!("{JOB_PATH}/{RUN}"),
            200,
            json!({"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": RUN}, "status": {"succeeded": 1}}),
        )
        .await
    });
    assert_eq!(st.unwrap(), vec![ExecStatus::Completed]);
    let out = ex.fetch_results(&handle).await.unwrap();
    let back: Value = serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(back, summary);
    assert!(out.join("case/system/controlDict").exists());
}

#[tokio::test]
async fn image_pull_failures_wall_time_and_cancel_are_reported() {
    let (ex, mut h, _moto, _data) = setup(cluster()).await;
    let handle = Handle("kube:eks:0f1e2d3c-aaaa-bbbb-cccc-000000000001".into());
    let job =
        |status: Value| json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": NAME}, "status": status});

    let (st, _) = tokio::join!(ex.status(std::slice::from_ref(&handle)), async {
        expect(&mut h, Method::GET, &format!("{JOB_PATH}/{NAME}"), 200, job(json!({"active": 1}))).await;
        expect(
            &mut h,
            Method::GET,
            "/api/v1/namespaces/cfd/pods",
            200,
            pod("Pending", Some(("ImagePullBackOff", "Back-off pulling image"))),
        )
        .await
    });
    match &st.unwrap()[0] {
        ExecStatus::Failed(why) => {
            assert!(why.contains("cannot pull the solver image") && why.contains("ImagePullBackOff"), "{why}")
        }
        other => panic!("{other:?}"),
    }

    let (st, _) = tokio::join!(ex.status(std::slice::from_ref(&handle)), async {
        expect(
            &mut h,
            Method::GET,
            &format!("{JOB_PATH}/{NAME}"),
            200,
            job(json!({"failed": 1,
            "conditions": [{"type": "Failed", "status": "True", "reason": "DeadlineExceeded",
                            "message": "Job was active longer than specified deadline"}]})),
        )
        .await
    });
    match &st.unwrap()[0] {
        ExecStatus::Failed(why) => assert!(why.contains("wall-time"), "{why}"),
        other => panic!("{other:?}"),
    }

    // Cancel deletes the Job and its pods (background propagation); after that the Job's
    // absence means "cancelled".
    let (r, sent) = tokio::join!(ex.cancel(&handle), async {
        expect(
            &mut h,
            Method::DELETE,
            &format!("{JOB_PATH}/{NAME}"),
            200,
            json!({"kind": "Status", "apiVersion": "v1", "status": "Success", "code": 200}),
        )
        .await
    });
    r.unwrap();
    assert_eq!(sent["propagationPolicy"], "Background", "{sent}");
    let (st, _) = tokio::join!(ex.status(std::slice::from_ref(&handle)), async {
        expect(&mut h, Method::GET, &format!("{JOB_PATH}/{NAME}"), 404, not_found()).await
    });
    assert_eq!(st.unwrap(), vec![ExecStatus::Cancelled]);
}

#[tokio::test]
async fn runs_wider_than_a_node_are_mpijobs_when_the_operator_is_installed() {
    let (ex, mut h, _moto, data) = setup(ClusterConfig { mpi_operator: true, ..cluster() }).await;
    let b = bundle(data.path(), 20);
    let (r, sent) = tokio::join!(ex.submit(&b), async {
        let path = format!("/apis/kubeflow.org/v2beta1/namespaces/cfd/mpijobs/{RUN}");
        expect(&mut h, Method::GET, &path, 404, not_found()).await;
        expect(
            &mut h,
            Method::POST,
            "/apis/kubeflow.org/v2beta1/namespaces/cfd/mpijobs",
            201,
            json!({"apiVersion": "kubeflow.org/v2beta1", "kind": "MPIJob", "metadata": {"name": NAME}}),
        )
        .await
    });
    r.unwrap();
    assert_eq!(sent["kind"], "MPIJob");
    assert_eq!(sent["spec"]["slotsPerWorker"], 8);
    assert_eq!(sent["spec"]["mpiReplicaSpecs"]["Worker"]["replicas"], 3, "20 cores on 8-core nodes");
    let worker = &sent["spec"]["mpiReplicaSpecs"]["Worker"]["template"]["spec"];
    assert_eq!(worker["containers"][0]["resources"]["limits"], json!({"cpu": "8", "memory": "16Gi"}));
    assert_eq!(worker["nodeSelector"]["karpenter.sh/nodepool"], "cfd-c7i");
    let launcher = &sent["spec"]["mpiReplicaSpecs"]["Launcher"]["template"]["spec"]["containers"][0];
    assert_eq!(launcher["command"][2], POD_SCRIPT);
    assert_eq!(sent["spec"]["runPolicy"]["activeDeadlineSeconds"], 3600);
}

#[tokio::test]
async fn a_second_submission_of_an_attempt_finds_its_job_instead_of_creating_another() {
    // A worker created the Job and died before storing the handle; the next attempt
    // submits the same bundle (the intent's attempt) again.
    let (ex, mut h, _moto, data) = setup(cluster()).await;
    let b = bundle(data.path(), 4);
    let (handle, _) = tokio::join!(ex.submit(&b), async {
        expect(
            &mut h,
            Method::GET,
            &format!("{JOB_PATH}/{RUN}"),
            200,
            json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": RUN}, "status": {"active": 1}}),
        )
        .await
    });
    assert_eq!(handle.unwrap(), Handle(format!("kube:eks:{JOB}:{RUN}")));
    // Nothing else was asked of the API: no second Job.
    let next = tokio::time::timeout(std::time::Duration::from_millis(300), h.next_request()).await;
    assert!(next.is_err(), "no further API call after finding the Job");
    // Another attempt's run is another name, looked up in its turn.
    let b2 = Bundle { attempt: 2, ..b };
    assert_eq!(b2.run_name(), format!("{NAME}-2"));
}

#[tokio::test]
async fn usage_is_the_pods_own_start_and_finish_on_the_cores_it_asked_for() {
    let (ex, mut h, _moto, _data) = setup(cluster()).await;
    let handle = Handle(format!("kube:eks:{JOB}:{RUN}"));
    let pods = |finished: Option<&str>| {
        let state = match finished {
            Some(at) => json!({"terminated": {"exitCode": 0, "startedAt": "2026-12-06T10:00:05Z", "finishedAt": at}}),
            None => json!({"running": {"startedAt": "2026-12-06T10:00:05Z"}}),
        };
        json!({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": [{
            "metadata": {"name": format!("{RUN}-x7k2p"), "namespace": "cfd", "labels": {"flowcfd.io/job": JOB}},
            "spec": {"containers": [{"name": "solver", "image": "solver",
                     "resources": {"requests": {"cpu": "4", "memory": "16Gi"}, "limits": {"cpu": "4"}}}]},
            "status": {"phase": if finished.is_some() { "Succeeded" } else { "Running" },
                       "startTime": "2026-12-06T10:00:00Z",
                       "containerStatuses": [{"name": "solver", "image": "solver", "imageID": "", "ready": false,
                                              "restartCount": 0, "state": state}]}}]})
    };
    let (u, sent) = tokio::join!(ex.usage(&handle), async {
        expect(&mut h, Method::GET, "/api/v1/namespaces/cfd/pods", 200, pods(Some("2026-12-06T10:01:30.5Z"))).await
    });
    assert!(sent["query"].as_str().unwrap().contains("flowcfd.io%2Fjob%3D0f1e2d3c"), "{sent}");
    let u = u.unwrap().expect("the pod's record");
    assert_eq!((u.cores, u.source), (4, "pod"));
    assert_eq!(u.core_seconds(), Some(4.0 * 90.5), "from the pod's start to the solver's finish: {u:?}");
    // Still running: no end yet. No pod left (deleted with the Job): no record.
    let (u, _) = tokio::join!(ex.usage(&handle), async {
        expect(&mut h, Method::GET, "/api/v1/namespaces/cfd/pods", 200, pods(None)).await
    });
    assert_eq!(u.unwrap().unwrap().ended_ms, None);
    let (u, _) = tokio::join!(ex.usage(&handle), async {
        let empty = json!({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": []});
        expect(&mut h, Method::GET, "/api/v1/namespaces/cfd/pods", 200, empty).await
    });
    assert_eq!(u.unwrap(), None);
    // A graceful stop cannot reach a pod: the caller cancels instead.
    assert!(!ex.stop_gracefully(&handle, "quota").await.unwrap());
}

/// Only with a real cluster: KUBECONFIG set, and FLOWCFD_TEST_KUBE_NAMESPACE naming a
/// namespace to create a Job in. Not run in CI.
#[tokio::test]
async fn against_a_live_cluster() {
    let (Ok(_), Ok(ns)) = (std::env::var("KUBECONFIG"), std::env::var("FLOWCFD_TEST_KUBE_NAMESPACE")) else {
        eprintln!("skipped: no KUBECONFIG and FLOWCFD_TEST_KUBE_NAMESPACE (no cluster reachable)");
        return;
    };
    let client = kube::Client::try_default().await.expect("a client from KUBECONFIG");
    let pods: kube::Api<k8s_openapi::api::core::v1::Pod> = kube::Api::namespaced(client, &ns);
    pods.list(&Default::default()).await.expect("list pods in the namespace");
}

/// The admin page's health check asks the API server its version (kube's mock transport
/// stands in for the API server; a refusal is reported, not a panic).
#[tokio::test]
async fn health_is_the_api_servers_version() {
    let (ex, mut h, _moto, _data) = setup(cluster()).await;
    let (health, _) = tokio::join!(ex.health(), async {
        let version = json!({"major": "1", "minor": "31", "gitVersion": "v1.31.2-eks-7f9249a", "gitCommit": "x",
            "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.22", "compiler": "gc",
            "platform": "linux/amd64"});
        expect(&mut h, Method::GET, "/version", 200, version).await
    });
    let health = health.unwrap();
    assert!(health.contains("v1.31.2-eks") && health.contains("namespace cfd"), "{health}");
    let (health, _) = tokio::join!(ex.health(), async {
        expect(&mut h, Method::GET, "/version", 401, json!({"kind": "Status", "message": "Unauthorized", "code": 401}))
            .await
    });
    assert!(health.is_err(), "{health:?}");
}
