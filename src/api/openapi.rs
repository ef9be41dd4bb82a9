//! `GET /api/openapi.json`: the API described as OpenAPI 3.1. Written by hand next to the
//! routes; a test checks that every path listed here is routed.
use crate::state::AppState;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

fn body(schema: Value) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": schema}}})
}

fn obj(props: &[(&str, &str)], required: &[&str]) -> Value {
    let p: serde_json::Map<String, Value> = props.iter().map(|(k, t)| (k.to_string(), json!({"type": t}))).collect();
    json!({"type": "object", "properties": p, "required": required, "additionalProperties": false})
}

fn ok(code: &str, what: &str) -> Value {
    json!({ code: {"description": what}, "4XX": {"description": "problem+json saying what to fix",
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}})
}

/// The document.
pub fn document() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {"title": "FlowCFD API", "version": env!("CARGO_PKG_VERSION")},
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "access token (JWT) or API token (fcfd_…)"},
                "session": {"type": "apiKey", "in": "cookie", "name": "flowcfd_session",
                    "description": "browser session; changes also need the X-CSRF-Token header"}
            },
            "schemas": {
                "Problem": obj(&[("type", "string"), ("title", "string"), ("status", "integer"), ("detail", "string")], &["status", "detail"])
            }
        },
        "security": [{"bearer": []}, {"session": []}],
        "paths": {
            "/api/auth/register": {"post": {"summary": "Create an account (the first becomes admin), then sign in; the same answer whether or not the email already has an account", "security": [],
                "requestBody": body(obj(&[("email", "string"), ("password", "string"), ("name", "string")], &["email", "password", "name"])),
                "responses": ok("202", "{detail}")}},
            "/api/auth/login": {"post": {"summary": "Sign in (429 with Retry-After while the address or the account must wait)", "security": [],
                "requestBody": body(obj(&[("email", "string"), ("password", "string")], &["email", "password"])),
                "responses": ok("200", "{token, refresh_token, token_type, expires_in}")}},
            "/api/auth/refresh": {"post": {"summary": "Rotate a refresh token", "security": [],
                "requestBody": body(obj(&[("refresh_token", "string")], &["refresh_token"])),
                "responses": ok("200", "a new {token, refresh_token}")}},
            "/api/auth/logout": {"post": {"summary": "Revoke a refresh token and its family", "security": [],
                "requestBody": body(obj(&[("refresh_token", "string")], &["refresh_token"])),
                "responses": ok("204", "revoked")}},
            "/api/auth/password-reset": {"post": {"summary": "Ask for a password reset link (the same answer whether or not the email has an account)", "security": [],
                "requestBody": body(obj(&[("email", "string")], &["email"])),
                "responses": ok("202", "{detail}")}},
            "/api/auth/password-reset/confirm": {"post": {"summary": "Set a new password with a reset link's token (works once, for 30 minutes)", "security": [],
                "requestBody": body(obj(&[("token", "string"), ("password", "string")], &["token", "password"])),
                "responses": ok("204", "the password is set; every session and refresh token is revoked")}},
            "/api/auth/verify": {"post": {"summary": "Verify the account's email address with the mailed link's token", "security": [],
                "requestBody": body(obj(&[("token", "string")], &["token"])),
                "responses": ok("204", "verified")}},
            "/api/auth/verify/resend": {"post": {"summary": "Mail a new verification link (one a minute, five a day)",
                "responses": ok("202", "{detail}")}},
            "/api/me": {"get": {"summary": "The caller and their organizations", "responses": ok("200", "{user, orgs}")}},
            "/api/tokens": {
                "get": {"summary": "The caller's API tokens", "responses": ok("200", "list")},
                "post": {"summary": "Create an API token (shown once)", "requestBody": body(obj(&[("name", "string")], &["name"])),
                    "responses": ok("201", "{id, name, prefix, token}")}},
            "/api/tokens/{id}": {"delete": {"summary": "Revoke an API token", "responses": ok("204", "revoked")}},
            "/api/projects": {
                "get": {"summary": "Projects the caller can see", "responses": ok("200", "list")},
                "post": {"summary": "Create a project", "requestBody": body(obj(&[("name", "string"), ("description", "string"), ("org_id", "string")], &["name"])),
                    "responses": ok("201", "the project")}},
            "/api/projects/{id}": {
                "get": {"summary": "A project", "responses": ok("200", "the project")},
                "patch": {"summary": "Rename or re-describe", "requestBody": body(obj(&[("name", "string"), ("description", "string")], &[])),
                    "responses": ok("200", "the project")},
                "delete": {"summary": "Delete with its files (owner or org admin)", "responses": ok("204", "deleted")}},
            "/api/projects/{id}/geometries": {
                "get": {"summary": "The project's geometries", "responses": ok("200", "list")},
                "post": {"summary": "Upload STL/OBJ (multipart field `file`; optional `scale` field or query)",
                    "requestBody": {"required": true, "content": {"multipart/form-data": {"schema": {"type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}, "scale": {"type": "number"}}, "required": ["file"]}}}},
                    "responses": ok("202", "{id, status: pending, …}")}},
            "/api/geometries/{id}": {
                "get": {"summary": "Status, surface_groups [{name, area, triangles}], bounding_box, healing", "responses": ok("200", "the geometry")},
                "delete": {"summary": "Delete a geometry and its files", "responses": ok("204", "deleted")}},
            "/api/geometries/{id}/surface": {"get": {"summary": "Binary surface for the viewer (FCS1: positions, indices, group ids)",
                "responses": ok("200", "application/octet-stream")}},
            "/api/geometries/{id}/original": {"get": {"summary": "The uploaded file (a presigned redirect on S3)", "responses": ok("200", "the file")}},
            "/api/geometries/{id}/retry": {"post": {"summary": "Process a failed geometry again", "responses": ok("202", "the geometry")}},
            "/api/projects/{id}/cases": {
                "get": {"summary": "The project's cases", "responses": ok("200", "list")},
                "post": {"summary": "Create a case: the `flowcfd run` case spec as JSON, with `geometry_id` naming a ready geometry of the project",
                    "requestBody": body(json!({"type": "object", "required": ["geometry_id", "flow"]})),
                    "responses": ok("201", "{id, project_id, geometry_id, name, spec (defaults filled in), created_at}")}},
            "/api/cases/{id}": {"get": {"summary": "A case with its full spec", "responses": ok("200", "the case")}},
            "/api/cases/{id}/jobs": {"post": {"summary": "Queue a run of the case",
                "requestBody": body(json!({"type": "object", "required": ["executor"], "properties": {"executor": {"type": "string"}, "cores": {"type": "integer"}}})),
                "responses": ok("201", "{id, status}")}},
            "/api/jobs": {"get": {"summary": "Jobs of a project: ?project=ID", "responses": ok("200", "list")}},
            "/api/jobs/{id}": {"get": {"summary": "Status, step, iteration, residuals, forces, core_seconds and core_hours (the usage recorded for billing), transitions", "responses": ok("200", "the job")}},
            "/api/jobs/{id}/cancel": {"post": {"summary": "Stop a job and everything it started", "responses": ok("202", "the job")}},
            "/api/jobs/{id}/log": {"get": {"summary": "The run's log (?tail=BYTES: its last whole lines); header x-log-end: its length in bytes", "responses": ok("200", "text")}},
            "/api/jobs/{id}/summary": {"get": {"summary": "The pipeline's summary.json of a completed job", "responses": ok("200", "summary.json")}},
            "/api/jobs/{id}/samples": {"get": {"summary": "Residual and force history, one sample per iteration: ?after=N", "responses": ok("200", "samples")}},
            "/api/jobs/{id}/case.tar.gz": {"get": {"summary": "The exportable OpenFOAM case of an ended job", "responses": ok("200", "application/gzip")}},
            "/api/jobs/{id}/report.pdf": {"get": {"summary": "The PDF report of an ended job (completed, failed, or cancelled with its case kept; 409 before it ends): made on the first request, then served from the object store; header X-Report-Cache: miss|hit; [report] paper and units set its layout", "responses": ok("200", "application/pdf (Content-Disposition: attachment)")}},
            "/api/clusters": {"get": {"summary": "Where jobs can run: local and the configured clusters, with their core limits", "responses": ok("200", "list")}},
            "/api/jobs/{id}/ws": {"get": {"summary": "WebSocket: a snapshot, then live sample, residuals, step, log (bytes offset..end of the log) and status events; ?after=N resumes", "responses": ok("101", "switching protocols")}},
            "/api/orgs": {
                "get": {"summary": "The caller's organizations", "responses": ok("200", "list")},
                "post": {"summary": "Create an organization", "requestBody": body(obj(&[("name", "string"), ("slug", "string")], &["name", "slug"])),
                    "responses": ok("201", "the organization")}},
            "/api/orgs/{id}": {"get": {"summary": "An organization and its members", "responses": ok("200", "{org, members}")}},
            "/api/orgs/{id}/logo": {
                "get": {"summary": "The organization's logo (members)", "responses": ok("200", "image/png")},
                "put": {"summary": "Set the logo printed on the title block of the org's reports (owners and admins): the body is a PNG of at most 512 KB and 4096 pixels a side; anything else is refused with 415 (413 when larger)",
                    "requestBody": {"required": true, "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}}},
                    "responses": ok("200", "{org_id, bytes, width, height}")},
                "delete": {"summary": "Remove the organization's logo (owners and admins)", "responses": ok("204", "removed")}},
            "/api/orgs/{id}/members/{user}": {
                "patch": {"summary": "Change a member's role (admin, member, viewer; owners and admins)",
                    "requestBody": body(obj(&[("role", "string")], &["role"])), "responses": ok("200", "members")},
                "delete": {"summary": "Remove a member", "responses": ok("204", "removed")}},
            "/api/orgs/{id}/invitations": {
                "get": {"summary": "The org's pending invitations (owners and admins)", "responses": ok("200", "list")},
                "post": {"summary": "Invite an email as admin, member or viewer (owners and admins); the same answer whether or not the email has an account",
                    "requestBody": body(obj(&[("email", "string"), ("role", "string")], &["email", "role"])), "responses": ok("202", "{id}")}},
            "/api/orgs/{id}/invitations/{invitation}": {"delete": {"summary": "Withdraw a pending invitation", "responses": ok("204", "withdrawn")}},
            "/api/invitations": {"get": {"summary": "The caller's pending invitations: id, org_id, org_name, org_slug, role, inviter, created_at, expires_at",
                "responses": ok("200", "list")}},
            "/api/invitations/{id}/accept": {"post": {"summary": "Join the org with the invited role (the invitee only)", "responses": ok("200", "the organization")}},
            "/api/invitations/{id}/decline": {"post": {"summary": "Decline an invitation (the invitee only)", "responses": ok("204", "declined")}},
            "/api/usage": {"get": {"summary": "Metered use in a plan period: ?period=YYYY-MM (this month by default; 400 naming the format otherwise), ?org=ID for an org's owner and admins (403 for other members, 404 for others). {period, period_months, subject, plan, plan_title, included_core_hours, credit_core_hours, used_core_hours, remaining_core_hours, overage_core_hours, overage_usd, overage_usd_per_core_hour, by_project [{project_id, name, core_hours}], by_job [{job_id, project_id, project, case_name, executor, cores, status, core_hours}], daily [{date, core_hours}]}",
                "responses": ok("200", "the usage report")}},
            "/api/validation": {
                "get": {"summary": "The latest validation run (null when none): {run, status running|passed|failed|interrupted, started, finished, pass, exit_code, cases [{name, metrics, reference, tolerance, pass, wall_s, plots, plot_urls, error}]}", "responses": ok("200", "the latest run")},
                "post": {"summary": "Start a validation run (server administrators; 403 otherwise): `flowcfd validate` in the background; body optional, {\"cases\": [names]} narrows it (400 for an unknown name); 409 while a run is in progress", "responses": ok("202", "{run, status, cases}")}},
            "/api/validation/{run}/{case}/{file}": {"get": {"summary": "A plot of a run (SVG), as listed in its cases' plot_urls", "responses": ok("200", "image/svg+xml")}},
            "/api/usage.csv": {"get": {"summary": "The same report as CSV: one row per job (job_id, project_id, project, case, executor, cores, status, core_hours), then a total line; same parameters",
                "responses": ok("200", "text/csv, as an attachment named flowcfd-usage-[ORG-]YYYY-MM.csv")}},
            "/api/admin/users": {"get": {"summary": "All users (admins)", "responses": ok("200", "list")}},
            "/api/admin/users/{id}": {"patch": {"summary": "Set is_admin / disabled, and the user's plan, custom quota (core-hours per plan period; null: the plan's) or credit (admins; billing changes are audited)",
                "requestBody": body(obj(&[("is_admin", "boolean"), ("disabled", "boolean"), ("plan", "string"), ("quota_core_hours", "number"), ("credit_core_hours", "number")], &[])), "responses": ok("200", "the user, with billing when it changed")}},
            "/api/admin/orgs/{id}": {"patch": {"summary": "An org's plan, custom quota or credit (admins; audited)",
                "requestBody": body(obj(&[("plan", "string"), ("quota_core_hours", "number"), ("credit_core_hours", "number")], &[])), "responses": ok("200", "{id, billing}")}},
            "/api/billing/plans": {"get": {"summary": "The plans in effect with their limits, the default plan, the provider, and the caller's (or ?org=ID's) current plan",
                "responses": ok("200", "{provider, default_plan, plans, current: {subject, plan}}")}},
            "/api/admin/settings": {
                "get": {"summary": "Server settings (admins)", "responses": ok("200", "{registration_open}")},
                "patch": {"summary": "Open or close registration (admins)", "requestBody": body(obj(&[("registration_open", "boolean")], &[])),
                    "responses": ok("200", "{registration_open}")}},
            "/api/admin/audit": {"get": {"summary": "The latest 200 audit-log entries (admins)", "responses": ok("200", "list")}},
            "/api/billing/checkout": {"post": {"summary": "A Stripe Checkout Session in subscription mode for a plan (for an org: its owners and admins); 400 for a plan without a price, 409 with billing off",
                "requestBody": body(obj(&[("plan", "string"), ("org", "string")], &["plan"])), "responses": ok("200", "{url}")}},
            "/api/billing/portal": {"post": {"summary": "A Stripe Customer Portal session (optional body {org})", "responses": ok("200", "{url}")}},
            "/api/billing/account": {"get": {"summary": "The caller's (or ?org=ID's) plan and subscription", "responses": ok("200", "{subject, provider, plan, subscription_status, past_due_since, grace_until, has_customer}")}},
            "/api/billing/webhook": {"post": {"summary": "Stripe's webhook, authenticated by its Stripe-Signature (400 and no change when it does not verify)", "security": [],
                "responses": ok("200", "{event, outcome}")}},
            "/api/openapi.json": {"get": {"summary": "This document", "security": [], "responses": ok("200", "OpenAPI 3.1")}},
            "/health/live": {"get": {"summary": "The process answers", "security": [], "responses": ok("200", "{status}")}},
            "/health/ready": {"get": {"summary": "Database and blob store answer", "security": [], "responses": ok("200", "{status, database, blobs}")}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "security": [], "responses": ok("200", "text exposition")}}
        }
    })
}

/// `/api/openapi.json`.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/openapi.json", get(|| async { Json(document()) }))
}
