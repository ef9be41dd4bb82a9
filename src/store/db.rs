//! One way to run a query on SQLite or PostgreSQL, so that each query is written once.
//!
//! Both schemas use text ids, BIGINT/INTEGER Unix-millisecond times and JSON text, and the
//! queries use `$N` placeholders in order of first use, which SQLite and PostgreSQL both
//! accept. A query is a [`Sql`] (its text and [`Arg`]s), run on whichever database a [`Db`]
//! holds; its rows come back as a [`Row`] that decodes any [`Col`] type from either driver.
//! Connections come from the store's own pool (`pool.rs`), never from sqlx's.
use super::migrate::{self, Dialect};
use super::pool::{self, Pool};
use super::{Result, StoreError};
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::{Postgres, Sqlite};
use std::borrow::Cow;

/// A value for one placeholder; `None` binds NULL of that type.
#[derive(Debug, Clone)]
pub(super) enum Arg<'a> {
    Text(Option<Cow<'a, str>>),
    Int(Option<i64>),
    Float(Option<f64>),
    Bool(Option<bool>),
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(v: &'a str) -> Self {
        Arg::Text(Some(Cow::Borrowed(v)))
    }
}

impl<'a> From<&'a String> for Arg<'a> {
    fn from(v: &'a String) -> Self {
        Arg::Text(Some(Cow::Borrowed(v)))
    }
}

impl From<String> for Arg<'_> {
    fn from(v: String) -> Self {
        Arg::Text(Some(Cow::Owned(v)))
    }
}

impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Arg::Text(v.map(Cow::Borrowed))
    }
}

impl<'a> From<&'a Option<String>> for Arg<'a> {
    fn from(v: &'a Option<String>) -> Self {
        Arg::Text(v.as_deref().map(Cow::Borrowed))
    }
}

impl From<i64> for Arg<'_> {
    fn from(v: i64) -> Self {
        Arg::Int(Some(v))
    }
}

impl From<Option<i64>> for Arg<'_> {
    fn from(v: Option<i64>) -> Self {
        Arg::Int(v)
    }
}

impl From<f64> for Arg<'_> {
    fn from(v: f64) -> Self {
        Arg::Float(Some(v))
    }
}

impl From<Option<f64>> for Arg<'_> {
    fn from(v: Option<f64>) -> Self {
        Arg::Float(v)
    }
}

impl From<bool> for Arg<'_> {
    fn from(v: bool) -> Self {
        Arg::Bool(Some(v))
    }
}

/// One query: its text and the values of `$1`, `$2`, … in order.
#[derive(Debug, Clone)]
pub(super) struct Sql<'a> {
    text: Cow<'a, str>,
    args: Vec<Arg<'a>>,
}

/// A query with nothing bound yet.
pub(super) fn sql<'a>(text: impl Into<Cow<'a, str>>) -> Sql<'a> {
    Sql { text: text.into(), args: Vec::new() }
}

impl<'a> Sql<'a> {
    /// Binds the next placeholder.
    pub fn bind(mut self, v: impl Into<Arg<'a>>) -> Self {
        self.args.push(v.into());
        self
    }

    /// The sqlx query of one dialect, with every argument bound.
    fn query<'q, DB: sqlx::Database>(&'q self) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>
    where
        Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        Option<f64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        Option<bool>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    {
        self.args.iter().fold(sqlx::query(&self.text), |q, a| match a {
            Arg::Text(v) => q.bind(v.as_deref()),
            Arg::Int(v) => q.bind(*v),
            Arg::Float(v) => q.bind(*v),
            Arg::Bool(v) => q.bind(*v),
        })
    }
}

/// A Rust type both drivers decode from a column.
pub(super) trait Col:
    for<'r> sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite> + for<'r> sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>
{
}

impl<T> Col for T where
    T: for<'r> sqlx::Decode<'r, Sqlite>
        + sqlx::Type<Sqlite>
        + for<'r> sqlx::Decode<'r, Postgres>
        + sqlx::Type<Postgres>
{
}

/// A column name or position in either driver's row.
pub(super) trait ColIndex: sqlx::ColumnIndex<SqliteRow> + sqlx::ColumnIndex<PgRow> {}

impl<I: sqlx::ColumnIndex<SqliteRow> + sqlx::ColumnIndex<PgRow>> ColIndex for I {}

/// A result row of either dialect.
pub(super) enum Row {
    Sqlite(SqliteRow),
    Postgres(PgRow),
}

