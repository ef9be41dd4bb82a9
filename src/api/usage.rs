//! `GET /api/usage` and `GET /api/usage.csv`: the caller's metered use in a plan period
//! (`?period=YYYY-MM`, this month by default), or an org's (`?org=ID`, its owner and
//! admins), as JSON or as a CSV file.
use crate::error::{AppError, AppResult};
use crate::service::{usage, usage_text, Caller};
use crate::state::AppState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Which {
    period: Option<String>,
    org: Option<String>,
}

fn which(q: Result<Query<Which>, QueryRejection>) -> AppResult<Which> {
    q.map(|Query(w)| w)
        .map_err(|e| AppError::BadRequest(format!("{}; the parameters are period=YYYY-MM and org=ID", e.body_text())))
}

async fn json(
    State(st): State<AppState>,
    c: Caller,
    q: Result<Query<Which>, QueryRejection>,
) -> AppResult<impl IntoResponse> {
    let w = which(q)?;
    Ok(Json(usage::report(&st, &c, w.org.as_deref(), w.period.as_deref()).await?))
}

async fn csv(
    State(st): State<AppState>,
    c: Caller,
    q: Result<Query<Which>, QueryRejection>,
) -> AppResult<impl IntoResponse> {
    let w = which(q)?;
    let r = usage::report(&st, &c, w.org.as_deref(), w.period.as_deref()).await?;
    let name = usage::csv_name(&st, &c, &r).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        usage_text::report_csv(&r),
    ))
}

/// The usage routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/usage", get(json)).route("/api/usage.csv", get(csv))
}
