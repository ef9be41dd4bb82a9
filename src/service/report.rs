//! The PDF report of an ended job (`GET /api/jobs/{id}/report.pdf`, the job page's
//! "Download report"). Made on the first request by `report::build` in a blocking task,
//! then kept in the object store under a key that names everything it was made from
//! (paper, units, the title block's facts, the org's logo, this version), so a changed
//! logo or setting makes a new one and an unchanged one is served as it was.
//!
//! ```text
//! job (tenant-scoped) -> ended? -> Meta from the store -> key = hash(inputs)
//!   -> object store hit: the bytes
//!   -> miss: one build per job at a time (single flight), at most BUILDS_AT_ONCE in all:
//!      case.tar.gz unpacked under data_dir/report/{job}/, summary.json, failure.json and
//!      run.log beside it -> report::Input::locate -> report::build -> object store
//! ```
use super::{jobs, Caller};
use crate::blob::BlobError;
use crate::error::{AppError, AppResult};
use crate::report::{self, ReportError};
use crate::state::AppState;
use crate::store::{Job, JobStatus};
use bytes::Bytes;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};

/// Bumped when what the server passes to `report::build` changes meaning, so that reports
/// cached by an earlier build of the same version are made again.
const INPUTS_VERSION: u32 = 1;

/// Reports made at once by this process: each reads a whole result and renders pictures,
/// so a burst of first requests for different jobs queues here instead of taking every core.
const BUILDS_AT_ONCE: usize = 2;

/// A report, ready to send.
#[derive(Debug, Clone)]
pub struct ReportPdf {
    pub bytes: Bytes,
    /// `<case>-<job id prefix>-report.pdf`, safe in a Content-Disposition header.
    pub filename: String,
    /// Whether it came from the object store (made by an earlier request).
    pub cached: bool,
}

/// The report of a job the caller can see; made on the first request, then cached.
#[tracing::instrument(skip_all, fields(job = job_id))]
pub async fn pdf(st: &AppState, caller: &Caller, job_id: &str) -> AppResult<ReportPdf> {
    let (job, _) = jobs::get(st, caller, job_id).await?;
    let archive = format!("jobs/{}/case.tar.gz", job.id);
    let has_case = match st.blobs.size(&archive).await {
        Ok(_) => true,
        Err(BlobError::NotFound(_)) => false,
        Err(e) => return Err(e.into()),
    };
    reportable(job.status, has_case)?;
    let opts = options(&st.cfg.report)?;
    let facts = facts(st, caller, &job).await?;
    let key = cache_key(&job.id, &opts, &facts);
    let filename = filename(facts.meta.case_name.as_deref(), &job.id);
    if let Some(bytes) = cached(st, &key).await? {
        st.metrics.report(false);
        return Ok(ReportPdf { bytes, filename, cached: true });
    }
    // A task of its own, so that a client who gives up does not waste a build that the
    // next request would start again.
    let (st, flight) = (st.clone(), flight(&job.id));
    let (bytes, cached) = tokio::spawn(async move {
        // One build per job at a time: a request that waited here finds the first one's PDF.
        let _mine = flight.lock_owned().await;
        if let Some(bytes) = cached(&st, &key).await? {
            st.metrics.report(false);
            return Ok((bytes, true));
        }
        if let Some(why) = known_bad(&key) {
            return Err(AppError::Conflict(why));
        }
        let _slot = builds().acquire().await.map_err(|e| AppError::Internal(e.to_string()))?;
        let started = std::time::Instant::now();
        let bytes = match build(&st, &job, has_case, facts, opts).await {
            Ok(b) => Bytes::from(b),
            Err(AppError::Conflict(why)) => {
                remember_bad(&key, &why);
                return Err(AppError::Conflict(why));
            }
            Err(e) => return Err(e),
        };
        let ms = started.elapsed().as_millis() as u64;
        tracing::info!(job = %job.id, bytes = bytes.len(), ms, "report made");
        st.blobs.put(&key, bytes.clone()).await?;
        st.metrics.report(true);
        Ok((bytes, false))
    })
    .await
    .map_err(|e| AppError::Internal(format!("the report task: {e}")))??;
    Ok(ReportPdf { bytes, filename, cached })
}

/// Whether a job has ended with something to report on: completed and failed jobs do
/// (a failure before the case existed still has its log and reason); a cancelled one when
/// it kept its case.
fn reportable(status: JobStatus, has_case: bool) -> AppResult<()> {
    match status {
        JobStatus::Completed | JobStatus::Failed => Ok(()),
        JobStatus::Cancelled if has_case => Ok(()),
        JobStatus::Cancelled => Err(AppError::Conflict(
            "the job was cancelled before it kept any results, so there is nothing to report".into(),
        )),
        s => Err(AppError::Conflict(format!(
            "the job is {}; its report can be made once it has ended (completed, failed or cancelled)",
            s.as_str()
        ))),
    }
}

