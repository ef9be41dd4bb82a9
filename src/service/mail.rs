//! Mail delivery: `serve`'s background task sends the outbox (password resets, email
//! verification, org invitations, job notifications) over SMTP (`[email]`, lettre),
//! so no request waits on a mail server and an SMTP outage loses nothing. A message is
//! claimed with a lease, rendered from its kind's Askama templates (plain text and HTML,
//! with the instance's name and public URL) and the link unsealed, and sent. A failure is
//! retried after `retry_base_s`, doubling up to an hour; a message whose link has expired,
//! or that has failed for a day, is held for administrators with the reason instead.
use crate::config::{EmailConfig, SmtpTarget, SmtpTls};
use crate::state::AppState;
use crate::store::{now_ms, OutboxMail};
use askama::Template;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// How often the sender looks for due messages.
const POLL: Duration = Duration::from_secs(1);
/// How long a claimed message is the claimer's before another sender may try it.
const LEASE_MS: i64 = 120_000;
/// A message still failing after this long is held for administrators.
const GIVE_UP_MS: i64 = 24 * 3600 * 1000;
/// The longest wait between two attempts.
const MAX_BACKOFF_MS: i64 = 3600 * 1000;

#[derive(Template)]
#[template(path = "email/reset.txt")]
struct ResetText<'a> {
    instance: &'a str,
    base: &'a str,
    to: &'a str,
    link: &'a str,
    minutes: i64,
}

#[derive(Template)]
#[template(path = "email/reset.html")]
struct ResetHtml<'a> {
    instance: &'a str,
    base: &'a str,
    to: &'a str,
    link: &'a str,
    minutes: i64,
}

#[derive(Template)]
#[template(path = "email/verify.txt")]
struct VerifyText<'a> {
    instance: &'a str,
    base: &'a str,
    to: &'a str,
    link: &'a str,
    hours: i64,
}

#[derive(Template)]
#[template(path = "email/verify.html")]
struct VerifyHtml<'a> {
    instance: &'a str,
    base: &'a str,
    to: &'a str,
    link: &'a str,
    hours: i64,
}

#[derive(Template)]
#[template(path = "email/invite.txt")]
struct InviteText<'a> {
    instance: &'a str,
    base: &'a str,
    to: &'a str,
    link: &'a str,
    org: &'a str,
    inviter: &'a str,
    role: &'a str,
    days: i64,
}

#[derive(Template)]
#[template(path = "email/invite.html")]
struct InviteHtml<'a> {
    instance: &'a str,
    base: &'a str,
    to: &'a str,
    link: &'a str,
    org: &'a str,
    inviter: &'a str,
    role: &'a str,
    days: i64,
}

/// The fields of a job notification (`service::notify`), from the message's detail.
#[derive(Template)]
#[template(path = "email/job.txt")]
struct JobText<'a> {
    instance: &'a str,
    base: &'a str,
    link: &'a str,
    case: &'a str,
    project: &'a str,
    outcome: &'a str,
    reason: Option<&'a str>,
    cd: &'a str,
    cl: &'a str,
    cells: &'a str,
    iterations: &'a str,
    core_hours: &'a str,
}

#[derive(Template)]
#[template(path = "email/job.html")]
struct JobHtml<'a> {
    instance: &'a str,
    base: &'a str,
    link: &'a str,
    case: &'a str,
    project: &'a str,
    outcome: &'a str,
    reason: Option<&'a str>,
    cd: &'a str,
    cl: &'a str,
    cells: &'a str,
    iterations: &'a str,
    core_hours: &'a str,
}

/// Starts the sender when `[email]` is configured.
pub fn spawn(st: AppState) -> Option<tokio::task::JoinHandle<()>> {
    let cfg = st.cfg.email.clone()?;
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = send_due(&st, &cfg).await {
                tracing::warn!(error = %e, "mail outbox");
            }
        }
    }))
}

/// The wait before attempt `attempts + 1`: `base`, doubling, at most an hour.
pub fn backoff_ms(base_s: u64, attempts: i64) -> i64 {
    let base = base_s as i64 * 1000;
    base.saturating_mul(1i64 << attempts.clamp(1, 20).saturating_sub(1)).min(MAX_BACKOFF_MS)
}

/// One round: claims the due messages and sends each; the number sent.
pub async fn send_due(st: &AppState, cfg: &EmailConfig) -> Result<usize, String> {
    let claimed = st.store.mail_claim(now_ms(), LEASE_MS, 20).await.map_err(|e| e.to_string())?;
    let mut sent = 0;
    for m in claimed {
        let result = deliver(st, cfg, &m).await;
        let now = now_ms();
        let stored = match result {
            Ok(()) => {
                sent += 1;
                tracing::info!(kind = %m.kind, id = %m.id, "mail sent");
                st.store.mail_sent(&m.id, now).await
            }
            Err(e) if m.expires_at.is_some_and(|x| x <= now) || now - m.created_at >= GIVE_UP_MS => {
                tracing::warn!(kind = %m.kind, id = %m.id, error = %e, "mail not delivered: held for administrators");
                st.store.mail_hold(&m.id, &e).await
            }
            Err(e) => {
                let wait = backoff_ms(cfg.retry_base_s, m.attempts);
                tracing::warn!(kind = %m.kind, id = %m.id, error = %e, retry_in_s = wait / 1000, "mail not delivered yet");
                st.store.mail_retry(&m.id, now + wait, &e).await
            }
        };
        stored.map_err(|e| e.to_string())?;
    }
    Ok(sent)
}

