//! From one variant's sufficient statistics to the per-unit mean and
//! variance every test consumes (gbstats' `Statistic` classes), with the
//! input checks that keep NaN out: proportion, sample mean, ratio (delta
//! method) and CUPED regression adjustment.

use crate::error::StatsError;
use crate::input::{MetricKind, VariantInput};

/// Per-unit mean and variance of one arm.
///
/// `mean` is the CUPED-adjusted mean when a covariate is used;
/// `unadjusted_mean` is always the plain metric mean, which gbstats uses as
/// the denominator of relative lifts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ArmSummary {
    /// Number of units.
    pub n: f64,
    /// Mean used for differences (CUPED-adjusted when applicable).
    pub mean: f64,
    /// Plain metric mean.
    pub unadjusted_mean: f64,
    /// Per-unit variance of the (adjusted) metric.
    pub variance: f64,
}

/// A proportion or sample-mean statistic: the building block of ratio and
/// CUPED statistics.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Moments {
    Proportion { n: f64, sum: f64 },
    Sample { n: f64, sum: f64, sum_squares: f64 },
}

impl Moments {
    fn n(self) -> f64 {
        match self {
            Moments::Proportion { n, .. } | Moments::Sample { n, .. } => n,
        }
    }

    fn sum(self) -> f64 {
        match self {
            Moments::Proportion { sum, .. } | Moments::Sample { sum, .. } => sum,
        }
    }

    fn mean(self) -> f64 {
        self.sum() / self.n()
    }

    /// gbstats' conventions: `p(1-p)` for proportions (no n-1 correction),
    /// the unbiased sample variance for means.
    fn variance(self) -> f64 {
        match self {
            Moments::Proportion { .. } => {
                let p = self.mean();
                p * (1.0 - p)
            }
            Moments::Sample {
                n,
                sum,
                sum_squares,
            } => (sum_squares - sum * sum / n) / (n - 1.0),
        }
    }

    fn joint(self, other: Moments) -> Moments {
        match (self, other) {
            (Moments::Proportion { n, sum }, Moments::Proportion { n: n2, sum: s2 }) => {
                Moments::Proportion {
                    n: n + n2,
                    sum: sum + s2,
                }
            }
            _ => Moments::Sample {
                n: self.n() + other.n(),
                sum: self.sum() + other.sum(),
                sum_squares: self.sum_squares() + other.sum_squares(),
            },
        }
    }

    fn sum_squares(self) -> f64 {
        match self {
            // For 0/1 data the squares sum to the number of ones.
            Moments::Proportion { sum, .. } => sum,
            Moments::Sample { sum_squares, .. } => sum_squares,
        }
    }
}

/// Sample covariance from a sum of products, with the n-1 denominator.
fn covariance(n: f64, sum_x: f64, sum_y: f64, sum_xy: f64) -> f64 {
    (sum_xy - sum_x * sum_y / n) / (n - 1.0)
}

/// One arm's validated statistics, before CUPED's pooled slope is known.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ArmData {
    pub name: String,
    kind: ArmKind,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum ArmKind {
    Plain(Moments),
    Ratio {
        numerator: Moments,
        denominator: Moments,
        cross_sum: f64,
    },
    Cuped {
        post: Moments,
        pre: Moments,
        pre_cross_sum: f64,
    },
}

fn finite(v: &VariantInput, field: &str, value: f64) -> Result<f64, StatsError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(StatsError::field(
            Some(&v.name),
            field,
            format!("must be a finite number, got `{value}`"),
        ))
    }
}

fn required(
    v: &VariantInput,
    field: &str,
    value: Option<f64>,
    why: &str,
) -> Result<f64, StatsError> {
    match value {
        Some(x) => finite(v, field, x),
        None => Err(StatsError::field(
            Some(&v.name),
            field,
            format!("is required {why}"),
        )),
    }
}

/// Largest sum of squares that can be stored without the variance formula
/// overflowing double precision.
const MAX_MAGNITUDE: f64 = 1e150;

fn bounded(v: &VariantInput, field: &str, value: f64) -> Result<f64, StatsError> {
    if value.abs() > MAX_MAGNITUDE {
        Err(StatsError::field(
            Some(&v.name),
            field,
            format!("`{value}` is too large in magnitude (limit 1e150)"),
        ))
    } else {
        Ok(value)
    }
}

