//! Reading metered use back: a billing subject's core-seconds over a run of plan-period
//! months (`YYYY-MM`, first to last) per project, per job and per day, and the subjects an
//! instance has (every user and org), for the usage page, the usage API and its CSV, and
//! `flowcfd admin usage`. Every query is scoped by the subject (`user:ID` / `org:ID`) the
//! service resolved for the caller; the usage itself is written by `usage.rs`.
use super::db::{sql, Db, Row};
use super::sql::SqlStore;
use super::Result;
use serde::Serialize;

/// A project's core-seconds in the months asked for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProjectUsage {
    /// `None` for usage recorded before projects were noted on usage records.
    pub project_id: Option<String>,
    /// `None` once the project has been deleted (its usage still counts).
    pub name: Option<String>,
    pub core_seconds: f64,
}

/// A job's core-seconds in the months asked for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobUsage {
    /// `None`: the usage of deleted jobs, summed.
    pub job_id: Option<String>,
    pub project_id: Option<String>,
    pub case_name: Option<String>,
    pub executor: Option<String>,
    pub cores: Option<i64>,
    pub status: Option<String>,
    pub core_seconds: f64,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
}

/// Core-seconds recorded on one UTC day (`YYYY-MM-DD`, the day a record's span ended).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayUsage {
    pub date: String,
    pub core_seconds: f64,
}

/// A billing subject of the instance and how people recognise it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubjectLabel {
    /// `user:ID` or `org:ID`.
    pub subject: String,
    /// A user's email, an org's name.
    pub label: String,
}

/// The condition every report query shares: the subject, its months, core-seconds only.
const SCOPE: &str = "u.subject = $1 AND u.period >= $2 AND u.period <= $3 AND u.record_type = 'core_seconds'";

async fn by_project(db: &Db, subject: &str, first: &str, last: &str) -> Result<Vec<ProjectUsage>> {
    let q = sql(format!(
        "SELECT u.project_id, MAX(p.name), CAST(SUM(u.quantity) AS DOUBLE PRECISION) AS cs FROM usage_records u \
         LEFT JOIN projects p ON p.id = u.project_id WHERE {SCOPE} GROUP BY u.project_id ORDER BY cs DESC"
    ));
    let row = |r: &Row| Ok(ProjectUsage { project_id: r.get(0)?, name: r.get(1)?, core_seconds: r.get(2)? });
    db.all(q.bind(subject).bind(first).bind(last), row).await
}

async fn by_job(db: &Db, subject: &str, first: &str, last: &str) -> Result<Vec<JobUsage>> {
    let q = sql(format!(
        "SELECT u.job_id, MAX(u.project_id), MAX(u.executor), CAST(SUM(u.quantity) AS DOUBLE PRECISION) AS cs, \
         MAX(j.cores_allocated), MAX(j.status), MAX(c.name), MIN(j.started_at), MAX(j.completed_at) \
         FROM usage_records u LEFT JOIN simulation_jobs j ON j.id = u.job_id \
         LEFT JOIN simulation_cases c ON c.id = j.case_id WHERE {SCOPE} GROUP BY u.job_id ORDER BY cs DESC"
    ));
    let row = |r: &Row| {
        Ok(JobUsage {
            job_id: r.get(0)?,
            project_id: r.get(1)?,
            executor: r.get(2)?,
            core_seconds: r.get(3)?,
            cores: r.get(4)?,
            status: r.get(5)?,
            case_name: r.get(6)?,
            started_at: r.get(7)?,
            completed_at: r.get(8)?,
        })
    };
    db.all(q.bind(subject).bind(first).bind(last), row).await
}

async fn by_day(db: &Db, subject: &str, first: &str, last: &str) -> Result<Vec<DayUsage>> {
    // period_end is RFC 3339 in UTC ("2026-12-06T21:00:00.000Z"): its first ten
    // characters are the day.
    let q = sql(format!(
        "SELECT SUBSTR(u.period_end, 1, 10) AS day, CAST(SUM(u.quantity) AS DOUBLE PRECISION) \
         FROM usage_records u WHERE {SCOPE} GROUP BY SUBSTR(u.period_end, 1, 10) ORDER BY day"
    ));
    let row = |r: &Row| Ok(DayUsage { date: r.get(0)?, core_seconds: r.get(1)? });
    db.all(q.bind(subject).bind(first).bind(last), row).await
}

async fn subjects(db: &Db) -> Result<Vec<SubjectLabel>> {
    let q = sql("SELECT 'user:' || id AS subject, email AS label FROM users \
                 UNION ALL SELECT 'org:' || id, name FROM organizations ORDER BY subject");
    db.all(q, |r| Ok(SubjectLabel { subject: r.get(0)?, label: r.get(1)? })).await
}

/// Metered use read back per subject (see the module's doc).
#[async_trait::async_trait]
pub trait UsageReportStore: Send + Sync {
    /// A subject's core-seconds per project over the months `first..=last` (`YYYY-MM`),
    /// most first.
    async fn usage_by_project(&self, subject: &str, first: &str, last: &str) -> Result<Vec<ProjectUsage>>;
    /// A subject's core-seconds per job over the months `first..=last`, most first.
    async fn usage_by_job(&self, subject: &str, first: &str, last: &str) -> Result<Vec<JobUsage>>;
    /// A subject's core-seconds per UTC day over the months `first..=last`, days with
    /// usage only, in order.
    async fn usage_by_day(&self, subject: &str, first: &str, last: &str) -> Result<Vec<DayUsage>>;
    /// Every user and org of the instance (for the administrator's report).
    async fn billing_subjects(&self) -> Result<Vec<SubjectLabel>>;
}

#[async_trait::async_trait]
impl UsageReportStore for SqlStore {
    async fn usage_by_project(&self, subject: &str, first: &str, last: &str) -> Result<Vec<ProjectUsage>> {
        by_project(&self.db, subject, first, last).await
    }
    async fn usage_by_job(&self, subject: &str, first: &str, last: &str) -> Result<Vec<JobUsage>> {
        by_job(&self.db, subject, first, last).await
    }
    async fn usage_by_day(&self, subject: &str, first: &str, last: &str) -> Result<Vec<DayUsage>> {
        by_day(&self.db, subject, first, last).await
    }
    async fn billing_subjects(&self) -> Result<Vec<SubjectLabel>> {
        subjects(&self.db).await
    }
}
