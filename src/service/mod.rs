//! What the API and the pages do, written once: accounts, projects and orgs, geometries.
//! Handlers parse and render; these functions authorise and act.
pub mod account;
pub mod admin;
pub mod accounts;
pub mod billing;
pub mod billing_report;
pub mod cases;
pub mod geometries;
pub mod healed;
pub mod invitations;
pub mod jobs;
pub mod limits;
pub mod login_backoff;
pub mod mail;
pub mod notify;
pub mod org_logo;
pub mod plans;
pub mod post;
pub mod projects;
pub mod recovery;
pub mod report;
pub mod usage;
pub mod usage_text;
pub mod validation;
pub mod webhooks;

use crate::store::User;

/// How a request proved who it is.
#[derive(Debug, Clone)]
pub enum Via {
    /// `Authorization: Bearer <JWT access token>`.
    Access,
    /// `Authorization: Bearer fcfd_…` (API token).
    ApiToken,
    /// The browser session cookie (its token, for CSRF checks).
    Session(String),
}

/// The signed-in user behind a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    pub via: Via,
}

impl Caller {
    /// The caller's user id.
    pub fn id(&self) -> &str {
        &self.user.id
    }
}
