//! The PostgreSQL store's writes: each batch copied (binary `COPY`)
//! straight into the tables, or into the staging table and moved from
//! there with `INSERT ... SELECT ... ON CONFLICT DO NOTHING`.

use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;

use crate::event::Row;
use crate::store::{Inserted, StoreError};

use super::{failed, Postgres};

const COPY: &str = "COPY vexil_stage (seq, exposure, producer, name, unit, time, id, variant, value, properties) FROM STDIN (FORMAT binary)";

const COPY_TYPES: [Type; 10] = [
    Type::INT8,
    Type::BOOL,
    Type::BOOL,
    Type::TEXT,
    Type::TEXT,
    Type::INT8,
    Type::BYTEA,
    Type::TEXT,
    Type::FLOAT8,
    Type::TEXT,
];

/// Producer ids are claimed by the first event of the batch that carries
/// each (by `seq`); the events whose id was taken, before or earlier in the
/// batch, leave the stage.
const CLAIM: &str = "WITH firsts AS (
    SELECT DISTINCT ON (id) id, seq FROM vexil_stage WHERE producer ORDER BY id, seq
), claimed AS (
    INSERT INTO producer_ids (id) SELECT id FROM firsts ON CONFLICT DO NOTHING RETURNING id
)
DELETE FROM vexil_stage s
WHERE s.producer
  AND NOT EXISTS (SELECT 1 FROM claimed c JOIN firsts f ON f.id = c.id WHERE f.seq = s.seq)";

const MOVE_EXPOSURES: &str = "INSERT INTO exposures (experiment, unit, time, id, variant)
SELECT name, unit, time, id, variant FROM vexil_stage WHERE exposure
ON CONFLICT DO NOTHING";

const MOVE_TRACKS: &str = "INSERT INTO events (unit, event, time, id, value, properties)
SELECT unit, name, time, id, value, properties FROM vexil_stage WHERE NOT exposure
ON CONFLICT DO NOTHING";

/// A batch copied straight into the tables (no producer ids, no known
/// ids: the primary keys refuse a duplicate, and the batch then goes
/// through the stage).
const COPY_EXPOSURES: &str =
    "COPY exposures (experiment, unit, time, id, variant) FROM STDIN (FORMAT binary)";
const EXPOSURE_TYPES: [Type; 5] = [Type::TEXT, Type::TEXT, Type::INT8, Type::BYTEA, Type::TEXT];
const COPY_TRACKS: &str =
    "COPY events (unit, event, time, id, value, properties) FROM STDIN (FORMAT binary)";
const TRACK_TYPES: [Type; 6] = [
    Type::TEXT,
    Type::TEXT,
    Type::INT8,
    Type::BYTEA,
    Type::FLOAT8,
    Type::TEXT,
];
/// One write transaction: rolled back when dropped uncommitted.
pub(crate) struct PgBatch<'a> {
    pub(super) store: &'a mut Postgres,
    pub(super) open: bool,
}

