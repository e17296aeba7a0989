//! The one interface both stores implement, and the choice between them.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use jiff::Timestamp;
use tokio::sync::watch;

use crate::model::{AuditEntry, AuditQuery, NewEntry, Override, OverrideState, StoredKey};
use crate::postgres::PostgresStore;
use crate::session::StoredSession;
use crate::sqlite::SqliteStore;
use crate::usage::{UsageCount, UsageQuery, UsageReport};

/// A change to the overrides.
#[derive(Clone, Debug, PartialEq)]
pub enum Write {
    /// Set or replace the override of its flag.
    Set(Override),
    /// Lift the override of this flag.
    Lift(String),
}

impl Write {
    /// The flag it changes.
    pub fn flag(&self) -> &str {
        match self {
            Write::Set(o) => &o.flag,
            Write::Lift(flag) => flag,
        }
    }
}

/// Why a store did not do what it was asked.
#[derive(Clone, Debug, PartialEq)]
pub enum StoreError {
    /// The write named a state version that is no longer current (HTTP 412).
    Stale {
        /// The version the write named.
        expected: u64,
        /// The current version.
        current: u64,
    },
    /// There is no override of this flag to lift (HTTP 404).
    NoOverride(String),
    /// There is no key with this id that is not revoked already (HTTP 404).
    NoKey(String),
    /// The database cannot be reached or failed (HTTP 503); the caller
    /// keeps its last known state and retries later.
    Unavailable(String),
    /// The store refused the change: the audit log is append-only.
    Refused(String),
    /// The database holds something this version cannot read (a newer
    /// schema, a corrupt row).
    Corrupt(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Stale { expected, current } => write!(
                f,
                "the overrides changed since version {expected} was read (now version {current}): read them again and retry"
            ),
            StoreError::NoOverride(flag) => write!(f, "`{flag}` has no override to lift"),
            StoreError::NoKey(id) => write!(f, "there is no key `{id}` to revoke (or it is revoked already)"),
            StoreError::Unavailable(e) => write!(f, "the override store is unavailable: {e}"),
            StoreError::Refused(e) => write!(f, "the override store refused the change: {e}"),
            StoreError::Corrupt(e) => write!(f, "the override store holds unreadable data: {e}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// Where overrides and the audit log live. Every write is atomic: the
/// override, the state's version and the audit entry are committed
/// together or not at all, and a write is acknowledged only once durable.
#[async_trait]
pub trait Store: Send + Sync {
    /// What the store is, for logs and `/status` (never a password).
    fn describe(&self) -> String;

    /// Every override and the state's version.
    async fn state(&self) -> Result<OverrideState, StoreError>;

    /// Apply `write` if the state's version is `expected` (`None`: whatever
    /// it is), recording `entry` with the override before and after; the
    /// new state's version is one more.
    async fn write(
        &self,
        expected: Option<u64>,
        write: Write,
        entry: NewEntry,
    ) -> Result<OverrideState, StoreError>;

    /// Lift every override whose expiry is at or before `now`, each with an
    /// `override_expired` entry; the overrides lifted (none when another
    /// server lifted them first).
    async fn expire(&self, now: Timestamp) -> Result<Vec<Override>, StoreError>;

    /// Append an entry to the audit log.
    async fn append(&self, entry: NewEntry) -> Result<AuditEntry, StoreError>;

    /// Entries matching `query`, oldest first.
    async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError>;

    /// Each flag's newest entry among those that change what it serves
    /// (an override set, lifted or expired, a guardrail breached), oldest
    /// first: the dashboard's "last change".
    async fn last_changes(&self) -> Result<Vec<AuditEntry>, StoreError>;

    /// Audit entries after position `after` (an entry's id), oldest first,
    /// at most `limit`: what a webhook has not taken yet.
    async fn audit_after(&self, after: u64, limit: u32) -> Result<Vec<AuditEntry>, StoreError>;

    /// Webhook `hook`'s delivery position: the id of the last audit entry
    /// it has taken. A hook seen for the first time starts at the end of
    /// the log (it is sent what is appended from then on).
    async fn hook_position(&self, hook: &str) -> Result<u64, StoreError>;

    /// Move `hook`'s position from `from` to `to`; `false` when it was not
    /// at `from` (another server sharing the store moved it first).
    async fn advance_hook(&self, hook: &str, from: u64, to: u64) -> Result<bool, StoreError>;

    /// Store `key` (created at run time) and append `entry`, together.
    async fn create_key(&self, key: StoredKey, entry: NewEntry) -> Result<StoredKey, StoreError>;

    /// Mark key `id` revoked at `at` by `by` and append `entry`, together;
    /// [`StoreError::NoKey`] when there is no such key not yet revoked.
    async fn revoke_key(
        &self,
        id: &str,
        at: Timestamp,
        by: &str,
        entry: NewEntry,
    ) -> Result<StoredKey, StoreError>;

    /// Every key created at run time, revoked ones too, oldest first.
    async fn keys(&self) -> Result<Vec<StoredKey>, StoreError>;

    /// Mark the usage history as complete from `now` unless it already
    /// starts earlier; when it starts.
    async fn begin_usage(&self, now: Timestamp) -> Result<Timestamp, StoreError>;

    /// Add `counts` (deltas, at most one per hour and labels) to the
    /// rollups and mark each flag among them last evaluated at `at`, in
    /// one transaction.
    async fn add_usage(&self, counts: Vec<UsageCount>, at: Timestamp) -> Result<(), StoreError>;

    /// Delete the hours before `before` (retention), moving the history's
    /// start to `before` if it was earlier; the buckets deleted.
    async fn prune_usage(&self, before: Timestamp) -> Result<u64, StoreError>;

    /// The rollups `query` asks for.
    async fn usage(&self, query: &UsageQuery) -> Result<UsageReport, StoreError>;

    /// Keep a new dashboard session, deleting those expired at `now`.
    async fn open_session(&self, session: StoredSession, now: Timestamp) -> Result<(), StoreError>;

    /// The session whose token has this SHA-256 (hexadecimal), unless it
    /// has expired at `now`.
    async fn session(
        &self,
        digest: &str,
        now: Timestamp,
    ) -> Result<Option<StoredSession>, StoreError>;

    /// End the session whose token has this SHA-256; `false` when there
    /// was none.
    async fn close_session(&self, digest: &str) -> Result<bool, StoreError>;

    /// The state's version, updated when any writer (this process or
    /// another sharing the store) changes the overrides: await a change,
    /// then read [`state`](Store::state).
    fn changes(&self) -> watch::Receiver<u64>;
}

/// Open the store `spec` names: a `postgres://` or `postgresql://` URL, or
/// else the path of a SQLite file (created with its directory). Migrations
/// are applied before it returns.
pub async fn open(spec: &str) -> Result<Arc<dyn Store>, StoreError> {
    if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::open(spec).await?))
    } else {
        Ok(Arc::new(SqliteStore::open(Path::new(spec)).await?))
    }
}
