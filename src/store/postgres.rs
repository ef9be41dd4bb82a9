//! PostgreSQL, for enterprise installs and several replicas sharing one database: the
//! connection, and LISTEN, which the listing cache uses to hear about other replicas' writes.
use super::db::Db;
use super::pool::Pool;
use super::sql::SqlStore;
use super::{cache, Result, StoreError};
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use sqlx::postgres::PgConnectOptions;
use sqlx::ConnectOptions as _;

/// PostgreSQL behind the `Store` trait: what `store::open` builds for a `postgres://` URL.
pub type PgStore = SqlStore;

impl SqlStore {
    /// Connects to PostgreSQL at `url` (`postgres://user:password@host:port/database`).
    pub async fn connect(url: &str) -> Result<PgStore> {
        let unavailable = |e: sqlx::Error| StoreError::Unavailable(format!("{}: {e}", crate::config::mask_url(url)));
        let opts: PgConnectOptions = url.parse().map_err(unavailable)?;
        let for_pool = opts.clone();
        let pool = Pool::open(16, move || {
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
    let first = listen_with(&opts, cache::CHANNEL).await;
    tokio::spawn(async move {
        let mut stream = first.ok().flatten();
        loop {
            match stream.as_mut() {
                Some(s) => match s.next().await {
                    Some(_) => cache.bump(),
                    None => stream = None,
                },
                None => {
                    cache.bump();
                    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                    stream = listen_with(&opts, cache::CHANNEL).await.ok().flatten();
                }
            }
        }
    });
}

/// LISTEN on its own connection; sqlx reconnects it after a loss and says so (`None`).
pub(super) async fn listen_with(
    opts: &PgConnectOptions,
    channel: &str,
) -> Result<Option<BoxStream<'static, Option<String>>>> {
    let pool = sqlx::postgres::PgPoolOptions::new().max_connections(1).connect_lazy_with(opts.clone());
    let mut l = sqlx::postgres::PgListener::connect_with(&pool).await?;
    l.listen(channel).await?;
    let stream = futures_util::stream::unfold((l, pool), |(mut l, pool)| async move {
        let item = match l.try_recv().await {
            Ok(Some(n)) => Some(n.payload().to_string()),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(error = %e, "LISTEN connection failed; retrying");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                None
            }
        };
        Some((item, (l, pool)))
    });
    Ok(Some(stream.boxed()))
}
