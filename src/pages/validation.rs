//! `/validation`: the latest validation run (one row per compared metric: case, metric,
//! measured, reference, tolerance, pass, wall time) with its SVG plots, and for server
//! administrators a form that starts a new run (`POST /validation`, confirmed by a
//! checkbox, since the suite takes minutes).
use super::{render, PageResult, PageUser};
use crate::error::AppError;
use crate::service::validation;
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use serde_json::Value;

struct Row {
    case: String,
    metric: String,
    measured: String,
    reference: String,
    tolerance: String,
    pass: bool,
    wall: String,
    error: Option<String>,
}

struct PlotRef {
    case: String,
    url: String,
}

#[derive(Template)]
#[template(path = "validation.html")]
struct ValidationPage {
    user: crate::store::User,
    csrf: String,
    run: Option<String>,
    status: String,
    started: String,
    finished: String,
    rows: Vec<Row>,
    plots: Vec<PlotRef>,
    error: Option<String>,
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => "–".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

/// The metrics a case is judged on: those with a reference value of the same name first.
fn rows_of(case: &Value) -> Vec<Row> {
    let name = text(&case["name"]);
    let metrics = case["metrics"].as_object().cloned().unwrap_or_default();
    let reference = case["reference"].as_object().cloned().unwrap_or_default();
    let mut keys: Vec<&String> = metrics.keys().filter(|k| reference.contains_key(*k)).collect();
    keys.extend(metrics.keys().filter(|k| !reference.contains_key(*k) && *k != "cells"));
    let mk = |metric: String, measured: String, refv: String| Row {
        case: name.clone(),
        metric,
        measured,
        reference: refv,
        tolerance: text(&case["tolerance"]),
        pass: case["pass"] == true,
        wall: format!("{:.0} s", case["wall_s"].as_f64().unwrap_or(0.0)),
        error: case["error"].as_str().map(str::to_string),
    };
    let mut out: Vec<Row> = keys
        .iter()
        .take(3)
        .map(|k| mk((*k).clone(), text(&metrics[*k]), reference.get(*k).map(text).unwrap_or_else(|| "–".into())))
        .collect();
    if out.is_empty() {
        out.push(mk("–".into(), "–".into(), "–".into()));
    }
    out
}

async fn page(st: &AppState, pu: &PageUser, error: Option<String>, status: StatusCode) -> PageResult {
    let latest = validation::latest(st);
    let cases = latest["cases"].as_array().cloned().unwrap_or_default();
    let plots = cases
        .iter()
        .flat_map(|c| {
            let case = text(&c["name"]);
            c["plot_urls"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |u| PlotRef { case: case.clone(), url: text(&u) })
        })
        .collect();
    let p = ValidationPage {
        user: pu.user.clone(),
        csrf: pu.csrf.clone(),
        run: latest["run"].as_str().map(str::to_string),
        status: text(&latest["status"]),
        started: text(&latest["started"]),
        finished: text(&latest["finished"]),
        rows: cases.iter().flat_map(rows_of).collect(),
        plots,
        error,
    };
    Ok(render(status, p))
}

async fn show(State(st): State<AppState>, pu: PageUser) -> PageResult {
    page(&st, &pu, None, StatusCode::OK).await
}

#[derive(Deserialize)]
struct StartForm {
    csrf: String,
    #[serde(default)]
    confirm: Option<String>,
}

async fn start(State(st): State<AppState>, pu: PageUser, Form(f): Form<StartForm>) -> PageResult {
    pu.check(&st, &f.csrf)?;
    if !pu.user.is_admin {
        return Err(AppError::Forbidden("only server administrators can start a validation run".into()).into());
    }
    if f.confirm.is_none() {
        let msg = "tick the box to confirm: the suite runs for several minutes on this server".to_string();
        return page(&st, &pu, Some(msg), StatusCode::BAD_REQUEST).await;
    }
    match validation::start(&st, &pu.caller(), &[]) {
        Ok(_) => Ok(Redirect::to("/validation").into_response()),
        Err(e) if e.status().is_client_error() => page(&st, &pu, Some(e.public_detail()), e.status()).await,
        Err(e) => Err(e.into()),
    }
}

/// `/validation`.
pub fn routes() -> Router<AppState> {
    Router::new().route("/validation", get(show).post(start))
}
