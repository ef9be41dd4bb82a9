//! The usage report (issue 20) over real HTTP on SQLite and PostgreSQL: `GET /api/usage`
//! and `/api/usage.csv` sum the core-seconds the store recorded per subject, project, job
//! and day; a credit moves the quota; orgs' usage is for their owner and admins (403 for
//! other members, 404 for everyone else); a malformed period is a 400 that names the
//! format; the job view, the usage, billing and geometry pages and `flowcfd admin usage`
//! show the same numbers.
mod common;

use common::db;
use common::server::TestServer;
use flowcfd::config::BillingConfig;
use flowcfd::store::{JobStatus, NewCase};
use serde_json::{json, Value};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_else(|| panic!("no id in {v}")).to_string()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

const SPEC: &str = r#"{"flow": {"type": "external", "velocity": [20, 0, 0]}}"#;

/// A case in `project`, straight in the store (no geometry needed to meter usage).
async fn case(s: &TestServer, project: &str, name: &str) -> String {
    let st = &s.running.as_ref().unwrap().state;
    let c = NewCase { project_id: project.into(), geometry_id: None, name: name.into(), spec: SPEC.into() };
    st.store.create_case(&c).await.unwrap()
}

/// A job of `cores` in the case that ran for `hours`, its usage recorded as the worker
/// records it: (job id, the time its usage ends, ms).
async fn ran(s: &TestServer, case: &str, user: &str, cores: i64, hours: f64) -> (String, i64) {
    let st = &s.running.as_ref().unwrap().state;
    let j = st.store.create_job(case, user, "local", cores, "test").await.unwrap();
    let claimed = st.store.claim_job("usage-test", 60_000).await.unwrap().expect("the queued job");
    assert_eq!(claimed.id, j.id);
    assert!(st.store.transition(&j.id, "usage-test", JobStatus::Preparing, "test").await.unwrap());
    let started = st.store.job(&j.id).await.unwrap().unwrap().started_at.unwrap();
    let until = started + (hours * 3_600_000.0) as i64;
    let cs = st.store.record_usage(&j.id, until).await.unwrap();
    assert!(close(cs, cores as f64 * hours * 3600.0), "{cs}");
    (j.id, until)
}

fn month(ms: i64) -> String {
    flowcfd::billing::month_of(ms)
}

fn day(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap().format("%Y-%m-%d").to_string()
}

