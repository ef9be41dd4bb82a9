//! Instance settings, the audit log, and the saved views of a job's result.
use super::db::{sql, Db, Row, Sql};
use super::{new_id, now_ms, AuditEntry, PostView, Result};

fn audit_row(r: &Row) -> Result<AuditEntry> {
    Ok(AuditEntry {
        id: r.get("id")?,
        actor_id: r.get("actor_id")?,
        action: r.get("action")?,
        target: r.get("target")?,
        detail: r.get("detail")?,
        ip: r.get("ip")?,
        created_at: r.get("created_at")?,
    })
}

fn view_row(r: &Row) -> Result<PostView> {
    Ok(PostView {
        id: r.get("id")?,
        job_id: r.get("job_id")?,
        name: r.get("name")?,
        view_type: r.get("view_type")?,
        config: r.get("config")?,
        data_key: r.get("data_key")?,
        created_at: r.get("created_at")?,
    })
}

pub(super) async fn setting(db: &Db, key: &str) -> Result<Option<String>> {
    db.optional(sql("SELECT value FROM settings WHERE key = $1").bind(key), |r| r.get("value")).await
}

pub(super) async fn put_setting(db: &Db, key: &str, value: &str) -> Result<()> {
    let q = sql("INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at")
    .bind(key)
    .bind(value)
    .bind(now_ms());
    db.execute(q).await?;
    Ok(())
}

/// The insert of one audit entry, for [`audit`] or a transaction that records its own.
pub(super) fn audit_sql<'a>(
    actor: Option<&'a str>,
    action: &'a str,
    target: Option<&'a str>,
    detail: &'a str,
    ip: Option<&'a str>,
) -> Sql<'a> {
    sql("INSERT INTO audit_log (id, actor_id, action, target, detail, ip, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)")
    .bind(new_id())
    .bind(actor)
    .bind(action)
    .bind(target)
    .bind(detail)
    .bind(ip)
    .bind(now_ms())
}

pub(super) async fn audit(
    db: &Db,
    actor: Option<&str>,
    action: &str,
    target: Option<&str>,
    detail: &str,
    ip: Option<&str>,
) -> Result<()> {
    db.execute(audit_sql(actor, action, target, detail, ip)).await?;
    Ok(())
}

pub(super) async fn audit_log(db: &Db, limit: i64) -> Result<Vec<AuditEntry>> {
    let q = sql("SELECT id, actor_id, action, target, detail, ip, created_at FROM audit_log \
                 ORDER BY created_at DESC, id LIMIT $1")
    .bind(limit);
    db.all(q, audit_row).await
}

pub(super) async fn create_view(db: &Db, v: &PostView) -> Result<()> {
    let q = sql("INSERT INTO postprocessing_views (id, job_id, name, view_type, config, data_key, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)")
    .bind(&v.id)
    .bind(&v.job_id)
    .bind(&v.name)
    .bind(&v.view_type)
    .bind(&v.config)
    .bind(&v.data_key)
    .bind(v.created_at);
    db.execute(q).await?;
    Ok(())
}

pub(super) async fn views(db: &Db, job_id: &str) -> Result<Vec<PostView>> {
    let q = sql("SELECT id, job_id, name, view_type, config, data_key, created_at FROM postprocessing_views \
                 WHERE job_id = $1 ORDER BY created_at, id")
    .bind(job_id);
    db.all(q, view_row).await
}

pub(super) async fn delete_view(db: &Db, job_id: &str, id: &str) -> Result<bool> {
    let q = sql("DELETE FROM postprocessing_views WHERE job_id = $1 AND id = $2").bind(job_id).bind(id);
    Ok(db.execute(q).await? > 0)
}
