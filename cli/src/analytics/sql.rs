//! `vexil analyze --sql`: the metric query that defines the event store's
//! sums for an experiment, printed for a warehouse, with its parameters and
//! what each column is, so that its sums can be fed to `vexil stats`.

use serde::Serialize;
use vexil_events::{metrics_query, MetricSpec};
use vexil_ir as ir;

use crate::Format;

/// The query of one experiment, as `--format json` prints it.
#[derive(Debug, Serialize)]
struct Query {
    experiment: String,
    /// The control: its sums come first in a `vexil stats` request.
    control: String,
    sql: String,
    /// Values of the `?` placeholders, in order.
    parameters: Vec<String>,
    /// Result columns: `variant`, `day`, `units`, then `METRIC.FIELD`,
    /// FIELD named as in a `vexil stats` variant.
    columns: Vec<String>,
}

/// `'text'`, quoted for SQL.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn query(experiment: &ir::Experiment, specs: &[MetricSpec]) -> Query {
    let (sql, parameters) = metrics_query(&experiment.name, specs);
    let mut columns: Vec<String> = ["variant", "day", "units"].map(String::from).to_vec();
    for spec in specs {
        for field in spec.sum_fields() {
            columns.push(format!("{}.{field}", spec.name));
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
        sql,
        parameters,
        columns,
    }
}

/// The query as a script: comments saying how to run it and read it, then
/// the statement.
fn script(q: &Query, specs: &[MetricSpec]) -> String {
    let parameters: Vec<String> = q.parameters.iter().map(|p| literal(p)).collect();
    let mut out = format!(
        "-- The metric query of `{}` (events/SCHEMA.md, section 5): per variant and UTC day
-- of first exposure (microseconds), the units and each metric's sums.
-- It reads tables shaped as the store's `exposures` and `events`; on PostgreSQL or a
-- warehouse, replace each `?` with the driver's placeholder ($1, $2, ...).
-- Parameters, in order: {}
-- Columns after variant, day and units, named as the fields of `vexil stats`:
",
        q.experiment,
        parameters.join(", ")
    );
    for spec in specs {
        out.push_str(&format!(
            "--   {} ({}): {}\n",
            spec.name,
            spec.function(),
            spec.sum_fields().join(", ")
        ));
    }
    out.push_str(&format!(
        "-- Sum each variant's rows over the days, and pass one metric at a time to
-- `vexil stats`, the control `{}` first. Leave out the pre_* fields when they are 0
-- in every variant (no activity before exposure), as `vexil analyze` does.
{};
",
        q.control, q.sql
    ));
    out
}

/// Prints the metric query of `experiment` in `format`.
pub fn print(experiment: &ir::Experiment, cuped: bool, format: Format) -> Result<(), String> {
    // The specs the store's analysis would use, so the sums match it.
    let specs: Vec<MetricSpec> = experiment
        .metrics
        .iter()
        .map(|m| MetricSpec::from_ir(m, cuped))
        .collect();
    let q = query(experiment, &specs);
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
