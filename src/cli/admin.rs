//! `flowcfd admin`: accounts, sealed cluster keys and cluster checks from the command line.
use super::serve::ServerArgs;
use clap::Subcommand;
use std::path::PathBuf;

/// `flowcfd admin` verbs.
#[derive(Subcommand)]
pub enum AdminCmd {
    /// Create an account (for the first admin, or when registration is closed).
    CreateUser {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// The password; better given through the environment than on the command line.
        #[arg(long, env = "FLOWCFD_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
        /// Make the account a server administrator.
        #[arg(long)]
        admin: bool,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Encrypt a cluster's SSH private key under the server secret; prints the value for
    /// the cluster's `key_sealed` setting.
    SealKey {
        /// The private key file (OpenSSH format).
        file: PathBuf,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Connect to a configured cluster and report its host key (to pin it as `host_key`)
    /// and whether signing in and Slurm work.
    CheckCluster {
        name: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

fn seal_key(file: &std::path::Path, a: &ServerArgs) -> anyhow::Result<()> {
    let cfg = a.load()?;
    let key = std::fs::read(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    if !String::from_utf8_lossy(&key).contains("PRIVATE KEY") {
        return Err(anyhow::anyhow!("{} is not a private key file (no PRIVATE KEY block)", file.display()));
    }
    let keys = flowcfd::auth::Keys::load(cfg.auth.secret.as_deref(), &cfg.data_dir)
        .map_err(|e| anyhow::anyhow!("server secret in {}: {e}", cfg.data_dir.display()))?;
    println!("{}", keys.seal(&key));
    Ok(())
}

fn check_cluster(name: &str, a: &ServerArgs) -> anyhow::Result<()> {
    let cfg = a.load()?;
    let c = cfg
        .clusters
        .iter()
        .find(|c| c.name == name)
        .ok_or_else(|| anyhow::anyhow!("no cluster named {name:?} in the configuration"))?;
    let keys = flowcfd::auth::Keys::load(cfg.auth.secret.as_deref(), &cfg.data_dir)?;
    let key = keys.unseal(c.key_sealed.as_deref().unwrap_or_default()).map_err(anyhow::Error::msg)?;
    let link = flowcfd::jobs::slurm::Link::new(c.clone(), String::from_utf8_lossy(&key).into_owned());
    let (fp, line) = link.offered_host_key()?;
    println!("host key offered by {}:{}: {fp}\n  {line}", c.host, c.port);
    let out = link.run(&flowcfd::jobs::slurm::command(&["sinfo", "-h", "-o", "%P %a %D %T"]))?;
    println!("signed in as {}; sinfo:\n{}", c.user, out.stdout.trim_end());
    Ok(())
}

fn create_user(email: &str, name: &str, password: &str, admin: bool, a: &ServerArgs) -> anyhow::Result<()> {
    let cfg = a.load()?;
    super::runtime().block_on(async {
        let (st, _rx) = flowcfd::state::open(cfg).await?;
        let email = flowcfd::auth::normalise_email(email).map_err(anyhow::Error::msg)?;
        flowcfd::auth::check_password(password, &email).map_err(anyhow::Error::msg)?;
        if st.store.user_by_email(&email).await?.is_some() {
            return Err(anyhow::anyhow!("an account with {email} already exists"));
        }
        let user = st
            .store
            .create_user(flowcfd::store::NewUser {
                email,
                name: name.to_string(),
                password_hash: Some(flowcfd::auth::hash_password(password)),
                auth_provider: "email".into(),
                auth_provider_id: None,
            })
            .await?;
        let is_admin = admin || user.is_admin;
        st.store.set_user_flags(&user.id, is_admin, false).await?;
        st.store.audit(None, "admin.create_user", Some(&user.id), "{}", None).await?;
        println!("created {} ({}){}", user.email, user.id, if is_admin { ", administrator" } else { "" });
        Ok(())
    })
}

/// Runs an `admin` verb.
pub fn run(cmd: AdminCmd) -> anyhow::Result<()> {
    match cmd {
        AdminCmd::CreateUser { email, name, password, admin, server } => {
            create_user(&email, &name, &password, admin, &server)
        }
        AdminCmd::SealKey { file, server } => seal_key(&file, &server),
        AdminCmd::CheckCluster { name, server } => check_cluster(&name, &server),
    }
}
