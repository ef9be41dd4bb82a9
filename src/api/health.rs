//! `/health/live` (the process answers) and `/health/ready` (database and blobs answer).
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// `ok`, or `unavailable`.
#[derive(Serialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Status {
    Ok,
    Unavailable,
}

/// The process answers.
#[derive(Serialize, ToSchema)]
struct Live {
    status: Status,
}

/// Whether the database and the blob store answer.
#[derive(Serialize, ToSchema)]
struct Ready {
    status: Status,
    database: Status,
    blobs: Status,
}

/// The process answers
#[utoipa::path(get, path = "/health/live", tag = "meta", security(()),
    responses((status = 200, description = "alive", body = Live)))]
async fn live() -> Json<Live> {
    Json(Live { status: Status::Ok })
}

/// Database and blob store answer (503 when one does not)
#[utoipa::path(get, path = "/health/ready", tag = "meta", security(()),
    responses((status = 200, description = "ready", body = Ready), (status = 503, description = "not ready", body = Ready)))]
async fn ready(State(st): State<AppState>) -> (StatusCode, Json<Ready>) {
    let db = st.store.ping().await.map_err(|e| e.to_string());
    let blobs = st.blobs.ping().await.map_err(|e| e.to_string());
    let show = |r: &Result<(), String>| match r {
        Ok(()) => Status::Ok,
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            Status::Unavailable
        }
    };
    let ok = db.is_ok() && blobs.is_ok();
    let code = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let status = if ok { Status::Ok } else { Status::Unavailable };
    (code, Json(Ready { status, database: show(&db), blobs: show(&blobs) }))
}

/// `/health/live` and `/health/ready`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(live)).routes(routes!(ready))
}
