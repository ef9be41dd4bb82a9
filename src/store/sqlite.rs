//! The embedded default: one SQLite file, WAL mode, created on first start.
use super::db::Db;
use super::pool::{Pool, PoolOptions};
use super::sql::SqlStore;
use super::{Result, StoreError};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::ConnectOptions as _;
use std::path::Path;
use std::time::Duration;

/// SQLite behind the `Store` trait: what `store::open` builds for a `sqlite:` URL.
pub type SqliteStore = SqlStore;

impl SqlStore {
    /// Opens (creating if needed) the SQLite database file and its folder.
    pub async fn open(path: &Path) -> Result<SqliteStore> {
        Self::open_with(path, PoolOptions::default()).await
    }

    /// As [`SqlStore::open`], with the pool sized and timed by `pool`.
    pub async fn open_with(path: &Path, pool: PoolOptions) -> Result<SqliteStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Unavailable(format!("cannot create {}: {e}", dir.display())))?;
        }
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = Pool::open(pool.size_or(8), pool.timeout(), move || {
            let opts = opts.clone();
            Box::pin(async move { opts.connect().await })
        })
        .await?;
        Ok(SqlStore::new(Db::Sqlite(pool)))
    }
}
