//! The project page's webhooks section: each webhook with its latest deliveries, and
//! `POST /projects/{id}/webhooks` (add, delete, send a test event).
use super::{project_page, project_page_with, when, PageResult, PageUser};
use crate::error::AppError;
use crate::service::webhooks::{self, NewWebhook};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Form, Router};
use serde::Deserialize;

pub(super) struct DeliveryRow {
    pub event: String,
    pub state: &'static str,
    pub attempts: i64,
    pub status: String,
    pub error: String,
    pub created: String,
}

pub(super) struct HookRow {
    pub id: String,
    pub url: String,
    pub events: String,
    pub created: String,
    pub deliveries: Vec<DeliveryRow>,
}

/// The project's webhooks, each with its latest 10 deliveries.
pub(super) async fn rows(st: &AppState, pu: &PageUser, project: &str) -> Result<Vec<HookRow>, AppError> {
    let caller = pu.caller();
    let mut out = Vec::new();
    for h in webhooks::list(st, &caller, project).await? {
        let deliveries = webhooks::deliveries(st, &caller, project, &h.hook.id)
            .await?
            .into_iter()
            .take(10)
            .map(|d| DeliveryRow {
                event: d.delivery.event,
                state: d.state,
                attempts: d.delivery.attempts,
                status: d.delivery.response_status.map(|s| s.to_string()).unwrap_or_else(|| "—".into()),
                error: d.delivery.last_error.unwrap_or_default(),
                created: when(d.delivery.created_at),
            })
            .collect();
        out.push(HookRow {
            id: h.hook.id,
            url: h.hook.url,
            events: h.hook.events.join(", "),
            created: when(h.hook.created_at),
            deliveries,
        });
    }
    Ok(out)
}

#[derive(Deserialize)]
struct HookForm {
    csrf: String,
    action: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    id: String,
    // One checkbox per event.
    #[serde(default, rename = "job.completed")]
    completed: Option<String>,
    #[serde(default, rename = "job.failed")]
    failed: Option<String>,
    #[serde(default, rename = "geometry.ready")]
    geometry: Option<String>,
}

async fn submit(State(st): State<AppState>, pu: PageUser, Path(p): Path<String>, Form(f): Form<HookForm>) -> PageResult {
    pu.check(&st, &f.csrf)?;
    let c = pu.caller();
    let done: Result<Option<String>, AppError> = match f.action.as_str() {
        "create" => {
            let chosen = [("job.completed", &f.completed), ("job.failed", &f.failed), ("geometry.ready", &f.geometry)];
            let events = chosen.iter().filter(|(_, on)| on.is_some()).map(|(e, _)| e.to_string()).collect();
            let req = NewWebhook {
                url: f.url.clone(),
                events: Some(events),
                secret: Some(f.secret.trim().to_string()).filter(|s| !s.is_empty()),
            };
            webhooks::create(&st, &c, &p, &req).await.map(|v| {
                v.secret.map(|s| format!("Webhook added. Its signing secret (shown once; keep it with the receiver): {s}"))
            })
        }
        "delete" => webhooks::delete(&st, &c, &p, &f.id).await.map(|_| Some("Webhook deleted.".into())),
        "ping" => webhooks::ping(&st, &c, &p, &f.id).await.map(|_| Some("A ping event is on its way.".into())),
        other => Err(AppError::BadRequest(format!("unknown action {other:?}"))),
    };
    match done {
        Ok(notice) => project_page_with(&st, &pu, &p, None, notice, StatusCode::OK).await,
        Err(e) if e.status().is_client_error() => project_page(&st, &pu, &p, Some(e.public_detail()), e.status()).await,
        Err(e) => Err(e.into()),
    }
}

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/projects/{id}/webhooks", post(submit))
}
