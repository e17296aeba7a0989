//! The metric query, defined once as a syntax tree (`sql.rs`) over the
//! tables it reads: Vexil's own (`SCHEMA.md`), or a team's exposures and
//! metric events described by a mapping (`[warehouse]` in `vexil.toml`).
//! Every store and every `--dialect` renders this one definition.
//!
//! A unit's first exposure is its earliest; units exposed to more than one
//! variant are left out; events count in the metric's window from the
//! first exposure. The result has one row per variant and UTC day of first
//! exposure: `variant, day, units`, then each metric's sums, named
//! `m{i}_{field}` after the fields of `vexil stats` (`m0_sum`,
//! `m0_sum_squares`, `m0_pre_sum`, ...).

use serde::Deserialize;
use vexil_ir as ir;

use crate::metric::{MetricSpec, DAY};
use crate::sql::{Expr, Query, Select, Source, TimeUnit};

/// Where the exposures are: a table and which columns hold what.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExposureTable {
    /// The table, `name` or `schema.name` (`project.dataset.name`).
    pub table: String,
    /// The unit's id (the bucketing key).
    pub unit: String,
    /// The experiment's name, as declared in the `.flag` files.
    pub experiment: String,
    /// The variant's name.
    pub variant: String,
    /// When the unit was exposed.
    pub time: String,
    /// How `time` counts: `microseconds` (the default), `milliseconds`,
    /// `seconds` since the epoch, or `timestamp` (a timestamp type).
    #[serde(default)]
    pub time_unit: TimeUnitName,
}

/// Where the metric events are.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventTable {
    /// The table.
    pub table: String,
    /// The unit's id.
    pub unit: String,
    /// The event's name, as metrics refer to it (`conversion(purchase)`).
    pub event: String,
    /// The event's value; without one every event counts 1 (as it does for
    /// an event without a value, NULL, when there is one).
    pub value: Option<String>,
    /// When it happened.
    pub time: String,
    /// How `time` counts.
    #[serde(default)]
    pub time_unit: TimeUnitName,
}

/// A `TimeUnit` as the project file names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnitName {
    /// Integer microseconds since the epoch.
    #[default]
    Microseconds,
    /// Integer milliseconds since the epoch.
    Milliseconds,
    /// Integer seconds since the epoch.
    Seconds,
    /// A timestamp type.
    Timestamp,
}

impl From<TimeUnitName> for TimeUnit {
    fn from(name: TimeUnitName) -> TimeUnit {
        match name {
            TimeUnitName::Microseconds => TimeUnit::Microseconds,
            TimeUnitName::Milliseconds => TimeUnit::Milliseconds,
            TimeUnitName::Seconds => TimeUnit::Seconds,
            TimeUnitName::Timestamp => TimeUnit::Timestamp,
        }
    }
}

/// The tables the metric query reads (`[warehouse]` in `vexil.toml`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tables {
    /// The exposures.
    pub exposures: ExposureTable,
    /// The metric events.
    pub events: EventTable,
}

impl Default for Tables {
    /// Vexil's own tables (`SCHEMA.md`).
    fn default() -> Tables {
        Tables {
            exposures: ExposureTable {
                table: "exposures".into(),
                unit: "unit".into(),
                experiment: "experiment".into(),
                variant: "variant".into(),
                time: "time".into(),
                time_unit: TimeUnitName::Microseconds,
            },
            events: EventTable {
                table: "events".into(),
                unit: "unit".into(),
                event: "event".into(),
                value: Some("value".into()),
                time: "time".into(),
                time_unit: TimeUnitName::Microseconds,
            },
        }
    }
}

