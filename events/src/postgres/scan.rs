//! The PostgreSQL store's aggregation: the experiment's exposures in unit
//! order, then the metric events in any order, each one binary
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

/// The planner's estimate of the distinct units in `events` (its
/// `n_distinct`, and its row count): no row until the table is analysed.
const UNITS_ESTIMATE: &str = "SELECT s.n_distinct, c.reltuples FROM pg_class c \
     JOIN pg_namespace n ON n.oid = c.relnamespace \
     JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname \
     AND s.attname = 'unit' WHERE c.oid = 'events'::regclass";

/// The distinct units of a table of `rows` rows whose `n_distinct` is
/// `distinct` (negative: a fraction of the rows); `None` when unknown.
fn distinct_units(distinct: f32, rows: f32) -> Option<f64> {
    let (distinct, rows) = (f64::from(distinct), f64::from(rows));
    match distinct {
        d if d > 0.0 => Some(d),
        d if d < 0.0 && rows > 0.0 => Some(-d * rows),
        _ => None,
    }
}

/// Whether the server should pick out the enrolled units' events (a hash
/// semi-join of `events` with the experiment's exposures) rather than send
/// every event of the metrics' names for the fold to skip the others. The
/// join costs the server about as much as the scan itself (3.3 s against
/// 6.8 s over the issue's ten million events, BENCHMARKS.md), so it pays
/// only when most units are not enrolled: here, when the experiment holds
/// fewer than half the units the statistics estimate (and whenever they
/// are missing).
fn filters_units(held: usize, units: Option<f64>) -> bool {
    units.is_none_or(|units| (held as f64) < units / 2.0)
}

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
    /// the metric events as the server reads them (a scan of `events`, no
    /// sort; semi-joined to the experiment's units unless most units are
    /// enrolled, `filters_units`), then the units folded in key order, as
    /// SQLite's are. Both streams are binary `COPY`s in one read-only
    /// snapshot. The events in unit order cost the server a sort or a join
    /// (most of 9 s over the issue's ten million events); the portable
    /// query instead had it evaluate every metric's `CASE` on every joined
    /// row (14 s; BENCHMARKS.md).
    ///
    /// [`Store::aggregate`]: crate::Store::aggregate
    pub(crate) fn fold(&self, experiment: &str, mut fold: Fold) -> Result<Aggregates, StoreError> {
        let experiment = literal(experiment);
        let exposures = format!(
            "COPY (SELECT unit, time, variant FROM exposures WHERE experiment = {experiment} \
             ORDER BY unit, time, id) TO STDOUT (FORMAT binary)"
        );
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
            if !fold.events().is_empty() {
                let estimate = client
                    .query_opt(UNITS_ESTIMATE, &[])
                    .await
                    .map_err(err("reading the planner's statistics"))?;
                let units = match estimate {
                    Some(row) => {
                        let read = err("reading the planner's statistics");
                        let distinct: f32 = row.try_get(0).map_err(read)?;
                        let rows: f32 = row.try_get(1).map_err(read)?;
                        distinct_units(distinct, rows)
                    }
                    None => None,
                };
                let names: Vec<String> = fold.events().iter().map(|e| literal(e)).collect();
                let mut events = format!(
                    "COPY (SELECT e.unit, e.event, e.time, e.value FROM events e \
                     WHERE e.event IN ({})",
                    names.join(", ")
                );
                if filters_units(fold.held_units(), units) {
                    events.push_str(&format!(
                        " AND EXISTS (SELECT 1 FROM exposures x \
                         WHERE x.experiment = {experiment} AND x.unit = e.unit)"
                    ));
                }
                events.push_str(") TO STDOUT (FORMAT binary)");
                let rows = client
                    .copy_out(&events)
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
    fn the_server_picks_out_units_unless_most_are_enrolled() {
        assert_eq!(distinct_units(-0.25, 1000.0), Some(250.0));
        assert_eq!(distinct_units(300.0, 1000.0), Some(300.0));
        assert_eq!(distinct_units(0.0, 1000.0), None);
        assert!(filters_units(49, Some(100.0)));
        assert!(!filters_units(50, Some(100.0)));
        assert!(!filters_units(120, Some(100.0)));
        assert!(filters_units(1_000_000, None));
    }

    #[test]
    fn literals_escape_quotes_and_backslashes() {
        assert_eq!(literal("plain"), "E'plain'");
        assert_eq!(literal(r"it's \ x"), r"E'it''s \\ x'");
    }
}
