//! Plans enforced at submit, through the API: a free user asking for 8 cores gets 403
//! with the limit and where to upgrade; a second job at once 429; a used-up quota 402; an
//! estimate past what is left 402 with what to lower; an admin's plan change (audited)
//! lifts the limits. And in the store, on SQLite and PostgreSQL: parallel submissions
//! cannot pass the jobs-at-once limit or the core-hour quota together, and recorded usage
//! counts against the quota.
mod common;

use common::{db, server::TestServer};
use flowcfd::config::BillingConfig;
use flowcfd::store::{CoreLimits, JobStatus, NewJob, PlanLimits, QuotaKind};
use serde_json::{json, Value};

async fn me(s: &TestServer, token: &str) -> String {
    let (st, m) = s.call("GET", "/api/me", token, None).await;
    assert_eq!(st, 200, "{m}");
    m["id"].as_str().or(m["user"]["id"].as_str()).expect("user id").to_string()
}

/// A project with the cube uploaded and a case of `cells` and `iterations`: (project, case).
async fn cube_case(s: &TestServer, token: &str, cells: u64, iterations: u32) -> (String, String) {
    let (pid, _, case) = s.cube_case(token, cells, iterations).await;
    (pid, case)
}

async fn case_in(s: &TestServer, token: &str, pid: &str, gid: &str, cells: u64, iterations: u32) -> String {
    let body = json!({"name": "cube", "geometry_id": gid, "flow": {"type": "external", "velocity": [10, 0, 0]},
                      "mesh": {"target_cells": cells}, "solver": {"iterations": iterations}});
    let (st, c) = s.call("POST", &format!("/api/projects/{pid}/cases"), token, Some(body)).await;
    assert_eq!(st, 201, "{c}");
    c["id"].as_str().unwrap().to_string()
}

async fn submit(s: &TestServer, token: &str, case: &str, cores: u32) -> (u16, Value) {
    s.call("POST", &format!("/api/cases/{case}/jobs"), token, Some(json!({"executor": "local", "cores": cores}))).await
}

