//! The usage rollups in SQLite: one transaction per batch of deltas.

use jiff::Timestamp;
use rusqlite::{params, Connection, OptionalExtension};

use crate::model::{from_micros, micros};
use crate::sqlite::sql;
use crate::store::StoreError;
use crate::usage::{hour_of, merged, select_counts, UsageCount, UsageQuery, UsageReport};

pub(crate) fn begin(conn: &Connection, now: Timestamp) -> Result<Timestamp, StoreError> {
    conn.execute(
        "INSERT OR IGNORE INTO vexil_usage_history (id, starts_at) VALUES (1, ?1)",
        params![micros(now)],
    )
    .map_err(sql)?;
    let at: i64 = conn
        .query_row(
            "SELECT starts_at FROM vexil_usage_history WHERE id = 1",
            [],
            |r| r.get(0),
        )
        .map_err(sql)?;
    Ok(from_micros(at))
}

pub(crate) fn add(
    conn: &mut Connection,
    counts: Vec<UsageCount>,
    at: Timestamp,
) -> Result<(), StoreError> {
    let counts = merged(counts);
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(sql)?;
    {
        let mut add = tx
            .prepare(
                "INSERT INTO vexil_usage (hour, flag, variant, reason, rule, error, count)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (hour, flag, variant, reason, rule, error)
                 DO UPDATE SET count = count + excluded.count",
            )
            .map_err(sql)?;
        let mut last = tx
            .prepare(
                "INSERT INTO vexil_usage_last (flag, at) VALUES (?1, ?2)
                 ON CONFLICT (flag) DO UPDATE SET at = max(at, excluded.at)",
            )
            .map_err(sql)?;
        let mut previous: Option<&str> = None;
        for c in &counts {
            add.execute(params![
                micros(c.hour),
                c.flag,
                c.variant,
                c.reason,
                c.rule,
                c.error,
                i64::try_from(c.count).unwrap_or(i64::MAX)
            ])
            .map_err(sql)?;
            if previous != Some(c.flag.as_str()) {
                last.execute(params![c.flag, micros(at)]).map_err(sql)?;
                previous = Some(&c.flag);
            }
        }
    }
    tx.commit().map_err(sql)
}

pub(crate) fn prune(conn: &mut Connection, before: Timestamp) -> Result<u64, StoreError> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(sql)?;
    let deleted = tx
        .execute(
            "DELETE FROM vexil_usage WHERE hour < ?1",
            params![micros(before)],
        )
        .map_err(sql)?;
    tx.execute(
        "UPDATE vexil_usage_history SET starts_at = max(starts_at, ?1) WHERE id = 1",
        params![micros(before)],
    )
    .map_err(sql)?;
    tx.commit().map_err(sql)?;
    Ok(deleted as u64)
}

pub(crate) fn read(conn: &Connection, q: &UsageQuery) -> Result<UsageReport, StoreError> {
    let since = q.since.map_or(i64::MIN, |t| micros(hour_of(t)));
    let until = q.until.map_or(i64::MAX, micros);
    // One flag's hours are read through the (flag, hour) index; a
    // condition like `(?3 IS NULL OR flag = ?3)` would hide it from the
    // planner and scan every flag's hours in the window.
    let sql_text = select_counts(q.totals_only, q.flag.is_some(), false);
    let mut stmt = conn.prepare(&sql_text).map_err(sql)?;
    let rows = match &q.flag {
        Some(flag) => stmt.query(params![since, until, flag]),
        None => stmt.query(params![since, until]),
    }
    .map_err(sql)?;
    let counts = rows
        .mapped(|r| {
            Ok(UsageCount {
                hour: from_micros(r.get(0)?),
                flag: r.get(1)?,
                variant: r.get(2)?,
                reason: r.get(3)?,
                rule: r.get(4)?,
                error: r.get(5)?,
                count: r.get::<_, i64>(6)?.max(0) as u64,
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(sql)?;
    let mut stmt = conn
        .prepare(
            "SELECT flag, at FROM vexil_usage_last WHERE (?1 IS NULL OR flag = ?1) ORDER BY flag",
        )
        .map_err(sql)?;
    let last_evaluated = stmt
        .query_map(params![q.flag], |r| {
            Ok((r.get::<_, String>(0)?, from_micros(r.get(1)?)))
        })
        .map_err(sql)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(sql)?;
    let history_starts = conn
        .query_row(
            "SELECT starts_at FROM vexil_usage_history WHERE id = 1",
            [],
            |r| r.get::<_, i64>(0),
        )
        .optional()
        .map_err(sql)?
        .map(from_micros);
    Ok(UsageReport {
        counts,
        last_evaluated,
        history_starts,
    })
}
