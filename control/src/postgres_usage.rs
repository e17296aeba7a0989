//! The usage rollups in PostgreSQL: a batch of deltas is one statement
//! over arrays (`UNNEST`), its rows in key order, so servers of a fleet
//! adding to the same hours wait for each other instead of deadlocking.

use jiff::Timestamp;
use tokio_postgres::Client;

use crate::model::{from_micros, micros};
use crate::postgres::pg;
use crate::store::StoreError;
use crate::usage::{hour_of, merged, select_counts, UsageCount, UsageQuery, UsageReport};

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
    // One flag's hours through the (flag, hour) index (see sqlite_usage).
    let sql_text = select_counts(q.totals_only, q.flag.is_some(), true);
    let counts = match &q.flag {
        Some(flag) => c.query(&sql_text, &[&since, &until, flag]).await,
        None => c.query(&sql_text, &[&since, &until]).await,
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
