//! Runs wider than a node on Kubernetes: the MPIJob of each `mpi_mode` (volumes, mounts,
//! the launcher's size, slots and workers, and the `mpirun` its runner will call), its
//! status, and object-store staging for real: the manifest's own scripts and presigned
//! URLs against moto: the scripts alone with a fake two-rank solve (ranks on a "worker"
//! that has no case yet), and `flowcfd run` with real OpenFOAM ranks started through the
//! rank script by a real `mpirun --hostfile`.
mod common;

use common::kube::*;
use flowcfd::config::{ClusterConfig, MpiMode};
use flowcfd::jobs::executor::{ExecStatus, Executor, Handle};
use flowcfd::jobs::kube::staging::{OPERATOR_HOSTFILE, PULL, PUSH, RANK, STAGE_URLS};
use flowcfd::jobs::kube::{POD_SCRIPT, SSH_DIR, WORKER_COMMAND};
use flowcfd::runner::mpi::{self, MpiLaunch};
use http::Method;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

const MPIJOBS: &str = "/apis/kubeflow.org/v2beta1/namespaces/cfd/mpijobs";

fn mpi_cluster(mode: MpiMode, claim: Option<&str>) -> ClusterConfig {
    ClusterConfig {
        mpi_operator: true,
        mpi_mode: mode,
        shared_volume_claim: claim.map(String::from),
        service_account: Some("flowcfd-solver".into()),
        ..cluster()
    }
}

/// Submits a 12-rank run (two 8-core workers) and returns the MPIJob it created.
async fn submit_mpijob(cfg: ClusterConfig) -> (Value, common::moto::Moto, tempfile::TempDir) {
    let (ex, mut h, m, data) = setup(cfg).await;
    let b = bundle(data.path(), 12);
    let (r, sent) = tokio::join!(ex.submit(&b), async {
        expect(&mut h, Method::GET, &format!("{MPIJOBS}/{RUN}"), 404, not_found()).await;
        let created = json!({"apiVersion": "kubeflow.org/v2beta1", "kind": "MPIJob", "metadata": {"name": RUN}});
        expect(&mut h, Method::POST, MPIJOBS, 201, created).await
    });
    assert_eq!(r.unwrap(), Handle(format!("kube:eks:{JOB}:{RUN}")));
    (sent, m, data)
}

