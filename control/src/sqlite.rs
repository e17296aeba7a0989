//! The embedded store: one SQLite file in the server's data directory, in
//! WAL mode with `synchronous=FULL`, so an acknowledged write survives a
//! `kill -9` and a power cut. Other processes' writes are noticed by
//! polling `PRAGMA data_version`; this process's own at once.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use tokio::sync::watch;

use crate::model::{
    from_micros, micros, AuditEntry, AuditKind, AuditQuery, NewEntry, Override, OverrideState,
    StoredKey,
};
use crate::session::StoredSession;
use crate::store::{Store, StoreError, Write};
use crate::usage::{UsageCount, UsageQuery, UsageReport};

/// Versioned migrations, applied in order at open; never edit one that
/// shipped, add the next.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/sqlite_1.sql"),
    include_str!("../migrations/sqlite_2.sql"),
    include_str!("../migrations/sqlite_3.sql"),
    include_str!("../migrations/sqlite_4.sql"),
    include_str!("../migrations/sqlite_5.sql"),
    include_str!("../migrations/sqlite_6.sql"),
    include_str!("../migrations/sqlite_7.sql"),
];

/// How often another process's writes are looked for.
const POLL: Duration = Duration::from_millis(200);

/// Overrides and audit in a SQLite file.
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    conn: Mutex<Connection>,
    version: watch::Sender<u64>,
}

impl SqliteStore {
    /// Open (or create) the store at `path`, apply migrations, and start
    /// watching for other processes' writes. Needs a Tokio runtime.
    pub async fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let owned = path.to_path_buf();
        let (conn, version) = tokio::task::spawn_blocking(move || connect(&owned))
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))??;
        let inner = Arc::new(Inner {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
            version: watch::channel(version).0,
        });
        tokio::spawn(watch_others(Arc::downgrade(&inner), path.to_path_buf()));
        Ok(SqliteStore { inner })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = inner
                .conn
                .lock()
                .map_err(|_| StoreError::Unavailable("a writer panicked".to_string()))?;
            f(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))?
    }

    fn announce(&self, version: u64) {
        announce(&self.inner.version, version);
    }
}

fn announce(sender: &watch::Sender<u64>, version: u64) {
    sender.send_if_modified(|v| {
        let newer = version > *v;
        if newer {
            *v = version;
        }
        newer
    });
}

/// Open, set up and migrate the database. Two processes (or two stores in
/// one) opening a new file at the same moment can see `SQLITE_BUSY` while
/// the other switches it to WAL, which SQLite reports without calling the
/// busy handler: such an open is tried again, for as long as the busy
/// timeout, rather than failing the start.
fn connect(path: &Path) -> Result<(Connection, u64), StoreError> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        match connect_once(path) {
            Err(StoreError::Unavailable(text))
                if is_busy(&text) && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// How long an open or a write waits for another connection's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

fn is_busy(text: &str) -> bool {
    text.contains("database is locked") || text.contains("database is busy")
}

fn connect_once(path: &Path) -> Result<(Connection, u64), StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Unavailable(format!("cannot create `{}`: {e}", dir.display()))
        })?;
    }
    let mut conn = Connection::open(path)
        .map_err(|e| StoreError::Unavailable(format!("cannot open `{}`: {e}", path.display())))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(sql)?;
    // FULL: a commit is on disk before it is acknowledged (WAL's default,
    // NORMAL, may lose the last commits in a power cut).
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(sql)?;
    migrate(&mut conn)?;
    let version = read_version(&conn)?;
    Ok((conn, version))
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(sql)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS vexil_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )
    .map_err(sql)?;
    let applied: i64 = tx
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM vexil_migrations",
            [],
            |r| r.get(0),
        )
        .map_err(sql)?;
    let known = MIGRATIONS.len() as i64;
    if applied > known {
        return Err(StoreError::Corrupt(format!(
            "the database is at schema version {applied}, newer than this vexil knows ({known}): upgrade vexil"
        )));
    }
    for (i, migration) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
        tx.execute_batch(migration).map_err(sql)?;
        tx.execute(
            "INSERT INTO vexil_migrations (version, applied_at) VALUES (?1, ?2)",
            params![i as i64 + 1, micros(Timestamp::now())],
        )
        .map_err(sql)?;
    }
    tx.commit().map_err(sql)
}