#[tokio::test]
async fn a_free_plan_is_enforced_at_submit_and_an_admin_change_lifts_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(&db::sqlite_in(dir.path()), |c| {
        c.jobs.slots = 0; // jobs stay queued: this test is about the door, not the run
        c.billing = Some(BillingConfig { default_plan: "free".into(), ..BillingConfig::default() });
    })
    .await;
    let admin = s.user("admin@example.org").await; // the first account is the admin
    let a = s.user("free@example.org").await;
    let a_id = me(&s, &a).await;

    let (st, plans) = s.call("GET", "/api/billing/plans", &a, None).await;
    assert_eq!(st, 200, "{plans}");
    let names: Vec<&str> = plans["plans"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["free", "engineer", "team", "unlimited"]);
    assert_eq!(plans["current"]["plan"], "free");

    let (pid, case) = cube_case(&s, &a, 20_000, 60).await;
    // Cores per job: 403, whatever the executor offers, with the limit and the upgrade link.
    let (st, p) = submit(&s, &a, &case, 8).await;
    assert_eq!(st, 403, "{p}");
    assert_eq!((p["limit"].as_str(), p["max_cores_per_job"].as_u64()), (Some("max_cores_per_job"), Some(4)), "{p}");
    assert!(p["detail"].as_str().unwrap().contains("at most 4 cores"), "{p}");
    assert!(p["upgrade_url"].as_str().unwrap().ends_with("/billing"), "{p}");
    // Cells: 403.
    let gid = {
        let (_, gs) = s.call("GET", &format!("/api/projects/{pid}/geometries"), &a, None).await;
        gs.as_array().and_then(|a| a.first()).map(|g| g["id"].as_str().unwrap().to_string()).expect("geometry")
    };
    let big = case_in(&s, &a, &pid, &gid, 3_000_000, 100).await;
    let (st, p) = submit(&s, &a, &big, 1).await;
    assert_eq!((st, p["limit"].as_str()), (403, Some("max_cells")), "{p}");

    // One job at once: the second is 429.
    let (st, j) = submit(&s, &a, &case, 1).await;
    assert_eq!(st, 201, "{j}");
    assert_eq!(j["status"], "queued");
    let (st, p) = submit(&s, &a, &case, 1).await;
    assert_eq!((st, p["limit"].as_str()), (429, Some("concurrent_jobs")), "{p}");
    let jid = j["id"].as_str().unwrap();
    assert_eq!(s.call("POST", &format!("/api/jobs/{jid}/cancel"), &a, None).await.0, 202);

    // An admin's quota of 0: 402, used up. Only admins may change it; a bad value is named.
    let user_path = format!("/api/admin/users/{a_id}");
    assert_eq!(s.call("PATCH", &user_path, &a, Some(json!({"plan": "team"}))).await.0, 403);
    let (st, p) = s.call("PATCH", &user_path, &admin, Some(json!({"plan": "gold"}))).await;
    assert_eq!(st, 422, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("free, engineer, team, unlimited"), "{p}");
    let (st, p) = s.call("PATCH", &user_path, &admin, Some(json!({"quota_core_hours": -1}))).await;
    assert_eq!(st, 422, "{p}");
    let (st, u) = s.call("PATCH", &user_path, &admin, Some(json!({"quota_core_hours": 0}))).await;
    assert_eq!((st, u["billing"]["quota_core_hours"].as_f64()), (200, Some(0.0)), "{u}");
    let (st, p) = submit(&s, &a, &case, 1).await;
    assert_eq!((st, p["limit"].as_str()), (402, Some("core_hours")), "{p}");
    assert!(p["detail"].as_str().unwrap().contains("used up"), "{p}");

    // A small quota that the estimate of a large job does not fit: 402 with what to lower.
    let (st, _) = s.call("PATCH", &user_path, &admin, Some(json!({"quota_core_hours": 0.01}))).await;
    assert_eq!(st, 200);
    let large = case_in(&s, &a, &pid, &gid, 1_900_000, 2000).await;
    let (st, p) = submit(&s, &a, &large, 1).await;
    assert_eq!((st, p["limit"].as_str()), (402, Some("core_hours")), "{p}");
    assert!(p["estimate_core_hours"].as_f64().unwrap() > 1.0, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("lower the target cells or the iterations"), "{p}");
    // A credit makes room; removing the custom quota returns to the plan's 20 core-hours.
    let (st, u) =
        s.call("PATCH", &user_path, &admin, Some(json!({"quota_core_hours": null, "credit_core_hours": 5}))).await;
    assert_eq!((st, u["billing"]["quota_core_hours"].clone()), (200, Value::Null), "{u}");
    let (st, j) = submit(&s, &a, &case, 1).await;
    assert_eq!(st, 201, "{j}");
    let jid = j["id"].as_str().unwrap();
    assert_eq!(s.call("POST", &format!("/api/jobs/{jid}/cancel"), &a, None).await.0, 202);

    // Upgraded by an admin: 8 cores pass the plan (the local executor may still have fewer).
    let (st, _) = s.call("PATCH", &user_path, &admin, Some(json!({"plan": "engineer"}))).await;
    assert_eq!(st, 200);
    let (st, p) = submit(&s, &a, &case, 8).await;
    assert_ne!(st, 403, "{p}");
    if st == 422 {
        assert!(
            p["detail"].as_str().unwrap().contains("\"local\" allows"),
            "the executor's limit, not the plan's: {p}"
        );
    }
    let (_, plans) = s.call("GET", "/api/billing/plans", &a, None).await;
    assert_eq!(plans["current"]["plan"], "engineer");
    // The account shows the plan in effect, to the user and to the admin.
    assert_eq!(s.call("GET", "/api/me", &a, None).await.1["user"]["plan"], "engineer");
    let (_, users) = s.call("GET", "/api/admin/users", &admin, None).await;
    let shown = users.as_array().unwrap().iter().find(|u| u["id"] == a_id.as_str()).expect("listed");
    assert_eq!(shown["plan"], "engineer", "{users}");
    // Every change is in the audit log, with who made it.
    let (_, log) = s.call("GET", "/api/admin/audit", &admin, None).await;
    let changes: Vec<&Value> = log.as_array().unwrap().iter().filter(|e| e["action"] == "billing.change").collect();
    assert_eq!(changes.len(), 4, "{log}");
    assert!(changes.iter().all(|e| e["target"] == format!("user:{a_id}")), "{log}");
    s.stop().await;
}

