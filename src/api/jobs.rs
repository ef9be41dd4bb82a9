//! `/api/cases/{id}/jobs` and `/api/jobs`.
use crate::error::{AppError, AppResult};
use crate::http::extract::ApiJson;
use crate::service::jobs::{self, ExecutorInfo, JobView};
use crate::service::{projects, Caller};
use crate::store::JobStatus;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Submit {
    /// Where to run: `local` or a configured cluster (`GET /api/clusters`).
    executor: String,
    /// Cores (MPI ranks); the executor's default when left out.
    cores: Option<u32>,
}

/// A queued job.
#[derive(Serialize, ToSchema)]
struct Submitted {
    id: String,
    status: JobStatus,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// The project whose jobs to list.
    #[param(required)]
    project: Option<String>,
}

/// Queue a run of the case
#[utoipa::path(post, path = "/api/cases/{id}/jobs", tag = "jobs", params(("id" = String, Path, description = "the case")),
    request_body = Submit, responses((status = 201, description = "queued", body = Submitted)))]
async fn submit(
    State(st): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<Submit>,
) -> AppResult<impl IntoResponse> {
    let job = jobs::submit(&st, &c, &id, &b.executor, b.cores).await?;
    Ok((StatusCode::CREATED, Json(Submitted { id: job.id, status: job.status })))
}

/// Status, step, iteration, residuals, forces, core_seconds and core_hours (the usage recorded for billing), transitions
#[utoipa::path(get, path = "/api/jobs/{id}", tag = "jobs", params(("id" = String, Path)),
    responses((status = 200, description = "the job", body = JobView)))]
async fn show(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<Json<JobView>> {
    let (job, _) = jobs::get(&st, &c, &id).await?;
    Ok(Json(jobs::view(&st, &job).await?))
}

/// Jobs of a project: ?project=ID
#[utoipa::path(get, path = "/api/jobs", tag = "jobs", params(ListQuery),
    responses((status = 200, description = "the project's jobs", body = Vec<JobView>)))]
async fn list(State(st): State<AppState>, c: Caller, Query(q): Query<ListQuery>) -> AppResult<Json<Vec<JobView>>> {
    let pid = q.project.ok_or_else(|| AppError::Validation("give the project: GET /api/jobs?project=ID".into()))?;
    let p = projects::get(&st, &c, &pid, false).await?;
    let mut out = Vec::new();
    for j in st.store.project_jobs(&p.id).await? {
        out.push(jobs::view(&st, &j).await?);
    }
    Ok(Json(out))
}

/// Stop a job and everything it started
#[utoipa::path(post, path = "/api/jobs/{id}/cancel", tag = "jobs", params(("id" = String, Path)),
    responses((status = 202, description = "the job, stopping", body = JobView)))]
async fn cancel(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<impl IntoResponse> {
    let job = jobs::cancel(&st, &c, &id).await?;
    Ok((StatusCode::ACCEPTED, Json(jobs::view(&st, &job).await?)))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct LogQuery {
    /// Only the last this many bytes (whole lines).
    #[param(maximum = 4294967295_u64)]
    tail: Option<u32>,
}

/// The log's length in bytes, on `GET /api/jobs/{id}/log`: where live `log` events take over.
const LOG_END: header::HeaderName = header::HeaderName::from_static("x-log-end");

/// The run's log (?tail=BYTES: its last whole lines); header x-log-end: its length in bytes
#[utoipa::path(get, path = "/api/jobs/{id}/log", tag = "jobs", params(("id" = String, Path), LogQuery),
    responses((status = 200, description = "the log", content_type = "text/plain", body = String,
        headers(("x-log-end" = u64, description = "the log's length in bytes: where live `log` events take over")))))]
async fn log(
    State(st): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    Query(q): Query<LogQuery>,
) -> AppResult<impl IntoResponse> {
    let (mut text, end) = jobs::log(&st, &c, &id).await?;
    if let Some(n) = q.tail.map(|n| n as usize) {
        if text.len() > n {
            let mut cut = text.len() - n;
            while !text.is_char_boundary(cut) {
                cut += 1;
            }
            let rest = &text[cut..];
            text = rest.split_once('\n').map(|(_, r)| r).unwrap_or(rest).to_string();
        }
    }
    let end = header::HeaderValue::from(end);
    Ok(([(header::CONTENT_TYPE, header::HeaderValue::from_static("text/plain; charset=utf-8")), (LOG_END, end)], text))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct After {
    /// Only samples after this iteration.
    after: Option<i64>,
}

/// Residual and force history, one sample per iteration: ?after=N
#[utoipa::path(get, path = "/api/jobs/{id}/samples", tag = "jobs", params(("id" = String, Path), After),
    responses((status = 200, description = "`sample` events (as the WebSocket sends them), in iteration order", body = Vec<Object>)))]
async fn samples(
    State(st): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    Query(q): Query<After>,
) -> AppResult<impl IntoResponse> {
    let (job, _) = jobs::get(&st, &c, &id).await?;
    Ok(Json(jobs::samples_after(&st, &job.id, q.after.unwrap_or(0)).await?))
}

/// The exportable OpenFOAM case of an ended job
#[utoipa::path(get, path = "/api/jobs/{id}/case.tar.gz", tag = "jobs", params(("id" = String, Path)),
    responses((status = 200, description = "the case (Content-Disposition: attachment)", content_type = "application/gzip", body = Vec<u8>)))]
async fn case_archive(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<impl IntoResponse> {
    let (job, _) = jobs::get(&st, &c, &id).await?;
    let key = format!("jobs/{}/case.tar.gz", job.id);
    let stream = match st.blobs.stream(&key).await {
        Ok(s) => s,
        Err(crate::blob::BlobError::NotFound(_)) => {
            return Err(AppError::Conflict(format!(
                "the job is {}; its case can be downloaded once it has ended",
                job.status.as_str()
            )))
        }
        Err(e) => return Err(e.into()),
    };
    let name = format!("flowcfd-{}.tar.gz", &job.id[..8.min(job.id.len())]);
    Ok((
        [
            (header::CONTENT_TYPE, "application/gzip".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        axum::body::Body::from_stream(stream),
    ))
}

/// Where jobs can run: local and the configured clusters, with their core limits
#[utoipa::path(get, path = "/api/clusters", tag = "jobs",
    responses((status = 200, description = "the executors (no connection details)", body = Vec<ExecutorInfo>)))]
async fn clusters(State(st): State<AppState>, _c: Caller) -> AppResult<Json<Vec<ExecutorInfo>>> {
    Ok(Json(jobs::executors(&st)))
}

/// The pipeline's summary.json of a completed job
#[utoipa::path(get, path = "/api/jobs/{id}/summary", tag = "jobs", params(("id" = String, Path)),
    responses((status = 200, description = "summary.json as the runner wrote it", body = Object)))]
async fn summary(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<impl IntoResponse> {
    Ok(Json(jobs::summary(&st, &c, &id).await?))
}

/// `/api/cases/{id}/jobs`, `/api/jobs/*` and `/api/clusters`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(submit))
        .routes(routes!(list))
        .routes(routes!(clusters))
        .routes(routes!(show))
        .routes(routes!(cancel))
        .routes(routes!(log))
        .routes(routes!(summary))
        .routes(routes!(samples))
        .routes(routes!(case_archive))
}
