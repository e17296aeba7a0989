//! `vexil stats ROWS --experiment DIR EXPERIMENT`: the result rows of the
//! metric query (`vexil analyze --sql --dialect ...`), as a warehouse
//! exports them (CSV with a header, or JSON Lines), read back into the
//! per-variant sums `vexil analyze` computes, so that the same report comes
//! out. Columns are found by name, in any case (Snowflake upper-cases
//! them), numbers may be quoted (BigQuery's JSON quotes 64-bit integers).
//! A row without a variant (NULL: empty in CSV) counts units exposed to
//! more than one variant, reported and left out of the metrics.

use std::collections::HashMap;

use vexil_events::{Aggregates, MetricSpec, Sums};
use vexil_ir as ir;

/// One result row: column name (lowercase) to its text.
type Row = HashMap<String, String>;

/// The rows of `text`: JSON Lines when it starts with `{`, else CSV.
fn rows(text: &str) -> Result<Vec<(usize, Row)>, String> {
    if text.trim_start().starts_with('{') {
        let mut out = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line)
                .map_err(|e| format!("line {}: not a JSON object: {e}", i + 1))?;
            let row = object
                .into_iter()
                .map(|(k, v)| {
                    let text = match v {
                        serde_json::Value::String(s) => s,
                        serde_json::Value::Null => String::new(),
                        other => other.to_string(),
                    };
                    (k.to_lowercase(), text)
                })
                .collect();
            out.push((i + 1, row));
        }
        return Ok(out);
    }
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| format!("the CSV header cannot be read: {e}"))?
        .iter()
        .map(str::to_lowercase)
        .collect();
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| format!("line {}: {e}", i + 2))?;
        let row = header
            .iter()
            .cloned()
            .zip(record.iter().map(str::to_string))
            .collect();
        out.push((i + 2, row));
    }
    Ok(out)
}

/// SQL's NULL as exports write it: empty (CSV of PostgreSQL, BigQuery;
/// `null` in JSON), `\N` (ClickHouse, MySQL) or `NULL`. No variant or
/// metric value is written so.
fn is_null(text: &str) -> bool {
    text.is_empty() || text == "\\N" || text.eq_ignore_ascii_case("null")
}

fn number(row: &Row, line: usize, column: &str) -> Result<f64, String> {
    let text = row
        .get(column)
        .ok_or_else(|| format!("line {line}: no column `{column}`"))?;
    if is_null(text) {
        // A sum over no rows: NULL in most warehouses.
        return Ok(0.0);
    }
    text.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("line {line}: `{column}` is `{text}`, not a number"))
}

/// The specs the rows were computed with: the experiment's metrics, each
/// with the CUPED covariate exactly when its `pre_*` columns are there.
pub fn specs_of(experiment: &ir::Experiment, header: &[&String]) -> Vec<MetricSpec> {
    experiment
        .metrics
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let mut spec = MetricSpec::from_ir(m, true);
            let pre = format!("m{i}_pre_sum");
            if !header.iter().any(|h| **h == pre) {
                spec.pre_period = None;
            }
            spec
        })
        .collect()
}

/// The sums in `text` for `experiment`, and the specs they were computed
/// with.
pub fn read(
    text: &str,
    experiment: &ir::Experiment,
) -> Result<(Vec<MetricSpec>, Aggregates), String> {
    let rows = rows(text)?;
    let header: Vec<&String> = rows
        .first()
        .map(|(_, r)| r.keys().collect())
        .unwrap_or_default();
    let specs = specs_of(experiment, &header);
    let mut aggregates = Aggregates::default();
    for (line, row) in &rows {
        let variant = row
            .get("variant")
            .ok_or_else(|| format!("line {line}: no column `variant`"))?;
        let named = experiment.variants.iter().any(|v| v.name == *variant);
        let variant = (named || !is_null(variant)).then(|| variant.clone());
        let units = number(row, *line, "units")?;
        if units < 0.0 || units.fract() != 0.0 {
            return Err(format!(
                "line {line}: `units` is {units}, not a count of units"
            ));
        }
        let day = match row.get("day") {
            Some(_) => number(row, *line, "day")? as i64,
            None => 0,
        };
        let mut metrics = Vec::with_capacity(specs.len());
        for (i, spec) in specs.iter().enumerate() {
            let mut values = Vec::new();
            for field in spec.sum_fields() {
                values.push(number(row, *line, &format!("m{i}_{field}"))?);
            }
            let mut sums = Sums::default();
            let fields = spec.sum_fields();
            for (field, value) in fields.iter().zip(values) {
                match *field {
                    "sum" => sums.sum = value,
                    "sum_squares" => sums.sum_squares = value,
                    "denominator_sum" => sums.denominator_sum = value,
                    "denominator_sum_squares" => sums.denominator_sum_squares = value,
                    "cross_sum" => sums.cross_sum = value,
                    "pre_sum" => sums.pre_sum = value,
                    "pre_sum_squares" => sums.pre_sum_squares = value,
                    "pre_cross_sum" => sums.pre_cross_sum = value,
                    _ => {}
                }
            }
            metrics.push(sums);
        }
        aggregates.add_row(variant, day, units as u64, metrics);
    }
    aggregates
        .cells
        .sort_by(|a, b| (&a.variant, a.day).cmp(&(&b.variant, b.day)));
    Ok((specs, aggregates))
}