/// The configured paper and units (checked words, see `config::validate`).
fn options(c: &crate::config::ReportConfig) -> AppResult<report::Options> {
    let paper = c.paper.parse().map_err(|e| AppError::Internal(format!("report.paper: {e}")))?;
    let units = c.units.parse().map_err(|e| AppError::Internal(format!("report.units: {e}")))?;
    Ok(report::Options { paper, units })
}

/// What the title block says, from the store, and where the org's logo is (its bytes are
/// read only when a report is made).
struct Facts {
    meta: report::Meta,
    logo: Option<(String, String)>,
}

/// The title-block facts of `job`, each looked up as the caller (an org they are not a
/// member of is left out, as the API would hide it).
async fn facts(st: &AppState, caller: &Caller, job: &Job) -> AppResult<Facts> {
    let case = super::cases::get(st, caller, &job.case_id).await?;
    let project = st.store.project(caller.id(), &case.project_id).await?;
    let org = match project.as_ref().and_then(|p| p.org_id.as_deref()) {
        Some(id) => st.store.org(caller.id(), id).await?,
        None => None,
    };
    let logo = match &org {
        Some(o) => {
            let key = super::org_logo::key(&o.id);
            match st.blobs.version(&key).await {
                Ok(v) => Some((key, v)),
                Err(BlobError::NotFound(_)) => None,
                Err(e) => return Err(e.into()),
            }
        }
        None => None,
    };
    let author = st.store.user(&job.user_id).await?.map(|u| match u.name.trim() {
        "" => u.email,
        name => format!("{name} <{}>", u.email),
    });
    let executor = match job.executor.as_str() {
        "local" => "local".to_string(),
        name => match st.cfg.clusters.iter().find(|c| c.name == name) {
            Some(c) => format!("{} ({name})", c.kind),
            None => name.to_string(),
        },
    };
    let recorded = st.store.usage_of_job(&job.id).await?;
    let reason = st.store.transitions(&job.id).await?.last().map(|t| t.reason.clone());
    let meta = report::Meta {
        project: project.map(|p| p.name),
        case_name: Some(case.name),
        job_name: Some(job.id.clone()),
        author,
        org: org.map(|o| o.name),
        org_logo_png: None,
        executor: Some(executor),
        cores: u32::try_from(job.cores).ok(),
        wall_s: match (job.started_at, job.completed_at) {
            (Some(a), Some(b)) if b >= a => Some((b - a) as f64 / 1000.0),
            _ => None,
        },
        // As the job's view shows it: what is recorded for billing.
        core_hours: (job.started_at.is_some() || recorded > 0.0).then_some(recorded / 3600.0),
        date: job
            .completed_at
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        status: Some(job.status.as_str().to_string()),
        status_reason: reason.or_else(|| job.error_message.clone()),
    };
    Ok(Facts { meta, logo })
}

/// `jobs/{id}/report-<hash>.pdf`: the hash covers this version, the options, every
/// title-block fact and the logo's version, so a report is made again when any changes.
fn cache_key(job_id: &str, opts: &report::Options, f: &Facts) -> String {
    let mut h = Sha256::new();
    h.update(format!("flowcfd {} inputs {INPUTS_VERSION}\n", env!("CARGO_PKG_VERSION")));
    h.update(format!("{:?} {:?}\n", opts.paper, opts.units));
    // Meta's Debug shows every field (the logo's bytes are not in it yet: its version is).
    h.update(format!("{:?}\n", f.meta));
    h.update(format!("logo {:?}\n", f.logo.as_ref().map(|(_, v)| v)));
    let hex: String = h.finalize().iter().take(10).map(|b| format!("{b:02x}")).collect();
    format!("jobs/{job_id}/report-{hex}.pdf")
}

