//! What the store must compute for each declared metric: which events, in
//! which window after the unit's first exposure, and which pre-exposure
//! covariate CUPED uses.

use serde::Serialize;
use vexil_ir as ir;

/// Microseconds in a day.
pub const DAY: i64 = 86_400_000_000;

/// The pre-exposure period of a metric without a window: 14 days, as
/// GrowthBook's default CUPED lookback.
pub const DEFAULT_PRE_PERIOD: i64 = 14 * DAY;

/// One metric as the aggregation query computes it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetricSpec {
    /// The metric's name.
    pub name: String,
    /// Primary, secondary or guardrail.
    pub role: ir::MetricRole,
    /// What it computes (conversion, mean or ratio) and of which events.
    pub kind: ir::MetricKind,
    /// Whether an increase or a decrease is better.
    pub goal: ir::Goal,
    /// Events count when `first_exposure <= time < first_exposure + window`;
    /// without a window, every event at or after the first exposure.
    pub window: Option<i64>,
    /// CUPED covariate: the same per-unit value over
    /// `first_exposure - pre_period <= time < first_exposure`; `None` for
    /// ratios (the engine has no CUPED estimator for them) or when CUPED
    /// is switched off.
    pub pre_period: Option<i64>,
    /// Guardrail threshold, a fraction (0.1 for 10%).
    pub threshold: Option<f64>,
}

impl MetricSpec {
    /// The spec of a declared metric; `cuped` switches the covariate on.
    pub fn from_ir(metric: &ir::Metric, cuped: bool) -> MetricSpec {
        let pre_period = match metric.kind {
            ir::MetricKind::Ratio { .. } => None,
            _ if !cuped => None,
            _ => Some(metric.window.unwrap_or(DEFAULT_PRE_PERIOD)),
        };
        MetricSpec {
            name: metric.name.clone(),
            role: metric.role,
            kind: metric.kind.clone(),
            goal: metric.goal,
            window: metric.window,
            pre_period,
            threshold: metric.threshold,
        }
    }

    /// The event names this metric reads.
    pub fn events(&self) -> Vec<&str> {
        match &self.kind {
            ir::MetricKind::Conversion { event } | ir::MetricKind::Mean { event } => {
                vec![event.as_str()]
            }
            ir::MetricKind::Ratio {
                numerator,
                denominator,
            } => vec![numerator.as_str(), denominator.as_str()],
        }
    }

    /// The sums the metric query returns for this metric, in column order,
    /// named as the fields of a `vexil stats` variant.
    pub fn sum_fields(&self) -> &'static [&'static str] {
        match self.kind {
            ir::MetricKind::Ratio { .. } => &[
                "sum",
                "sum_squares",
                "denominator_sum",
                "denominator_sum_squares",
                "cross_sum",
            ],
            _ if self.pre_period.is_some() => &[
                "sum",
                "sum_squares",
                "pre_sum",
                "pre_sum_squares",
                "pre_cross_sum",
            ],
            _ => &["sum", "sum_squares"],
        }
    }

    /// `conversion`, `mean` or `ratio`.
    pub fn function(&self) -> &'static str {
        match self.kind {
            ir::MetricKind::Conversion { .. } => "conversion",
            ir::MetricKind::Mean { .. } => "mean",
            ir::MetricKind::Ratio { .. } => "ratio",
        }
    }
}
