//! Static assets embedded in the binary (rust-embed): `web/static/*` under `/static/`,
//! with their MIME type, an ETag and cache headers. Every file in the folder is served;
//! there is no list to keep up to date.
use crate::app::AppState;
use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "web/static/"]
struct Static;

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    let Some(file) = Static::get(&path) else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    let etag =
        format!("\"{}\"", file.metadata.sha256_hash().iter().take(12).map(|b| format!("{b:02x}")).collect::<String>());
    let cache = HeaderValue::from_static("public, max-age=300, must-revalidate");
    if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        return (
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag), (header::CACHE_CONTROL, cache.to_str().unwrap().into())],
        )
            .into_response();
    }
    let mime = mime_guess::from_path(&path).first_or_octet_stream();
    (
        [
            (header::CONTENT_TYPE, mime.essence_str().to_string()),
            (header::ETAG, etag),
            (header::CACHE_CONTROL, cache.to_str().unwrap().to_string()),
        ],
        file.data.into_owned(),
    )
        .into_response()
}

/// `GET /static/{*path}`.
pub fn routes() -> Router<AppState> {
    Router::new().route("/static/{*path}", get(asset))
}
