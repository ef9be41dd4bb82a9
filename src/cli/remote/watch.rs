//! `remote watch JOB`: the job's WebSocket (`GET /api/jobs/{id}/ws`) as a progress bar
//! (plain lines when stdout is not a terminal), reconnecting with `?after=` the last
//! iteration it has; the exit code is the job's outcome.
use super::client::Client;
use super::exit;
use crate::cli::progress::fmt_residuals;
use anyhow::anyhow;
use flowcfd::foam::spec::{CaseSpec, SolverKind};
use flowcfd::jobs::events::JobEvent;
use flowcfd::jobs::follow::Sample;
use flowcfd::store::JobStatus;
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest, Message};

/// Reconnections in a row, without news in between, before giving up.
const MAX_RETRIES: u32 = 8;

/// Follows job `id` to its end; returns its exit code.
pub async fn watch(api: &Client, id: &str) -> anyhow::Result<u8> {
    let job: Value = api.get(&format!("/api/jobs/{id}")).await?;
    let mut show = Display::new(id, total(api, &job).await);
    let mut last = 0u64;
    let mut retries = 0;
    loop {
        match follow(api, id, &mut last, &mut show).await {
            Ok(Some((status, reason))) => return Ok(show.finish(status, reason)),
            Ok(None) => retries = 0,
            Err(Lost::Fatal(e)) => {
                show.clear();
                return Err(e);
            }
            Err(Lost::Again(why)) => {
                retries += 1;
                if retries > MAX_RETRIES {
                    show.clear();
                    return Err(anyhow!("lost the job's event stream from {}: {why}", api.base));
                }
                show.note(&format!("connection lost ({why}); reconnecting…"));
            }
        }
        tokio::time::sleep(Duration::from_millis(500 * (1 << retries.min(5)))).await;
    }
}

/// How far a run goes: its iterations (steady) or simulated seconds (transient).
async fn total(api: &Client, job: &Value) -> Option<(SolverKind, f64)> {
    let case: Value = api.get(&format!("/api/cases/{}", job["case_id"].as_str()?)).await.ok()?;
    let spec: CaseSpec = serde_json::from_value(case["spec"].clone()).ok()?;
    match spec.solver.kind {
        SolverKind::Transient => Some((SolverKind::Transient, spec.solver.end_time?)),
        SolverKind::Steady => Some((SolverKind::Steady, spec.solver.iterations as f64)),
    }
}

/// Why a socket ended without the job's end.
enum Lost {
    /// The server refused (no such job, not signed in): no point retrying.
    Fatal(anyhow::Error),
    /// The connection dropped or could not be made; try again.
    Again(String),
}

