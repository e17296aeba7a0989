//! The fleet's store: PostgreSQL, shared by every `vexil serve` of a fleet.
//! Writes are transactions that also `NOTIFY vexil_overrides` (delivered
//! only on commit); each store `LISTEN`s on its own connection and re-reads
//! the version every few seconds as a safety net, so a missed notification
//! (a dropped connection) delays a change, never loses it. The one state
//! row is locked by every write and every audit append, so the audit log's
//! ids follow commit order across the fleet.

use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::future::poll_fn;
use jiff::Timestamp;
use tokio::sync::{watch, Mutex};
use tokio_postgres::{AsyncMessage, Client, NoTls, Transaction};

use crate::model::{
    from_micros, micros, AuditEntry, AuditQuery, NewEntry, Override, OverrideState, StoredKey,
};
use crate::session::StoredSession;
use crate::sqlite::{action_json, expired_entry, to_json, AuditRow, Row};
use crate::store::{Store, StoreError, Write};
use crate::usage::{UsageCount, UsageQuery, UsageReport};

const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/postgres_1.sql"),
    include_str!("../migrations/postgres_2.sql"),
    include_str!("../migrations/postgres_3.sql"),
    include_str!("../migrations/postgres_4.sql"),
    include_str!("../migrations/postgres_5.sql"),
    include_str!("../migrations/postgres_6.sql"),
    include_str!("../migrations/postgres_7.sql"),
];

/// The channel writes notify.
const CHANNEL: &str = "vexil_overrides";
/// How often the version is re-read even without a notification.
const SAFETY_NET: Duration = Duration::from_secs(5);
/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// An arbitrary key for the advisory lock that serialises migrations.
const MIGRATION_LOCK: i64 = 0x7665_7869_6c00;

/// Overrides and audit in PostgreSQL.
pub struct PostgresStore {
    inner: Arc<Inner>,
}

struct Inner {
    url: String,
    /// The connection writes and reads use; reconnected when it drops.
    client: Mutex<Option<Client>>,
    version: watch::Sender<u64>,
}

impl PostgresStore {
    /// Connect to `url`, apply migrations, and start listening for other
    /// servers' writes. Needs a Tokio runtime.
    pub async fn open(url: &str) -> Result<PostgresStore, StoreError> {
        let mut client = connect(url).await?;
        migrate(&mut client).await?;
        let version = read_version(&client).await?;
        let inner = Arc::new(Inner {
            url: url.to_string(),
            client: Mutex::new(Some(client)),
            version: watch::channel(version).0,
        });
        tokio::spawn(listen(Arc::downgrade(&inner)));
        Ok(PostgresStore { inner })
    }

    /// Run `f` on a live connection, reconnecting once if the last one
    /// dropped.
    async fn with_client<T>(
        &self,
        f: impl AsyncFnOnce(&mut Client) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut guard = self.inner.client.lock().await;
        if guard.as_ref().is_none_or(Client::is_closed) {
            *guard = None;
            *guard = Some(connect(&self.inner.url).await?);
        }
        let Some(client) = guard.as_mut() else {
            return Err(StoreError::Unavailable("no connection".to_string()));
        };
        let result = f(client).await;
        if client.is_closed() {
            *guard = None;
        }
        result
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

/// A connection whose driver runs in its own task.
async fn connect(url: &str) -> Result<Client, StoreError> {
    let (client, connection) =
        tokio::time::timeout(CONNECT_TIMEOUT, tokio_postgres::connect(url, NoTls))
            .await
            .map_err(|_| StoreError::Unavailable("connecting to PostgreSQL timed out".to_string()))?
            .map_err(pg)?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "the PostgreSQL connection ended");
        }
    });
    Ok(client)
}

pub(crate) fn pg(e: tokio_postgres::Error) -> StoreError {
    // The database's own message when it has one (never the URL, which may
    // hold a password).
    let text = match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => e.to_string(),
    };
    if text.contains("append-only") {
        StoreError::Refused(text)
    } else {
        StoreError::Unavailable(text)
    }
}

async fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let tx = client.transaction().await.map_err(pg)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(pg)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS vexil_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
    )
    .await
    .map_err(pg)?;
    let applied: i32 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM vexil_migrations",
            &[],
        )
        .await
        .map_err(pg)?
        .get(0);
    let known = MIGRATIONS.len() as i32;
    if applied > known {
        return Err(StoreError::Corrupt(format!(
            "the database is at schema version {applied}, newer than this vexil knows ({known}): upgrade vexil"
        )));
    }
    for (i, migration) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
        tx.batch_execute(migration).await.map_err(pg)?;
        tx.execute(
            "INSERT INTO vexil_migrations (version, applied_at) VALUES ($1, $2)",
            &[&(i as i32 + 1), &micros(Timestamp::now())],
        )
        .await
        .map_err(pg)?;
    }
    tx.commit().await.map_err(pg)
}

async fn read_version(client: &impl tokio_postgres::GenericClient) -> Result<u64, StoreError> {
    let v: i64 = client
        .query_one("SELECT version FROM vexil_state WHERE id = 1", &[])
        .await
        .map_err(pg)?
        .get(0);
    Ok(v as u64)
}

const OVERRIDE_COLUMNS: &str = "flag, action, actor, reason, created_at, expires_at";

fn row(r: &tokio_postgres::Row) -> Result<Override, StoreError> {
    Row {
        flag: r.try_get(0).map_err(pg)?,
        action: r.try_get(1).map_err(pg)?,
        actor: r.try_get(2).map_err(pg)?,
        reason: r.try_get(3).map_err(pg)?,
        created_at: r.try_get(4).map_err(pg)?,
        expires_at: r.try_get(5).map_err(pg)?,
    }
    .into_override()
}

async fn read_state(
    client: &impl tokio_postgres::GenericClient,
) -> Result<OverrideState, StoreError> {
    let version = read_version(client).await?;
    let rows = client
        .query(
            &format!("SELECT {OVERRIDE_COLUMNS} FROM vexil_overrides ORDER BY flag"),
            &[],
        )
        .await
        .map_err(pg)?;
    let overrides = rows.iter().map(row).collect::<Result<_, _>>()?;
    Ok(OverrideState { version, overrides })
}

/// Lock the state row; the version before this transaction's change.
async fn lock_state(tx: &Transaction<'_>) -> Result<u64, StoreError> {
    let v: i64 = tx
        .query_one(
            "SELECT version FROM vexil_state WHERE id = 1 FOR UPDATE",
            &[],
        )
        .await
        .map_err(pg)?
        .get(0);
    Ok(v as u64)
}

async fn bump(tx: &Transaction<'_>) -> Result<u64, StoreError> {
    let v: i64 = tx
        .query_one(
            "UPDATE vexil_state SET version = version + 1 WHERE id = 1 RETURNING version",
            &[],
        )
        .await
        .map_err(pg)?
        .get(0);
    let version = v as u64;
    tx.execute(
        "SELECT pg_notify($1, $2)",
        &[&CHANNEL, &version.to_string()],
    )
    .await
    .map_err(pg)?;
    Ok(version)
}

async fn insert_entry(tx: &Transaction<'_>, entry: &NewEntry) -> Result<AuditEntry, StoreError> {
    let json = |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string());
    // The position comes from the locked state row: commit order.
    let r = tx
        .query_one(
            "WITH seq AS (UPDATE vexil_state SET audit_seq = audit_seq + 1 WHERE id = 1 RETURNING audit_seq)
             INSERT INTO vexil_audit (id, at, kind, actor, flag, reason, origin, before, after)
             SELECT audit_seq, (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT, $1, $2, $3, $4, $5, $6, $7 FROM seq
             RETURNING id, at, kind, actor, flag, reason, origin, before, after",
            &[
                &entry.kind.as_str(),
                &entry.actor,
                &entry.flag,
                &entry.reason,
                &entry.origin,
                &json(&entry.before),
                &json(&entry.after),
            ],
        )
        .await
        .map_err(pg)?;
    audit_row(&r)
}

fn audit_row(r: &tokio_postgres::Row) -> Result<AuditEntry, StoreError> {
    AuditRow {
        id: r.try_get(0).map_err(pg)?,
        at: r.try_get(1).map_err(pg)?,
        kind: r.try_get(2).map_err(pg)?,
        actor: r.try_get(3).map_err(pg)?,
        flag: r.try_get(4).map_err(pg)?,
        reason: r.try_get(5).map_err(pg)?,
        origin: r.try_get(6).map_err(pg)?,
        before: r.try_get(7).map_err(pg)?,
        after: r.try_get(8).map_err(pg)?,
    }
    .into_entry()
}

