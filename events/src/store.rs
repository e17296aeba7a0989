//! The event store: by default one SQLite file in WAL mode, so analyses can
//! read while an ingestion writes; or a PostgreSQL database, given as a
//! `postgres://` URL where a file path would go (`postgres.rs`). The
//! SQLite schema (`schema.sql`, explained in `SCHEMA.md`) is created on
//! first open and versioned with `PRAGMA user_version`.

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OpenFlags};

use crate::event::Row;
use crate::postgres::{is_postgres_url, PgBatch, Postgres};

/// The schema version this build reads and writes.
pub const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = include_str!("schema.sql");

// `ON CONFLICT DO NOTHING` rather than SQLite's `INSERT OR IGNORE`: the
// same statements run on PostgreSQL.
const INSERT_EXPOSURE: &str = "INSERT INTO exposures (experiment, unit, time, id, variant) \
     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING";
const INSERT_TRACK: &str = "INSERT INTO events (unit, event, time, id, value, properties) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING";
const INSERT_PRODUCER_ID: &str = "INSERT INTO producer_ids (id) VALUES (?1) ON CONFLICT DO NOTHING";

/// Why the store could not be opened, read or written.
#[derive(Debug)]
pub enum StoreError {
    /// SQLite refused an operation; `doing` says which.
    Sqlite {
        /// The store's file.
        path: PathBuf,
        /// What the store was doing, in words.
        doing: &'static str,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// PostgreSQL refused an operation or could not be reached.
    Postgres {
        /// The database's URL, without its password.
        url: String,
        /// What the store was doing, in words.
        doing: &'static str,
        /// The database's or the driver's message.
        message: String,
    },
    /// A store given as a URL that is not one this build reads.
    Url {
        /// The URL, without its password.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A mapping of a team's tables names something they do not have.
    Mapping {
        /// What is wrong, naming the mapping's key.
        message: String,
    },
    /// The file was written by another version of the schema.
    Version {
        /// The store's file.
        path: PathBuf,
        /// The schema version it has.
        found: i64,
    },
    /// `open_existing` on a path that is not a store.
    Missing {
        /// The path given.
        path: PathBuf,
    },
    /// An input file could not be read.
    Io {
        /// The input file.
        path: PathBuf,
        /// Why it could not be read.
        source: std::io::Error,
    },
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Sqlite {
                path,
                doing,
                source,
            } => write!(f, "event store `{}`: {doing}: {source}", path.display()),
            StoreError::Postgres {
                url,
                doing,
                message,
            } => write!(f, "event store `{url}`: {doing}: {message}"),
            StoreError::Url { url, reason } => write!(
                f,
                "event store `{url}`: {reason} (give an SQLite file path or a postgres://USER:PASSWORD@HOST:PORT/DATABASE URL)"
            ),
            StoreError::Mapping { message } => write!(f, "the warehouse mapping: {message}"),
            StoreError::Version { path, found } => write!(
                f,
                "event store `{}` has schema version {found}, this vexil reads version {SCHEMA_VERSION}",
                path.display()
            ),
            StoreError::Missing { path } => write!(
                f,
                "no event store at `{}` (create one with `vexil ingest`)",
                path.display()
            ),
            StoreError::Io { path, source } => {
                write!(f, "cannot read `{}`: {source}", path.display())
            }
        }
    }
}

impl std::error::Error for StoreError {}

/// An open event store.
pub struct Store {
    backend: Backend,
    path: PathBuf,
}

enum Backend {
    Sqlite(Connection),
    Postgres(Box<Postgres>),
}

/// What a store path names: a PostgreSQL URL, another URL (refused), or a
/// file.
enum Location<'a> {
    Postgres(&'a str),
    File,
}

fn locate(path: &Path) -> Result<Location<'_>, StoreError> {
    let Some(text) = path.to_str() else {
        return Ok(Location::File);
    };
    if is_postgres_url(text) {
        return Ok(Location::Postgres(text));
    }
    match text.split_once("://") {
        Some((scheme, _))
            if !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '+') =>
        {
            Err(StoreError::Url {
                url: crate::postgres::redact(text),
                reason: format!("`{scheme}://` is not a store this vexil reads"),
            })
        }
        _ => Ok(Location::File),
    }
}

impl Store {
    /// Whether `path` is a URL (a PostgreSQL store, or a mistyped one)
    /// rather than a file path.
    pub fn is_url(path: &Path) -> bool {
        !matches!(locate(path), Ok(Location::File))
    }

