//! Server-rendered pages (Askama): sign-in, registration, projects, a project with its
//! geometries, usage and billing, administration. Forms carry a CSRF token; the session is an HttpOnly cookie.
use crate::auth::SESSION_COOKIE;
use crate::error::AppError;
use crate::http::extract::cookie;
use crate::service::{accounts, projects, Caller, Via};
use crate::state::AppState;
use crate::store::{AuditEntry, User};
use askama::Template;
use axum::extract::multipart::Multipart;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

mod invitations;
mod account;
mod org;
mod recovery;
mod sign_in;
mod usage;
mod validation;
mod webhooks;
mod workflow;

fn render<T: Template>(status: StatusCode, t: T) -> Response {
    match t.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => AppError::Internal(format!("template: {e}")).into_response(),
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    title: String,
    detail: String,
}

/// An error shown as a page rather than problem+json.
struct PageError(AppError);

impl From<AppError> for PageError {
    fn from(e: AppError) -> Self {
        PageError(e)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        if status.is_server_error() {
            tracing::error!(error = %self.0, "page failed");
        }
        let title = status.canonical_reason().unwrap_or("Error").to_string();
        render(status, ErrorPage { title, detail: self.0.public_detail() })
    }
}

type PageResult = Result<Response, PageError>;

/// The 404 page for paths outside `/api`.
pub fn not_found() -> Response {
    PageError(AppError::NotFound("page")).into_response()
}

/// The signed-in user of a page, with the session's CSRF token.
struct PageUser {
    user: User,
    session: String,
    csrf: String,
}

impl FromRequestParts<AppState> for PageUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        let to_login = || Redirect::to("/login").into_response();
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else { return Err(to_login()) };
        match accounts::session_user(st, token).await {
            Ok(Some(user)) => Ok(PageUser { user, session: token.to_string(), csrf: st.keys.csrf_token(token) }),
            Ok(None) => Err(to_login()),
            Err(e) => Err(PageError(e).into_response()),
        }
    }
}

impl PageUser {
    fn caller(&self) -> Caller {
        Caller { user: self.user.clone(), via: Via::Session(self.session.clone()) }
    }
    fn check(&self, st: &AppState, csrf: &str) -> Result<(), PageError> {
        if st.keys.csrf_ok(&self.session, csrf) {
            Ok(())
        } else {
            Err(AppError::Forbidden("the form expired or came from another site; reload the page and try again".into())
                .into())
        }
    }
}

fn when(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default()
}

