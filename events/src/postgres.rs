//! The event store on PostgreSQL (a `postgres://` URL where a file path
//! would go): the same tables as the SQLite store (`migrations/`, applied
//! in order at open and recorded in `vexil_event_migrations`), the same
//! ids and the same metric query text with `$n` placeholders.
//!
//! Ingestion uses PostgreSQL's bulk path (`batch.rs`): each batch is
//! copied (binary `COPY`) straight into the tables while its events are
//! new, else into a temporary staging table and moved into the tables
//! with `INSERT ... SELECT ... ON CONFLICT DO NOTHING`, which keeps
//! re-ingestion idempotent exactly as the SQLite store's inserts do. The
//! store's own aggregation streams rows to the fold SQLite uses
//! (`scan.rs`); the portable query runs as is for `aggregate_sql` and
//! mapped tables. The store's API is blocking; the driver
//! (`tokio-postgres`, as the override store uses) runs on a
//! single-threaded runtime of the store's own.

use std::path::PathBuf;
use std::time::Duration;

use tokio::runtime::Runtime;
use tokio_postgres::types::{FromSql, ToSql, Type};
use tokio_postgres::{Client, Config, NoTls};

use crate::aggregate::{metrics_query_in, sums_of, Aggregates};
use crate::metric::MetricSpec;
use crate::query::Tables;
use crate::sql::Dialect;
use crate::store::StoreError;

mod batch;
mod scan;

pub(crate) use batch::PgBatch;

/// The migrations, in order; the schema version is their count.
const MIGRATIONS: &[&str] = &[include_str!("../migrations/postgres_1.sql")];

/// An arbitrary key for the advisory lock that serialises migrations
/// (another than the override store's, which may share the database).
const MIGRATION_LOCK: i64 = 0x7665_7869_6c5f_6576;

/// How long a connection attempt may take, unless the URL says otherwise.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The staging table a batch is copied into (one per session).
const STAGE: &str = "CREATE TEMPORARY TABLE vexil_stage (
    seq        BIGINT  NOT NULL,   -- position in the batch as given
    exposure   BOOLEAN NOT NULL,
    producer   BOOLEAN NOT NULL,   -- id digests a producer's id
    name       TEXT    NOT NULL,   -- the experiment, or the event's name
    unit       TEXT    NOT NULL,
    time       BIGINT  NOT NULL,
    id         BYTEA   NOT NULL,
    variant    TEXT,
    value      DOUBLE PRECISION,
    properties TEXT
)";

/// Whether `text` names a PostgreSQL database rather than a file.
pub fn is_postgres_url(text: &str) -> bool {
    text.starts_with("postgres://") || text.starts_with("postgresql://")
}

