//! `GET /api/billing/plans`: the plans in effect with their limits, and the caller's own
//! (or an org's, with `?org=ID`) where it stands this period.
use crate::error::AppResult;
use crate::service::{plans, Caller};
use crate::state::AppState;
use axum::extract::{Query, State};
use crate::config::Plan;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The plans in effect, and the caller's (or the org's) current plan.
#[derive(Serialize, ToSchema)]
struct Plans {
    /// `none` or `stripe`.
    provider: String,
    default_plan: String,
    plans: Vec<Plan>,
    current: Current,
}

/// Whose plan, and which.
#[derive(Serialize, ToSchema)]
struct Current {
    /// `user:ID` or `org:ID`.
    subject: String,
    plan: String,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct Which {
    org: Option<String>,
}

/// The plans in effect with their limits, the default plan, the provider, and the caller's (or ?org=ID's) current plan
#[utoipa::path(get, path = "/api/billing/plans", tag = "billing", params(Which),
    responses((status = 200, description = "the plans", body = Plans)))]
async fn list(State(st): State<AppState>, caller: Caller, Query(q): Query<Which>) -> AppResult<Json<Plans>> {
    let subject = plans::subject_for(&st, &caller, q.org.as_deref(), false).await?;
    let standing = plans::standing_now(&st, &subject).await?;
    let l = plans::list(&st);
    Ok(Json(Plans {
        provider: l.provider,
        default_plan: l.default_plan,
        plans: l.plans,
        current: Current { subject: standing.subject, plan: standing.plan.name },
    }))
}

/// The plan list.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}
