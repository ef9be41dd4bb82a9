//! A project's webhooks: `/api/projects/{id}/webhooks`, their delivery log and a ping.
use crate::error::AppResult;
use crate::http::extract::ApiJson;
use crate::service::{webhooks, Caller};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::{Json, Router};

async fn list(State(st): State<AppState>, c: Caller, Path(p): Path<String>) -> AppResult<impl IntoResponse> {
    Ok(Json(webhooks::list(&st, &c, &p).await?))
}

async fn create(
    State(st): State<AppState>,
    c: Caller,
    Path(p): Path<String>,
    ApiJson(b): ApiJson<webhooks::NewWebhook>,
) -> AppResult<impl IntoResponse> {
    Ok((StatusCode::CREATED, Json(webhooks::create(&st, &c, &p, &b).await?)))
}

async fn remove(State(st): State<AppState>, c: Caller, Path((p, h)): Path<(String, String)>) -> AppResult<StatusCode> {
    webhooks::delete(&st, &c, &p, &h).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn deliveries(State(st): State<AppState>, c: Caller, Path((p, h)): Path<(String, String)>) -> AppResult<impl IntoResponse> {
    Ok(Json(webhooks::deliveries(&st, &c, &p, &h).await?))
}

async fn ping(State(st): State<AppState>, c: Caller, Path((p, h)): Path<(String, String)>) -> AppResult<impl IntoResponse> {
    Ok((StatusCode::ACCEPTED, Json(webhooks::ping(&st, &c, &p, &h).await?)))
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/projects/{id}/webhooks", get(list).post(create))
        .route("/api/projects/{id}/webhooks/{hook}", delete(remove))
        .route("/api/projects/{id}/webhooks/{hook}/deliveries", get(deliveries))
        .route("/api/projects/{id}/webhooks/{hook}/ping", post(ping))
}
