//! The queries, written once for both dialects.
//!
//! Both schemas use text ids, BIGINT/INTEGER Unix-millisecond times and JSON text, and the
//! queries use `$N` placeholders in order of first use, which SQLite and PostgreSQL both
//! accept; so one macro body implements `Store` for `SqliteStore` and `PgStore` alike.
//! Where a dialect really differs (row locking for the job queue), the macro takes it as
//! an argument.

pub(super) const USER_COLS: &str =
    "id, email, name, password_hash, auth_provider, is_admin, disabled, plan, created_at";
pub(super) const PROJECT_COLS: &str = "p.id, p.owner_id, p.org_id, p.name, p.description, p.created_at, p.updated_at";
/// The fields of a listed `Project` (`PROJECT_COLS` plus the role).
pub(super) const PROJECT_FIELDS: &[&str] =
    &["id", "owner_id", "org_id", "name", "description", "role", "created_at", "updated_at"];

/// Wraps a SQLite query so that its rows come back as one JSON array of objects with
/// `fields` as keys, in the query's order.
pub(super) fn json_array_of(inner: &str, fields: &[&str]) -> String {
    let pairs = fields.iter().map(|f| format!("'{f}', t.{f}")).collect::<Vec<_>>().join(", ");
    format!("SELECT json_group_array(json_object({pairs})) FROM ({inner}) t")
}

/// Unix milliseconds as RFC 3339 text (usage periods are stored as text).
pub(crate) fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub(super) const GEOMETRY_COLS: &str = "g.id, g.project_id, g.name, g.format, g.original_key, g.original_bytes, \
     g.processed_key, g.scale, g.processing_status, g.error_message, g.triangle_count, g.surface_area, g.volume, \
     g.bounding_box, g.surface_groups, g.healing, g.analysis, g.cad_name, g.cad_key, g.created_at";

/// The caller's role in a project: owner of a personal project, or their org role.
pub(super) const ROLE_EXPR: &str = "CASE WHEN p.owner_id = $1 THEN 'owner' ELSE m.role END";
/// Joins the caller's membership of the project's org (the caller's id is `$1`).
pub(super) const ACCESS_JOIN: &str = "LEFT JOIN org_members m ON m.org_id = p.org_id AND m.user_id = $1";
/// Rows the caller may see (the caller's id is `$1`).
pub(super) const ACCESS_WHERE: &str = "(p.owner_id = $1 OR m.user_id IS NOT NULL)";

pub(super) const JOB_COLS: &str = "id, case_id, user_id, status, step, executor, cores_allocated, priority, handle, \
     lease_owner, lease_expires_at, attempts, error_message, cancel_requested, created_at, started_at, completed_at, \
     log_offset, log_step, iteration, latest, usage_until";

