//! The embedded event store: one SQLite file in WAL mode, so analyses can
//! read while an ingestion writes. The schema (`schema.sql`, explained in
//! `SCHEMA.md`) is created on first open and versioned with
//! `PRAGMA user_version`.

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OpenFlags};

use crate::event::Row;

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
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens the store at `path`, creating the file and schema if needed.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let conn = Connection::open(path).map_err(|e| sqlite(path, "opening", e))?;
        Store::prepare(conn, path)
    }

    /// Opens a store that must already exist (for analysis: a typo in the
    /// path should not silently analyse an empty new store).
    pub fn open_existing(path: &Path) -> Result<Store, StoreError> {
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
            conn,
            path: path.to_path_buf(),
        })
    }

    /// The underlying connection, for queries of one's own.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The store's file (`:memory:` for a store in memory).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of stored exposures and metric events.
    pub fn counts(&self) -> Result<(u64, u64), StoreError> {
        let count = |table: &str| -> Result<u64, StoreError> {
            self.conn
                .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| {
                    r.get::<_, i64>(0)
                })
                .map(|n| n.max(0) as u64)
                .map_err(|e| sqlite(&self.path, "counting events", e))
        };
        Ok((count("exposures")?, count("events")?))
    }

    /// Defers WAL checkpoints until [`Store::checkpoint`]: during a bulk
    /// load SQLite would otherwise copy the same hot pages back into the
    /// database after every batch.
    pub(crate) fn defer_checkpoints(&self) -> Result<(), StoreError> {
        self.conn
            .execute_batch("PRAGMA wal_autocheckpoint = 0")
            .map_err(|e| sqlite(&self.path, "deferring checkpoints", e))
    }

    /// Copies the write-ahead log into the database, empties it, and turns
    /// automatic checkpoints back on.
    pub(crate) fn checkpoint(&self) -> Result<(), StoreError> {
        self.conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA wal_autocheckpoint = 1000;")
            .map_err(|e| sqlite(&self.path, "checkpointing", e))
    }

    /// Starts a write transaction with the insert statements prepared.
    pub(crate) fn batch(&mut self) -> Result<Batch<'_>, StoreError> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction()
            .map_err(|e| sqlite(&path, "starting a transaction", e))?;
        Ok(Batch { tx, path })
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
pub(crate) struct Batch<'a> {
    tx: rusqlite::Transaction<'a>,
    path: PathBuf,
}

impl Batch<'_> {
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
