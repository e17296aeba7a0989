//! One metric's per-variant totals as the statistics engine's request:
//! what the report's analysis of a metric and each day of its timeline
//! send to `vexil_analytics::analyze`.

use vexil_analytics::{self as stats, AnalysisInput, VariantInput};
use vexil_ir as ir;

use crate::aggregate::Sums;
use crate::metric::MetricSpec;

/// The engine's request for one metric from per-variant totals: `arms`
/// are (variant, units, sums) with the control first, `weights` their
/// declared shares.
pub(crate) fn analysis_input(
    spec: &MetricSpec,
    arms: &[(String, u64, Sums)],
    weights: &[f64],
    alpha: f64,
    sequential: Option<f64>,
) -> AnalysisInput {
    let use_covariate = spec.pre_period.is_some()
        && arms
            .iter()
            .any(|(_, _, s)| s.pre_sum != 0.0 || s.pre_sum_squares != 0.0);
    let metric = match spec.kind {
        ir::MetricKind::Conversion { .. } => stats::MetricKind::Proportion,
        ir::MetricKind::Mean { .. } => stats::MetricKind::Mean,
        ir::MetricKind::Ratio { .. } => stats::MetricKind::Ratio,
    };
    let variants = arms
        .iter()
        .map(|(name, units, s)| {
            let ratio = metric == stats::MetricKind::Ratio;
            VariantInput {
                name: name.clone(),
                n: *units as f64,
                sum: s.sum,
                sum_squares: (metric != stats::MetricKind::Proportion).then_some(s.sum_squares),
                denominator_sum: ratio.then_some(s.denominator_sum),
                denominator_sum_squares: ratio.then_some(s.denominator_sum_squares),
                cross_sum: ratio.then_some(s.cross_sum),
                pre_sum: use_covariate.then_some(s.pre_sum),
                pre_sum_squares: use_covariate.then_some(s.pre_sum_squares),
                pre_cross_sum: use_covariate.then_some(s.pre_cross_sum),
            }
        })
        .collect();
    AnalysisInput {
        metric,
        alpha,
        weights: Some(weights.to_vec()),
        variants,
        sequential: sequential.is_some(),
        sequential_tuning: sequential.unwrap_or(stats::DEFAULT_SEQUENTIAL_TUNING),
        correction: None,
        inverse: spec.goal == ir::Goal::Decrease,
        bayes_prior: None,
        bayes_scale: stats::BayesScale::Relative,
        bayes_method: stats::BayesMethod::Gaussian,
        beta_prior: None,
    }
}