#[tokio::test]
async fn without_a_billing_section_nothing_is_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(&db::sqlite_in(dir.path()), |c| c.jobs.slots = 0).await;
    let a = s.user("lab@example.org").await;
    let (_, plans) = s.call("GET", "/api/billing/plans", &a, None).await;
    assert_eq!((plans["current"]["plan"].as_str(), plans["provider"].as_str()), (Some("unlimited"), Some("none")));
    let (_, case) = cube_case(&s, &a, 3_000_000, 100).await;
    for _ in 0..3 {
        let (st, j) = submit(&s, &a, &case, 1).await;
        assert_eq!(st, 201, "{j}");
    }
    s.stop().await;
}

fn plan(subject: &str, concurrent: Option<i64>, allowed: Option<f64>, estimate: f64) -> PlanLimits {
    PlanLimits {
        subject: subject.into(),
        plan: "free".into(),
        concurrent_jobs: concurrent,
        allowed_core_seconds: allowed,
        periods: vec![flowcfd::billing::month_of(flowcfd::store::now_ms())],
        estimate_core_seconds: estimate,
        charge_account: None,
    }
}

type Submitted = Result<flowcfd::store::Job, flowcfd::store::QuotaExceeded>;

/// `n` submissions of one core each under plan `p`, all at once.
fn burst(
    s: &std::sync::Arc<dyn flowcfd::store::Store>,
    case: &str,
    uid: &str,
    p: &PlanLimits,
    n: usize,
) -> Vec<tokio::task::JoinHandle<Submitted>> {
    let cores = CoreLimits { per_user: 1000, per_org: 1000 };
    (0..n)
        .map(|_| {
            let (s, case, uid, p) = (s.clone(), case.to_string(), uid.to_string(), p.clone());
            tokio::spawn(async move {
                let j =
                    NewJob { case_id: &case, user_id: &uid, org_id: None, executor: "local", cores: 1, reason: "t" };
                s.submit_planned(&j, &cores, Some(&p)).await.unwrap()
            })
        })
        .collect()
}