#[tokio::test]
async fn usage_is_reported_per_subject_project_job_and_day_as_json_csv_pages_and_cli() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, url) in db::backends(dir.path()).await {
        let billing = BillingConfig { default_plan: "engineer".into(), ..BillingConfig::default() };
        let b2 = billing.clone();
        let s = TestServer::start(&url, move |c| {
            c.jobs.slots = 0;
            c.billing = Some(b2);
        })
        .await;
        let alice = s.user("alice@example.org").await; // the first account: an admin
        let bob = s.user("bob@example.org").await;
        let carol = s.user("carol@example.org").await;
        let me = |t: String| {
            let s = &s;
            async move { id(&s.call("GET", "/api/me", &t, None).await.1["user"]) }
        };
        let (alice_id, bob_id) = (me(alice.clone()).await, me(bob.clone()).await);
        let (_, org) = s.call("POST", "/api/orgs", &alice, Some(json!({"name": "Acme", "slug": "acme"}))).await;
        let oid = id(&org);
        // Members need seats: the org goes on the team plan (an engineer plan has one).
        let (st, o) = s.call("PATCH", &format!("/api/admin/orgs/{oid}"), &alice, Some(json!({"plan": "team"}))).await;
        assert_eq!(st, 200, "{o}");
        let (st, inv) = s
            .call(
                "POST",
                &format!("/api/orgs/{oid}/invitations"),
                &alice,
                Some(json!({"email": "bob@example.org", "role": "member"})),
            )
            .await;
        assert_eq!(st, 202, "{inv}");
        assert_eq!(s.call("POST", &format!("/api/invitations/{}/accept", id(&inv)), &bob, None).await.0, 200);

        let project = |name: &str, org: Option<&str>| {
            let body = match org {
                Some(o) => json!({"name": name, "org_id": o}),
                None => json!({"name": name}),
            };
            let (s, alice) = (&s, alice.clone());
            async move {
                let (st, p) = s.call("POST", "/api/projects", &alice, Some(body)).await;
                assert_eq!(st, 201, "{p}");
                id(&p)
            }
        };
        let wing = project("wing", None).await;
        let duct = project("duct, v2", None).await;
        let car = project("=car", Some(&oid)).await;
        // Alice: 64 cores for 10 h and 2 cores for 1 h, personal; Bob: 4 cores for 30 min
        // in the org's project.
        let (a_job, a_end) = ran(&s, &case(&s, &wing, "wing 3°").await, &alice_id, 64, 10.0).await;
        let (b_job, b_end) = ran(&s, &case(&s, &duct, "duct").await, &alice_id, 2, 1.0).await;
        let (c_job, _) = ran(&s, &case(&s, &car, "car").await, &bob_id, 4, 0.5).await;
        let p = month(a_end);
        assert_eq!(month(b_end), p, "the test needs both runs to end in one month");

        // Alice's own usage: engineer, 500 included, 642 used.
        let (st, r) = s.call("GET", &format!("/api/usage?period={p}"), &alice, None).await;
        assert_eq!(st, 200, "{backend}: {r}");
        assert_eq!((r["period"].as_str(), r["plan"].as_str()), (Some(p.as_str()), Some("engineer")), "{r}");
        assert_eq!(r["subject"], format!("user:{alice_id}"));
        assert_eq!(r["period_months"], json!([p]));
        assert!(close(r["included_core_hours"].as_f64().unwrap(), 500.0), "{r}");
        assert!(close(r["used_core_hours"].as_f64().unwrap(), 642.0), "{backend}: {r}");
        assert!(close(r["remaining_core_hours"].as_f64().unwrap(), 0.0), "{r}");
        assert!(close(r["overage_core_hours"].as_f64().unwrap(), 142.0), "{r}");
        assert!(close(r["overage_usd"].as_f64().unwrap(), 142.0 * 0.12), "{r}");
        let projects: Vec<(&str, f64)> = r["by_project"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| (x["name"].as_str().unwrap(), x["core_hours"].as_f64().unwrap()))
            .collect();
        assert_eq!(projects.len(), 2, "{backend}: only Alice's personal projects: {r}");
        assert!(projects[0].0 == "wing" && close(projects[0].1, 640.0) && close(projects[1].1, 2.0), "{projects:?}");
        let jobs = r["by_job"].as_array().unwrap();
        assert_eq!(jobs.len(), 2, "{r}");
        assert_eq!(
            (jobs[0]["job_id"].as_str(), jobs[0]["project_id"].as_str()),
            (Some(a_job.as_str()), Some(wing.as_str()))
        );
        assert_eq!((jobs[0]["cores"].as_i64(), jobs[0]["executor"].as_str()), (Some(64), Some("local")), "{r}");
        assert_eq!((jobs[0]["case_name"].as_str(), jobs[0]["status"].as_str()), (Some("wing 3°"), Some("preparing")));
        assert_eq!((jobs[1]["job_id"].as_str(), jobs[1]["project"].as_str()), (Some(b_job.as_str()), Some("duct, v2")));
        let daily = r["daily"].as_array().unwrap();
        assert!((28..=31).contains(&daily.len()) && daily[0]["date"] == format!("{p}-01"), "every day: {daily:?}");
        let on = |d: &str| daily.iter().find(|x| x["date"] == d).unwrap()["core_hours"].as_f64().unwrap();
        let want_a_day = if day(a_end) == day(b_end) { 642.0 } else { 640.0 };
        assert!(close(on(&day(a_end)), want_a_day), "{daily:?}");
        let total: f64 = daily.iter().map(|x| x["core_hours"].as_f64().unwrap()).sum();
        assert!(close(total, 642.0), "{total}");
        // This month by default; another month is empty.
        let (_, now) = s.call("GET", "/api/usage", &alice, None).await;
        assert_eq!(now["period"].as_str(), Some(month(flowcfd::store::now_ms()).as_str()), "{now}");
        let (st, old) = s.call("GET", "/api/usage?period=2001-01", &alice, None).await;
        assert_eq!((st, old["used_core_hours"].as_f64()), (200, Some(0.0)), "{old}");
        assert!(old["by_job"].as_array().unwrap().is_empty() && old["daily"].as_array().unwrap().len() == 31);

        // A credit raises what is allowed: 642 - (500 + 100) = 42 core-hours over.
        let (st, u) = s
            .call("PATCH", &format!("/api/admin/users/{alice_id}"), &alice, Some(json!({"credit_core_hours": 100})))
            .await;
        assert_eq!(st, 200, "{u}");
        let (_, r) = s.call("GET", &format!("/api/usage?period={p}"), &alice, None).await;
        assert!(close(r["credit_core_hours"].as_f64().unwrap(), 100.0), "{r}");
        assert!(close(r["overage_core_hours"].as_f64().unwrap(), 42.0), "{r}");
        assert!(close(r["overage_usd"].as_f64().unwrap(), 42.0 * 0.12), "{r}");

        // Malformed periods and unknown parameters: 400 saying what is expected.
        for bad in ["2026-13", "december", "2026-1", "26-12"] {
            let (st, e) = s.call("GET", &format!("/api/usage?period={bad}"), &alice, None).await;
            assert_eq!(st, 400, "{backend} {bad}: {e}");
            assert!(e["detail"].as_str().unwrap().contains("YYYY-MM"), "{e}");
            assert_eq!(s.call("GET", &format!("/api/usage.csv?period={bad}"), &alice, None).await.0, 400);
        }
        let (st, e) = s.call("GET", "/api/usage?month=2026-12", &alice, None).await;
        assert!(st == 400 && e["detail"].as_str().unwrap().contains("period=YYYY-MM"), "{e}");

        // The org's usage: its owner sees Bob's job; Bob, a member, gets 403, Carol 404;
        // Bob's personal usage does not hold the org's job.
        let (st, r) = s.call("GET", &format!("/api/usage?period={p}&org={oid}"), &alice, None).await;
        assert_eq!(st, 200, "{r}");
        assert_eq!(r["subject"], format!("org:{oid}"));
        assert!(close(r["used_core_hours"].as_f64().unwrap(), 2.0), "{backend}: {r}");
        assert_eq!(r["by_job"][0]["job_id"].as_str(), Some(c_job.as_str()), "{r}");
        assert_eq!(r["by_project"][0]["name"], "=car");
        assert_eq!(s.call("GET", &format!("/api/usage?org={oid}"), &bob, None).await.0, 403);
        assert_eq!(s.call("GET", &format!("/api/usage.csv?org={oid}"), &bob, None).await.0, 403);
        assert_eq!(s.call("GET", &format!("/api/usage?org={oid}"), &carol, None).await.0, 404);
        assert_eq!(s.call("GET", &format!("/api/usage.csv?org={oid}"), &carol, None).await.0, 404);
        let (_, mine) = s.call("GET", &format!("/api/usage?period={p}"), &bob, None).await;
        assert!(close(mine["used_core_hours"].as_f64().unwrap(), 0.0) && mine["by_job"] == json!([]), "{mine}");
        let (st, _) =
            s.call("PATCH", &format!("/api/orgs/{oid}/members/{bob_id}"), &alice, Some(json!({"role": "admin"}))).await;
        assert_eq!(st, 200);
        assert_eq!(s.call("GET", &format!("/api/usage?org={oid}&period={p}"), &bob, None).await.0, 200);

        // The CSV: one row per job, the total, quoted and formula-safe text.
        let csv = s.http.get(s.u(&format!("/api/usage.csv?period={p}"))).bearer_auth(&alice).send().await.unwrap();
        assert_eq!(csv.status(), 200);
        assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
        let disposition = csv.headers()["content-disposition"].to_str().unwrap().to_string();
        assert_eq!(disposition, format!("attachment; filename=\"flowcfd-usage-{p}.csv\""));
        let text = csv.text().await.unwrap();
        let lines: Vec<&str> = text.split_terminator("\r\n").collect();
        assert_eq!(lines[0], "job_id,project_id,project,case,executor,cores,status,core_hours", "{text}");
        assert_eq!(lines[1], format!("{a_job},{wing},wing,wing 3°,local,64,preparing,640.0000"));
        assert_eq!(lines[2], format!("{b_job},{duct},\"duct, v2\",duct,local,2,preparing,2.0000"));
        assert_eq!(lines[3], "total,,,,,,,642.0000");
        assert_eq!(lines.len(), 4, "{text}");
        let csv = s.http.get(s.u(&format!("/api/usage.csv?org={oid}&period={p}"))).bearer_auth(&alice).send().await;
        let csv = csv.unwrap();
        assert!(csv.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(&format!("flowcfd-usage-acme-{p}.csv")));
        let text = csv.text().await.unwrap();
        assert!(text.contains(",'=car,car,local,4,preparing,2.0000\r\n"), "formula defused: {text}");

        // The job view: the recorded usage, in core-seconds and core-hours.
        let (_, j) = s.call("GET", &format!("/api/jobs/{a_job}"), &alice, None).await;
        assert!(close(j["core_hours"].as_f64().unwrap(), 640.0) && j["core_seconds"] == json!(2_304_000.0), "{j}");

        // The pages: the meter, the overage and its cost; the plans with the current one.
        let cookie = s.session("alice@example.org").await;
        let (st, html) = s.page(&format!("/usage?period={p}"), &cookie).await;
        assert_eq!(st, 200);
        assert!(
            html.contains("id=\"usage-meter\"") && html.contains("max=\"600\"") && html.contains("value=\"642\""),
            "{html}"
        );
        assert!(html.contains("642 core-hours") && html.contains("42 core-hours") && html.contains("$5.04"), "{html}");
        assert!(html.contains("\"daily\":[{\"core_hours\":") || html.contains("\"daily\":[{\"date\":"), "{html}");
        assert!(html.contains(&format!("/jobs/{a_job}")) && html.contains("duct, v2"), "top jobs and projects");
        let (st, html) = s.page(&format!("/usage?org={oid}&period={p}"), &cookie).await;
        assert!(st == 200 && html.contains(&format!("/jobs/{c_job}")), "{html}");
        let (st, html) = s.page("/usage?period=2026-99", &cookie).await;
        assert!(st == 400 && html.contains("YYYY-MM"), "{st}");
        let (st, html) = s.page("/billing", &cookie).await;
        assert_eq!(st, 200);
        assert!(html.contains("<tr data-plan=\"engineer\" class=\"current\">"), "{html}");
        assert!(html.contains("id=\"billing-off\"") && !html.contains("data-upgrade"), "billing is off: {html}");
        let carol_cookie = s.session("carol@example.org").await;
        assert_eq!(s.page(&format!("/usage?org={oid}"), &carol_cookie).await.0, 404);
        let (st, html) = s.page(&format!("/jobs/{a_job}"), &cookie).await;
        assert!(st == 200 && html.contains("640 core-hours"), "{html}");

        // The administrator's report from the command line: every subject, then one org.
        let cfg = s.dir.path().join("usage.toml");
        std::fs::write(&cfg, "[billing]\ndefault_plan = \"engineer\"\n").unwrap();
        let args = |extra: &[&str]| {
            let mut c = common::flowcfd_clean();
            c.args(["admin", "usage", "--period", &p, "--config"]).arg(&cfg);
            c.arg("--data-dir").arg(s.dir.path()).args(["--database-url", &url]).args(extra);
            c
        };
        let (ok, out, err) = common::run(&mut args(&["--csv"]));
        assert!(ok, "{err}");
        let row = out.lines().find(|l| l.starts_with(&format!("user:{alice_id},"))).unwrap_or_else(|| panic!("{out}"));
        assert_eq!(
            row,
            format!(
                "user:{alice_id},alice@example.org,engineer,{p},{p},500.0000,100.0000,642.0000,0.0000,42.0000,5.04"
            )
        );
        assert!(
            out.contains(&format!("org:{oid},Acme,team,{p},{p},2000.0000,0.0000,2.0000,1998.0000,0.0000,0.00")),
            "{out}"
        );
        assert!(out.lines().last().unwrap().starts_with("total,,,,,,,644.0000,,42.0000,5.04"), "{out}");
        let (ok, out, err) = common::run(&mut args(&["--org", &oid]));
        assert!(ok && out.contains(&c_job) && out.contains("2.0000"), "{out}{err}");
        let (ok, _, err) = common::run(&mut args(&["--user", "nobody@example.org"]));
        assert!(!ok && err.contains("no user with the email"), "{err}");
        s.stop().await;
    }
}

