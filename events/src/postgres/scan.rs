//! The PostgreSQL store's aggregation: the experiment's exposures and its
//! units' metric events streamed in unit order from two cursors, folded
//! in Rust as the SQLite store's are (`per_unit.rs`).

use crate::aggregate::Aggregates;
use crate::per_unit::Fold;
use crate::store::StoreError;

use super::{failed, Postgres};

/// How many rows each fetch of the aggregation's cursors brings.
const FETCH_ROWS: usize = 20_000;

/// `text` as a PostgreSQL string literal whatever the server's
/// `standard_conforming_strings` (cursors take no bound parameters).
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
    /// [`Store::aggregate`] on PostgreSQL: the experiment's exposures and
    /// its units' metric events, each streamed in unit order (two cursors
    /// in one read-only snapshot), folded in Rust as SQLite's are. The
    /// server only reads rows in index order; the portable query instead
    /// had it evaluate every metric's `CASE` on every joined row (14 s over
    /// the issue's ten million events, BENCHMARKS.md).
    ///
    /// [`Store::aggregate`]: crate::Store::aggregate
    pub(crate) fn fold(&self, experiment: &str, mut fold: Fold) -> Result<Aggregates, StoreError> {
        let experiment = literal(experiment);
        let mut declare = format!(
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
DECLARE vexil_exposures NO SCROLL CURSOR FOR
SELECT unit, time, variant FROM exposures WHERE experiment = {experiment} ORDER BY unit, time, id;"
        );
        let reads_events = !fold.events().is_empty();
        if reads_events {
            let names: Vec<String> = fold.events().iter().map(|e| literal(e)).collect();
            declare.push_str(&format!(
                "
DECLARE vexil_events NO SCROLL CURSOR FOR
SELECT e.unit, e.event, e.time, e.value FROM events e
WHERE e.event IN ({})
  AND EXISTS (SELECT 1 FROM exposures x WHERE x.experiment = {experiment} AND x.unit = e.unit)
ORDER BY e.unit;",
                names.join(", ")
            ));
        }
        let name: &str = &self.name;
        let err = |doing: &'static str| move |e: tokio_postgres::Error| failed(name, doing, &e);
        let client = &self.client;
        let folded = self.runtime.block_on(async {
            client
                .batch_execute(&declare)
                .await
                .map_err(err("scanning the exposures"))?;
            let next_exposures = client
                .prepare(&format!("FETCH FORWARD {FETCH_ROWS} FROM vexil_exposures"))
                .await
                .map_err(err("scanning the exposures"))?;
            let next_events = match reads_events {
                true => Some(
                    client
                        .prepare(&format!("FETCH FORWARD {FETCH_ROWS} FROM vexil_events"))
                        .await
                        .map_err(err("scanning the metric events"))?,
                ),
                false => None,
            };
            // The fetched events not yet folded, from `at` on.
            let mut events: Vec<tokio_postgres::Row> = Vec::new();
            let mut at = 0;
            let mut events_done = next_events.is_none();
            let mut key: Vec<u8> = Vec::new();
            loop {
                let exposures = client
                    .query(&next_exposures, &[])
                    .await
                    .map_err(err("scanning the exposures"))?;
                let last = exposures.is_empty();
                // Each exposure row, then (once) `None`: the end.
                for row in exposures.iter().map(Some).chain(last.then_some(None)) {
                    let read = err("reading an exposure");
                    let exposure = match row {
                        Some(row) => {
                            let unit: &str = row.try_get(0).map_err(read)?;
                            if !fold.starts_unit(unit.as_bytes()) {
                                let time: i64 = row.try_get(1).map_err(read)?;
                                let variant: &str = row.try_get(2).map_err(read)?;
                                fold.exposure(unit.as_bytes(), time, variant.as_bytes());
                                continue;
                            }
                            Some(row)
                        }
                        None => None,
                    };
                    // The open unit is complete: its events, then the next.
                    key.clear();
                    if let Some(open) = fold.open_unit() {
                        key.extend_from_slice(open);
                    }
                    while !key.is_empty() && !events_done {
                        if at == events.len() {
                            if let Some(statement) = &next_events {
                                events = client
                                    .query(statement, &[])
                                    .await
                                    .map_err(err("scanning the metric events"))?;
                            }
                            at = 0;
                            events_done = events.is_empty();
                            continue;
                        }
                        let read = err("reading a metric event");
                        let row = &events[at];
                        let unit: &str = row.try_get(0).map_err(read)?;
                        match unit.as_bytes().cmp(&key) {
                            // A unit left out (exposed to several variants).
                            std::cmp::Ordering::Less => at += 1,
                            std::cmp::Ordering::Equal => {
                                let event: &str = row.try_get(1).map_err(read)?;
                                let time: i64 = row.try_get(2).map_err(read)?;
                                let value: f64 = row.try_get(3).map_err(read)?;
                                fold.event(event.as_bytes(), time, value);
                                at += 1;
                            }
                            std::cmp::Ordering::Greater => break,
                        }
                    }
                    fold.finish_unit();
                    if let Some(row) = exposure {
                        let read = err("reading an exposure");
                        let unit: &str = row.try_get(0).map_err(read)?;
                        let time: i64 = row.try_get(1).map_err(read)?;
                        let variant: &str = row.try_get(2).map_err(read)?;
                        fold.exposure(unit.as_bytes(), time, variant.as_bytes());
                    }
                }
                if last {
                    break;
                }
            }
            client
                .batch_execute("COMMIT")
                .await
                .map_err(err("ending the scan"))?;
            Ok(fold.into_aggregates())
        });
        if folded.is_err() {
            // Nothing to keep: the snapshot and its cursors go.
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