macro_rules! sql_store {
    // `$skip_locked`: how the queue's claim locks the row it picks ("FOR UPDATE SKIP
    // LOCKED" on PostgreSQL; nothing on SQLite, where writers are serialised anyway).
    ($store:ty, $db:ty, $dialect:literal, $mig:expr, $skip_locked:literal) => {
        type Row = <$db as sqlx::Database>::Row;

        impl $store {
            fn user_row(r: &Row) -> std::result::Result<User, sqlx::Error> {
                use sqlx::Row as _;
                Ok(User {
                    id: r.try_get("id")?,
                    email: r.try_get("email")?,
                    name: r.try_get("name")?,
                    password_hash: r.try_get("password_hash")?,
                    auth_provider: r.try_get("auth_provider")?,
                    is_admin: r.try_get("is_admin")?,
                    disabled: r.try_get("disabled")?,
                    plan: r.try_get("plan")?,
                    created_at: r.try_get("created_at")?,
                })
            }

            fn role(r: &Row) -> std::result::Result<Role, sqlx::Error> {
                use sqlx::Row as _;
                let s: Option<String> = r.try_get("role")?;
                s.as_deref()
                    .and_then(Role::parse)
                    .ok_or_else(|| sqlx::Error::Decode(format!("bad role {s:?}").into()))
            }

            fn project_row(r: &Row) -> std::result::Result<Project, sqlx::Error> {
                use sqlx::Row as _;
                Ok(Project {
                    id: r.try_get("id")?,
                    owner_id: r.try_get("owner_id")?,
                    org_id: r.try_get("org_id")?,
                    name: r.try_get("name")?,
                    description: r.try_get("description")?,
                    role: Self::role(r)?,
                    created_at: r.try_get("created_at")?,
                    updated_at: r.try_get("updated_at")?,
                })
            }

            fn geometry_row(r: &Row, role: Role) -> std::result::Result<Geometry, sqlx::Error> {
                use sqlx::Row as _;
                Ok(Geometry {
                    id: r.try_get("id")?,
                    project_id: r.try_get("project_id")?,
                    name: r.try_get("name")?,
                    format: r.try_get("format")?,
                    original_key: r.try_get("original_key")?,
                    original_bytes: r.try_get("original_bytes")?,
                    processed_key: r.try_get("processed_key")?,
                    scale: r.try_get("scale")?,
                    status: {
                        let s: String = r.try_get("processing_status")?;
                        GeometryStatus::parse(&s)
                            .ok_or_else(|| sqlx::Error::Decode(format!("bad geometry status {s:?}").into()))?
                    },
                    error_message: r.try_get("error_message")?,
                    triangle_count: r.try_get("triangle_count")?,
                    surface_area: r.try_get("surface_area")?,
                    volume: r.try_get("volume")?,
                    bounding_box: r.try_get("bounding_box")?,
                    surface_groups: r.try_get("surface_groups")?,
                    healing: r.try_get("healing")?,
                    analysis: r.try_get("analysis")?,
                    cad_name: r.try_get("cad_name")?,
                    cad_key: r.try_get("cad_key")?,
                    role,
                    created_at: r.try_get("created_at")?,
                })
            }

            fn org_row(r: &Row) -> std::result::Result<Org, sqlx::Error> {
                use sqlx::Row as _;
                Ok(Org {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    slug: r.try_get("slug")?,
                    owner_id: r.try_get("owner_id")?,
                    role: Self::role(r)?,
                    created_at: r.try_get("created_at")?,
                })
            }

            fn refresh_row(r: &Row) -> std::result::Result<RefreshRow, sqlx::Error> {
                use sqlx::Row as _;
                Ok(RefreshRow {
                    id: r.try_get("id")?,
                    user_id: r.try_get("user_id")?,
                    family_id: r.try_get("family_id")?,
                    kind: r.try_get("kind")?,
                    token_hash: r.try_get("token_hash")?,
                    expires_at: r.try_get("expires_at")?,
                    revoked_at: r.try_get("revoked_at")?,
                })
            }

            fn case_row(r: &Row, role: Role) -> std::result::Result<Case, sqlx::Error> {
                use sqlx::Row as _;
                Ok(Case {
                    id: r.try_get("id")?,
                    project_id: r.try_get("project_id")?,
                    geometry_id: r.try_get("geometry_id")?,
                    name: r.try_get("name")?,
                    spec: r.try_get("spec")?,
                    role,
                    created_at: r.try_get("created_at")?,
                })
            }

            fn job_row(r: &Row) -> std::result::Result<Job, sqlx::Error> {
                use sqlx::Row as _;
                let status: String = r.try_get("status")?;
                Ok(Job {
                    id: r.try_get("id")?,
                    case_id: r.try_get("case_id")?,
                    user_id: r.try_get("user_id")?,
                    status: JobStatus::parse(&status)
                        .ok_or_else(|| sqlx::Error::Decode(format!("bad job status {status:?}").into()))?,
                    step: r.try_get("step")?,
                    executor: r.try_get("executor")?,
                    cores: r.try_get("cores_allocated")?,
                    priority: r.try_get("priority")?,
                    handle: r.try_get("handle")?,
                    lease_owner: r.try_get("lease_owner")?,
                    lease_expires_at: r.try_get("lease_expires_at")?,
                    attempts: r.try_get("attempts")?,
                    error_message: r.try_get("error_message")?,
                    cancel_requested: r.try_get("cancel_requested")?,
                    created_at: r.try_get("created_at")?,
                    started_at: r.try_get("started_at")?,
                    completed_at: r.try_get("completed_at")?,
                    log_offset: r.try_get("log_offset")?,
                    log_step: r.try_get("log_step")?,
                    iteration: r.try_get("iteration")?,
                    latest: r.try_get("latest")?,
                    usage_until: r.try_get("usage_until")?,
                })
            }

            async fn insert_refresh_on<'e, E: sqlx::Executor<'e, Database = $db>>(e: E, r: &RefreshRow) -> Result<()> {
                sqlx::query(
                    "INSERT INTO refresh_tokens (id, user_id, family_id, kind, token_hash, expires_at, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&r.id)
                .bind(&r.user_id)
                .bind(&r.family_id)
                .bind(&r.kind)
                .bind(&r.token_hash)
                .bind(r.expires_at)
                .bind(now_ms())
                .execute(e)
                .await?;
                Ok(())
            }

            /// Runs a listing query with one text argument. On SQLite its rows come back as
            /// one JSON array (`json_array_of`): the driver hands each row from its own
            /// thread to the caller's, and one row instead of one per record more than
            /// halved the cost of a listing. On PostgreSQL, whose driver decodes rows in
            /// place, plain rows are cheaper than building JSON in the server.
            async fn listing<T: serde::de::DeserializeOwned>(
                &self,
                q: &str,
                arg: &str,
                fields: &[&str],
                row: fn(&Row) -> std::result::Result<T, sqlx::Error>,
            ) -> Result<Vec<T>> {
                if $dialect == "sqlite" {
                    let q = $crate::store::sql::json_array_of(q, fields);
                    let (j,): (String,) = sqlx::query_as(&q).bind(arg).fetch_one(&mut *self.pool.get().await?).await?;
                    return serde_json::from_str(&j).map_err(|e| StoreError::Other(format!("listing: {e}")));
                }
                let rows = sqlx::query(q).bind(arg).fetch_all(&mut *self.pool.get().await?).await?;
                Ok(rows.iter().map(row).collect::<std::result::Result<_, _>>()?)
            }

            /// After a committed write that can change project listings: invalidate them
            /// here and, on PostgreSQL, on every other replica.
            async fn listings_changed(&self) {
                self.cache.bump();
                if $dialect == "postgres" {
                    let _ = sqlx::query("SELECT pg_notify($1, '')")
                        .bind($crate::store::cache::CHANNEL)
                        .execute(&mut *match self.pool.get().await { Ok(c) => c, Err(_) => return })
                        .await;
                }
            }

            async fn user_where(&self, cond: &str, arg: &str) -> Result<Option<User>> {
                let q = format!("SELECT {} FROM users WHERE {cond}", $crate::store::sql::USER_COLS);
                let row = sqlx::query(&q).bind(arg).fetch_optional(&mut *self.pool.get().await?).await?;
                Ok(row.as_ref().map(Self::user_row).transpose()?)
            }
        }

        #[async_trait::async_trait]
        impl Store for $store {
            fn dialect(&self) -> &'static str {
                $dialect
            }

            async fn migrate(&self) -> Result<()> {
                let m = super::migrate::migrator($mig).await.map_err(StoreError::Other)?;
                m.run_direct(&mut *self.pool.get().await?).await.map_err(|e| StoreError::Other(format!("migration failed: {e}")))
            }

            async fn notify(&self, channel: &str, payload: &str) -> Result<()> {
                if $dialect == "postgres" {
                    sqlx::query("SELECT pg_notify($1, $2)").bind(channel).bind(payload).execute(&mut *self.pool.get().await?).await?;
                }
                Ok(())
            }

            async fn listen(&self, channel: &str) -> Result<Option<futures_util::stream::BoxStream<'static, Option<String>>>> {
                self.listen_impl(channel).await
            }

            async fn ping(&self) -> Result<()> {
                sqlx::query("SELECT 1").execute(&mut *self.pool.get().await?).await?;
                Ok(())
            }

            async fn create_user(&self, u: NewUser) -> Result<User> {
                let id = new_id();
                let now = now_ms();
                // The first account becomes admin; decided inside the insert, not before it.
                let q = format!(
                    "INSERT INTO users (id, email, name, password_hash, auth_provider, auth_provider_id, is_admin, \
                     created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, \
                     (SELECT COUNT(*) = 0 FROM users), $7, $7) RETURNING {}",
                    $crate::store::sql::USER_COLS
                );
                let row = sqlx::query(&q)
                    .bind(&id)
                    .bind(u.email.trim())
                    .bind(&u.name)
                    .bind(&u.password_hash)
                    .bind(&u.auth_provider)
                    .bind(&u.auth_provider_id)
                    .bind(now)
                    .fetch_one(&mut *self.pool.get().await?)
                    .await?;
                Ok(Self::user_row(&row)?)
            }

            async fn user(&self, id: &str) -> Result<Option<User>> {
                self.user_where("id = $1", id).await
            }

            async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
                self.user_where("lower(email) = lower($1)", email.trim()).await
            }

            async fn user_by_provider(&self, provider: &str, subject: &str) -> Result<Option<User>> {
                let q = format!(
                    "SELECT {} FROM users WHERE auth_provider = $1 AND auth_provider_id = $2",
                    $crate::store::sql::USER_COLS
                );
                let row = sqlx::query(&q).bind(provider).bind(subject).fetch_optional(&mut *self.pool.get().await?).await?;
                Ok(row.as_ref().map(Self::user_row).transpose()?)
            }

            async fn list_users(&self) -> Result<Vec<User>> {
                let q = format!("SELECT {} FROM users ORDER BY created_at, email", $crate::store::sql::USER_COLS);
                let rows = sqlx::query(&q).fetch_all(&mut *self.pool.get().await?).await?;
                Ok(rows.iter().map(Self::user_row).collect::<std::result::Result<_, _>>()?)
            }

            async fn set_user_flags(&self, id: &str, is_admin: bool, disabled: bool) -> Result<bool> {
                let r = sqlx::query("UPDATE users SET is_admin = $1, disabled = $2, updated_at = $3 WHERE id = $4")
                    .bind(is_admin)
                    .bind(disabled)
                    .bind(now_ms())
                    .bind(id)
                    .execute(&mut *self.pool.get().await?)
                    .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn set_password(&self, id: &str, hash: &str) -> Result<bool> {
                let r = sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
                    .bind(hash)
                    .bind(now_ms())
                    .bind(id)
                    .execute(&mut *self.pool.get().await?)
                    .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn insert_refresh(&self, r: &RefreshRow) -> Result<()> {
                Self::insert_refresh_on(&mut *self.pool.get().await?, r).await
            }

            async fn refresh_by_hash(&self, hash: &str) -> Result<Option<RefreshRow>> {
                let row = sqlx::query(
                    "SELECT id, user_id, family_id, kind, token_hash, expires_at, revoked_at \
                     FROM refresh_tokens WHERE token_hash = $1",
                )
                .bind(hash)
                .fetch_optional(&mut *self.pool.get().await?)
                .await?;
                Ok(row.as_ref().map(Self::refresh_row).transpose()?)
            }

            async fn rotate_refresh(&self, old_id: &str, new: &RefreshRow) -> Result<bool> {
                let mut conn = self.pool.get().await?;
                let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                let r = sqlx::query(
                    "UPDATE refresh_tokens SET revoked_at = $1, replaced_by = $2 WHERE id = $3 AND revoked_at IS NULL",
                )
                .bind(now_ms())
                .bind(&new.id)
                .bind(old_id)
                .execute(&mut *tx)
                .await?;
                if r.rows_affected() != 1 {
                    tx.rollback().await?;
                    return Ok(false);
                }
                Self::insert_refresh_on(&mut *tx, new).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn revoke_family(&self, family_id: &str) -> Result<()> {
                sqlx::query("UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL")
                    .bind(now_ms())
                    .bind(family_id)
                    .execute(&mut *self.pool.get().await?)
                    .await?;
                Ok(())
            }

            async fn revoke_user_tokens(&self, user_id: &str) -> Result<()> {
                sqlx::query("UPDATE refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
                    .bind(now_ms())
                    .bind(user_id)
                    .execute(&mut *self.pool.get().await?)
                    .await?;
                Ok(())
            }

            async fn insert_api_token(&self, t: &ApiToken, hash: &str) -> Result<()> {
                sqlx::query(
                    "INSERT INTO api_tokens (id, user_id, name, token_hash, prefix, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&t.id)
                .bind(&t.user_id)
                .bind(&t.name)
                .bind(hash)
                .bind(&t.prefix)
                .bind(t.created_at)
                .execute(&mut *self.pool.get().await?)
                .await?;
                Ok(())
            }

            async fn api_token_user(&self, hash: &str) -> Result<Option<String>> {
                use sqlx::Row as _;
                let row = sqlx::query(
                    "UPDATE api_tokens SET last_used_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL \
                     RETURNING user_id",
                )
                .bind(now_ms())
                .bind(hash)
                .fetch_optional(&mut *self.pool.get().await?)
                .await?;
                Ok(row.map(|r| r.try_get("user_id")).transpose()?)
            }

            async fn list_api_tokens(&self, user_id: &str) -> Result<Vec<ApiToken>> {
                use sqlx::Row as _;
                let rows = sqlx::query(
                    "SELECT id, user_id, name, prefix, last_used_at, created_at FROM api_tokens \
                     WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at",
                )
                .bind(user_id)
                .fetch_all(&mut *self.pool.get().await?)
                .await?;
                let map = |r: &Row| -> std::result::Result<ApiToken, sqlx::Error> {
                    Ok(ApiToken {
                        id: r.try_get("id")?,
                        user_id: r.try_get("user_id")?,
                        name: r.try_get("name")?,
                        prefix: r.try_get("prefix")?,
                        last_used_at: r.try_get("last_used_at")?,
                        created_at: r.try_get("created_at")?,
                    })
                };
                Ok(rows.iter().map(map).collect::<std::result::Result<_, _>>()?)
            }

            async fn revoke_api_token(&self, user_id: &str, id: &str) -> Result<bool> {
                let r = sqlx::query(
                    "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
                )
                .bind(now_ms())
                .bind(id)
                .bind(user_id)
                .execute(&mut *self.pool.get().await?)
                .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn create_org(&self, owner_id: &str, name: &str, slug: &str) -> Result<Org> {
                let id = new_id();
                let now = now_ms();
                let mut conn = self.pool.get().await?;
                let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                sqlx::query(
                    "INSERT INTO organizations (id, name, slug, owner_id, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $5)",
                )
                .bind(&id)
                .bind(name)
                .bind(slug)
                .bind(owner_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO org_members (id, org_id, user_id, role, joined_at) VALUES ($1, $2, $3, 'owner', $4)",
                )
                .bind(new_id())
                .bind(&id)
                .bind(owner_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                self.listings_changed().await;
                Ok(Org {
                    id,
                    name: name.into(),
                    slug: slug.into(),
                    owner_id: owner_id.into(),
                    role: Role::Owner,
                    created_at: now,
                })
            }

            async fn orgs_for(&self, user_id: &str) -> Result<Vec<Org>> {
                let rows = sqlx::query(
                    "SELECT o.id, o.name, o.slug, o.owner_id, m.role, o.created_at FROM organizations o \
                     JOIN org_members m ON m.org_id = o.id WHERE m.user_id = $1 ORDER BY o.name",
                )
                .bind(user_id)
                .fetch_all(&mut *self.pool.get().await?)
                .await?;
                Ok(rows.iter().map(Self::org_row).collect::<std::result::Result<_, _>>()?)
            }

            async fn org(&self, user_id: &str, org_id: &str) -> Result<Option<Org>> {
                let row = sqlx::query(
                    "SELECT o.id, o.name, o.slug, o.owner_id, m.role, o.created_at FROM organizations o \
                     JOIN org_members m ON m.org_id = o.id WHERE m.user_id = $1 AND o.id = $2",
                )
                .bind(user_id)
                .bind(org_id)
                .fetch_optional(&mut *self.pool.get().await?)
                .await?;
                Ok(row.as_ref().map(Self::org_row).transpose()?)
            }

            async fn members(&self, org_id: &str) -> Result<Vec<Member>> {
                use sqlx::Row as _;
                let rows = sqlx::query(
                    "SELECT u.id, u.email, u.name, m.role FROM org_members m JOIN users u ON u.id = m.user_id \
                     WHERE m.org_id = $1 ORDER BY u.email",
                )
                .bind(org_id)
                .fetch_all(&mut *self.pool.get().await?)
                .await?;
                let map = |r: &Row| -> std::result::Result<Member, sqlx::Error> {
                    Ok(Member {
                        user_id: r.try_get("id")?,
                        email: r.try_get("email")?,
                        name: r.try_get("name")?,
                        role: Self::role(r)?,
                    })
                };
                Ok(rows.iter().map(map).collect::<std::result::Result<_, _>>()?)
            }

            async fn set_member(&self, org_id: &str, user_id: &str, role: Role) -> Result<()> {
                sqlx::query(
                    "INSERT INTO org_members (id, org_id, user_id, role, joined_at) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role",
                )
                .bind(new_id())
                .bind(org_id)
                .bind(user_id)
                .bind(role.as_str())
                .bind(now_ms())
                .execute(&mut *self.pool.get().await?)
                .await?;
                self.listings_changed().await;
                Ok(())
            }

            async fn remove_member(&self, org_id: &str, user_id: &str) -> Result<bool> {
                let r = sqlx::query("DELETE FROM org_members WHERE org_id = $1 AND user_id = $2 AND role <> 'owner'")
                    .bind(org_id)
                    .bind(user_id)
                    .execute(&mut *self.pool.get().await?)
                    .await?;
                self.listings_changed().await;
                Ok(r.rows_affected() == 1)
            }

            async fn create_project(
                &self,
                owner_id: &str,
                org_id: Option<&str>,
                name: &str,
                description: &str,
            ) -> Result<Project> {
                let id = new_id();
                let now = now_ms();
                sqlx::query(
                    "INSERT INTO projects (id, owner_id, org_id, name, description, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $6)",
                )
                .bind(&id)
                .bind(owner_id)
                .bind(org_id)
                .bind(name)
                .bind(description)
                .bind(now)
                .execute(&mut *self.pool.get().await?)
                .await?;
                self.listings_changed().await;
                Ok(self.project(owner_id, &id).await?.expect("the creator sees a new project"))
            }

            async fn projects(&self, user_id: &str) -> Result<Vec<Project>> {
                use $crate::store::sql::*;
                // Two index scans (own projects by owner, org projects by membership)
                // rather than one predicate with an OR, which scans the whole table.
                let q = format!(
                    "SELECT {PROJECT_COLS}, 'owner' AS role FROM projects p WHERE p.owner_id = $1 \
                     UNION ALL \
                     SELECT {PROJECT_COLS}, m.role AS role FROM projects p \
                     JOIN org_members m ON m.org_id = p.org_id AND m.user_id = $1 WHERE p.owner_id <> $1 \
                     ORDER BY updated_at DESC, id"
                );
                if let Some(v) = self.cache.get(user_id) {
                    return Ok(v);
                }
                let epoch = self.cache.epoch();
                let v = self.listing(&q, user_id, PROJECT_FIELDS, Self::project_row).await?;
                self.cache.put(user_id, epoch, &v);
                Ok(v)
            }

            async fn project(&self, user_id: &str, id: &str) -> Result<Option<Project>> {
                use $crate::store::sql::*;
                let q = format!(
                    "SELECT {PROJECT_COLS}, {ROLE_EXPR} AS role FROM projects p {ACCESS_JOIN} \
                     WHERE {ACCESS_WHERE} AND p.id = $2"
                );
                let row = sqlx::query(&q).bind(user_id).bind(id).fetch_optional(&mut *self.pool.get().await?).await?;
                Ok(row.as_ref().map(Self::project_row).transpose()?)
            }

            async fn update_project(&self, id: &str, patch: &ProjectPatch) -> Result<()> {
                sqlx::query(
                    "UPDATE projects SET name = COALESCE($1, name), description = COALESCE($2, description), \
                     updated_at = $3 WHERE id = $4",
                )
                .bind(&patch.name)
                .bind(&patch.description)
                .bind(now_ms())
                .bind(id)
                .execute(&mut *self.pool.get().await?)
                .await?;
                self.listings_changed().await;
                Ok(())
            }

            async fn delete_project(&self, id: &str) -> Result<()> {
                sqlx::query("DELETE FROM projects WHERE id = $1").bind(id).execute(&mut *self.pool.get().await?).await?;
                self.listings_changed().await;
                Ok(())
            }

            async fn create_geometry(&self, g: &Geometry) -> Result<()> {
                let now = now_ms();
                sqlx::query(
                    "INSERT INTO geometries (id, project_id, name, format, original_key, original_bytes, scale, \
                     processing_status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
                )
                .bind(&g.id)
                .bind(&g.project_id)
                .bind(&g.name)
                .bind(&g.format)
                .bind(&g.original_key)
                .bind(g.original_bytes)
                .bind(g.scale)
                .bind(g.status.as_str())
                .bind(now)
                .execute(&mut *self.pool.get().await?)
                .await?;
                sqlx::query("UPDATE projects SET updated_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(&g.project_id)
                    .execute(&mut *self.pool.get().await?)
                    .await?;
                self.listings_changed().await;
                Ok(())
            }

            async fn geometry(&self, user_id: &str, id: &str) -> Result<Option<Geometry>> {
                use $crate::store::sql::*;
                let q = format!(
                    "SELECT {GEOMETRY_COLS}, {ROLE_EXPR} AS role FROM geometries g \
                     JOIN projects p ON p.id = g.project_id {ACCESS_JOIN} WHERE {ACCESS_WHERE} AND g.id = $2"
                );
                let row = sqlx::query(&q).bind(user_id).bind(id).fetch_optional(&mut *self.pool.get().await?).await?;
                match row {
                    Some(r) => Ok(Some(Self::geometry_row(&r, Self::role(&r)?)?)),
                    None => Ok(None),
                }
            }

            async fn geometries(&self, project_id: &str) -> Result<Vec<Geometry>> {
                use $crate::store::sql::*;
                let q = format!("SELECT {GEOMETRY_COLS} FROM geometries g WHERE g.project_id = $1 ORDER BY g.created_at");
                let rows = sqlx::query(&q).bind(project_id).fetch_all(&mut *self.pool.get().await?).await?;
                Ok(rows.iter().map(|r| Self::geometry_row(r, Role::Viewer)).collect::<std::result::Result<_, _>>()?)
            }

            async fn pending_geometries(&self) -> Result<Vec<Geometry>> {
                use $crate::store::sql::*;
                let q = format!(
                    "SELECT {GEOMETRY_COLS} FROM geometries g WHERE g.processing_status IN ('pending', 'processing') \
                     ORDER BY g.created_at"
                );
                let rows = sqlx::query(&q).fetch_all(&mut *self.pool.get().await?).await?;
                Ok(rows.iter().map(|r| Self::geometry_row(r, Role::Viewer)).collect::<std::result::Result<_, _>>()?)
            }

            async fn claim_geometry(&self, id: &str, stale_before: i64) -> Result<Option<Geometry>> {
                use $crate::store::sql::*;
                let r = sqlx::query(
                    "UPDATE geometries SET processing_status = 'processing', updated_at = $1 WHERE id = $2 AND \
                     (processing_status = 'pending' OR (processing_status = 'processing' AND updated_at < $3))",
                )
                .bind(now_ms())
                .bind(id)
                .bind(stale_before)
                .execute(&mut *self.pool.get().await?)
                .await?;
                if r.rows_affected() != 1 {
                    return Ok(None);
                }
                let q = format!("SELECT {GEOMETRY_COLS} FROM geometries g WHERE g.id = $1");
                let row = sqlx::query(&q).bind(id).fetch_one(&mut *self.pool.get().await?).await?;
                Ok(Some(Self::geometry_row(&row, Role::Viewer)?))
            }

            async fn geometry_for_worker(&self, id: &str) -> Result<Option<Geometry>> {
                use $crate::store::sql::*;
                let q = format!("SELECT {GEOMETRY_COLS} FROM geometries g WHERE g.id = $1");
                let row = sqlx::query(&q).bind(id).fetch_optional(&mut *self.pool.get().await?).await?;
                Ok(row.as_ref().map(|r| Self::geometry_row(r, Role::Viewer)).transpose()?)
            }

            async fn set_geometry_cad(&self, id: &str, name: &str, key: &str) -> Result<()> {
                sqlx::query("UPDATE geometries SET cad_name = $1, cad_key = $2, updated_at = $3 WHERE id = $4")
                    .bind(name)
                    .bind(key)
                    .bind(now_ms())
                    .bind(id)
                    .execute(&mut *self.pool.get().await?)
                    .await?;
                Ok(())
            }

            async fn set_geometry_status(&self, id: &str, status: GeometryStatus, error: Option<&str>) -> Result<()> {
                sqlx::query(
                    "UPDATE geometries SET processing_status = $1, error_message = $2, updated_at = $3 WHERE id = $4",
                )
                .bind(status.as_str())
                .bind(error)
                .bind(now_ms())
                .bind(id)
                .execute(&mut *self.pool.get().await?)
                .await?;
                Ok(())
            }

            async fn finish_geometry(&self, id: &str, r: &GeometryResult) -> Result<()> {
                sqlx::query(
                    "UPDATE geometries SET processing_status = 'ready', error_message = NULL, processed_key = $1, \
                     triangle_count = $2, surface_count = $3, surface_area = $4, volume = $5, bounding_box = $6, \
                     surface_groups = $7, healing = $8, analysis = $9, updated_at = $10 WHERE id = $11",
                )
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
                .bind(id)
                .execute(&mut *self.pool.get().await?)
                .await?;
                Ok(())
            }

            async fn delete_geometry(&self, id: &str) -> Result<()> {
                sqlx::query("DELETE FROM geometries WHERE id = $1").bind(id).execute(&mut *self.pool.get().await?).await?;
                Ok(())
            }

            async fn setting(&self, key: &str) -> Result<Option<String>> {
                use sqlx::Row as _;
                let row =
                    sqlx::query("SELECT value FROM settings WHERE key = $1").bind(key).fetch_optional(&mut *self.pool.get().await?).await?;
                Ok(row.map(|r| r.try_get("value")).transpose()?)
            }

            async fn put_setting(&self, key: &str, value: &str) -> Result<()> {
                sqlx::query(
                    "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                )
                .bind(key)
                .bind(value)
                .bind(now_ms())
                .execute(&mut *self.pool.get().await?)
                .await?;
                Ok(())
            }

            async fn audit(
                &self,
                actor: Option<&str>,
                action: &str,
                target: Option<&str>,
                detail: &str,
                ip: Option<&str>,
            ) -> Result<()> {
                sqlx::query(
                    "INSERT INTO audit_log (id, actor_id, action, target, detail, ip, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(new_id())
                .bind(actor)
                .bind(action)
                .bind(target)
                .bind(detail)
                .bind(ip)
                .bind(now_ms())
                .execute(&mut *self.pool.get().await?)
                .await?;
                Ok(())
            }

            async fn create_view(&self, v: &PostView) -> Result<()> {
                sqlx::query(
                    "INSERT INTO postprocessing_views (id, job_id, name, view_type, config, data_key, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&v.id)
                .bind(&v.job_id)
                .bind(&v.name)
                .bind(&v.view_type)
                .bind(&v.config)
                .bind(&v.data_key)
                .bind(v.created_at)
                .execute(&mut *self.pool.get().await?)
                .await?;
                Ok(())
            }

            async fn views(&self, job_id: &str) -> Result<Vec<PostView>> {
                use sqlx::Row as _;
                let rows = sqlx::query(
                    "SELECT id, job_id, name, view_type, config, data_key, created_at FROM postprocessing_views \
                     WHERE job_id = $1 ORDER BY created_at, id",
                )
                .bind(job_id)
                .fetch_all(&mut *self.pool.get().await?)
                .await?;
                let map = |r: &Row| -> std::result::Result<PostView, sqlx::Error> {
                    Ok(PostView {
                        id: r.try_get("id")?,
                        job_id: r.try_get("job_id")?,
                        name: r.try_get("name")?,
                        view_type: r.try_get("view_type")?,
                        config: r.try_get("config")?,
                        data_key: r.try_get("data_key")?,
                        created_at: r.try_get("created_at")?,
                    })
                };
                Ok(rows.iter().map(map).collect::<std::result::Result<_, _>>()?)
            }

            async fn delete_view(&self, job_id: &str, id: &str) -> Result<bool> {
                let r = sqlx::query("DELETE FROM postprocessing_views WHERE job_id = $1 AND id = $2")
                    .bind(job_id)
                    .bind(id)
                    .execute(&mut *self.pool.get().await?)
                    .await?;
                Ok(r.rows_affected() > 0)
            }

            async fn audit_log(&self, limit: i64) -> Result<Vec<AuditEntry>> {
                use sqlx::Row as _;
                let rows = sqlx::query(
                    "SELECT id, actor_id, action, target, detail, ip, created_at FROM audit_log \
                     ORDER BY created_at DESC, id LIMIT $1",
                )
                .bind(limit)
                .fetch_all(&mut *self.pool.get().await?)
                .await?;
                let map = |r: &Row| -> std::result::Result<AuditEntry, sqlx::Error> {
                    Ok(AuditEntry {
                        id: r.try_get("id")?,
                        actor_id: r.try_get("actor_id")?,
                        action: r.try_get("action")?,
                        target: r.try_get("target")?,
                        detail: r.try_get("detail")?,
                        ip: r.try_get("ip")?,
                        created_at: r.try_get("created_at")?,
                    })
                };
                Ok(rows.iter().map(map).collect::<std::result::Result<_, _>>()?)
            }

            async fn job_counts(&self) -> Result<Vec<(String, i64)>> {
                use sqlx::Row as _;
                let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM simulation_jobs GROUP BY status ORDER BY status")
                    .fetch_all(&mut *self.pool.get().await?)
                    .await?;
                rows.iter()
                    .map(|r| -> Result<(String, i64)> { Ok((r.try_get("status")?, r.try_get("n")?)) })
                    .collect()
            }
        }

        #[async_trait::async_trait]
        impl JobStore for $store {
            async fn create_case(&self, c: &NewCase) -> Result<String> {
                let id = new_id();
                sqlx::query(
                    "INSERT INTO simulation_cases (id, project_id, geometry_id, name, spec, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $6)",
                )
                .bind(&id)
                .bind(&c.project_id)
                .bind(&c.geometry_id)
                .bind(&c.name)
                .bind(&c.spec)
                .bind(now_ms())
                .execute(&mut *self.pool.get().await?)
                .await?;
                Ok(id)
            }

            async fn create_job(
                &self,
                case_id: &str,
                user_id: &str,
                executor: &str,
                cores: i64,
                reason: &str,
            ) -> Result<Job> {
                let id = new_id();
                let now = now_ms();
                let mut conn = self.pool.get().await?;
                let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                sqlx::query(
                    "INSERT INTO simulation_jobs (id, case_id, user_id, status, executor, cores_allocated, created_at, \
                     updated_at) VALUES ($1, $2, $3, 'queued', $4, $5, $6, $6)",
                )
                .bind(&id)
                .bind(case_id)
                .bind(user_id)
                .bind(executor)
                .bind(cores)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO job_transitions (id, job_id, seq, from_status, to_status, reason, created_at) \
                     VALUES ($1, $2, 0, '', 'queued', $3, $4)",
                )
                .bind(new_id())
                .bind(&id)
                .bind(reason)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(self.job(&id).await?.expect("a job just created exists"))
            }

            async fn case(&self, user_id: &str, id: &str) -> Result<Option<Case>> {
                use $crate::store::sql::*;
                let q = format!(
                    "SELECT c.id, c.project_id, c.geometry_id, c.name, c.spec, c.created_at, {ROLE_EXPR} AS role \
                     FROM simulation_cases c JOIN projects p ON p.id = c.project_id {ACCESS_JOIN} \
                     WHERE {ACCESS_WHERE} AND c.id = $2"
                );
                let row = sqlx::query(&q).bind(user_id).bind(id).fetch_optional(&mut *self.pool.get().await?).await?;
                match row {
                    Some(r) => Ok(Some(Self::case_row(&r, Self::role(&r)?)?)),
                    None => Ok(None),
                }
            }

            async fn cases(&self, project_id: &str) -> Result<Vec<Case>> {
                let rows = sqlx::query(
                    "SELECT id, project_id, geometry_id, name, spec, created_at FROM simulation_cases \
                     WHERE project_id = $1 ORDER BY created_at DESC, id",
                )
                .bind(project_id)
                .fetch_all(&mut *self.pool.get().await?)
                .await?;
                Ok(rows.iter().map(|r| Self::case_row(r, Role::Viewer)).collect::<std::result::Result<_, _>>()?)
            }

            async fn job(&self, id: &str) -> Result<Option<Job>> {
                let q = format!("SELECT {} FROM simulation_jobs WHERE id = $1", $crate::store::sql::JOB_COLS);
                let row = sqlx::query(&q).bind(id).fetch_optional(&mut *self.pool.get().await?).await?;
                Ok(row.as_ref().map(Self::job_row).transpose()?)
            }

            async fn claim_job(&self, worker: &str, lease_ms: i64) -> Result<Option<Job>> {
                let now = now_ms();
                let q = format!(
                    "UPDATE simulation_jobs SET lease_owner = $1, lease_expires_at = $2, attempts = attempts + 1, \
                     updated_at = $3 WHERE id = (SELECT id FROM simulation_jobs WHERE \
                     (status = 'queued' AND (lease_expires_at IS NULL OR lease_expires_at < $3)) OR \
                     (status IN ('preparing', 'meshing', 'solving') AND lease_expires_at < $3) \
                     ORDER BY priority DESC, created_at, id LIMIT 1 {}) \
                     AND (lease_expires_at IS NULL OR lease_expires_at < $3) RETURNING {}",
                    $skip_locked,
                    $crate::store::sql::JOB_COLS
                );
                let row = sqlx::query(&q).bind(worker).bind(now + lease_ms).bind(now).fetch_optional(&mut *self.pool.get().await?).await?;
                Ok(row.as_ref().map(Self::job_row).transpose()?)
            }

            async fn heartbeat(&self, job_id: &str, worker: &str, lease_ms: i64) -> Result<bool> {
                let now = now_ms();
                let r = sqlx::query(
                    "UPDATE simulation_jobs SET lease_expires_at = $1, updated_at = $2 \
                     WHERE id = $3 AND lease_owner = $4 AND lease_expires_at >= $2",
                )
                .bind(now + lease_ms)
                .bind(now)
                .bind(job_id)
                .bind(worker)
                .execute(&mut *self.pool.get().await?)
                .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn transition(&self, job_id: &str, worker: &str, to: JobStatus, reason: &str) -> Result<bool> {
                let Some(job) = self.job(job_id).await? else { return Ok(false) };
                if job.lease_owner.as_deref() != Some(worker) || !job.status.can_become(to) {
                    return Ok(false);
                }
                let now = now_ms();
                let mut conn = self.pool.get().await?;
                let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                let sql = if to.is_terminal() {
                    "UPDATE simulation_jobs SET status = $1, updated_at = $2, completed_at = $2, lease_owner = NULL, \
                     lease_expires_at = NULL, error_message = $3 WHERE id = $4 AND status = $5 AND lease_owner = $6"
                } else {
                    "UPDATE simulation_jobs SET status = $1, updated_at = $2, started_at = COALESCE(started_at, $2), \
                     step = $3 WHERE id = $4 AND status = $5 AND lease_owner = $6"
                };
                let detail = match to {
                    JobStatus::Failed => Some(reason),
                    JobStatus::Completed | JobStatus::Cancelled => None,
                    _ => Some(to.as_str()),
                };
                let r = sqlx::query(sql)
                    .bind(to.as_str())
                    .bind(now)
                    .bind(detail)
                    .bind(job_id)
                    .bind(job.status.as_str())
                    .bind(worker)
                    .execute(&mut *tx)
                    .await?;
                if r.rows_affected() != 1 {
                    tx.rollback().await?;
                    return Ok(false);
                }
                sqlx::query(
                    "INSERT INTO job_transitions (id, job_id, seq, from_status, to_status, reason, worker, created_at) \
                     VALUES ($1, $2, (SELECT COUNT(*) FROM job_transitions WHERE job_id = $2), $3, $4, $5, $6, $7)",
                )
                .bind(new_id())
                .bind(job_id)
                .bind(job.status.as_str())
                .bind(to.as_str())
                .bind(reason)
                .bind(worker)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn set_handle(&self, job_id: &str, worker: &str, handle: &str) -> Result<bool> {
                let r = sqlx::query("UPDATE simulation_jobs SET handle = $1, updated_at = $2 WHERE id = $3 AND lease_owner = $4")
                    .bind(handle)
                    .bind(now_ms())
                    .bind(job_id)
                    .bind(worker)
                    .execute(&mut *self.pool.get().await?)
                    .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn job_for(&self, user_id: &str, id: &str) -> Result<Option<(Job, Role)>> {
                use $crate::store::sql::*;
                let cols: Vec<String> = JOB_COLS.split(", ").map(|c| format!("j.{c}")).collect();
                let q = format!(
                    "SELECT {}, {ROLE_EXPR} AS role FROM simulation_jobs j JOIN simulation_cases c ON c.id = j.case_id \
                     JOIN projects p ON p.id = c.project_id {ACCESS_JOIN} WHERE {ACCESS_WHERE} AND j.id = $2",
                    cols.join(", ")
                );
                let row = sqlx::query(&q).bind(user_id).bind(id).fetch_optional(&mut *self.pool.get().await?).await?;
                match row {
                    Some(r) => Ok(Some((Self::job_row(&r)?, Self::role(&r)?))),
                    None => Ok(None),
                }
            }

            async fn project_jobs(&self, project_id: &str) -> Result<Vec<Job>> {
                let cols: Vec<String> = $crate::store::sql::JOB_COLS.split(", ").map(|c| format!("j.{c}")).collect();
                let q = format!(
                    "SELECT {} FROM simulation_jobs j JOIN simulation_cases c ON c.id = j.case_id \
                     WHERE c.project_id = $1 ORDER BY j.created_at DESC, j.id",
                    cols.join(", ")
                );
                let rows = sqlx::query(&q).bind(project_id).fetch_all(&mut *self.pool.get().await?).await?;
                Ok(rows.iter().map(Self::job_row).collect::<std::result::Result<_, _>>()?)
            }

            async fn request_cancel(&self, job_id: &str, reason: &str) -> Result<bool> {
                let now = now_ms();
                let mut conn = self.pool.get().await?;
                let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                let r = sqlx::query(
                    "UPDATE simulation_jobs SET status = 'cancelled', completed_at = $1, updated_at = $1, \
                     cancel_requested = TRUE WHERE id = $2 AND status = 'queued' AND \
                     (lease_owner IS NULL OR lease_expires_at < $1)",
                )
                .bind(now)
                .bind(job_id)
                .execute(&mut *tx)
                .await?;
                if r.rows_affected() == 1 {
                    sqlx::query(
                        "INSERT INTO job_transitions (id, job_id, seq, from_status, to_status, reason, created_at) \
                         VALUES ($1, $2, (SELECT COUNT(*) FROM job_transitions WHERE job_id = $2), 'queued', \
                         'cancelled', $3, $4)",
                    )
                    .bind(new_id())
                    .bind(job_id)
                    .bind(reason)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    return Ok(true);
                }
                sqlx::query("UPDATE simulation_jobs SET cancel_requested = TRUE, updated_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(job_id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(false)
            }

            async fn save_progress(&self, job_id: &str, worker: &str, p: &ProgressUpdate) -> Result<bool> {
                let mut conn = self.pool.get().await?;
                let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                let r = sqlx::query(
                    "UPDATE simulation_jobs SET log_offset = $1, log_step = $2, \
                     iteration = CASE WHEN $3 > iteration THEN $3 ELSE iteration END, \
                     latest = COALESCE($4, latest), updated_at = $5 WHERE id = $6 AND lease_owner = $7",
                )
                .bind(p.offset)
                .bind(&p.step)
                .bind(p.iteration)
                .bind(&p.latest)
                .bind(now_ms())
                .bind(job_id)
                .bind(worker)
                .execute(&mut *tx)
                .await?;
                if r.rows_affected() != 1 {
                    tx.rollback().await?;
                    return Ok(false);
                }
                for (iteration, data) in &p.samples {
                    sqlx::query(
                        "INSERT INTO job_samples (job_id, iteration, data) VALUES ($1, $2, $3) \
                         ON CONFLICT (job_id, iteration) DO UPDATE SET data = excluded.data",
                    )
                    .bind(job_id)
                    .bind(iteration)
                    .bind(data)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(true)
            }

            async fn samples(&self, job_id: &str, after: i64, limit: i64) -> Result<Vec<String>> {
                let rows: Vec<(String,)> = sqlx::query_as(
                    "SELECT data FROM job_samples WHERE job_id = $1 AND iteration > $2 ORDER BY iteration LIMIT $3",
                )
                .bind(job_id)
                .bind(after)
                .bind(limit)
                .fetch_all(&mut *self.pool.get().await?)
                .await?;
                Ok(rows.into_iter().map(|(d,)| d).collect())
            }

            async fn compact_samples(&self, job_id: &str, before: i64, stride: i64) -> Result<u64> {
                let r = sqlx::query(
                    "DELETE FROM job_samples WHERE job_id = $1 AND iteration < $2 AND iteration % $3 <> 0",
                )
                .bind(job_id)
                .bind(before)
                .bind(stride.max(1))
                .execute(&mut *self.pool.get().await?)
                .await?;
                Ok(r.rows_affected())
            }

            async fn record_usage(&self, job_id: &str, until: i64) -> Result<f64> {
                let mut conn = self.pool.get().await?;
                let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                let row: Option<(String, i64, Option<i64>, Option<i64>, Option<String>)> = sqlx::query_as(
                    "SELECT j.user_id, j.cores_allocated, j.started_at, j.usage_until, p.org_id FROM simulation_jobs j \
                     JOIN simulation_cases c ON c.id = j.case_id JOIN projects p ON p.id = c.project_id WHERE j.id = $1",
                )
                .bind(job_id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((user_id, cores, Some(started), usage_until, org_id)) = row else { return Ok(0.0) };
                let from = usage_until.unwrap_or(started);
                if until <= from {
                    return Ok(0.0);
                }
                let core_seconds = (until - from) as f64 / 1000.0 * cores as f64;
                let r = sqlx::query("UPDATE simulation_jobs SET usage_until = $1, \
                     core_seconds_used = COALESCE(core_seconds_used, 0) + $2 WHERE id = $3 AND COALESCE(usage_until, started_at) = $4")
                    .bind(until)
                    .bind(core_seconds.round() as i64)
                    .bind(job_id)
                    .bind(from)
                    .execute(&mut *tx)
                    .await?;
                if r.rows_affected() != 1 {
                    // Recorded concurrently by another worker; nothing is counted twice.
                    tx.rollback().await?;
                    return Ok(0.0);
                }
                sqlx::query(
                    "INSERT INTO usage_records (id, user_id, org_id, record_type, quantity, job_id, period_start, \
                     period_end, created_at) VALUES ($1, $2, $3, 'core_seconds', $4, $5, $6, $7, $8)",
                )
                .bind(new_id())
                .bind(&user_id)
                .bind(&org_id)
                .bind(core_seconds)
                .bind(job_id)
                .bind($crate::store::sql::rfc3339(from))
                .bind($crate::store::sql::rfc3339(until))
                .bind(now_ms())
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(core_seconds)
            }

            async fn usage_of_job(&self, job_id: &str) -> Result<f64> {
                let (q,): (Option<f64>,) = sqlx::query_as(
                    "SELECT CAST(SUM(quantity) AS DOUBLE PRECISION) FROM usage_records WHERE job_id = $1 AND record_type = 'core_seconds'",
                )
                .bind(job_id)
                .fetch_one(&mut *self.pool.get().await?)
                .await?;
                Ok(q.unwrap_or(0.0))
            }

            async fn active_cores(&self, user_id: &str, org_id: Option<&str>) -> Result<(i64, i64)> {
                let (mine,): (Option<i64>,) = sqlx::query_as(
                    "SELECT CAST(SUM(cores_allocated) AS BIGINT) FROM simulation_jobs WHERE user_id = $1 \
                     AND status IN ('queued', 'preparing', 'meshing', 'solving')",
                )
                .bind(user_id)
                .fetch_one(&mut *self.pool.get().await?)
                .await?;
                let org = match org_id {
                    None => 0,
                    Some(o) => {
                        let (n,): (Option<i64>,) = sqlx::query_as(
                            "SELECT CAST(SUM(j.cores_allocated) AS BIGINT) FROM simulation_jobs j \
                             JOIN simulation_cases c ON c.id = j.case_id JOIN projects p ON p.id = c.project_id \
                             WHERE p.org_id = $1 AND j.status IN ('queued', 'preparing', 'meshing', 'solving')",
                        )
                        .bind(o)
                        .fetch_one(&mut *self.pool.get().await?)
                        .await?;
                        n.unwrap_or(0)
                    }
                };
                Ok((mine.unwrap_or(0), org))
            }

            async fn case_for_worker(&self, id: &str) -> Result<Option<Case>> {
                let row = sqlx::query(
                    "SELECT id, project_id, geometry_id, name, spec, created_at FROM simulation_cases WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&mut *self.pool.get().await?)
                .await?;
                Ok(row.as_ref().map(|r| Self::case_row(r, Role::Viewer)).transpose()?)
            }

            async fn transitions(&self, job_id: &str) -> Result<Vec<Transition>> {
                use sqlx::Row as _;
                let rows = sqlx::query(
                    "SELECT from_status, to_status, reason, worker, created_at FROM job_transitions \
                     WHERE job_id = $1 ORDER BY seq",
                )
                .bind(job_id)
                .fetch_all(&mut *self.pool.get().await?)
                .await?;
                rows.iter()
                    .map(|r| -> Result<Transition> {
                        Ok(Transition {
                            from: r.try_get("from_status")?,
                            to: r.try_get("to_status")?,
                            reason: r.try_get("reason")?,
                            worker: r.try_get("worker")?,
                            at: r.try_get("created_at")?,
                        })
                    })
                    .collect()
            }
        }
    };
}

pub(super) use sql_store;
