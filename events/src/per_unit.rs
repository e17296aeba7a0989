//! The SQLite store's aggregation: what [`metrics_query`] defines, computed
//! by a scan in Rust instead of SQL's `GROUP BY`. One pass over the
//! experiment's exposures in key order gives each unit's first exposure
//! and variant (and its mixing of variants); each enrolled unit's events are
//! then read by the `events` key, and its per-unit values are folded into
//! the sums of its variant and day as they come.
//!
//! SQLite spent most of the portable query's time evaluating each metric's
//! `CASE` on every joined row and checking the first exposure with two
//! index seeks per exposure; here each event row is looked at once, for the
//! columns its name feeds. The work is proportional to the enrolled units
//! and their events, never to the events of units outside the experiment.
//! Tests hold the two computations to the same sums (`tests/metrics.rs`,
//! `tests/same_results.rs`).
//!
//! [`metrics_query`]: crate::metrics_query

use std::collections::BTreeMap;

use rusqlite::types::{ToSqlOutput, ValueRef};
use vexil_ir as ir;

use crate::aggregate::{number, Aggregates, Cell, Sums};
use crate::metric::{MetricSpec, DAY};
use crate::store::{sqlite, Store, StoreError};

/// An experiment's exposures, each unit's together, its first exposure
/// first (ties broken by id, as the portable query does); the key's order,
/// so SQLite reads a range of `exposures` without sorting.
const EXPOSURES: &str = "SELECT unit, time, variant FROM exposures \
     WHERE experiment = ?1 ORDER BY unit, time, id";

/// One unit's events, by the first column of the `events` key. The names a
/// metric reads are picked out in Rust: a name list in SQL (`event IN
/// (...)`) costs one index seek per name and unit.
const UNIT_EVENTS: &str = "SELECT event, time, value FROM events WHERE unit = ?1";

/// One per-unit value, as one column of the portable query's `per_unit`
/// ([`Plan::feeds`] says which event name feeds it): an event's values
/// summed (or, for a conversion, whether there is one) over
/// `[first exposure + from, first exposure + to)`.
struct Column {
    from: i64,
    /// `None`: unbounded.
    to: Option<i64>,
    conversion: bool,
}

impl Column {
    fn covers(&self, first: i64, time: i64) -> bool {
        // In i128: the portable query's integer arithmetic has no overflow
        // in the windows the language allows, and here none at all.
        let (first, time) = (i128::from(first), i128::from(time));
        time >= first + i128::from(self.from)
            && self.to.is_none_or(|to| time < first + i128::from(to))
    }
}

/// Which per-unit columns each metric's sums are made of.
enum Parts {
    /// A conversion or a mean, with its CUPED covariate's column.
    Value { post: usize, pre: Option<usize> },
    /// A ratio's numerator and denominator.
    Ratio {
        numerator: usize,
        denominator: usize,
    },
}

/// The columns of `specs`, and the event names they read.
struct Plan {
    events: Vec<String>,
    columns: Vec<Column>,
    /// For each event name, the columns it feeds.
    feeds: Vec<Vec<usize>>,
    metrics: Vec<Parts>,
}

impl Plan {
    fn new(specs: &[MetricSpec]) -> Plan {
        let mut plan = Plan {
            events: Vec::new(),
            columns: Vec::new(),
            feeds: Vec::new(),
            metrics: Vec::new(),
        };
        for spec in specs {
            let parts = match &spec.kind {
                ir::MetricKind::Conversion { event } | ir::MetricKind::Mean { event } => {
                    let conversion = matches!(spec.kind, ir::MetricKind::Conversion { .. });
                    let post = plan.column(event, 0, spec.window, conversion);
                    let pre = spec
                        .pre_period
                        .map(|pre| plan.column(event, -pre, Some(0), conversion));
                    Parts::Value { post, pre }
                }
                ir::MetricKind::Ratio {
                    numerator,
                    denominator,
                } => Parts::Ratio {
                    numerator: plan.column(numerator, 0, spec.window, false),
                    denominator: plan.column(denominator, 0, spec.window, false),
                },
            };
            plan.metrics.push(parts);
        }
        plan
    }

    fn column(&mut self, event: &str, from: i64, to: Option<i64>, conversion: bool) -> usize {
        let index = match self.events.iter().position(|e| e == event) {
            Some(i) => i,
            None => {
                self.events.push(event.to_string());
                self.feeds.push(Vec::new());
                self.events.len() - 1
            }
        };
        self.columns.push(Column {
            from,
            to,
            conversion,
        });
        let column = self.columns.len() - 1;
        self.feeds[index].push(column);
        column
    }

