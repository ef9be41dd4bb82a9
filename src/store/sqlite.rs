//! The embedded default: one SQLite file, WAL mode, created on first start (owner-only).
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
        let cannot =
            |p: &Path, e: std::io::Error| StoreError::Unavailable(format!("cannot create {}: {e}", p.display()));
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::config::private::create_dir_all(dir).map_err(|e| cannot(dir, e))?;
        }
        // A new database starts as an empty owner-only file; SQLite gives its -wal and -shm
        // files the database file's mode.
        match crate::config::private::create_new_file(path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(cannot(path, e)),
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
