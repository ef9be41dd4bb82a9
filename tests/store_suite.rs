//! One store test suite, run against SQLite and against a real PostgreSQL.
mod common;

use common::db;
use flowcfd::store::{self, GeometryResult, NewUser, RefreshRow, Role, Store, StoreError};
use std::sync::Arc;

fn new_user(email: &str) -> NewUser {
    NewUser {
        email: email.into(),
        name: email.split('@').next().unwrap().into(),
        password_hash: Some("x".into()),
        auth_provider: "email".into(),
        auth_provider_id: None,
    }
}

fn geometry(project: &str) -> store::Geometry {
    store::Geometry::pending(project, "cube.stl", "stl", "k", 10, 1.0)
}

async fn suite(s: Arc<dyn Store>) {
    s.migrate().await.unwrap();
    s.migrate().await.expect("migrations are idempotent");
    s.ping().await.unwrap();

    // Users: the first is admin, emails are unique regardless of case.
    let a = s.create_user(new_user("alice@example.org")).await.unwrap();
    let b = s.create_user(new_user("bob@example.org")).await.unwrap();
    let c = s.create_user(new_user("carol@example.org")).await.unwrap();
    assert!(a.is_admin && !b.is_admin && !c.is_admin);
    assert!(matches!(s.create_user(new_user("ALICE@example.org")).await, Err(StoreError::Conflict(_))));
    assert_eq!(s.user_by_email("Alice@Example.org").await.unwrap().unwrap().id, a.id);
    assert_eq!(s.list_users().await.unwrap().len(), 3);
    assert!(s.set_user_flags(&b.id, false, true).await.unwrap());
    assert!(s.user(&b.id).await.unwrap().unwrap().disabled);
    s.set_user_flags(&b.id, false, false).await.unwrap();

    // Personal projects are the owner's alone.
    let p = s.create_project(&a.id, None, "wing", "NACA 0012").await.unwrap();
    assert_eq!(p.role, Role::Owner);
    assert!(s.project(&b.id, &p.id).await.unwrap().is_none());
    assert!(s.projects(&b.id).await.unwrap().is_empty());
    assert_eq!(s.projects(&a.id).await.unwrap().len(), 1);
    s.update_project(&p.id, &store::ProjectPatch { name: Some("wing 2".into()), description: None }).await.unwrap();
    let p2 = s.project(&a.id, &p.id).await.unwrap().unwrap();
    assert_eq!((p2.name.as_str(), p2.description.as_str()), ("wing 2", "NACA 0012"));

    // Org projects are visible to members with their role, and to no one else.
    let org = s.create_org(&a.id, "Fluids lab", "fluids-lab").await.unwrap();
    assert!(matches!(s.create_org(&b.id, "Other", "fluids-lab").await, Err(StoreError::Conflict(_))));
    s.set_member(&org.id, &b.id, Role::Viewer).await.unwrap();
    let op = s.create_project(&a.id, Some(&org.id), "car", "").await.unwrap();
    assert_eq!(s.project(&b.id, &op.id).await.unwrap().unwrap().role, Role::Viewer);
    assert!(s.project(&c.id, &op.id).await.unwrap().is_none());
    s.set_member(&org.id, &b.id, Role::Editor).await.unwrap();
    assert_eq!(s.project(&b.id, &op.id).await.unwrap().unwrap().role, Role::Editor);
    assert_eq!(s.members(&org.id).await.unwrap().len(), 2);
    assert_eq!(s.orgs_for(&b.id).await.unwrap()[0].role, Role::Editor);
    assert!(s.org(&c.id, &org.id).await.unwrap().is_none());
    assert!(!s.remove_member(&org.id, &a.id).await.unwrap(), "the owner cannot be removed");
    assert!(s.remove_member(&org.id, &b.id).await.unwrap());
    assert!(s.project(&b.id, &op.id).await.unwrap().is_none());

    // An org project's role comes from the membership alone: creating it gives nothing.
    s.set_member(&org.id, &c.id, Role::Editor).await.unwrap();
    let cp = s.create_project(&c.id, Some(&org.id), "carol's", "").await.unwrap();
    assert_eq!((cp.owner_id.as_str(), cp.role), (c.id.as_str(), Role::Editor), "the creator is recorded");
    let cc = s
        .create_case(&store::NewCase {
            project_id: cp.id.clone(),
            geometry_id: None,
            name: "c".into(),
            spec: "{}".into(),
        })
        .await
        .unwrap();
    assert!(s.set_member_role(&org.id, &c.id, Role::Viewer).await.unwrap());
    assert_eq!(s.project(&c.id, &cp.id).await.unwrap().unwrap().role, Role::Viewer);
    assert_eq!(s.projects(&c.id).await.unwrap().iter().find(|p| p.id == cp.id).unwrap().role, Role::Viewer);
    assert_eq!(s.case(&c.id, &cc).await.unwrap().unwrap().role, Role::Viewer);
    assert!(!s.set_member_role(&org.id, &a.id, Role::Viewer).await.unwrap(), "the owner's role stays");
    assert!(!s.set_member_role(&org.id, &b.id, Role::Viewer).await.unwrap(), "not a member");
    assert!(s.remove_member(&org.id, &c.id).await.unwrap());
    assert!(s.project(&c.id, &cp.id).await.unwrap().is_none());
    assert!(s.projects(&c.id).await.unwrap().iter().all(|p| p.id != cp.id));
    assert!(s.case(&c.id, &cc).await.unwrap().is_none());
    assert_eq!(s.project(&a.id, &cp.id).await.unwrap().unwrap().role, Role::Owner, "the org keeps it");

    // Invitations: only the invitee's email finds and uses one; accepting makes a member.
    let exp = store::now_ms() + 60_000;
    let i1 = s.invite(&org.id, "Bob@Example.org", Role::Admin, &a.id, exp).await.unwrap();
    let again = s.invite(&org.id, "bob@example.org", Role::Viewer, &a.id, exp).await.unwrap();
    assert_eq!(again, i1, "inviting again renews the pending invitation");
    let mine = s.invitations_for("bob@example.org").await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(
        (mine[0].role, mine[0].org_name.as_str(), mine[0].inviter.as_deref()),
        (Role::Viewer, "Fluids lab", Some("alice"))
    );
    assert!(s.invitations_for("carol@example.org").await.unwrap().is_empty());
    assert!(s.org(&b.id, &org.id).await.unwrap().is_none(), "nothing of the org before accepting");
    assert!(s.accept_invitation(&c.id, "carol@example.org", &i1).await.unwrap().is_none(), "not carol's");
    assert!(!s.decline_invitation("carol@example.org", &i1).await.unwrap());
    assert_eq!(s.org_invitations(&org.id).await.unwrap().len(), 1);
    let joined = s.accept_invitation(&b.id, "bob@example.org", &i1).await.unwrap();
    assert_eq!(joined, Some((org.id.clone(), Role::Viewer)));
    assert!(s.accept_invitation(&b.id, "bob@example.org", &i1).await.unwrap().is_none(), "used once");
    assert_eq!(s.project(&b.id, &op.id).await.unwrap().unwrap().role, Role::Viewer);
    assert!(s.org_invitations(&org.id).await.unwrap().is_empty());
    // An invitation never changes an existing membership (the owner's least of all).
    let i2 = s.invite(&org.id, "alice@example.org", Role::Viewer, &b.id, exp).await.unwrap();
    assert!(s.accept_invitation(&a.id, "alice@example.org", &i2).await.unwrap().is_some());
    assert_eq!(s.org(&a.id, &org.id).await.unwrap().unwrap().role, Role::Owner);
    // Declined, withdrawn and expired invitations cannot be used.
    let i3 = s.invite(&org.id, "carol@example.org", Role::Editor, &a.id, exp).await.unwrap();
    assert!(s.decline_invitation("carol@example.org", &i3).await.unwrap());
    assert!(s.accept_invitation(&c.id, "carol@example.org", &i3).await.unwrap().is_none());
    let i4 = s.invite(&org.id, "dan@example.org", Role::Editor, &a.id, exp).await.unwrap();
    assert!(!s.revoke_invitation("another-org", &i4).await.unwrap());
    assert!(s.revoke_invitation(&org.id, &i4).await.unwrap());
    let i5 = s.invite(&org.id, "carol@example.org", Role::Editor, &a.id, store::now_ms() - 1).await.unwrap();
    assert!(s.invitations_for("carol@example.org").await.unwrap().is_empty());
    assert!(s.accept_invitation(&c.id, "carol@example.org", &i5).await.unwrap().is_none(), "expired");
    assert!(s.org(&c.id, &org.id).await.unwrap().is_none());
    assert!(s.remove_member(&org.id, &b.id).await.unwrap());

    // Geometries are scoped through their project.
    let g = geometry(&p.id);
    s.create_geometry(&g).await.unwrap();
    assert!(s.geometry(&b.id, &g.id).await.unwrap().is_none());
    assert_eq!(s.geometry(&a.id, &g.id).await.unwrap().unwrap().status.as_str(), "pending");
    assert_eq!(s.pending_geometries().await.unwrap().len(), 1);
    assert!(s.claim_geometry(&g.id, "a", 300).await.unwrap().is_some());
    assert!(s.claim_geometry(&g.id, "b", 300).await.unwrap().is_none(), "one claim at a time");
    assert!(s.heartbeat_geometry(&g.id, "a", 300).await.unwrap(), "the holder renews its lease");
    assert!(!s.heartbeat_geometry(&g.id, "b", 300).await.unwrap(), "only the holder does");
    assert!(s.orphaned_geometries(60_000).await.unwrap().is_empty(), "a held lease is no orphan");
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(
        s.orphaned_geometries(60_000).await.unwrap(),
        vec![(g.project_id.clone(), g.id.clone())],
        "a lapsed lease is"
    );
    assert!(!s.heartbeat_geometry(&g.id, "a", 300).await.unwrap(), "a lapsed lease is not renewed");
    assert!(s.claim_geometry(&g.id, "b", 300).await.unwrap().is_some(), "a lapsed claim is taken over");
    let r = GeometryResult {
        processed_key: "pk".into(),
        triangle_count: 12,
        surface_count: 1,
        surface_area: 6.0,
        volume: Some(1.0),
        bounding_box: "{}".into(),
        surface_groups: "[{\"name\":\"cube\"}]".into(),
        healing: "{}".into(),
        analysis: "{}".into(),
    };
    s.finish_geometry(&g.id, &r).await.unwrap();
    let got = s.geometry(&a.id, &g.id).await.unwrap().unwrap();
    assert_eq!((got.status.as_str(), got.triangle_count, got.volume), ("ready", Some(12), Some(1.0)));
    assert!(s.pending_geometries().await.unwrap().is_empty());
    s.set_geometry_status(&g.id, store::GeometryStatus::Failed, Some("bad file")).await.unwrap();
    assert_eq!(s.geometry(&a.id, &g.id).await.unwrap().unwrap().error_message.as_deref(), Some("bad file"));
    assert_eq!(s.geometries(&p.id).await.unwrap().len(), 1);

    // Deleting a project takes its geometries with it.
    s.delete_project(&p.id).await.unwrap();
    assert!(s.geometry(&a.id, &g.id).await.unwrap().is_none());

    // Refresh tokens rotate once.
    let row = |id: &str, hash: &str| RefreshRow {
        id: id.into(),
        user_id: a.id.clone(),
        family_id: "fam".into(),
        kind: "refresh".into(),
        token_hash: hash.into(),
        expires_at: store::now_ms() + 60_000,
        revoked_at: None,
    };
    s.insert_refresh(&row("r1", "h1")).await.unwrap();
    assert!(s.rotate_refresh("r1", &row("r2", "h2")).await.unwrap());
    assert!(!s.rotate_refresh("r1", &row("r3", "h3")).await.unwrap(), "a used token cannot rotate again");
    assert!(s.refresh_by_hash("h1").await.unwrap().unwrap().revoked_at.is_some());
    s.revoke_family("fam").await.unwrap();
    assert!(s.refresh_by_hash("h2").await.unwrap().unwrap().revoked_at.is_some());

    // API tokens.
    let t = store::ApiToken {
        id: store::new_id(),
        user_id: a.id.clone(),
        name: "ci".into(),
        prefix: "fcfd_ab".into(),
        last_used_at: None,
        created_at: store::now_ms(),
    };
    s.insert_api_token(&t, "th").await.unwrap();
    assert_eq!(s.api_token_user("th").await.unwrap().as_deref(), Some(a.id.as_str()));
    assert!(s.list_api_tokens(&a.id).await.unwrap()[0].last_used_at.is_some());
    assert!(!s.revoke_api_token(&b.id, &t.id).await.unwrap(), "only the owner revokes");
    assert!(s.revoke_api_token(&a.id, &t.id).await.unwrap());
    assert!(s.api_token_user("th").await.unwrap().is_none());

    // Settings, audit log, job counts.
    assert!(s.setting("registration_open").await.unwrap().is_none());
    s.put_setting("registration_open", "false").await.unwrap();
    s.put_setting("registration_open", "true").await.unwrap();
    assert_eq!(s.setting("registration_open").await.unwrap().as_deref(), Some("true"));
    s.audit(Some(&a.id), "test.action", Some("x"), "{}", Some("127.0.0.1")).await.unwrap();
    assert_eq!(s.audit_log(10).await.unwrap()[0].action, "test.action");
    assert!(s.job_counts().await.unwrap().is_empty());
    billing(&s).await;
}