#[tokio::test]
async fn the_wizard_shows_the_plan_limits_before_anything_is_submitted() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(&db::sqlite_in(dir.path()), |c| {
        c.jobs.slots = 0;
        c.billing = Some(BillingConfig::default());
    })
    .await;
    let t = s.user("free@example.org").await;
    let (_, p) = s.call("POST", "/api/projects", &t, Some(json!({"name": "cube"}))).await;
    let stl = std::fs::read(common::root().join("examples/cube.stl")).unwrap();
    let (_, g) = s.upload(&t, &id(&p), "cube.stl", stl).await;
    assert_eq!(s.settle(&t, &id(&g)).await["status"], "ready");
    let cookie = s.session("free@example.org").await;
    let (st, html) = s.page(&format!("/geometries/{}", id(&g)), &cookie).await;
    assert_eq!(st, 200);
    assert!(
        html.contains("Your Free plan: up to 4 cores per job, 1 job at a time; 20 core-hours left this period."),
        "{html}"
    );
    assert!(html.contains("Your Free plan meshes up to 2\u{2009}000\u{2009}000 cells."), "{html}");
    assert!(html.contains("\"max_cores_per_job\":4") && html.contains("\"max_cells\":2000000"), "the island's data");
    s.stop().await;
}

#[tokio::test]
async fn a_campus_allocation_is_reported_over_its_whole_term() {
    use flowcfd::config::Plan;
    let dir = tempfile::tempdir().unwrap();
    let term = Plan {
        name: "cfd-group".into(),
        title: "CFD group".into(),
        included_core_hours: Some(10_000.0),
        period_months: 4,
        ..Plan::default()
    };
    let billing = BillingConfig { default_plan: "cfd-group".into(), plans: vec![term], ..BillingConfig::default() };
    let s = TestServer::start(&db::sqlite_in(dir.path()), move |c| {
        c.jobs.slots = 0;
        c.billing = Some(billing);
    })
    .await;
    let t = s.user("group@example.org").await;
    let me = id(&s.call("GET", "/api/me", &t, None).await.1["user"]);
    let (_, p) = s.call("POST", "/api/projects", &t, Some(json!({"name": "rotor"}))).await;
    let (job, end) = ran(&s, &case(&s, &id(&p), "rotor").await, &me, 8, 3.0).await;
    let months = flowcfd::billing::plan_period(&month(end), 4).unwrap();
    // Any month of the term reports the whole term: the usage of its last month counts
    // when the first is asked for, and the chart has every day of the four months.
    for m in [&months[0], &months[3]] {
        let (st, r) = s.call("GET", &format!("/api/usage?period={m}"), &t, None).await;
        assert_eq!(st, 200, "{r}");
        assert_eq!((r["plan"].as_str(), r["plan_title"].as_str()), (Some("cfd-group"), Some("CFD group")));
        assert_eq!(r["period_months"], json!(months), "{r}");
        assert!(close(r["used_core_hours"].as_f64().unwrap(), 24.0), "{r}");
        assert!(close(r["remaining_core_hours"].as_f64().unwrap(), 9_976.0), "{r}");
        assert_eq!(r["by_job"][0]["job_id"].as_str(), Some(job.as_str()));
        let days = r["daily"].as_array().unwrap();
        assert!((120..=123).contains(&days.len()) && days[0]["date"] == format!("{}-01", months[0]), "{}", days.len());
    }
    // The month before the term is another term.
    let before = {
        let (y, m) = flowcfd::billing::parse_month(&months[0]).unwrap();
        if m == 1 {
            format!("{}-12", y - 1)
        } else {
            format!("{y}-{:02}", m - 1)
        }
    };
    let (_, r) = s.call("GET", &format!("/api/usage?period={before}"), &t, None).await;
    assert!(close(r["used_core_hours"].as_f64().unwrap(), 0.0) && r["period_months"][3] == before.as_str(), "{r}");
    // `?org=` empty is the caller's own usage.
    assert_eq!(s.call("GET", &format!("/api/usage?org=&period={}", months[0]), &t, None).await.0, 200);
    s.stop().await;
}
