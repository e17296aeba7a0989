//! An experiment's analysis: the store's sums per variant fed to
//! `vexil_analytics::analyze` for every declared metric, then one
//! multiple-testing correction across metrics × variants, guardrail
//! thresholds, and the sample-ratio check.

use serde::Serialize;
use vexil_analytics::{self as stats, Correction, StatsError};
use vexil_ir as ir;

use crate::aggregate::{Aggregates, Sums};
use crate::input::analysis_input;
use crate::metric::MetricSpec;
use crate::store::{Store, StoreError};
use crate::timeline::{timeline, Series};

/// How to analyse.
#[derive(Clone, Debug, PartialEq)]
pub struct AnalysisOptions {
    /// Significance level; `None` takes the experiment's `planning` alpha,
    /// or 0.05.
    pub alpha: Option<f64>,
    /// Correction across metrics × variants (primary and secondary
    /// metrics; guardrails are checked uncorrected, see `README.md`).
    pub correction: Option<Correction>,
    /// Use the pre-exposure covariate (CUPED) for conversion and mean
    /// metrics.
    pub cuped: bool,
    /// `Some(tuning)`: report always-valid p-values and confidence
    /// sequences (mixture SPRT with that tuning; GrowthBook's default is
    /// 5,000) in place of the fixed-horizon ones, so that looking at the
    /// results every day does not inflate false positives. `None`: the
    /// fixed-horizon test, valid for one look at the planned end.
    pub sequential: Option<f64>,
}

impl Default for AnalysisOptions {
    fn default() -> Self {
        AnalysisOptions {
            alpha: None,
            correction: Some(Correction::Holm),
            cuped: true,
            sequential: None,
        }
    }
}

impl AnalysisOptions {
    /// The defaults with always-valid inference at the default tuning
    /// (`vexil analyze --sequential`): for results looked at repeatedly,
    /// such as a dashboard's.
    pub fn sequential() -> Self {
        AnalysisOptions {
            sequential: Some(stats::DEFAULT_SEQUENTIAL_TUNING),
            ..AnalysisOptions::default()
        }
    }
}

/// Units of one variant.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VariantUnits {
    /// The variant's name.
    pub name: String,
    /// Declared share of enrolled units, a fraction.
    pub weight: f64,
    /// Units exposed to it (and to no other variant).
    pub units: u64,
}

/// The sample-ratio-mismatch check.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Srm {
    /// The chi-square test's p-value of the units against the weights.
    pub p_value: f64,
    /// `p_value` below 0.001.
    pub flagged: bool,
}

/// A guardrail's state for one variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GuardrailState {
    /// The interval rules out a change beyond the threshold.
    Ok,
    /// The interval reaches beyond the threshold in the bad direction.
    AtRisk,
    /// The point estimate is beyond the threshold in the bad direction and
    /// the change is significant.
    Breached,
}

/// A guardrail's check for one variant.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Guardrail {
    /// Largest acceptable relative change in the bad direction, a fraction.
    pub threshold: f64,
    /// Where the estimate stands against the threshold.
    pub state: GuardrailState,
}

/// One treatment compared with the control on one metric.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Comparison {
    /// The treatment's name.
    pub variant: String,
    /// Its units.
    pub units: u64,
    /// The metric's value in this variant (rate, mean or ratio).
    pub value: f64,
    /// Difference with the control, with its interval and p-value.
    pub absolute: stats::Estimate,
    /// Relative lift; `p_value_adjusted` is the correction across metrics
    /// × variants (absent for guardrails). With sequential testing, both
    /// estimates are the always-valid ones (confidence sequences).
    pub relative: stats::Estimate,
    /// Bayesian probability that the variant is better (lower, for
    /// `decrease` metrics).
    pub chance_to_win: f64,
    /// The relative lift's (adjusted) p-value is below alpha.
    pub significant: bool,
    /// The CUPED slope, when the covariate was used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cuped_theta: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// The guardrail check, for a guardrail metric with a threshold.
    pub guardrail: Option<Guardrail>,
}

