//! The usage rollups in SQLite: one transaction per batch of deltas, the
//! window's per-flag sums kept in the same transaction.

use jiff::Timestamp;
use rusqlite::{params, Connection, OptionalExtension};

use crate::model::{from_micros, micros};
use crate::sqlite::sql;
use crate::store::StoreError;
use crate::usage::{hour_of, UsageCount, UsageQuery, UsageReport};
use crate::usage_sql::{advance_window, merged, select_counts, select_window_totals, window_since};

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

/// Move the window's start forward to `to` (never back); the start after.
fn advance(tx: &rusqlite::Transaction, to: i64) -> Result<i64, StoreError> {
    let since: i64 = tx
        .query_row(
            "SELECT since FROM vexil_usage_window_start WHERE id = 1",
            [],
            |r| r.get(0),
        )
        .map_err(sql)?;
    if to <= since {
        return Ok(since);
    }
    let [subtract, zeros, start] = advance_window(false);
    tx.execute(&subtract, params![since, to]).map_err(sql)?;
    tx.execute(&zeros, []).map_err(sql)?;
    tx.execute(&start, params![to]).map_err(sql)?;
    Ok(to)
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
    let since = advance(&tx, window_since(at))?;
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
        let mut window = tx
            .prepare(
                "INSERT INTO vexil_usage_window (flag, count) VALUES (?1, ?2)
                 ON CONFLICT (flag) DO UPDATE SET count = count + excluded.count",
            )
            .map_err(sql)?;
        let mut previous: Option<&str> = None;
        for c in &counts {
            let n = i64::try_from(c.count).unwrap_or(i64::MAX);
            add.execute(params![
                micros(c.hour),
                c.flag,
                c.variant,
                c.reason,
                c.rule,
                c.error,
                n
            ])
            .map_err(sql)?;
            if micros(c.hour) >= since {
                window.execute(params![c.flag, n]).map_err(sql)?;
            }
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
    // The window never starts before the oldest hour kept, so its sums
    // are always of hours the table still holds.
    advance(&tx, micros(before))?;
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
    // Totals up to now come from the window's sums (one row per flag),
    // in one statement, so the sums and the buckets correcting them are
    // of one moment.
    let windowed = q.totals_only && q.until.is_none();
    let sql_text = if windowed {
        select_window_totals(q.flag.is_some(), false)
    } else {
        select_counts(q.totals_only, q.flag.is_some(), false)
    };
    let mut stmt = conn.prepare(&sql_text).map_err(sql)?;
    let rows = match (&q.flag, windowed) {
        (Some(flag), true) => stmt.query(params![since, flag]),
        (None, true) => stmt.query(params![since]),
        (Some(flag), false) => stmt.query(params![since, until, flag]),
        (None, false) => stmt.query(params![since, until]),
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
