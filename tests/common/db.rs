//! Databases for the appliance tests: a SQLite file in a temp dir, and a fresh database on
//! the real PostgreSQL server that `.ci/test` starts (`FLOWCFD_TEST_DATABASE_URL`).
#![allow(dead_code)]

use sqlx::Connection;

/// The PostgreSQL server URL; the tests that need it fail loudly without it.
pub fn postgres_server() -> String {
    std::env::var("FLOWCFD_TEST_DATABASE_URL").expect(
        "FLOWCFD_TEST_DATABASE_URL is not set: run the tests with .ci/test, which starts PostgreSQL \
         (or point it at a server you run: postgres://USER:PASSWORD@127.0.0.1:PORT/postgres)",
    )
}

/// Creates an empty database on the test server and returns its URL.
pub async fn fresh_postgres() -> String {
    let server = postgres_server();
    let name = format!("flowcfd_test_{}", uuid::Uuid::new_v4().simple());
    let mut c = sqlx::PgConnection::connect(&server).await.expect("connect to the test PostgreSQL");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut c).await.expect("create test database");
    let mut url = url::Url::parse(&server).expect("database URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// A SQLite URL in `dir`.
pub fn sqlite_in(dir: &std::path::Path) -> String {
    format!("sqlite://{}", dir.join("flowcfd.db").display())
}

/// Both backends, each fresh: (label, URL).
pub async fn backends(dir: &std::path::Path) -> Vec<(&'static str, String)> {
    vec![("sqlite", sqlite_in(dir)), ("postgres", fresh_postgres().await)]
}

/// A user with one project holding one case, straight in the store: (user id, case id).
pub async fn user_with_case(s: &std::sync::Arc<dyn flowcfd::store::Store>, email: &str) -> (String, String) {
    use flowcfd::store::{NewCase, NewUser};
    let u = s
        .create_user(NewUser {
            email: email.into(),
            name: "Test".into(),
            password_hash: None,
            auth_provider: "email".into(),
            auth_provider_id: None,
        })
        .await
        .unwrap();
    let p = s.create_project(&u.id, None, "jobs", "").await.unwrap();
    let c = s
        .create_case(&NewCase { project_id: p.id, geometry_id: None, name: "cube".into(), spec: "{}".into() })
        .await
        .unwrap();
    (u.id, c)
}
