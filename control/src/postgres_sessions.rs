//! The dashboard's sessions in PostgreSQL.

use jiff::Timestamp;
use tokio_postgres::Client;

use crate::model::{from_micros, micros};
use crate::postgres::pg;
use crate::session::StoredSession;
use crate::store::StoreError;

pub(crate) async fn open(
    c: &Client,
    session: &StoredSession,
    now: Timestamp,
) -> Result<(), StoreError> {
    c.execute(
        "DELETE FROM vexil_sessions WHERE expires_at <= $1",
        &[&micros(now)],
    )
    .await
    .map_err(pg)?;
    c.execute(
        "INSERT INTO vexil_sessions (digest, name, scope, csrf, expires_at) VALUES ($1, $2, $3, $4, $5)",
        &[
            &session.digest,
            &session.name,
            &session.scope,
            &session.csrf,
            &micros(session.expires_at),
        ],
    )
    .await
    .map_err(pg)?;
    Ok(())
}

pub(crate) async fn find(
    c: &Client,
    digest: &str,
    now: Timestamp,
) -> Result<Option<StoredSession>, StoreError> {
    let row = c
        .query_opt(
            "SELECT digest, name, scope, csrf, expires_at FROM vexil_sessions WHERE digest = $1 AND expires_at > $2",
            &[&digest, &micros(now)],
        )
        .await
        .map_err(pg)?;
    Ok(row.map(|r| StoredSession {
        digest: r.get(0),
        name: r.get(1),
        scope: r.get(2),
        csrf: r.get(3),
        expires_at: from_micros(r.get(4)),
    }))
}

pub(crate) async fn close(c: &Client, digest: &str) -> Result<bool, StoreError> {
    let n = c
        .execute("DELETE FROM vexil_sessions WHERE digest = $1", &[&digest])
        .await
        .map_err(pg)?;
    Ok(n > 0)
}
