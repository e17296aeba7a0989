//! The analysis result as `vexil stats` prints it: one entry per treatment
//! variant compared against the control, plus the sample-ratio check.

use serde::{Deserialize, Serialize};

use crate::input::{BayesMethod, BayesScale, Correction, MetricKind};

/// A frequentist estimate of a lift with its interval and p-value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// Point estimate.
    pub point: f64,
    /// Standard error of the point estimate.
    pub se: f64,
    /// Lower end of the `1 - alpha` interval.
    pub ci_lower: f64,
    /// Upper end of the `1 - alpha` interval.
    pub ci_upper: f64,
    /// Two-sided p-value against no difference.
    pub p_value: f64,
    /// The p-value after the requested multiple-testing correction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_value_adjusted: Option<f64>,
}

/// Bayesian summary of the lift of one variant over the control.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BayesResult {
    /// Scale of `point`, the interval and the risks.
    pub scale: BayesScale,
    /// Posterior mean of the lift.
    pub point: f64,
    /// Standard deviation of the same posterior (gbstats' `uplift.stddev`).
    /// Absent only where that posterior has no finite variance: the exact
    /// Beta–binomial relative lift when the control's posterior alpha is at
    /// most 2 (at most one conversion under the default prior).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posterior_sd: Option<f64>,
    /// Probability that the variant beats the control (that it is lower,
    /// for inverse metrics).
    pub chance_to_win: f64,
    /// Expected loss of shipping the control: E[max(lift, 0)] (swapped for
    /// inverse metrics).
    pub risk_control: f64,
    /// Expected loss of shipping the variant: E[max(-lift, 0)] (swapped for
    /// inverse metrics).
    pub risk_treatment: f64,
    /// Lower end of the equal-tailed `1 - alpha` credible interval.
    pub ci_lower: f64,
    /// Upper end of the equal-tailed `1 - alpha` credible interval.
    pub ci_upper: f64,
}

/// Always-valid results from the mixture sequential probability ratio test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SequentialResult {
    /// Absolute difference with its confidence sequence.
    pub absolute: Estimate,
    /// Relative lift with its confidence sequence.
    pub relative: Estimate,
}

/// What CUPED changed: the slope used and the estimates without it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CupedResult {
    /// Pooled regression slope of the metric on the covariate; 0 means the
    /// adjustment was skipped because a pooled variance was zero.
    pub theta: f64,
    /// Absolute difference without the adjustment.
    pub unadjusted_absolute: Estimate,
    /// Relative lift without the adjustment.
    pub unadjusted_relative: Estimate,
}

/// Descriptive statistics of one arm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmResult {
    /// The variant's name.
    pub name: String,
    /// Units.
    pub n: f64,
    /// Plain metric mean (conversion rate, mean or ratio).
    pub mean: f64,
    /// Per-unit standard deviation of the metric, without CUPED adjustment
    /// (gbstats' delta-method standard deviation for ratios).
    pub stddev: f64,
}

/// Comparison of one treatment variant with the control.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantResult {
    /// The variant's own statistics.
    #[serde(flatten)]
    pub arm: ArmResult,
    /// Welch–Satterthwaite degrees of freedom of the t-test.
    pub dof: f64,
    /// Difference of means, treatment minus control.
    pub absolute: Estimate,
    /// Relative lift, (treatment - control) / control.
    pub relative: Estimate,
    /// Bayesian chance to win, risks and credible interval.
    pub bayes: BayesResult,
    /// Present when `sequential` was requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequential: Option<SequentialResult>,
    /// Present when a pre-exposure covariate was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cuped: Option<CupedResult>,
}

/// Full result of one metric's analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalysisOutput {
    /// Metric kind analysed.
    pub metric: MetricKind,
    /// Significance level used.
    pub alpha: f64,
    /// Bayesian method used.
    pub bayes_method: BayesMethod,
    /// Correction applied to the p-values, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correction: Option<Correction>,
    /// The control's statistics.
    pub control: ArmResult,
    /// One comparison per treatment variant, in input order.
    pub variants: Vec<VariantResult>,
    /// p-value of the chi-square sample-ratio-mismatch test.
    pub srm_p_value: f64,
    /// True when `srm_p_value` is below 0.001.
    pub srm_flagged: bool,
}