pub(crate) fn sql(e: rusqlite::Error) -> StoreError {
    let text = e.to_string();
    if text.contains("append-only") {
        StoreError::Refused(text)
    } else {
        StoreError::Unavailable(text)
    }
}

fn read_version(conn: &Connection) -> Result<u64, StoreError> {
    let v: i64 = conn
        .query_row("SELECT version FROM vexil_state WHERE id = 1", [], |r| {
            r.get(0)
        })
        .map_err(sql)?;
    Ok(v as u64)
}

fn read_state(conn: &Connection) -> Result<OverrideState, StoreError> {
    let version = read_version(conn)?;
    let mut stmt = conn
        .prepare(
            "SELECT flag, action, actor, reason, created_at, expires_at FROM vexil_overrides ORDER BY flag",
        )
        .map_err(sql)?;
    let rows = stmt
        .query_map([], |r| {
            Ok(Row {
                flag: r.get(0)?,
                action: r.get(1)?,
                actor: r.get(2)?,
                reason: r.get(3)?,
                created_at: r.get(4)?,
                expires_at: r.get(5)?,
            })
        })
        .map_err(sql)?;
    let mut overrides = Vec::new();
    for row in rows {
        overrides.push(row.map_err(sql)?.into_override()?);
    }
    Ok(OverrideState { version, overrides })
}

/// An override as both stores keep it.
pub(crate) struct Row {
    pub flag: String,
    pub action: String,
    pub actor: String,
    pub reason: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

impl Row {
    pub fn into_override(self) -> Result<Override, StoreError> {
        let action = serde_json::from_str(&self.action)
            .map_err(|e| StoreError::Corrupt(format!("the override of `{}`: {e}", self.flag)))?;
        Ok(Override {
            flag: self.flag,
            action,
            actor: self.actor,
            reason: self.reason,
            created_at: from_micros(self.created_at),
            expires_at: self.expires_at.map(from_micros),
        })
    }
}

pub(crate) fn action_json(o: &Override) -> String {
    serde_json::to_string(&o.action).unwrap_or_else(|_| "null".to_string())
}

pub(crate) fn to_json(o: Option<&Override>) -> Option<serde_json::Value> {
    o.and_then(|o| serde_json::to_value(o).ok())
}

fn current(tx: &Transaction, flag: &str) -> Result<Option<Override>, StoreError> {
    tx.query_row(
        "SELECT flag, action, actor, reason, created_at, expires_at FROM vexil_overrides WHERE flag = ?1",
        [flag],
        |r| {
            Ok(Row {
                flag: r.get(0)?,
                action: r.get(1)?,
                actor: r.get(2)?,
                reason: r.get(3)?,
                created_at: r.get(4)?,
                expires_at: r.get(5)?,
            })
        },
    )
    .optional()
    .map_err(sql)?
    .map(Row::into_override)
    .transpose()
}

fn bump(tx: &Transaction) -> Result<u64, StoreError> {
    tx.execute(
        "UPDATE vexil_state SET version = version + 1 WHERE id = 1",
        [],
    )
    .map_err(sql)?;
    read_version(tx)
}

fn insert_entry(tx: &Transaction, entry: &NewEntry) -> Result<AuditEntry, StoreError> {
    let at = Timestamp::now();
    let json = |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string());
    tx.execute(
        "INSERT INTO vexil_audit (at, kind, actor, flag, reason, origin, before, after) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            micros(at),
            entry.kind.as_str(),
            entry.actor,
            entry.flag,
            entry.reason,
            entry.origin,
            json(&entry.before),
            json(&entry.after),
        ],
    )
    .map_err(sql)?;
    Ok(AuditEntry {
        id: tx.last_insert_rowid() as u64,
        at,
        kind: entry.kind,
        actor: entry.actor.clone(),
        flag: entry.flag.clone(),
        reason: entry.reason.clone(),
        origin: entry.origin.clone(),
        before: entry.before.clone(),
        after: entry.after.clone(),
    })
}

