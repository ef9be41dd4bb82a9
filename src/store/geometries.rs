//! Geometry uploads and their processing state, scoped to the caller through their project.
//! The background worker's claim and lookup are the unscoped exceptions.
use super::db::{sql, Db, Row};
use super::projects::{role, ACCESS_JOIN, ACCESS_WHERE, ROLE_EXPR};
use super::sql::SqlStore;
use super::{now_ms, Geometry, GeometryResult, GeometryStatus, Result, Role};

const GEOMETRY_COLS: &str = "g.id, g.project_id, g.name, g.format, g.original_key, g.original_bytes, \
     g.processed_key, g.scale, g.processing_status, g.error_message, g.triangle_count, g.surface_area, g.volume, \
     g.bounding_box, g.surface_groups, g.healing, g.analysis, g.cad_name, g.cad_key, g.created_at";

/// A geometry read without the caller's role (the worker's reads, a project's listing).
fn geometry_row(r: &Row) -> Result<Geometry> {
    Ok(Geometry {
        id: r.get("id")?,
        project_id: r.get("project_id")?,
        name: r.get("name")?,
        format: r.get("format")?,
        original_key: r.get("original_key")?,
        original_bytes: r.get("original_bytes")?,
        processed_key: r.get("processed_key")?,
        scale: r.get("scale")?,
        status: {
            let s: String = r.get("processing_status")?;
            GeometryStatus::parse(&s).ok_or_else(|| sqlx::Error::Decode(format!("bad geometry status {s:?}").into()))?
        },
        error_message: r.get("error_message")?,
        triangle_count: r.get("triangle_count")?,
        surface_area: r.get("surface_area")?,
        volume: r.get("volume")?,
        bounding_box: r.get("bounding_box")?,
        surface_groups: r.get("surface_groups")?,
        healing: r.get("healing")?,
        analysis: r.get("analysis")?,
        cad_name: r.get("cad_name")?,
        cad_key: r.get("cad_key")?,
        role: Role::Viewer,
        created_at: r.get("created_at")?,
    })
}

pub(super) async fn create_geometry(s: &SqlStore, g: &Geometry) -> Result<()> {
    let now = now_ms();
    let q = sql("INSERT INTO geometries (id, project_id, name, format, original_key, original_bytes, scale, \
                 processing_status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)")
    .bind(&g.id)
    .bind(&g.project_id)
    .bind(&g.name)
    .bind(&g.format)
    .bind(&g.original_key)
    .bind(g.original_bytes)
    .bind(g.scale)
    .bind(g.status.as_str())
    .bind(now);
    s.db.execute(q).await?;
    s.db.execute(sql("UPDATE projects SET updated_at = $1 WHERE id = $2").bind(now).bind(&g.project_id)).await?;
    s.listings_changed().await;
    Ok(())
}

pub(super) async fn geometry(db: &Db, user_id: &str, id: &str) -> Result<Option<Geometry>> {
    let q = format!(
        "SELECT {GEOMETRY_COLS}, {ROLE_EXPR} AS role FROM geometries g \
         JOIN projects p ON p.id = g.project_id {ACCESS_JOIN} WHERE {ACCESS_WHERE} AND g.id = $2"
    );
    db.optional(sql(q).bind(user_id).bind(id), |r| Ok(Geometry { role: role(r)?, ..geometry_row(r)? })).await
}

pub(super) async fn geometries(db: &Db, project_id: &str) -> Result<Vec<Geometry>> {
    let q = format!("SELECT {GEOMETRY_COLS} FROM geometries g WHERE g.project_id = $1 ORDER BY g.created_at");
    db.all(sql(q).bind(project_id), geometry_row).await
}

pub(super) async fn pending_geometries(db: &Db) -> Result<Vec<Geometry>> {
    let q = format!(
        "SELECT {GEOMETRY_COLS} FROM geometries g WHERE g.processing_status IN ('pending', 'processing') \
         ORDER BY g.created_at"
    );
    db.all(sql(q), geometry_row).await
}

