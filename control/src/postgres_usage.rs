//! The usage rollups in PostgreSQL: a batch of deltas is one statement
//! over arrays (`UNNEST`), its rows in key order, so servers of a fleet
//! adding to the same hours wait for each other instead of deadlocking.
//! The window's per-flag sums are kept in the same transaction, after
//! locking the window's start, which serialises the fleet's writers.

use jiff::Timestamp;
use tokio_postgres::Client;

use crate::model::{from_micros, micros};
use crate::postgres::pg;
use crate::store::StoreError;
use crate::usage::{hour_of, UsageCount, UsageQuery, UsageReport};
use crate::usage_sql::{advance_window, merged, select_counts, select_window_totals, window_since};

pub(crate) async fn begin(c: &Client, now: Timestamp) -> Result<Timestamp, StoreError> {
    c.execute(
        "INSERT INTO vexil_usage_history (id, starts_at) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
        &[&micros(now)],
    )
    .await
    .map_err(pg)?;
    let at: i64 = c
        .query_one(
            "SELECT starts_at FROM vexil_usage_history WHERE id = 1",
            &[],
        )
        .await
        .map_err(pg)?
        .get(0);
    Ok(from_micros(at))
}

/// Move the window's start forward to `to` (never back), holding its row
/// until the transaction ends; the start after.
async fn advance(tx: &tokio_postgres::Transaction<'_>, to: i64) -> Result<i64, StoreError> {
    let since: i64 = tx
        .query_one(
            "SELECT since FROM vexil_usage_window_start WHERE id = 1 FOR UPDATE",
            &[],
        )
        .await
        .map_err(pg)?
        .get(0);
    if to <= since {
        return Ok(since);
    }
    let [subtract, zeros, start] = advance_window(true);
    tx.execute(&subtract, &[&since, &to]).await.map_err(pg)?;
    tx.execute(&zeros, &[]).await.map_err(pg)?;
    tx.execute(&start, &[&to]).await.map_err(pg)?;
    Ok(to)
}

pub(crate) async fn add(
    c: &mut Client,
    counts: Vec<UsageCount>,
    at: Timestamp,
) -> Result<(), StoreError> {
    let counts = merged(counts);
    if counts.is_empty() {
        return Ok(());
    }
    let hours: Vec<i64> = counts.iter().map(|c| micros(c.hour)).collect();
    let column = |f: fn(&UsageCount) -> &String| -> Vec<&str> {
        counts.iter().map(|c| f(c).as_str()).collect()
    };
    let (flags, variants, reasons) = (
        column(|c| &c.flag),
        column(|c| &c.variant),
        column(|c| &c.reason),
    );
    let (rules, errors) = (column(|c| &c.rule), column(|c| &c.error));
    let numbers: Vec<i64> = counts
        .iter()
        .map(|c| i64::try_from(c.count).unwrap_or(i64::MAX))
        .collect();
    let mut names: Vec<&str> = flags.clone();
    names.sort_unstable();
    names.dedup();
    let tx = c.transaction().await.map_err(pg)?;
    let since = advance(&tx, window_since(at)).await?;
    // Each flag's delta to the window, in name order (as `counts`).
    let mut window: std::collections::BTreeMap<&str, i64> = Default::default();
    for (c, n) in counts.iter().zip(&numbers) {
        if micros(c.hour) >= since {
            let sum = window.entry(&c.flag).or_default();
            *sum = sum.saturating_add(*n);
        }
    }
    let (window_flags, window_counts): (Vec<&str>, Vec<i64>) = window.into_iter().unzip();
    tx.execute(
        "INSERT INTO vexil_usage (hour, flag, variant, reason, rule, error, count)
         SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[])
         ON CONFLICT (hour, flag, variant, reason, rule, error)
         DO UPDATE SET count = vexil_usage.count + excluded.count",
        &[&hours, &flags, &variants, &reasons, &rules, &errors, &numbers],
    )
    .await
    .map_err(pg)?;
    tx.execute(
        "INSERT INTO vexil_usage_window (flag, count)
         SELECT * FROM UNNEST($1::text[], $2::bigint[])
         ON CONFLICT (flag) DO UPDATE SET count = vexil_usage_window.count + excluded.count",
        &[&window_flags, &window_counts],
    )
    .await
    .map_err(pg)?;
    tx.execute(
        "INSERT INTO vexil_usage_last (flag, at) SELECT UNNEST($1::text[]), $2
         ON CONFLICT (flag) DO UPDATE SET at = GREATEST(vexil_usage_last.at, excluded.at)",
        &[&names, &micros(at)],
    )
    .await
    .map_err(pg)?;
    tx.commit().await.map_err(pg)
}

pub(crate) async fn prune(c: &mut Client, before: Timestamp) -> Result<u64, StoreError> {
    let tx = c.transaction().await.map_err(pg)?;
    // The window never starts before the oldest hour kept (see
    // sqlite_usage).
    advance(&tx, micros(before)).await?;
    let deleted = tx
        .execute(
            "DELETE FROM vexil_usage WHERE hour < $1",
            &[&micros(before)],
        )
        .await
        .map_err(pg)?;
    tx.execute(
        "UPDATE vexil_usage_history SET starts_at = GREATEST(starts_at, $1) WHERE id = 1",
        &[&micros(before)],
    )
    .await
    .map_err(pg)?;
    tx.commit().await.map_err(pg)?;
    Ok(deleted)
}

pub(crate) async fn read(c: &Client, q: &UsageQuery) -> Result<UsageReport, StoreError> {
    let since = q.since.map_or(i64::MIN, |t| micros(hour_of(t)));
    let until = q.until.map_or(i64::MAX, micros);
    // One flag's hours through the (flag, hour) index; totals up to now
    // from the window's sums (see sqlite_usage).
    let windowed = q.totals_only && q.until.is_none();
    let sql_text = if windowed {
        select_window_totals(q.flag.is_some(), true)
    } else {
        select_counts(q.totals_only, q.flag.is_some(), true)
    };
    let counts = match (&q.flag, windowed) {
        (Some(flag), true) => c.query(&sql_text, &[&since, flag]).await,
        (None, true) => c.query(&sql_text, &[&since]).await,
        (Some(flag), false) => c.query(&sql_text, &[&since, &until, flag]).await,
        (None, false) => c.query(&sql_text, &[&since, &until]).await,
    }
    .map_err(pg)?
    .iter()
    .map(|r| UsageCount {
        hour: from_micros(r.get(0)),
        flag: r.get(1),
        variant: r.get(2),
        reason: r.get(3),
        rule: r.get(4),
        error: r.get(5),
        count: r.get::<_, i64>(6).max(0) as u64,
    })
    .collect();
    let last_evaluated = c
        .query(
            "SELECT flag, at FROM vexil_usage_last WHERE ($1::text IS NULL OR flag = $1) ORDER BY flag",
            &[&q.flag],
        )
        .await
        .map_err(pg)?
        .iter()
        .map(|r| (r.get::<_, String>(0), from_micros(r.get(1))))
        .collect();
    let history_starts = c
        .query_opt(
            "SELECT starts_at FROM vexil_usage_history WHERE id = 1",
            &[],
        )
        .await
        .map_err(pg)?
        .map(|r| from_micros(r.get(0)));
    Ok(UsageReport {
        counts,
        last_evaluated,
        history_starts,
    })
}
