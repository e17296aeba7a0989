//! The PostgreSQL store's aggregation: the experiment's exposures in unit
//! order, then its units' metric events in any order, each one binary
//! `COPY ... TO STDOUT` in one read-only snapshot, folded in Rust as the
//! SQLite store's are (`per_unit.rs`, the units held by key).

use futures_util::{pin_mut, TryStreamExt};
use tokio_postgres::binary_copy::BinaryCopyOutStream;
use tokio_postgres::types::Type;

use crate::aggregate::Aggregates;
use crate::per_unit::Fold;
use crate::store::StoreError;

use super::{failed, Postgres};

/// The columns of the exposures' copy: unit, time, variant.
const EXPOSURE_TYPES: [Type; 3] = [Type::TEXT, Type::INT8, Type::TEXT];

/// The columns of the events' copy: unit, event, time, value.
const EVENT_TYPES: [Type; 4] = [Type::TEXT, Type::TEXT, Type::INT8, Type::FLOAT8];

/// `text` as a PostgreSQL string literal whatever the server's
/// `standard_conforming_strings` (`COPY` takes no bound parameters).
fn literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 3);
    out.push_str("E'");
    for c in text.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

impl Postgres {
    /// [`Store::aggregate`] on PostgreSQL: the experiment's exposures in
    /// unit order (the primary key's), each complete unit held by key, then
    /// the held units' metric events as the server reads them (a scan of
    /// `events` semi-joined to the experiment's units, no sort), then the
    /// units folded in key order, as SQLite's are. Both streams are binary
    /// `COPY`s in one read-only snapshot. Asking the server for the events
    /// in unit order had it sort 8.5 M rows (most of 9 s over the issue's
    /// ten million events); the portable query instead had it evaluate
    /// every metric's `CASE` on every joined row (14 s; BENCHMARKS.md).
    ///
    /// [`Store::aggregate`]: crate::Store::aggregate
    pub(crate) fn fold(&self, experiment: &str, mut fold: Fold) -> Result<Aggregates, StoreError> {
        let experiment = literal(experiment);
        let exposures = format!(
            "COPY (SELECT unit, time, variant FROM exposures WHERE experiment = {experiment} \
             ORDER BY unit, time, id) TO STDOUT (FORMAT binary)"
        );
        let events = match fold.events() {
            [] => None,
            names => {
                let names: Vec<String> = names.iter().map(|e| literal(e)).collect();
                Some(format!(
                    "COPY (SELECT e.unit, e.event, e.time, e.value FROM events e \
                     WHERE e.event IN ({}) AND EXISTS (SELECT 1 FROM exposures x \
                     WHERE x.experiment = {experiment} AND x.unit = e.unit)) \
                     TO STDOUT (FORMAT binary)",
                    names.join(", ")
                ))
            }
        };
        let name: &str = &self.name;
        let err = |doing: &'static str| move |e: tokio_postgres::Error| failed(name, doing, &e);
        let client = &self.client;
        let folded = self.runtime.block_on(async {
            client
                .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .await
                .map_err(err("starting the scan"))?;
            let rows = client
                .copy_out(&exposures)
                .await
                .map_err(err("scanning the exposures"))?;
            let rows = BinaryCopyOutStream::new(rows, &EXPOSURE_TYPES);
            pin_mut!(rows);
            let read = err("reading an exposure");
            while let Some(row) = rows.try_next().await.map_err(read)? {
                let unit: &str = row.try_get(0).map_err(read)?;
                let time: i64 = row.try_get(1).map_err(read)?;
                let variant: &str = row.try_get(2).map_err(read)?;
                if fold.starts_unit(unit.as_bytes()) {
                    fold.hold_unit();
                }
                fold.exposure(unit.as_bytes(), time, variant.as_bytes());
            }
            // The last unit (nothing happens without one).
            fold.hold_unit();
            if let Some(events) = &events {
                let rows = client
                    .copy_out(events)
                    .await
                    .map_err(err("scanning the metric events"))?;
                let rows = BinaryCopyOutStream::new(rows, &EVENT_TYPES);
                pin_mut!(rows);
                let read = err("reading a metric event");
                while let Some(row) = rows.try_next().await.map_err(read)? {
                    let unit: &str = row.try_get(0).map_err(read)?;
                    let event: &str = row.try_get(1).map_err(read)?;
                    let time: i64 = row.try_get(2).map_err(read)?;
                    let value: f64 = row.try_get(3).map_err(read)?;
                    fold.held_event(unit.as_bytes(), event.as_bytes(), time, value);
                }
            }
            client
                .batch_execute("COMMIT")
                .await
                .map_err(err("ending the scan"))?;
            fold.finish_held();
            Ok(fold.into_aggregates())
        });
        if folded.is_err() {
            // Nothing to keep: the snapshot goes.
            let _ = self.run("rolling back", "ROLLBACK");
        }
        folded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_escape_quotes_and_backslashes() {
        assert_eq!(literal("plain"), "E'plain'");
        assert_eq!(literal(r"it's \ x"), r"E'it''s \\ x'");
    }
}