pub(super) async fn claim_geometry(db: &Db, id: &str, worker: &str, lease_ms: i64) -> Result<Option<Geometry>> {
    let now = now_ms();
    // A `processing` row without a lease was claimed before leases existed: its worker is
    // gone with that version.
    let q = format!(
        "UPDATE geometries SET processing_status = 'processing', lease_owner = $1, lease_expires_at = $2, \
         updated_at = $3 WHERE id = $4 AND (processing_status = 'pending' OR (processing_status = 'processing' \
         AND (lease_expires_at IS NULL OR lease_expires_at < $3))) RETURNING {}",
        GEOMETRY_COLS.replace("g.", "")
    );
    db.optional(sql(q).bind(worker).bind(now + lease_ms).bind(now).bind(id), geometry_row).await
}

pub(super) async fn heartbeat_geometry(db: &Db, id: &str, worker: &str, lease_ms: i64) -> Result<bool> {
    let now = now_ms();
    let q = sql("UPDATE geometries SET lease_expires_at = $1 WHERE id = $2 AND lease_owner = $3 \
                 AND processing_status = 'processing' AND lease_expires_at >= $4")
    .bind(now + lease_ms)
    .bind(id)
    .bind(worker)
    .bind(now);
    Ok(db.execute(q).await? == 1)
}

pub(super) async fn orphaned_geometries(db: &Db, idle_ms: i64) -> Result<Vec<(String, String)>> {
    let now = now_ms();
    let q = sql("SELECT project_id, id FROM geometries WHERE (processing_status = 'pending' AND updated_at < $1) OR \
                 (processing_status = 'processing' AND (lease_expires_at IS NULL OR lease_expires_at < $2)) \
                 ORDER BY created_at")
    .bind(now - idle_ms)
    .bind(now);
    db.all(q, |r| Ok((r.get("project_id")?, r.get("id")?))).await
}

pub(super) async fn geometry_for_worker(db: &Db, id: &str) -> Result<Option<Geometry>> {
    db.optional(sql(format!("SELECT {GEOMETRY_COLS} FROM geometries g WHERE g.id = $1")).bind(id), geometry_row).await
}

pub(super) async fn set_geometry_cad(db: &Db, id: &str, name: &str, key: &str) -> Result<()> {
    let q = sql("UPDATE geometries SET cad_name = $1, cad_key = $2, updated_at = $3 WHERE id = $4")
        .bind(name)
        .bind(key)
        .bind(now_ms())
        .bind(id);
    db.execute(q).await?;
    Ok(())
}

pub(super) async fn set_geometry_status(db: &Db, id: &str, status: GeometryStatus, error: Option<&str>) -> Result<()> {
    let q = sql("UPDATE geometries SET processing_status = $1, error_message = $2, updated_at = $3, \
                 lease_owner = NULL, lease_expires_at = NULL WHERE id = $4")
    .bind(status.as_str())
    .bind(error)
    .bind(now_ms())
    .bind(id);
    db.execute(q).await?;
    Ok(())
}

pub(super) async fn finish_geometry(db: &Db, id: &str, r: &GeometryResult) -> Result<()> {
    let q = sql("UPDATE geometries SET processing_status = 'ready', error_message = NULL, processed_key = $1, \
                 triangle_count = $2, surface_count = $3, surface_area = $4, volume = $5, bounding_box = $6, \
                 surface_groups = $7, healing = $8, analysis = $9, updated_at = $10, lease_owner = NULL, \
                 lease_expires_at = NULL WHERE id = $11")
    .bind(&r.processed_key)
    .bind(r.triangle_count)
    .bind(r.surface_count)
    .bind(r.surface_area)
    .bind(r.volume)
    .bind(&r.bounding_box)
    .bind(&r.surface_groups)
    .bind(&r.healing)
    .bind(&r.analysis)
    .bind(now_ms())
    .bind(id);
    db.execute(q).await?;
    Ok(())
}

pub(super) async fn delete_geometry(db: &Db, id: &str) -> Result<()> {
    db.execute(sql("DELETE FROM geometries WHERE id = $1").bind(id)).await?;
    Ok(())
}