async fn current(tx: &Transaction<'_>, flag: &str) -> Result<Option<Override>, StoreError> {
    tx.query_opt(
        &format!("SELECT {OVERRIDE_COLUMNS} FROM vexil_overrides WHERE flag = $1"),
        &[&flag],
    )
    .await
    .map_err(pg)?
    .as_ref()
    .map(row)
    .transpose()
}

async fn write_tx(
    client: &mut Client,
    expected: Option<u64>,
    write: &Write,
    mut entry: NewEntry,
) -> Result<OverrideState, StoreError> {
    let tx = client.transaction().await.map_err(pg)?;
    let version = lock_state(&tx).await?;
    if let Some(expected) = expected.filter(|e| *e != version) {
        return Err(StoreError::Stale {
            expected,
            current: version,
        });
    }
    let before = current(&tx, write.flag()).await?;
    match write {
        Write::Set(o) => {
            tx.execute(
                &format!(
                    "INSERT INTO vexil_overrides ({OVERRIDE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (flag) DO UPDATE SET action = EXCLUDED.action, actor = EXCLUDED.actor,
                       reason = EXCLUDED.reason, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at"
                ),
                &[
                    &o.flag,
                    &action_json(o),
                    &o.actor,
                    &o.reason,
                    &micros(o.created_at),
                    &o.expires_at.map(micros),
                ],
            )
            .await
            .map_err(pg)?;
            entry.after = to_json(Some(o));
        }
        Write::Lift(flag) => {
            if before.is_none() {
                return Err(StoreError::NoOverride(flag.clone()));
            }
            tx.execute("DELETE FROM vexil_overrides WHERE flag = $1", &[flag])
                .await
                .map_err(pg)?;
            entry.after = None;
        }
    }
    entry.before = to_json(before.as_ref());
    entry.flag = Some(write.flag().to_string());
    bump(&tx).await?;
    insert_entry(&tx, &entry).await?;
    let state = read_state(&tx).await?;
    tx.commit().await.map_err(pg)?;
    Ok(state)
}

async fn expire_tx(
    client: &mut Client,
    now: Timestamp,
) -> Result<(Vec<Override>, u64), StoreError> {
    let tx = client.transaction().await.map_err(pg)?;
    lock_state(&tx).await?;
    // Under the state lock: a second server lifting at the same time waits,
    // then finds nothing left to lift.
    let rows = tx
        .query(
            &format!(
                "DELETE FROM vexil_overrides WHERE expires_at IS NOT NULL AND expires_at <= $1 RETURNING {OVERRIDE_COLUMNS}"
            ),
            &[&micros(now)],
        )
        .await
        .map_err(pg)?;
    let due = rows.iter().map(row).collect::<Result<Vec<_>, _>>()?;
    for o in &due {
        bump(&tx).await?;
        insert_entry(&tx, &expired_entry(o)).await?;
    }
    let version = read_version(&tx).await?;
    tx.commit().await.map_err(pg)?;
    Ok((due, version))
}

async fn query_audit(client: &Client, q: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
    let rows = client
        .query(
            "SELECT id, at, kind, actor, flag, reason, origin, before, after FROM vexil_audit
             WHERE ($1::TEXT IS NULL OR flag = $1) AND ($2::TEXT IS NULL OR actor = $2)
               AND ($3::BIGINT IS NULL OR at >= $3) AND ($4::BIGINT IS NULL OR at < $4)
             ORDER BY id LIMIT $5",
            &[
                &q.flag,
                &q.actor,
                &q.since.map(micros),
                &q.until.map(micros),
                &q.row_limit(),
            ],
        )
        .await
        .map_err(pg)?;
    rows.iter().map(audit_row).collect()
}

/// Listen for other servers' writes on a connection of its own; re-read
/// the version on every notification and every `SAFETY_NET`; reconnect
/// after a failure. Ends with the store.
async fn listen(inner: Weak<Inner>) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let Some(url) = inner.upgrade().map(|i| i.url.clone()) else {
            return;
        };
        match listen_once(&inner, &url).await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(error = %e, "lost the override store's change notifications; reconnecting");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// One listening connection's life: `Ok` when the store is gone.
