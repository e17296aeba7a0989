//! Vexil's flag lifecycle, from the sources and their git history: the
//! inventory of every flag and experiment (`inventory.rs`), whether a flag
//! serves one value to everyone (`launched.rs`), stale flags with their
//! evidence (`stale.rs`), and the reports as tables, CSV and Markdown
//! (`report.rs`). The CLI only reads arguments and prints.

#![warn(missing_docs)]

pub mod history;
pub mod inventory;
pub mod launched;
pub mod report;
pub mod stale;

pub use history::History;
pub use inventory::{inventory, Entry, Status};
pub use stale::{stale, Evidence, Stale, StaleOptions};

/// Microseconds in a day.
pub(crate) const DAY: i64 = 86_400_000_000;

/// A time in microseconds as its day, `YYYY-MM-DD` (UTC).
pub(crate) fn date(micros: i64) -> String {
    jiff::Timestamp::from_microsecond(micros)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_else(|_| micros.to_string())
}