/// `text` with the password of its user information and any `password=`
/// parameter replaced, for messages (secrets are never printed).
pub fn redact(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else {
        return text.to_string();
    };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((user, host)) => match user.split_once(':') {
            Some((name, _)) => format!("{name}:***@{host}"),
            None => format!("{user}@{host}"),
        },
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) if query.to_ascii_lowercase().contains("password") => {
            let query: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => kv.to_string(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        _ => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// An open connection to a PostgreSQL event store.
pub(crate) struct Postgres {
    runtime: Runtime,
    client: Client,
    /// The URL without its password, for messages.
    name: String,
    /// Whether the next batch is copied straight into the tables (see
    /// [`PgBatch::insert_all`]): until a batch meets a known id.
    direct: bool,
}

/// A failed statement as a store error: the database's own message when
/// it has one (never the URL).
fn failed(name: &str, doing: &'static str, e: &tokio_postgres::Error) -> StoreError {
    let message = match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => e.to_string(),
    };
    StoreError::Postgres {
        url: name.to_string(),
        doing,
        message,
    }
}

impl Postgres {
    /// Connects to `url` and applies the migrations it lacks; with
    /// `must_exist`, a database without the store's tables is refused
    /// rather than set up (an analysis of a mistyped database name must
    /// not look at an empty store).
    pub(crate) fn open(url: &str, must_exist: bool) -> Result<Postgres, StoreError> {
        let name = redact(url);
        let mut config: Config =
            url.parse()
                .map_err(|e: tokio_postgres::Error| StoreError::Url {
                    url: name.clone(),
                    reason: e.to_string(),
                })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::Postgres {
                url: name.clone(),
                doing: "starting its driver",
                message: e.to_string(),
            })?;
        let (client, connection) = runtime
            .block_on(config.connect(NoTls))
            .map_err(|e| failed(&name, "connecting", &e))?;
        // The connection's driver: runs whenever the store waits on it.
        runtime.spawn(async move {
            let _ = connection.await;
        });
        let mut store = Postgres {
            runtime,
            client,
            name,
            direct: true,
        };
        store.migrate(must_exist)?;
        store.run("creating the staging table", STAGE)?;
        Ok(store)
    }

    /// The URL without its password.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Runs statements that return nothing.
    fn run(&self, doing: &'static str, sql: &str) -> Result<(), StoreError> {
        self.runtime
            .block_on(self.client.batch_execute(sql))
            .map_err(|e| failed(&self.name, doing, &e))
    }

    fn migrate(&mut self, must_exist: bool) -> Result<(), StoreError> {
        let name: &str = &self.name;
        let err = |doing: &'static str| move |e: tokio_postgres::Error| failed(name, doing, &e);
        let client = &mut self.client;
        self.runtime.block_on(async {
            let tx = client
                .transaction()
                .await
                .map_err(err("starting a transaction"))?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
                .await
                .map_err(err("locking out other migrations"))?;
            let exists: bool = tx
                .query_one(
                    "SELECT to_regclass('vexil_event_migrations') IS NOT NULL",
                    &[],
                )
                .await
                .map_err(err("reading its schema version"))?
                .get(0);
            if !exists && must_exist {
                return Err(StoreError::Missing {
                    path: PathBuf::from(name),
                });
            }
            tx.batch_execute(
                "CREATE TABLE IF NOT EXISTS vexil_event_migrations (
                     version    INTEGER PRIMARY KEY,
                     applied_at BIGINT NOT NULL)",
            )
            .await
            .map_err(err("recording its schema version"))?;
            let applied: i32 = tx
                .query_one(
                    "SELECT COALESCE(MAX(version), 0) FROM vexil_event_migrations",
                    &[],
                )
                .await
                .map_err(err("reading its schema version"))?
                .get(0);
            if applied as usize > MIGRATIONS.len() {
                return Err(StoreError::Version {
                    path: PathBuf::from(name),
                    found: i64::from(applied),
                });
            }
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_micros() as i64)
                .unwrap_or(0);
            for (i, migration) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
                tx.batch_execute(migration)
                    .await
                    .map_err(err("creating the schema"))?;
                tx.execute(
                    "INSERT INTO vexil_event_migrations (version, applied_at) VALUES ($1, $2)",
                    &[&(i as i32 + 1), &now],
                )
                .await
                .map_err(err("recording the schema version"))?;
            }
            tx.commit().await.map_err(err("committing the schema"))
        })
    }

    /// After a bulk load, `VACUUM (ANALYZE)` of the event tables: it sets
    /// the new rows' hint bits and the visibility map and gives the planner
    /// their statistics, work the first analysis would otherwise do (28 s
    /// instead of 9 over the ten million events, BENCHMARKS.md).
    /// Pages already vacuumed are skipped, so a small load into a large
    /// store costs little.
    pub(crate) fn settle(&self) -> Result<(), StoreError> {
        self.run(
            "vacuuming the tables after the load",
            "VACUUM (ANALYZE) exposures, events",
        )
    }

    /// Number of stored exposures and metric events.
    pub(crate) fn counts(&self) -> Result<(u64, u64), StoreError> {
        let row = self
            .runtime
            .block_on(self.client.query_one(
                "SELECT (SELECT COUNT(*) FROM exposures), (SELECT COUNT(*) FROM events)",
                &[],
            ))
            .map_err(|e| failed(&self.name, "counting events", &e))?;
        let (exposures, events): (i64, i64) = (row.get(0), row.get(1));
        Ok((exposures.max(0) as u64, events.max(0) as u64))
    }

    /// Runs a metric query rendered for PostgreSQL; its rows as aggregates.
    pub(crate) fn rows(
        &self,
        sql: &str,
        params: &[String],
        specs: &[MetricSpec],
    ) -> Result<Aggregates, StoreError> {
        let params: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let rows = self
            .runtime
            .block_on(self.client.query(sql, &params))
            .map_err(|e| failed(&self.name, "running the metrics query", &e))?;
        let mut aggregates = Aggregates::default();
        for row in rows {
            let read =
                |e: tokio_postgres::Error| failed(&self.name, "reading the metrics query", &e);
            let variant: Option<String> = row.try_get(0).map_err(read)?;
            let day: i64 = row.try_get(1).map_err(read)?;
            let units: i64 = row.try_get(2).map_err(read)?;
            let values = (3..row.len())
                .map(|i| row.try_get::<_, Number>(i).map(|n| n.0))
                .collect::<Result<Vec<f64>, _>>()
                .map_err(read)?;
            let mut values = values.into_iter();
            let metrics = specs.iter().map(|s| sums_of(s, &mut values)).collect();
            aggregates.add_row(variant, day, units.max(0) as u64, metrics);
        }
        Ok(aggregates)
    }

    /// Starts a write transaction.
    pub(crate) fn batch(&mut self) -> Result<PgBatch<'_>, StoreError> {
        self.run("starting a transaction", "BEGIN")?;
        Ok(PgBatch {
            store: self,
            open: true,
        })
    }

    /// Runs [`metrics_query`] for `experiment`, as the SQLite store does.
    pub(crate) fn aggregate(
        &self,
        experiment: &str,
        specs: &[MetricSpec],
    ) -> Result<Aggregates, StoreError> {
        let (sql, params) = metrics_query_in(
            experiment,
            specs,
            &Tables::default(),
            Dialect::Postgres,
            true,
        );
        self.rows(&sql, &params, specs)
    }
}