fn sample_moments(
    v: &VariantInput,
    n: f64,
    (sum_field, sum): (&str, f64),
    (squares_field, sum_squares): (&str, f64),
) -> Result<Moments, StatsError> {
    let sum = bounded(v, sum_field, sum)?;
    let sum_squares = bounded(v, squares_field, sum_squares)?;
    if sum_squares < 0.0 {
        return Err(StatsError::field(
            Some(&v.name),
            squares_field,
            format!("a sum of squares cannot be negative, got `{sum_squares}`"),
        ));
    }
    // Cauchy–Schwarz: n·Σx² ≥ (Σx)². A small relative slack absorbs the
    // rounding of sums computed in floating point upstream.
    let spread = sum_squares - sum * sum / n;
    if spread < -1e-9 * sum_squares.max(1.0) {
        return Err(StatsError::field(
            Some(&v.name),
            squares_field,
            format!("is smaller than `{sum_field}`²/n, which no data can produce"),
        ));
    }
    Ok(Moments::Sample {
        n,
        sum,
        sum_squares,
    })
}

impl ArmData {
    /// Checks one variant's fields for the metric kind and stores them.
    /// `cuped` says whether the analysis uses a pre-exposure covariate.
    pub(crate) fn from_input(
        kind: MetricKind,
        v: &VariantInput,
        cuped: bool,
    ) -> Result<ArmData, StatsError> {
        let n = finite(v, "n", v.n)?;
        if n < 2.0 {
            return Err(StatsError::field(
                Some(&v.name),
                "n",
                format!("must be at least 2 units, got `{n}`"),
            ));
        }
        if n.fract() != 0.0 || n > 9.0e15 {
            return Err(StatsError::field(
                Some(&v.name),
                "n",
                format!("must be a whole number of units, got `{n}`"),
            ));
        }
        let sum = finite(v, "sum", v.sum)?;
        let main = match kind {
            MetricKind::Proportion => {
                if !(0.0..=n).contains(&sum) {
                    return Err(StatsError::field(
                        Some(&v.name),
                        "sum",
                        format!("conversions must lie between 0 and n = {n}, got `{sum}`"),
                    ));
                }
                Moments::Proportion { n, sum }
            }
            MetricKind::Mean | MetricKind::Ratio => {
                let why = "for mean and ratio metrics";
                let ss = required(v, "sum_squares", v.sum_squares, why)?;
                sample_moments(v, n, ("sum", sum), ("sum_squares", ss))?
            }
        };
        let arm = if kind == MetricKind::Ratio {
            if cuped {
                return Err(StatsError::Unsupported {
                    what: "CUPED for ratio metrics (gbstats 0.8 has no such estimator)".into(),
                });
            }
            let why = "for ratio metrics";
            let d_sum = required(v, "denominator_sum", v.denominator_sum, why)?;
            let d_ss = required(v, "denominator_sum_squares", v.denominator_sum_squares, why)?;
            let cross_sum = required(v, "cross_sum", v.cross_sum, why)?;
            let cross_sum = bounded(v, "cross_sum", cross_sum)?;
            let denominator = sample_moments(
                v,
                n,
                ("denominator_sum", d_sum),
                ("denominator_sum_squares", d_ss),
            )?;
            ArmKind::Ratio {
                numerator: main,
                denominator,
                cross_sum,
            }
        } else if cuped {
            let why = "when any variant has CUPED fields";
            let pre_sum = required(v, "pre_sum", v.pre_sum, why)?;
            let pre_ss = required(v, "pre_sum_squares", v.pre_sum_squares, why)?;
            let pre_cross_sum = required(v, "pre_cross_sum", v.pre_cross_sum, why)?;
            let pre_cross_sum = bounded(v, "pre_cross_sum", pre_cross_sum)?;
            let pre = sample_moments(v, n, ("pre_sum", pre_sum), ("pre_sum_squares", pre_ss))?;
            ArmKind::Cuped {
                post: main,
                pre,
                pre_cross_sum,
            }
        } else {
            ArmKind::Plain(main)
        };
        Ok(ArmData {
            name: v.name.clone(),
            kind: arm,
        })
    }

    /// Summary without regression adjustment (CUPED's "before" view).
    pub(crate) fn unadjusted(&self) -> Result<ArmSummary, StatsError> {
        self.summary(0.0)
    }

