//! Vexil's experiment statistics engine: per-variant sufficient statistics
//! in, frequentist, Bayesian, sequential and CUPED comparisons out, following
//! GrowthBook's `gbstats` conventions (formulas in `STATISTICS.md`).

mod analysis;
mod bayes;
mod beta_binomial;
mod correction;
mod dist;
mod error;
mod finite;
mod frequentist;
mod input;
mod json;
mod output;
mod planning;
mod quadrature;
mod sequential;
mod srm;
mod summary;

pub use analysis::analyze;
pub use correction::adjust_p_values;
pub use error::{stats_code, StatsCode, StatsError, STATS_CODES};
pub use input::{
    AnalysisInput, BayesMethod, BayesScale, BetaPrior, Correction, GaussianPrior, MetricKind,
    VariantInput, DEFAULT_SEQUENTIAL_TUNING,
};
pub use json::analyze_json;
pub use output::{
    AnalysisOutput, ArmResult, BayesResult, CupedResult, Estimate, SequentialResult, VariantResult,
};
pub use planning::{
    duration_days, duration_for_shares, sample_size, sequential_sample_size, Duration,
    DurationInput, PlanMetric, SampleSize, SampleSizeInput,
};
pub use sequential::one_sided_p_value;
pub use srm::{srm_p_value, SRM_THRESHOLD};
