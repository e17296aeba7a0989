//! The stores' aggregation: what [`metrics_query`] defines, computed by a
//! scan in Rust instead of SQL's `GROUP BY`. One pass over the
//! experiment's exposures in key order gives each unit's first exposure
//! and variant (and its mixing of variants); each enrolled unit's events are
//! then read (SQLite: by the `events` key, one seek per unit, and the unit
//! folded into the sums of its variant and day at once; PostgreSQL: the
//! units held in memory by key, then one stream of their events in any
//! order, `postgres/scan.rs`, and the units folded at the end in key order,
//! so both stores add the same numbers in the same order: [`Fold`]).
//!
//! SQLite spent most of the portable query's time evaluating each metric's
//! `CASE` on every joined row and checking the first exposure with two
//! index seeks per exposure; here each event row is looked at once, for the
//! columns its name feeds. On SQLite the work is proportional to the
//! enrolled units and their events, never to the events of units outside
//! the experiment (PostgreSQL's server sends those only when most units
//! are enrolled, `postgres/scan.rs`).
//! Tests hold the two computations to the same sums (`tests/metrics.rs`,
//! `tests/same_results.rs`).
//!
//! [`metrics_query`]: crate::metrics_query

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

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

    /// Adds one event of a unit first exposed at `first` to its per-unit
    /// `values` (names no metric reads change nothing).
    fn add_event(&self, first: i64, values: &mut [f64], name: &[u8], time: i64, value: f64) {
        let Some(event) = self.event_index(name) else {
            return;
        };
        for &c in &self.feeds[event] {
            let column = &self.columns[c];
            if column.covers(first, time) {
                if column.conversion {
                    values[c] = 1.0;
                } else {
                    values[c] += value;
                }
            }
        }
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

/// The fold of an experiment's units into its cells, fed by a store: each
/// unit's exposures in key order (its first exposure first), then, once
/// [`Fold::starts_unit`] says the unit is complete, its events, then
/// [`Fold::finish_unit`]; or (a store whose events come in any order) each
/// complete unit held ([`Fold::hold_unit`]), then all the events
/// ([`Fold::held_event`]), then [`Fold::finish_held`]. Both stores feed it
/// (SQLite by a seek per unit, PostgreSQL by holding the units while one
/// unordered stream of events comes), so the arithmetic is one.
pub(crate) struct Fold {
    plan: Plan,
    cells: Cells,
    mixed_units: u64,
    values: Vec<f64>,
    unit: Option<Unit>,
    held: Held,
}

/// The units a store keeps while their events come in any order
/// ([`Fold::hold_unit`]): about 100 bytes each with five metrics, so
/// tens of megabytes for the 755,825 enrolled units.
#[derive(Default)]
struct Held {
    /// A unit's key → its place in `units`.
    index: FxHashMap<Box<[u8]>, usize>,
    /// (variant index, first exposure), in the order held.
    units: Vec<(usize, i64)>,
    /// Each held unit's per-unit values, `plan.columns` of them a unit.
    values: Vec<f64>,
}

impl Fold {
    pub(crate) fn new(specs: &[MetricSpec]) -> Fold {
        let plan = Plan::new(specs);
        Fold {
            values: vec![0.0; plan.columns.len()],
            plan,
            cells: Cells {
                variants: Vec::new(),
                cells: BTreeMap::new(),
                metrics: specs.len(),
            },
            mixed_units: 0,
            unit: None,
            held: Held::default(),
        }
    }

    /// The event names the metrics read (none: no event need be read).
    pub(crate) fn events(&self) -> &[String] {
        &self.plan.events
    }

    /// The unit whose exposures were read last, unless it saw several
    /// variants (its events are not needed).
    pub(crate) fn open_unit(&self) -> Option<&[u8]> {
        self.unit
            .as_ref()
            .filter(|u| !u.mixed)
            .map(|u| u.key.as_slice())
    }

    /// Whether an exposure of `key` starts another unit: the open one is
    /// then complete, and its events are to be read and the unit finished
    /// before [`Fold::exposure`].
    pub(crate) fn starts_unit(&self, key: &[u8]) -> bool {
        self.unit.as_ref().is_some_and(|u| u.key != key)
    }

    /// One exposure, in key order.
    pub(crate) fn exposure(&mut self, key: &[u8], time: i64, variant: &[u8]) {
        if let Some(u) = &mut self.unit {
            if u.key == key {
                if self.cells.variants[u.variant].as_bytes() != variant {
                    u.mixed = true;
                }
                return;
            }
        }
        let variant = self.cells.variant_index(variant);
        let unit = self.unit.get_or_insert_with(|| Unit {
            key: Vec::new(),
            first: 0,
            variant: 0,
            mixed: false,
        });
        unit.key.clear();
        unit.key.extend_from_slice(key);
        unit.first = time;
        unit.variant = variant;
        unit.mixed = false;
    }

    /// One event of the open unit (names the metrics do not read are
    /// skipped).
    pub(crate) fn event(&mut self, name: &[u8], time: i64, value: f64) {
        if let Some(unit) = &self.unit {
            self.plan
                .add_event(unit.first, &mut self.values, name, time, value);
        }
    }

    /// Folds the open unit (with the events given since the last call)
    /// into its cell, or counts it out if it saw several variants.
    pub(crate) fn finish_unit(&mut self) {
        if let Some(unit) = &self.unit {
            if unit.mixed {
                self.mixed_units += 1;
            } else {
                let (units, sums) = self.cells.cell(unit.variant, unit.first);
                *units += 1;
                self.plan.add_unit(&self.values, sums);
            }
        }
        self.values.fill(0.0);
    }

    /// Keeps the open unit (complete: [`Fold::starts_unit`] said so, or its
    /// exposures ended) for events given later by key
    /// ([`Fold::held_event`]), or counts it out if it saw several variants.
    pub(crate) fn hold_unit(&mut self) {
        let Some(unit) = &self.unit else {
            return;
        };
        if unit.mixed {
            self.mixed_units += 1;
            return;
        }
        let index = self.held.units.len();
        self.held.index.insert(unit.key.as_slice().into(), index);
        self.held.units.push((unit.variant, unit.first));
        let columns = self.plan.columns.len();
        self.held
            .values
            .resize(self.held.values.len() + columns, 0.0);
    }

    /// How many units are held.
    pub(crate) fn held_units(&self) -> usize {
        self.held.units.len()
    }

    /// One event of a held unit, in any order (a unit not held, left out or
    /// not enrolled, is skipped).
    pub(crate) fn held_event(&mut self, unit: &[u8], name: &[u8], time: i64, value: f64) {
        let Some(&index) = self.held.index.get(unit) else {
            return;
        };
        let (_, first) = self.held.units[index];
        let columns = self.plan.columns.len();
        let values = &mut self.held.values[index * columns..(index + 1) * columns];
        self.plan.add_event(first, values, name, time, value);
    }

    /// Folds the held units into their cells, in the order they were held
    /// (key order: the sums are added as the streaming fold adds them).
    pub(crate) fn finish_held(&mut self) {
        let held = std::mem::take(&mut self.held);
        let columns = self.plan.columns.len();
        for (index, &(variant, first)) in held.units.iter().enumerate() {
            let (units, sums) = self.cells.cell(variant, first);
            *units += 1;
            self.plan
                .add_unit(&held.values[index * columns..(index + 1) * columns], sums);
        }
    }

    /// The cells, after the last unit's [`Fold::finish_unit`].
    pub(crate) fn into_aggregates(self) -> Aggregates {
        Aggregates {
            cells: self.cells.into_cells(),
            mixed_units: self.mixed_units,
        }
    }
}

impl Store {
    /// The per-variant sums of `specs` for `experiment`: exactly what
    /// [`crate::metrics_query`] returns (and [`Store::aggregate_sql`] runs),
    /// computed by a `Fold` of the experiment's exposures and its units'
    /// events (on PostgreSQL, streamed in unit order: `postgres.rs`).
    pub fn aggregate(
        &self,
        experiment: &str,
        specs: &[MetricSpec],
    ) -> Result<Aggregates, StoreError> {
        let conn = match self.backend() {
            Ok(conn) => conn,
            Err(postgres) => return postgres.fold(experiment, Fold::new(specs)),
        };
        let path = self.path();
        let mut fold = Fold::new(specs);
        let mut exposures = conn
            .prepare(EXPOSURES)
            .map_err(|e| sqlite(path, "preparing the exposures scan", e))?;
        let mut unit_events = conn
            .prepare(UNIT_EVENTS)
            .map_err(|e| sqlite(path, "preparing the events scan", e))?;

        // Reads the open unit's events and folds it into its cell.
        let mut finish = |fold: &mut Fold| -> Result<(), StoreError> {
            if let (Some(key), false) = (fold.open_unit(), fold.events().is_empty()) {
                unit_events
                    .raw_bind_parameter(1, ToSqlOutput::Borrowed(ValueRef::Text(key)))
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
                    let time: i64 = row
                        .get(1)
                        .map_err(|e| sqlite(path, "reading an event's time", e))?;
                    let value = row.get_ref(2).map(number).unwrap_or(0.0);
                    fold.event(name, time, value);
                }
            }
            fold.finish_unit();
            Ok(())
        };

        let mut rows = exposures
            .query([experiment])
            .map_err(|e| sqlite(path, "scanning the exposures", e))?;
        while let Some(row) = rows
            .next()
            .map_err(|e| sqlite(path, "scanning the exposures", e))?
        {
            let (Ok(ValueRef::Text(key)), Ok(ValueRef::Text(variant))) =
                (row.get_ref(0), row.get_ref(2))
            else {
                continue;
            };
            if fold.starts_unit(key) {
                finish(&mut fold)?;
            }
            let time: i64 = row
                .get(1)
                .map_err(|e| sqlite(path, "reading an exposure's time", e))?;
            fold.exposure(key, time, variant);
        }
        // The last unit (nothing happens without one).
        finish(&mut fold)?;
        Ok(fold.into_aggregates())
    }
}