    fn event_index(&self, name: &[u8]) -> Option<usize> {
        self.events.iter().position(|e| e.as_bytes() == name)
    }

    /// Adds one unit's values to `totals`, one entry per metric.
    fn add_unit(&self, values: &[f64], totals: &mut [Totals]) {
        for (parts, t) in self.metrics.iter().zip(totals) {
            let mut s = Sums::default();
            match *parts {
                Parts::Value { post, pre } => {
                    let m = values[post];
                    s.sum = m;
                    s.sum_squares = m * m;
                    if let Some(pre) = pre {
                        let p = values[pre];
                        s.pre_sum = p;
                        s.pre_sum_squares = p * p;
                        s.pre_cross_sum = p * m;
                    }
                }
                Parts::Ratio {
                    numerator,
                    denominator,
                } => {
                    let (m, d) = (values[numerator], values[denominator]);
                    s.sum = m;
                    s.sum_squares = m * m;
                    s.denominator_sum = d;
                    s.denominator_sum_squares = d * d;
                    s.cross_sum = m * d;
                }
            }
            t.add(&s);
        }
    }
}

/// One metric's sums over many units, each field summed with Neumaier's
/// compensation, as SQLite's `SUM` does: over hundreds of thousands of
/// units a plain running sum drifts in the last digits, and p-values
/// magnify that.
#[derive(Clone, Default)]
struct Totals {
    sums: [f64; 8],
    compensation: [f64; 8],
}

impl Totals {
    fn add(&mut self, unit: &Sums) {
        let terms = [
            unit.sum,
            unit.sum_squares,
            unit.denominator_sum,
            unit.denominator_sum_squares,
            unit.cross_sum,
            unit.pre_sum,
            unit.pre_sum_squares,
            unit.pre_cross_sum,
        ];
        for ((sum, compensation), x) in self.sums.iter_mut().zip(&mut self.compensation).zip(terms)
        {
            let t = *sum + x;
            *compensation += if sum.abs() >= x.abs() {
                (*sum - t) + x
            } else {
                (x - t) + *sum
            };
            *sum = t;
        }
    }

    fn sums(&self) -> Sums {
        let mut f = self.sums;
        for (s, c) in f.iter_mut().zip(self.compensation) {
            *s += c;
        }
        let [sum, sum_squares, denominator_sum, denominator_sum_squares, cross_sum, pre_sum, pre_sum_squares, pre_cross_sum] =
            f;
        Sums {
            sum,
            sum_squares,
            denominator_sum,
            denominator_sum_squares,
            cross_sum,
            pre_sum,
            pre_sum_squares,
            pre_cross_sum,
        }
    }
}

/// The unit whose exposures are being read.
struct Unit {
    key: Vec<u8>,
    first: i64,
    variant: usize,
    mixed: bool,
}

/// Per-variant-and-day sums as the units are folded in.
struct Cells {
    variants: Vec<String>,
    /// (variant index, day) → (units, sums per metric).
    cells: BTreeMap<(usize, i64), (u64, Vec<Totals>)>,
    metrics: usize,
}

impl Cells {
    fn variant_index(&mut self, name: &[u8]) -> usize {
        match self.variants.iter().position(|v| v.as_bytes() == name) {
            Some(i) => i,
            None => {
                self.variants
                    .push(String::from_utf8_lossy(name).into_owned());
                self.variants.len() - 1
            }
        }
    }

    fn cell(&mut self, variant: usize, first: i64) -> &mut (u64, Vec<Totals>) {
        // The portable query's `MIN(x.time) - MOD(MIN(x.time), DAY)`, the
        // remainder taking the dividend's sign as SQL's `MOD` does.
        let day = first - first % DAY;
        let metrics = self.metrics;
        self.cells
            .entry((variant, day))
            .or_insert_with(|| (0, vec![Totals::default(); metrics]))
    }

    /// The cells ordered by variant name, then day (the portable query's
    /// `ORDER BY variant, day`, which compares text bytewise in SQLite).
    fn into_cells(self) -> Vec<Cell> {
        let mut cells: Vec<Cell> = self
            .cells
            .into_iter()
            .map(|((variant, day), (units, totals))| Cell {
                variant: self.variants[variant].clone(),
                day,
                units,
                metrics: totals.iter().map(Totals::sums).collect(),
            })
            .collect();
        cells.sort_by(|a, b| (a.variant.as_bytes(), a.day).cmp(&(b.variant.as_bytes(), b.day)));
        cells
    }
}

