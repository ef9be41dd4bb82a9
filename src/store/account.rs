//! What the account and org pages change: an account's name and live sessions (a browser
//! session, or a refresh-token family from `POST /api/auth/login`) with their revocation,
//! and an org's name, its active jobs (which block deleting it) and its deletion.
use super::db::sql;
use super::sql::SqlStore;
use super::{now_ms, Result};
use serde::Serialize;

/// A live sign-in: one refresh-token family (rotation keeps the family).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SignIn {
    /// The family's id: what revoking names.
    pub id: String,
    /// `session` (a browser) or `refresh` (an API client's login).
    pub kind: String,
    /// When it signed in, when it was last renewed, and when it lapses unless renewed (ms).
    pub signed_in_at: i64,
    pub renewed_at: i64,
    pub expires_at: i64,
}

#[async_trait::async_trait]
pub trait AccountStore: Send + Sync {
    /// `user_id`'s live sign-ins at `now`, latest first.
    async fn sign_ins(&self, user_id: &str, now: i64) -> Result<Vec<SignIn>>;
    /// Revokes one of `user_id`'s sign-ins; false when it has none by that id.
    async fn revoke_sign_in(&self, user_id: &str, family_id: &str) -> Result<bool>;
    /// Renames the user.
    async fn rename_user(&self, user_id: &str, name: &str) -> Result<()>;
    async fn rename_org(&self, org_id: &str, name: &str) -> Result<()>;
    /// Jobs of the org's projects that are queued or running.
    async fn org_active_jobs(&self, org_id: &str) -> Result<i64>;
    /// The org's project ids (their files are deleted after the rows).
    async fn org_project_ids(&self, org_id: &str) -> Result<Vec<String>>;
    /// Deletes the org, its memberships, invitations and projects (cascading).
    async fn delete_org(&self, org_id: &str) -> Result<()>;
}

#[async_trait::async_trait]
impl AccountStore for SqlStore {
    async fn sign_ins(&self, user_id: &str, now: i64) -> Result<Vec<SignIn>> {
        let q = sql("SELECT family_id, MIN(kind) AS kind, MIN(created_at) AS first, MAX(created_at) AS last, \
                     MAX(expires_at) AS expires FROM refresh_tokens WHERE user_id = $1 \
                     GROUP BY family_id HAVING SUM(CASE WHEN revoked_at IS NULL AND expires_at > $2 THEN 1 ELSE 0 END) > 0 \
                     ORDER BY MAX(created_at) DESC, family_id")
        .bind(user_id)
        .bind(now);
        self.db
            .all(q, |r| {
                Ok(SignIn {
                    id: r.get("family_id")?,
                    kind: r.get("kind")?,
                    signed_in_at: r.get("first")?,
                    renewed_at: r.get("last")?,
                    expires_at: r.get("expires")?,
                })
            })
            .await
    }

    async fn revoke_sign_in(&self, user_id: &str, family_id: &str) -> Result<bool> {
        let q = sql("UPDATE refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND family_id = $3 AND revoked_at IS NULL")
            .bind(now_ms())
            .bind(user_id)
            .bind(family_id);
        Ok(self.db.execute(q).await? > 0)
    }

    async fn rename_user(&self, user_id: &str, name: &str) -> Result<()> {
        let q = sql("UPDATE users SET name = $1, updated_at = $2 WHERE id = $3").bind(name).bind(now_ms()).bind(user_id);
        self.db.execute(q).await?;
        Ok(())
    }

    async fn rename_org(&self, org_id: &str, name: &str) -> Result<()> {
        let q = sql("UPDATE organizations SET name = $1, updated_at = $2 WHERE id = $3").bind(name).bind(now_ms()).bind(org_id);
        self.db.execute(q).await?;
        self.listings_changed().await;
        Ok(())
    }

    async fn org_active_jobs(&self, org_id: &str) -> Result<i64> {
        let q = sql("SELECT COUNT(*) AS n FROM simulation_jobs j JOIN simulation_cases c ON c.id = j.case_id \
                     JOIN projects p ON p.id = c.project_id \
                     WHERE p.org_id = $1 AND j.status NOT IN ('completed', 'failed', 'cancelled')")
        .bind(org_id);
        self.db.fetch_one(q).await?.get("n")
    }

    async fn org_project_ids(&self, org_id: &str) -> Result<Vec<String>> {
        self.db.all(sql("SELECT id FROM projects WHERE org_id = $1").bind(org_id), |r| r.get("id")).await
    }

    async fn delete_org(&self, org_id: &str) -> Result<()> {
        self.db.execute(sql("DELETE FROM organizations WHERE id = $1").bind(org_id)).await?;
        self.listings_changed().await;
        Ok(())
    }
}
