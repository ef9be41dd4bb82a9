//! PostgreSQL, for enterprise installs and several replicas sharing one database.
use super::pool::Pool;
use super::sql::sql_store;
use super::*;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::ConnectOptions as _;

/// PostgreSQL behind the `Store` trait.
pub struct PgStore {
    pool: Pool<PgConnection>,
    opts: PgConnectOptions,
    cache: std::sync::Arc<super::cache::ListingCache>,
}

impl PgStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`).
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
        let store = PgStore { pool, opts, cache: Default::default() };
        store.follow_invalidations().await;
        Ok(store)
    }
}

impl PgStore {
    /// Bumps the listing cache whenever any replica reports a change (and whenever the
    /// LISTEN connection was lost, since reports may have been missed then). Until it
    /// listens, nothing is cached for longer than the cache's TTL anyway.
    async fn follow_invalidations(&self) {
        use futures_util::StreamExt;
        let cache = self.cache.clone();
        let first = self.listen_impl(super::cache::CHANNEL).await;
        let opts = self.opts.clone();
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
                        stream = Self::listen_with(&opts, super::cache::CHANNEL).await.ok().flatten();
                    }
                }
            }
        });
    }

    /// LISTEN on its own connection; sqlx reconnects it after a loss and says so (`None`).
    async fn listen_impl(
        &self,
        channel: &str,
    ) -> Result<Option<futures_util::stream::BoxStream<'static, Option<String>>>> {
        Self::listen_with(&self.opts, channel).await
    }

    async fn listen_with(
        opts: &PgConnectOptions,
        channel: &str,
    ) -> Result<Option<futures_util::stream::BoxStream<'static, Option<String>>>> {
        use futures_util::StreamExt;
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
}

sql_store!(PgStore, sqlx::Postgres, "postgres", super::migrate::Dialect::Postgres, "FOR UPDATE SKIP LOCKED");
