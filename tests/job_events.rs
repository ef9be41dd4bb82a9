//! Job progress in the store (samples, restart-safe offsets, compaction, usage) on both
//! backends, and live events crossing replicas through PostgreSQL LISTEN/NOTIFY.
mod common;

use common::{db, server::TestServer};
use flowcfd::jobs::events::JobEvent;
use flowcfd::store::{self, JobStatus, ProgressUpdate, Store};
use std::sync::Arc;
use std::time::Duration;

async fn job(s: &Arc<dyn Store>) -> String {
    let (user, case) = db::user_with_case(s, "p@example.org").await;
    s.create_job(&case, &user, "local", 2, "test").await.unwrap().id
}

fn sample(i: i64) -> (i64, String) {
    (i, format!(r#"{{"iteration":{i},"residuals":{{"p":{}}}}}"#, 1.0 / i as f64))
}

#[tokio::test]
async fn progress_is_stored_by_the_lease_holder_replayed_idempotently_and_compacted() {
    let dir = tempfile::tempdir().unwrap();
    for (label, url) in db::backends(dir.path()).await {
        let s = store::open(&url).await.unwrap();
        s.migrate().await.unwrap();
        let id = job(&s).await;
        let w = "worker-a";
        assert!(s.claim_job(w, 30_000).await.unwrap().is_some(), "{label}");
        assert!(s.transition(&id, w, JobStatus::Preparing, "go").await.unwrap());
        let up = |from: i64, to: i64, offset: i64| ProgressUpdate {
            offset,
            step: Some("simpleFoam".into()),
            iteration: to,
            latest: Some(sample(to).1),
            samples: (from..=to).map(sample).collect(),
        };
        assert!(s.save_progress(&id, w, &up(1, 10, 500)).await.unwrap(), "{label}");
        assert!(!s.save_progress(&id, "intruder", &up(11, 20, 900)).await.unwrap(), "{label}: not the holder");
        // A taken-over worker replays from the stored offset: the same samples again.
        assert!(s.save_progress(&id, w, &up(5, 12, 600)).await.unwrap(), "{label}");
        let j = s.job(&id).await.unwrap().unwrap();
        assert_eq!((j.log_offset, j.log_step.as_deref(), j.iteration), (600, Some("simpleFoam"), 12), "{label}");
        let all = s.samples(&id, 0, 1000).await.unwrap();
        assert_eq!(all.len(), 12, "{label}: each iteration once");
        assert_eq!(s.samples(&id, 10, 1000).await.unwrap().len(), 2, "{label}");
        assert!(s.save_progress(&id, w, &up(13, 100, 900)).await.unwrap());
        let gone = s.compact_samples(&id, 50, 4).await.unwrap();
        let left: Vec<i64> = s
            .samples(&id, 0, 1000)
            .await
            .unwrap()
            .iter()
            .map(|t| serde_json::from_str::<serde_json::Value>(t).unwrap()["iteration"].as_i64().unwrap())
            .collect();
        assert_eq!(gone as usize + left.len(), 100, "{label}");
        assert!(left.iter().filter(|&&i| i < 50).all(|i| i % 4 == 0), "{label}: {left:?}");
        assert_eq!(left.iter().filter(|&&i| i >= 50).count(), 51, "{label}: recent history intact");

        // Usage: recorded once per period, never twice.
        let started = s.job(&id).await.unwrap().unwrap().started_at.unwrap();
        let a = s.record_usage(&id, started + 10_000).await.unwrap();
        assert!((a - 20.0).abs() < 1e-9, "{label}: 10 s × 2 cores = {a}");
        assert_eq!(s.record_usage(&id, started + 10_000).await.unwrap(), 0.0, "{label}");
        s.record_usage(&id, started + 15_000).await.unwrap();
        assert!((s.usage_of_job(&id).await.unwrap() - 30.0).abs() < 1e-9, "{label}");
        let (mine, org) = s.active_cores(&j.user_id, None).await.unwrap();
        assert_eq!((mine, org), (2, 0), "{label}");
    }
}

#[tokio::test]
async fn final_usage_is_the_executors_wall_time_recorded_once_and_says_whom_it_bills() {
    let dir = tempfile::tempdir().unwrap();
    for (label, url) in db::backends(dir.path()).await {
        let s = store::open(&url).await.unwrap();
        s.migrate().await.unwrap();
        let id = job(&s).await;
        let w = "worker-a";
        assert!(s.claim_job(w, 30_000).await.unwrap().is_some(), "{label}");
        assert!(s.transition(&id, w, JobStatus::Preparing, "go").await.unwrap());
        let j = s.job(&id).await.unwrap().unwrap();
        let started = j.started_at.unwrap();
        // Provisional use by the worker's clock, from the hand-over; 4 s waiting for the
        // scheduler are skipped, not counted.
        assert!(s.skip_usage(&id, started + 4_000).await.unwrap(), "{label}");
        assert!(!s.skip_usage(&id, started + 2_000).await.unwrap(), "{label}: the mark never goes back");
        assert_eq!(s.record_usage(&id, started + 10_000).await.unwrap(), 12.0, "{label}");
        assert!(s.transition(&id, w, JobStatus::Meshing, "mesh").await.unwrap());
        assert_eq!(s.record_usage_as(&id, started + 15_000, Some("engineer")).await.unwrap(), 10.0, "{label}");

        // The executor says the run held its 2 cores for 9 s (it waited 3 s in the queue).
        let exec =
            store::ExecTimes { cores: 2, started_ms: started + 3_000, ended_ms: started + 12_000, source: "sacct" };
        let fin = store::FinalUsage { exec: Some(exec), mesh_cells: Some(20_000), iterations: Some(60), plan: None };
        assert_eq!(s.finish_usage(&id, &fin).await.unwrap(), Some(18.0), "{label}");
        assert_eq!(s.usage_of_job(&id).await.unwrap(), 18.0, "{label}: cores × the executor's wall time");
        // Once: again, a provisional record after it, many workers at once: nothing more.
        assert_eq!(s.finish_usage(&id, &fin).await.unwrap(), None, "{label}");
        assert_eq!(s.record_usage(&id, started + 60_000).await.unwrap(), 0.0, "{label}");
        assert_eq!(s.usage_of_job(&id).await.unwrap(), 18.0, "{label}");
        let j = s.job(&id).await.unwrap().unwrap();
        assert!(j.usage_final.is_some(), "{label}");
        assert_eq!((j.mesh_cells, j.iterations), (Some(20_000), Some(60)), "{label}");

        let recs = s.usage_records_of_job(&id).await.unwrap();
        let steps: Vec<&str> = recs.iter().map(|r| r.step.as_deref().unwrap()).collect();
        assert_eq!(steps, ["preparing", "meshing", "final"], "{label}");
        assert_eq!(recs[2].quantity, -4.0, "{label}: the correction");
        assert_eq!((recs[1].plan.as_deref(), recs[2].plan.as_deref()), (Some("engineer"), None), "{label}");
        assert_eq!((recs[0].source.as_deref(), recs[2].source.as_deref()), (Some("worker"), Some("sacct")));
        let project = s.case_for_worker(&j.case_id).await.unwrap().unwrap().project_id;
        for r in &recs {
            assert_eq!(r.subject.as_deref(), Some(format!("user:{}", j.user_id).as_str()), "{label}");
            assert_eq!(r.project_id.as_deref(), Some(project.as_str()), "{label}");
            assert_eq!(r.executor.as_deref(), Some("local"), "{label}");
        }
        assert_eq!(recs[2].period.as_deref(), Some(store::period_of(started + 12_000).as_str()), "{label}");

        // An org's project bills the org; many workers finishing it at once count it once.
        let org = s.create_org(&j.user_id, "Lab", &format!("lab-{label}")).await.unwrap();
        let p = s.create_project(&j.user_id, Some(&org.id), "shared", "").await.unwrap();
        let spec = store::NewCase { project_id: p.id.clone(), geometry_id: None, name: "c".into(), spec: "{}".into() };
        let case = s.create_case(&spec).await.unwrap();
        let oj = s.create_job(&case, &j.user_id, "campus", 4, "test").await.unwrap().id;
        assert!(s.claim_job(w, 30_000).await.unwrap().is_some(), "{label}");
        assert!(s.transition(&oj, w, JobStatus::Solving, "go").await.unwrap());
        let t0 = s.job(&oj).await.unwrap().unwrap().started_at.unwrap();
        let exec = store::ExecTimes { cores: 4, started_ms: t0, ended_ms: t0 + 2_500, source: "usage.json" };
        let fin = store::FinalUsage { exec: Some(exec), ..Default::default() };
        let tries = (0..8).map(|_| {
            let (s, oj) = (s.clone(), oj.clone());
            tokio::spawn(async move { s.finish_usage(&oj, &fin).await.unwrap() })
        });
        let done: Vec<Option<f64>> =
            futures_util::future::join_all(tries).await.into_iter().map(|r| r.unwrap()).collect();
        assert_eq!(done.iter().flatten().collect::<Vec<_>>(), [&10.0], "{label}: one worker finished it: {done:?}");
        let recs = s.usage_records_of_job(&oj).await.unwrap();
        assert_eq!(recs.len(), 1, "{label}");
        assert_eq!(recs[0].subject.as_deref(), Some(format!("org:{}", org.id).as_str()), "{label}");
        assert_eq!(recs[0].org_id.as_deref(), Some(org.id.as_str()), "{label}");
        assert_eq!(recs[0].executor.as_deref(), Some("campus"), "{label}");

        // No times from the executor: the provisional total stands. Never started: nothing.
        let nj = s.create_job(&case, &j.user_id, "local", 1, "test").await.unwrap().id;
        assert!(s.claim_job(w, 30_000).await.unwrap().is_some(), "{label}");
        assert!(s.transition(&nj, w, JobStatus::Solving, "go").await.unwrap());
        let t1 = s.job(&nj).await.unwrap().unwrap().started_at.unwrap();
        assert_eq!(s.record_usage(&nj, t1 + 60_000).await.unwrap(), 60.0, "{label}");
        assert_eq!(s.finish_usage(&nj, &store::FinalUsage::default()).await.unwrap(), Some(60.0), "{label}");
        let qj = s.create_job(&case, &j.user_id, "local", 1, "test").await.unwrap().id;
        assert_eq!(s.finish_usage(&qj, &store::FinalUsage::default()).await.unwrap(), Some(0.0), "{label}");
        assert!(s.usage_records_of_job(&qj).await.unwrap().is_empty(), "{label}");
    }
}

#[tokio::test]
async fn events_published_on_one_replica_reach_subscribers_on_another() {
    let url = db::fresh_postgres().await;
    let a = TestServer::start(&url, |c| c.jobs.slots = 0).await;
    let b = TestServer::start(&url, |c| c.jobs.slots = 0).await;
    let (sa, sb) = (&a.running.as_ref().unwrap().state, &b.running.as_ref().unwrap().state);
    let mut on_b = sb.events.subscribe("job-1");
    let mut on_a = sa.events.subscribe("job-1");
    let step = JobEvent::Step { step: "simpleFoam".into() };
    // Give both listeners a moment to LISTEN, then publish on A until B hears it.
    let mut got = None;
    for _ in 0..50 {
        sa.events.publish("job-1", &step).await;
        if let Ok(Ok(Some(ev))) = tokio::time::timeout(Duration::from_millis(200), on_b.recv()).await {
            got = Some(ev);
            break;
        }
    }
    assert_eq!(got.as_deref(), Some(&step), "replica B heard replica A");
    assert_eq!(serde_json::to_string(&step).unwrap(), r#"{"type":"step","step":"simpleFoam"}"#);
    let mine = tokio::time::timeout(Duration::from_secs(5), on_a.recv()).await.unwrap().unwrap();
    assert!(mine.is_some(), "the publishing replica's own subscribers hear it too (through the database)");

    // Project listings are cached per replica; a change on one replica reaches the others.
    let tok_a = a.user("lister@example.org").await;
    let tok_b = b.login("lister@example.org").await["token"].as_str().unwrap().to_string();
    let (_, before) = b.call("GET", "/api/projects", &tok_b, None).await;
    assert_eq!(before.as_array().unwrap().len(), 0);
    let (st, _) = a.call("POST", "/api/projects", &tok_a, Some(serde_json::json!({"name": "wing"}))).await;
    assert_eq!(st, 201);
    let t0 = std::time::Instant::now();
    loop {
        let (_, now) = b.call("GET", "/api/projects", &tok_b, None).await;
        if now.as_array().unwrap().len() == 1 {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(2), "replica B still lists the old projects: {now}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a.stop().await;
    b.stop().await;
}
