//! PostgreSQL, for enterprise installs and several replicas sharing one database.
use super::sql::sql_store;
use super::*;
use sqlx::postgres::{PgPool, PgPoolOptions};
use std::time::Duration;

/// PostgreSQL behind the `Store` trait.
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`).
    pub async fn connect(url: &str) -> Result<PgStore> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .map_err(|e| StoreError::Unavailable(format!("{}: {e}", crate::config::mask_url(url))))?;
        Ok(PgStore { pool })
    }
}

sql_store!(PgStore, sqlx::Postgres, "postgres", super::migrate::Dialect::Postgres, "FOR UPDATE SKIP LOCKED");