impl Store {
    /// The per-variant sums of `specs` for `experiment`: exactly what
    /// [`crate::metrics_query`] returns (and [`Store::aggregate_sql`] runs).
    /// SQLite computes them by a scan of the experiment's exposures and its
    /// units' events; PostgreSQL runs the query.
    pub fn aggregate(
        &self,
        experiment: &str,
        specs: &[MetricSpec],
    ) -> Result<Aggregates, StoreError> {
        let Ok(conn) = self.backend() else {
            // PostgreSQL runs the portable query itself, next to the data.
            return self.aggregate_sql(experiment, specs);
        };
        let path = self.path();
        let plan = Plan::new(specs);
        let mut exposures = conn
            .prepare(EXPOSURES)
            .map_err(|e| sqlite(path, "preparing the exposures scan", e))?;
        let mut unit_events = conn
            .prepare(UNIT_EVENTS)
            .map_err(|e| sqlite(path, "preparing the events scan", e))?;
        let mut cells = Cells {
            variants: Vec::new(),
            cells: BTreeMap::new(),
            metrics: specs.len(),
        };
        let mut mixed_units = 0;
        let mut values = vec![0.0; plan.columns.len()];
        let mut unit: Option<Unit> = None;

        // Folds the finished unit into its cell: reads its events unless it
        // saw several variants (left out, and counted).
        let mut finish = |unit: &Unit, cells: &mut Cells| -> Result<(), StoreError> {
            if unit.mixed {
                mixed_units += 1;
                return Ok(());
            }
            values.fill(0.0);
            if !plan.events.is_empty() {
                unit_events
                    .raw_bind_parameter(1, ToSqlOutput::Borrowed(ValueRef::Text(&unit.key)))
                    .map_err(|e| sqlite(path, "reading a unit's events", e))?;
                let mut rows = unit_events.raw_query();
                while let Some(row) = rows
                    .next()
                    .map_err(|e| sqlite(path, "reading a unit's events", e))?
                {
                    let name = match row.get_ref(0) {
                        Ok(ValueRef::Text(name)) => name,
                        _ => continue,
                    };
                    let Some(event) = plan.event_index(name) else {
                        continue;
                    };
                    let time: i64 = row
                        .get(1)
                        .map_err(|e| sqlite(path, "reading an event's time", e))?;
                    let value = row.get_ref(2).map(number).unwrap_or(0.0);
                    for &c in &plan.feeds[event] {
                        let column = &plan.columns[c];
                        if column.covers(unit.first, time) {
                            if column.conversion {
                                values[c] = 1.0;
                            } else {
                                values[c] += value;
                            }
                        }
                    }
                }
            }
            let (units, sums) = cells.cell(unit.variant, unit.first);
            *units += 1;
            plan.add_unit(&values, sums);
            Ok(())
        };

        let mut rows = exposures
            .query([experiment])
            .map_err(|e| sqlite(path, "scanning the exposures", e))?;
        while let Some(row) = rows
            .next()
            .map_err(|e| sqlite(path, "scanning the exposures", e))?
        {
            let key = match row.get_ref(0) {
                Ok(ValueRef::Text(key)) => key,
                _ => continue,
            };
            let variant = match row.get_ref(2) {
                Ok(ValueRef::Text(variant)) => variant,
                _ => continue,
            };
            match &mut unit {
                Some(u) if u.key == key => {
                    if cells.variants[u.variant].as_bytes() != variant {
                        u.mixed = true;
                    }
                    continue;
                }
                Some(u) => {
                    finish(u, &mut cells)?;
                    u.key.clear();
                    u.key.extend_from_slice(key);
                }
                None => {
                    unit = Some(Unit {
                        key: key.to_vec(),
                        first: 0,
                        variant: 0,
                        mixed: false,
                    })
                }
            }
            let first: i64 = row
                .get(1)
                .map_err(|e| sqlite(path, "reading an exposure's time", e))?;
            let variant = cells.variant_index(variant);
            if let Some(u) = &mut unit {
                u.first = first;
                u.variant = variant;
                u.mixed = false;
            }
        }
        if let Some(u) = &unit {
            finish(u, &mut cells)?;
        }
        Ok(Aggregates {
            cells: cells.into_cells(),
            mixed_units,
        })
    }
}
