//! PostgreSQL, for enterprise installs and several replicas sharing one database: the
//! connection, and the listing cache following other replicas' writes (`pg_listen`).
use super::db::Db;
use super::pool::{Pool, PoolOptions};
use super::sql::SqlStore;
use super::{cache, Result, StoreError};
use sqlx::postgres::PgConnectOptions;
use sqlx::ConnectOptions as _;

/// PostgreSQL behind the `Store` trait: what `store::open` builds for a `postgres://` URL.
pub type PgStore = SqlStore;

impl SqlStore {
    /// Connects to PostgreSQL at `url` (`postgres://user:password@host:port/database`).
    pub async fn connect(url: &str) -> Result<PgStore> {
        Self::connect_with(url, PoolOptions::default()).await
    }

    /// As [`SqlStore::connect`], with the pool sized and timed by `pool`.
    pub async fn connect_with(url: &str, pool: PoolOptions) -> Result<PgStore> {
        let unavailable = |e: sqlx::Error| StoreError::Unavailable(format!("{}: {e}", crate::config::mask_url(url)));
        let opts: PgConnectOptions = url.parse().map_err(unavailable)?;
        let for_pool = opts.clone();
        let pool = Pool::open(pool.size_or(16), pool.timeout(), move || {
            let opts = for_pool.clone();
            Box::pin(async move { opts.connect().await })
        })
        .await
        .map_err(unavailable)?;
        let store = SqlStore::new(Db::Postgres(pool));
        follow_invalidations(&store, opts).await;
        Ok(store)
    }
}

/// Bumps the listing cache whenever any replica reports a change (and whenever the LISTEN
/// connection was lost, since reports may have been missed then). Until it listens, nothing
/// is cached for longer than the cache's TTL anyway.
async fn follow_invalidations(store: &SqlStore, opts: PgConnectOptions) {
    let cache = store.cache.clone();
    crate::pg_listen::follow(opts, cache::CHANNEL, move |_| cache.bump()).await;
}