/// One connection: events until the job ends (its status and reason) or the socket closes
/// (`None`).
async fn follow(
    api: &Client,
    id: &str,
    last: &mut u64,
    show: &mut Display,
) -> Result<Option<(JobStatus, Option<String>)>, Lost> {
    let mut ws = connect(api, id, *last).await?;
    while let Some(msg) = ws.next().await {
        let text = match msg {
            Ok(Message::Text(t)) => t,
            Ok(Message::Close(_)) => break,
            Ok(_) => continue,
            Err(e) => return Err(Lost::Again(e.to_string())),
        };
        let v: Value = serde_json::from_str(&text).map_err(|e| Lost::Fatal(anyhow!("an unreadable event: {e}")))?;
        if v["type"] == "snapshot" {
            let job = &v["job"];
            show.snapshot(job);
            for ev in v["samples"].as_array().into_iter().flatten() {
                if let Ok(JobEvent::Sample(s)) = serde_json::from_value(ev.clone()) {
                    *last = s.iteration;
                    show.sample(&s);
                }
            }
            let status: Option<JobStatus> = serde_json::from_value(job["status"].clone()).ok();
            if let Some(s) = status.filter(|s| s.is_terminal()) {
                let reason = job["error"].as_str().or(job["status_reason"].as_str()).map(String::from);
                return Ok(Some((s, reason)));
            }
            continue;
        }
        let ev: JobEvent = match serde_json::from_value(v) {
            Ok(ev) => ev,
            Err(_) => continue, // a newer server's event this CLI does not know
        };
        match ev {
            JobEvent::Sample(s) => {
                *last = s.iteration;
                show.sample(&s);
            }
            JobEvent::Residuals { iteration, residuals } => show.residuals(iteration, residuals),
            JobEvent::Step { step } => show.step(&step),
            JobEvent::Log { .. } => {}
            JobEvent::Status { status, reason } => {
                if status.is_terminal() {
                    return Ok(Some((status, reason)));
                }
                show.status(status);
            }
        }
    }
    Ok(None)
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens the job's socket after iteration `after`, renewing the token once on a 401.
async fn connect(api: &Client, id: &str, after: u64) -> Result<Socket, Lost> {
    let url = format!("ws{}/api/jobs/{id}/ws?after={after}", api.base.strip_prefix("http").unwrap_or(&api.base));
    for attempt in 0..2 {
        let mut req = url.as_str().into_client_request().map_err(|e| Lost::Fatal(anyhow!("{url}: {e}")))?;
        let bearer = format!("Bearer {}", api.token())
            .parse()
            .map_err(|_| Lost::Fatal(anyhow!("the token is not valid in a header")))?;
        req.headers_mut().insert("authorization", bearer);
        match tokio_tungstenite::connect_async(req).await {
            Ok((ws, _)) => return Ok(ws),
            Err(tungstenite::Error::Http(r)) if r.status() == 401 && attempt == 0 => match api.refresh().await {
                Ok(true) => continue,
                Ok(false) => return Err(Lost::Fatal(refusal(&r))),
                Err(e) => return Err(Lost::Fatal(e)),
            },
            Err(tungstenite::Error::Http(r)) if r.status().is_client_error() => return Err(Lost::Fatal(refusal(&r))),
            Err(tungstenite::Error::Http(r)) => return Err(Lost::Again(format!("HTTP {}", r.status().as_u16()))),
            Err(e) => return Err(Lost::Again(format!("cannot reach the FlowCFD server at {}: {e}", api.base))),
        }
    }
    Err(Lost::Fatal(anyhow!("the server refused the token")))
}

/// A refused handshake as the problem's detail.
fn refusal(r: &tungstenite::http::Response<Option<Vec<u8>>>) -> anyhow::Error {
    let body = r.body().as_deref().map(String::from_utf8_lossy).unwrap_or_default();
    let detail = serde_json::from_str::<Value>(&body).ok().and_then(|v| v["detail"].as_str().map(String::from));
    anyhow!("{} (HTTP {})", detail.unwrap_or_else(|| body.trim().to_string()), r.status().as_u16())
}

/// What the terminal shows: a bar on a terminal, else a line per step, status and (at most
/// every few seconds) sample.
struct Display {
    job: String,
    bar: Option<ProgressBar>,
    total: Option<(SolverKind, f64)>,
    status: String,
    step: String,
    iteration: u64,
    time: Option<f64>,
    residuals: BTreeMap<String, f64>,
    cd: Option<f64>,
    cl: Option<f64>,
    printed: Option<Instant>,
}

/// Between two plain progress lines.
const LINE_EVERY: Duration = Duration::from_secs(5);

impl Display {
    fn new(job: &str, total: Option<(SolverKind, f64)>) -> Display {
        let bar = std::io::stdout().is_terminal().then(|| {
            let b = ProgressBar::with_draw_target(Some(1000), ProgressDrawTarget::stdout());
            b.set_style(
                ProgressStyle::with_template("[{elapsed_precise}] {prefix} [{bar:30}] {percent:>3}% {msg}")
                    .expect("static template")
                    .progress_chars("=> "),
            );
            b.enable_steady_tick(Duration::from_millis(250));
            b
        });
        Display {
            job: job.to_string(),
            bar,
            total,
            status: String::new(),
            step: String::new(),
            iteration: 0,
            time: None,
            residuals: BTreeMap::new(),
            cd: None,
            cl: None,
            printed: None,
        }
    }

    fn snapshot(&mut self, job: &Value) {
        self.status = job["status"].as_str().unwrap_or_default().to_string();
        self.step = job["step"].as_str().unwrap_or_default().to_string();
        self.iteration = job["iteration"].as_u64().unwrap_or(self.iteration);
        if let Ok(r) = serde_json::from_value::<BTreeMap<String, f64>>(job["residuals"].clone()) {
            self.residuals = r;
        }
        self.cd = job["forces"]["Cd"].as_f64().or(self.cd);
        self.cl = job["forces"]["Cl"].as_f64().or(self.cl);
        self.say(&format!("job {}: {}{}", self.job, self.status, self.at_step()));
        self.draw(false);
    }

    fn at_step(&self) -> String {
        if self.step.is_empty() {
            String::new()
        } else {
            format!(", step {}", self.step)
        }
    }

    fn status(&mut self, s: JobStatus) {
        self.status = s.as_str().to_string();
        self.say(&format!("status: {}", self.status));
        self.draw(false);
    }

    fn step(&mut self, step: &str) {
        self.step = step.to_string();
        self.say(&format!("step: {step}"));
        self.draw(false);
    }

    fn sample(&mut self, s: &Sample) {
        // Live partial residuals may already be ahead of the stored samples: keep the newest.
        if s.iteration >= self.iteration || s.time.is_some() {
            self.iteration = s.iteration;
            self.time = s.time;
            self.residuals = s.residuals.clone();
        }
        if let Some(f) = &s.forces {
            self.cd = f.cd.or(self.cd);
            self.cl = f.cl.or(self.cl);
        }
        self.draw(true);
    }

    fn residuals(&mut self, iteration: u64, r: BTreeMap<String, f64>) {
        if self.time.is_none() {
            self.iteration = self.iteration.max(iteration);
        }
        self.residuals.extend(r);
        self.draw(false);
    }

    /// `iteration 42 | Ux 1.0e-3 p 2.0e-2 | Cd 0.8123 Cl 0.0012`; empty before the first
    /// iteration.
    fn values(&self) -> String {
        if self.iteration == 0 && self.residuals.is_empty() {
            return String::new();
        }
        let mut parts = vec![match self.time {
            Some(t) => format!("t {t:.4} s"),
            None => format!("iteration {}", self.iteration),
        }];
        if !self.residuals.is_empty() {
            parts.push(fmt_residuals(&self.residuals));
        }
        let forces: Vec<String> =
            [("Cd", self.cd), ("Cl", self.cl)].iter().filter_map(|(k, v)| v.map(|v| format!("{k} {v:.4}"))).collect();
        if !forces.is_empty() {
            parts.push(forces.join(" "));
        }
        parts.join(" | ")
    }

    fn draw(&mut self, sample: bool) {
        let Some(bar) = &self.bar else {
            let due = self.printed.is_none_or(|t| t.elapsed() >= LINE_EVERY);
            if sample && due {
                println!("  {}", self.values());
                self.printed = Some(Instant::now());
            }
            return;
        };
        let done = match (self.total, self.time) {
            (Some((SolverKind::Transient, end)), Some(t)) => t / end,
            (Some((SolverKind::Steady, n)), _) => self.iteration as f64 / n,
            _ => 0.0,
        };
        bar.set_position((done.clamp(0.0, 1.0) * 1000.0) as u64);
        bar.set_prefix(format!("{} {}", self.status, self.step));
        bar.set_message(self.values());
    }

    /// A line above the bar (or on its own without one).
    fn say(&self, line: &str) {
        match &self.bar {
            Some(b) => b.println(line),
            None => println!("{line}"),
        }
    }

    fn note(&self, line: &str) {
        match &self.bar {
            Some(b) => b.println(line),
            None => eprintln!("{line}"),
        }
    }

    fn clear(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }

    /// The outcome and the last values (the reason below a job that did not complete);
    /// the exit code.
    fn finish(&mut self, status: JobStatus, reason: Option<String>) -> u8 {
        self.clear();
        let values = self.values();
        let sep = if values.is_empty() { "" } else { ": " };
        println!("job {} {}{sep}{values}", self.job, status.as_str());
        if let Some(r) = reason.filter(|_| status != JobStatus::Completed) {
            println!("reason: {}", r.trim_end());
        }
        match status {
            JobStatus::Completed => exit::COMPLETED,
            JobStatus::Failed => exit::FAILED,
            _ => exit::CANCELLED,
        }
    }
}
