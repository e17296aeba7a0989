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

/// The window the store keeps each flag's sum of (`vexil_usage_window`,
/// migration 6): the hours from this many before the writer's hour on, the
/// window of the dashboard's list of flags.
pub const USAGE_WINDOW_HOURS: i64 = 24;
