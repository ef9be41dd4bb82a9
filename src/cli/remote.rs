//! `flowcfd remote`: a FlowCFD server from the terminal, through its JSON API. Sign in
//! (`login`), list (`projects`, `jobs`), upload a geometry, submit the same case file as
//! `flowcfd run`, follow a job live (`watch`) and download its results.
//!
//! Standard output carries what a script reads (ids, JSON, tables); messages go to
//! standard error. The exit codes are in [`exit`].
use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;

mod case_file;
mod client;
mod download;
mod listing;
mod login;
mod submit;
mod watch;

/// The exit codes of `flowcfd remote`. `watch` and `submit --watch` end with the job's.
pub mod exit {
    /// Done; a watched job completed.
    pub const COMPLETED: u8 = 0;
    /// A watched job failed.
    pub const FAILED: u8 = 1;
    // 2 is clap's: the command line was wrong.
    /// The server could not be reached, refused the request or answered an error, or a
    /// local file could not be read or written.
    pub const ERROR: u8 = 3;
    /// A watched job was cancelled or stopped (at its plan's quota, by a user).
    pub const CANCELLED: u8 = 4;
}

/// `flowcfd remote …`.
#[derive(Subcommand)]
pub enum RemoteCmd {
    /// Sign in to a server and save the token (mode 0600) in
    /// $XDG_CONFIG_HOME/flowcfd/remote.toml (~/.config/flowcfd/remote.toml). By password
    /// (prompted without echo, or one line on stdin with --password-stdin) or with an API
    /// token made on the server (`--token fcfd_…`). FLOWCFD_URL and FLOWCFD_TOKEN, when
    /// set, take precedence over the saved login.
    Login(login::LoginArgs),
    /// Sign out: revoke the saved refresh token and delete the saved login.
    Logout,
    /// Your projects: a table, or JSON with --json.
    Projects {
        /// The API's JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Upload a geometry (STL or OBJ, optionally .gz) to PROJECT (id or name), wait until
    /// it is processed and print its id.
    Upload {
        /// Project id or name.
        project: String,
        /// The surface file.
        file: PathBuf,
        /// Unit scale applied to the file (0.001 for millimetres).
        #[arg(long)]
        scale: Option<f64>,
    },
    /// Submit a case file (the TOML of `flowcfd run`) as a job of PROJECT; prints the job id.
    Submit(submit::SubmitArgs),
    /// Follow a job live (step, iteration, residuals, Cd and Cl) until it ends; the exit
    /// code is the job's: 0 completed, 1 failed, 4 cancelled or stopped, 3 connection error.
    Watch {
        /// The job id.
        job: String,
    },
    /// Download a job's results into --out DIR: --summary (DIR/summary.json), --case (the
    /// case archive unpacked into DIR/case), --report (DIR/report.pdf). Without any of the
    /// three, the summary only. DIR then reads like a `flowcfd run --out` directory.
    Download(download::DownloadArgs),
    /// Jobs: a table, or JSON with --json.
    Jobs(listing::JobsArgs),
}

/// Runs a `remote` command and turns its outcome into the documented exit code; errors
/// are printed as `error: …`.
pub fn main(cmd: RemoteCmd) -> ExitCode {
    match super::runtime().block_on(run(cmd)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit::ERROR)
        }
    }
}

async fn run(cmd: RemoteCmd) -> anyhow::Result<u8> {
    match cmd {
        RemoteCmd::Login(a) => login::login(&a).await.map(|_| exit::COMPLETED),
        RemoteCmd::Logout => login::logout().await.map(|_| exit::COMPLETED),
        other => {
            let api = client::Client::from_env_or_saved()?;
            match other {
                RemoteCmd::Projects { json } => listing::projects(&api, json).await,
                RemoteCmd::Upload { project, file, scale } => {
                    let p = listing::resolve_project(&api, &project).await?;
                    let g = submit::upload(&api, &p.id, &file, scale).await?;
                    println!("{}", g.id);
                    Ok(exit::COMPLETED)
                }
                RemoteCmd::Submit(a) => submit::submit(&api, &a).await,
                RemoteCmd::Watch { job } => watch::watch(&api, &job).await,
                RemoteCmd::Download(a) => download::download(&api, &a).await,
                RemoteCmd::Jobs(a) => listing::jobs(&api, &a).await,
                RemoteCmd::Login(_) | RemoteCmd::Logout => unreachable!("handled above"),
            }
        }
    }
}