    /// Opens the store at `path`, creating the file and schema if needed;
    /// a `postgres://` URL opens (and migrates) that database.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Location::Postgres(url) = locate(path)? {
            return Store::postgres(url, false);
        }
        let conn = Connection::open(path).map_err(|e| sqlite(path, "opening", e))?;
        Store::prepare(conn, path)
    }

    fn postgres(url: &str, must_exist: bool) -> Result<Store, StoreError> {
        let pg = Postgres::open(url, must_exist)?;
        Ok(Store {
            path: PathBuf::from(pg.name()),
            backend: Backend::Postgres(Box::new(pg)),
        })
    }

    /// Opens a store that must already exist (for analysis: a typo in the
    /// path should not silently analyse an empty new store).
    pub fn open_existing(path: &Path) -> Result<Store, StoreError> {
        if let Location::Postgres(url) = locate(path)? {
            return Store::postgres(url, true);
        }
        if !path.is_file() {
            return Err(StoreError::Missing {
                path: path.to_path_buf(),
            });
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn =
            Connection::open_with_flags(path, flags).map_err(|e| sqlite(path, "opening", e))?;
        Store::prepare(conn, path)
    }

    /// A store in memory, for tests and one-off analyses.
    pub fn in_memory() -> Result<Store, StoreError> {
        let path = Path::new(":memory:");
        let conn = Connection::open_in_memory().map_err(|e| sqlite(path, "opening", e))?;
        Store::prepare(conn, path)
    }

    fn prepare(conn: Connection, path: &Path) -> Result<Store, StoreError> {
        // WAL lets readers run beside one writer; NORMAL sync is safe with
        // WAL (a crash loses at most the last transactions, never the
        // file). The page cache is large because ingestion inserts into two
        // indexes in random order.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA temp_store = MEMORY;
             PRAGMA cache_size = -262144;",
        )
        .map_err(|e| sqlite(path, "setting it up", e))?;
        register_mod(&conn).map_err(|e| sqlite(path, "registering MOD", e))?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| sqlite(path, "reading its version", e))?;
        match version {
            0 => {
                conn.execute_batch(SCHEMA)
                    .map_err(|e| sqlite(path, "creating the schema", e))?;
                conn.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))
                    .map_err(|e| sqlite(path, "recording the schema version", e))?;
            }
            SCHEMA_VERSION => {}
            found => {
                return Err(StoreError::Version {
                    path: path.to_path_buf(),
                    found,
                })
            }
        }
        Ok(Store {
            backend: Backend::Sqlite(conn),
            path: path.to_path_buf(),
        })
    }

    /// The underlying SQLite connection, for queries of one's own; `None`
    /// for a PostgreSQL store.
    pub fn connection(&self) -> Option<&Connection> {
        match &self.backend {
            Backend::Sqlite(conn) => Some(conn),
            Backend::Postgres(_) => None,
        }
    }

    /// The SQLite connection, or the PostgreSQL store.
    pub(crate) fn backend(&self) -> Result<&Connection, &Postgres> {
        match &self.backend {
            Backend::Sqlite(conn) => Ok(conn),
            Backend::Postgres(pg) => Err(pg),
        }
    }

    /// The store's file (`:memory:` for a store in memory), or its URL
    /// without the password: what messages name it by.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Makes every commit durable before it returns: for SQLite, fsync the
    /// write-ahead log (`synchronous = FULL`; the store's default, NORMAL,
    /// survives a killed process but not a power loss). PostgreSQL's
    /// commits are durable already (`synchronous_commit` on by default).
    pub fn durable_commits(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(conn) => conn
                .execute_batch("PRAGMA synchronous = FULL")
                .map_err(|e| sqlite(&self.path, "making commits durable", e)),
            Backend::Postgres(_) => Ok(()),
        }
    }

    /// Number of stored exposures and metric events.
    pub fn counts(&self) -> Result<(u64, u64), StoreError> {
        let conn = match &self.backend {
            Backend::Sqlite(conn) => conn,
            Backend::Postgres(pg) => return pg.counts(),
        };
        let count = |table: &str| -> Result<u64, StoreError> {
            conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n.max(0) as u64)
            .map_err(|e| sqlite(&self.path, "counting events", e))
        };
        Ok((count("exposures")?, count("events")?))
    }

    /// Defers WAL checkpoints until [`Store::end_bulk_load`]: during a bulk
    /// load SQLite would otherwise copy the same hot pages back into the
    /// database after every batch.
    pub(crate) fn defer_checkpoints(&self) -> Result<(), StoreError> {
        let Backend::Sqlite(conn) = &self.backend else {
            return Ok(());
        };
        conn.execute_batch("PRAGMA wal_autocheckpoint = 0")
            .map_err(|e| sqlite(&self.path, "deferring checkpoints", e))
    }

    /// After a bulk load. SQLite: copies the write-ahead log into the
    /// database, empties it, and turns automatic checkpoints back on.
    /// PostgreSQL: `VACUUM (ANALYZE)` of the tables (`Postgres::settle`).
    pub(crate) fn end_bulk_load(&self) -> Result<(), StoreError> {
        let conn = match &self.backend {
            Backend::Sqlite(conn) => conn,
            Backend::Postgres(pg) => return pg.settle(),
        };
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA wal_autocheckpoint = 1000;")
            .map_err(|e| sqlite(&self.path, "checkpointing", e))
    }

    /// Starts a write transaction with the insert statements prepared.
    pub(crate) fn batch(&mut self) -> Result<Batch<'_>, StoreError> {
        let path = self.path.clone();
        match &mut self.backend {
            Backend::Sqlite(conn) => {
                let tx = conn
                    .transaction()
                    .map_err(|e| sqlite(&path, "starting a transaction", e))?;
                Ok(Batch::Sqlite(SqliteBatch { tx, path }))
            }
            Backend::Postgres(pg) => Ok(Batch::Postgres(pg.batch()?)),
        }
    }
}