#[tokio::test]
async fn parallel_submissions_cannot_pass_a_plan_together() {
    let dir = tempfile::tempdir().unwrap();
    for (label, url) in db::backends(dir.path()).await {
        let s = flowcfd::store::open(&url).await.unwrap();
        s.migrate().await.unwrap();
        let (uid, case) = db::user_with_case(&s, &format!("burst-{label}@example.org")).await;
        let subject = format!("user:{uid}");
        let cores = CoreLimits { per_user: 1000, per_org: 1000 };
        // Jobs at once: of 12 parallel submissions under a limit of 3, exactly 3 pass.
        let p = plan(&subject, Some(3), None, 1.0);
        let tasks = burst(&s, &case, &uid, &p, 12);
        let mut passed = Vec::new();
        for t in tasks {
            match t.await.unwrap() {
                Ok(j) => passed.push(j),
                Err(q) => assert_eq!((q.kind, q.limit), (QuotaKind::Concurrent, 3), "{label}"),
            }
        }
        assert_eq!(passed.len(), 3, "{label}: the limit holds under a burst");
        for j in &passed {
            s.request_cancel(&j.id, "test").await.unwrap();
            assert_eq!(s.job(&j.id).await.unwrap().unwrap().status, JobStatus::Cancelled);
        }
        // Core-hours: 100 core-s allowed, each job expected to use 30: three fit, since live
        // jobs reserve what they have not yet used.
        let p = plan(&subject, None, Some(100.0), 30.0);
        let tasks = burst(&s, &case, &uid, &p, 10);
        let mut ok = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => ok += 1,
                Err(q) => assert_eq!(q.kind, QuotaKind::CoreHours, "{label}"),
            }
        }
        assert_eq!(ok, 3, "{label}: 3 × 30 core-s reserved of 100");
        // Recorded usage counts: a job that ran 64 cores for 2 minutes used 7680 core-s.
        let j = s.claim_job("meter", 60_000).await.unwrap().expect("a queued job");
        assert!(s.transition(&j.id, "meter", JobStatus::Preparing, "test").await.unwrap());
        let started = s.job(&j.id).await.unwrap().unwrap().started_at.expect("started");
        let _ = s.record_usage(&j.id, started + 120_000).await.unwrap();
        let used = s.subject_usage(&subject, &p.periods).await.unwrap();
        assert!(used > 0.0, "{label}: usage is recorded under the subject and period");
        let p = plan(&subject, None, Some(used - 1.0), 0.0);
        let jn = NewJob { case_id: &case, user_id: &uid, org_id: None, executor: "local", cores: 1, reason: "t" };
        let refused = s.submit_planned(&jn, &cores, Some(&p)).await.unwrap().unwrap_err();
        assert_eq!(refused.kind, QuotaKind::CoreHours, "{label}");
        assert!((refused.used_core_seconds - used).abs() < 1e-6, "{label}");
    }
}

#[tokio::test]
async fn an_org_plan_limits_its_seats_and_an_admin_can_change_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(&db::sqlite_in(dir.path()), |c| {
        c.jobs.slots = 0;
        c.billing = Some(BillingConfig { default_plan: "free".into(), ..BillingConfig::default() });
    })
    .await;
    let admin = s.user("root@example.org").await;
    let owner = s.user("owner@example.org").await;
    let b = s.user("b@example.org").await;
    let (st, o) = s.call("POST", "/api/orgs", &owner, Some(json!({"name": "Wind Lab", "slug": "wind-lab"}))).await;
    assert_eq!(st, 201, "{o}");
    let oid = o["id"].as_str().unwrap().to_string();
    let body = json!({"email": "b@example.org", "role": "member"});
    let (st, inv) = s.call("POST", &format!("/api/orgs/{oid}/invitations"), &owner, Some(body)).await;
    assert_eq!(st, 202, "{inv}");
    let inv = inv["id"].as_str().unwrap().to_string();
    // The free plan has one seat, taken by the owner.
    let (st, p) = s.call("POST", &format!("/api/invitations/{inv}/accept"), &b, None).await;
    assert_eq!((st, p["limit"].as_str(), p["seats"].as_u64()), (402, Some("seats"), Some(1)), "{p}");
    // An admin puts the org on the team plan: 5 seats, and the member joins.
    let (st, p) = s.call("PATCH", &format!("/api/admin/orgs/{oid}"), &owner, Some(json!({"plan": "team"}))).await;
    assert_eq!(st, 403, "{p}");
    let (st, p) = s.call("PATCH", &format!("/api/admin/orgs/{oid}"), &admin, Some(json!({"plan": "team"}))).await;
    assert_eq!((st, p["billing"]["plan"].as_str()), (200, Some("team")), "{p}");
    let (st, p) = s.call("PATCH", "/api/admin/orgs/nope", &admin, Some(json!({"plan": "team"}))).await;
    assert_eq!(st, 404, "{p}");
    let (st, p) = s.call("POST", &format!("/api/invitations/{inv}/accept"), &b, None).await;
    assert_eq!(st, 200, "{p}");
    let (_, plans) = s.call("GET", &format!("/api/billing/plans?org={oid}"), &b, None).await;
    assert_eq!(plans["current"]["plan"], "team", "{plans}");
    // The org's project bills the org: its plan (team, 256 cores per job) applies.
    let (st, p) = s.call("POST", "/api/projects", &owner, Some(json!({"name": "org", "org_id": oid}))).await;
    assert_eq!(st, 201, "{p}");
    s.stop().await;
}

