//! PostgreSQL LISTEN that never gives up: one background task per channel that hands each
//! payload to a callback, tells it when notifications may have been missed, and reconnects.
//! The listing cache (`store`) and the job event bus (`jobs::events`) both follow other
//! replicas this way.
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use std::time::Duration;

/// How long to wait before listening again after the connection failed.
const RETRY: Duration = Duration::from_secs(2);

/// Listens on `channel` until the process ends. `on(Some(payload))` for each notification;
/// `on(None)` whenever notifications may have been missed (the connection was lost or could
/// not be made). The first LISTEN is in place when this returns, if the database answers.
pub async fn follow<F>(opts: PgConnectOptions, channel: &'static str, mut on: F)
where
    F: FnMut(Option<&str>) + Send + 'static,
{
    let first = listen(&opts, channel).await;
    tokio::spawn(async move {
        let mut listener = first;
        loop {
            match listener {
                Ok(mut l) => loop {
                    match l.try_recv().await {
                        Ok(Some(n)) => on(Some(n.payload())),
                        // sqlx reconnected: anything sent meanwhile is lost.
                        Ok(None) => on(None),
                        Err(e) => {
                            tracing::warn!(channel, error = %e, "LISTEN connection failed; retrying");
                            break;
                        }
                    }
                },
                Err(e) => tracing::warn!(channel, error = %e, "cannot LISTEN; retrying"),
            }
            on(None);
            tokio::time::sleep(RETRY).await;
            listener = listen(&opts, channel).await;
        }
    });
}

/// A listener on its own connection (not one of the store's pooled ones).
async fn listen(opts: &PgConnectOptions, channel: &str) -> Result<PgListener, sqlx::Error> {
    let pool = PgPoolOptions::new().max_connections(1).connect_lazy_with(opts.clone());
    let mut l = PgListener::connect_with(&pool).await?;
    l.listen(channel).await?;
    Ok(l)
}
