//! Signing in and out: the sign-in and registration forms (with a pre-session CSRF cookie,
//! double submit), the session cookie, and sign-in through OpenID Connect providers.
use super::{render, PageError, PageResult, PageUser};
use crate::auth::oidc::{Provider, STATE_COOKIE};
use crate::auth::{random_b64, SESSION_COOKIE};
use crate::error::AppError;
use crate::http::extract::{cookie, ClientIp};
use crate::service::accounts::{self, Registration};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

/// Pre-session CSRF cookie for the sign-in and registration forms (double submit).
const PRE_COOKIE: &str = "flowcfd_pre";

fn cookie_header(st: &AppState, name: &str, value: &str, max_age: i64) -> String {
    let secure = if st.cfg.tls() { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")
}

pub(super) fn session_response(st: &AppState, token: &str, to: &str) -> Response {
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
pub(super) fn with_pre(st: &AppState, status: StatusCode, pre: String, page: Response) -> Response {
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

pub(super) fn pre_ok(headers: &HeaderMap, given: &str) -> bool {
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
    let login = match crate::http::auth_limit(&st, ip.as_deref(), "login") {
        Ok(()) => accounts::login(&st, &f.email, &f.password, ip.as_deref()).await,
        Err(e) => Err(e),
    };
    match login {
        Ok(u) => {
            let token = accounts::start_session(&st, &u).await?;
            Ok(session_response(&st, &token, "/"))
        }
        Err(
            e @ (AppError::Unauthorized(_)
            | AppError::Forbidden(_)
            | AppError::RateLimited(_)
            | AppError::LoginBackoff(_)),
        ) => {
            let mut r = again(&st, e.status(), e.public_detail(), open);
            if let Some(s) = e.retry_after() {
                r.headers_mut().insert(header::RETRY_AFTER, s.into());
            }
            Ok(r)
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
    if let Err(e) = crate::http::auth_limit(&st, ip.as_deref(), "register") {
        return Ok(again(&st, e.status(), e.public_detail()));
    }
    // Registering then signs in with the same email and password. For an email that already
    // has an account this says what the sign-in form would: in with its password, or
    // "wrong email or password".
    match accounts::register(&st, &f.email, &f.password, &f.name, ip.as_deref()).await {
        Ok(Registration::Created(u) | Registration::Existing { signed_in: Some(u) }) => {
            let token = accounts::start_session(&st, &u).await?;
            Ok(session_response(&st, &token, "/"))
        }
        Ok(Registration::Existing { signed_in: None }) => {
            let pre = random_b64(18);
            let page = LoginPage {
                csrf: pre.clone(),
                email: f.email.trim().to_lowercase(),
                error: Some(
                    "wrong email or password: if you already have an account, sign in with its password".into(),
                ),
                providers: providers(&st),
                registration_open: open,
            };
            Ok(with_pre(&st, StatusCode::UNAUTHORIZED, pre, render(StatusCode::UNAUTHORIZED, page)))
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

/// The sign-in, registration, sign-out and OpenID Connect routes.
pub(super) fn routes() -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/login", get(login_page).post(login_submit))
        .route("/register", get(register_page).post(register_submit))
        .route("/logout", post(logout))
        .route("/auth/oidc/{name}/login", get(oidc_login))
        .route("/auth/oidc/{name}/callback", get(oidc_callback))
}
