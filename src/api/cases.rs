//! `/api/projects/{id}/cases` and `/api/cases/{id}`.
use crate::error::AppResult;
use crate::http::extract::ApiJson;
use crate::service::{cases, projects, Caller};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;

async fn create(
    State(st): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> AppResult<impl IntoResponse> {
    let case = cases::create(&st, &c, &id, &body).await?;
    Ok((StatusCode::CREATED, Json(cases::view(&case))))
}

async fn list(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<impl IntoResponse> {
    let p = projects::get(&st, &c, &id, false).await?;
    let list: Vec<_> = st.store.cases(&p.id).await?.iter().map(cases::view).collect();
    Ok(Json(list))
}

async fn show(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<impl IntoResponse> {
    Ok(Json(cases::view(&cases::get(&st, &c, &id).await?)))
}

/// `/api/projects/{id}/cases` and `/api/cases/{id}`.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/projects/{id}/cases", get(list).post(create)).route("/api/cases/{id}", get(show))
}