async fn cached(st: &AppState, key: &str) -> AppResult<Option<Bytes>> {
    match st.blobs.get(key).await {
        Ok(b) => Ok(Some(b)),
        Err(BlobError::NotFound(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// `<case>-<first 8 of the job id>-report.pdf`, with anything but letters, digits, `.`, `-`
/// and `_` made `_` (a header value and every file system take it).
pub fn filename(case: Option<&str>, job_id: &str) -> String {
    let short: String = job_id.chars().take(8).collect();
    let base = match case {
        Some(c) if !c.trim().is_empty() => format!("{}-{short}", c.trim()),
        _ => format!("job-{short}"),
    };
    let mut clean: String = base
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' })
        .take(80)
        .collect();
    // No hidden file.
    if clean.starts_with('.') {
        clean.replace_range(..1, "_");
    }
    format!("{clean}-report.pdf")
}

/// Makes the report: the input directory from the object store, then `report::build` in a
/// blocking task. The directory is removed afterwards (the PDF is what is kept).
async fn build(st: &AppState, job: &Job, has_case: bool, facts: Facts, opts: report::Options) -> AppResult<Vec<u8>> {
    let mut meta = facts.meta;
    if let Some((key, _)) = &facts.logo {
        match st.blobs.get(key).await {
            Ok(b) => meta.org_logo_png = Some(b.to_vec()),
            // Removed since it was looked at: the report goes without it.
            Err(BlobError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let dir = st.cfg.data_dir.join("report").join(&job.id);
    let archive = if has_case { Some(st.blobs.get(&format!("jobs/{}/case.tar.gz", job.id)).await?) } else { None };
    let mut extra = Vec::new();
    for name in ["summary.json", "failure.json", "run.log"] {
        match st.blobs.get(&format!("jobs/{}/{name}", job.id)).await {
            Ok(b) => extra.push((name, b)),
            Err(BlobError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    // A job the server failed (the wall-time limit, a worker that kept dying, a run that
    // ended without its summary) has no failure record from the run: the server's record
    // stands in for it, in the run's form, so the report has its failure section.
    if job.status == JobStatus::Failed && !extra.iter().any(|(n, _)| *n == "failure.json") {
        extra.push(("failure.json", server_failure(job, meta.status_reason.as_deref())));
    }
    let made = tokio::task::spawn_blocking(move || {
        let made = prepare(&dir, archive.as_deref(), &extra).and_then(|input| {
            report::build(&input, &meta, &opts).map_err(|e| match e {
                ReportError::BadInput(m) => AppError::Conflict(format!("the job's results cannot be reported: {m}")),
                ReportError::Post(p) => AppError::Conflict(format!("the job's results cannot be read: {p}")),
                other => AppError::Internal(format!("making the report: {other}")),
            })
        });
        if let Err(e) = std::fs::remove_dir_all(&dir) {
            tracing::warn!(dir = %dir.display(), error = %e, "the report's input directory stays");
        }
        made
    })
    .await
    .map_err(|e| AppError::Internal(format!("the report task: {e}")))??;
    Ok(made)
}

/// `failure.json` as the runner writes it (`{"step", "error"}`), from what the server knows.
fn server_failure(job: &Job, reason: Option<&str>) -> Bytes {
    let error = job.error_message.as_deref().or(reason).unwrap_or("the job failed");
    let step = job.log_step.as_deref().or(job.step.as_deref()).unwrap_or("");
    Bytes::from(serde_json::json!({"step": step, "error": error}).to_string())
}

/// Lays out `dir` as `flowcfd run --out` leaves it: `case/` (from the archive; an empty
/// case for a run that failed before writing one), and the stored summary, failure and log.
fn prepare(dir: &Path, archive: Option<&[u8]>, extra: &[(&str, Bytes)]) -> AppResult<report::Input> {
    let io = |what: &str, p: &Path, e: std::io::Error| AppError::Internal(format!("{what} {}: {e}", p.display()));
    // A directory left by a build that died is stale; this job's single flight is held.
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| io("removing", dir, e))?;
    }
    match archive {
        Some(a) => super::post::unpack_once(a, dir).map_err(|e| io("unpacking the case into", dir, e))?,
        None => {
            let system = dir.join("case").join("system");
            std::fs::create_dir_all(&system).map_err(|e| io("creating", &system, e))?;
        }
    }
    if !dir.join("case").is_dir() {
        return Err(AppError::Conflict("the job's case archive holds no case/ directory".into()));
    }
    for (name, bytes) in extra {
        let p: PathBuf = dir.join(name);
        std::fs::write(&p, bytes).map_err(|e| io("writing", &p, e))?;
    }
    report::Input::locate(dir, None).map_err(|e| AppError::Conflict(e.to_string()))
}

/// The lock that makes one request per job build its report while the others wait.
fn flight(job: &str) -> Arc<tokio::sync::Mutex<()>> {
    static FLIGHTS: OnceLock<Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>> = OnceLock::new();
    let mut m = FLIGHTS.get_or_init(Default::default).lock().expect("report flights");
    if let Some(l) = m.get(job).and_then(Weak::upgrade) {
        return l;
    }
    m.retain(|_, w| w.strong_count() > 0);
    let l = Arc::new(tokio::sync::Mutex::new(()));
    m.insert(job.to_string(), Arc::downgrade(&l));
    l
}

fn builds() -> &'static tokio::sync::Semaphore {
    static SLOTS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| tokio::sync::Semaphore::new(BUILDS_AT_ONCE))
}

/// Results that could not be reported, by cache key, so that asking again answers at once
/// (the same inputs fail the same way; a changed input is a new key).
fn bad() -> &'static Mutex<HashMap<String, String>> {
    static BAD: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
    BAD.get_or_init(Default::default)
}

fn known_bad(key: &str) -> Option<String> {
    bad().lock().expect("report failures").get(key).cloned()
}

fn remember_bad(key: &str, why: &str) {
    let mut m = bad().lock().expect("report failures");
    if m.len() >= 1024 {
        m.clear();
    }
    m.insert(key.to_string(), why.to_string());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_are_safe_in_a_header() {
        assert_eq!(filename(Some("cube"), "1a2b3c4d-5e6f"), "cube-1a2b3c4d-report.pdf");
        assert_eq!(filename(Some("Wing \"v2\"/ü"), "abcdef0123"), "Wing__v2___-abcdef01-report.pdf");
        assert_eq!(filename(Some("  "), "abcdef0123"), "job-abcdef01-report.pdf");
        assert_eq!(filename(Some("..x"), "ab"), "_.x-ab-report.pdf");
        assert!(filename(Some(&"x".repeat(500)), "ab").len() <= 80 + "-report.pdf".len());
    }

    #[test]
    fn the_cache_key_follows_every_input() {
        let opts = report::Options::default();
        let facts = |org: &str, logo: Option<&str>| Facts {
            meta: report::Meta { org: Some(org.into()), ..Default::default() },
            logo: logo.map(|v| ("orgs/o/logo.png".to_string(), v.to_string())),
        };
        let k = cache_key("j", &opts, &facts("Aero", Some("10-a")));
        assert!(k.starts_with("jobs/j/report-") && k.ends_with(".pdf"), "{k}");
        assert_eq!(k, cache_key("j", &opts, &facts("Aero", Some("10-a"))));
        assert_ne!(k, cache_key("j", &opts, &facts("Aero", Some("10-b"))), "a new logo");
        assert_ne!(k, cache_key("j", &opts, &facts("Aero", None)), "no logo");
        assert_ne!(k, cache_key("j", &opts, &facts("Hydro", Some("10-a"))), "a renamed org");
        let letter = report::Options { paper: report::Paper::Letter, ..opts };
        assert_ne!(k, cache_key("j", &letter, &facts("Aero", Some("10-a"))), "another paper");
    }

    #[test]
    fn only_ended_jobs_with_something_to_show_are_reported() {
        assert!(reportable(JobStatus::Completed, true).is_ok());
        assert!(reportable(JobStatus::Failed, false).is_ok());
        assert!(reportable(JobStatus::Cancelled, true).is_ok());
        let e = reportable(JobStatus::Cancelled, false).unwrap_err();
        assert!(e.to_string().contains("nothing to report"), "{e}");
        let e = reportable(JobStatus::Solving, false).unwrap_err();
        assert!(matches!(e, AppError::Conflict(_)) && e.to_string().contains("the job is solving"), "{e}");
    }

    #[test]
    fn a_failed_run_without_a_case_still_has_an_input() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("report").join("j");
        std::fs::create_dir_all(dir.join("stale")).unwrap();
        let extra = [("failure.json", Bytes::from_static(b"{}")), ("run.log", Bytes::from_static(b"x\n"))];
        let input = prepare(&dir, None, &extra).unwrap();
        assert_eq!(input.case, dir.join("case"));
        assert!(input.failure.is_some() && input.run_log.is_some() && input.summary.is_none());
        assert!(!dir.join("stale").exists(), "a stale directory is replaced");
    }

    #[test]
    fn a_job_failed_by_the_server_before_its_run_made_a_case_still_gets_a_report() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("j");
        let failure = Bytes::from(serde_json::json!({"step": "", "error": "gave up after 3 attempts"}).to_string());
        let input = prepare(&dir, None, &[("failure.json", failure)]).unwrap();
        let meta = report::Meta { status: Some("failed".into()), ..Default::default() };
        let pdf = report::build(&input, &meta, &report::Options::default()).expect("a report of the failure");
        assert!(pdf.starts_with(b"%PDF-"));
    }
}
