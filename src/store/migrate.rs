//! Embedded migrations: `migrations/{sqlite,postgres}/NNNN_description.sql`, compiled into
//! the binary and run at boot through sqlx's migrator (which records what already ran).
use futures_util::future::BoxFuture;
use rust_embed::RustEmbed;
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use std::borrow::Cow;

#[derive(RustEmbed)]
#[folder = "migrations/sqlite/"]
#[include = "*.sql"]
struct Sqlite;

#[derive(RustEmbed)]
#[folder = "migrations/postgres/"]
#[include = "*.sql"]
struct Postgres;

/// The migrations of one dialect, as an sqlx migration source.
#[derive(Debug, Clone, Copy)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

fn files(d: Dialect) -> Vec<(String, Vec<u8>)> {
    let get = |name: &str| match d {
        Dialect::Sqlite => Sqlite::get(name).map(|f| f.data.into_owned()),
        Dialect::Postgres => Postgres::get(name).map(|f| f.data.into_owned()),
    };
    let names: Vec<String> = match d {
        Dialect::Sqlite => Sqlite::iter().map(|n| n.into_owned()).collect(),
        Dialect::Postgres => Postgres::iter().map(|n| n.into_owned()).collect(),
    };
    names.into_iter().filter_map(|n| get(&n).map(|data| (n, data))).collect()
}

/// Parses `0001_initial.sql` into (1, "initial").
fn version_and_description(name: &str) -> Option<(i64, String)> {
    let stem = name.strip_suffix(".sql")?;
    let (v, desc) = stem.split_once('_')?;
    Some((v.parse().ok()?, desc.replace('_', " ")))
}

impl<'s> MigrationSource<'s> for Dialect {
    fn resolve(self) -> BoxFuture<'s, Result<Vec<Migration>, BoxDynError>> {
        Box::pin(async move {
            let mut out = Vec::new();
            for (name, data) in files(self) {
                let (version, desc) = version_and_description(&name)
                    .ok_or_else(|| format!("migration file {name:?} is not NNNN_description.sql"))?;
                let sql = String::from_utf8(data).map_err(|_| format!("migration {name:?} is not UTF-8"))?;
                out.push(Migration::new(version, Cow::Owned(desc), MigrationType::Simple, Cow::Owned(sql), false));
            }
            out.sort_by_key(|m| m.version);
            Ok(out)
        })
    }
}

/// The migrator for one dialect. Debug builds read `migrations/` from the checkout they were
/// built in; if that folder has gone (a moved or deleted clone), there is nothing to run, and
/// that is an error rather than a database without tables.
pub async fn migrator(d: Dialect) -> Result<Migrator, String> {
    let m = Migrator::new(d).await.map_err(|e| e.to_string())?;
    if m.iter().next().is_none() {
        return Err(format!(
            "no {d:?} migrations are embedded in this binary (a debug build reads them from the checkout it was \
             built in, which has moved or gone): rebuild it"
        ));
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_dialects_have_the_same_migrations() {
        let names = |d| {
            let mut v: Vec<String> = files(d).into_iter().map(|(n, _)| n).collect();
            v.sort();
            v
        };
        let s = names(Dialect::Sqlite);
        assert!(!s.is_empty());
        assert_eq!(s, names(Dialect::Postgres));
        for n in &s {
            assert!(version_and_description(n).is_some(), "{n}");
        }
    }
}
