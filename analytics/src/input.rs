//! The analysis request as `vexil stats FILE.json` reads it: per-variant
//! sufficient statistics (control first) and the analysis options.

use serde::{Deserialize, Serialize};

/// What kind of metric the sufficient statistics describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    /// Conversion: `sum` is the number of converted units out of `n`.
    Proportion,
    /// Per-unit mean of a numeric value.
    Mean,
    /// Ratio of two per-unit sums (numerator `sum`, `denominator_sum`).
    Ratio,
}

/// Multiple-testing correction applied across a family of p-values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Correction {
    /// Holm's step-down method (controls the family-wise error rate).
    Holm,
    /// Benjamini–Hochberg step-up method (controls the false discovery rate).
    Bh,
}

/// Scale on which the Bayesian results are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BayesScale {
    /// Relative lift `(treatment - control) / control` (GrowthBook's default).
    #[default]
    Relative,
    /// Absolute difference `treatment - control`.
    Absolute,
}

/// How the Bayesian results are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BayesMethod {
    /// gbstats' effect model: a Gaussian likelihood for the lift with a
    /// Gaussian (or flat) prior on it.
    #[default]
    Gaussian,
    /// Exact Beta–binomial posteriors per arm; proportion metrics only.
    BetaBinomial,
}

/// A proper Gaussian prior on the relative lift (gbstats' `prior_type`
/// `"relative"`). Without one the prior is flat, as in gbstats' default.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GaussianPrior {
    /// Prior mean of the relative lift.
    pub mean: f64,
    /// Prior standard deviation of the relative lift.
    pub stddev: f64,
}

/// Beta prior for each arm's conversion rate in the Beta–binomial model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BetaPrior {
    /// Prior successes plus one.
    pub alpha: f64,
    /// Prior failures plus one.
    pub beta: f64,
}

impl Default for BetaPrior {
    fn default() -> Self {
        BetaPrior {
            alpha: 1.0,
            beta: 1.0,
        }
    }
}

/// Sufficient statistics of one variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantInput {
    /// Display name; errors and results refer to it.
    pub name: String,
    /// Number of units (users) exposed.
    pub n: f64,
    /// Sum of the metric (conversions for a proportion; the numerator for a
    /// ratio).
    pub sum: f64,
    /// Sum of squared per-unit values; required for mean and ratio metrics.
    #[serde(default)]
    pub sum_squares: Option<f64>,
    /// Ratio metrics: sum of the per-unit denominator.
    #[serde(default)]
    pub denominator_sum: Option<f64>,
    /// Ratio metrics: sum of squared per-unit denominators.
    #[serde(default)]
    pub denominator_sum_squares: Option<f64>,
    /// Ratio metrics: sum of numerator × denominator per unit.
    #[serde(default)]
    pub cross_sum: Option<f64>,
    /// CUPED: sum of the pre-exposure covariate.
    #[serde(default)]
    pub pre_sum: Option<f64>,
    /// CUPED: sum of squared covariate values.
    #[serde(default)]
    pub pre_sum_squares: Option<f64>,
    /// CUPED: sum of covariate × metric per unit.
    #[serde(default)]
    pub pre_cross_sum: Option<f64>,
}

pub(crate) const DEFAULT_ALPHA: f64 = 0.05;
/// gbstats' default `sequential_tuning_parameter`.
pub const DEFAULT_SEQUENTIAL_TUNING: f64 = 5000.0;

fn default_alpha() -> f64 {
    DEFAULT_ALPHA
}

fn default_tuning() -> f64 {
    DEFAULT_SEQUENTIAL_TUNING
}

/// One metric of one experiment, the control first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalysisInput {
    /// Metric kind.
    pub metric: MetricKind,
    /// Significance level; intervals have coverage `1 - alpha`.
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// Declared traffic weights per variant, in the order of `variants`;
    /// equal weights when absent.
    #[serde(default)]
    pub weights: Option<Vec<f64>>,
    /// Sufficient statistics, control first; at least two.
    pub variants: Vec<VariantInput>,
    /// Also report always-valid results (mixture SPRT).
    #[serde(default)]
    pub sequential: bool,
    /// Tuning parameter of the mixture SPRT (gbstats default 5000).
    #[serde(default = "default_tuning")]
    pub sequential_tuning: f64,
    /// Multiple-testing correction across the variants' p-values.
    #[serde(default)]
    pub correction: Option<Correction>,
    /// Lower is better: flips chance to win and the two risks.
    #[serde(default)]
    pub inverse: bool,
    /// Proper Gaussian prior on the relative lift; flat when absent.
    #[serde(default)]
    pub bayes_prior: Option<GaussianPrior>,
    /// Scale of the Bayesian results.
    #[serde(default)]
    pub bayes_scale: BayesScale,
    /// Gaussian effect model (default) or exact Beta–binomial.
    #[serde(default)]
    pub bayes_method: BayesMethod,
    /// Per-arm Beta prior for `bayes_method: "beta_binomial"`.
    #[serde(default)]
    pub beta_prior: Option<BetaPrior>,
}
