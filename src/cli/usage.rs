//! `flowcfd admin usage`: the metered use of a plan period, as a lab manager sends it to
//! their department. Without a subject: one row per user and org of the instance (plan,
//! included, used, remaining, overage); with `--org` or `--user`: that subject's jobs.
//! A table for the terminal, or CSV with `--csv`.
use super::serve::ServerArgs;
use clap::Args;
use flowcfd::service::{usage, usage_text};
use flowcfd::store::Subject;

/// `flowcfd admin usage` arguments.
#[derive(Args)]
pub struct UsageArgs {
    /// The month, YYYY-MM (UTC); the report covers the plan period that holds it
    /// [default: this month].
    #[arg(long, value_name = "YYYY-MM")]
    pub period: Option<String>,
    /// Write CSV instead of a table.
    #[arg(long)]
    pub csv: bool,
    /// Only this organization (its id), job by job.
    #[arg(long, value_name = "ID", conflicts_with = "user")]
    pub org: Option<String>,
    /// Only this user's personal projects, job by job.
    #[arg(long, value_name = "EMAIL")]
    pub user: Option<String>,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Runs `admin usage`.
pub fn run(a: UsageArgs) -> anyhow::Result<()> {
    let month = usage::month_or_now(a.period.as_deref()).map_err(|e| anyhow::anyhow!("--period: {e}"))?;
    let cfg = a.server.load()?;
    let billing = cfg.billing();
    let text = super::runtime().block_on(async {
        let store = flowcfd::store::open(&cfg.database_url()).await?;
        store.migrate().await?;
        let subject = match (&a.org, &a.user) {
            (Some(id), _) => {
                let s = Subject::Org(id.clone());
                if !store.billing_subjects().await?.iter().any(|x| x.subject == s.key()) {
                    anyhow::bail!("no organization with the id {id:?} (the org's id, not its name or slug)");
                }
                Some(s)
            }
            (None, Some(email)) => {
                let u = store
                    .user_by_email(email)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("no user with the email {email:?}"))?;
                Some(Subject::User(u.id))
            }
            (None, None) => None,
        };
        Ok::<_, anyhow::Error>(match subject {
            Some(s) => {
                let r = usage::build(store.as_ref(), &billing, &s, &month).await?;
                if a.csv {
                    usage_text::report_csv(&r)
                } else {
                    usage_text::report_table(&r)
                }
            }
            None => {
                let rows = usage_text::instance_rows(&usage::instance(store.as_ref(), &billing, &month).await?);
                if a.csv {
                    usage_text::csv(&rows)
                } else {
                    format!("usage in the plan periods that hold {month}\n\n{}", usage_text::table(&rows))
                }
            }
        })
    })?;
    print!("{text}");
    Ok(())
}
