//! Usage rollups: how often each flag and experiment was evaluated, per
//! variant, reason, matched rule and error code, in hourly buckets (the
//! UTC hour's start), plus each one's last evaluation and when the store's
//! history of usage starts. Servers write deltas (`count = count +
//! delta`), so a fleet sharing one store adds up.

use jiff::Timestamp;

/// One hourly bucket's count for one combination of labels. An absent
/// label is the empty string (no variant, no rule, no error).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct UsageCount {
    /// The start of the UTC hour the evaluations fell in.
    pub hour: Timestamp,
    /// The flag's or experiment's name.
    pub flag: String,
    /// The served variant's name, or "".
    pub variant: String,
    /// The OpenFeature reason (`TARGETING_MATCH`).
    pub reason: String,
    /// The rule that decided the value: its name, else `#N` (1-based
    /// position in its flag), or "" when no rule matched.
    pub rule: String,
    /// The OpenFeature error code when the reason is `ERROR`, or "".
    pub error: String,
    /// Evaluations.
    pub count: u64,
}

/// Which buckets to read: `since` (rounded down to its hour) up to
/// `until` (exclusive; none: everything after `since`), one flag or all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UsageQuery {
    /// The first hour wanted.
    pub since: Option<Timestamp>,
    /// The first hour not wanted.
    pub until: Option<Timestamp>,
    /// One flag or experiment; none: all.
    pub flag: Option<String>,
    /// Only each flag's sum over the window: one count per flag, its hour
    /// the window's first, its labels empty (what a list of every flag
    /// needs, without reading every hour's rows).
    pub totals_only: bool,
}

/// What the store holds for a [`UsageQuery`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UsageReport {
    /// The buckets, by hour, then labels.
    pub counts: Vec<UsageCount>,
    /// Each flag's last evaluation (to the writer's flush interval), for
    /// the flags asked about; kept past the retention.
    pub last_evaluated: Vec<(String, Timestamp)>,
    /// Since when the store holds every server's usage: the first time a
    /// server recorded usage into it, moved forward as retention deletes
    /// older hours. None: no usage was ever recorded.
    pub history_starts: Option<Timestamp>,
}

/// The start of the UTC hour `t` falls in.
pub fn hour_of(t: Timestamp) -> Timestamp {
    let s = t.as_second();
    Timestamp::from_second(s - s.rem_euclid(3600)).unwrap_or(t)
}

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

/// The window the store keeps each flag's sum of (`vexil_usage_window`,
/// migration 6): the hours from this many before the writer's hour on, the
/// window of the dashboard's list of flags.
pub const USAGE_WINDOW_HOURS: i64 = 24;

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
