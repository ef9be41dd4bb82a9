//! A lean connection pool for both stores.
//!
//! sqlx's own `Pool` pings every connection on its way back to the pool (a round trip to
//! the SQLite worker thread or to the PostgreSQL server) from a freshly spawned task. On
//! the appliance's hot paths (a listing is one short query) that doubled the cost of each
//! query. This pool hands out connections without a round trip and checks them only when
//! there is a reason to:
//! - a connection idle for longer than [`IDLE_CHECK`] is pinged before it is reused;
//! - after any I/O or protocol error anywhere in the process ([`note_io_error`]), every
//!   connection is pinged once before its next use, and one that fails is replaced.
//!
//! sqlx connections recover from dropped (cancelled) queries and transactions by
//! themselves: the next command drains what was left, and a dropped transaction queues its
//! rollback.
use futures_util::future::BoxFuture;
use sqlx::Connection;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, SemaphorePermit};

/// How long a connection may sit idle before it is pinged on reuse.
pub(super) const IDLE_CHECK: Duration = Duration::from_secs(30);
/// How long a caller waits for a free connection, unless configured otherwise.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Bumped on every I/O or protocol error; connections checked before it are pinged.
static ERROR_EPOCH: AtomicU64 = AtomicU64::new(0);

/// Records that some connection failed at the transport level (a database restart, a
/// dropped link), so that every pooled connection is checked before its next use.
pub(super) fn note_io_error() {
    ERROR_EPOCH.fetch_add(1, Ordering::Relaxed);
}

/// The size of a store's pool and how long a caller waits for a connection.
#[derive(Debug, Clone, Copy, Default)]
pub struct PoolOptions {
    /// Connections at most; `None`: the dialect's default (8 for SQLite, 16 for PostgreSQL).
    pub size: Option<usize>,
    /// `None`: [`ACQUIRE_TIMEOUT`].
    pub acquire_timeout: Option<Duration>,
}

impl PoolOptions {
    pub(super) fn size_or(&self, default: usize) -> usize {
        self.size.filter(|n| *n > 0).unwrap_or(default)
    }

    pub(super) fn timeout(&self) -> Duration {
        self.acquire_timeout.unwrap_or(ACQUIRE_TIMEOUT)
    }
}

type Connect<C> = Box<dyn Fn() -> BoxFuture<'static, Result<C, sqlx::Error>> + Send + Sync>;

struct Idle<C> {
    conn: C,
    since: Instant,
    epoch: u64,
}

pub(super) struct Pool<C: Connection> {
    idle: Mutex<Vec<Idle<C>>>,
    permits: Semaphore,
    acquire_timeout: Duration,
    connect: Connect<C>,
}

impl<C: Connection> Pool<C> {
    /// A pool of at most `max` connections made by `connect`, whose callers wait at most
    /// `acquire_timeout` for one; one is opened now, so that a wrong URL or an unwritable
    /// file fails at start-up.
    pub async fn open(
        max: usize,
        acquire_timeout: Duration,
        connect: impl Fn() -> BoxFuture<'static, Result<C, sqlx::Error>> + Send + Sync + 'static,
    ) -> Result<Self, sqlx::Error> {
        let first = connect().await?;
        let pool = Pool {
            idle: Mutex::new(Vec::with_capacity(max)),
            permits: Semaphore::new(max.max(1)),
            acquire_timeout,
            connect: Box::new(connect),
        };
        pool.put(first);
        Ok(pool)
    }

    fn put(&self, conn: C) {
        let epoch = ERROR_EPOCH.load(Ordering::Relaxed);
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).push(Idle { conn, since: Instant::now(), epoch });
    }

    /// A connection for one query or transaction; it goes back to the pool when dropped.
    pub async fn get(&self) -> Result<Conn<'_, C>, sqlx::Error> {
        let permit = tokio::time::timeout(self.acquire_timeout, self.permits.acquire())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?
            .map_err(|_| sqlx::Error::PoolClosed)?;
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match idle {
            Some(mut i) => {
                let suspect = i.epoch != ERROR_EPOCH.load(Ordering::Relaxed) || i.since.elapsed() > IDLE_CHECK;
                if suspect && i.conn.ping().await.is_err() {
                    drop(i.conn);
                    (self.connect)().await?
                } else {
                    i.conn
                }
            }
            None => (self.connect)().await?,
        };
        Ok(Conn { pool: self, conn: Some(conn), _permit: permit })
    }
}

/// A pooled connection; use `&mut *conn` as the sqlx executor.
pub(super) struct Conn<'a, C: Connection> {
    pool: &'a Pool<C>,
    conn: Option<C>,
    _permit: SemaphorePermit<'a>,
}

impl<C: Connection> Deref for Conn<'_, C> {
    type Target = C;
    fn deref(&self) -> &C {
        self.conn.as_ref().expect("connection present until drop")
    }
}

impl<C: Connection> DerefMut for Conn<'_, C> {
    fn deref_mut(&mut self) -> &mut C {
        self.conn.as_mut().expect("connection present until drop")
    }
}

impl<C: Connection> Drop for Conn<'_, C> {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take() {
            self.pool.put(c);
        }
    }
}
