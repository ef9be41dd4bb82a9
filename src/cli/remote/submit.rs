//! `remote upload` and `remote submit`: a geometry streamed to the project and waited for,
//! the geometry a case runs on (chosen, uploaded or the only one ready, and said which),
//! the case created from the case file and its job submitted.
use super::case_file::CaseFile;
use super::client::Client;
use super::{exit, listing, watch};
use anyhow::{bail, Context};
use clap::Args;
use serde::Deserialize;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A geometry as the API shows it (the fields the CLI reads).
#[derive(Debug, Clone, Deserialize)]
pub struct Geometry {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub status: String,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub triangles: Option<i64>,
    #[serde(default)]
    pub surface_groups: Value,
}

/// How long a geometry may take to process before the CLI gives up waiting.
const PROCESSING_WAIT: Duration = Duration::from_secs(30 * 60);

/// Uploads `file` to project `project_id` and waits until it is processed.
pub async fn upload(api: &Client, project_id: &str, file: &Path, scale: Option<f64>) -> anyhow::Result<Geometry> {
    let len = std::fs::metadata(file).with_context(|| format!("{}", file.display()))?.len();
    let name = file.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "upload.stl".into());
    let mut path = format!("/api/projects/{project_id}/geometries");
    if let Some(s) = scale {
        path.push_str(&format!("?scale={s}"));
    }
    let url = api.url(&path);
    eprintln!("uploading {} ({:.1} MiB)…", file.display(), len as f64 / 1048576.0);
    let r = api
        .send(|h| {
            // Streamed from the file, opened again if the request is retried.
            let f = std::fs::File::open(file).with_context(|| format!("{}", file.display()))?;
            let body = reqwest::Body::from(tokio::fs::File::from_std(f));
            let part = reqwest::multipart::Part::stream_with_length(body, len).file_name(name.clone());
            Ok(h.post(&url).multipart(reqwest::multipart::Form::new().part("file", part)))
        })
        .await?;
    let g: Geometry = r.json().await.context("the upload answer is not a geometry")?;
    wait_ready(api, &g.id).await
}

/// Polls a geometry until it is ready; its failure as an error.
pub async fn wait_ready(api: &Client, id: &str) -> anyhow::Result<Geometry> {
    let start = Instant::now();
    let mut said = false;
    loop {
        let g: Geometry = api.get(&format!("/api/geometries/{id}")).await?;
        match g.status.as_str() {
            "ready" => {
                let groups: Vec<&str> =
                    g.surface_groups.as_array().into_iter().flatten().filter_map(|x| x["name"].as_str()).collect();
                eprintln!(
                    "geometry {} ({}) is ready: {} triangles, surface groups: {}",
                    g.id,
                    g.name,
                    g.triangles.unwrap_or(0),
                    groups.join(", ")
                );
                return Ok(g);
            }
            "failed" => bail!("geometry {} ({}) failed processing: {}", g.id, g.name, g.error.unwrap_or_default()),
            s => {
                if !said {
                    eprintln!("geometry {} is {s}; waiting until it is ready…", g.id);
                    said = true;
                }
                if start.elapsed() > PROCESSING_WAIT {
                    bail!("geometry {} is still {s} after {} minutes", g.id, PROCESSING_WAIT.as_secs() / 60);
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

/// `remote submit PROJECT CASE.toml`.
#[derive(Args)]
pub struct SubmitArgs {
    /// Project id or name.
    pub project: String,
    /// The case file: the TOML of `flowcfd run` (or its JSON form).
    pub case_file: PathBuf,
    /// The uploaded geometry the case runs on. Without it: the case file's `geometry_id`,
    /// else its `geometry` file (uploaded first), else the project's only ready geometry.
    #[arg(long)]
    pub geometry: Option<String>,
    /// Where the job runs: `local` (the server itself) or a configured cluster's name.
    #[arg(long, default_value = "local")]
    pub executor: String,
    /// MPI ranks; default the case file's solver.cores, else the server chooses from the
    /// mesh size.
    #[arg(long)]
    pub cores: Option<u32>,
    /// Follow the job until it ends and exit with its outcome (see `remote watch`).
    #[arg(long)]
    pub watch: bool,
}

/// Creates the case and submits its job; prints the job id (and follows it with --watch).
pub async fn submit(api: &Client, a: &SubmitArgs) -> anyhow::Result<u8> {
    let case = CaseFile::read(&a.case_file)?;
    let project = listing::resolve_project(api, &a.project).await?;
    let geometry = choose_geometry(api, &project, &case, a.geometry.as_deref()).await?;
    let body = case.api_body(&geometry)?;
    let created: Value = api.post(&format!("/api/projects/{}/cases", project.id), &body).await?;
    let case_id = created["id"].as_str().context("the case answer has no id")?;
    let cores = a.cores.or(case.cores());
    let mut req = json!({"executor": a.executor});
    if let Some(n) = cores {
        req["cores"] = json!(n);
    }
    let job: Value = api.post(&format!("/api/cases/{case_id}/jobs"), &req).await?;
    let job_id = job["id"].as_str().context("the job answer has no id")?;
    eprintln!(
        "case {case_id} ({}) submitted as job {job_id} on {}{}",
        created["name"].as_str().unwrap_or_default(),
        a.executor,
        cores.map_or(String::new(), |n| format!(" with {n} cores"))
    );
    println!("{job_id}");
    if a.watch {
        return watch::watch(api, job_id).await;
    }
    Ok(exit::COMPLETED)
}

/// The id of the geometry the case runs on, saying which and why.
async fn choose_geometry(
    api: &Client,
    project: &listing::Project,
    case: &CaseFile,
    flag: Option<&str>,
) -> anyhow::Result<String> {
    if let Some(id) = flag.or(case.spec.geometry_id.as_deref()) {
        let g = wait_ready(api, id).await?;
        if g.project_id != project.id {
            bail!("geometry {id} belongs to another project, not {:?}", project.name);
        }
        let from = if flag.is_some() { "--geometry" } else { "the case file's geometry_id" };
        eprintln!("using geometry {id} ({}) from {from}", g.name);
        return Ok(g.id);
    }
    if let Some(file) = case.geometry_path() {
        eprintln!("the case file names {}: uploading it to {:?}", file.display(), project.name);
        return Ok(upload(api, &project.id, &file, None).await?.id);
    }
    let all: Vec<Geometry> = api.get(&format!("/api/projects/{}/geometries", project.id)).await?;
    let ready: Vec<&Geometry> = all.iter().filter(|g| g.status == "ready").collect();
    match ready.as_slice() {
        [g] => {
            eprintln!("using geometry {} ({}), the project's only ready geometry", g.id, g.name);
            Ok(g.id.clone())
        }
        [] => bail!(
            "project {:?} has no ready geometry: upload one (`flowcfd remote upload`), or name a file in the case (geometry = \"body.stl\")",
            project.name
        ),
        many => bail!(
            "project {:?} has {} ready geometries; choose one with --geometry: {}",
            project.name,
            many.len(),
            many.iter().map(|g| format!("{} ({})", g.id, g.name)).collect::<Vec<_>>().join(", ")
        ),
    }
}