/// Billing accounts, Stripe events (once, in order) and the overage outbox.
async fn billing(s: &Arc<dyn Store>) {
    use store::{AccountChange, EventOutcome, PastDue, StripeEventRecord};
    assert_eq!(s.link_customer("user:u1", "cus_1").await.unwrap(), "cus_1");
    assert_eq!(s.link_customer("user:u1", "cus_2").await.unwrap(), "cus_1", "the first customer stays");
    let change = |plan: &str, status: &str, past_due| AccountChange {
        subject: None,
        customer_id: Some("cus_1".into()),
        subscription_id: Some("sub_1".into()),
        status: Some(status.into()),
        plan: Some(plan.into()),
        past_due,
        is_state: true,
        own_subscription_only: true,
    };
    let ev =
        |id: &'static str, at: i64| StripeEventRecord { id, kind: "customer.subscription.updated", created_ms: at };
    let applied = |from: Option<&str>, to: &str| EventOutcome::Applied {
        subject: "user:u1".into(),
        from_plan: from.map(str::to_string),
        to_plan: Some(to.into()),
    };
    let stale = EventOutcome::Stale { subject: "user:u1".into() };
    let c = change("engineer", "active", PastDue::ClearUpTo(2000));
    assert_eq!(s.apply_stripe_event(&ev("e1", 2000), &c).await.unwrap(), applied(None, "engineer"));
    assert_eq!(s.apply_stripe_event(&ev("e1", 2000), &c).await.unwrap(), EventOutcome::Duplicate);
    let older = change("team", "active", PastDue::ClearUpTo(1000));
    assert_eq!(s.apply_stripe_event(&ev("e0", 1000), &older).await.unwrap(), stale);
    let failed = change("engineer", "past_due", PastDue::Since(3000));
    assert_eq!(s.apply_stripe_event(&ev("e3", 3000), &failed).await.unwrap(), applied(Some("engineer"), "engineer"));
    let again = change("engineer", "past_due", PastDue::Since(4000));
    s.apply_stripe_event(&ev("e4", 4000), &again).await.unwrap();
    let a = s.billing_account("user:u1").await.unwrap().unwrap();
    assert_eq!(
        (a.past_due_since, a.state_at, a.subscription_status.as_deref()),
        (Some(3000), Some(4000), Some("past_due"))
    );
    let mut unknown = change("team", "active", PastDue::Keep);
    unknown.customer_id = Some("cus_nobody".into());
    assert_eq!(s.apply_stripe_event(&ev("e5", 5000), &unknown).await.unwrap(), EventOutcome::Unmatched);
    assert_eq!(s.apply_stripe_event(&ev("e5", 5000), &unknown).await.unwrap(), EventOutcome::Duplicate);
    // The grace period: overdue since 3000, so a sweep at 2999 moves nothing, at 3000 it moves.
    assert!(s.downgrade_overdue(2999, "free").await.unwrap().is_empty());
    assert_eq!(s.downgrade_overdue(3000, "free").await.unwrap(), vec![("user:u1".to_string(), "engineer".to_string())]);
    assert_eq!(s.billing_account("user:u1").await.unwrap().unwrap().plan.as_deref(), Some("free"));
    assert!(s.downgrade_overdue(9999, "free").await.unwrap().is_empty());
    let paid = change("engineer", "active", PastDue::ClearUpTo(6000));
    assert_eq!(s.apply_stripe_event(&ev("e6", 6000), &paid).await.unwrap(), applied(Some("free"), "engineer"));
    assert_eq!(s.billing_account("user:u1").await.unwrap().unwrap().past_due_since, None);
    assert_eq!(s.live_subscriptions().await.unwrap().len(), 1);

    // The outbox: one row per (subject, period, seq); one claimer per row and lease.
    assert_eq!(s.outbox_reported("user:u1", "2026-12").await.unwrap(), (0, 0.0));
    let r1 = store::new_report("user:u1", "sub_1", "2026-12", 1, 100.0);
    assert_eq!(r1.idempotency_key, "flowcfd-sub_1-2026-12-1");
    assert!(s.outbox_add(&r1).await.unwrap());
    assert!(!s.outbox_add(&store::new_report("user:u1", "sub_1", "2026-12", 1, 7.0)).await.unwrap());
    assert_eq!(s.outbox_reported("user:u1", "2026-12").await.unwrap(), (1, 100.0));
    let now = store::now_ms() + 10;
    let got = s.outbox_claim(now, 5000, 10).await.unwrap();
    assert_eq!((got.len(), got[0].attempts), (1, 0));
    assert!(s.outbox_claim(now, 5000, 10).await.unwrap().is_empty(), "claimed until the lease ends");
    let got = s.outbox_claim(now + 5000, 5000, 10).await.unwrap();
    assert_eq!((got.len(), got[0].attempts), (1, 1), "a lapsed claim is taken over and counted");
    s.outbox_retry(&r1.id, now + 60_000, "Stripe: 502").await.unwrap();
    assert!(s.outbox_claim(now + 59_999, 5000, 10).await.unwrap().is_empty());
    s.outbox_sent(&r1.id, now).await.unwrap();
    assert!(s.outbox_claim(now + 120_000, 5000, 10).await.unwrap().is_empty(), "sent reports are done");
    let rows = s.outbox_of("user:u1").await.unwrap();
    assert_eq!((rows.len(), rows[0].sent_at, rows[0].attempts), (1, Some(now), 2));
}