impl Tables {
    /// Every table with the columns the query reads from it, each with the
    /// mapping key that names it (for messages), in the project file's
    /// order.
    pub fn columns(&self) -> Vec<(&str, Vec<(&'static str, &str)>)> {
        let x = &self.exposures;
        let e = &self.events;
        let mut event_columns = vec![("unit", e.unit.as_str()), ("event", e.event.as_str())];
        if let Some(value) = &e.value {
            event_columns.push(("value", value.as_str()));
        }
        event_columns.push(("time", e.time.as_str()));
        vec![
            (
                x.table.as_str(),
                vec![
                    ("unit", x.unit.as_str()),
                    ("experiment", x.experiment.as_str()),
                    ("variant", x.variant.as_str()),
                    ("time", x.time.as_str()),
                ],
            ),
            (e.table.as_str(), event_columns),
        ]
    }

    /// Empty names are refused: the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        for (section, (table, columns)) in ["exposures", "events"].iter().zip(self.columns()) {
            if table.split('.').any(str::is_empty) {
                return Err(format!(
                    "`warehouse.{section}.table` is `{table}`: give a table name, like `events` or `analytics.events`"
                ));
            }
            for (key, column) in columns {
                if column.is_empty() {
                    return Err(format!(
                        "`warehouse.{section}.{key}` is empty: name a column"
                    ));
                }
            }
        }
        Ok(())
    }
}

fn table(name: &str) -> Source {
    Source::Table(name.split('.').map(str::to_string).collect())
}

/// `e.time` lies in `[f.time + from, f.time + to)`; `to = None` means
/// unbounded.
fn in_period(from: i64, to: Option<i64>) -> Expr {
    let start = || Expr::col("f", "time");
    let shifted = |by: i64| match by {
        0 => start(),
        by if by < 0 => start().bin("-", Expr::Int(-by)),
        by => start().bin("+", Expr::Int(by)),
    };
    let mut parts = vec![Expr::col("e", "time").bin(">=", shifted(from))];
    if let Some(to) = to {
        parts.push(Expr::col("e", "time").bin("<", shifted(to)));
    }
    Expr::And(parts)
}

/// A unit's value of `event` over a period: 1/0 for a conversion, the sum
/// of values otherwise.
fn per_unit_value(event: &str, conversion: bool, period: Expr) -> Expr {
    let mut when = vec![Expr::col("e", "event").bin("=", Expr::Value(event.to_string()))];
    if let Expr::And(parts) = period {
        when.extend(parts);
    }
    let (then, function) = if conversion {
        (Expr::Int(1), "MAX")
    } else {
        (Expr::col("e", "value"), "SUM")
    };
    Expr::call(
        function,
        Expr::Case(
            Box::new(Expr::And(when)),
            Box::new(then),
            Box::new(Expr::Int(0)),
        ),
    )
}

/// A selected expression and its alias.
type Column = (Expr, Option<String>);

/// What one metric adds: its per-unit columns, and its sums (aliased after
/// the fields of `vexil stats`).
fn metric_columns(i: usize, spec: &MetricSpec) -> (Vec<Column>, Vec<Column>) {
    let post = in_period(0, spec.window);
    let m = format!("m{i}");
    let mut per_unit = Vec::new();
    // The products the sums take, in `sum_fields` order.
    let mut products: Vec<(String, Option<String>)> = Vec::new();
    match &spec.kind {
        ir::MetricKind::Conversion { event } | ir::MetricKind::Mean { event } => {
            let conversion = matches!(spec.kind, ir::MetricKind::Conversion { .. });
            per_unit.push((per_unit_value(event, conversion, post), Some(m.clone())));
            products.push((m.clone(), None));
            products.push((m.clone(), Some(m.clone())));
            if let Some(pre) = spec.pre_period {
                let p = format!("p{i}");
                per_unit.push((
                    per_unit_value(event, conversion, in_period(-pre, Some(0))),
                    Some(p.clone()),
                ));
                products.push((p.clone(), None));
                products.push((p.clone(), Some(p.clone())));
                products.push((p, Some(m)));
            }
        }
        ir::MetricKind::Ratio {
            numerator,
            denominator,
        } => {
            let d = format!("d{i}");
            per_unit.push((
                per_unit_value(numerator, false, post.clone()),
                Some(m.clone()),
            ));
            per_unit.push((per_unit_value(denominator, false, post), Some(d.clone())));
            products.push((m.clone(), None));
            products.push((m.clone(), Some(m.clone())));
            products.push((d.clone(), None));
            products.push((d.clone(), Some(d.clone())));
            products.push((m, Some(d)));
        }
    }
    let sums = products
        .into_iter()
        .zip(spec.sum_fields())
        .map(|((a, b), field)| {
            let product = match b {
                Some(b) => Expr::name(&a).bin("*", Expr::name(&b)),
                None => Expr::name(&a),
            };
            (Expr::call("SUM", product), Some(format!("m{i}_{field}")))
        })
        .collect();
    (per_unit, sums)
}

