//! The API described as OpenAPI 3.1, generated from the handlers' own types.
//!
//! Each handler carries `#[utoipa::path(...)]` (method, path, parameters, request body,
//! responses; its doc comment is the summary) and is routed with `routes!(handler)` of
//! utoipa-axum, so the router and the document come from one list (`super::router`).
//! This module adds what every operation shares ([`finish`]): the security schemes and
//! the problem+json answer to every 4XX and 5XX. `GET /api/openapi.json` serves the
//! document and `GET /api/docs` renders it for people (`super::docs`).
use crate::state::AppState;
use axum::Json;
use serde::Serialize;
use std::sync::LazyLock;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, Ref, RefOr, ResponseBuilder};
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The document's frame: title, global security, shared schemas and the tags (the
/// reference's sections, in this order).
#[derive(OpenApi)]
#[openapi(
    info(title = "FlowCFD API", description = "CAD surface to converged, post-processed OpenFOAM simulation. \
        Errors are application/problem+json (RFC 9457) whose `detail` says what to fix."),
    security(("bearer" = []), ("session" = [])),
    components(schemas(Problem)),
    tags(
        (name = "auth", description = "Accounts, sign-in, tokens"),
        (name = "projects", description = "Projects and their geometries and cases"),
        (name = "geometries", description = "Uploaded surfaces, their analysis and mesh suggestions"),
        (name = "jobs", description = "Runs of a case: queue, progress, logs, results"),
        (name = "post", description = "A job's results for the viewer, and saved views"),
        (name = "orgs", description = "Organizations, members, invitations"),
        (name = "billing", description = "Plans, usage and Stripe"),
        (name = "admin", description = "Server administration (administrators only)"),
        (name = "validation", description = "The validation suite"),
        (name = "meta", description = "This document, its reference and health checks"),
    )
)]
pub struct ApiDoc;

/// An error (RFC 9457 problem details). A plan's limits add members such as `limit`,
/// `plan` and `upgrade_url`.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // a schema only: `crate::error::Problem` is what is sent
pub struct Problem {
    /// `about:blank`.
    #[serde(rename = "type")]
    kind: String,
    /// The status's reason phrase.
    title: String,
    /// The HTTP status.
    status: u16,
    /// What went wrong, and what to fix.
    detail: String,
}

/// The shared parts of every operation: the security schemes (bearer, session cookie)
/// and a problem+json response for every 4XX and 5XX the operation does not name itself.
pub fn finish(mut doc: Document) -> Document {
    let c = doc.components.get_or_insert_with(Default::default);
    c.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("access token (JWT) or API token (fcfd_…)"))
                .build(),
        ),
    );
    c.add_security_scheme(
        "session",
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            "flowcfd_session",
            "browser session; changes also need the X-CSRF-Token header",
        ))),
    );
    let problem = |what: &str| {
        ResponseBuilder::new()
            .description(what)
            .content(
                "application/problem+json",
                ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build(),
            )
            .build()
    };
    c.responses.insert("ClientError".into(), RefOr::T(problem("a mistake in the request; `detail` says what to fix")));
    c.responses.insert("ServerError".into(), RefOr::T(problem("the server or a service it needs failed")));
    for item in doc.paths.paths.values_mut() {
        let ops = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for op in ops.into_iter().flatten() {
            let r = &mut op.responses.responses;
            r.entry("4XX".into()).or_insert_with(|| RefOr::Ref(Ref::from_response_name("ClientError")));
            r.entry("5XX".into()).or_insert_with(|| RefOr::Ref(Ref::from_response_name("ServerError")));
        }
    }
    doc
}

/// The document, made once.
pub static DOCUMENT: LazyLock<Document> = LazyLock::new(super::document);

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "meta", security(()),
    responses((status = 200, description = "OpenAPI 3.1", content_type = "application/json", body = Object)))]
async fn openapi_json() -> Json<&'static Document> {
    Json(&DOCUMENT)
}

/// `/api/openapi.json`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(openapi_json))
}