#[tokio::test]
async fn sqlite_store() {
    let dir = tempfile::tempdir().unwrap();
    let s = store::open(&db::sqlite_in(dir.path())).await.unwrap();
    assert_eq!(s.dialect(), "sqlite");
    suite(s).await;
}

#[tokio::test]
async fn postgres_store() {
    let s = store::open(&db::fresh_postgres().await).await.unwrap();
    assert_eq!(s.dialect(), "postgres");
    suite(s).await;
}

#[tokio::test]
async fn unreachable_database_is_a_clear_error() {
    let e = match store::open("postgres://nobody:secret@127.0.0.1:1/none").await {
        Err(e) => e.to_string(),
        Ok(_) => panic!("connected to port 1"),
    };
    assert!(e.contains("127.0.0.1:1") && !e.contains("secret"), "{e}");
    let e = match store::open("mysql://x").await {
        Err(e) => e.to_string(),
        Ok(_) => panic!("opened mysql"),
    };
    assert!(e.contains("unsupported database URL"), "{e}");
}

/// Usage read back per billing subject (`UsageReportStore`): each subject sees only its
/// own records, over the months asked for; a deleted project's usage still counts.
async fn usage_report_suite(s: Arc<dyn Store>) {
    use flowcfd::store::{JobStatus, NewCase};
    s.migrate().await.unwrap();
    let a = s.create_user(new_user("ann@example.org")).await.unwrap();
    let b = s.create_user(new_user("ben@example.org")).await.unwrap();
    let org = s.create_org(&b.id, "Rotor lab", "rotor-lab").await.unwrap();
    let mut ended = Vec::new();
    for (user, org_id, name, cores) in
        [(&a, None, "wing", 2), (&a, None, "duct", 1), (&b, Some(org.id.as_str()), "rotor", 3)]
    {
        let p = s.create_project(&user.id, org_id, name, "").await.unwrap();
        let c =
            NewCase { project_id: p.id.clone(), geometry_id: None, name: format!("{name} case"), spec: "{}".into() };
        let c = s.create_case(&c).await.unwrap();
        let j = s.create_job(&c, &user.id, "local", cores, "test").await.unwrap();
        assert_eq!(s.claim_job("w", 60_000).await.unwrap().unwrap().id, j.id);
        assert!(s.transition(&j.id, "w", JobStatus::Preparing, "test").await.unwrap());
        let started = s.job(&j.id).await.unwrap().unwrap().started_at.unwrap();
        s.record_usage(&j.id, started + 100_000).await.unwrap();
        ended.push((p.id, j.id, started + 100_000));
    }
    let month = flowcfd::billing::month_of(ended[0].2);
    let ann = format!("user:{}", a.id);
    let projects = s.usage_by_project(&ann, &month, &month).await.unwrap();
    let names: Vec<_> = projects.iter().map(|p| (p.name.as_deref().unwrap(), p.core_seconds)).collect();
    assert_eq!(names, vec![("wing", 200.0), ("duct", 100.0)], "most first, Ann's only");
    let jobs = s.usage_by_job(&ann, &month, &month).await.unwrap();
    assert_eq!(jobs.len(), 2);
    assert_eq!(
        (jobs[0].job_id.as_deref(), jobs[0].cores, jobs[0].status.as_deref()),
        (Some(ended[0].1.as_str()), Some(2), Some("preparing"))
    );
    assert_eq!((jobs[0].case_name.as_deref(), jobs[0].executor.as_deref()), (Some("wing case"), Some("local")));
    let days = s.usage_by_day(&ann, &month, &month).await.unwrap();
    assert_eq!(days.iter().map(|d| d.core_seconds).sum::<f64>(), 300.0);
    assert!(days.iter().all(|d| d.date.len() == 10 && d.date.starts_with(&month)), "{days:?}");
    let rotor = format!("org:{}", org.id);
    let theirs = s.usage_by_job(&rotor, &month, &month).await.unwrap();
    assert_eq!((theirs.len(), theirs[0].core_seconds), (1, 300.0));
    assert!(s.usage_by_project(&ann, "2001-01", "2001-12").await.unwrap().is_empty(), "other months");
    // Deleting the project deletes its jobs; what they used stays billed.
    s.delete_project(&ended[0].0).await.unwrap();
    let projects = s.usage_by_project(&ann, &month, &month).await.unwrap();
    assert_eq!((projects[0].project_id.as_deref(), projects[0].name.as_deref()), (Some(ended[0].0.as_str()), None));
    let jobs = s.usage_by_job(&ann, &month, &month).await.unwrap();
    assert!(jobs.iter().any(|j| j.job_id.is_none() && j.core_seconds == 200.0), "{jobs:?}");
    let subjects: Vec<String> = s.billing_subjects().await.unwrap().into_iter().map(|x| x.subject).collect();
    for want in [ann, format!("user:{}", b.id), rotor] {
        assert!(subjects.contains(&want), "{want} in {subjects:?}");
    }
}

#[tokio::test]
async fn usage_reports_on_sqlite_and_postgres() {
    let dir = tempfile::tempdir().unwrap();
    usage_report_suite(store::open(&db::sqlite_in(dir.path())).await.unwrap()).await;
    usage_report_suite(store::open(&db::fresh_postgres().await).await.unwrap()).await;
}
