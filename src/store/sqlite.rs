//! The embedded default: one SQLite file, WAL mode, created on first start.
use super::pool::Pool;
use super::sql::sql_store;
use super::*;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};
use sqlx::ConnectOptions as _;
use std::path::Path;
use std::time::Duration;

/// SQLite behind the `Store` trait.
pub struct SqliteStore {
    pool: Pool<SqliteConnection>,
    cache: super::cache::ListingCache,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and its folder.
    pub async fn open(path: &Path) -> Result<SqliteStore> {
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
        let pool = Pool::open(8, move || {
            let opts = opts.clone();
            Box::pin(async move { opts.connect().await })
        })
        .await?;
        Ok(SqliteStore { pool, cache: Default::default() })
    }
}

impl SqliteStore {
    /// One process owns a SQLite database: there are no other replicas to hear from.
    async fn listen_impl(
        &self,
        _channel: &str,
    ) -> Result<Option<futures_util::stream::BoxStream<'static, Option<String>>>> {
        Ok(None)
    }
}

sql_store!(SqliteStore, sqlx::Sqlite, "sqlite", super::migrate::Dialect::Sqlite, "");
