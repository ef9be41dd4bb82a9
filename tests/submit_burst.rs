//! Parallel job submissions on SQLite and on a real PostgreSQL (issue 19, items 12 and 18):
//! a burst through the HTTP API never deadlocks the connection pool, never reports a job
//! that was created as failed, never stalls a worker's heartbeat, and never lets live cores
//! pass a user's or an organization's quota.
mod common;

use common::{db, server::TestServer};
use flowcfd::store::{CoreLimits, NewCase, NewJob, QuotaKind, Store};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The user quota of the burst: below the number of submissions, so that some are refused.
const USER_QUOTA: u32 = 150;
const BURST: usize = 200;

/// Submits `BURST` one-core jobs at once while a worker heartbeats a claimed job, and checks
/// every answer against the database. With `starved`, the pool has two connections and a
/// caller waits at most 100 ms for one: many submissions fail with 503, and each of those
/// must have created nothing.
async fn burst(url: String, starved: bool) {
    let s = TestServer::start(&url, |c| {
        // Queue only: nothing is run, so every submitted job stays live and holds its core.
        c.jobs.slots = 0;
        c.jobs.max_cores_per_user = USER_QUOTA;
        if starved {
            c.database.pool_size = 2;
            c.database.acquire_timeout_ms = 100;
        }
    })
    .await;
    let a = s.user("burst@example.org").await;
    let (_, p) = s.call("POST", "/api/projects", &a, Some(json!({"name": "burst"}))).await;
    let pid = p["id"].as_str().unwrap().to_string();
    let stl = std::fs::read(common::root().join("examples/cube.stl")).unwrap();
    let (_, g) = s.upload(&a, &pid, "cube.stl", stl).await;
    let gid = g["id"].as_str().unwrap().to_string();
    assert_eq!(s.settle(&a, &gid).await["status"], "ready");
    let spec = json!({"name": "c", "geometry_id": gid, "flow": {"type": "external", "velocity": [10, 0, 0]}});
    let (st, c) = s.call("POST", &format!("/api/projects/{pid}/cases"), &a, Some(spec)).await;
    assert_eq!(st, 201, "{c}");
    let cid = c["id"].as_str().unwrap().to_string();

    // A worker's job, claimed, whose lease is renewed all through the burst (another user's,
    // so that it takes none of the burst's quota).
    let store: Arc<dyn Store> = s.running.as_ref().unwrap().state.store.clone();
    let (wuser, wcase) = db::user_with_case(&store, "worker@example.org").await;
    let wjob = store.create_job(&wcase, &wuser, "local", 1, "worker's").await.unwrap();
    let claimed = store.claim_job("w", 30_000).await.unwrap().expect("the worker claims its job");
    assert_eq!(claimed.id, wjob.id);
    let beating = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let hb = {
        let (store, beating, id) = (store.clone(), beating.clone(), wjob.id.clone());
        tokio::spawn(async move {
            let mut slowest = Duration::ZERO;
            let mut beats = 0;
            while !starved && beating.load(std::sync::atomic::Ordering::Relaxed) {
                let t = Instant::now();
                let ok = store.heartbeat(&id, "w", 30_000).await;
                slowest = slowest.max(t.elapsed());
                assert!(matches!(ok, Ok(true)), "a heartbeat failed during the burst: {ok:?}");
                beats += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            (beats, slowest)
        })
    };

    let t = Instant::now();
    let mut calls = Vec::new();
    for _ in 0..BURST {
        let (http, u, a) = (s.http.clone(), s.u(&format!("/api/cases/{cid}/jobs")), a.clone());
        calls.push(tokio::spawn(async move {
            let r = http.post(u).bearer_auth(a).json(&json!({"executor": "local", "cores": 1})).send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<serde_json::Value>().await.unwrap_or_default())
        }));
    }
    let mut created = std::collections::HashSet::new();
    let mut refused = 0;
    for c in calls {
        let (status, body) = c.await.unwrap();
        match status {
            201 => assert!(created.insert(body["id"].as_str().unwrap().to_string()), "one id twice"),
            // A quota refusal says which quota and what to do.
            422 => {
                assert!(body["detail"].as_str().unwrap().contains("jobs.max_cores_per_user"), "{body}");
                refused += 1;
            }
            429 | 503 => refused += 1,
            _ => panic!("submission answered {status}: {body}"),
        }
    }
    let took = t.elapsed();
    beating.store(false, std::sync::atomic::Ordering::Relaxed);
    let (beats, slowest) = hb.await.unwrap();

    // Exactly the jobs answered 201 exist: none committed behind a failure.
    let jobs = store.project_jobs(&pid).await.unwrap();
    let ids: std::collections::HashSet<String> = jobs.iter().map(|j| j.id.clone()).collect();
    assert_eq!(ids, created, "the jobs in the database are exactly those answered 201");
    assert_eq!(created.len() + refused, BURST);
    let live: i64 = jobs.iter().filter(|j| !j.status.is_terminal()).map(|j| j.cores).sum();
    if starved {
        assert!(live <= USER_QUOTA as i64 && refused > 0, "{live} cores live, {refused} refused");
        s.stop().await;
        return;
    }
    // The quota holds, and is reached: the burst was not just refused wholesale.
    assert_eq!(live, USER_QUOTA as i64, "live cores end exactly at the quota ({} created)", created.len());
    // The worker's lease never lapsed: every heartbeat came back in well under the lease.
    assert!(beats > 0);
    assert!(slowest < Duration::from_secs(5), "a heartbeat waited {slowest:?} during the burst (took {took:?})");
    assert_eq!(store.job(&wjob.id).await.unwrap().unwrap().lease_owner.as_deref(), Some("w"));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_submissions_on_sqlite_is_answered_truthfully() {
    let dir = tempfile::tempdir().unwrap();
    burst(db::sqlite_in(dir.path()), false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_submissions_on_postgres_is_answered_truthfully() {
    burst(db::fresh_postgres().await, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_on_a_starved_sqlite_pool_creates_exactly_the_jobs_answered_201() {
    let dir = tempfile::tempdir().unwrap();
    burst(db::sqlite_in(dir.path()), true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_on_a_starved_postgres_pool_creates_exactly_the_jobs_answered_201() {
    burst(db::fresh_postgres().await, true).await;
}

/// Parallel submissions straight to the store, whose cores together pass the user's quota
/// and (for an org project) the organization's: the live cores never pass either.
async fn parallel_submissions_never_pass_a_quota(s: Arc<dyn Store>) {
    s.migrate().await.unwrap();
    let (user, case) = db::user_with_case(&s, "quota@example.org").await;
    let limits = CoreLimits { per_user: 20, per_org: 1000 };
    let mut tasks = Vec::new();
    for _ in 0..30 {
        let (s, user, case) = (s.clone(), user.clone(), case.clone());
        tasks.push(tokio::spawn(async move {
            let j = NewJob { case_id: &case, user_id: &user, org_id: None, executor: "local", cores: 3, reason: "t" };
            s.submit_job(&j, &limits).await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap().unwrap() {
            Ok(_) => ok += 1,
            Err(q) => assert_eq!((q.kind, q.held), (QuotaKind::User, 18), "a refusal sees every committed core"),
        }
    }
    assert_eq!(ok, 6, "6 × 3 cores fit in 20, a 7th would not");
    assert_eq!(s.active_cores(&user, None).await.unwrap().0, 18);

    // An org project: three members submit at once; the org's quota binds before theirs.
    let org = s.create_org(&user, "Lab", "lab").await.unwrap();
    let p = s.create_project(&user, Some(&org.id), "shared", "").await.unwrap();
    let c = s
        .create_case(&NewCase { project_id: p.id, geometry_id: None, name: "c".into(), spec: "{}".into() })
        .await
        .unwrap();
    let mut members = Vec::new();
    for i in 0..3 {
        let (m, _) = db::user_with_case(&s, &format!("m{i}@example.org")).await;
        s.set_member(&org.id, &m, flowcfd::store::Role::Editor).await.unwrap();
        members.push(m);
    }
    let limits = CoreLimits { per_user: 1000, per_org: 25 };
    let mut tasks = Vec::new();
    for i in 0..30 {
        let (s, m, c, org) = (s.clone(), members[i % 3].clone(), c.clone(), org.id.clone());
        tasks.push(tokio::spawn(async move {
            let j = NewJob { case_id: &c, user_id: &m, org_id: Some(&org), executor: "local", cores: 2, reason: "t" };
            s.submit_job(&j, &limits).await
        }));
    }
    let mut ok = Vec::new();
    for t in tasks {
        match t.await.unwrap().unwrap() {
            Ok(j) => ok.push(j),
            Err(q) => assert_eq!((q.kind, q.held, q.limit), (QuotaKind::Org, 24, 25)),
        }
    }
    assert_eq!(ok.len(), 12, "12 × 2 cores fit in the org's 25");
    assert_eq!(s.active_cores(&members[0], Some(&org.id)).await.unwrap().1, 24);
    // Cores come back when a job ends.
    assert!(s.request_cancel(&ok[0].id, "test").await.unwrap());
    let m = ok[0].user_id.as_str();
    let again = NewJob { case_id: &c, user_id: m, org_id: Some(&org.id), executor: "local", cores: 2, reason: "t" };
    assert!(s.submit_job(&again, &limits).await.unwrap().is_ok(), "a finished job's cores are free again");
    assert!(s.submit_job(&again, &limits).await.unwrap().is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_quota_holds_under_parallel_submissions() {
    let dir = tempfile::tempdir().unwrap();
    parallel_submissions_never_pass_a_quota(flowcfd::store::open(&db::sqlite_in(dir.path())).await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_quota_holds_under_parallel_submissions() {
    parallel_submissions_never_pass_a_quota(flowcfd::store::open(&db::fresh_postgres().await).await.unwrap()).await;
}
