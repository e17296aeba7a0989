//! Usage rollups: every evaluation is counted in a per-version array of
//! atomic cells (one per flag or experiment, variant, matched rule and
//! reason or error code), resolved like the Prometheus counters so an
//! evaluation adds one relaxed increment and takes no lock and allocates
//! nothing (a target's cells are allocated at its first evaluation). A
//! flusher task reads and resets the cells every `[usage]
//! flush_interval_ms` (and once more at a graceful stop) and adds them to
//! the store's hourly buckets as one batch of deltas, so servers sharing
//! one store add up; it also deletes buckets past the retention.
//!
//! What is lost: a crash (or `kill -9`) loses the evaluations counted
//! since the last flush, at most one flush interval. While the store is
//! away, deltas are kept in memory (summed per hour and labels) and
//! written when it returns. A flush's deltas land in the hour the flush
//! happens in, so evaluations in the last interval before an hour's end
//! may be counted in the next hour.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use vexil_control::{hour_of, UsageCount};
use vexil_ir::{ErrorCode, Reason};

use crate::metrics::EvalCounters;
use crate::state::App;

/// Outcome columns: the five reasons other than `ERROR`, then `ERROR`
/// with each error code.
const OUTCOMES: usize = 5 + ErrorCode::ALL.len();

/// The column of an evaluation's reason (and error code).
pub(crate) fn outcome(reason: Reason, error: Option<ErrorCode>) -> usize {
    match reason {
        Reason::Error => {
            let code = error.unwrap_or(ErrorCode::General);
            5 + ErrorCode::ALL.iter().position(|c| *c == code).unwrap_or(5)
        }
        other => Reason::ALL
            .iter()
            .position(|r| *r == other)
            .unwrap_or(0)
            .min(4),
    }
}

fn outcome_labels(column: usize) -> (&'static str, &'static str) {
    match column.checked_sub(5) {
        None => (Reason::ALL[column].as_str(), ""),
        Some(code) => (
            Reason::Error.as_str(),
            ErrorCode::ALL.get(code).map_or("GENERAL", |c| c.as_str()),
        ),
    }
}

/// One target's usage cells: `(row * (rules + 1) + rule) * OUTCOMES +
/// outcome`, where row 0 is "no variant" and rule 0 "no rule matched".
pub(crate) struct TargetUsage {
    /// Each rule's label: its name, else `#N` (1-based).
    rules: Box<[Box<str>]>,
    rows: usize,
    cells: OnceLock<Box<[AtomicU64]>>,
}

impl TargetUsage {
    pub(crate) fn new(rules: &[vexil_ir::Rule], rows: usize) -> TargetUsage {
        TargetUsage {
            rules: rules
                .iter()
                .enumerate()
                .map(|(i, r)| match &r.name {
                    Some(name) => name.as_str().into(),
                    None => format!("#{}", i + 1).into(),
                })
                .collect(),
            rows,
            cells: OnceLock::new(),
        }
    }