/// One metric's results.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetricResult {
    /// The metric's name.
    pub name: String,
    /// Primary, secondary or guardrail.
    pub role: ir::MetricRole,
    /// `conversion`, `mean` or `ratio`.
    pub function: &'static str,
    /// The events it counts (a ratio's numerator, then denominator).
    pub events: Vec<String>,
    /// Whether an increase or a decrease is better.
    pub goal: ir::Goal,
    /// Microseconds after first exposure in which events count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<i64>,
    /// The control's units and value.
    pub control_units: u64,
    /// The metric's value in the control, when it could be analysed.
    pub control_value: Option<f64>,
    /// Each treatment against the control, in analysis order.
    pub comparisons: Vec<Comparison>,
    /// Why the metric could not be analysed (no data, no variance, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The whole report of `vexil analyze`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// The experiment's name.
    pub experiment: String,
    /// The control variant's name.
    pub control: String,
    /// The significance level used.
    pub alpha: f64,
    /// `holm`, `bh` or `none`.
    pub correction: &'static str,
    /// CUPED was asked for (metrics use it where they have a covariate).
    pub cuped: bool,
    /// Intervals and p-values are always valid (sequential testing).
    pub sequential: bool,
    /// Units per variant, the control first.
    pub variants: Vec<VariantUnits>,
    /// The sample-ratio check, when it could be computed.
    pub srm: Option<Srm>,
    /// Units exposed to more than one variant, left out.
    pub mixed_units: u64,
    /// Exposed units whose variant the experiment does not declare, left
    /// out: `(variant, units)`.
    pub unknown_variants: Vec<(String, u64)>,
    /// Each declared metric's results, in declaration order.
    pub metrics: Vec<MetricResult>,
    /// Cumulative relative lift by day of first exposure.
    pub timeline: Vec<Series>,
    /// Problems that make the results untrustworthy.
    pub problems: Vec<String>,
}