/// The plain-text and HTML bodies of a message.
fn bodies(st: &AppState, m: &OutboxMail, link: &str) -> Result<(String, String), String> {
    let instance = st.cfg.server.instance_name.as_str();
    let base = super::recovery::base_url(st);
    let (to, base) = (m.to_addr.as_str(), base.as_str());
    let rendered = match m.kind.as_str() {
        "reset" => {
            let minutes = super::recovery::RESET_TTL_MS / 60_000;
            (ResetText { instance, base, to, link, minutes }.render(), ResetHtml { instance, base, to, link, minutes }.render())
        }
        "verify" => {
            let hours = super::recovery::VERIFY_TTL_MS / 3_600_000;
            (VerifyText { instance, base, to, link, hours }.render(), VerifyHtml { instance, base, to, link, hours }.render())
        }
        "invite" => {
            let d = detail(m)?;
            let field = |k: &str| d[k].as_str().unwrap_or_default().to_string();
            let (org, inviter, role) = (field("org"), field("inviter"), field("role"));
            let (org, inviter, role) = (org.as_str(), inviter.as_str(), role.as_str());
            let days = super::invitations::INVITATION_TTL_MS / 86_400_000;
            (
                InviteText { instance, base, to, link, org, inviter, role, days }.render(),
                InviteHtml { instance, base, to, link, org, inviter, role, days }.render(),
            )
        }
        "job" => {
            let d = detail(m)?;
            let f = |k: &str| d[k].as_str().unwrap_or("—");
            let (case, project, outcome, reason) = (f("case"), f("project"), f("outcome"), d["reason"].as_str());
            let (cd, cl, cells, iterations, core_hours) = (f("cd"), f("cl"), f("cells"), f("iterations"), f("core_hours"));
            (
                JobText { instance, base, link, case, project, outcome, reason, cd, cl, cells, iterations, core_hours }
                    .render(),
                JobHtml { instance, base, link, case, project, outcome, reason, cd, cl, cells, iterations, core_hours }
                    .render(),
            )
        }
        other => return Err(format!("no template for mail of kind {other:?}")),
    };
    match rendered {
        (Ok(text), Ok(html)) => Ok((text, html)),
        (Err(e), _) | (_, Err(e)) => Err(e.to_string()),
    }
}

/// What else a message's text needs (its JSON detail).
fn detail(m: &OutboxMail) -> Result<serde_json::Value, String> {
    serde_json::from_str(m.detail.as_deref().unwrap_or("{}")).map_err(|e| format!("the {} message's detail: {e}", m.kind))
}

/// The SMTP transport for `t`.
pub fn transport(t: &SmtpTarget, hello: &str) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let tls = |host: &str| TlsParameters::new(host.to_string()).map_err(|e| format!("TLS set-up for {host}: {e}"));
    let mode = match t.tls {
        SmtpTls::None => Tls::None,
        SmtpTls::StartTls => Tls::Required(tls(&t.host)?),
        SmtpTls::Implicit => Tls::Wrapper(tls(&t.host)?),
    };
    let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&t.host)
        .port(t.port)
        .tls(mode)
        .hello_name(ClientId::Domain(hello.to_string()))
        .timeout(Some(Duration::from_secs(20)));
    if let Some((user, password)) = &t.credentials {
        b = b.credentials(Credentials::new(user.clone(), password.clone()));
    }
    Ok(b.build())
}

/// Renders and sends one message.
async fn deliver(st: &AppState, cfg: &EmailConfig, m: &OutboxMail) -> Result<(), String> {
    let sealed = m.link_sealed.as_deref().ok_or("the message has no link")?;
    let link = st.keys.unseal(sealed).map_err(|e| format!("the link cannot be read: {e}"))?;
    let link = String::from_utf8_lossy(&link).into_owned();
    let (text, html) = bodies(st, m, &link)?;
    let from: Mailbox = cfg.from.parse().map_err(|e| format!("email.from: {e}"))?;
    let to: Mailbox = m.to_addr.parse().map_err(|e| format!("recipient {}: {e}", m.to_addr))?;
    let message = Message::builder()
        .from(from)
        .to(to)
        .subject(m.subject.as_str())
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| format!("building the message: {e}"))?;
    let target = cfg.target()?;
    let base = super::recovery::base_url(st);
    let hello = url::Url::parse(&base).ok().and_then(|u| u.host_str().map(str::to_string));
    let transport = transport(&target, hello.as_deref().unwrap_or("localhost"))?;
    transport.send(message).await.map(|_| ()).map_err(|e| format!("SMTP {}:{}: {e}", target.host, target.port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_from_the_base_up_to_an_hour() {
        assert_eq!(backoff_ms(30, 1), 30_000);
        assert_eq!(backoff_ms(30, 2), 60_000);
        assert_eq!(backoff_ms(30, 3), 120_000);
        assert_eq!(backoff_ms(30, 12), 3_600_000);
        assert_eq!(backoff_ms(1, 0), 1_000);
        assert_eq!(backoff_ms(3600, 60), 3_600_000);
    }
}