/// What both modes share: slots, workers, the launcher sized like a worker, sshd workers,
/// the operator's ssh directory, the ServiceAccount, and `/work` mounted in every pod.
fn check_common(sent: &Value, volume: Value) {
    assert_eq!(sent["kind"], "MPIJob");
    let spec = &sent["spec"];
    assert_eq!(spec["slotsPerWorker"], 8);
    assert_eq!(spec["mpiImplementation"], "OpenMPI");
    assert_eq!(spec["sshAuthMountPath"], SSH_DIR);
    assert_eq!(spec["mpiReplicaSpecs"]["Worker"]["replicas"], 2, "12 ranks on 8-slot workers");
    assert_eq!(spec["mpiReplicaSpecs"]["Launcher"]["replicas"], 1);
    for role in ["Launcher", "Worker"] {
        let pod = &spec["mpiReplicaSpecs"][role]["template"]["spec"];
        let c = &pod["containers"][0];
        // The launcher meshes: it gets a whole node's cores and memory, as a worker does.
        let size = json!({"cpu": "8", "memory": "16Gi"});
        assert_eq!((&c["resources"]["requests"], &c["resources"]["limits"]), (&size, &size), "{role}");
        assert_eq!(pod["volumes"], json!([volume]), "{role}");
        assert_eq!(c["volumeMounts"], json!([{"name": "work", "mountPath": "/work"}]), "{role}");
        assert_eq!(pod["serviceAccountName"], "flowcfd-solver", "{role}");
        assert_eq!(pod["nodeSelector"]["karpenter.sh/nodepool"], "cfd-c7i", "{role}");
    }
    let worker = &spec["mpiReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0];
    assert_eq!(worker["command"], json!(WORKER_COMMAND));
    assert_eq!(worker["env"], json!([]), "workers get their environment from mpirun (-x)");
    let launcher = &spec["mpiReplicaSpecs"]["Launcher"]["template"]["spec"]["containers"][0];
    assert_eq!(launcher["command"], json!(["/bin/sh", "-c", POD_SCRIPT]));
}

fn launcher_env(sent: &Value) -> BTreeMap<String, String> {
    env_of(sent, "/spec/mpiReplicaSpecs/Launcher/template/spec/containers/0/env")
}

/// The mpirun the launcher's runner calls for the solver, from the manifest's environment
/// and the image's OpenFOAM environment.
fn launcher_mpirun(env: &BTreeMap<String, String>) -> Vec<String> {
    let mut process: Vec<(String, String)> = env.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    process.push(("PATH".into(), "/usr/bin:/bin".into()));
    let foam = [("WM_PROJECT_DIR".to_string(), "/usr/lib/openfoam/openfoam2312".to_string())];
    MpiLaunch::from_env(&process, &foam, false).args(12, "simpleFoam", &["-parallel".into()])
}

#[tokio::test]
async fn object_store_mode_stages_each_rank_through_presigned_urls() {
    let (sent, _moto, data) = submit_mpijob(mpi_cluster(MpiMode::ObjectStore, None)).await;
    check_common(&sent, json!({"name": "work", "emptyDir": {}}));
    let env = launcher_env(&sent);
    assert_eq!(env[mpi::HOSTFILE], OPERATOR_HOSTFILE);
    assert_eq!((env[mpi::RANK_SCRIPT].as_str(), env[mpi::BEFORE_PARALLEL].as_str()), (RANK, PUSH));
    assert_eq!((env[mpi::AFTER_PARALLEL].as_str(), env[mpi::EXPORT].as_str()), (PULL, STAGE_URLS));
    assert!(!env.contains_key("FLOWCFD_WORKDIR"), "per-pod /work");
    #[rustfmt::skip]
    let expected = [
        "-np", "12", "--hostfile", "/etc/mpi/hostfile", "--map-by", "slot", "--bind-to", "core",
        "-x", "FLOWCFD_CASE_DIR", "-x", "FLOWCFD_STAGE_URLS", "-x", "PATH", "-x", "WM_PROJECT_DIR",
        "sh", "-c", RANK, "flowcfd-rank", "simpleFoam", "-parallel",
    ];
    assert_eq!(launcher_mpirun(&env), expected, "no --allow-run-as-root, no --oversubscribe");

    // The staging table: the common part and one row per rank, each with a GET and a PUT.
    let table = reqwest::get(&env[STAGE_URLS]).await.unwrap().text().await.unwrap();
    let rows: Vec<&str> = table.lines().map(|l| l.split(' ').next().unwrap()).collect();
    let mut names = vec!["common".to_string()];
    names.extend((0..12).map(|r| format!("processor{r}")));
    assert_eq!(rows, names);
    assert!(table.lines().all(|l| l.split(' ').count() == 3), "{table}");

    // The scripts for real, against moto, as launcher and two ranks on a worker would run them.
    let root = data.path();
    let launcher = root.join("launcher/out/.partial/case");
    fake_decomposed_case(&launcher, 2);
    let sh = |script: &str, dir: &Path, extra: &[(&str, String)], args: &[&str]| {
        let mut c = Command::new("sh");
        c.args(["-c", script, "flowcfd-test"]).args(args).current_dir(dir).env(STAGE_URLS, &env[STAGE_URLS]);
        c.envs(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
        c
    };
    let out = sh(PUSH, &launcher, &[], &[]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("staged the case and 2 processor directories"));
    // Two ranks at once on a worker where the case directory does not exist yet.
    let worker = root.join("worker/out/.partial/case");
    let ranks: Vec<_> = (0..2)
        .map(|r| {
            let vars = [("OMPI_COMM_WORLD_RANK", r.to_string()), (mpi::CASE_DIR, worker.display().to_string())];
            sh(RANK, root, &vars, &["sh", "-c", FAKE_SOLVER]).spawn().unwrap()
        })
        .collect();
    for rank in ranks {
        let out = rank.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    assert!(
        worker.join("system/controlDict").is_file() && worker.join("processor1/constant/polyMesh/points").is_file()
    );
    assert!(!worker.join("constant/polyMesh").exists(), "the whole mesh stays on the launcher");
    let left: Vec<_> = std::fs::read_dir(worker.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, ["case"], "no rank's temporary files are left");
    let out = sh(PULL, &launcher, &[], &[]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for r in 0..2 {
        let u = std::fs::read_to_string(launcher.join(format!("processor{r}/100/U"))).unwrap();
        assert_eq!(u, format!("solved by rank {r} next to its own mesh\n"));
        assert!(launcher.join(format!("processor{r}/constant/polyMesh/points")).is_file());
    }
}

/// The solver the fake ranks run: it needs the case's dictionaries and its own mesh.
const FAKE_SOLVER: &str =
    "r=$OMPI_COMM_WORLD_RANK; test -f system/controlDict && test -f processor$r/constant/polyMesh/points \
    && mkdir -p processor$r/100 && echo \"solved by rank $r next to its own mesh\" > processor$r/100/U";

fn fake_decomposed_case(case: &Path, ranks: u32) {
    let file = |p: &str, text: &str| {
        let p = case.join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    file("system/controlDict", "FoamFile {}\n");
    file("constant/transportProperties", "nu 1.5e-05;\n");
    file("constant/polyMesh/points", "the whole mesh\n");
    for r in 0..ranks {
        file(&format!("processor{r}/constant/polyMesh/points"), &format!("rank {r}'s mesh\n"));
        file(&format!("processor{r}/0/U"), "uniform (20 0 0)\n");
    }
}

#[tokio::test]
async fn shared_volume_mode_mounts_the_claim_everywhere_and_works_in_a_run_directory() {
    let (sent, _moto, _data) = submit_mpijob(mpi_cluster(MpiMode::SharedVolume, Some("cfd-scratch"))).await;
    check_common(&sent, json!({"name": "work", "persistentVolumeClaim": {"claimName": "cfd-scratch"}}));
    let env = launcher_env(&sent);
    assert_eq!(env["FLOWCFD_WORKDIR"], format!("/work/{RUN}"));
    assert_eq!(env["FLOWCFD_REMOVE_WORKDIR"], "1");
    for staging in [STAGE_URLS, mpi::RANK_SCRIPT, mpi::BEFORE_PARALLEL, mpi::AFTER_PARALLEL] {
        assert!(!env.contains_key(staging), "{staging}: nothing to stage on a shared volume");
    }
    #[rustfmt::skip]
    let expected = [
        "-np", "12", "--hostfile", "/etc/mpi/hostfile", "--map-by", "slot", "--bind-to", "core",
        "-x", "FLOWCFD_CASE_DIR", "-x", "PATH", "-x", "WM_PROJECT_DIR", "simpleFoam", "-parallel",
    ];
    assert_eq!(launcher_mpirun(&env), expected);
}

#[tokio::test]
async fn an_mpijob_is_followed_through_its_conditions() {
    let (ex, mut h, _moto, _data) = setup(mpi_cluster(MpiMode::ObjectStore, None)).await;
    let handle = Handle(format!("kube:eks:{JOB}:{RUN}"));
    let mpijob = |conditions: Value| {
        json!({"apiVersion": "kubeflow.org/v2beta1", "kind": "MPIJob", "metadata": {"name": RUN},
               "spec": {}, "status": {"conditions": conditions}})
    };
    let cases = [
        (json!([{"type": "Created", "status": "True"}]), None),
        (json!([{"type": "Running", "status": "True"}, {"type": "Succeeded", "status": "True"}]), Some("done")),
        (
            json!([{"type": "Failed", "status": "True", "reason": "DeadlineExceeded", "message": "too long"}]),
            Some("wall-time"),
        ),
    ];
    for (conditions, want) in cases {
        let (st, _) = tokio::join!(ex.status(std::slice::from_ref(&handle)), async {
            // No batch Job of that name (the operator's launcher Job is NAME-launcher).
            expect(&mut h, Method::GET, &format!("{JOB_PATH}/{RUN}"), 404, not_found()).await;
            expect(&mut h, Method::GET, &format!("{MPIJOBS}/{RUN}"), 200, mpijob(conditions)).await;
            if want.is_none() {
                expect(&mut h, Method::GET, "/api/v1/namespaces/cfd/pods", 200, pod("Running", None)).await;
            }
        });
        match (st.unwrap().remove(0), want) {
            (ExecStatus::Running { step: "running" }, None) | (ExecStatus::Completed, Some("done")) => {}
            (ExecStatus::Failed(why), Some("wall-time")) => assert!(why.contains("wall-time"), "{why}"),
            (other, want) => panic!("{other:?} for {want:?}"),
        }
    }
    // Neither a Job nor an MPIJob: gone.
    let (st, _) = tokio::join!(ex.status(std::slice::from_ref(&handle)), async {
        expect(&mut h, Method::GET, &format!("{JOB_PATH}/{RUN}"), 404, not_found()).await;
        expect(&mut h, Method::GET, &format!("{MPIJOBS}/{RUN}"), 404, not_found()).await;
    });
    assert!(matches!(&st.unwrap()[0], ExecStatus::Failed(why) if why.contains("gone")));
}

/// A staging table of `ranks` ranks in a fresh moto, and its GET URL: what submit makes.
async fn staging_table(ranks: u32) -> (common::moto::Moto, String) {
    let m = common::moto::start("flowcfd-kube").await;
    let mut c = flowcfd::config::Config::default();
    common::moto::configure(&m, &mut c, "flowcfd-kube");
    let blobs = flowcfd::blob::Blobs::from_config(&c).unwrap();
    let ttl = std::time::Duration::from_secs(3600);
    let mut table = String::new();
    for part in std::iter::once("common".to_string()).chain((0..ranks).map(|r| format!("processor{r}"))) {
        let k = format!("jobs/j/exec/stage/{part}.tar.gz");
        let get = blobs.presigned_get(&k, ttl).await.unwrap().unwrap();
        let put = blobs.presigned_put(&k, ttl).await.unwrap().unwrap();
        table.push_str(&format!("{part} {get} {put}\n"));
    }
    blobs.put("jobs/j/exec/stage.urls", table.into_bytes().into()).await.unwrap();
    let urls = blobs.presigned_get("jobs/j/exec/stage.urls", ttl).await.unwrap().unwrap();
    (m, urls.to_string())
}

/// Real OpenFOAM: `flowcfd run` of the cube on 2 ranks with the launcher's staging
/// environment, so simpleFoam's ranks start through the rank script on a hostfile and the
/// solution comes back through the object store before reconstructPar.
#[tokio::test]
async fn real_openfoam_solves_through_the_staged_ranks() {
    common::require_openfoam();
    let (_moto, urls) = staging_table(2).await;
    let table = reqwest::get(&urls).await.unwrap().text().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let hostfile = dir.path().join("hostfile");
    std::fs::write(&hostfile, "localhost slots=2\n").unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/cube.toml");
    let out = dir.path().join("out");
    let run = common::flowcfd_clean()
        .arg("run")
        .arg(&example)
        .args(["--mesh-params", "rules", "--cores", "2", "--out"])
        .arg(&out)
        .envs([
            (mpi::HOSTFILE, hostfile.display().to_string()),
            (STAGE_URLS, urls),
            (mpi::EXPORT, STAGE_URLS.to_string()),
            (mpi::RANK_SCRIPT, RANK.to_string()),
            (mpi::BEFORE_PARALLEL, PUSH.to_string()),
            (mpi::AFTER_PARALLEL, PULL.to_string()),
        ])
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).to_string();
    assert!(run.status.success(), "{}\n{}", text(&run.stdout), text(&run.stderr));
    let case = out.join("case");
    let log = |n: &str| std::fs::read_to_string(case.join(format!("log.{n}"))).unwrap();
    assert!(log("stageIn").contains("2 processor directories"), "{}", log("stageIn"));
    assert!(log("stageOut").contains("gathered 2 processor directories"), "{}", log("stageOut"));
    assert!(log("simpleFoam").contains("nProcs : 2"));
    // What rank 1 sent back: its solution without its mesh (the launcher keeps that).
    let get = table.lines().find(|l| l.starts_with("processor1 ")).unwrap().split(' ').nth(1).unwrap();
    let tgz = reqwest::get(get).await.unwrap().bytes().await.unwrap();
    let mut names = Vec::new();
    for e in tar::Archive::new(flate2::read::GzDecoder::new(&tgz[..])).entries().unwrap() {
        names.push(e.unwrap().path().unwrap().display().to_string());
    }
    let solved = |n: &String| n.starts_with("processor1/") && n.ends_with("/U") && !n.starts_with("processor1/0/");
    assert!(names.iter().any(solved), "{names:?}");
    assert!(!names.iter().any(|n| n.starts_with("processor1/constant")), "{names:?}");
    let summary: Value = serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let cd = summary["forces"]["Cd"].as_f64().unwrap();
    assert!((0.9..1.35).contains(&cd), "Cd {cd} implausible for a cube");
}