    /// Summary with the CUPED slope `theta` applied (ignored for arms
    /// without a covariate).
    pub(crate) fn summary(&self, theta: f64) -> Result<ArmSummary, StatsError> {
        let (mean, unadjusted_mean, variance, field) = match self.kind {
            ArmKind::Plain(m) => (m.mean(), m.mean(), m.variance(), "sum"),
            ArmKind::Ratio {
                numerator,
                denominator,
                cross_sum,
            } => {
                let d_mean = denominator.mean();
                if d_mean == 0.0 {
                    return Err(StatsError::Undefined {
                        variant: Some(self.name.clone()),
                        reason: "`denominator_sum` is zero, so the ratio is undefined".into(),
                    });
                }
                let m_mean = numerator.mean();
                let cov = covariance(numerator.n(), numerator.sum(), denominator.sum(), cross_sum);
                // Delta method for the variance of a ratio of means, per unit.
                let variance = numerator.variance() / d_mean.powi(2)
                    - 2.0 * cov * m_mean / d_mean.powi(3)
                    + m_mean.powi(2) * denominator.variance() / d_mean.powi(4);
                let ratio = numerator.sum() / denominator.sum();
                (ratio, ratio, variance, "sum")
            }
            ArmKind::Cuped {
                post,
                pre,
                pre_cross_sum,
            } => {
                let cov = covariance(post.n(), post.sum(), pre.sum(), pre_cross_sum);
                let variance = post.variance() + theta * theta * pre.variance() - 2.0 * theta * cov;
                (
                    post.mean() - theta * pre.mean(),
                    post.mean(),
                    variance,
                    "sum",
                )
            }
        };
        let n = self.n();
        if !(variance.is_finite() && mean.is_finite() && unadjusted_mean.is_finite()) {
            return Err(StatsError::NonFinite {
                variant: Some(self.name.clone()),
                field: "variance".into(),
            });
        }
        if variance <= 0.0 {
            return Err(StatsError::ZeroVariance {
                variant: self.name.clone(),
                field: field.into(),
            });
        }
        Ok(ArmSummary {
            n,
            mean,
            unadjusted_mean,
            variance,
        })
    }

    pub(crate) fn n(&self) -> f64 {
        match self.kind {
            ArmKind::Plain(m) => m.n(),
            ArmKind::Ratio { numerator, .. } => numerator.n(),
            ArmKind::Cuped { post, .. } => post.n(),
        }
    }
}

/// CUPED's slope θ = Cov(post, pre) / Var(pre), pooled over the two arms
/// being compared (gbstats' `compute_theta`). Zero when either pooled
/// variance is zero, which makes the adjustment a no-op as in gbstats.
pub(crate) fn cuped_theta(a: &ArmData, b: &ArmData) -> f64 {
    let (
        ArmKind::Cuped {
            post: post_a,
            pre: pre_a,
            pre_cross_sum: cross_a,
        },
        ArmKind::Cuped {
            post: post_b,
            pre: pre_b,
            pre_cross_sum: cross_b,
        },
    ) = (a.kind, b.kind)
    else {
        return 0.0;
    };
    let post = post_a.joint(post_b);
    let pre = pre_a.joint(pre_b);
    let (var_post, var_pre) = (post.variance(), pre.variance());
    if var_post <= 0.0 || var_pre <= 0.0 || !var_pre.is_finite() {
        return 0.0;
    }
    let cov = covariance(post.n(), post.sum(), pre.sum(), cross_a + cross_b);
    let theta = cov / var_pre;
    if theta.is_finite() {
        theta
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variant(n: f64, sum: f64, ss: Option<f64>) -> VariantInput {
        VariantInput {
            name: "v".into(),
            n,
            sum,
            sum_squares: ss,
            denominator_sum: None,
            denominator_sum_squares: None,
            cross_sum: None,
            pre_sum: None,
            pre_sum_squares: None,
            pre_cross_sum: None,
        }
    }

    #[test]
    fn proportion_variance_has_no_bessel_correction() {
        let arm = ArmData::from_input(MetricKind::Proportion, &variant(10.0, 3.0, None), false)
            .unwrap()
            .unadjusted()
            .unwrap();
        assert!((arm.variance - 0.21).abs() < 1e-15);
    }

    #[test]
    fn constant_values_are_reported_as_zero_variance() {
        let err = ArmData::from_input(MetricKind::Mean, &variant(4.0, 8.0, Some(16.0)), false)
            .unwrap()
            .unadjusted()
            .unwrap_err();
        assert_eq!(err.code(), "S0003");
    }

    #[test]
    fn impossible_sum_of_squares_is_rejected() {
        let err = ArmData::from_input(MetricKind::Mean, &variant(4.0, 8.0, Some(10.0)), false)
            .unwrap_err();
        assert!(err.to_string().contains("sum_squares"), "{err}");
    }
}
