//! `flowcfd serve`, `worker`, `migrate` and `config show`: the appliance's long-running
//! commands and where their configuration comes from.
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// Where the server's configuration comes from (flags win over env, env over the file).
#[derive(Args, Clone)]
pub struct ServerArgs {
    /// Listen address, ADDR:PORT [default: 127.0.0.1:8080].
    #[arg(long, env = "FLOWCFD_BIND")]
    pub bind: Option<String>,
    /// Data directory for the embedded defaults (SQLite, blobs, secret) [default: ./data].
    #[arg(long, env = "FLOWCFD_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Configuration file [default: ./flowcfd.toml when it exists].
    #[arg(long, env = "FLOWCFD_CONFIG")]
    pub config: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://USER:PASSWORD@HOST/DB.
    #[arg(long, env = "FLOWCFD_DATABASE_URL")]
    pub database_url: Option<String>,
}

impl ServerArgs {
    /// The configuration with every layer applied.
    pub fn load(&self) -> anyhow::Result<flowcfd::config::Config> {
        let over = flowcfd::config::Overrides {
            config_file: self.config.clone(),
            bind: self.bind.clone(),
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
        };
        flowcfd::config::Config::load(&over).map_err(anyhow::Error::msg)
    }
}

/// `flowcfd config` verbs.
#[derive(Subcommand)]
pub enum ConfigCmd {
    /// Print the effective configuration (all layers applied), secrets masked.
    Show(ServerArgs),
}

/// `flowcfd migrate`.
pub fn migrate(a: &ServerArgs) -> anyhow::Result<()> {
    let cfg = a.load()?;
    super::runtime().block_on(async {
        let store = flowcfd::store::open(&cfg.database_url()).await?;
        store.migrate().await?;
        println!("migrations applied ({})", store.dialect());
        Ok(())
    })
}

/// What the server and its runs create is for its own user only: the database, the
/// secret, uploads, results and run folders (PostgreSQL's server does the same). The
/// files that matter most are also created 0600 explicitly (`config::private`).
fn private_umask() {
    // SAFETY: umask only swaps the process's file-creation mask.
    unsafe { libc::umask(0o077) };
}

/// `flowcfd serve`: runs until SIGINT or SIGTERM, then drains.
pub fn serve(a: &ServerArgs) -> anyhow::Result<()> {
    let cfg = a.load()?;
    private_umask();
    super::runtime().block_on(flowcfd::server::serve(cfg)).map_err(anyhow::Error::msg)
}

/// `flowcfd worker`: runs jobs from the shared database without serving HTTP.
pub fn worker(a: &ServerArgs) -> anyhow::Result<()> {
    let mut cfg = a.load()?;
    private_umask();
    cfg.jobs.slots = cfg.jobs.slots.max(1);
    super::runtime().block_on(flowcfd::server::worker(cfg)).map_err(anyhow::Error::msg)
}

/// `flowcfd config show`.
pub fn config(cmd: &ConfigCmd) -> anyhow::Result<()> {
    match cmd {
        ConfigCmd::Show(a) => a.load().map(|c| print!("{}", c.show())),
    }
}