async fn listen_once(inner: &Weak<Inner>, url: &str) -> Result<(), StoreError> {
    let (client, mut connection) =
        tokio::time::timeout(CONNECT_TIMEOUT, tokio_postgres::connect(url, NoTls))
            .await
            .map_err(|_| StoreError::Unavailable("connecting timed out".to_string()))?
            .map_err(pg)?;
    let (notified, mut notifications) = tokio::sync::mpsc::unbounded_channel::<()>();
    // The connection's driver: forwards notifications, ends with an error
    // when the connection drops.
    let driver = tokio::spawn(async move {
        loop {
            match poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(_))) => {
                    if notified.send(()).is_err() {
                        return;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "the listening PostgreSQL connection failed");
                    return;
                }
                None => return,
            }
        }
    });
    let result = async {
        client
            .batch_execute(&format!("LISTEN {CHANNEL}"))
            .await
            .map_err(pg)?;
        let mut safety = tokio::time::interval(SAFETY_NET);
        loop {
            tokio::select! {
                n = notifications.recv() => {
                    if n.is_none() {
                        return Err(StoreError::Unavailable("the listening connection ended".to_string()));
                    }
                }
                _ = safety.tick() => {}
            }
            let Some(store) = inner.upgrade() else {
                return Ok(());
            };
            let version = read_version(&client).await?;
            announce(&store.version, version);
        }
    }
    .await;
    driver.abort();
    result
}

#[async_trait]
impl Store for PostgresStore {
    fn describe(&self) -> String {
        // Host, port and database only: the URL may hold a password.
        match self.inner.url.parse::<tokio_postgres::Config>() {
            Ok(c) => {
                let host = c
                    .get_hosts()
                    .first()
                    .map(|h| match h {
                        tokio_postgres::config::Host::Tcp(h) => h.clone(),
                        #[cfg(unix)]
                        tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
                    })
                    .unwrap_or_default();
                let port = c.get_ports().first().copied().unwrap_or(5432);
                format!("postgres {host}:{port}/{}", c.get_dbname().unwrap_or(""))
            }
            Err(_) => "postgres".to_string(),
        }
    }

    async fn state(&self) -> Result<OverrideState, StoreError> {
        self.with_client(async |c| read_state(c).await).await
    }

    async fn write(
        &self,
        expected: Option<u64>,
        write: Write,
        entry: NewEntry,
    ) -> Result<OverrideState, StoreError> {
        let state = self
            .with_client(async |c| write_tx(c, expected, &write, entry).await)
            .await?;
        announce(&self.inner.version, state.version);
        Ok(state)
    }

    async fn expire(&self, now: Timestamp) -> Result<Vec<Override>, StoreError> {
        let (due, version) = self.with_client(async |c| expire_tx(c, now).await).await?;
        announce(&self.inner.version, version);
        Ok(due)
    }

    async fn append(&self, entry: NewEntry) -> Result<AuditEntry, StoreError> {
        self.with_client(async |c| {
            let tx = c.transaction().await.map_err(pg)?;
            let stored = insert_entry(&tx, &entry).await?;
            tx.commit().await.map_err(pg)?;
            Ok(stored)
        })
        .await
    }

