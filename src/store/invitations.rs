//! Invitations to organizations: adding someone to an org invites their email, and only
//! the person signed in with that email can accept (becoming a member) or decline. A row
//! lives only while the invitation is pending; expired ones are never returned and are
//! swept when their org invites again.
use super::db::{sql, Row};
use super::projects::role;
use super::sql::SqlStore;
use super::{new_id, now_ms, Result, Role};
use serde::Serialize;

/// A pending invitation as the org's owners and admins see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Invitation {
    pub id: String,
    pub org_id: String,
    pub email: String,
    pub role: Role,
    /// The user who sent it (`None` once that account is deleted).
    pub invited_by: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A pending invitation as its invitee sees it: which org, what role, from whom. This is
/// all an invitee learns of the org before accepting.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InvitationView {
    pub id: String,
    pub org_id: String,
    pub org_name: String,
    pub org_slug: String,
    pub role: Role,
    /// The inviter's name (`None` once that account is deleted).
    pub inviter: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

fn invitation_row(r: &Row) -> Result<Invitation> {
    Ok(Invitation {
        id: r.get("id")?,
        org_id: r.get("org_id")?,
        email: r.get("email")?,
        role: role(r)?,
        invited_by: r.get("invited_by")?,
        created_at: r.get("created_at")?,
        expires_at: r.get("expires_at")?,
    })
}

fn view_row(r: &Row) -> Result<InvitationView> {
    Ok(InvitationView {
        id: r.get("id")?,
        org_id: r.get("org_id")?,
        org_name: r.get("org_name")?,
        org_slug: r.get("org_slug")?,
        role: role(r)?,
        inviter: r.get("inviter")?,
        created_at: r.get("created_at")?,
        expires_at: r.get("expires_at")?,
    })
}

pub(super) async fn invite(
    s: &SqlStore,
    org_id: &str,
    email: &str,
    role: Role,
    invited_by: &str,
    expires_at: i64,
) -> Result<String> {
    let now = now_ms();
    s.db.execute(sql("DELETE FROM org_invitations WHERE org_id = $1 AND expires_at <= $2").bind(org_id).bind(now))
        .await?;
    // Inviting the same email again renews the pending invitation and keeps its id.
    let q = sql("INSERT INTO org_invitations (id, org_id, email, role, invited_by, created_at, expires_at) \
                 VALUES ($1, $2, lower($3), $4, $5, $6, $7) \
                 ON CONFLICT (org_id, email) DO UPDATE SET role = excluded.role, invited_by = excluded.invited_by, \
                 created_at = excluded.created_at, expires_at = excluded.expires_at RETURNING id")
    .bind(new_id())
    .bind(org_id)
    .bind(email)
    .bind(role.as_str())
    .bind(invited_by)
    .bind(now)
    .bind(expires_at);
    s.db.fetch_one(q).await?.get("id")
}

pub(super) async fn org_invitations(s: &SqlStore, org_id: &str) -> Result<Vec<Invitation>> {
    let q = sql("SELECT id, org_id, email, role, invited_by, created_at, expires_at FROM org_invitations \
                 WHERE org_id = $1 AND expires_at > $2 ORDER BY email")
    .bind(org_id)
    .bind(now_ms());
    s.db.all(q, invitation_row).await
}

pub(super) async fn revoke_invitation(s: &SqlStore, org_id: &str, id: &str) -> Result<bool> {
    let q = sql("DELETE FROM org_invitations WHERE org_id = $1 AND id = $2 AND expires_at > $3")
        .bind(org_id)
        .bind(id)
        .bind(now_ms());
    Ok(s.db.execute(q).await? == 1)
}

pub(super) async fn invitations_for(s: &SqlStore, email: &str) -> Result<Vec<InvitationView>> {
    let q = sql("SELECT i.id, i.org_id, o.name AS org_name, o.slug AS org_slug, i.role, u.name AS inviter, \
                 i.created_at, i.expires_at FROM org_invitations i JOIN organizations o ON o.id = i.org_id \
                 LEFT JOIN users u ON u.id = i.invited_by \
                 WHERE i.email = lower($1) AND i.expires_at > $2 ORDER BY i.created_at DESC, i.id")
    .bind(email)
    .bind(now_ms());
    s.db.all(q, view_row).await
}

pub(super) async fn accept_invitation(
    s: &SqlStore,
    user_id: &str,
    email: &str,
    id: &str,
) -> Result<Option<(String, Role)>> {
    let now = now_ms();
    let mut conn = s.db.conn().await?;
    let mut tx = conn.begin().await?;
    // Taking the row and adding the member in one transaction: an invitation is used once.
    let q = sql("DELETE FROM org_invitations WHERE id = $1 AND email = lower($2) AND expires_at > $3 \
                 RETURNING org_id, role")
    .bind(id)
    .bind(email)
    .bind(now);
    let Some(row) = tx.fetch_optional(q).await? else {
        tx.rollback().await?;
        return Ok(None);
    };
    let (org_id, invited): (String, Role) = (row.get("org_id")?, role(&row)?);
    // Someone who is already a member keeps their role (the owner is never demoted by an
    // invitation); roles change through the members API.
    let q = sql("INSERT INTO org_members (id, org_id, user_id, role, joined_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (org_id, user_id) DO NOTHING")
    .bind(new_id())
    .bind(&org_id)
    .bind(user_id)
    .bind(invited.as_str())
    .bind(now);
    tx.execute(q).await?;
    tx.commit().await?;
    // The connection goes back to the pool before the NOTIFY takes one.
    drop(conn);
    s.listings_changed().await;
    Ok(Some((org_id, invited)))
}

pub(super) async fn decline_invitation(s: &SqlStore, email: &str, id: &str) -> Result<bool> {
    let q = sql("DELETE FROM org_invitations WHERE id = $1 AND email = lower($2) AND expires_at > $3")
        .bind(id)
        .bind(email)
        .bind(now_ms());
    Ok(s.db.execute(q).await? == 1)
}

pub(super) async fn set_member_role(s: &SqlStore, org_id: &str, user_id: &str, role: Role) -> Result<bool> {
    let q = sql("UPDATE org_members SET role = $1 WHERE org_id = $2 AND user_id = $3 AND role <> 'owner'")
        .bind(role.as_str())
        .bind(org_id)
        .bind(user_id);
    let n = s.db.execute(q).await?;
    if n == 1 {
        s.listings_changed().await;
    }
    Ok(n == 1)
}