/// The metric query of `experiment` over `tables`.
pub(crate) fn metric_query(experiment: &str, specs: &[MetricSpec], tables: &Tables) -> Query {
    let x = &tables.exposures;
    let x_time = || Expr::Micros(Box::new(Expr::col("x", &x.time)), x.time_unit.into());
    // A unit exposed to more than one variant keeps no variant (NULL): its
    // rows count it, with no metric events joined, and the reader leaves
    // it out of the analysis and reports it.
    let min_variant = || Expr::call("MIN", Expr::col("x", &x.variant));
    let mut first = Select::from(table(&x.table), Some("x"));
    first.columns = vec![
        (Expr::col("x", &x.unit), Some("unit".into())),
        (
            Expr::Case(
                Box::new(min_variant().bin("=", Expr::call("MAX", Expr::col("x", &x.variant)))),
                Box::new(min_variant()),
                Box::new(Expr::Null),
            ),
            Some("variant".into()),
        ),
        (Expr::call("MIN", x_time()), Some("time".into())),
    ];
    // A row without a variant (a team's table may have them) says
    // nothing about the unit.
    first.filter = Some(Expr::And(vec![
        Expr::col("x", &x.experiment).bin("=", Expr::Value(experiment.into())),
        Expr::IsNotNull(Box::new(Expr::col("x", &x.variant))),
    ]));
    first.group_by = vec![Expr::col("x", &x.unit)];

    let mut per_unit = Select::from(Source::Table(vec!["first_exposures".into()]), Some("f"));
    per_unit.columns = vec![
        (Expr::col("f", "unit"), None),
        (Expr::col("f", "variant"), None),
        (
            Expr::col("f", "time").bin(
                "-",
                Expr::Mod(Box::new(Expr::col("f", "time")), Box::new(Expr::Int(DAY))),
            ),
            Some("day".into()),
        ),
    ];
    per_unit.group_by = vec![
        Expr::col("f", "unit"),
        Expr::col("f", "variant"),
        Expr::col("f", "time"),
    ];
    let mut body = Select::from(Source::Table(vec!["per_unit".into()]), None);
    body.columns = vec![
        (Expr::name("variant"), None),
        (Expr::name("day"), None),
        (Expr::CountAll, Some("units".into())),
    ];
    let mut events: Vec<&str> = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let (columns, sums) = metric_columns(i, spec);
        per_unit.columns.extend(columns);
        body.columns.extend(sums);
        for e in spec.events() {
            if !events.contains(&e) {
                events.push(e);
            }
        }
    }
    // Only the metrics' events are joined; with none, nothing is.
    if !events.is_empty() {
        let t = &tables.events;
        let mut source = Select::from(table(&t.table), Some("y"));
        let value = match &t.value {
            Some(v) if *tables == Tables::default() => Expr::col("y", v),
            Some(v) => Expr::Call("COALESCE", vec![Expr::col("y", v), Expr::Int(1)]),
            None => Expr::Int(1),
        };
        source.columns = vec![
            (Expr::col("y", &t.unit), Some("unit".into())),
            (Expr::col("y", &t.event), Some("event".into())),
            (value, Some("value".into())),
            (
                Expr::Micros(Box::new(Expr::col("y", &t.time)), t.time_unit.into()),
                Some("time".into()),
            ),
        ];
        source.filter = Some(Expr::In(
            Box::new(Expr::col("y", &t.event)),
            events.iter().map(|e| Expr::Value(e.to_string())).collect(),
        ));
        per_unit.left_join = Some((
            Source::Query(Box::new(source)),
            "e",
            Expr::And(vec![
                Expr::col("e", "unit").bin("=", Expr::col("f", "unit")),
                Expr::IsNotNull(Box::new(Expr::col("f", "variant"))),
            ]),
        ));
    }
    body.group_by = vec![Expr::name("variant"), Expr::name("day")];
    body.order_by = body.group_by.clone();
    Query {
        with: vec![("first_exposures", first), ("per_unit", per_unit)],
        body,
    }
}
