//! Both event stores for the tests: SQLite (in memory, or a file) and a
//! fresh database on the test PostgreSQL server (`VEXIL_TEST_POSTGRES_URL`
//! from scripts/test.sh, else a private cluster that
//! `vexil_control::testing` starts; never skipped).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use vexil_events::Store;

/// Which store a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

/// The URL of a new, empty database on the test PostgreSQL server.
pub fn postgres_url() -> String {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(vexil_control::testing::fresh_database())
}

/// Where a new store of `backend` lives: a file in `dir`, or a URL.
pub fn location(backend: Backend, dir: &std::path::Path) -> PathBuf {
    match backend {
        Backend::Sqlite => dir.join("store.db"),
        Backend::Postgres => PathBuf::from(postgres_url()),
    }
}

/// A new, empty store of `backend`.
pub fn fresh(backend: Backend) -> Store {
    match backend {
        Backend::Sqlite => Store::in_memory().expect("an in-memory store"),
        Backend::Postgres => Store::open(postgres_url().as_ref()).expect("a PostgreSQL store"),
    }
}

/// Runs `sql` on a PostgreSQL database; the first column of each row, as
/// text.
pub fn postgres_query(url: &str, sql: &str) -> Vec<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .expect("connects");
        tokio::spawn(connection);
        let messages = client.simple_query(sql).await.expect("runs");
        messages
            .into_iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(row) => {
                    Some(row.get(0).unwrap_or("NULL").to_string())
                }
                _ => None,
            })
            .collect()
    })
}
