//! A project's webhooks: `/api/projects/{id}/webhooks`, their delivery log and a ping.
use crate::error::AppResult;
use crate::http::extract::ApiJson;
use crate::service::webhooks::{self, DeliveryView, NewWebhook, WebhookView};
use crate::service::Caller;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The project's webhooks (editors and up; secrets are never shown again)
#[utoipa::path(get, path = "/api/projects/{id}/webhooks", tag = "projects", params(("id" = String, Path, description = "the project")),
    responses((status = 200, description = "the webhooks", body = Vec<WebhookView>)))]
async fn list(State(st): State<AppState>, c: Caller, Path(p): Path<String>) -> AppResult<Json<Vec<WebhookView>>> {
    Ok(Json(webhooks::list(&st, &c, &p).await?))
}

/// Add a webhook: an http(s) URL on a public address, events (default all) and a secret (default generated, shown once)
#[utoipa::path(post, path = "/api/projects/{id}/webhooks", tag = "projects", params(("id" = String, Path, description = "the project")),
    request_body = NewWebhook, responses((status = 201, description = "the webhook, with its secret", body = WebhookView)))]
async fn create(
    State(st): State<AppState>,
    c: Caller,
    Path(p): Path<String>,
    ApiJson(b): ApiJson<NewWebhook>,
) -> AppResult<impl IntoResponse> {
    Ok((StatusCode::CREATED, Json(webhooks::create(&st, &c, &p, &b).await?)))
}

/// Delete a webhook and its delivery log
#[utoipa::path(delete, path = "/api/projects/{id}/webhooks/{hook}", tag = "projects",
    params(("id" = String, Path, description = "the project"), ("hook" = String, Path, description = "the webhook")),
    responses((status = 204, description = "deleted")))]
async fn remove(State(st): State<AppState>, c: Caller, Path((p, h)): Path<(String, String)>) -> AppResult<StatusCode> {
    webhooks::delete(&st, &c, &p, &h).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A webhook's latest 50 deliveries, newest first
#[utoipa::path(get, path = "/api/projects/{id}/webhooks/{hook}/deliveries", tag = "projects",
    params(("id" = String, Path, description = "the project"), ("hook" = String, Path, description = "the webhook")),
    responses((status = 200, description = "the deliveries", body = Vec<DeliveryView>)))]
async fn deliveries(
    State(st): State<AppState>,
    c: Caller,
    Path((p, h)): Path<(String, String)>,
) -> AppResult<Json<Vec<DeliveryView>>> {
    Ok(Json(webhooks::deliveries(&st, &c, &p, &h).await?))
}

/// Send a `ping` event to the webhook, to try the receiver
#[utoipa::path(post, path = "/api/projects/{id}/webhooks/{hook}/ping", tag = "projects",
    params(("id" = String, Path, description = "the project"), ("hook" = String, Path, description = "the webhook")),
    responses((status = 202, description = "queued", body = DeliveryView)))]
async fn ping(State(st): State<AppState>, c: Caller, Path((p, h)): Path<(String, String)>) -> AppResult<impl IntoResponse> {
    Ok((StatusCode::ACCEPTED, Json(webhooks::ping(&st, &c, &p, &h).await?)))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(remove))
        .routes(routes!(deliveries))
        .routes(routes!(ping))
}
