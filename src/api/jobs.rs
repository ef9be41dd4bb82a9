//! `/api/cases/{id}/jobs` and `/api/jobs`.
use crate::error::{AppError, AppResult};
use crate::http::extract::ApiJson;
use crate::service::{jobs, projects, Caller};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Submit {
    executor: String,
    cores: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    project: Option<String>,
}

async fn submit(
    State(st): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<Submit>,
) -> AppResult<impl IntoResponse> {
    let job = jobs::submit(&st, &c, &id, &b.executor, b.cores).await?;
    Ok((StatusCode::CREATED, Json(json!({"id": job.id, "status": job.status}))))
}

async fn show(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<impl IntoResponse> {
    let (job, _) = jobs::get(&st, &c, &id).await?;
    Ok(Json(jobs::view(&st, &job).await?))
}

async fn list(State(st): State<AppState>, c: Caller, Query(q): Query<ListQuery>) -> AppResult<impl IntoResponse> {
    let pid = q.project.ok_or_else(|| AppError::Validation("give the project: GET /api/jobs?project=ID".into()))?;
    let p = projects::get(&st, &c, &pid, false).await?;
    let mut out = Vec::new();
    for j in st.store.project_jobs(&p.id).await? {
        out.push(jobs::view(&st, &j).await?);
    }
    Ok(Json(out))
}

async fn cancel(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<impl IntoResponse> {
    let job = jobs::cancel(&st, &c, &id).await?;
    Ok((StatusCode::ACCEPTED, Json(jobs::view(&st, &job).await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LogQuery {
    /// Only the last this many bytes (whole lines).
    tail: Option<usize>,
}

/// The log's length in bytes, on `GET /api/jobs/{id}/log`: where live `log` events take over.
const LOG_END: header::HeaderName = header::HeaderName::from_static("x-log-end");

async fn log(
    State(st): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    Query(q): Query<LogQuery>,
) -> AppResult<impl IntoResponse> {
    let (mut text, end) = jobs::log(&st, &c, &id).await?;
    if let Some(n) = q.tail {
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct After {
    /// Only samples after this iteration.
    after: Option<i64>,
}

async fn samples(
    State(st): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    Query(q): Query<After>,
) -> AppResult<impl IntoResponse> {
    let (job, _) = jobs::get(&st, &c, &id).await?;
    Ok(Json(jobs::samples_after(&st, &job.id, q.after.unwrap_or(0)).await?))
}

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

/// Where jobs can run: `local` and the configured clusters (no connection details).
async fn clusters(State(st): State<AppState>, _c: Caller) -> AppResult<impl IntoResponse> {
    Ok(Json(jobs::executors(&st)))
}

async fn summary(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<impl IntoResponse> {
    Ok(Json(jobs::summary(&st, &c, &id).await?))
}

/// `/api/cases/{id}/jobs`, `/api/jobs/*` and `/api/clusters`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/cases/{id}/jobs", post(submit))
        .route("/api/jobs", get(list))
        .route("/api/clusters", get(clusters))
        .route("/api/jobs/{id}", get(show))
        .route("/api/jobs/{id}/cancel", post(cancel))
        .route("/api/jobs/{id}/log", get(log))
        .route("/api/jobs/{id}/summary", get(summary))
        .route("/api/jobs/{id}/samples", get(samples))
        .route("/api/jobs/{id}/case.tar.gz", get(case_archive))
        .route("/api/jobs/{id}/ws", get(super::ws::job_events))
}
