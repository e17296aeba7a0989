//! Per-variant sufficient statistics of an experiment's metrics, defined
//! by one portable SQL query. The store computes the same sums by a scan in
//! Rust (`per_unit.rs`, [`Store::aggregate`]); [`Store::aggregate_sql`]
//! runs this query, and tests hold the two together.
//!
//! The query is portable on purpose: only `WITH`, `LEFT JOIN`, `NOT
//! EXISTS`, `GROUP BY`, `CASE`, `SUM`, `MAX`, `MIN`, `COUNT`, `MOD` and
//! integer arithmetic, no SQLite-only functions, so the same text (with `?`
//! placeholders) runs on PostgreSQL or a warehouse over tables of the same
//! shape. It is built from the metric declarations: event names are bound
//! parameters, windows are integer literals this code writes itself.
//!
//! Its shape was chosen for SQLite's planner, when the store ran it: the first exposure of each unit
//! is picked with `NOT EXISTS` rather than `GROUP BY`, so that the scan of
//! `exposures` stays in key (unit) order, the join with `events` follows it,
//! and the per-unit `GROUP BY` streams instead of sorting every joined row
//! (10.4 s → 8.6 s over ten million events).

use rusqlite::params_from_iter;
use serde::Serialize;
use vexil_ir as ir;

use crate::metric::MetricSpec;
use crate::query::{metric_query, Tables};
use crate::sql::{self, Dialect, Values};
use crate::store::{sqlite, Store, StoreError};

/// One metric's sums over the units of one variant (and one day of first
/// exposure). Ratio metrics fill the `denominator_*` and `cross_sum`
/// fields; metrics with a CUPED covariate fill the `pre_*` fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Sums {
    /// Sum over units of the unit's metric value.
    pub sum: f64,
    /// Sum of the squares of those values.
    pub sum_squares: f64,
    /// Ratio metrics: sum of the units' denominators.
    pub denominator_sum: f64,
    /// Ratio metrics: sum of their squares.
    pub denominator_sum_squares: f64,
    /// Ratio metrics: sum of value × denominator.
    pub cross_sum: f64,
    /// CUPED: sum of the units' pre-exposure values.
    pub pre_sum: f64,
    /// CUPED: sum of their squares.
    pub pre_sum_squares: f64,
    /// CUPED: sum of value × pre-exposure value.
    pub pre_cross_sum: f64,
}

impl Sums {
    fn add(&mut self, other: &Sums) {
        self.sum += other.sum;
        self.sum_squares += other.sum_squares;
        self.denominator_sum += other.denominator_sum;
        self.denominator_sum_squares += other.denominator_sum_squares;
        self.cross_sum += other.cross_sum;
        self.pre_sum += other.pre_sum;
        self.pre_sum_squares += other.pre_sum_squares;
        self.pre_cross_sum += other.pre_cross_sum;
    }
}

/// The units of one variant first exposed on one UTC day, with their sums.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Cell {
    /// The variant the units were exposed to.
    pub variant: String,
    /// Start of the UTC day of first exposure, microseconds since the epoch.
    pub day: i64,
    /// How many units.
    pub units: u64,
    /// One entry per metric, in the order the specs were given.
    pub metrics: Vec<Sums>,
}

/// Everything the analysis reads from the store for one experiment.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Aggregates {
    /// Per variant and day of first exposure, ordered by variant and day.
    pub cells: Vec<Cell>,
    /// Units exposed to more than one variant: left out of every metric.
    pub mixed_units: u64,
}

impl Aggregates {
    /// Adds one result row of the metric query. A row without a variant
    /// counts units exposed to more than one variant, left out of every
    /// metric.
    pub fn add_row(&mut self, variant: Option<String>, day: i64, units: u64, metrics: Vec<Sums>) {
        match variant {
            Some(variant) => self.cells.push(Cell {
                variant,
                day,
                units,
                metrics,
            }),
            None => self.mixed_units += units,
        }
    }

    /// The totals of one variant over all days, or `None` when it has no
    /// units.
    pub fn variant_total(&self, variant: &str) -> Option<(u64, Vec<Sums>)> {
        let mut cells = self.cells.iter().filter(|c| c.variant == variant);
        let first = cells.next()?;
        let mut units = first.units;
        let mut sums = first.metrics.clone();
        for cell in cells {
            units += cell.units;
            for (total, s) in sums.iter_mut().zip(&cell.metrics) {
                total.add(s);
            }
        }
        Some((units, sums))
    }

    /// The days with any exposure, ascending.
    pub fn days(&self) -> Vec<i64> {
        let mut days: Vec<i64> = self.cells.iter().map(|c| c.day).collect();
        days.sort_unstable();
        days.dedup();
        days
    }

    /// The totals of one variant over the units first exposed up to and
    /// including `day`.
    pub fn variant_total_until(&self, variant: &str, day: i64) -> (u64, Vec<Sums>) {
        let mut units = 0;
        let mut sums: Vec<Sums> = Vec::new();
        for cell in self
            .cells
            .iter()
            .filter(|c| c.variant == variant && c.day <= day)
        {
            units += cell.units;
            if sums.is_empty() {
                sums = vec![Sums::default(); cell.metrics.len()];
            }
            for (total, s) in sums.iter_mut().zip(&cell.metrics) {
                total.add(s);
            }
        }
        (units, sums)
    }
}