/// What a batch of inserts stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Inserted {
    /// New exposures.
    pub exposures: u64,
    /// New metric events.
    pub tracks: u64,
    /// Events whose id was already stored (or earlier in the batch).
    pub duplicates: u64,
}

/// One write transaction of an ingestion.
pub(crate) enum Batch<'a> {
    Sqlite(SqliteBatch<'a>),
    Postgres(PgBatch<'a>),
}

impl Batch<'_> {
    /// Inserts rows; a known id counts as a duplicate, not an error.
    pub(crate) fn insert_all(&mut self, rows: Vec<Row<'_>>) -> Result<Inserted, StoreError> {
        match self {
            Batch::Sqlite(b) => b.insert_all(rows),
            Batch::Postgres(b) => b.insert_all(rows),
        }
    }

    pub(crate) fn commit(self) -> Result<(), StoreError> {
        match self {
            Batch::Sqlite(b) => b.commit(),
            Batch::Postgres(b) => b.commit(),
        }
    }
}

/// One write transaction on SQLite.
pub(crate) struct SqliteBatch<'a> {
    tx: rusqlite::Transaction<'a>,
    path: PathBuf,
}

impl SqliteBatch<'_> {
    /// Inserts rows; a known id counts as a duplicate, not an error.
    ///
    /// Producer ids are claimed in the order given, so the first of two
    /// events sharing an id wins; the survivors are then inserted in the
    /// tables' key order, which keeps the B-tree pages an insert touches
    /// hot (about twice as fast as arrival order on a large batch).
    pub(crate) fn insert_all(&mut self, rows: Vec<Row<'_>>) -> Result<Inserted, StoreError> {
        let path = &self.path;
        let prepare = |sql| {
            self.tx
                .prepare_cached(sql)
                .map_err(|e| sqlite(path, "preparing an insert", e))
        };
        // Prepared once per call, not looked up in the cache per row.
        let mut claim = prepare(INSERT_PRODUCER_ID)?;
        let mut exposure = prepare(INSERT_EXPOSURE)?;
        let mut track = prepare(INSERT_TRACK)?;
        let mut inserted = Inserted::default();
        let mut survivors = Vec::with_capacity(rows.len());
        for row in rows {
            if row.producer_id() {
                let fresh = claim
                    .execute(params![&row.id()[..]])
                    .map_err(|e| sqlite(path, "recording an event id", e))?;
                if fresh == 0 {
                    inserted.duplicates += 1;
                    continue;
                }
            }
            survivors.push(row);
        }
        survivors.sort_unstable_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        for row in &survivors {
            let changed = match row {
                Row::Exposure {
                    id,
                    experiment,
                    variant,
                    unit,
                    time,
                    ..
                } => exposure.execute(params![experiment, unit, time, &id[..], variant]),
                Row::Track {
                    id,
                    event,
                    unit,
                    value,
                    time,
                    properties,
                    ..
                } => track.execute(params![unit, event, time, &id[..], value, properties]),
            }
            .map_err(|e| sqlite(path, "inserting an event", e))?;
            match (changed, row) {
                (0, _) => inserted.duplicates += 1,
                (_, Row::Exposure { .. }) => inserted.exposures += 1,
                (_, Row::Track { .. }) => inserted.tracks += 1,
            }
        }
        Ok(inserted)
    }

    pub(crate) fn commit(self) -> Result<(), StoreError> {
        let path = self.path;
        self.tx
            .commit()
            .map_err(|e| sqlite(&path, "committing a transaction", e))
    }
}

/// Standard SQL's `MOD(a, b)` on integers (the sign follows `a`, as in
/// PostgreSQL), which SQLite only has when built with its math functions.
/// The aggregation query uses it so that its text stays portable.
fn register_mod(conn: &Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function(
        "mod",
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let a: i64 = ctx.get(0)?;
            let b: i64 = ctx.get(1)?;
            Ok(a.checked_rem(b))
        },
    )
}

pub(crate) fn sqlite(path: &Path, doing: &'static str, source: rusqlite::Error) -> StoreError {
    StoreError::Sqlite {
        path: path.to_path_buf(),
        doing,
        source,
    }
}
