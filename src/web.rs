//! Static assets embedded in the binary (rust-embed), with their MIME type, an ETag and
//! cache headers:
//! - `web/static/*` under `/static/`: hand-written CSS and the small page script;
//! - `web/dist/*` under `/assets/`: the TypeScript islands bundled by `web/build.mjs`,
//!   with three.js, uPlot and OpenCASCADE's WASM (`vendor/`). No CDN is used at run time.
//!
//! Every file in the folders is served; there is no list to keep up to date. `build.rs`
//! builds `web/dist` (npm ci, then esbuild) when its sources change.
use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use rust_embed::{EmbeddedFile, RustEmbed};

#[derive(RustEmbed)]
#[folder = "web/static/"]
struct Static;

#[derive(RustEmbed)]
#[folder = "web/dist/"]
#[exclude = ".stamp"]
struct Dist;

fn serve(file: Option<EmbeddedFile>, path: &str, headers: &HeaderMap) -> Response {
    let Some(file) = file else {
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
    let mime = mime_guess::from_path(path).first_or_octet_stream();
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

async fn static_asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(Static::get(&path), &path, &headers)
}

/// The policy of the OpenCASCADE worker: emscripten's glue code needs `eval`, which the
/// pages' policy forbids. A worker runs under the policy of its own script, so only this
/// DOM-less worker gets it, never a page.
const OCCT_WORKER_CSP: &str =
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' 'unsafe-eval'; connect-src 'self'; object-src 'none'";

async fn dist_asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    let mut r = serve(Dist::get(&path), &path, &headers);
    if path == "vendor/occt-worker.js" {
        r.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(OCCT_WORKER_CSP));
    }
    r
}

/// `GET /static/{*path}` and `GET /assets/{*path}`.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/static/{*path}", get(static_asset)).route("/assets/{*path}", get(dist_asset))
}