fn write_tx(
    conn: &mut Connection,
    expected: Option<u64>,
    write: Write,
    mut entry: NewEntry,
) -> Result<OverrideState, StoreError> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(sql)?;
    let version = read_version(&tx)?;
    if let Some(expected) = expected.filter(|e| *e != version) {
        return Err(StoreError::Stale {
            expected,
            current: version,
        });
    }
    let before = current(&tx, write.flag())?;
    match &write {
        Write::Set(o) => {
            tx.execute(
                "INSERT OR REPLACE INTO vexil_overrides (flag, action, actor, reason, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    o.flag,
                    action_json(o),
                    o.actor,
                    o.reason,
                    micros(o.created_at),
                    o.expires_at.map(micros),
                ],
            )
            .map_err(sql)?;
            entry.after = to_json(Some(o));
        }
        Write::Lift(flag) => {
            if before.is_none() {
                return Err(StoreError::NoOverride(flag.clone()));
            }
            tx.execute("DELETE FROM vexil_overrides WHERE flag = ?1", [flag])
                .map_err(sql)?;
            entry.after = None;
        }
    }
    entry.before = to_json(before.as_ref());
    entry.flag = Some(write.flag().to_string());
    bump(&tx)?;
    insert_entry(&tx, &entry)?;
    let state = read_state(&tx)?;
    tx.commit().map_err(sql)?;
    Ok(state)
}

fn expire_tx(conn: &mut Connection, now: Timestamp) -> Result<(Vec<Override>, u64), StoreError> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(sql)?;
    let due: Vec<Override> = read_state(&tx)?
        .overrides
        .into_iter()
        .filter(|o| o.expires_at.is_some_and(|e| e <= now))
        .collect();
    for o in &due {
        tx.execute("DELETE FROM vexil_overrides WHERE flag = ?1", [&o.flag])
            .map_err(sql)?;
        bump(&tx)?;
        insert_entry(&tx, &expired_entry(o))?;
    }
    let version = read_version(&tx)?;
    tx.commit().map_err(sql)?;
    Ok((due, version))
}

/// The audit entry of an override lifting itself.
pub(crate) fn expired_entry(o: &Override) -> NewEntry {
    NewEntry::new(AuditKind::OverrideExpired, "system")
        .flag(o.flag.clone())
        .reason(format!(
            "expired at {}",
            o.expires_at.unwrap_or(Timestamp::UNIX_EPOCH)
        ))
        .change(to_json(Some(o)), None)
}

fn query_audit(conn: &Connection, q: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
    let mut stmt = conn
        .prepare(
            "SELECT id, at, kind, actor, flag, reason, origin, before, after FROM vexil_audit
             WHERE (?1 IS NULL OR flag = ?1) AND (?2 IS NULL OR actor = ?2)
               AND (?3 IS NULL OR at >= ?3) AND (?4 IS NULL OR at < ?4)
             ORDER BY id LIMIT ?5",
        )
        .map_err(sql)?;
    let rows = stmt
        .query_map(
            params![
                q.flag,
                q.actor,
                q.since.map(micros),
                q.until.map(micros),
                q.row_limit()
            ],
            audit_row,
        )
        .map_err(sql)?;
    rows.map(|r| r.map_err(sql)?.into_entry()).collect()
}

fn audit_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditRow> {
    Ok(AuditRow {
        id: r.get(0)?,
        at: r.get(1)?,
        kind: r.get(2)?,
        actor: r.get(3)?,
        flag: r.get(4)?,
        reason: r.get(5)?,
        origin: r.get(6)?,
        before: r.get(7)?,
        after: r.get(8)?,
    })
}

/// An audit entry as both stores keep it.
pub(crate) struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub kind: String,
    pub actor: String,
    pub flag: Option<String>,
    pub reason: Option<String>,
    pub origin: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl AuditRow {
    pub fn into_entry(self) -> Result<AuditEntry, StoreError> {
        let kind = AuditKind::parse(&self.kind).ok_or_else(|| {
            StoreError::Corrupt(format!("audit entry {} has kind `{}`", self.id, self.kind))
        })?;
        let json = |text: Option<String>| -> Result<Option<serde_json::Value>, StoreError> {
            text.map(|t| {
                serde_json::from_str(&t)
                    .map_err(|e| StoreError::Corrupt(format!("audit entry {}: {e}", self.id)))
            })
            .transpose()
        };
        Ok(AuditEntry {
            id: self.id as u64,
            at: from_micros(self.at),
            kind,
            actor: self.actor,
            flag: self.flag,
            reason: self.reason,
            origin: self.origin,
            before: json(self.before)?,
            after: json(self.after)?,
        })
    }
}