impl Row {
    /// The value of a column, by name or position.
    pub fn get<T: Col>(&self, col: impl ColIndex) -> Result<T> {
        Ok(match self {
            Row::Sqlite(r) => sqlx::Row::try_get(r, col)?,
            Row::Postgres(r) => sqlx::Row::try_get(r, col)?,
        })
    }
}

/// One connection or open transaction to run a query on.
enum Target<'c> {
    Sqlite(&'c mut SqliteConnection),
    Postgres(&'c mut PgConnection),
}

impl Target<'_> {
    async fn execute(self, q: &Sql<'_>) -> Result<u64> {
        Ok(match self {
            Target::Sqlite(c) => q.query::<Sqlite>().execute(c).await?.rows_affected(),
            Target::Postgres(c) => q.query::<Postgres>().execute(c).await?.rows_affected(),
        })
    }

    async fn fetch_optional(self, q: &Sql<'_>) -> Result<Option<Row>> {
        Ok(match self {
            Target::Sqlite(c) => q.query::<Sqlite>().fetch_optional(c).await?.map(Row::Sqlite),
            Target::Postgres(c) => q.query::<Postgres>().fetch_optional(c).await?.map(Row::Postgres),
        })
    }

    async fn fetch_all(self, q: &Sql<'_>) -> Result<Vec<Row>> {
        Ok(match self {
            Target::Sqlite(c) => q.query::<Sqlite>().fetch_all(c).await?.into_iter().map(Row::Sqlite).collect(),
            Target::Postgres(c) => q.query::<Postgres>().fetch_all(c).await?.into_iter().map(Row::Postgres).collect(),
        })
    }
}

/// The database of a store: a pool of one dialect's connections.
pub(super) enum Db {
    Sqlite(Pool<SqliteConnection>),
    Postgres(Pool<PgConnection>),
}

impl Db {
    /// Which migrations and which SQL differences apply.
    pub fn dialect(&self) -> Dialect {
        match self {
            Db::Sqlite(_) => Dialect::Sqlite,
            Db::Postgres(..) => Dialect::Postgres,
        }
    }

    /// A connection of the pool, for a transaction or several queries in a row.
    pub async fn conn(&self) -> Result<Conn<'_>> {
        Ok(match self {
            Db::Sqlite(p) => Conn::Sqlite(p.get().await?),
            Db::Postgres(p) => Conn::Postgres(p.get().await?),
        })
    }

    /// Runs `q` on a pooled connection; the number of rows it changed.
    pub async fn execute(&self, q: Sql<'_>) -> Result<u64> {
        let mut c = self.conn().await?;
        c.target().execute(&q).await
    }

    /// The row of `q`, if there is one.
    pub async fn fetch_optional(&self, q: Sql<'_>) -> Result<Option<Row>> {
        let mut c = self.conn().await?;
        c.target().fetch_optional(&q).await
    }

    /// The row of `q`; no row is an error.
    pub async fn fetch_one(&self, q: Sql<'_>) -> Result<Row> {
        self.fetch_optional(q).await?.ok_or_else(|| sqlx::Error::RowNotFound.into())
    }

    /// Every row of `q`.
    pub async fn fetch_all(&self, q: Sql<'_>) -> Result<Vec<Row>> {
        let mut c = self.conn().await?;
        c.target().fetch_all(&q).await
    }

    /// The row of `q` as a `T`, if there is one.
    pub async fn optional<T>(&self, q: Sql<'_>, row: fn(&Row) -> Result<T>) -> Result<Option<T>> {
        self.fetch_optional(q).await?.as_ref().map(row).transpose()
    }

    /// Every row of `q` as a `T`.
    pub async fn all<T>(&self, q: Sql<'_>, row: fn(&Row) -> Result<T>) -> Result<Vec<T>> {
        self.fetch_all(q).await?.iter().map(row).collect()
    }

    /// Runs a listing query whose columns are `fields`. On SQLite its rows come back as one
    /// JSON array ([`json_array_of`]): the driver hands each row from its own thread to the
    /// caller's, and one row instead of one per record more than halved the cost of a
    /// listing. On PostgreSQL, whose driver decodes rows in place, plain rows are cheaper
    /// than building JSON in the server.
    pub async fn listing<T: serde::de::DeserializeOwned>(
        &self,
        q: Sql<'_>,
        fields: &[&str],
        row: fn(&Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        match self {
            Db::Sqlite(_) => {
                let q = Sql { text: json_array_of(&q.text, fields).into(), args: q.args };
                let j: String = self.fetch_one(q).await?.get(0)?;
                serde_json::from_str(&j).map_err(|e| StoreError::Other(format!("listing: {e}")))
            }
            Db::Postgres(..) => self.all(q, row).await,
        }
    }

    /// Runs the embedded migrations of this dialect.
    pub async fn migrate(&self) -> Result<()> {
        let m = migrate::migrator(self.dialect()).await.map_err(StoreError::Other)?;
        let done = match &mut self.conn().await? {
            Conn::Sqlite(c) => m.run_direct(&mut **c).await,
            Conn::Postgres(c) => m.run_direct(&mut **c).await,
        };
        done.map_err(|e| StoreError::Other(format!("migration failed: {e}")))
    }
}

