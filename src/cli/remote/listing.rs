//! `remote projects` and `remote jobs`: tables with units for people, `--json` for scripts;
//! and a project named by id or by name.
use super::client::Client;
use super::exit;
use anyhow::bail;
use clap::Args;
use serde::Deserialize;
use serde_json::Value;

/// A project as `/api/projects` lists it (the fields the CLI reads).
#[derive(Debug, Clone, Deserialize)]
pub struct Project {
    pub id: String,
    pub name: String,
}

/// The project whose id, or else whose name, is `key`.
pub async fn resolve_project(api: &Client, key: &str) -> anyhow::Result<Project> {
    let all: Vec<Project> = api.get("/api/projects").await?;
    if let Some(p) = all.iter().find(|p| p.id == key) {
        return Ok(p.clone());
    }
    let named: Vec<&Project> = all.iter().filter(|p| p.name == key).collect();
    match named.as_slice() {
        [p] => Ok((*p).clone()),
        [] => {
            let names: Vec<&str> = all.iter().map(|p| p.name.as_str()).collect();
            bail!(
                "no project with the id or name {key:?} (yours: {})",
                if names.is_empty() { "none".into() } else { names.join(", ") }
            )
        }
        many => bail!(
            "{} projects are named {key:?}; give the id: {}",
            many.len(),
            many.iter().map(|p| p.id.as_str()).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// `remote projects`.
pub async fn projects(api: &Client, json: bool) -> anyhow::Result<u8> {
    let all: Vec<Value> = api.get("/api/projects").await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(exit::COMPLETED);
    }
    let rows: Vec<Vec<String>> =
        all.iter().map(|p| vec![text(&p["id"]), text(&p["name"]), text(&p["role"]), date(&p["created_at"])]).collect();
    print_table(&["ID", "NAME", "ROLE", "CREATED (UTC)"], &rows);
    Ok(exit::COMPLETED)
}

/// `remote jobs`.
#[derive(Args)]
pub struct JobsArgs {
    /// Only this project's jobs (id or name); all your projects' without it.
    #[arg(long)]
    pub project: Option<String>,
    /// Only jobs in this state: queued, preparing, meshing, solving, completed, failed,
    /// cancelled; `running` (preparing, meshing or solving) or `ended`.
    #[arg(long)]
    pub status: Option<String>,
    /// The API's JSON (each job with a `project` field added) instead of a table.
    #[arg(long)]
    pub json: bool,
}

const STATES: [&str; 7] = ["queued", "preparing", "meshing", "solving", "completed", "failed", "cancelled"];

fn status_matches(filter: &str, status: &str) -> bool {
    match filter {
        "running" => matches!(status, "preparing" | "meshing" | "solving"),
        "ended" => matches!(status, "completed" | "failed" | "cancelled"),
        s => s == status,
    }
}

pub async fn jobs(api: &Client, a: &JobsArgs) -> anyhow::Result<u8> {
    if let Some(s) = &a.status {
        if !STATES.contains(&s.as_str()) && s != "running" && s != "ended" {
            bail!("--status {s:?}: give one of {}, running, ended", STATES.join(", "));
        }
    }
    let projects = match &a.project {
        Some(key) => vec![resolve_project(api, key).await?],
        None => api.get("/api/projects").await?,
    };
    let mut all = Vec::new();
    for p in &projects {
        let jobs: Vec<Value> = api.get(&format!("/api/jobs?project={}", p.id)).await?;
        for mut j in jobs {
            if a.status.as_deref().is_some_and(|f| !status_matches(f, j["status"].as_str().unwrap_or_default())) {
                continue;
            }
            j["project"] = Value::String(p.name.clone());
            all.push(j);
        }
    }
    all.sort_by_key(|j| std::cmp::Reverse(j["created_at"].as_i64().unwrap_or(0)));
    if a.json {
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(exit::COMPLETED);
    }
    let rows: Vec<Vec<String>> = all
        .iter()
        .map(|j| {
            vec![
                text(&j["id"]),
                text(&j["project"]),
                text(&j["status"]),
                text(&j["step"]),
                text(&j["executor"]),
                text(&j["cores"]),
                text(&j["iteration"]),
                coefficient(&j["forces"]["Cd"]),
                coefficient(&j["forces"]["Cl"]),
                j["core_hours"].as_f64().map_or("-".into(), |h| format!("{h:.3}")),
                date(&j["created_at"]),
            ]
        })
        .collect();
    print_table(
        &["ID", "PROJECT", "STATUS", "STEP", "EXECUTOR", "CORES", "ITER", "Cd", "Cl", "CORE-H (h)", "CREATED (UTC)"],
        &rows,
    );
    Ok(exit::COMPLETED)
}

/// A JSON value as table text: strings bare, null as `-`.
fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A force coefficient to four decimals.
pub fn coefficient(v: &Value) -> String {
    v.as_f64().map_or("-".into(), |x| format!("{x:.4}"))
}

/// Epoch milliseconds as `YYYY-MM-DD HH:MM`.
fn date(v: &Value) -> String {
    v.as_i64()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map_or("-".into(), |d| d.format("%Y-%m-%d %H:%M").to_string())
}

/// Columns padded to their widest cell.
fn print_table(head: &[&str], rows: &[Vec<String>]) {
    let mut width: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells.iter().zip(&width).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(head.to_vec());
    for r in rows {
        line(r.iter().map(String::as_str).collect());
    }
}
