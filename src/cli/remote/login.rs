//! `remote login` and `remote logout`: a password sign-in (the password read without echo,
//! or from stdin) or an API token, checked against `/api/me` and saved owner-only.
use super::client::{self, Client, Saved};
use anyhow::{anyhow, bail, Context};
use clap::Args;
use serde_json::{json, Value};
use std::io::{BufRead, IsTerminal, Write};

/// `remote login URL`.
#[derive(Args)]
pub struct LoginArgs {
    /// The server, e.g. https://cfd.example.com.
    pub url: String,
    /// Your account's email (asked for when not given).
    #[arg(long)]
    pub email: Option<String>,
    /// Read the password from the first line of stdin (for scripts) instead of prompting.
    #[arg(long)]
    pub password_stdin: bool,
    /// Sign in with an API token (`fcfd_…`, made on the server's account page or with
    /// POST /api/tokens) instead of a password.
    #[arg(long, conflicts_with_all = ["email", "password_stdin"])]
    pub token: Option<String>,
}

/// Signs in and saves the login.
pub async fn login(a: &LoginArgs) -> anyhow::Result<()> {
    let url = client::normalise_url(&a.url)?;
    let saved = match &a.token {
        Some(t) => Saved { url: url.clone(), token: t.trim().to_string(), refresh_token: None },
        None => password_login(&url, a).await?,
    };
    // The token must work before it is saved.
    let me: Value = Client::new(&url, &saved.token)?.get("/api/me").await?;
    let path = saved.store()?;
    eprintln!(
        "signed in to {url} as {}; the login is saved in {} (mode 0600)",
        me["user"]["email"].as_str().unwrap_or("?"),
        path.display()
    );
    Ok(())
}

async fn password_login(url: &str, a: &LoginArgs) -> anyhow::Result<Saved> {
    let stdin = std::io::stdin();
    let interactive = stdin.is_terminal() && !a.password_stdin;
    let email = match &a.email {
        Some(e) => e.clone(),
        None if interactive => prompt_line("Email: ")?,
        None => bail!("give --email when the password comes from stdin"),
    };
    let password = if interactive {
        prompt_hidden("Password: ")?
    } else {
        if !a.password_stdin {
            eprintln!("note: stdin is not a terminal; reading the password from its first line");
        }
        let mut line = String::new();
        stdin.lock().read_line(&mut line).context("reading the password from stdin")?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    if password.is_empty() {
        bail!("no password given");
    }
    let r = client::http()
        .post(format!("{url}/api/auth/login"))
        .json(&json!({"email": email.trim(), "password": password}))
        .send()
        .await
        .map_err(|e| client::unreachable(url, &e))?;
    let t: Value = client::check(r).await?.json().await.context("the sign-in answer is not JSON")?;
    match (t["token"].as_str(), t["refresh_token"].as_str()) {
        (Some(token), refresh) => {
            Ok(Saved { url: url.to_string(), token: token.to_string(), refresh_token: refresh.map(String::from) })
        }
        _ => Err(anyhow!("the server's sign-in answer has no token")),
    }
}

fn prompt_line(prompt: &str) -> anyhow::Result<String> {
    eprint!("{prompt}");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_string())
}

/// Reads a line from the terminal with echo off (restored whatever happens).
fn prompt_hidden(prompt: &str) -> anyhow::Result<String> {
    eprint!("{prompt}");
    std::io::stderr().flush()?;
    let fd = libc::STDIN_FILENO;
    // SAFETY: termios is plain data; tcgetattr fills it for a terminal (checked above).
    let mut old: libc::termios = unsafe { std::mem::zeroed() };
    let have_tty = unsafe { libc::tcgetattr(fd, &mut old) } == 0;
    if have_tty {
        let mut quiet = old;
        quiet.c_lflag &= !libc::ECHO;
        quiet.c_lflag |= libc::ECHONL;
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) };
    }
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    if have_tty {
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &old) };
    }
    read?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Revokes the saved refresh token (if the server answers) and deletes the saved login.
pub async fn logout() -> anyhow::Result<()> {
    let path = client::saved_path()?;
    let Some(s) = Saved::load()? else {
        eprintln!("not signed in (no {})", path.display());
        return Ok(());
    };
    if let Some(rt) = &s.refresh_token {
        let sent =
            client::http().post(format!("{}/api/auth/logout", s.url)).json(&json!({"refresh_token": rt})).send().await;
        if let Err(e) = sent {
            eprintln!("warning: {}; the login is deleted here only", client::unreachable(&s.url, &e));
        }
    }
    std::fs::remove_file(&path).with_context(|| format!("deleting {}", path.display()))?;
    eprintln!("signed out of {}", s.url);
    Ok(())
}
