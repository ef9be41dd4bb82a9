//! PostgreSQL, for enterprise installs and several replicas sharing one database.
use super::pool::Pool;
use super::sql::sql_store;
use super::*;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::ConnectOptions as _;

/// PostgreSQL behind the `Store` trait.
pub struct PgStore {
    pool: Pool<PgConnection>,
}

impl PgStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`).
    pub async fn connect(url: &str) -> Result<PgStore> {
        let unavailable = |e: sqlx::Error| StoreError::Unavailable(format!("{}: {e}", crate::config::mask_url(url)));
        let opts: PgConnectOptions = url.parse().map_err(unavailable)?;
        let pool = Pool::open(16, move || {
            let opts = opts.clone();
            Box::pin(async move { opts.connect().await })
        })
        .await
        .map_err(unavailable)?;
        Ok(PgStore { pool })
    }
}

sql_store!(PgStore, sqlx::Postgres, "postgres", super::migrate::Dialect::Postgres, "FOR UPDATE SKIP LOCKED");
