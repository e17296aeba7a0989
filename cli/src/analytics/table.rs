//! The terminal form of an experiment report: a header with units and the
//! sample-ratio check, one row per metric and variant, then what went
//! wrong.

use vexil_events::Report;
use vexil_ir as ir;

pub(crate) use vexil_events::present::{metric_label, p_value, percent, value, verdict};

use super::{many, thousands};
use vexil_words::count;

const RED: &str = "1;31";
const GREEN: &str = "1;32";
const DIM: &str = "2";

fn paint(text: &str, code: &str, color: bool) -> String {
    if color && !text.is_empty() {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

fn align(rows: &[Vec<String>], right: &[bool]) -> Vec<String> {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|r| {
            let cells: Vec<String> = r
                .iter()
                .enumerate()
                .map(|(c, s)| {
                    let w = widths.get(c).copied().unwrap_or(0);
                    if right.get(c).copied().unwrap_or(false) {
                        format!("{s:>w$}")
                    } else {
                        format!("{s:<w$}")
                    }
                })
                .collect();
            cells.join("  ").trim_end().to_string()
        })
        .collect()
}

pub fn render(report: &Report, color: bool) -> String {
    let mut out = String::new();
    let comparisons: usize = report
        .metrics
        .iter()
        .filter(|m| m.role != ir::MetricRole::Guardrail)
        .map(|m| m.comparisons.len())
        .sum();
    let correction = match report.correction {
        "holm" => format!("Holm across {}", count(comparisons, "comparison")),
        "bh" => format!(
            "Benjamini-Hochberg across {}",
            count(comparisons, "comparison")
        ),
        _ => "no correction".to_string(),
    };
    out.push_str(&format!(
        "{}: control {}, alpha {}, {correction}{}{}\n",
        report.experiment,
        report.control,
        report.alpha,
        if report.cuped { ", CUPED" } else { "" },
        if report.sequential {
            ", sequential (always valid: safe to look every day)"
        } else {
            ""
        }
    ));
    let units: Vec<String> = report
        .variants
        .iter()
        .map(|v| {
            format!(
                "{} {} ({})",
                v.name,
                thousands(v.units),
                percent(v.weight, 0, false)
            )
        })
        .collect();
    let srm = match &report.srm {
        Some(s) if s.flagged => paint(
            &format!("sample ratio mismatch, p = {:.2e}", s.p_value),
            RED,
            color,
        ),
        Some(s) => format!("sample ratio ok, p = {:.3}", s.p_value),
        None => String::new(),
    };
    out.push_str(&format!("units: {}; {srm}\n\n", units.join(", ")));

    let level = percent(1.0 - report.alpha, 0, false);
    let p_header = match report.correction {
        "none" => "p".to_string(),
        c => format!("p ({c})"),
    };
    let mut rows = vec![vec![
        "metric".to_string(),
        "variant".into(),
        "units".into(),
        "value".into(),
        "lift".into(),
        if report.sequential {
            format!("{level} sequence")
        } else {
            format!("{level} interval")
        },
        p_header,
        "chance to win".into(),
        "result".into(),
    ]];
    let mut verdicts: Vec<Option<bool>> = vec![None];
    // Why a metric could not be analysed, printed under its row: a long
    // message in a cell would widen its column for every row.
    let mut failures: Vec<(usize, String)> = Vec::new();
    for m in &report.metrics {
        rows.push(vec![
            metric_label(m),
            report.control.clone(),
            thousands(m.control_units),
            m.control_value.map(|v| value(m, v)).unwrap_or_default(),
        ]);
        verdicts.push(None);
        if let Some(e) = &m.error {
            failures.push((rows.len() - 1, format!("cannot analyse: {e}")));
            continue;
        }
        for c in &m.comparisons {
            let (words, good) = verdict(m, c);
            rows.push(vec![
                String::new(),
                c.variant.clone(),
                thousands(c.units),
                value(m, c.value),
                percent(c.relative.point, 1, true),
                format!(
                    "[{}, {}]",
                    percent(c.relative.ci_lower, 1, true),
                    percent(c.relative.ci_upper, 1, true)
                ),
                p_value(c.relative.p_value_adjusted.unwrap_or(c.relative.p_value)),
                percent(c.chance_to_win, 1, false),
                words.to_string(),
            ]);
            verdicts.push(good);
        }
    }
    let right = [false, false, true, true, true, false, true, true, false];
    // The failure goes in the variant column, where the comparisons would be.
    let indent = rows
        .iter()
        .filter_map(|r| r.first())
        .map(|s| s.chars().count())
        .max()
        .unwrap_or(0)
        + 2;
    let mut failures = failures.into_iter().peekable();
    for (i, (line, good)) in align(&rows, &right).iter().zip(&verdicts).enumerate() {
        let line = match (i, good) {
            (0, _) => paint(line, DIM, color),
            (_, Some(true)) => paint(line, GREEN, color),
            (_, Some(false)) => paint(line, RED, color),
            _ => line.clone(),
        };
        out.push_str(&line);
        out.push('\n');
        if let Some((_, why)) = failures.next_if(|(row, _)| *row == i) {
            out.push_str(&" ".repeat(indent));
            out.push_str(&paint(&why, RED, color));
            out.push('\n');
        }
    }
    out.push_str(&notes(report, color));
    out
}

/// The report of an experiment with no units in any declared variant:
/// nothing to analyse, and why exposures were left out, if any were.
pub fn render_empty(report: &Report, store: &str, color: bool) -> String {
    let left_out = left_out(report);
    if left_out.is_empty() {
        return format!(
            "{}: nothing to analyse: `{store}` holds no exposures of it\n  = help: load the exposures the runtime logged with `vexil ingest {store} FILE.jsonl`\n",
            report.experiment
        );
    }
    let mut out = format!(
        "{}: nothing to analyse: no unit in `{store}` can be counted\n",
        report.experiment
    );
    for n in left_out {
        out.push_str(&format!("{}: {n}\n", paint("warning", RED, color)));
    }
    out
}

/// Why exposed units were left out of the analysis.
fn left_out(report: &Report) -> Vec<String> {
    let mut notes = Vec::new();
    if report.mixed_units > 0 {
        notes.push(format!(
            "{} {} exposed to more than one variant and left out",
            many(report.mixed_units, "unit"),
            vexil_words::was_were(report.mixed_units)
        ));
    }
    for (name, n) in &report.unknown_variants {
        notes.push(format!(
            "{} {} exposed to `{name}`, which `{}` does not declare, and left out",
            many(*n, "unit"),
            vexil_words::was_were(*n),
            report.experiment
        ));
    }
    notes
}

/// Units left out as warnings, then the problems, after a blank line.
fn notes(report: &Report, color: bool) -> String {
    let mut out = String::new();
    let notes = left_out(report);
    if !notes.is_empty() || !report.problems.is_empty() {
        out.push('\n');
    }
    for n in notes {
        out.push_str(&format!("{}: {n}\n", paint("warning", RED, color)));
    }
    for p in &report.problems {
        out.push_str(&format!("{}: {p}\n", paint("error", RED, color)));
    }
    out
}
