//! `flowcfd admin`: accounts, sealed cluster keys and cluster checks from the command line.
use super::serve::ServerArgs;
use clap::Subcommand;
use std::path::PathBuf;

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

fn seal_key(file: &std::path::Path, a: &ServerArgs) -> Result<(), String> {
    let cfg = a.load()?;
    let key = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    if !String::from_utf8_lossy(&key).contains("PRIVATE KEY") {
        return Err(format!("{} is not a private key file (no PRIVATE KEY block)", file.display()));
    }
    let keys = flowcfd::auth::Keys::load(cfg.auth.secret.as_deref(), &cfg.data_dir)
        .map_err(|e| format!("server secret in {}: {e}", cfg.data_dir.display()))?;
    println!("{}", keys.seal(&key));
    Ok(())
}

fn check_cluster(name: &str, a: &ServerArgs) -> Result<(), String> {
    let cfg = a.load()?;
    let c = cfg
        .clusters
        .iter()
        .find(|c| c.name == name)
        .ok_or_else(|| format!("no cluster named {name:?} in the configuration"))?;
    let keys = flowcfd::auth::Keys::load(cfg.auth.secret.as_deref(), &cfg.data_dir).map_err(|e| e.to_string())?;
    let key = keys.unseal(c.key_sealed.as_deref().unwrap_or_default())?;
    let link = flowcfd::jobs::slurm::Link::new(c.clone(), String::from_utf8_lossy(&key).into_owned());
    let (fp, line) = link.offered_host_key().map_err(|e| e.to_string())?;
    println!("host key offered by {}:{}: {fp}\n  {line}", c.host, c.port);
    let out =
        link.run(&flowcfd::jobs::slurm::command(&["sinfo", "-h", "-o", "%P %a %D %T"])).map_err(|e| e.to_string())?;
    println!("signed in as {}; sinfo:\n{}", c.user, out.stdout.trim_end());
    Ok(())
}

fn create_user(email: &str, name: &str, password: &str, admin: bool, a: &ServerArgs) -> Result<(), String> {
    let cfg = a.load()?;
    super::runtime().block_on(async {
        let (st, _rx) = flowcfd::state::open(cfg).await.map_err(|e| e.to_string())?;
        let email = flowcfd::auth::normalise_email(email)?;
        flowcfd::auth::check_password(password, &email)?;
        if st.store.user_by_email(&email).await.map_err(|e| e.to_string())?.is_some() {
            return Err(format!("an account with {email} already exists"));
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
            .await
            .map_err(|e| e.to_string())?;
        let is_admin = admin || user.is_admin;
        st.store.set_user_flags(&user.id, is_admin, false).await.map_err(|e| e.to_string())?;
        st.store.audit(None, "admin.create_user", Some(&user.id), "{}", None).await.map_err(|e| e.to_string())?;
        println!("created {} ({}){}", user.email, user.id, if is_admin { ", administrator" } else { "" });
        Ok(())
    })
}

/// Runs an `admin` verb.
pub fn run(cmd: AdminCmd) -> Result<(), String> {
    match cmd {
        AdminCmd::CreateUser { email, name, password, admin, server } => {
            create_user(&email, &name, &password, admin, &server)
        }
        AdminCmd::SealKey { file, server } => seal_key(&file, &server),
        AdminCmd::CheckCluster { name, server } => check_cluster(&name, &server),
    }
}