impl Postgres {
    /// The columns of the table `name` (`quoted` as PostgreSQL reads it).
    pub(crate) fn table_columns(
        &self,
        name: &str,
        quoted: &str,
    ) -> Result<Vec<String>, StoreError> {
        let statement = self
            .runtime
            .block_on(
                self.client
                    .prepare(&format!("SELECT * FROM {quoted} LIMIT 0")),
            )
            .map_err(|e| StoreError::Mapping {
                message: format!(
                    "`{name}` cannot be read: {}",
                    e.as_db_error()
                        .map_or(e.to_string(), |db| db.message().to_string())
                ),
            })?;
        Ok(statement
            .columns()
            .iter()
            .map(|c| c.name().to_string())
            .collect())
    }
}

/// A sum as f64, whatever numeric type PostgreSQL gives it (`integer` and
/// `bigint` for counts of conversions, `double precision` for values).
struct Number(f64);

impl<'a> FromSql<'a> for Number {
    fn from_sql(
        ty: &Type,
        raw: &'a [u8],
    ) -> Result<Number, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Number(match *ty {
            Type::INT2 => f64::from(i16::from_sql(ty, raw)?),
            Type::INT4 => f64::from(i32::from_sql(ty, raw)?),
            Type::INT8 => i64::from_sql(ty, raw)? as f64,
            Type::FLOAT4 => f64::from(f32::from_sql(ty, raw)?),
            _ => f64::from_sql(ty, raw)?,
        }))
    }

    /// A sum over no rows, as SQLite's is read.
    fn from_sql_null(_: &Type) -> Result<Number, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Number(0.0))
    }

    fn accepts(ty: &Type) -> bool {
        matches!(
            *ty,
            Type::INT2 | Type::INT4 | Type::INT8 | Type::FLOAT4 | Type::FLOAT8
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_never_shown() {
        assert_eq!(
            redact("postgres://vexil:s3cret@db.example:5432/events"),
            "postgres://vexil:***@db.example:5432/events"
        );
        assert_eq!(
            redact("postgresql://db/events?user=v&password=s3cret&sslmode=disable"),
            "postgresql://db/events?user=v&password=***&sslmode=disable"
        );
        assert_eq!(redact("postgres://v@db/events"), "postgres://v@db/events");
    }
}