impl PgBatch<'_> {
    /// Stores the new events of `rows`; a known id counts as a
    /// duplicate, as in the SQLite store.
    ///
    /// A batch without producer ids is first copied straight into the
    /// tables (binary `COPY`, under a savepoint): the primary keys, which
    /// hold each content id, refuse the whole copy if one event is known,
    /// and the batch then takes the general path, [`PgBatch::staged`]. So
    /// new events (a first ingestion, the next day's file) skip the stage
    /// and the `INSERT ... ON CONFLICT`, and a file ingested again costs
    /// one refused copy, after which batches go through the stage until
    /// one has no duplicate.
    pub(crate) fn insert_all(&mut self, rows: Vec<Row<'_>>) -> Result<Inserted, StoreError> {
        if rows.is_empty() {
            return Ok(Inserted::default());
        }
        let total = rows.len() as u64;
        let producers = rows.iter().any(Row::producer_id);
        // In key order, as the SQLite store inserts: the inserts then walk
        // the primary keys' pages in order. `seq` keeps the order given,
        // which decides which of two events sharing a producer id wins.
        let mut rows: Vec<(i64, Row<'_>)> = (0..).zip(rows).collect();
        rows.sort_unstable_by(|a, b| a.1.sort_key().cmp(&b.1.sort_key()));
        if self.store.direct && !producers {
            if let Some(inserted) = self.direct(&rows)? {
                return Ok(inserted);
            }
        }
        let inserted = self.staged(&rows, producers, total)?;
        self.store.direct = inserted.duplicates == 0;
        Ok(inserted)
    }

    /// Copies `rows` (in key order, exposures first) into the tables;
    /// `None`, with nothing kept, when one of them is known.
    fn direct(&mut self, rows: &[(i64, Row<'_>)]) -> Result<Option<Inserted>, StoreError> {
        let store = &*self.store;
        let name: &str = &store.name;
        let err = |doing: &'static str| move |e: tokio_postgres::Error| failed(name, doing, &e);
        let client = &store.client;
        let split = rows.partition_point(|(_, r)| matches!(r, Row::Exposure { .. }));
        let (exposures, tracks) = rows.split_at(split);
        let copied = store.runtime.block_on(async {
            client
                .batch_execute("SAVEPOINT vexil_direct")
                .await
                .map_err(err("copying events"))?;
            let copied = async {
                let mut counts = (0, 0);
                if !exposures.is_empty() {
                    let sink = client.copy_in(COPY_EXPOSURES).await?;
                    let writer = BinaryCopyInWriter::new(sink, &EXPOSURE_TYPES);
                    let mut writer = std::pin::pin!(writer);
                    for (_, row) in exposures {
                        if let Row::Exposure {
                            id,
                            experiment,
                            variant,
                            unit,
                            time,
                            ..
                        } = row
                        {
                            let id: &[u8] = id;
                            writer
                                .as_mut()
                                .write(&[experiment, unit, time, &id, variant])
                                .await?;
                        }
                    }
                    counts.0 = writer.finish().await?;
                }
                if !tracks.is_empty() {
                    let sink = client.copy_in(COPY_TRACKS).await?;
                    let writer = BinaryCopyInWriter::new(sink, &TRACK_TYPES);
                    let mut writer = std::pin::pin!(writer);
                    for (_, row) in tracks {
                        if let Row::Track {
                            id,
                            event,
                            unit,
                            value,
                            time,
                            properties,
                            ..
                        } = row
                        {
                            let id: &[u8] = id;
                            writer
                                .as_mut()
                                .write(&[unit, event, time, &id, value, properties])
                                .await?;
                        }
                    }
                    counts.1 = writer.finish().await?;
                }
                Ok::<_, tokio_postgres::Error>(counts)
            }
            .await;
            match copied {
                Ok((exposures, tracks)) => {
                    client
                        .batch_execute("RELEASE SAVEPOINT vexil_direct")
                        .await
                        .map_err(err("copying events"))?;
                    Ok(Some(Inserted {
                        exposures,
                        tracks,
                        duplicates: 0,
                    }))
                }
                Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                    client
                        .batch_execute("ROLLBACK TO SAVEPOINT vexil_direct")
                        .await
                        .map_err(err("copying events"))?;
                    Ok(None)
                }
                Err(e) => Err(failed(name, "copying events", &e)),
            }
        });
        if let Ok(None) = copied {
            self.store.direct = false;
        }
        copied
    }

    /// Copies `rows` into the stage and moves the new ones into the
    /// tables (`INSERT ... ON CONFLICT DO NOTHING`), claiming producer ids
    /// first.
    fn staged(
        &mut self,
        rows: &[(i64, Row<'_>)],
        producers: bool,
        total: u64,
    ) -> Result<Inserted, StoreError> {
        let store = &*self.store;
        let name: &str = &store.name;
        let err = |doing: &'static str| move |e: tokio_postgres::Error| failed(name, doing, &e);
        let client = &store.client;
        store.runtime.block_on(async {
            let sink = client.copy_in(COPY).await.map_err(err("copying events"))?;
            let writer = BinaryCopyInWriter::new(sink, &COPY_TYPES);
            let mut writer = std::pin::pin!(writer);
            for (seq, row) in rows {
                let written = match row {
                    Row::Exposure {
                        id,
                        producer_id,
                        experiment,
                        variant,
                        unit,
                        time,
                    } => {
                        let id: &[u8] = id;
                        writer
                            .as_mut()
                            .write(&[
                                seq,
                                &true,
                                producer_id,
                                experiment,
                                unit,
                                time,
                                &id,
                                &Some(*variant),
                                &None::<f64>,
                                &None::<&str>,
                            ])
                            .await
                    }
                    Row::Track {
                        id,
                        producer_id,
                        event,
                        unit,
                        value,
                        time,
                        properties,
                    } => {
                        let id: &[u8] = id;
                        writer
                            .as_mut()
                            .write(&[
                                seq,
                                &false,
                                producer_id,
                                event,
                                unit,
                                time,
                                &id,
                                &None::<&str>,
                                &Some(*value),
                                properties,
                            ])
                            .await
                    }
                };
                written.map_err(err("copying events"))?;
            }
            writer.finish().await.map_err(err("copying events"))?;
            if producers {
                client
                    .execute(CLAIM, &[])
                    .await
                    .map_err(err("recording event ids"))?;
            }
            let exposures = client
                .execute(MOVE_EXPOSURES, &[])
                .await
                .map_err(err("inserting exposures"))?;
            let tracks = client
                .execute(MOVE_TRACKS, &[])
                .await
                .map_err(err("inserting metric events"))?;
            client
                .batch_execute("TRUNCATE vexil_stage")
                .await
                .map_err(err("emptying the staging table"))?;
            Ok(Inserted {
                exposures,
                tracks,
                duplicates: total.saturating_sub(exposures + tracks),
            })
        })
    }

    pub(crate) fn commit(mut self) -> Result<(), StoreError> {
        self.open = false;
        self.store.run("committing a transaction", "COMMIT")
    }
}

impl Drop for PgBatch<'_> {
    fn drop(&mut self) {
        if self.open {
            // Nothing of a failed batch is kept; if the connection is gone,
            // the server has rolled it back already.
            let _ = self.store.run("rolling back", "ROLLBACK");
        }
    }
}
