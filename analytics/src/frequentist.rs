//! Fixed-horizon Welch t-test of a treatment against the control, on the
//! absolute or the relative scale (gbstats' `TwoSidedTTest`). The relative
//! lift's variance comes from the delta method.

use crate::dist::{t_quantile, t_sf};
use crate::error::StatsError;
use crate::output::Estimate;
use crate::summary::ArmSummary;

/// A lift and the variance of its estimator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Lift {
    pub point: f64,
    pub variance: f64,
}

/// Treatment minus control; variance `var_b/n_b + var_a/n_a`.
pub(crate) fn absolute_lift(a: &ArmSummary, b: &ArmSummary) -> Lift {
    Lift {
        point: b.mean - a.mean,
        variance: b.variance / b.n + a.variance / a.n,
    }
}

/// `(mean_b - mean_a) / mean_a`, divided by the control's unadjusted mean as
/// gbstats does under CUPED. The delta method gives
/// `var_b / (m_a² n_b) + var_a m_b² / (m_a⁴ n_a)` with unadjusted means m.
pub(crate) fn relative_lift(a: &ArmSummary, b: &ArmSummary) -> Result<Lift, StatsError> {
    let m_a = a.unadjusted_mean;
    if m_a == 0.0 {
        return Err(StatsError::Undefined {
            variant: None,
            reason: "the control's mean is zero, so the relative lift is undefined".into(),
        });
    }
    let m_b = b.unadjusted_mean;
    Ok(Lift {
        point: (b.mean - a.mean) / m_a,
        variance: b.variance / (m_a * m_a * b.n) + a.variance * m_b * m_b / (m_a.powi(4) * a.n),
    })
}

/// Welch–Satterthwaite degrees of freedom from the per-unit variances;
/// gbstats uses these (not the relative-scale variances) for both scales.
pub(crate) fn welch_dof(a: &ArmSummary, b: &ArmSummary) -> f64 {
    let (va, vb) = (a.variance / a.n, b.variance / b.n);
    (va + vb).powi(2) / (vb * vb / (b.n - 1.0) + va * va / (a.n - 1.0))
}

/// Two-sided t-test of `lift` against zero with an equal-tailed interval.
pub(crate) fn t_test(lift: Lift, dof: f64, alpha: f64) -> Result<Estimate, StatsError> {
    let se = lift.variance.sqrt();
    let t = lift.point / se;
    // sf rather than 1 - cdf keeps tiny p-values from rounding to zero.
    let p_value = (2.0 * t_sf(t.abs(), dof)?).min(1.0);
    let half_width = t_quantile(1.0 - alpha / 2.0, dof)? * se;
    Ok(Estimate {
        point: lift.point,
        se,
        ci_lower: lift.point - half_width,
        ci_upper: lift.point + half_width,
        p_value,
        p_value_adjusted: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_arms_give_welch_dof_of_pooled_sample() {
        let arm = ArmSummary {
            n: 11.0,
            mean: 1.0,
            unadjusted_mean: 1.0,
            variance: 4.0,
        };
        // With equal n and variance Welch's dof is n_a + n_b - 2.
        assert!((welch_dof(&arm, &arm) - 20.0).abs() < 1e-12);
    }
}
