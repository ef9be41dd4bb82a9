//! `/health/live` (the process answers) and `/health/ready` (database and blobs answer).
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

async fn live() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

async fn ready(State(st): State<AppState>) -> impl IntoResponse {
    let db = st.store.ping().await.map_err(|e| e.to_string());
    let blobs = st.blobs.ping().await.map_err(|e| e.to_string());
    let ok = db.is_ok() && blobs.is_ok();
    let show = |r: &Result<(), String>| match r {
        Ok(()) => json!("ok"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            json!("unavailable")
        }
    };
    let code = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(json!({"status": if ok {"ok"} else {"unavailable"}, "database": show(&db), "blobs": show(&blobs)})))
}

/// `/health/live` and `/health/ready`.
pub fn routes() -> Router<AppState> {
    Router::new().route("/health/live", get(live)).route("/health/ready", get(ready))
}