impl Report {
    /// False when the data cannot support a decision: no units in a
    /// variant, a sample ratio mismatch, or a primary metric that could
    /// not be analysed. `vexil analyze` then exits with status 1.
    pub fn usable(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Declared weight of each variant, as fractions summing to 1.
pub fn weights(experiment: &ir::Experiment) -> Vec<f64> {
    let mut lower = 0;
    experiment
        .variants
        .iter()
        .map(|v| {
            let w = f64::from(v.upper.saturating_sub(lower)) / f64::from(ir::bucket::BUCKETS);
            lower = v.upper;
            w
        })
        .collect()
}

/// The variants in analysis order: the control first, then the others as
/// declared. Returns indices into `experiment.variants`.
pub fn analysis_order(experiment: &ir::Experiment) -> Vec<usize> {
    let control = experiment.control as usize;
    std::iter::once(control)
        .chain((0..experiment.variants.len()).filter(|&i| i != control))
        .collect()
}

fn guardrail(spec: &MetricSpec, relative: &stats::Estimate, alpha: f64) -> Option<Guardrail> {
    if spec.role != ir::MetricRole::Guardrail {
        return None;
    }
    let threshold = spec.threshold?;
    // Measure the change in the bad direction: up for `decrease` metrics.
    let sign = match spec.goal {
        ir::Goal::Decrease => 1.0,
        ir::Goal::Increase => -1.0,
    };
    let point = sign * relative.point;
    let worst = (sign * relative.ci_lower).max(sign * relative.ci_upper);
    let state = if point > threshold && relative.p_value < alpha {
        GuardrailState::Breached
    } else if worst > threshold {
        GuardrailState::AtRisk
    } else {
        GuardrailState::Ok
    };
    Some(Guardrail { threshold, state })
}

fn describe(e: &StatsError) -> String {
    // The engine's Display starts with `error[S000x]: `; the report states
    // the code separately from the reason.
    let text = e.to_string();
    text.split_once("]: ")
        .map(|(_, rest)| format!("{rest} ({})", e.code()))
        .unwrap_or(text)
}

pub(crate) fn analyse_metric(
    spec: &MetricSpec,
    arms: &[(String, u64, Sums)],
    weights: &[f64],
    alpha: f64,
    sequential: Option<f64>,
) -> MetricResult {
    let mut result = MetricResult {
        name: spec.name.clone(),
        role: spec.role,
        function: spec.function(),
        events: spec.events().iter().map(|e| e.to_string()).collect(),
        goal: spec.goal,
        window: spec.window,
        control_units: arms.first().map_or(0, |a| a.1),
        control_value: None,
        comparisons: Vec::new(),
        error: None,
    };
    let input = analysis_input(spec, arms, weights, alpha, sequential);
    match stats::analyze(&input) {
        Ok(out) => {
            result.control_value = Some(out.control.mean);
            for (v, (_, units, _)) in out.variants.iter().zip(arms.iter().skip(1)) {
                let (absolute, relative) = match &v.sequential {
                    Some(s) => (s.absolute, s.relative),
                    None => (v.absolute, v.relative),
                };
                result.comparisons.push(Comparison {
                    variant: v.arm.name.clone(),
                    units: *units,
                    value: v.arm.mean,
                    absolute,
                    relative,
                    chance_to_win: v.bayes.chance_to_win,
                    significant: relative.p_value < alpha,
                    cuped_theta: v.cuped.map(|c| c.theta),
                    guardrail: guardrail(spec, &relative, alpha),
                });
            }
        }
        Err(e) => result.error = Some(describe(&e)),
    }
    result
}

/// Corrects the relative p-values of primary and secondary metrics across
/// metrics × variants and recomputes `significant` from them.
fn correct(metrics: &mut [MetricResult], method: Correction, alpha: f64) {
    let family = |m: &MetricResult| m.role != ir::MetricRole::Guardrail;
    let p: Vec<f64> = metrics
        .iter()
        .filter(|m| family(m))
        .flat_map(|m| m.comparisons.iter().map(|c| c.relative.p_value))
        .collect();
    let Ok(adjusted) = stats::adjust_p_values(&p, method) else {
        return;
    };
    let mut next = adjusted.into_iter();
    for m in metrics.iter_mut().filter(|m| family(m)) {
        for c in &mut m.comparisons {
            if let Some(p) = next.next() {
                c.relative.p_value_adjusted = Some(p);
                c.significant = p < alpha;
            }
        }
    }
}

/// Analyses `experiment` over the events in `store`.
pub fn analyze_experiment(
    store: &Store,
    experiment: &ir::Experiment,
    options: &AnalysisOptions,
) -> Result<Report, StoreError> {
    let specs: Vec<MetricSpec> = experiment
        .metrics
        .iter()
        .map(|m| MetricSpec::from_ir(m, options.cuped))
        .collect();
    let aggregates = store.aggregate(&experiment.name, &specs)?;
    Ok(report_from(experiment, &specs, &aggregates, options))
}

/// The report from sums already aggregated (by the store, or by a
/// warehouse running the same query).
pub fn report_from(
    experiment: &ir::Experiment,
    specs: &[MetricSpec],
    aggregates: &Aggregates,
    options: &AnalysisOptions,
) -> Report {
    let alpha = options
        .alpha
        .or(experiment.planning.as_ref().and_then(|p| p.alpha))
        .unwrap_or(0.05);
    let all_weights = weights(experiment);
    let order = analysis_order(experiment);
    let mut problems = Vec::new();

    let mut variants = Vec::new();
    let mut arms: Vec<Vec<(String, u64, Sums)>> = vec![Vec::new(); specs.len()];
    for &i in &order {
        let Some(v) = experiment.variants.get(i) else {
            continue;
        };
        let (units, sums) = aggregates
            .variant_total(&v.name)
            .unwrap_or((0, vec![Sums::default(); specs.len()]));
        variants.push(VariantUnits {
            name: v.name.clone(),
            weight: all_weights.get(i).copied().unwrap_or(0.0),
            units,
        });
        for (metric_arms, s) in arms.iter_mut().zip(sums) {
            metric_arms.push((v.name.clone(), units, s));
        }
    }
    let weights: Vec<f64> = variants.iter().map(|v| v.weight).collect();
    let unknown_variants: Vec<(String, u64)> = {
        let mut names: Vec<&str> = aggregates
            .cells
            .iter()
            .map(|c| c.variant.as_str())
            .filter(|n| !experiment.variants.iter().any(|v| v.name == *n))
            .collect();
        names.sort_unstable();
        names.dedup();
        names
            .into_iter()
            .map(|n| {
                (
                    n.to_string(),
                    aggregates.variant_total(n).map_or(0, |t| t.0),
                )
            })
            .collect()
    };

    let units: Vec<f64> = variants.iter().map(|v| v.units as f64).collect();
    let srm = stats::srm_p_value(&units, &weights).ok().map(|p| Srm {
        p_value: p,
        flagged: p < stats::SRM_THRESHOLD,
    });
    if units.iter().all(|&u| u == 0.0) {
        problems.push(format!(
            "no exposures of `{}` in the store",
            experiment.name
        ));
    } else {
        for v in variants.iter().filter(|v| v.units < 2) {
            problems.push(format!(
                "variant `{}` has {}",
                v.name,
                vexil_words::count(v.units, "exposed unit")
            ));
        }
        if let Some(srm) = srm.as_ref().filter(|s| s.flagged) {
            problems.push(format!(
                "sample ratio mismatch: units per variant differ from the declared weights (p = {:.2e})",
                srm.p_value
            ));
        }
    }

    let mut metrics: Vec<MetricResult> = specs
        .iter()
        .zip(&arms)
        .map(|(spec, metric_arms)| {
            analyse_metric(spec, metric_arms, &weights, alpha, options.sequential)
        })
        .collect();
    if let Some(method) = options.correction {
        correct(&mut metrics, method, alpha);
    }
    if problems.is_empty() {
        for m in &metrics {
            if let (ir::MetricRole::Primary, Some(e)) = (m.role, &m.error) {
                problems.push(format!("primary metric `{}`: {e}", m.name));
            }
        }
    }
    let names: Vec<String> = variants.iter().map(|v| v.name.clone()).collect();
    Report {
        experiment: experiment.name.clone(),
        control: names.first().cloned().unwrap_or_default(),
        alpha,
        correction: match options.correction {
            Some(Correction::Holm) => "holm",
            Some(Correction::Bh) => "bh",
            None => "none",
        },
        cuped: options.cuped,
        sequential: options.sequential.is_some(),
        variants,
        srm,
        mixed_units: aggregates.mixed_units,
        unknown_variants,
        metrics,
        timeline: timeline(
            specs,
            aggregates,
            &names,
            &weights,
            alpha,
            options.sequential,
        ),
        problems,
    }
}
