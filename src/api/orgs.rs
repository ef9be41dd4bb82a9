//! `/api/orgs` and `/api/invitations`: organizations, their members, and invitations to
//! join them (an invitee accepts before becoming a member), and the org's logo (a PNG for
//! the title block of its reports).
use crate::error::AppError;
use crate::error::AppResult;
use crate::http::extract::ApiJson;
use crate::service::{invitations, org_logo, projects, Caller};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use crate::service::org_logo::LogoView;
use crate::store::{Invitation, InvitationView, Member, Org};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// An organization and its members.
#[derive(Serialize, ToSchema)]
struct OrgWithMembers {
    org: Org,
    members: Vec<Member>,
}

/// A new invitation.
#[derive(Serialize, ToSchema)]
struct Invited {
    id: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewOrg {
    #[schema(min_length = 1, max_length = 120)]
    name: String,
    /// Lower-case letters, digits and dashes.
    slug: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Invite {
    email: String,
    /// `admin`, `member` or `viewer`.
    role: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SetRole {
    /// `admin`, `member` or `viewer`.
    role: String,
}

/// The caller's organizations
#[utoipa::path(get, path = "/api/orgs", tag = "orgs", responses((status = 200, description = "the organizations", body = Vec<Org>)))]
async fn list(State(st): State<AppState>, c: Caller) -> AppResult<Json<Vec<Org>>> {
    Ok(Json(st.store.orgs_for(c.id()).await?))
}

/// Create an organization
#[utoipa::path(post, path = "/api/orgs", tag = "orgs", request_body = NewOrg,
    responses((status = 201, description = "the organization", body = Org)))]
async fn create(State(st): State<AppState>, c: Caller, ApiJson(b): ApiJson<NewOrg>) -> AppResult<impl IntoResponse> {
    Ok((StatusCode::CREATED, Json(projects::create_org(&st, &c, &b.name, &b.slug).await?)))
}

/// An organization and its members
#[utoipa::path(get, path = "/api/orgs/{id}", tag = "orgs", params(("id" = String, Path, description = "the organization")),
    responses((status = 200, description = "the organization", body = OrgWithMembers)))]
async fn show(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<Json<OrgWithMembers>> {
    let o = projects::org(&st, &c, &id, false).await?;
    let members = st.store.members(&o.id).await?;
    Ok(Json(OrgWithMembers { org: o, members }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct OrgRename {
    name: String,
}

/// Rename an organization (owners and admins)
#[utoipa::path(patch, path = "/api/orgs/{id}", tag = "orgs", params(("id" = String, Path, description = "the organization")),
    request_body = OrgRename, responses((status = 200, description = "the organization", body = Org)))]
async fn rename_org(
    State(st): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<OrgRename>,
) -> AppResult<Json<Org>> {
    Ok(Json(projects::rename_org(&st, &c, &id, &b.name).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct OrgDelete {
    /// The organization's name, typed again
    #[serde(default)]
    confirm: String,
}

/// Delete an organization with its projects (the owner, confirming with its name; refused while its jobs run)
#[utoipa::path(delete, path = "/api/orgs/{id}", tag = "orgs", params(("id" = String, Path, description = "the organization"), OrgDelete),
    responses((status = 204, description = "deleted")))]
async fn delete_org(
    State(st): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<OrgDelete>,
) -> AppResult<StatusCode> {
    projects::delete_org(&st, &c, &id, &q.confirm).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Change a member's role (admin, member, viewer; owners and admins)
#[utoipa::path(patch, path = "/api/orgs/{id}/members/{user}", tag = "orgs", params(("id" = String, Path, description = "the organization"), ("user" = String, Path)),
    request_body = SetRole, responses((status = 200, description = "the members", body = Vec<Member>)))]
async fn set_role(
    State(st): State<AppState>,
    c: Caller,
    Path((id, user)): Path<(String, String)>,
    ApiJson(b): ApiJson<SetRole>,
) -> AppResult<impl IntoResponse> {
    Ok(Json(invitations::set_role(&st, &c, &id, &user, &b.role).await?))
}

/// Remove a member
#[utoipa::path(delete, path = "/api/orgs/{id}/members/{user}", tag = "orgs", params(("id" = String, Path, description = "the organization"), ("user" = String, Path)),
    responses((status = 204, description = "removed")))]
