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
use axum::Json;
use serde::Deserialize;
use usage::UsageReport;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct Which {
    /// `YYYY-MM` (2000 to 2999); this month when empty or left out.
    #[param(pattern = r"^(2[0-9]{3}-(0[1-9]|1[0-2]))?$")]
    period: Option<String>,
    /// An organization (its owner and admins).
    org: Option<String>,
}

fn which(q: Result<Query<Which>, QueryRejection>) -> AppResult<Which> {
    q.map(|Query(w)| w)
        .map_err(|e| AppError::BadRequest(format!("{}; the parameters are period=YYYY-MM and org=ID", e.body_text())))
}

/// Metered use in a plan period: ?period=YYYY-MM (this month by default; 400 naming the format otherwise), ?org=ID for an org's owner and admins (403 for other members, 404 for others)
#[utoipa::path(get, path = "/api/usage", tag = "billing", params(Which),
    responses((status = 200, description = "the usage report", body = UsageReport)))]
async fn json(
    State(st): State<AppState>,
    c: Caller,
    q: Result<Query<Which>, QueryRejection>,
) -> AppResult<Json<UsageReport>> {
    let w = which(q)?;
    Ok(Json(usage::report(&st, &c, w.org.as_deref(), w.period.as_deref()).await?))
}

/// The same report as CSV: one row per job (job_id, project_id, project, case, executor, cores, status, core_hours), then a total line; same parameters
#[utoipa::path(get, path = "/api/usage.csv", tag = "billing", params(Which),
    responses((status = 200, description = "an attachment named flowcfd-usage-[ORG-]YYYY-MM.csv", content_type = "text/csv", body = String)))]
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
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(json)).routes(routes!(csv))
}
