//! `GET /api/billing/plans`: the plans in effect with their limits, and the caller's own
//! (or an org's, with `?org=ID`) where it stands this period.
use crate::error::AppResult;
use crate::service::{plans, Caller};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Which {
    org: Option<String>,
}

async fn list(State(st): State<AppState>, caller: Caller, Query(q): Query<Which>) -> AppResult<impl IntoResponse> {
    let subject = plans::subject_for(&st, &caller, q.org.as_deref(), false).await?;
    let standing = plans::standing_now(&st, &subject).await?;
    let l = plans::list(&st);
    Ok(Json(json!({
        "provider": l.provider,
        "default_plan": l.default_plan,
        "plans": l.plans,
        "current": {"subject": standing.subject, "plan": standing.plan.name},
    })))
}

/// The plan list.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/billing/plans", get(list))
}