/// Wraps a SQLite query so that its rows come back as one JSON array of objects with
/// `fields` as keys, in the query's order.
fn json_array_of(inner: &str, fields: &[&str]) -> String {
    let pairs = fields.iter().map(|f| format!("'{f}', t.{f}")).collect::<Vec<_>>().join(", ");
    format!("SELECT json_group_array(json_object({pairs})) FROM ({inner}) t")
}

/// A pooled connection; it goes back to the pool when dropped.
pub(super) enum Conn<'p> {
    Sqlite(pool::Conn<'p, SqliteConnection>),
    Postgres(pool::Conn<'p, PgConnection>),
}

impl Conn<'_> {
    /// Starts a transaction; dropping it uncommitted rolls it back.
    pub async fn begin(&mut self) -> Result<Tx<'_>> {
        Ok(match self {
            Conn::Sqlite(c) => Tx::Sqlite(sqlx::Connection::begin(&mut **c).await?),
            Conn::Postgres(c) => Tx::Postgres(sqlx::Connection::begin(&mut **c).await?),
        })
    }

    /// Starts a transaction that reads what it is about to write: on SQLite `BEGIN
    /// IMMEDIATE` takes the write lock now, so that nothing it reads changes before it
    /// writes (a deferred one would read, then fail with SQLITE_BUSY on its first write
    /// instead of waiting its turn). PostgreSQL transactions lock rows as they go
    /// (`SELECT … FOR UPDATE`).
    pub async fn begin_write(&mut self) -> Result<Tx<'_>> {
        Ok(match self {
            Conn::Sqlite(c) => Tx::Sqlite(sqlx::Connection::begin_with(&mut **c, "BEGIN IMMEDIATE").await?),
            Conn::Postgres(c) => Tx::Postgres(sqlx::Connection::begin(&mut **c).await?),
        })
    }

    fn target(&mut self) -> Target<'_> {
        match self {
            Conn::Sqlite(c) => Target::Sqlite(c),
            Conn::Postgres(c) => Target::Postgres(c),
        }
    }
}

/// An open transaction of either dialect.
pub(super) enum Tx<'c> {
    Sqlite(sqlx::Transaction<'c, Sqlite>),
    Postgres(sqlx::Transaction<'c, Postgres>),
}

impl Tx<'_> {
    fn target(&mut self) -> Target<'_> {
        match self {
            Tx::Sqlite(t) => Target::Sqlite(t),
            Tx::Postgres(t) => Target::Postgres(t),
        }
    }

    /// Runs `q` in the transaction; the number of rows it changed.
    pub async fn execute(&mut self, q: Sql<'_>) -> Result<u64> {
        self.target().execute(&q).await
    }

    /// The row of `q` in the transaction, if there is one.
    pub async fn fetch_optional(&mut self, q: Sql<'_>) -> Result<Option<Row>> {
        self.target().fetch_optional(&q).await
    }

    /// Every row of `q` in the transaction.
    pub async fn fetch_all(&mut self, q: Sql<'_>) -> Result<Vec<Row>> {
        self.target().fetch_all(&q).await
    }

    /// Makes the transaction's writes visible.
    pub async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    /// Undoes the transaction's writes.
    pub async fn rollback(self) -> Result<()> {
        match self {
            Tx::Sqlite(t) => t.rollback().await?,
            Tx::Postgres(t) => t.rollback().await?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::json_array_of;

    #[test]
    fn a_listing_becomes_one_json_array_in_field_order() {
        assert_eq!(
            json_array_of("SELECT id, name FROM projects p WHERE p.owner_id = $1", &["id", "name"]),
            "SELECT json_group_array(json_object('id', t.id, 'name', t.name)) \
             FROM (SELECT id, name FROM projects p WHERE p.owner_id = $1) t"
        );
    }
}
