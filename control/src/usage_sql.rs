//! The SQL of the usage rollups, shared by the SQLite and PostgreSQL
//! stores (`sqlite_usage.rs`, `postgres_usage.rs`): the writers' merge of
//! counts, the window of per-flag sums and the reads.

use jiff::Timestamp;

use crate::usage::{hour_of, UsageCount, USAGE_WINDOW_HOURS};

/// `counts` with each hour rounded down, sorted, and counts of equal
/// hour and labels summed: one row per key, in one order, so that
/// concurrent writers lock rows in the same order.
pub(crate) fn merged(mut counts: Vec<UsageCount>) -> Vec<UsageCount> {
    for c in &mut counts {
        c.hour = hour_of(c.hour);
    }
    counts.sort_by(|a, b| key(a).cmp(&key(b)));
    let mut out: Vec<UsageCount> = Vec::with_capacity(counts.len());
    for c in counts {
        match out.last_mut() {
            Some(last) if key(last) == key(&c) => last.count = last.count.saturating_add(c.count),
            _ => out.push(c),
        }
    }
    out
}

fn key(c: &UsageCount) -> (Timestamp, &str, &str, &str, &str, &str) {
    (c.hour, &c.flag, &c.variant, &c.reason, &c.rule, &c.error)
}

/// The first hour (in microseconds) of the window a writer at `at` keeps.
pub(crate) fn window_since(at: Timestamp) -> i64 {
    crate::model::micros(hour_of(at)) - USAGE_WINDOW_HOURS * 3600 * 1_000_000
}

fn placeholder(postgres: bool) -> impl Fn(u8) -> String {
    move |n| {
        if postgres {
            format!("${n}")
        } else {
            format!("?{n}")
        }
    }
}

/// Moving the window's start forward from parameter 1 to parameter 2
/// (both in microseconds, the first below the second): the hours that
/// fall out are subtracted from their flags' sums, sums that reach zero
/// are deleted, and the start is set. Run in the writer's transaction,
/// after reading the start (`FOR UPDATE` on PostgreSQL).
pub(crate) fn advance_window(postgres: bool) -> [String; 3] {
    let p = placeholder(postgres);
    let (from, to) = (p(1), p(2));
    let cast = if postgres { "::bigint" } else { "" };
    [
        format!(
            "INSERT INTO vexil_usage_window (flag, count)
             SELECT flag, -SUM(count){cast} FROM vexil_usage
             WHERE hour >= {from}{cast} AND hour < {to}{cast} GROUP BY flag
             ON CONFLICT (flag) DO UPDATE SET count = vexil_usage_window.count + excluded.count"
        ),
        "DELETE FROM vexil_usage_window WHERE count = 0".to_string(),
        // (its one parameter, the new start, is parameter 1)
        format!("UPDATE vexil_usage_window_start SET since = {from}{cast} WHERE id = 1"),
    ]
}

/// Each flag's sum of the hours from parameter 1 on (and of parameter 2
/// alone when `one_flag`), from the window's sums corrected by the hours
/// between the window's start and parameter 1 (subtracted when the
/// window starts earlier, added when it starts later): one row per flag,
/// where summing the buckets would read every hour's rows. The rows are
/// shaped as [`select_counts`]'s totals.
pub(crate) fn select_window_totals(one_flag: bool, postgres: bool) -> String {
    let p = placeholder(postgres);
    let (cast, sum) = if postgres {
        ("::bigint", "SUM(n)::bigint")
    } else {
        ("", "SUM(n)")
    };
    let since = format!("{}{cast}", p(1));
    // A scalar subquery, not a join: both planners evaluate it once and
    // read the hours between through the primary key's range (joined,
    // PostgreSQL scanned every bucket).
    let start = "(SELECT since FROM vexil_usage_window_start WHERE id = 1)";
    let (flag, window_flag) = if one_flag {
        (
            format!(" AND u.flag = {}", p(2)),
            format!(" WHERE flag = {}", p(2)),
        )
    } else {
        (String::new(), String::new())
    };
    format!(
        "SELECT {since}, flag, '', '', '', '', {sum} FROM (
             SELECT flag, count AS n FROM vexil_usage_window{window_flag}
             UNION ALL
             SELECT u.flag, -u.count FROM vexil_usage u
             WHERE u.hour >= {start} AND u.hour < {since}{flag}
             UNION ALL
             SELECT u.flag, u.count FROM vexil_usage u
             WHERE u.hour >= {since} AND u.hour < {start}{flag}
         ) t GROUP BY flag HAVING SUM(n) <> 0 ORDER BY flag"
    )
}

/// The query of a [`UsageQuery`]'s counts: parameters 1 and 2 are the
/// window's first and last-plus-one hour, 3 the flag when `one_flag`.
/// `postgres` spells its parameters `$N` with the casts PostgreSQL needs,
/// SQLite's `?N`.
pub(crate) fn select_counts(totals_only: bool, one_flag: bool, postgres: bool) -> String {
    let p = |n: u8| {
        if postgres {
            format!("${n}")
        } else {
            format!("?{n}")
        }
    };
    let flag = if one_flag {
        format!("flag = {} AND ", p(3))
    } else {
        String::new()
    };
    let window = format!("{flag}hour >= {} AND hour < {}", p(1), p(2));
    if totals_only {
        let (hour, sum) = if postgres {
            ("$1::bigint", "SUM(count)::bigint")
        } else {
            ("?1", "SUM(count)")
        };
        format!(
            "SELECT {hour}, flag, '', '', '', '', {sum} FROM vexil_usage
             WHERE {window} GROUP BY flag ORDER BY flag"
        )
    } else {
        format!(
            "SELECT hour, flag, variant, reason, rule, error, count FROM vexil_usage
             WHERE {window} ORDER BY hour, flag, variant, reason, rule, error"
        )
    }
}
