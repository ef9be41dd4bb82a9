//! `flowcfd admin`: accounts (and their password reset links), sealed cluster keys, cluster checks, usage reports and billing
//! reconciliation from the command line.
use super::serve::ServerArgs;
use clap::Subcommand;
use std::path::PathBuf;

/// `flowcfd admin` verbs.
#[derive(Subcommand)]
pub enum AdminCmd {
    /// Create an account (for the first admin, or when registration is closed).
    ///
    /// `flowcfd admin create-user you@example.org --admin --close-registration` before the
    /// first `flowcfd serve` makes you the administrator, with nobody able to register first.
    CreateUser {
        /// The account's email.
        #[arg(value_name = "EMAIL", required_unless_present = "email_flag")]
        email: Option<String>,
        /// The email, as a flag (as older scripts give it).
        #[arg(long = "email", value_name = "EMAIL", conflicts_with = "email")]
        email_flag: Option<String>,
        /// Display name [default: the part of the email before the @].
        #[arg(long)]
        name: Option<String>,
        /// The password; better given through the environment or --password-stdin than on
        /// the command line. Without any of them, it is asked for on the terminal.
        #[arg(long, env = "FLOWCFD_ADMIN_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Make the account a server administrator.
        #[arg(long)]
        admin: bool,
        /// Also close self-registration: from now on only administrators create accounts.
        #[arg(long)]
        close_registration: bool,
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
    /// Print a password reset link for an account (it works once, for 30 minutes), to pass
    /// on to its owner when the server has no mail delivery.
    ResetLink {
        /// The account's email.
        email: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Metered core-hours of a plan period: every user and org (plan, included, used,
    /// remaining, overage), or one org's or user's jobs; a table, or CSV with --csv.
    Usage(super::usage::UsageArgs),
    /// Billing: compare FlowCFD's subscriptions with Stripe's.
    #[command(subcommand)]
    Billing(BillingCmd),
}

/// `flowcfd admin billing` verbs.
#[derive(Subcommand)]
pub enum BillingCmd {
    /// Compare each account's subscription, status and plan with Stripe's and print every
    /// difference; with --fix, make the accounts agree with Stripe.
    Reconcile {
        /// Repair the differences (each repair is written to the audit log).
        #[arg(long)]
        fix: bool,
        #[command(flatten)]
        server: ServerArgs,
    },
}

fn reconcile(fix: bool, a: &ServerArgs) -> anyhow::Result<()> {
    let cfg = a.load()?;
    if !cfg.billing().stripe_enabled() {
        return Err(anyhow::anyhow!("billing.provider is not \"stripe\": there is nothing to reconcile"));
    }
    super::runtime().block_on(async {
        let (st, _rx) = flowcfd::state::open(cfg).await?;
        let drifts = flowcfd::service::billing_report::reconcile(&st, fix).await.map_err(anyhow::Error::msg)?;
        for d in &drifts {
            println!("{d}");
        }
        match (drifts.len(), fix) {
            (0, _) => println!("no drift: every account agrees with Stripe"),
            (n, true) => println!("{n} difference(s) repaired"),
            (n, false) => println!("{n} difference(s); run with --fix to repair them"),
        }
        Ok(())
    })
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

/// What `admin create-user` was asked to make.
struct NewAccount {
    email: String,
    name: Option<String>,
    password: String,
    admin: bool,
    close_registration: bool,
}

fn reset_link(email: &str, a: &ServerArgs) -> anyhow::Result<()> {
    let cfg = a.load()?;
    super::runtime().block_on(async {
        let (st, _rx) = flowcfd::state::open(cfg).await?;
        match flowcfd::service::recovery::reset_link(&st, None, email).await.map_err(|e| anyhow::anyhow!("{e}"))? {
            Some(link) => {
                println!("{link}");
                eprintln!("works once, for 30 minutes; pass it on to {email} only");
                Ok(())
            }
            None => Err(anyhow::anyhow!(
                "no password account has the email {email}: check the address (flowcfd admin create-user makes one)"
            )),
        }
    })
}

fn create_user(n: NewAccount, a: &ServerArgs) -> anyhow::Result<()> {
    let cfg = a.load()?;
    let email = flowcfd::auth::normalise_email(&n.email).map_err(anyhow::Error::msg)?;
    flowcfd::auth::check_password(&n.password, &email).map_err(anyhow::Error::msg)?;
    let name = n.name.unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_string());
    if name.trim().is_empty() || name.chars().count() > 100 {
        return Err(anyhow::anyhow!("--name must be 1 to 100 characters"));
    }
    super::runtime().block_on(async {
        let (st, _rx) = flowcfd::state::open(cfg).await?;
        if st.store.user_by_email(&email).await?.is_some() {
            return Err(anyhow::anyhow!("an account with {email} already exists"));
        }
        let user = st
            .store
            .create_user(flowcfd::store::NewUser {
                email,
                name: name.trim().to_string(),
                password_hash: Some(flowcfd::auth::hash_password(&n.password)),
                auth_provider: "email".into(),
                auth_provider_id: None,
            })
            .await?;
        let is_admin = n.admin || user.is_admin;
        st.store.set_user_flags(&user.id, is_admin, false).await?;
        // The operator vouches for the address: no verification mail.
        st.store.set_email_verified(&user.id, flowcfd::store::now_ms()).await?;
        st.store.audit(None, "admin.create_user", Some(&user.id), "{}", None).await?;
        println!("created {} ({}){}", user.email, user.id, if is_admin { ", administrator" } else { "" });
        if n.close_registration {
            st.store.put_setting(flowcfd::service::accounts::REGISTRATION_OPEN, "false").await?;
            st.store.audit(None, "admin.registration", None, r#"{"open":false}"#, None).await?;
            println!("registration is closed: only administrators create accounts");
        }
        Ok(())
    })
}

/// The password of `admin create-user`: from standard input, the flag or environment, or
/// asked for twice on the terminal without echo.
fn password(given: Option<String>, from_stdin: bool) -> anyhow::Result<String> {
    use std::io::{BufRead, IsTerminal, Write};
    let line = |s: String| s.trim_end_matches(['\r', '\n']).to_string();
    if from_stdin {
        let mut s = String::new();
        std::io::stdin().lock().read_line(&mut s)?;
        return Ok(line(s));
    }
    if let Some(p) = given {
        return Ok(p);
    }
    if !std::io::stdin().is_terminal() {
        return Err(anyhow::anyhow!(
            "no password: give it with --password-stdin or FLOWCFD_ADMIN_PASSWORD, or run this on a terminal"
        ));
    }
    let ask = |label: &str| -> anyhow::Result<String> {
        eprint!("{label}");
        std::io::stderr().flush()?;
        // SAFETY: tcgetattr/tcsetattr on standard input with a termios they fill in.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        let got = unsafe { libc::tcgetattr(0, &mut t) } == 0;
        let old = t;
        if got {
            t.c_lflag &= !libc::ECHO;
            unsafe { libc::tcsetattr(0, libc::TCSANOW, &t) };
        }
        let mut s = String::new();
        let read = std::io::stdin().lock().read_line(&mut s);
        if got {
            unsafe { libc::tcsetattr(0, libc::TCSANOW, &old) };
        }
        eprintln!();
        read?;
        Ok(line(s))
    };
    let first = ask("Password: ")?;
    if ask("Password again: ")? != first {
        return Err(anyhow::anyhow!("the two passwords differ"));
    }
    Ok(first)
}

/// Runs an `admin` verb.
pub fn run(cmd: AdminCmd) -> anyhow::Result<()> {
    match cmd {
        AdminCmd::CreateUser {
            email,
            email_flag,
            name,
            password: given,
            password_stdin,
            admin,
            close_registration,
            server,
        } => {
            let email = email.or(email_flag).unwrap_or_default();
            let password = password(given, password_stdin)?;
            create_user(NewAccount { email, name, password, admin, close_registration }, &server)
        }
        AdminCmd::SealKey { file, server } => seal_key(&file, &server),
        AdminCmd::CheckCluster { name, server } => check_cluster(&name, &server),
        AdminCmd::ResetLink { email, server } => reset_link(&email, &server),
        AdminCmd::Usage(a) => super::usage::run(a),
        AdminCmd::Billing(BillingCmd::Reconcile { fix, server }) => reconcile(fix, &server),
    }
}
