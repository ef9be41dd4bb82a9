//! Organizations and their members. Membership decides who sees an org's projects, so
//! every change to it invalidates the project listings.
use super::db::{sql, Db, Row};
use super::projects::role;
use super::sql::SqlStore;
use super::{new_id, now_ms, Member, Org, Result, Role};

const ORG_SELECT: &str = "SELECT o.id, o.name, o.slug, o.owner_id, m.role, o.created_at FROM organizations o \
     JOIN org_members m ON m.org_id = o.id";

fn org_row(r: &Row) -> Result<Org> {
    Ok(Org {
        id: r.get("id")?,
        name: r.get("name")?,
        slug: r.get("slug")?,
        owner_id: r.get("owner_id")?,
        role: role(r)?,
        created_at: r.get("created_at")?,
    })
}

fn member_row(r: &Row) -> Result<Member> {
    Ok(Member { user_id: r.get("id")?, email: r.get("email")?, name: r.get("name")?, role: role(r)? })
}

pub(super) async fn create_org(s: &SqlStore, owner_id: &str, name: &str, slug: &str) -> Result<Org> {
    let id = new_id();
    let now = now_ms();
    let mut conn = s.db.conn().await?;
    let mut tx = conn.begin().await?;
    let q = sql("INSERT INTO organizations (id, name, slug, owner_id, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $5)")
    .bind(&id)
    .bind(name)
    .bind(slug)
    .bind(owner_id)
    .bind(now);
    tx.execute(q).await?;
    let q = sql("INSERT INTO org_members (id, org_id, user_id, role, joined_at) VALUES ($1, $2, $3, 'owner', $4)")
        .bind(new_id())
        .bind(&id)
        .bind(owner_id)
        .bind(now);
    tx.execute(q).await?;
    tx.commit().await?;
    // The connection goes back to the pool before the NOTIFY takes one.
    drop(conn);
    s.listings_changed().await;
    Ok(Org { id, name: name.into(), slug: slug.into(), owner_id: owner_id.into(), role: Role::Owner, created_at: now })
}

pub(super) async fn orgs_for(db: &Db, user_id: &str) -> Result<Vec<Org>> {
    db.all(sql(format!("{ORG_SELECT} WHERE m.user_id = $1 ORDER BY o.name")).bind(user_id), org_row).await
}

pub(super) async fn org(db: &Db, user_id: &str, org_id: &str) -> Result<Option<Org>> {
    let q = sql(format!("{ORG_SELECT} WHERE m.user_id = $1 AND o.id = $2")).bind(user_id).bind(org_id);
    db.optional(q, org_row).await
}

pub(super) async fn members(db: &Db, org_id: &str) -> Result<Vec<Member>> {
    let q = sql("SELECT u.id, u.email, u.name, m.role FROM org_members m JOIN users u ON u.id = m.user_id \
                 WHERE m.org_id = $1 ORDER BY u.email")
    .bind(org_id);
    db.all(q, member_row).await
}

pub(super) async fn set_member(s: &SqlStore, org_id: &str, user_id: &str, role: Role) -> Result<()> {
    let q = sql("INSERT INTO org_members (id, org_id, user_id, role, joined_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role")
    .bind(new_id())
    .bind(org_id)
    .bind(user_id)
    .bind(role.as_str())
    .bind(now_ms());
    s.db.execute(q).await?;
    s.listings_changed().await;
    Ok(())
}

pub(super) async fn remove_member(s: &SqlStore, org_id: &str, user_id: &str) -> Result<bool> {
    let q = sql("DELETE FROM org_members WHERE org_id = $1 AND user_id = $2 AND role <> 'owner'")
        .bind(org_id)
        .bind(user_id);
    let n = s.db.execute(q).await?;
    s.listings_changed().await;
    Ok(n == 1)
}
