//! Server-rendered pages (Askama): sign-in, registration, projects, a project with its
//! geometries, administration. Forms carry a CSRF token; the session is an HttpOnly cookie.
use crate::api::extract::{cookie, ClientIp};
use crate::app::AppState;
use crate::auth::oidc::{Provider, STATE_COOKIE};
use crate::auth::{random_b64, SESSION_COOKIE};
use crate::error::AppError;
use crate::service::{accounts, projects, Caller, Via};
use crate::store::{AuditEntry, User};
use askama::Template;
use axum::extract::multipart::Multipart;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

mod workflow;

/// Pre-session CSRF cookie for the sign-in and registration forms (double submit).
const PRE_COOKIE: &str = "flowcfd_pre";

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

fn cookie_header(st: &AppState, name: &str, value: &str, max_age: i64) -> String {
    let secure = if st.cfg.tls() { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")
}

fn session_response(st: &AppState, token: &str, to: &str) -> Response {
    let mut r = Redirect::to(to).into_response();
    let c = cookie_header(st, SESSION_COOKIE, token, st.cfg.auth.refresh_ttl_s as i64);
    r.headers_mut().append(header::SET_COOKIE, c.parse().expect("cookie header"));
    r.headers_mut().append(header::SET_COOKIE, cookie_header(st, PRE_COOKIE, "", 0).parse().expect("cookie"));
    r
}

fn providers(st: &AppState) -> Vec<(String, String)> {
    st.cfg
        .auth
        .providers
        .iter()
        .map(|p| {
            let label = p.label.clone().unwrap_or_else(|| match p.kind.as_str() {
                "github" => "GitHub".into(),
                "google" => "Google".into(),
                _ => p.name.clone(),
            });
            (p.name.clone(), label)
        })
        .collect()
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    csrf: String,
    email: String,
    error: Option<String>,
    providers: Vec<(String, String)>,
    registration_open: bool,
}

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage {
    csrf: String,
    name: String,
    email: String,
    error: Option<String>,
    registration_open: bool,
}

/// Renders a public form page with a fresh pre-session CSRF cookie.
fn with_pre(st: &AppState, status: StatusCode, pre: String, page: Response) -> Response {
    let mut r = page;
    *r.status_mut() = status;
    r.headers_mut().append(header::SET_COOKIE, cookie_header(st, PRE_COOKIE, &pre, 3600).parse().expect("cookie"));
    r
}

async fn login_page(State(st): State<AppState>) -> PageResult {
    let pre = random_b64(18);
    let page = LoginPage {
        csrf: pre.clone(),
        email: String::new(),
        error: None,
        providers: providers(&st),
        registration_open: accounts::registration_open(&st).await?,
    };
    Ok(with_pre(&st, StatusCode::OK, pre, render(StatusCode::OK, page)))
}

#[derive(Deserialize)]
struct LoginForm {
    csrf: String,
    email: String,
    password: String,
}

fn pre_ok(headers: &HeaderMap, given: &str) -> bool {
    cookie(headers, PRE_COOKIE).is_some_and(|c| !c.is_empty() && c == given)
}

async fn login_submit(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> PageResult {
    let again = |st: &AppState, status: StatusCode, msg: String, open: bool| {
        let pre = random_b64(18);
        let page = LoginPage {
            csrf: pre.clone(),
            email: f.email.clone(),
            error: Some(msg),
            providers: providers(st),
            registration_open: open,
        };
        with_pre(st, status, pre, render(status, page))
    };
    let open = accounts::registration_open(&st).await?;
    if !pre_ok(&headers, &f.csrf) {
        return Ok(again(&st, StatusCode::FORBIDDEN, "The form expired; please sign in again.".into(), open));
    }
    if let Err(e) = crate::api::auth_limit(&st, ip.as_deref(), "login") {
        return Ok(again(&st, e.status(), e.public_detail(), open));
    }
    match accounts::login(&st, &f.email, &f.password, ip.as_deref()).await {
        Ok(u) => {
            let token = accounts::start_session(&st, &u).await?;
            Ok(session_response(&st, &token, "/"))
        }
        Err(e @ (AppError::Unauthorized(_) | AppError::Forbidden(_))) => {
            Ok(again(&st, e.status(), e.public_detail(), open))
        }
        Err(e) => Err(e.into()),
    }
}

async fn register_page(State(st): State<AppState>) -> PageResult {
    let pre = random_b64(18);
    let page = RegisterPage {
        csrf: pre.clone(),
        name: String::new(),
        email: String::new(),
        error: None,
        registration_open: accounts::registration_open(&st).await?,
    };
    Ok(with_pre(&st, StatusCode::OK, pre, render(StatusCode::OK, page)))
}

#[derive(Deserialize)]
struct RegisterForm {
    csrf: String,
    name: String,
    email: String,
    password: String,
}

async fn register_submit(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(f): Form<RegisterForm>,
) -> PageResult {
    let open = accounts::registration_open(&st).await?;
    let again = |st: &AppState, status: StatusCode, msg: String| {
        let pre = random_b64(18);
        let page = RegisterPage {
            csrf: pre.clone(),
            name: f.name.clone(),
            email: f.email.clone(),
            error: Some(msg),
            registration_open: open,
        };
        with_pre(st, status, pre, render(status, page))
    };
    if !pre_ok(&headers, &f.csrf) {
        return Ok(again(&st, StatusCode::FORBIDDEN, "The form expired; please submit it again.".into()));
    }
    if let Err(e) = crate::api::auth_limit(&st, ip.as_deref(), "register") {
        return Ok(again(&st, e.status(), e.public_detail()));
    }
    match accounts::register(&st, &f.email, &f.password, &f.name, ip.as_deref()).await {
        Ok(u) => {
            let token = accounts::start_session(&st, &u).await?;
            Ok(session_response(&st, &token, "/"))
        }
        Err(e) if e.status().is_client_error() => Ok(again(&st, e.status(), e.public_detail())),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout(State(st): State<AppState>, pu: PageUser, Form(f): Form<CsrfForm>) -> PageResult {
    pu.check(&st, &f.csrf)?;
    accounts::end_session(&st, &pu.session).await?;
    let mut r = Redirect::to("/login").into_response();
    r.headers_mut().append(header::SET_COOKIE, cookie_header(&st, SESSION_COOKIE, "", 0).parse().expect("cookie"));
    Ok(r)
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
    let orgs = orgs.iter().filter(|o| o.role.can_write()).map(|o| (o.id.clone(), o.name.clone())).collect();
    Ok(render(status, DashboardPage { user: pu.user.clone(), csrf: pu.csrf.clone(), projects, orgs, error }))
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
    status: String,
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
    let page = ProjectPage {
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
    let first = mp.next_field().await.map_err(crate::api::geometries_multipart_error)?;
    let csrf = match first {
        Some(f) if f.name() == Some("csrf") => f.text().await.map_err(crate::api::geometries_multipart_error)?,
        _ => String::new(),
    };
    pu.check(&st, &csrf)?;
    match crate::api::upload_multipart(&st, &pu.caller(), &id, 1.0, mp).await {
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
    error: Option<String>,
}

async fn admin_page(st: &AppState, pu: &PageUser, error: Option<String>, status: StatusCode) -> PageResult {
    if !pu.user.is_admin {
        return Err(AppError::Forbidden("only server administrators can open this page".into()).into());
    }
    let page = AdminPage {
        user: pu.user.clone(),
        csrf: pu.csrf.clone(),
        registration_open: accounts::registration_open(st).await?,
        users: st.store.list_users().await.map_err(AppError::from)?,
        audit: st.store.audit_log(100).await.map_err(AppError::from)?,
        error,
    };
    Ok(render(status, page))
}

async fn admin(State(st): State<AppState>, pu: PageUser) -> PageResult {
    admin_page(&st, &pu, None, StatusCode::OK).await
}

#[derive(Deserialize)]
struct SettingsForm {
    csrf: String,
    registration_open: bool,
}

async fn admin_settings(State(st): State<AppState>, pu: PageUser, Form(f): Form<SettingsForm>) -> PageResult {
    pu.check(&st, &f.csrf)?;
    if !pu.user.is_admin {
        return Err(AppError::Forbidden("only server administrators can change settings".into()).into());
    }
    let v = if f.registration_open { "true" } else { "false" };
    st.store.put_setting(accounts::REGISTRATION_OPEN, v).await.map_err(AppError::from)?;
    st.store
        .audit(
            Some(&pu.user.id),
            "admin.registration",
            None,
            &serde_json::json!({"open": f.registration_open}).to_string(),
            None,
        )
        .await
        .map_err(AppError::from)?;
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

fn redirect_uri(st: &AppState, headers: &HeaderMap, name: &str) -> String {
    let base = st.cfg.public_url.clone().unwrap_or_else(|| {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
        format!("http://{host}")
    });
    format!("{}/auth/oidc/{name}/callback", base.trim_end_matches('/'))
}

async fn provider(st: &AppState, name: &str) -> Result<Provider, PageError> {
    let cfg = st.cfg.auth.providers.iter().find(|p| p.name == name).ok_or(AppError::NotFound("sign-in provider"))?;
    Provider::resolve(cfg).await.map_err(|e| PageError(AppError::Unavailable(e.to_string())))
}

async fn oidc_login(State(st): State<AppState>, headers: HeaderMap, Path(name): Path<String>) -> PageResult {
    let p = provider(&st, &name).await?;
    let (url, state_cookie) = p.begin(&st.keys, &redirect_uri(&st, &headers, &name));
    let mut r = Redirect::to(&url).into_response();
    r.headers_mut()
        .append(header::SET_COOKIE, cookie_header(&st, STATE_COOKIE, &state_cookie, 600).parse().expect("cookie"));
    Ok(r)
}

#[derive(Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

async fn oidc_callback(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(q): Query<Callback>,
) -> PageResult {
    if let Some(e) = q.error {
        let msg = format!("the sign-in provider said: {}", q.error_description.unwrap_or(e));
        return Err(AppError::Unauthorized(msg).into());
    }
    let (Some(code), Some(state)) = (q.code, q.state) else {
        return Err(
            AppError::BadRequest("the provider's answer has no code or state; start the sign-in again".into()).into()
        );
    };
    let p = provider(&st, &name).await?;
    let id = p
        .finish(&st.keys, cookie(&headers, STATE_COOKIE), &state, &code, &redirect_uri(&st, &headers, &name))
        .await
        .map_err(|e| PageError(AppError::Unauthorized(e.to_string())))?;
    let user = accounts::sso_user(&st, &name, &id).await?;
    let token = accounts::start_session(&st, &user).await?;
    let mut r = session_response(&st, &token, "/");
    r.headers_mut().append(header::SET_COOKIE, cookie_header(&st, STATE_COOKIE, "", 0).parse().expect("cookie"));
    Ok(r)
}

/// Page routes.
pub fn routes(upload_limit: usize) -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard))
        .route("/geometries/{id}", get(workflow::geometry))
        .route("/jobs/{id}", get(workflow::job))
        .route("/jobs/{id}/cancel", post(workflow::cancel))
        .route("/login", get(login_page).post(login_submit))
        .route("/register", get(register_page).post(register_submit))
        .route("/logout", post(logout))
        .route("/projects", post(create_project))
        .route("/projects/{id}", get(project))
        .route("/projects/{id}/geometries", post(upload).layer(DefaultBodyLimit::max(upload_limit)))
        .route("/admin", get(admin))
        .route("/admin/settings", post(admin_settings))
        .route("/admin/users/{id}", post(admin_user))
        .route("/auth/oidc/{name}/login", get(oidc_login))
        .route("/auth/oidc/{name}/callback", get(oidc_callback))
}
