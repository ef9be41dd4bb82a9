//! The durable job queue on SQLite and on a real PostgreSQL: several workers, many jobs,
//! none lost and none run twice; expired leases are taken over, held ones are not.
mod common;

use common::db;
use flowcfd::store::{self, JobStatus, Store};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

async fn case(s: &Arc<dyn Store>) -> (String, String) {
    db::user_with_case(s, "q@example.org").await
}

async fn many_workers_no_job_lost_or_run_twice(s: Arc<dyn Store>, jobs: usize, workers: usize) {
    s.migrate().await.unwrap();
    let (user, case) = case(&s).await;
    let mut ids = Vec::new();
    for _ in 0..jobs {
        ids.push(s.create_job(&case, &user, "local", 1, "submitted by the test").await.unwrap().id);
    }
    let runs: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (s, runs) = (s.clone(), runs.clone());
        tasks.push(tokio::spawn(async move {
            let me = format!("worker-{w}");
            let mut idle = 0;
            while idle < 20 {
                let Some(job) = s.claim_job(&me, 30_000).await.unwrap() else {
                    idle += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                idle = 0;
                runs.lock().unwrap().push((job.id.clone(), me.clone()));
                assert!(s.transition(&job.id, &me, JobStatus::Preparing, "claimed").await.unwrap());
                assert!(s.heartbeat(&job.id, &me, 30_000).await.unwrap());
                assert!(s.transition(&job.id, &me, JobStatus::Completed, "done").await.unwrap());
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let runs = runs.lock().unwrap().clone();
    let mut count: HashMap<&str, usize> = HashMap::new();
    for (id, _) in &runs {
        *count.entry(id.as_str()).or_default() += 1;
    }
    let twice: Vec<_> = count.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "jobs run twice: {twice:?}");
    assert_eq!(count.len(), jobs, "jobs lost: {}", jobs - count.len());
    let busy: std::collections::HashSet<&str> = runs.iter().map(|(_, w)| w.as_str()).collect();
    assert!(busy.len() > 1, "the work was shared between workers");
    for id in &ids {
        let j = s.job(id).await.unwrap().unwrap();
        assert_eq!(j.status, JobStatus::Completed);
        assert!(j.lease_owner.is_none(), "a finished job holds no lease");
        let t: Vec<String> = s.transitions(id).await.unwrap().into_iter().map(|t| t.to).collect();
        assert_eq!(t, ["queued", "preparing", "completed"]);
    }
}

async fn leases_expire_and_are_taken_over(s: Arc<dyn Store>) {
    s.migrate().await.unwrap();
    let (user, case) = case(&s).await;
    let job = s.create_job(&case, &user, "local", 2, "submitted").await.unwrap();
    let a = s.claim_job("a", 300).await.unwrap().expect("a claims");
    assert_eq!((a.id.as_str(), a.attempts), (job.id.as_str(), 1));
    assert!(s.transition(&job.id, "a", JobStatus::Preparing, "started").await.unwrap());
    assert!(s.set_handle(&job.id, "a", "pgid:4242").await.unwrap());
    // Held and renewed: nobody else gets it.
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(s.heartbeat(&job.id, "a", 300).await.unwrap());
        assert!(s.claim_job("b", 300).await.unwrap().is_none());
    }
    // Not renewed: b takes it over and sees a's executor handle to re-attach to.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let b = s.claim_job("b", 30_000).await.unwrap().expect("b takes over the stale lease");
    assert_eq!(
        (b.id.as_str(), b.attempts, b.status, b.handle.as_deref()),
        (job.id.as_str(), 2, JobStatus::Preparing, Some("pgid:4242"))
    );
    assert!(!s.heartbeat(&job.id, "a", 300).await.unwrap(), "a lost its lease");
    assert!(!s.transition(&job.id, "a", JobStatus::Meshing, "late").await.unwrap());
    assert!(!s.transition(&job.id, "b", JobStatus::Queued, "backwards").await.unwrap(), "the state machine holds");
    assert!(s.transition(&job.id, "b", JobStatus::Meshing, "re-attached").await.unwrap());
    assert!(s.transition(&job.id, "b", JobStatus::Failed, "snappyHexMesh failed").await.unwrap());
    assert!(!s.transition(&job.id, "b", JobStatus::Solving, "after the end").await.unwrap());
    let j = s.job(&job.id).await.unwrap().unwrap();
    assert_eq!((j.status, j.error_message.as_deref()), (JobStatus::Failed, Some("snappyHexMesh failed")));
    let t = s.transitions(&job.id).await.unwrap();
    let path: Vec<(&str, Option<&str>)> = t.iter().map(|t| (t.to.as_str(), t.worker.as_deref())).collect();
    assert_eq!(path, [("queued", None), ("preparing", Some("a")), ("meshing", Some("b")), ("failed", Some("b"))]);
    assert!(s.claim_job("c", 300).await.unwrap().is_none(), "a finished job is never claimed again");
    assert_eq!(s.job_counts().await.unwrap(), vec![("failed".to_string(), 1)]);
}

/// Each claim counts an attempt and records why the one before ended: the reason its
/// worker gave when it stopped (release_job), or that it stopped renewing its lease.
async fn attempts_record_why_the_last_one_ended(s: Arc<dyn Store>) {
    s.migrate().await.unwrap();
    let (user, case) = case(&s).await;
    let job = s.create_job(&case, &user, "local", 1, "submitted").await.unwrap();
    let a = s.claim_job("a", 200).await.unwrap().expect("a claims");
    assert_eq!((a.attempts, a.error_message.as_deref()), (1, None));
    assert!(s.set_handle(&job.id, "a", "intent:1").await.unwrap());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let b = s.claim_job("b", 200).await.unwrap().expect("b takes over a's dead lease");
    assert_eq!((b.attempts, b.handle.as_deref()), (2, Some("intent:1")));
    assert_eq!(
        b.error_message.as_deref(),
        Some("worker a stopped renewing its lease (it crashed or lost the database)")
    );
    assert!(s.release_job(&job.id, "b", "the worker stopped: cluster unreachable").await.unwrap());
    assert!(!s.heartbeat(&job.id, "b", 200).await.unwrap(), "released");
    assert!(s.claim_job("c", 200).await.unwrap().is_none(), "the lease still runs out at its time");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let c = s.claim_job("c", 30_000).await.unwrap().expect("c claims after the lease");
    assert_eq!(c.attempts, 3);
    assert_eq!(c.error_message.as_deref(), Some("the worker stopped: cluster unreachable"), "b's own reason kept");
    assert!(!s.release_job(&job.id, "b", "late").await.unwrap(), "b no longer holds it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_queue() {
    let dir = tempfile::tempdir().unwrap();
    many_workers_no_job_lost_or_run_twice(store::open(&db::sqlite_in(dir.path())).await.unwrap(), 200, 4).await;
    let dir = tempfile::tempdir().unwrap();
    leases_expire_and_are_taken_over(store::open(&db::sqlite_in(dir.path())).await.unwrap()).await;
    let dir = tempfile::tempdir().unwrap();
    attempts_record_why_the_last_one_ended(store::open(&db::sqlite_in(dir.path())).await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_queue() {
    many_workers_no_job_lost_or_run_twice(store::open(&db::fresh_postgres().await).await.unwrap(), 300, 6).await;
    leases_expire_and_are_taken_over(store::open(&db::fresh_postgres().await).await.unwrap()).await;
    attempts_record_why_the_last_one_ended(store::open(&db::fresh_postgres().await).await.unwrap()).await;
}