/// The aggregation query for `specs` over Vexil's own tables, as the
/// store runs it on SQLite (`?` placeholders), and its parameters in
/// placeholder order.
///
/// A unit's first exposure is its earliest; units exposed to more than one
/// variant are left out (as GrowthBook does); events count from the first
/// exposure on. The result has one row per variant and UTC day of first
/// exposure: `variant, day, units`, then each metric's sums, named
/// `m{i}_{field}`. The one definition is `query.rs`; every dialect renders
/// it ([`metrics_query_in`]).
pub fn metrics_query(experiment: &str, specs: &[MetricSpec]) -> (String, Vec<String>) {
    metrics_query_in(experiment, specs, &Tables::default(), Dialect::Sqlite, true)
}

/// The aggregation query for `specs` over `tables` in `dialect`: with
/// `placeholders`, event names and the experiment are the driver's
/// placeholders, returned beside the text in order; without, they are
/// string literals quoted for the dialect (text to paste into a console).
pub fn metrics_query_in(
    experiment: &str,
    specs: &[MetricSpec],
    tables: &Tables,
    dialect: Dialect,
    placeholders: bool,
) -> (String, Vec<String>) {
    let values = if placeholders {
        Values::Placeholders
    } else {
        Values::Literals
    };
    sql::render(&metric_query(experiment, specs, tables), dialect, values)
}

pub(crate) fn sums_of(spec: &MetricSpec, values: &mut impl Iterator<Item = f64>) -> Sums {
    let mut next = || values.next().unwrap_or(0.0);
    let mut s = Sums {
        sum: next(),
        sum_squares: next(),
        ..Sums::default()
    };
    match spec.kind {
        ir::MetricKind::Ratio { .. } => {
            s.denominator_sum = next();
            s.denominator_sum_squares = next();
            s.cross_sum = next();
        }
        _ if spec.pre_period.is_some() => {
            s.pre_sum = next();
            s.pre_sum_squares = next();
            s.pre_cross_sum = next();
        }
        _ => {}
    }
    s
}

/// A SQL number as f64: SQLite returns integers for sums of integers.
pub(crate) fn number(value: rusqlite::types::ValueRef<'_>) -> f64 {
    match value {
        rusqlite::types::ValueRef::Integer(i) => i as f64,
        rusqlite::types::ValueRef::Real(r) => r,
        _ => 0.0,
    }
}

impl Store {
    /// Runs [`metrics_query`] for `experiment`: the portable definition, as a warehouse runs it. It gives what
    /// [`Store::aggregate`] gives, more slowly: SQLite evaluates every
    /// metric's `CASE` on every joined row.
    pub fn aggregate_sql(
        &self,
        experiment: &str,
        specs: &[MetricSpec],
    ) -> Result<Aggregates, StoreError> {
        let conn = match self.backend() {
            Ok(conn) => conn,
            Err(postgres) => return postgres.aggregate(experiment, specs),
        };
        let (sql, params) = metrics_query(experiment, specs);
        sqlite_rows(self, conn, &sql, &params, specs)
    }
}

/// What a metric query reads from SQLite, by column position.
fn sqlite_rows(
    store: &Store,
    conn: &rusqlite::Connection,
    sql: &str,
    params: &[String],
    specs: &[MetricSpec],
) -> Result<Aggregates, StoreError> {
    let path = store.path();
    let mut stmt = conn
        .prepare(sql)
        .map_err(|e| sqlite(path, "preparing the metrics query", e))?;
    let mut rows = stmt
        .query(params_from_iter(params.iter()))
        .map_err(|e| sqlite(path, "running the metrics query", e))?;
    let mut aggregates = Aggregates::default();
    while let Some(row) = rows
        .next()
        .map_err(|e| sqlite(path, "reading the metrics query", e))?
    {
        let read = |e| sqlite(path, "reading the metrics query", e);
        let variant: Option<String> = row.get(0).map_err(read)?;
        let day: i64 = row.get(1).map_err(read)?;
        let units: i64 = row.get(2).map_err(read)?;
        let width = row.as_ref().column_count();
        let mut values = (3..width).map(|i| row.get_ref(i).map(number).unwrap_or(0.0));
        let metrics = specs.iter().map(|s| sums_of(s, &mut values)).collect();
        aggregates.add_row(variant, day, units.max(0) as u64, metrics);
    }
    Ok(aggregates)
}

