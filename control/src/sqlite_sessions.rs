//! The dashboard's sessions in SQLite.

use jiff::Timestamp;
use rusqlite::{params, Connection, OptionalExtension};

use crate::model::{from_micros, micros};
use crate::session::StoredSession;
use crate::sqlite::sql;
use crate::store::StoreError;

pub(crate) fn open(
    conn: &Connection,
    session: &StoredSession,
    now: Timestamp,
) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM vexil_sessions WHERE expires_at <= ?1",
        params![micros(now)],
    )
    .map_err(sql)?;
    conn.execute(
        "INSERT INTO vexil_sessions (digest, name, scope, csrf, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            session.digest,
            session.name,
            session.scope,
            session.csrf,
            micros(session.expires_at)
        ],
    )
    .map_err(sql)?;
    Ok(())
}

pub(crate) fn find(
    conn: &Connection,
    digest: &str,
    now: Timestamp,
) -> Result<Option<StoredSession>, StoreError> {
    conn.query_row(
        "SELECT digest, name, scope, csrf, expires_at FROM vexil_sessions WHERE digest = ?1 AND expires_at > ?2",
        params![digest, micros(now)],
        |r| {
            Ok(StoredSession {
                digest: r.get(0)?,
                name: r.get(1)?,
                scope: r.get(2)?,
                csrf: r.get(3)?,
                expires_at: from_micros(r.get(4)?),
            })
        },
    )
    .optional()
    .map_err(sql)
}

pub(crate) fn close(conn: &Connection, digest: &str) -> Result<bool, StoreError> {
    let n = conn
        .execute(
            "DELETE FROM vexil_sessions WHERE digest = ?1",
            params![digest],
        )
        .map_err(sql)?;
    Ok(n > 0)
}
