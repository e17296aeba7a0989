//! Cumulative lift over time: for each UTC day, the analysis of every unit
//! first exposed up to the end of that day (with all its events in its
//! window), so the line shows how the estimate settled as units arrived.

use serde::Serialize;
use vexil_analytics as stats;

use crate::aggregate::{Aggregates, Sums};
use crate::input::analysis_input;
use crate::metric::MetricSpec;

/// One day's cumulative estimate.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Point {
    /// Start of the UTC day, microseconds since the epoch.
    pub day: i64,
    /// Units of the variant first exposed by the end of the day.
    pub units: u64,
    /// Relative lift over the control, with its interval.
    pub lift: f64,
    /// Lower end of the lift's interval.
    pub ci_lower: f64,
    /// Upper end of the lift's interval.
    pub ci_upper: f64,
}

/// One metric × treatment's cumulative lift by day. Days on which the lift
/// cannot be computed yet (too few units, no variance) have no point.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Series {
    /// The metric's name.
    pub metric: String,
    /// The treatment's name.
    pub variant: String,
    /// One point per day that has one, in day order.
    pub points: Vec<Point>,
}

/// `names` are the variants in analysis order (the control first) and
/// `weights` their declared shares.
pub(crate) fn timeline(
    specs: &[MetricSpec],
    aggregates: &Aggregates,
    names: &[String],
    weights: &[f64],
    alpha: f64,
    sequential: Option<f64>,
) -> Vec<Series> {
    let days = aggregates.days();
    let mut series: Vec<Series> = specs
        .iter()
        .flat_map(|spec| {
            names.iter().skip(1).map(|v| Series {
                metric: spec.name.clone(),
                variant: v.clone(),
                points: Vec::new(),
            })
        })
        .collect();
    for &day in &days {
        let totals: Vec<(u64, Vec<Sums>)> = names
            .iter()
            .map(|v| aggregates.variant_total_until(v, day))
            .collect();
        for (m, spec) in specs.iter().enumerate() {
            let arms: Vec<(String, u64, Sums)> = names
                .iter()
                .zip(&totals)
                .map(|(name, (units, sums))| {
                    (
                        name.clone(),
                        *units,
                        sums.get(m).copied().unwrap_or_default(),
                    )
                })
                .collect();
            let input = analysis_input(spec, &arms, weights, alpha, sequential);
            let Ok(out) = stats::analyze(&input) else {
                continue;
            };
            let treatments = names.len().saturating_sub(1);
            for (k, v) in out.variants.iter().enumerate() {
                let relative = v.sequential.as_ref().map_or(&v.relative, |s| &s.relative);
                if let Some(s) = series.get_mut(m * treatments + k) {
                    s.points.push(Point {
                        day,
                        units: totals.get(k + 1).map_or(0, |t| t.0),
                        lift: relative.point,
                        ci_lower: relative.ci_lower,
                        ci_upper: relative.ci_upper,
                    });
                }
            }
        }
    }
    series
}