    async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        self.with_client(async |c| query_audit(c, query).await)
            .await
    }

    async fn last_changes(&self) -> Result<Vec<AuditEntry>, StoreError> {
        self.with_client(async |c| {
            c.query(crate::model::LAST_CHANGES_QUERY, &[])
                .await
                .map_err(pg)?
                .iter()
                .map(audit_row)
                .collect()
        })
        .await
    }

    async fn audit_after(&self, after: u64, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        let (after, limit) = (position(after), i64::from(limit));
        self.with_client(async |c| {
            c.query(
                "SELECT id, at, kind, actor, flag, reason, origin, before, after FROM vexil_audit
                 WHERE id > $1 ORDER BY id LIMIT $2",
                &[&after, &limit],
            )
            .await
            .map_err(pg)?
            .iter()
            .map(audit_row)
            .collect()
        })
        .await
    }

    async fn hook_position(&self, hook: &str) -> Result<u64, StoreError> {
        self.with_client(async |c| {
            c.execute(
                "INSERT INTO vexil_webhooks (hook, delivered)
                 SELECT $1, COALESCE(MAX(id), 0) FROM vexil_audit
                 ON CONFLICT (hook) DO NOTHING",
                &[&hook],
            )
            .await
            .map_err(pg)?;
            let at: i64 = c
                .query_one(
                    "SELECT delivered FROM vexil_webhooks WHERE hook = $1",
                    &[&hook],
                )
                .await
                .map_err(pg)?
                .try_get(0)
                .map_err(pg)?;
            Ok(at.max(0) as u64)
        })
        .await
    }

    async fn advance_hook(&self, hook: &str, from: u64, to: u64) -> Result<bool, StoreError> {
        let (from, to) = (position(from), position(to));
        self.with_client(async |c| {
            let n = c
                .execute(
                    "UPDATE vexil_webhooks SET delivered = $3 WHERE hook = $1 AND delivered = $2",
                    &[&hook, &from, &to],
                )
                .await
                .map_err(pg)?;
            Ok(n == 1)
        })
        .await
    }

    async fn create_key(&self, key: StoredKey, entry: NewEntry) -> Result<StoredKey, StoreError> {
        self.with_client(async |c| {
            let tx = c.transaction().await.map_err(pg)?;
            tx.execute(
                "INSERT INTO vexil_keys (id, name, scope, sha256, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6)",
                &[&key.id, &key.name, &key.scope, &key.sha256, &micros(key.created_at), &key.created_by],
            )
            .await
            .map_err(pg)?;
            insert_entry(&tx, &entry).await?;
            tx.commit().await.map_err(pg)?;
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
        self.with_client(async |c| {
            let tx = c.transaction().await.map_err(pg)?;
            let row = tx
                .query_opt(
                    &format!(
                        "UPDATE vexil_keys SET revoked_at = $2, revoked_by = $3 WHERE id = $1 AND revoked_at IS NULL RETURNING {}",
                        crate::sqlite::KEY_COLUMNS
                    ),
                    &[&id, &micros(at), &by],
                )
                .await
                .map_err(pg)?
                .ok_or_else(|| StoreError::NoKey(id.to_string()))?;
            let key = key_row(&row)?;
            insert_entry(&tx, &entry).await?;
            tx.commit().await.map_err(pg)?;
            Ok(key)
        })
        .await
    }

    async fn keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        self.with_client(async |c| {
            c.query(
                &format!(
                    "SELECT {} FROM vexil_keys ORDER BY created_at, id",
                    crate::sqlite::KEY_COLUMNS
                ),
                &[],
            )
            .await
            .map_err(pg)?
            .iter()
            .map(key_row)
            .collect()
        })
        .await
    }

    async fn open_session(&self, session: StoredSession, now: Timestamp) -> Result<(), StoreError> {
        self.with_client(async |c| crate::postgres_sessions::open(c, &session, now).await)
            .await
    }

    async fn session(
        &self,
        digest: &str,
        now: Timestamp,
    ) -> Result<Option<StoredSession>, StoreError> {
        self.with_client(async |c| crate::postgres_sessions::find(c, digest, now).await)
            .await
    }

    async fn close_session(&self, digest: &str) -> Result<bool, StoreError> {
        self.with_client(async |c| crate::postgres_sessions::close(c, digest).await)
            .await
    }

    async fn begin_usage(&self, now: Timestamp) -> Result<Timestamp, StoreError> {
        self.with_client(async |c| crate::postgres_usage::begin(c, now).await)
            .await
    }

    async fn add_usage(&self, counts: Vec<UsageCount>, at: Timestamp) -> Result<(), StoreError> {
        self.with_client(async |c| crate::postgres_usage::add(c, counts, at).await)
            .await
    }

    async fn prune_usage(&self, before: Timestamp) -> Result<u64, StoreError> {
        self.with_client(async |c| crate::postgres_usage::prune(c, before).await)
            .await
    }

    async fn usage(&self, query: &UsageQuery) -> Result<UsageReport, StoreError> {
        self.with_client(async |c| crate::postgres_usage::read(c, query).await)
            .await
    }

    fn changes(&self) -> watch::Receiver<u64> {
        self.inner.version.subscribe()
    }
}

fn key_row(r: &tokio_postgres::Row) -> Result<StoredKey, StoreError> {
    Ok(StoredKey {
        id: r.try_get(0).map_err(pg)?,
        name: r.try_get(1).map_err(pg)?,
        scope: r.try_get(2).map_err(pg)?,
        sha256: r.try_get(3).map_err(pg)?,
        created_at: from_micros(r.try_get(4).map_err(pg)?),
        created_by: r.try_get(5).map_err(pg)?,
        revoked_at: r.try_get::<_, Option<i64>>(6).map_err(pg)?.map(from_micros),
        revoked_by: r.try_get(7).map_err(pg)?,
    })
}

/// An audit position as SQL stores it.
fn position(id: u64) -> i64 {
    i64::try_from(id).unwrap_or(i64::MAX)
}