/// Notices other processes' commits (`data_version` changes only for
/// them) and announces the new state version; ends with the store.
async fn watch_others(inner: Weak<Inner>, path: PathBuf) {
    let conn = match tokio::task::spawn_blocking(move || Connection::open(path)).await {
        Ok(Ok(c)) => Arc::new(Mutex::new(c)),
        _ => {
            tracing::warn!("cannot watch the override store for other processes' writes");
            return;
        }
    };
    let mut last: Option<i64> = None;
    loop {
        tokio::time::sleep(POLL).await;
        let Some(inner) = inner.upgrade() else { return };
        let conn = conn.clone();
        let seen = tokio::task::spawn_blocking(move || {
            let conn = conn.lock().ok()?;
            let data: i64 = conn
                .query_row("PRAGMA data_version", [], |r| r.get(0))
                .ok()?;
            let version = read_version(&conn).ok()?;
            Some((data, version))
        })
        .await
        .ok()
        .flatten();
        if let Some((data, version)) = seen {
            if last != Some(data) {
                last = Some(data);
                announce(&inner.version, version);
            }
        }
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn describe(&self) -> String {
        format!("sqlite {}", self.inner.path.display())
    }

    async fn state(&self) -> Result<OverrideState, StoreError> {
        self.run(|conn| read_state(conn)).await
    }

    async fn write(
        &self,
        expected: Option<u64>,
        write: Write,
        entry: NewEntry,
    ) -> Result<OverrideState, StoreError> {
        let state = self
            .run(move |conn| write_tx(conn, expected, write, entry))
            .await?;
        self.announce(state.version);
        Ok(state)
    }

    async fn expire(&self, now: Timestamp) -> Result<Vec<Override>, StoreError> {
        let (due, version) = self.run(move |conn| expire_tx(conn, now)).await?;
        self.announce(version);
        Ok(due)
    }

    async fn append(&self, entry: NewEntry) -> Result<AuditEntry, StoreError> {
        self.run(move |conn| {
            let tx = conn.transaction().map_err(sql)?;
            let stored = insert_entry(&tx, &entry)?;
            tx.commit().map_err(sql)?;
            Ok(stored)
        })
        .await
    }

    async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        let query = query.clone();
        self.run(move |conn| query_audit(conn, &query)).await
    }

    async fn last_changes(&self) -> Result<Vec<AuditEntry>, StoreError> {
        self.run(|conn| {
            let mut stmt = conn
                .prepare(crate::model::LAST_CHANGES_QUERY)
                .map_err(sql)?;
            let rows = stmt.query_map([], audit_row).map_err(sql)?;
            rows.map(|r| r.map_err(sql)?.into_entry()).collect()
        })
        .await
    }

    async fn audit_after(&self, after: u64, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        self.run(move |conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT id, at, kind, actor, flag, reason, origin, before, after FROM vexil_audit
                     WHERE id > ?1 ORDER BY id LIMIT ?2",
                )
                .map_err(sql)?;
            let rows = stmt
                .query_map(params![position(after), limit], audit_row)
                .map_err(sql)?;
            rows.map(|r| r.map_err(sql)?.into_entry()).collect()
        })
        .await
    }

    async fn hook_position(&self, hook: &str) -> Result<u64, StoreError> {
        let hook = hook.to_string();
        self.run(move |conn| {
            conn.execute(
                "INSERT OR IGNORE INTO vexil_webhooks (hook, delivered)
                 SELECT ?1, COALESCE(MAX(id), 0) FROM vexil_audit",
                params![hook],
            )
            .map_err(sql)?;
            let at: i64 = conn
                .query_row(
                    "SELECT delivered FROM vexil_webhooks WHERE hook = ?1",
                    params![hook],
                    |r| r.get(0),
                )
                .map_err(sql)?;
            Ok(at.max(0) as u64)
        })
        .await
    }

    async fn advance_hook(&self, hook: &str, from: u64, to: u64) -> Result<bool, StoreError> {
        let hook = hook.to_string();
        self.run(move |conn| {
            let n = conn
                .execute(
                    "UPDATE vexil_webhooks SET delivered = ?3 WHERE hook = ?1 AND delivered = ?2",
                    params![hook, position(from), position(to)],
                )
                .map_err(sql)?;
            Ok(n == 1)
        })
        .await
    }

    async fn create_key(&self, key: StoredKey, entry: NewEntry) -> Result<StoredKey, StoreError> {
        self.run(move |conn| {
            let tx = conn.transaction().map_err(sql)?;
            tx.execute(
                "INSERT INTO vexil_keys (id, name, scope, sha256, created_at, created_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![key.id, key.name, key.scope, key.sha256, micros(key.created_at), key.created_by],
            )
            .map_err(sql)?;
            insert_entry(&tx, &entry)?;
            tx.commit().map_err(sql)?;
            Ok(key)
        })
        .await
    }

    async fn revoke_key(
        &self,
        id: &str,
        at: Timestamp,
        by: &str,
        entry: NewEntry,
    ) -> Result<StoredKey, StoreError> {
        let (id, by) = (id.to_string(), by.to_string());
        self.run(move |conn| {
            let tx = conn.transaction().map_err(sql)?;
            let n = tx
                .execute(
                    "UPDATE vexil_keys SET revoked_at = ?2, revoked_by = ?3 WHERE id = ?1 AND revoked_at IS NULL",
                    params![id, micros(at), by],
                )
                .map_err(sql)?;
            if n != 1 {
                return Err(StoreError::NoKey(id));
            }
            let key = tx
                .query_row(
                    &format!("SELECT {KEY_COLUMNS} FROM vexil_keys WHERE id = ?1"),
                    params![id],
                    key_row,
                )
                .map_err(sql)?;
            insert_entry(&tx, &entry)?;
            tx.commit().map_err(sql)?;
            Ok(key)
        })
        .await
    }

    async fn keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        self.run(|conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {KEY_COLUMNS} FROM vexil_keys ORDER BY created_at, id"
                ))
                .map_err(sql)?;
            let rows = stmt.query_map([], key_row).map_err(sql)?;
            rows.map(|r| r.map_err(sql)).collect()
        })
        .await
    }

    async fn open_session(&self, session: StoredSession, now: Timestamp) -> Result<(), StoreError> {
        self.run(move |conn| crate::sqlite_sessions::open(conn, &session, now))
            .await
    }

    async fn session(
        &self,
        digest: &str,
        now: Timestamp,
    ) -> Result<Option<StoredSession>, StoreError> {
        let digest = digest.to_string();
        self.run(move |conn| crate::sqlite_sessions::find(conn, &digest, now))
            .await
    }

    async fn close_session(&self, digest: &str) -> Result<bool, StoreError> {
        let digest = digest.to_string();
        self.run(move |conn| crate::sqlite_sessions::close(conn, &digest))
            .await
    }

    async fn begin_usage(&self, now: Timestamp) -> Result<Timestamp, StoreError> {
        self.run(move |conn| crate::sqlite_usage::begin(conn, now))
            .await
    }

    async fn add_usage(&self, counts: Vec<UsageCount>, at: Timestamp) -> Result<(), StoreError> {
        self.run(move |conn| crate::sqlite_usage::add(conn, counts, at))
            .await
    }

    async fn prune_usage(&self, before: Timestamp) -> Result<u64, StoreError> {
        self.run(move |conn| crate::sqlite_usage::prune(conn, before))
            .await
    }

    async fn usage(&self, query: &UsageQuery) -> Result<UsageReport, StoreError> {
        let query = query.clone();
        self.run(move |conn| crate::sqlite_usage::read(conn, &query))
            .await
    }

    fn changes(&self) -> watch::Receiver<u64> {
        self.inner.version.subscribe()
    }
}

pub(crate) const KEY_COLUMNS: &str =
    "id, name, scope, sha256, created_at, created_by, revoked_at, revoked_by";

fn key_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredKey> {
    Ok(StoredKey {
        id: r.get(0)?,
        name: r.get(1)?,
        scope: r.get(2)?,
        sha256: r.get(3)?,
        created_at: from_micros(r.get(4)?),
        created_by: r.get(5)?,
        revoked_at: r.get::<_, Option<i64>>(6)?.map(from_micros),
        revoked_by: r.get(7)?,
    })
}

/// An audit position as SQL stores it.
fn position(id: u64) -> i64 {
    i64::try_from(id).unwrap_or(i64::MAX)
}
