//! Request extractors shared by the API and the pages: who is calling (bearer token or
//! session cookie, with the CSRF check for cookie sessions), the client address, and JSON
//! bodies whose rejections are problem+json with what to fix.
use crate::auth::SESSION_COOKIE;
use crate::error::AppError;
use crate::service::{accounts, Caller, Via};
use crate::state::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};
use serde::de::DeserializeOwned;

/// The value of cookie `name` in the request, if any.
pub fn cookie<'a>(parts: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    parts
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
            let v = auth.to_str().map_err(|_| AppError::Unauthorized("the Authorization header is not text".into()))?;
            let token = v
                .strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
                .ok_or_else(|| AppError::Unauthorized("use Authorization: Bearer <token>".into()))?;
            return accounts::bearer(st, token.trim()).await;
        }
        if let Some(token) = cookie(&parts.headers, SESSION_COOKIE) {
            if let Some(user) = accounts::session_user(st, token).await? {
                // A WebSocket handshake is exempt from CORS and carries the cookie: without
                // this check any page could open a socket as the signed-in user.
                if is_websocket(&parts.headers) && !same_origin(&parts.headers, st.cfg.public_url.as_deref()) {
                    return Err(AppError::Forbidden(
                        "a WebSocket signed in with the session cookie must be opened by this site's own pages \
                         (its Origin names another site); scripts send Authorization: Bearer <token> instead"
                            .into(),
                    ));
                }
                let m = &parts.method;
                let unsafe_method = !(m == Method::GET || m == Method::HEAD || m == Method::OPTIONS);
                if unsafe_method {
                    let given = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
                    if !st.keys.csrf_ok(token, given) {
                        return Err(AppError::Forbidden(
                            "missing or wrong X-CSRF-Token header (a cookie session needs it on changes)".into(),
                        ));
                    }
                }
                return Ok(Caller { user, via: Via::Session(token.to_string()) });
            }
        }
        Err(AppError::Unauthorized(
            "sign in first: send Authorization: Bearer <token> (POST /api/auth/login gives one)".into(),
        ))
    }
}

/// Whether the request asks to become a WebSocket.
fn is_websocket(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|p| p.trim().eq_ignore_ascii_case("websocket")))
}

/// Whether the request's `Origin` is this server's own: the `Host` the request was sent to
/// (the rule of Gorilla WebSocket's default `CheckOrigin`), or the origin of `public_url`
/// (for a reverse proxy that rewrites `Host`). A request without `Origin` passes: browsers
/// always send it on WebSocket handshakes, so only non-browser clients omit it.
pub fn same_origin(headers: &HeaderMap, public_url: Option<&str>) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else { return true };
    let Some(origin) = origin.to_str().ok().map(str::trim) else { return false };
    let Some((_, authority)) = origin.split_once("://") else { return false };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default().trim();
    if !authority.is_empty() && authority.eq_ignore_ascii_case(host) {
        return true;
    }
    public_url.is_some_and(|public| {
        // The public URL's origin: its scheme and authority, without any path.
        let path = public.find("://").and_then(|i| public[i + 3..].find('/').map(|j| i + 3 + j));
        origin.eq_ignore_ascii_case(&public[..path.unwrap_or(public.len())])
    })
}

/// The client's address: the connection's peer, or, when the peer is one of
/// `server.trusted_proxies`, the address its forwarding header vouches for (`None` when
/// unknown, never a rejection). Other peers' forwarding headers are ignored, so that a
/// client cannot pick its own rate-limit bucket.
pub struct ClientIp(pub Option<String>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        let Some(peer) = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>() else {
            return Ok(ClientIp(None));
        };
        let server = &st.cfg.server;
        let values =
            |name: &str| parts.headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>();
        let hops = match (server.trusted_proxies.is_empty(), server.forwarded_header.as_str()) {
            (true, _) => Vec::new(),
            (false, "forwarded") => crate::config::parse_forwarded(values("forwarded")),
            (false, _) => crate::config::parse_x_forwarded_for(values("x-forwarded-for")),
        };
        Ok(ClientIp(Some(server.client_ip(peer.0.ip(), hops).to_string())))
    }
}

/// An admin of the whole server.
pub struct AdminCaller(pub Caller);

impl FromRequestParts<AppState> for AdminCaller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        let c = Caller::from_request_parts(parts, st).await?;
        if !c.user.is_admin {
            return Err(AppError::Forbidden("only server administrators can do this".into()));
        }
        Ok(AdminCaller(c))
    }
}

/// A JSON body. Malformed JSON, unknown fields, a wrong content type and oversized bodies
/// are 4xx problems that quote what the parser said. The body is a JSON object: serde
/// would also read a struct from an array (`[null, null]` as its fields in order), which
/// no client means.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
            let essence = v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
            essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
        });
        if !json {
            return Err(json_problem(JsonRejection::MissingJsonContentType(Default::default())));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| json_problem(JsonRejection::BytesRejection(e)))?;
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
            return Err(AppError::Validation("the body is a JSON object ({…}), not an array".into()));
        }
        axum::Json::<T>::from_bytes(&bytes).map(|axum::Json(v)| ApiJson(v)).map_err(json_problem)
    }
}

fn json_problem(r: JsonRejection) -> AppError {
    match r {
        JsonRejection::MissingJsonContentType(_) => {
            AppError::UnsupportedMedia("send the body as JSON with Content-Type: application/json".into())
        }
        JsonRejection::JsonSyntaxError(e) => {
            AppError::BadRequest(format!("the body is not valid JSON: {}", e.body_text()))
        }
        JsonRejection::JsonDataError(e) => AppError::Validation(format!("the JSON does not fit: {}", e.body_text())),
        JsonRejection::BytesRejection(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
            AppError::TooLarge("the request body is larger than limits.max_body_bytes".into())
        }
        other => AppError::BadRequest(other.body_text()),
    }
}

#[cfg(test)]
mod tests {
    use super::same_origin;
    use axum::http::HeaderMap;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("host", host.parse().unwrap());
        if let Some(o) = origin {
            h.insert("origin", o.parse().unwrap());
        }
        h
    }

    #[test]
    fn only_this_servers_origin_is_the_same_origin() {
        assert!(same_origin(&headers(Some("http://127.0.0.1:8080"), "127.0.0.1:8080"), None));
        assert!(same_origin(&headers(Some("https://CFD.example.org"), "cfd.example.org"), None));
        assert!(same_origin(&headers(None, "cfd.example.org"), None), "non-browser clients send no Origin");
        for foreign in ["https://evil.example", "null", "https://cfd.example.org.evil.example", "cfd.example.org"] {
            assert!(!same_origin(&headers(Some(foreign), "cfd.example.org"), None), "{foreign}");
        }
        assert!(!same_origin(&headers(Some("http://cfd.example.org:8081"), "cfd.example.org:8080"), None));
        // Behind a proxy that rewrites Host, the configured public URL names the origin.
        let public = Some("https://cfd.example.org/flowcfd/");
        assert!(same_origin(&headers(Some("https://cfd.example.org"), "10.0.0.5:8080"), public));
        assert!(!same_origin(&headers(Some("http://cfd.example.org"), "10.0.0.5:8080"), public));
        assert!(!same_origin(&headers(Some("https://evil.example"), "10.0.0.5:8080"), public));
    }
}
