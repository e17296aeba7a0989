//! Runtime overrides over the flags compiled from git, and the append-only
//! audit log of every change, in one of two stores behind [`Store`]:
//! SQLite in the server's data directory (the default) or PostgreSQL
//! shared by a fleet (`postgres://` URL).
//!
//! Terms: an [`Override`] replaces one flag's or experiment's compiled
//! behaviour ([`Action`]) until it is lifted or expires; the
//! [`OverrideState`] is every override with a version number that counts
//! up with each change, so that a write can name the state it read
//! (optimistic concurrency); an [`AuditEntry`] records who did what,
//! when, why and from where. Without the default feature `stores`, the
//! data alone (what a follower reads from a server).

#![warn(missing_docs)]

mod model;
#[cfg(feature = "stores")]
mod postgres;
#[cfg(feature = "stores")]
mod postgres_sessions;
#[cfg(feature = "stores")]
mod postgres_usage;
mod session;
#[cfg(feature = "stores")]
mod sqlite;
#[cfg(feature = "stores")]
mod sqlite_sessions;
#[cfg(feature = "stores")]
mod sqlite_usage;
#[cfg(feature = "stores")]
mod store;
#[cfg(feature = "stores")]
pub mod testing;
mod usage;
#[cfg(feature = "stores")]
mod usage_sql;

pub use model::{
    Action, AuditEntry, AuditKind, AuditQuery, NewEntry, Override, OverrideState, StoredKey,
};
#[cfg(feature = "stores")]
pub use postgres::PostgresStore;
pub use session::StoredSession;
#[cfg(feature = "stores")]
pub use sqlite::SqliteStore;
#[cfg(feature = "stores")]
pub use store::{open, Store, StoreError, Write};
pub use usage::{hour_of, UsageCount, UsageQuery, UsageReport, USAGE_WINDOW_HOURS};