#[tokio::test]
async fn a_free_job_stops_at_its_quota_and_keeps_its_results() {
    common::require_openfoam();
    // Meter every second instead of every minute (debug builds only).
    std::env::set_var("FLOWCFD_TEST_USAGE_EVERY_MS", "1000");
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(&db::sqlite_in(dir.path()), |c| {
        c.billing = Some(BillingConfig { default_plan: "free".into(), ..BillingConfig::default() });
        c.webhooks.allow_private = true;
    })
    .await;
    let admin = s.user("quota-admin@example.org").await;
    let a = s.user("quota@example.org").await;
    let a_id = me(&s, &a).await;
    let (pid, case) = cube_case(&s, &a, 20_000, 5000).await;
    // A webhook on the project hears how the job ends.
    let (hook_url, seen) = common::hooks::receiver(0).await;
    let (st, h) = s.call("POST", &format!("/api/projects/{pid}/webhooks"), &a, Some(json!({"url": hook_url}))).await;
    assert_eq!(st, 201, "{h}");
    let (st, j) = submit(&s, &a, &case, 1).await;
    assert_eq!(st, 201, "{j}");
    let jid = j["id"].as_str().unwrap().to_string();
    let started = std::time::Instant::now();
    let wait = |pred: fn(&Value) -> bool| {
        let (s, a, jid) = (&s, &a, &jid);
        async move {
            loop {
                let (st, v) = s.call("GET", &format!("/api/jobs/{jid}"), a, None).await;
                assert_eq!(st, 200, "{v}");
                if pred(&v) {
                    return v;
                }
                assert!(started.elapsed().as_secs() < 400, "stuck: {v}");
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
        }
    };
    let v = wait(|v| v["status"] == "solving" && v["iteration"].as_i64().unwrap_or(0) >= 3).await;
    assert_eq!((v["status"].as_str(), v["plan"].as_str()), (Some("solving"), Some("free")), "{v}");
    // The quota runs out while it solves (an admin sets it to what is already used).
    let (st, _) =
        s.call("PATCH", &format!("/api/admin/users/{a_id}"), &admin, Some(json!({"quota_core_hours": 0}))).await;
    assert_eq!(st, 200);
    let v = wait(|v| matches!(v["status"].as_str(), Some("completed" | "failed" | "cancelled"))).await;
    assert_eq!(v["status"], "completed", "{v}");
    let why = v["status_reason"].as_str().unwrap();
    assert!(why.contains("used up") && why.contains("results so far are kept"), "{v}");
    // Its results so far: the summary says where and why it stopped; the case downloads.
    let (st, sum) = s.call("GET", &format!("/api/jobs/{jid}/summary"), &a, None).await;
    assert_eq!(st, 200, "{sum}");
    let stopped_at = sum["stopped"]["iteration"].as_i64().expect("stopped iteration");
    assert!((3..5000).contains(&stopped_at), "{sum}");
    assert!(sum["stopped"]["reason"].as_str().unwrap().contains("Free plan"), "{sum}");
    let ev = common::hooks::event_of(&seen, "job.completed", 30).await;
    assert_eq!(ev["data"]["job"]["stopped_at_quota"], true, "the event says it stopped at the quota: {ev}");
    assert!(ev["data"]["job"]["reason"].as_str().unwrap().contains("used up"), "{ev}");
    let r = s.http.get(s.u(&format!("/api/jobs/{jid}/case.tar.gz"))).bearer_auth(&a).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.bytes().await.unwrap().len() > 1000);
    // It used core-hours, and the next job is refused until the quota is lifted.
    assert!(v["core_hours"].as_f64().unwrap() > 0.0, "{v}");
    let (st, p) = submit(&s, &a, &case, 1).await;
    assert_eq!(st, 402, "{p}");
    s.stop().await;
}