async fn remove_member(
    State(st): State<AppState>,
    c: Caller,
    Path((id, user)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    projects::remove_member(&st, &c, &id, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Invite an email as admin, member or viewer (owners and admins); the same answer whether or not the email has an account
#[utoipa::path(post, path = "/api/orgs/{id}/invitations", tag = "orgs", params(("id" = String, Path, description = "the organization")), request_body = Invite,
    responses((status = 202, description = "invited", body = Invited)))]
async fn invite(
    State(st): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<Invite>,
) -> AppResult<impl IntoResponse> {
    let inv = invitations::invite(&st, &c, &id, &b.email, &b.role).await?;
    Ok((StatusCode::ACCEPTED, Json(Invited { id: inv })))
}

/// The org's pending invitations (owners and admins)
#[utoipa::path(get, path = "/api/orgs/{id}/invitations", tag = "orgs", params(("id" = String, Path, description = "the organization")),
    responses((status = 200, description = "the invitations", body = Vec<Invitation>)))]
async fn org_invitations(
    State(st): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
) -> AppResult<impl IntoResponse> {
    Ok(Json(invitations::org_invitations(&st, &c, &id).await?))
}

/// Withdraw a pending invitation
#[utoipa::path(delete, path = "/api/orgs/{id}/invitations/{invitation}", tag = "orgs", params(("id" = String, Path, description = "the organization"), ("invitation" = String, Path)),
    responses((status = 204, description = "withdrawn")))]
async fn revoke(
    State(st): State<AppState>,
    c: Caller,
    Path((id, inv)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    invitations::revoke(&st, &c, &id, &inv).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's pending invitations
#[utoipa::path(get, path = "/api/invitations", tag = "orgs",
    responses((status = 200, description = "the invitations", body = Vec<InvitationView>)))]
async fn mine(State(st): State<AppState>, c: Caller) -> AppResult<Json<Vec<InvitationView>>> {
    Ok(Json(invitations::pending(&st, &c).await?))
}

/// Join the org with the invited role (the invitee only)
#[utoipa::path(post, path = "/api/invitations/{id}/accept", tag = "orgs", params(("id" = String, Path, description = "the invitation")),
    responses((status = 200, description = "the organization", body = Org)))]
async fn accept(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<Json<Org>> {
    Ok(Json(invitations::accept(&st, &c, &id).await?))
}

/// Decline an invitation (the invitee only)
#[utoipa::path(post, path = "/api/invitations/{id}/decline", tag = "orgs", params(("id" = String, Path, description = "the invitation")),
    responses((status = 204, description = "declined")))]
async fn decline(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<StatusCode> {
    invitations::decline(&st, &c, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Set the logo printed on the title block of the org's reports (owners and admins)
///
/// The body is a PNG of at most 512 KB and 4096 pixels a side; anything else is refused
/// with 415 (413 when larger). The caller's right is checked before the body is read, and
/// no more than the largest logo is read.
#[utoipa::path(put, path = "/api/orgs/{id}/logo", tag = "orgs", params(("id" = String, Path, description = "the organization")),
    request_body(content = Vec<u8>, content_type = "image/png"),
    responses((status = 200, description = "stored", body = LogoView)))]
async fn put_logo(
    State(st): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    body: axum::body::Body,
) -> AppResult<impl IntoResponse> {
    org_logo::may_change(&st, &c, &id).await?;
    let data = axum::body::to_bytes(body, org_logo::MAX_BYTES)
        .await
        .map_err(|_| AppError::TooLarge(format!("the logo is larger than 512 KB; {}", org_logo::WHAT_TO_SEND)))?;
    if data.is_empty() {
        return Err(AppError::BadRequest(format!("the body is empty; {}", org_logo::WHAT_TO_SEND)));
    }
    Ok(Json(org_logo::put(&st, &c, &id, data).await?))
}

/// The organization's logo (members)
#[utoipa::path(get, path = "/api/orgs/{id}/logo", tag = "orgs", params(("id" = String, Path, description = "the organization")),
    responses((status = 200, description = "the logo", content_type = "image/png", body = Vec<u8>)))]
async fn get_logo(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<impl IntoResponse> {
    let png = org_logo::get(&st, &c, &id).await?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "image/png"), (axum::http::header::CACHE_CONTROL, "private, no-cache")],
        png,
    ))
}

/// Remove the organization's logo (owners and admins)
#[utoipa::path(delete, path = "/api/orgs/{id}/logo", tag = "orgs", params(("id" = String, Path, description = "the organization")), responses((status = 204, description = "removed")))]
async fn delete_logo(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> AppResult<StatusCode> {
    org_logo::delete(&st, &c, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `/api/orgs`, their members and invitations, and `/api/invitations`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, rename_org, delete_org))
        .routes(routes!(get_logo, put_logo, delete_logo))
        .routes(routes!(remove_member, set_role))
        .routes(routes!(org_invitations, invite))
        .routes(routes!(revoke))
        .routes(routes!(mine))
        .routes(routes!(accept))
        .routes(routes!(decline))
}
