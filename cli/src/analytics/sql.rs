//! `vexil analyze --sql [--dialect D]`: the metric query of an experiment,
//! printed for a warehouse, with what each column is, so that its result
//! rows can be fed to `vexil stats --experiment`. The query is rendered
//! from its one definition (`vexil_events::metrics_query_in`) over Vexil's
//! own tables, or over a team's tables when `vexil.toml` maps them
//! (`[warehouse]`).

use std::path::Path;

use serde::Serialize;
use vexil_events::{metrics_query_in, Dialect, MetricSpec, Tables};
use vexil_ir as ir;

use crate::Format;

/// The query of one experiment, as `--format json` prints it.
#[derive(Debug, Serialize)]
struct Query {
    experiment: String,
    /// The control: its sums come first in a `vexil stats` request.
    control: String,
    /// The dialect the text is in (`portable`: `?` placeholders).
    dialect: &'static str,
    sql: String,
    /// Values of the `?` placeholders, in order (none with a dialect: the
    /// values are literals in the text).
    parameters: Vec<String>,
    /// What the result columns are: `variant`, `day`, `units`, then
    /// `METRIC.FIELD`, FIELD named as in a `vexil stats` variant.
    columns: Vec<String>,
    /// The result columns' names, in the same order (`m0_sum`, ...): what
    /// `vexil stats --experiment` reads.
    names: Vec<String>,
    /// The project file whose `[warehouse]` tables the query reads; absent
    /// for Vexil's own tables.
    #[serde(skip_serializing_if = "Option::is_none")]
    tables_from: Option<String>,
}

/// `'text'`, quoted for SQL.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn query(
    experiment: &ir::Experiment,
    specs: &[MetricSpec],
    dialect: Option<Dialect>,
    tables: Option<(&Path, &Tables)>,
) -> Query {
    let default = Tables::default();
    let mapped = tables.map_or(&default, |(_, t)| t);
    let (sql, parameters) = metrics_query_in(
        &experiment.name,
        specs,
        mapped,
        dialect.unwrap_or(Dialect::Sqlite),
        dialect.is_none(),
    );
    let mut columns: Vec<String> = ["variant", "day", "units"].map(String::from).to_vec();
    let mut names = columns.clone();
    for (i, spec) in specs.iter().enumerate() {
        for field in spec.sum_fields() {
            columns.push(format!("{}.{field}", spec.name));
            names.push(format!("m{i}_{field}"));
        }
    }
    let control = experiment
        .variants
        .get(experiment.control as usize)
        .map(|v| v.name.clone())
        .unwrap_or_default();
    Query {
        experiment: experiment.name.clone(),
        control,
        dialect: dialect.map_or("portable", Dialect::name),
        sql,
        parameters,
        columns,
        names,
        tables_from: tables.map(|(path, _)| path.display().to_string()),
    }
}

/// The query as a script: comments saying how to run it and read it, then
/// the statement.
fn script(q: &Query, specs: &[MetricSpec]) -> String {
    let tables = match &q.tables_from {
        Some(path) => format!("the tables `[warehouse]` in {path} maps"),
        None => "tables shaped as the store's `exposures` and `events` (events/SCHEMA.md)".into(),
    };
    let mut out = format!(
        "-- The metric query of `{}` (events/SCHEMA.md, section 5): per variant and UTC day
-- of first exposure (microseconds), the units and each metric's sums.
-- It reads {tables}.
",
        q.experiment
    );
    if q.dialect == "portable" {
        let parameters: Vec<String> = q.parameters.iter().map(|p| literal(p)).collect();
        out.push_str(&format!(
            "-- On PostgreSQL or a warehouse, replace each `?` with the driver's placeholder ($1, $2, ...),
-- or print it for one with --dialect.
-- Parameters, in order: {}
",
            parameters.join(", ")
        ));
    } else {
        out.push_str(&format!("-- Dialect: {}.\n", q.dialect));
    }
    out.push_str(
        "-- Columns after variant, day and units, named as the fields of `vexil stats`:\n",
    );
    for (i, spec) in specs.iter().enumerate() {
        out.push_str(&format!(
            "--   m{i}_*: {} ({}): {}\n",
            spec.name,
            spec.function(),
            spec.sum_fields().join(", ")
        ));
    }
    out.push_str(
        "-- Rows without a variant count the units exposed to more than one variant\n\
         -- (left out of every metric, and reported).\n",
    );
    out.push_str(&format!(
        "-- Export the result rows as CSV or JSON Lines and run
-- `vexil stats ROWS --experiment DIR {}` for the report `vexil analyze` gives
-- (the control is `{}`).
{};
",
        q.experiment, q.control, q.sql
    ));
    out
}

/// Prints the metric query of `experiment` in `format`: portable with
/// placeholders, or for `dialect` with the values written in.
pub fn print(
    experiment: &ir::Experiment,
    cuped: bool,
    format: Format,
    dialect: Option<Dialect>,
    tables: Option<(&Path, &Tables)>,
) -> Result<(), String> {
    // The specs the store's analysis would use, so the sums match it.
    let specs: Vec<MetricSpec> = experiment
        .metrics
        .iter()
        .map(|m| MetricSpec::from_ir(m, cuped))
        .collect();
    let q = query(experiment, &specs, dialect, tables);
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&q).map_err(|e| e.to_string())?
        ),
        Format::Text => print!("{}", script(&q, &specs)),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_doubled() {
        assert_eq!(literal("it's"), "'it''s'");
    }
}