struct ProjectRow {
    id: String,
    name: String,
    description: String,
    org_name: Option<String>,
    role: &'static str,
    updated_at: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    user: User,
    csrf: String,
    projects: Vec<ProjectRow>,
    orgs: Vec<(String, String)>,
    /// Every org the user belongs to, with their role (links to the org pages).
    all_orgs: Vec<(String, String, &'static str)>,
    invitations: Vec<invitations::InvitationRow>,
    /// The address still to verify (mail is configured and its link not yet opened).
    verify_email: Option<String>,
    error: Option<String>,
}

async fn dashboard_page(st: &AppState, pu: &PageUser, error: Option<String>, status: StatusCode) -> PageResult {
    let orgs = st.store.orgs_for(&pu.user.id).await.map_err(AppError::from)?;
    let projects = st
        .store
        .projects(&pu.user.id)
        .await
        .map_err(AppError::from)?
        .into_iter()
        .map(|p| ProjectRow {
            org_name: p.org_id.as_ref().and_then(|o| orgs.iter().find(|x| &x.id == o)).map(|o| o.name.clone()),
            id: p.id,
            name: p.name,
            description: p.description,
            role: p.role.as_str(),
            updated_at: when(p.updated_at),
        })
        .collect();
    let all_orgs = orgs.iter().map(|o| (o.id.clone(), o.name.clone(), o.role.as_str())).collect();
    let orgs = orgs.iter().filter(|o| o.role.can_write()).map(|o| (o.id.clone(), o.name.clone())).collect();
    let invitations = invitations::rows(st, pu).await?;
    let verify_email =
        crate::service::recovery::needs_verification(st, &pu.user).then(|| pu.user.email.clone());
    let page =
        DashboardPage { user: pu.user.clone(), csrf: pu.csrf.clone(), projects, orgs, all_orgs, invitations, verify_email, error };
    Ok(render(status, page))
}

async fn dashboard(State(st): State<AppState>, pu: PageUser) -> PageResult {
    dashboard_page(&st, &pu, None, StatusCode::OK).await
}

#[derive(Deserialize)]
struct NewProjectForm {
    csrf: String,
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    org_id: String,
}

async fn create_project(State(st): State<AppState>, pu: PageUser, Form(f): Form<NewProjectForm>) -> PageResult {
    pu.check(&st, &f.csrf)?;
    let org = Some(f.org_id.as_str()).filter(|o| !o.is_empty());
    match projects::create(&st, &pu.caller(), &f.name, &f.description, org).await {
        Ok(p) => Ok(Redirect::to(&format!("/projects/{}", p.id)).into_response()),
        Err(e) if e.status().is_client_error() => dashboard_page(&st, &pu, Some(e.public_detail()), e.status()).await,
        Err(e) => Err(e.into()),
    }
}

struct GeoRow {
    id: String,
    name: String,
    status: crate::store::GeometryStatus,
    error: Option<String>,
    triangles: String,
    groups: String,
    area: String,
    size: String,
}

struct JobRow {
    id: String,
    case_name: String,
    status: &'static str,
    kind: &'static str,
    executor: String,
    progress: String,
    created_at: i64,
}

struct ProjectView {
    id: String,
    name: String,
    description: String,
    role: &'static str,
}

#[derive(Template)]
#[template(path = "project.html")]
struct ProjectPage {
    user: User,
    csrf: String,
    project: ProjectView,
    geometries: Vec<GeoRow>,
    jobs: Vec<JobRow>,
    can_write: bool,
    /// The project's webhooks with their latest deliveries (editors and up).
    hooks: Vec<webhooks::HookRow>,
    notice: Option<String>,
    error: Option<String>,
}

fn human_bytes(n: i64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1} GiB", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

async fn project_page(st: &AppState, pu: &PageUser, id: &str, error: Option<String>, status: StatusCode) -> PageResult {
    project_page_with(st, pu, id, error, None, status).await
}

/// The project page, with a notice (a new webhook's secret, shown once).
async fn project_page_with(
    st: &AppState,
    pu: &PageUser,
    id: &str,
    error: Option<String>,
    notice: Option<String>,
    status: StatusCode,
) -> PageResult {
    let p = projects::get(st, &pu.caller(), id, false).await?;
    let geometries = st
        .store
        .geometries(&p.id)
        .await
        .map_err(AppError::from)?
        .into_iter()
        .map(|g| {
            let groups: Vec<serde_json::Value> = serde_json::from_str(&g.surface_groups).unwrap_or_default();
            GeoRow {
                id: g.id,
                name: g.name,
                status: g.status,
                error: g.error_message,
                triangles: g.triangle_count.map(|n| n.to_string()).unwrap_or_default(),
                groups: groups
                    .iter()
                    .filter_map(|x| x.get("name").and_then(|n| n.as_str()))
                    .collect::<Vec<_>>()
                    .join(", "),
                area: g.surface_area.map(|a| format!("{a:.4}")).unwrap_or_default(),
                size: human_bytes(g.original_bytes),
            }
        })
        .collect();
    let cases = st.store.cases(&p.id).await.map_err(AppError::from)?;
    let mut jobs: Vec<JobRow> = st
        .store
        .project_jobs(&p.id)
        .await
        .map_err(AppError::from)?
        .into_iter()
        .map(|j| {
            let case = cases.iter().find(|c| c.id == j.case_id);
            let spec: Option<crate::foam::spec::CaseSpec> = case.and_then(|c| serde_json::from_str(&c.spec).ok());
            let mesh_only = spec.as_ref().is_some_and(|s| s.mesh_only);
            let progress = match (mesh_only, &spec) {
                // A transient run's progress key is its simulated time in µs.
                (false, Some(s)) if j.iteration > 0 && crate::foam::transient::is_transient(s) => {
                    format!("t = {} / {} s", j.iteration as f64 * 1e-6, s.solver.end_time.unwrap_or(1.0))
                }
                (false, Some(s)) if j.iteration > 0 => format!("{} / {} iterations", j.iteration, s.solver.iterations),
                _ => j.log_step.clone().or(j.step.clone()).unwrap_or_default(),
            };
            JobRow {
                id: j.id,
                case_name: case.map(|c| c.name.clone()).unwrap_or_default(),
                status: j.status.as_str(),
                kind: if mesh_only { "mesh only" } else { "mesh and solve" },
                executor: j.executor,
                progress,
                created_at: j.created_at,
            }
        })
        .collect();
    jobs.sort_by_key(|j| std::cmp::Reverse(j.created_at));
    let hooks = if p.role.can_write() { webhooks::rows(st, pu, &p.id).await? } else { Vec::new() };
    let page = ProjectPage {
        hooks,
        notice,
        user: pu.user.clone(),
        csrf: pu.csrf.clone(),
        jobs,
        can_write: p.role.can_write(),
        project: ProjectView { id: p.id, name: p.name, description: p.description, role: p.role.as_str() },
        geometries,
        error,
    };
    Ok(render(status, page))
}

async fn project(State(st): State<AppState>, pu: PageUser, Path(id): Path<String>) -> PageResult {
    project_page(&st, &pu, &id, None, StatusCode::OK).await
}

async fn upload(State(st): State<AppState>, pu: PageUser, Path(id): Path<String>, mut mp: Multipart) -> PageResult {
    // The CSRF field comes first in the form, before the (possibly large) file.
    let first = mp.next_field().await.map_err(crate::http::upload::multipart_error)?;
    let csrf = match first {
        Some(f) if f.name() == Some("csrf") => f.text().await.map_err(crate::http::upload::multipart_error)?,
        _ => String::new(),
    };
    pu.check(&st, &csrf)?;
    match crate::http::upload::upload_multipart(&st, &pu.caller(), &id, 1.0, mp).await {
        Ok(_) => Ok(Redirect::to(&format!("/projects/{id}")).into_response()),
        Err(e) if e.status().is_client_error() && e.status() != StatusCode::NOT_FOUND => {
            project_page(&st, &pu, &id, Some(e.public_detail()), e.status()).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    user: User,
    csrf: String,
    registration_open: bool,
    users: Vec<User>,
    audit: Vec<AuditEntry>,
    /// Reset links waiting to be passed on (no mail delivery is configured).
    held: Vec<crate::service::recovery::HeldLink>,
    /// The executors, with their health when it was asked for (`?check=clusters`).
    clusters: Vec<crate::service::jobs::ExecutorInfo>,
    health: Option<Vec<crate::service::admin::ClusterHealth>>,
    /// Every tenant's jobs under the filter.
    jobs: Vec<crate::store::AdminJob>,
    filter: AdminQuery,
    error: Option<String>,
}

/// The administration page's query: the job filter, and whether to check the executors.
#[derive(Debug, Clone, Default, Deserialize)]
struct AdminQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    executor: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    check: String,
}

async fn admin_page(st: &AppState, pu: &PageUser, error: Option<String>, status: StatusCode) -> PageResult {
    admin_page_with(st, pu, AdminQuery::default(), error, status).await
}

async fn admin_page_with(st: &AppState, pu: &PageUser, q: AdminQuery, error: Option<String>, status: StatusCode) -> PageResult {
    if !pu.user.is_admin {
        return Err(AppError::Forbidden("only server administrators can open this page".into()).into());
    }
    let page = AdminPage {
        user: pu.user.clone(),
        csrf: pu.csrf.clone(),
        registration_open: accounts::registration_open(st).await?,
        users: st.store.list_users().await.map_err(AppError::from)?,
        audit: st.store.audit_log(100).await.map_err(AppError::from)?,
        held: crate::service::recovery::held_links(st, &pu.caller()).await?,
        clusters: crate::service::jobs::executors(st),
        health: if q.check == "clusters" { Some(crate::service::admin::clusters(st, &pu.caller()).await?) } else { None },
        jobs: {
            let some = |s: &str| Some(s.to_string()).filter(|s| !s.trim().is_empty());
            let f = crate::store::JobFilter { status: some(&q.status), executor: some(&q.executor), user: some(&q.user) };
            crate::service::admin::jobs(st, &pu.caller(), &f).await?
        },
        filter: q,
        error,
    };
    Ok(render(status, page))
}

async fn admin(State(st): State<AppState>, pu: PageUser, Query(q): Query<AdminQuery>) -> PageResult {
    admin_page_with(&st, &pu, q, None, StatusCode::OK).await
}

#[derive(Deserialize)]
struct SettingsForm {
    csrf: String,
    registration_open: bool,
}

async fn admin_settings(State(st): State<AppState>, pu: PageUser, Form(f): Form<SettingsForm>) -> PageResult {
    pu.check(&st, &f.csrf)?;
    accounts::set_registration_open(&st, &pu.caller(), f.registration_open).await?;
    Ok(Redirect::to("/admin").into_response())
}

#[derive(Deserialize)]
struct UserForm {
    csrf: String,
    action: String,
}

async fn admin_user(
    State(st): State<AppState>,
    pu: PageUser,
    Path(id): Path<String>,
    Form(f): Form<UserForm>,
) -> PageResult {
    pu.check(&st, &f.csrf)?;
    if !pu.user.is_admin {
        return Err(AppError::Forbidden("only server administrators can change users".into()).into());
    }
    if f.action == "reset-link" {
        let Some(target) = st.store.user(&id).await.map_err(AppError::from)? else {
            return Err(AppError::NotFound("user").into());
        };
        let made = crate::service::recovery::reset_link(&st, Some(pu.user.id.as_str()), &target.email).await?;
        if made.is_none() {
            let msg = format!("{} signs in through a provider and has no password to reset", target.email);
            return admin_page(&st, &pu, Some(msg), StatusCode::BAD_REQUEST).await;
        }
        return Ok(Redirect::to("/admin#held-links").into_response());
    }
    let (a, d) = match f.action.as_str() {
        "make-admin" => (Some(true), None),
        "revoke-admin" => (Some(false), None),
        "disable" => (None, Some(true)),
        "enable" => (None, Some(false)),
        other => return Err(AppError::BadRequest(format!("unknown action {other:?}")).into()),
    };
    match accounts::set_user_flags(&st, &pu.caller(), &id, a, d).await {
        Ok(_) => Ok(Redirect::to("/admin").into_response()),
        Err(e) if e.status().is_client_error() => admin_page(&st, &pu, Some(e.public_detail()), e.status()).await,
        Err(e) => Err(e.into()),
    }
}

/// Page routes.
pub fn routes(upload_limit: usize) -> Router<AppState> {
    Router::new()
        .merge(sign_in::routes())
        .merge(recovery::routes())
        .route("/", get(dashboard))
        .route("/geometries/{id}", get(workflow::geometry))
        .route("/jobs/{id}", get(workflow::job))
        .route("/jobs/{id}/cancel", post(workflow::cancel))
        .route("/projects", post(create_project))
        .route("/projects/{id}", get(project))
        .route("/projects/{id}/geometries", post(upload).layer(DefaultBodyLimit::max(upload_limit)))
        .merge(invitations::routes())
        .merge(account::routes())
        .merge(org::routes())
        .merge(webhooks::routes())
        .merge(usage::routes())
        .merge(validation::routes())
        .route("/admin", get(admin))
        .route("/admin/settings", post(admin_settings))
        .route("/admin/users/{id}", post(admin_user))
}
