//! Vexil's flag lifecycle, from the sources and their git history: the
//! inventory of every flag and experiment (`inventory.rs`), whether a flag
//! serves one value to everyone (`launched.rs`), stale flags with their
//! evidence (`stale.rs`), the code's references to flags (`refs.rs`, over
//! the lexer of application code in `code.rs`), the semantic diff of two
//! versions of the sources (`diff.rs`, with `revision.rs` reading a git
//! revision's) or of two bundles (`compiled.rs` renders the IR for it), the clean-up of a flag from the sources (`cleanup.rs`),
//! a server's usage (`usage.rs`), the release schedule (`schedule.rs`),
//! and the reports as tables, CSV and Markdown (`report.rs`). The CLI only
//! reads arguments and prints.

#![warn(missing_docs)]

pub mod cleanup;
mod code;
pub mod compiled;
pub mod diff;
pub mod history;
pub mod inventory;
pub mod launched;
pub mod refs;
pub mod report;
pub mod revision;
pub mod schedule;
pub mod stale;
pub mod usage;

pub use cleanup::{cleanup, Cleanup};
pub use diff::{diff, diff_bundles, Change, What};
pub use history::History;
pub use inventory::{inventory, Entry, Status};
pub use refs::{search as refs, Key, Refs};
pub use schedule::schedule;
pub use stale::{stale, Evidence, Stale, StaleOptions};
pub use usage::Usage;

/// Microseconds in a day.
pub(crate) const DAY: i64 = 86_400_000_000;

/// A time in microseconds as its day, `YYYY-MM-DD` (UTC).
pub(crate) fn date(micros: i64) -> String {
    jiff::Timestamp::from_microsecond(micros)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_else(|_| micros.to_string())
}
