//! `flowcfd-bench queue`: trivial jobs through the durable queue, first with one worker
//! (the baseline) and then with several, in one invocation against one database. Reports
//! jobs/s, the speed-up over the baseline, and jobs lost or run twice (target: 0 and 0).
use flowcfd::store::{self, JobStatus, NewCase, NewUser, Store};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Options of `flowcfd-bench queue`.
#[derive(clap::Args, Debug)]
pub struct QueueArgs {
    /// Database to measure (use an empty one: the benchmark adds rows).
    #[arg(long, env = "FLOWCFD_DATABASE_URL")]
    pub database_url: String,
    /// Jobs per run.
    #[arg(long, default_value_t = 1000)]
    pub jobs: usize,
    /// Workers in the measured run (the baseline has one).
    #[arg(long, default_value_t = 4)]
    pub workers: usize,
}

/// One run's outcome.
#[derive(Debug, Clone, serde::Serialize)]
pub struct QueueRun {
    pub workers: usize,
    pub jobs: usize,
    pub seconds: f64,
    pub jobs_per_s: f64,
    pub lost: usize,
    pub duplicated: usize,
}

async fn run(s: &Arc<dyn Store>, case: &str, user: &str, jobs: usize, workers: usize) -> Result<QueueRun, String> {
    let e = |e: store::StoreError| e.to_string();
    let mut ids = Vec::with_capacity(jobs);
    for _ in 0..jobs {
        ids.push(s.create_job(case, user, "local", 1, "benchmark").await.map_err(e)?.id);
    }
    let claims: Arc<Mutex<Vec<String>>> = Arc::default();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (s, claims) = (s.clone(), claims.clone());
        tasks.push(tokio::spawn(async move {
            let me = format!("bench-{w}");
            let mut idle = 0;
            while idle < 5 {
                match s.claim_job(&me, 60_000).await? {
                    Some(j) => {
                        idle = 0;
                        claims.lock().expect("claims").push(j.id.clone());
                        s.transition(&j.id, &me, JobStatus::Preparing, "benchmark").await?;
                        s.transition(&j.id, &me, JobStatus::Completed, "benchmark").await?;
                    }
                    None => {
                        idle += 1;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
            Ok::<(), store::StoreError>(())
        }));
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())?.map_err(e)?;
    }
    // The idle polls at the end are not work: leave them out of the time.
    let seconds = (start.elapsed().as_secs_f64() - 0.1).max(1e-3);
    let claims = claims.lock().expect("claims").clone();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for c in &claims {
        *seen.entry(c.as_str()).or_default() += 1;
    }
    let mut lost = 0;
    for id in &ids {
        let done = s.job(id).await.map_err(e)?.is_some_and(|j| j.status == JobStatus::Completed);
        if !done || !seen.contains_key(id.as_str()) {
            lost += 1;
        }
    }
    let duplicated = seen.values().filter(|n| **n > 1).count();
    Ok(QueueRun { workers, jobs, seconds, jobs_per_s: jobs as f64 / seconds, lost, duplicated })
}

/// Runs the benchmark and prints a table and a JSON line.
pub fn queue(a: &QueueArgs) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(async {
        let s = store::open(&a.database_url).await.map_err(|e| e.to_string())?;
        s.migrate().await.map_err(|e| e.to_string())?;
        let email = format!("queue-bench-{}@example.org", store::new_id());
        let u = s
            .create_user(NewUser {
                email,
                name: "queue benchmark".into(),
                password_hash: None,
                auth_provider: "bench".into(),
                auth_provider_id: Some(store::new_id()),
            })
            .await
            .map_err(|e| e.to_string())?;
        let p = s.create_project(&u.id, None, "queue benchmark", "").await.map_err(|e| e.to_string())?;
        let c = s
            .create_case(&NewCase { project_id: p.id, geometry_id: None, name: "trivial".into(), spec: "{}".into() })
            .await
            .map_err(|e| e.to_string())?;
        let base = run(&s, &c, &u.id, a.jobs, 1).await?;
        let many = run(&s, &c, &u.id, a.jobs, a.workers).await?;
        println!("{:>8} {:>6} {:>9} {:>8} {:>5} {:>10}", "workers", "jobs", "seconds", "jobs/s", "lost", "duplicated");
        for r in [&base, &many] {
            println!(
                "{:>8} {:>6} {:>9.2} {:>8.1} {:>5} {:>10}",
                r.workers, r.jobs, r.seconds, r.jobs_per_s, r.lost, r.duplicated
            );
        }
        println!("ratio {} workers / 1 worker: {:.2}x", a.workers, many.jobs_per_s / base.jobs_per_s);
        println!("{}", json!({"dialect": s.dialect(), "baseline": base, "measured": many}));
        if many.lost + many.duplicated + base.lost + base.duplicated > 0 {
            return Err("jobs were lost or run twice".into());
        }
        Ok(())
    })
}
