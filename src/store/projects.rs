//! Projects, and the access rule every tenant-scoped read goes through: a caller sees a
//! personal project they own, or a project of an org they belong to, with that org role.
//! An org project's role comes from the membership alone: its creator is recorded in
//! `owner_id` but gains nothing from it, so a member who is demoted or removed loses their
//! rights over the projects they created.
use super::db::{sql, Db, Row};
use super::sql::SqlStore;
use super::{new_id, now_ms, Project, ProjectPatch, Result, Role, StoreError};

/// The caller's role in a project: owner of a personal project, or their org role.
pub(super) const ROLE_EXPR: &str = "CASE WHEN p.org_id IS NULL AND p.owner_id = $1 THEN 'owner' ELSE m.role END";
/// Joins the caller's membership of the project's org (the caller's id is `$1`).
pub(super) const ACCESS_JOIN: &str = "LEFT JOIN org_members m ON m.org_id = p.org_id AND m.user_id = $1";
/// Rows the caller may see (the caller's id is `$1`).
pub(super) const ACCESS_WHERE: &str = "((p.org_id IS NULL AND p.owner_id = $1) OR m.user_id IS NOT NULL)";

const PROJECT_COLS: &str = "p.id, p.owner_id, p.org_id, p.name, p.description, p.created_at, p.updated_at";
/// The fields of a listed `Project` (`PROJECT_COLS` plus the role), for SQLite's JSON listing.
const PROJECT_FIELDS: &[&str] =
    &["id", "owner_id", "org_id", "name", "description", "role", "created_at", "updated_at"];

/// The `role` column as a `Role`.
pub(super) fn role(r: &Row) -> Result<Role> {
    let s: Option<String> = r.get("role")?;
    s.as_deref().and_then(Role::parse).ok_or_else(|| sqlx::Error::Decode(format!("bad role {s:?}").into()).into())
}

fn project_row(r: &Row) -> Result<Project> {
    Ok(Project {
        id: r.get("id")?,
        owner_id: r.get("owner_id")?,
        org_id: r.get("org_id")?,
        name: r.get("name")?,
        description: r.get("description")?,
        role: role(r)?,
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
    })
}

pub(super) async fn create_project(
    s: &SqlStore,
    owner_id: &str,
    org_id: Option<&str>,
    name: &str,
    description: &str,
) -> Result<Project> {
    let id = new_id();
    let q = sql("INSERT INTO projects (id, owner_id, org_id, name, description, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6)")
    .bind(&id)
    .bind(owner_id)
    .bind(org_id)
    .bind(name)
    .bind(description)
    .bind(now_ms());
    s.db.execute(q).await?;
    s.listings_changed().await;
    project(&s.db, owner_id, &id).await?.ok_or_else(|| StoreError::Other(format!("new project {id} is not visible")))
}

pub(super) async fn projects(s: &SqlStore, user_id: &str) -> Result<Vec<Project>> {
    if let Some(v) = s.cache.get(user_id) {
        return Ok(v);
    }
    // Taken before the read: a write committed during it bumps the epoch, so this result
    // is never served under the newer one.
    let epoch = s.cache.epoch();
    // Two index scans (own personal projects by owner, org projects by membership) rather
    // than one predicate with an OR, which scans the whole table.
    let q = format!(
        "SELECT {PROJECT_COLS}, 'owner' AS role FROM projects p WHERE p.owner_id = $1 AND p.org_id IS NULL \
         UNION ALL \
         SELECT {PROJECT_COLS}, m.role AS role FROM projects p \
         JOIN org_members m ON m.org_id = p.org_id AND m.user_id = $1 \
         ORDER BY updated_at DESC, id"
    );
    let v = s.db.listing(sql(q).bind(user_id), PROJECT_FIELDS, project_row).await?;
    s.cache.put(user_id, epoch, &v);
    Ok(v)
}

pub(super) async fn project(db: &Db, user_id: &str, id: &str) -> Result<Option<Project>> {
    let q = format!(
        "SELECT {PROJECT_COLS}, {ROLE_EXPR} AS role FROM projects p {ACCESS_JOIN} \
         WHERE {ACCESS_WHERE} AND p.id = $2"
    );
    db.optional(sql(q).bind(user_id).bind(id), project_row).await
}

pub(super) async fn update_project(s: &SqlStore, id: &str, patch: &ProjectPatch) -> Result<()> {
    let q = sql("UPDATE projects SET name = COALESCE($1, name), description = COALESCE($2, description), \
                 updated_at = $3 WHERE id = $4")
    .bind(&patch.name)
    .bind(&patch.description)
    .bind(now_ms())
    .bind(id);
    s.db.execute(q).await?;
    s.listings_changed().await;
    Ok(())
}

pub(super) async fn delete_project(s: &SqlStore, id: &str) -> Result<()> {
    s.db.execute(sql("DELETE FROM projects WHERE id = $1").bind(id)).await?;
    s.listings_changed().await;
    Ok(())
}
