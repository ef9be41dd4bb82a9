//! `GET /api/jobs/{id}/ws[?after=N]`: a job's live progress over a WebSocket.
//!
//! Authenticated like any API call (bearer token or session cookie) and scoped to the
//! caller's tenant: another tenant's job is a 404 before any upgrade.
//!
//! Messages (JSON text):
//! - first `{"type": "snapshot", "job": {…as GET /api/jobs/{id}…}, "samples": [...]}` with
//!   every stored sample after `after`;
//! - then, live: `sample` (a completed iteration), `residuals` (the iteration in progress,
//!   partial), `step`, `log` (new log output with its byte range) and `status` events;
//! - the socket closes after the status that ends the job.
//!
//! Samples are sent in iteration order, each once. Live events are hints; the store is the
//! truth: when a sample arrives out of order, or this replica may have missed events, the
//! missing ones are read from the store. A client that reconnects with `after` = the last
//! iteration it has resumes with no gap and no duplicate.
use crate::error::AppResult;
use crate::jobs::events::JobEvent;
use crate::service::{jobs, Caller};
use crate::state::AppState;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct WsQuery {
    /// The last iteration the client already has.
    after: Option<i64>,
}

/// WebSocket: a snapshot, then live sample, residuals, step, log (bytes offset..end of the log) and status events; ?after=N resumes
#[utoipa::path(get, path = "/api/jobs/{id}/ws", tag = "jobs", params(("id" = String, Path), WsQuery),
    responses((status = 101, description = "switching protocols: JSON text messages follow")))]
pub(super) async fn job_events(
    State(st): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    Query(q): Query<WsQuery>,
    ws: WebSocketUpgrade,
) -> AppResult<Response> {
    let (job, _) = jobs::get(&st, &c, &id).await?;
    let after = q.after.unwrap_or(0).max(0);
    Ok(ws.on_upgrade(move |socket| async move {
        if let Err(e) = follow(st, job.id.clone(), after, socket).await {
            tracing::debug!(job = %job.id, error = %e, "job event socket ended");
        }
    }))
}

/// Why a socket ended early.
type End = Box<dyn std::error::Error + Send + Sync>;

async fn send(socket: &mut WebSocket, v: &impl serde::Serialize) -> Result<(), End> {
    socket.send(Message::Text(serde_json::to_string(v)?.into())).await?;
    Ok(())
}

/// Sends the stored samples after `*last`, advancing it.
async fn catch_up(st: &AppState, job: &str, last: &mut i64, socket: &mut WebSocket) -> Result<(), End> {
    for ev in jobs::samples_after(st, job, *last).await? {
        if let JobEvent::Sample(s) = &ev {
            *last = s.iteration as i64;
        }
        send(socket, &ev).await?;
    }
    Ok(())
}

async fn follow(st: AppState, job: String, after: i64, mut socket: WebSocket) -> Result<(), End> {
    // Subscribe before reading the snapshot, so nothing falls between the two.
    let mut rx = st.events.subscribe(&job);
    let row = st.store.job(&job).await?.ok_or("the job is gone")?;
    let samples = jobs::samples_after(&st, &job, after).await?;
    let mut last = match samples.last() {
        Some(JobEvent::Sample(s)) => s.iteration as i64,
        _ => after,
    };
    send(&mut socket, &json!({"type": "snapshot", "job": jobs::view(&st, &row).await?, "samples": samples})).await?;
    if row.status.is_terminal() {
        let _ = socket.send(Message::Close(None)).await;
        return Ok(());
    }
    let mut ping = tokio::time::interval(Duration::from_secs(20));
    ping.tick().await;
    loop {
        tokio::select! {
            ev = rx.recv() => match ev {
                Ok(Some(ev)) => {
                    match &*ev {
                        JobEvent::Sample(s) => {
                            let it = s.iteration as i64;
                            if it == last + 1 {
                                last = it;
                                send(&mut socket, &*ev).await?;
                            } else if it > last {
                                catch_up(&st, &job, &mut last, &mut socket).await?;
                            }
                        }
                        JobEvent::Residuals { iteration, .. } => {
                            if *iteration as i64 > last {
                                send(&mut socket, &*ev).await?;
                            }
                        }
                        JobEvent::Status { .. } if ev.is_terminal() => {
                            catch_up(&st, &job, &mut last, &mut socket).await?;
                            send(&mut socket, &*ev).await?;
                            let _ = socket.send(Message::Close(None)).await;
                            return Ok(());
                        }
                        JobEvent::Status { .. } | JobEvent::Step { .. } | JobEvent::Log { .. } => {
                            send(&mut socket, &*ev).await?
                        }
                    }
                }
                // Events may have been missed (a lagging client, a lost LISTEN connection).
                Ok(None) | Err(RecvError::Lagged(_)) => {
                    catch_up(&st, &job, &mut last, &mut socket).await?;
                    let row = st.store.job(&job).await?.ok_or("the job is gone")?;
                    if row.status.is_terminal() {
                        send(&mut socket, &JobEvent::Status { status: row.status, reason: row.error_message }).await?;
                        let _ = socket.send(Message::Close(None)).await;
                        return Ok(());
                    }
                }
                Err(RecvError::Closed) => return Ok(()),
            },
            msg = socket.recv() => match msg {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return Ok(()),
                Some(Ok(_)) => {}
            },
            _ = ping.tick() => socket.send(Message::Ping(Vec::new().into())).await?,
        }
    }
}

/// `/api/jobs/{id}/ws`.
pub(super) fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new().routes(utoipa_axum::routes!(job_events))
}
