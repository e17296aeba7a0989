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