    /// Count one evaluation; `false` when its rule is not one of the
    /// target's (the caller counts it another way).
    pub(crate) fn count(&self, row: usize, rule: Option<u32>, column: usize) -> bool {
        let rule = match rule {
            None => 0,
            Some(i) if (i as usize) < self.rules.len() => i as usize + 1,
            Some(_) => return false,
        };
        let width = self.rules.len() + 1;
        let cells = self.cells.get_or_init(|| {
            (0..self.rows * width * OUTCOMES)
                .map(|_| AtomicU64::new(0))
                .collect()
        });
        match cells.get((row * width + rule) * OUTCOMES + column) {
            Some(cell) => {
                cell.fetch_add(1, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }

    /// Read and reset every cell, handing each non-zero count to `out`
    /// with its (row, rule label, outcome column).
    pub(crate) fn drain(&self, mut out: impl FnMut(usize, &str, usize, u64)) {
        let Some(cells) = self.cells.get() else {
            return;
        };
        let width = self.rules.len() + 1;
        for (i, cell) in cells.iter().enumerate() {
            if cell.load(Ordering::Relaxed) == 0 {
                continue;
            }
            let n = cell.swap(0, Ordering::Relaxed);
            if n == 0 {
                continue;
            }
            let (row, rest) = (i / (width * OUTCOMES), i % (width * OUTCOMES));
            let (rule, column) = (rest / OUTCOMES, rest % OUTCOMES);
            let label = match rule.checked_sub(1) {
                None => "",
                Some(r) => self.rules.get(r).map_or("", |l| &**l),
            };
            out(row, label, column, n);
        }
    }
}

/// Labels of an evaluation that has no cell (a variant the version does
/// not declare): counted under a lock, which only such evaluations take.
type Labels = (String, String, String, String, String);

/// The server's side of the usage rollups: the counters of every version
/// not yet drained for the last time, and the deltas the store has not
/// taken yet.
#[derive(Default)]
pub struct Usage {
    live: Mutex<Vec<Arc<EvalCounters>>>,
    odd: Mutex<HashMap<Labels, u64>>,
    /// Deltas not yet written (the store was away); one flush at a time.
    pending: tokio::sync::Mutex<Vec<UsageCount>>,
}

/// At most this many buckets wait for a store that is away; beyond, the
/// oldest are dropped (and the loss logged).
const MAX_PENDING: usize = 1_000_000;

impl Usage {
    /// Count the evaluations of a version from now on (nothing when its
    /// counters have no usage cells: the rollups are off, no flusher
    /// would ever let go of them).
    pub fn track(&self, counters: Arc<EvalCounters>) {
        if !counters.usage_on() {
            return;
        }
        if let Ok(mut live) = self.live.lock() {
            live.push(counters);
        }
    }

    /// Count an evaluation that has no cell.
    pub(crate) fn count_odd(&self, flag: &str, variant: &str, rule: &str, column: usize) {
        let (reason, error) = outcome_labels(column);
        if let Ok(mut odd) = self.odd.lock() {
            *odd.entry((
                flag.to_string(),
                variant.to_string(),
                reason.to_string(),
                rule.to_string(),
                error.to_string(),
            ))
            .or_default() += 1;
        }
    }

    /// Read and reset every count, as deltas in the hour of `now`; the
    /// counters of versions no longer served, read for the last time, are
    /// handed back (for the retire thread: freeing a 10,000-flag
    /// version's counters takes milliseconds, too long for the request
    /// thread the flusher runs on).
    fn drain(&self, now: Timestamp) -> (Vec<UsageCount>, Vec<Arc<EvalCounters>>) {
        let hour = hour_of(now);
        let mut out = Vec::new();
        let mut finished = Vec::new();
        let Ok(mut live) = self.live.lock() else {
            return (out, finished);
        };
        live.retain(|counters| {
            // Only this list holds it: no evaluation can count into it
            // any more, so this read is its last.
            let last = Arc::strong_count(counters) == 1;
            counters.drain_usage(|flag, variant, rule, column, count| {
                let (reason, error) = outcome_labels(column);
                out.push(UsageCount {
                    hour,
                    flag: flag.to_string(),
                    variant: variant.to_string(),
                    reason: reason.to_string(),
                    rule: rule.to_string(),
                    error: error.to_string(),
                    count,
                });
            });
            if last {
                finished.push(counters.clone());
            }
            !last
        });
        drop(live);
        if let Ok(mut odd) = self.odd.lock() {
            for ((flag, variant, reason, rule, error), count) in odd.drain() {
                out.push(UsageCount {
                    hour,
                    flag,
                    variant,
                    reason,
                    rule,
                    error,
                    count,
                });
            }
        }
        (out, finished)
    }
}

/// Write the counts since the last flush to the store; kept for the next
/// flush when the store is away.
pub async fn flush(app: &App) {
    let now = timestamp(app.now());
    let mut pending = app.usage.pending.lock().await;
    let (counts, finished) = app.usage.drain(now);
    if !finished.is_empty() {
        app.retire(finished);
    }
    pending.extend(counts);
    if pending.is_empty() {
        return;
    }
    if pending.len() > MAX_PENDING {
        pending.sort();
        let over = pending.len() - MAX_PENDING;
        pending.drain(..over);
        tracing::error!(
            dropped = over,
            "the store has been away too long: the oldest usage counts were dropped"
        );
    }
    match app.control.store.add_usage(pending.clone(), now).await {
        Ok(()) => pending.clear(),
        Err(e) => {
            tracing::warn!(error = %e, buckets = pending.len(), "usage not written; trying again at the next flush");
        }
    }
}

fn timestamp(micros: i64) -> Timestamp {
    Timestamp::from_microsecond(micros).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// The flusher: marks the store's usage history as started, then writes
/// the counts every flush interval and deletes buckets past the
/// retention, until the server stops (its last flush is
/// [`Running::stop`](crate::Running::stop)'s).
pub async fn follow(app: Arc<App>) {
    let every = Duration::from_millis(app.config.usage.flush_interval_ms.max(10));
    let mut stopping = app.stopping();
    let mut started = false;
    let mut pruned_hour: Option<Timestamp> = None;
    loop {
        let now = timestamp(app.now());
        if !started {
            match app.control.store.begin_usage(now).await {
                Ok(_) => started = true,
                Err(e) => tracing::warn!(error = %e, "cannot mark the start of usage history"),
            }
        }
        if pruned_hour != Some(hour_of(now)) {
            let days = i64::from(app.config.usage.retention_days.max(1));
            let cut = hour_of(now) - SignedDuration::from_hours(24 * days);
            match app.control.store.prune_usage(cut).await {
                Ok(_) => pruned_hour = Some(hour_of(now)),
                Err(e) => tracing::warn!(error = %e, "cannot delete old usage buckets"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stopping.changed() => return,
        }
        flush(&app).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counters() -> Arc<EvalCounters> {
        let mut project = vexil_compiler::Project::new();
        project.set_source(
            "a.flag",
            "flag dark-mode: bool {\n  kind release\n  owner \"web\"\n  default false\n}\n".into(),
        );
        let bundle = project.bundle(false).expect("the flag compiles");
        Arc::new(EvalCounters::new(&bundle, true))
    }

    #[test]
    fn a_replaced_versions_counters_are_handed_back_after_their_last_read_not_freed() {
        let usage = Usage::default();
        let (replaced, served) = (counters(), counters());
        usage.track(replaced.clone());
        usage.track(served.clone());
        let now = Timestamp::UNIX_EPOCH;

        // Both still in use: read, kept, nothing handed back.
        let (_, finished) = usage.drain(now);
        assert!(finished.is_empty());

        // The replaced version is gone from every request: its next read
        // is its last, and its counters come back to be freed elsewhere.
        let replaced_weak = Arc::downgrade(&replaced);
        drop(replaced);
        let (_, finished) = usage.drain(now);
        assert_eq!(finished.len(), 1);
        assert!(Arc::ptr_eq(
            &finished[0],
            &replaced_weak.upgrade().expect("not freed by the drain")
        ));
        drop(finished);
        assert!(replaced_weak.upgrade().is_none());

        // The served version's counters stay tracked.
        let (_, finished) = usage.drain(now);
        assert!(finished.is_empty());
        assert_eq!(usage.live.lock().expect("not poisoned").len(), 1);
        drop(served);
    }
}