impl Store {
    /// Runs the metric query over `tables`: a team's own exposures and
    /// metric events in this database, described by a mapping
    /// (`[warehouse]` in `vexil.toml`). Every mapped column is checked
    /// first, so a misspelt one is named with its mapping key rather than
    /// left to the database's message.
    pub fn aggregate_tables(
        &self,
        experiment: &str,
        specs: &[MetricSpec],
        tables: &Tables,
    ) -> Result<Aggregates, StoreError> {
        tables
            .validate()
            .map_err(|message| StoreError::Mapping { message })?;
        for ((section, (table, columns)), parts) in ["exposures", "events"]
            .iter()
            .zip(tables.columns())
            .zip([&tables.exposures.table, &tables.events.table])
        {
            let have = self.table_columns(parts)?;
            for (key, column) in columns {
                if !have.iter().any(|c| c == column) {
                    return Err(StoreError::Mapping {
                        message: format!(
                            "`warehouse.{section}.{key}` names the column `{column}`, which `{table}` does not have; its columns: {}",
                            have.join(", ")
                        ),
                    });
                }
            }
        }
        let dialect = match self.backend() {
            Ok(_) => Dialect::Sqlite,
            Err(_) => Dialect::Postgres,
        };
        let (sql, params) = metrics_query_in(experiment, specs, tables, dialect, true);
        match self.backend() {
            Ok(conn) => sqlite_rows(self, conn, &sql, &params, specs),
            Err(postgres) => postgres.rows(&sql, &params, specs),
        }
    }

    /// The columns of a table of this database (`parts`: its dotted name).
    fn table_columns(&self, name: &str) -> Result<Vec<String>, StoreError> {
        let parts: Vec<String> = name.split('.').map(str::to_string).collect();
        match self.backend() {
            Ok(conn) => {
                let sql = format!(
                    "SELECT * FROM {} LIMIT 0",
                    sql::table_name(&parts, Dialect::Sqlite)
                );
                let stmt = conn.prepare(&sql).map_err(|e| StoreError::Mapping {
                    message: format!("`{name}` cannot be read: {e}"),
                })?;
                Ok(stmt.column_names().map(str::to_string).collect())
            }
            Err(postgres) => {
                postgres.table_columns(name, &sql::table_name(&parts, Dialect::Postgres))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::DAY;

    fn spec(kind: ir::MetricKind, window: Option<i64>, pre_period: Option<i64>) -> MetricSpec {
        MetricSpec {
            name: "m".into(),
            role: ir::MetricRole::Primary,
            kind,
            goal: ir::Goal::Increase,
            window,
            pre_period,
            threshold: None,
        }
    }

    /// The query as SCHEMA.md shows it: keep the two in step.
    #[test]
    fn the_documented_query() {
        let specs = [
            spec(
                ir::MetricKind::Conversion {
                    event: "purchase".into(),
                },
                Some(7 * DAY),
                Some(7 * DAY),
            ),
            spec(
                ir::MetricKind::Ratio {
                    numerator: "item_added".into(),
                    denominator: "checkout_started".into(),
                },
                None,
                None,
            ),
        ];
        let (sql, params) = metrics_query("checkout-layout", &specs);
        let schema = include_str!("../SCHEMA.md");
        assert!(
            schema.contains(&sql),
            "SCHEMA.md shows another query:\n{sql}"
        );
        assert_eq!(
            params,
            [
                "checkout-layout",
                "purchase",
                "purchase",
                "item_added",
                "checkout_started",
                "purchase",
                "item_added",
                "checkout_started",
            ]
        );
    }

    /// The sums are named after the fields `sum_fields` gives, in order,
    /// and `sums_of` reads them into those fields.
    #[test]
    fn sum_fields_name_the_query_columns() {
        let conversion = ir::MetricKind::Conversion { event: "e".into() };
        let ratio = ir::MetricKind::Ratio {
            numerator: "n".into(),
            denominator: "d".into(),
        };
        for s in [
            spec(conversion.clone(), None, None),
            spec(conversion, Some(DAY), Some(DAY)),
            spec(ratio, None, None),
        ] {
            let (sql, _) = metrics_query("x", std::slice::from_ref(&s));
            let named: Vec<&str> = sql
                .split(" AS ")
                .skip(1)
                .filter_map(|rest| rest.split([',', '\n']).next())
                .filter_map(|alias| alias.strip_prefix("m0_"))
                .collect();
            assert_eq!(named, s.sum_fields(), "{sql}");
            let values = (1..=s.sum_fields().len()).map(|i| i as f64);
            let sums = serde_json::to_value(sums_of(&s, &mut values.into_iter())).unwrap();
            for (i, field) in s.sum_fields().iter().enumerate() {
                assert_eq!(sums[field], (i + 1) as f64, "{field}");
            }
        }
    }

    /// Nothing SQLite-only: no `%`, `||`, `IFNULL`, `IIF`, `GLOB`, `strftime`,
    /// `julianday`, numbered or named placeholders.
    #[test]
    fn the_query_is_portable() {
        let specs = [spec(
            ir::MetricKind::Mean {
                event: "spend".into(),
            },
            None,
            Some(DAY),
        )];
        let (sql, _) = metrics_query("x", &specs);
        for word in [
            "%",
            "||",
            "IFNULL",
            "IIF",
            "GLOB",
            "strftime",
            "julianday",
            "?1",
            ":",
        ] {
            assert!(!sql.contains(word), "`{word}` in\n{sql}");
        }
    }
}
