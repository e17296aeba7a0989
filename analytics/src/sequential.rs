//! Always-valid inference with the Gaussian mixture sequential probability
//! ratio test (gbstats' `SequentialTwoSidedTTest`, after Waudby-Smith et al.
//! 2023, arXiv:2103.06476v7): results stay valid however often one peeks.

use crate::dist::normal_cdf;
use crate::error::StatsError;
use crate::frequentist::Lift;
use crate::output::Estimate;

/// Mixture width ρ chosen so the confidence sequence is tightest when the
/// combined sample size reaches `tuning` (eq. 161 of the paper).
fn rho(alpha: f64, tuning: f64) -> f64 {
    let l = -2.0 * alpha.ln();
    ((l + (l + 1.0).ln()) / tuning).sqrt()
}

/// Confidence sequence and always-valid p-value for `lift`, where
/// `total_n` is the number of units in both arms together.
pub(crate) fn mixture_sprt(
    lift: Lift,
    total_n: f64,
    alpha: f64,
    tuning: f64,
) -> Result<Estimate, StatsError> {
    if !(tuning.is_finite() && tuning > 0.0) {
        return Err(StatsError::field(
            None,
            "sequential_tuning",
            format!("must be a positive number, got `{tuning}`"),
        ));
    }
    let rho = rho(alpha, tuning);
    let n_rho2 = total_n * rho * rho;
    // Per-unit variance of the lift, as if all N units were one sample.
    let s2 = lift.variance * total_n;
    // Eq. 9 of the paper.
    let half_width = s2.sqrt()
        * (2.0 * (n_rho2 + 1.0) * ((n_rho2 + 1.0).sqrt() / alpha).ln() / (total_n * rho).powi(2))
            .sqrt();
    // Eq. 155: p = min(1, 1/E) with E the mixture e-value; computed in logs
    // so a large effect does not overflow exp().
    let st2 = lift.point * lift.point * total_n / lift.variance;
    let log_evalue = rho * rho * st2 / (2.0 * (n_rho2 + 1.0)) - 0.5 * (n_rho2 + 1.0).ln();
    let p_value = (-log_evalue).exp().min(1.0);
    Ok(Estimate {
        point: lift.point,
        se: lift.variance.sqrt(),
        ci_lower: lift.point - half_width,
        ci_upper: lift.point + half_width,
        p_value,
        p_value_adjusted: None,
    })
}

/// The log of the one-sided mixture e-value for a standardised estimate
/// `z` (point over standard error) over `total_n` units in both arms: the
/// Gaussian mixture of [`mixture_sprt`] restricted to effects on one side
/// (a half-normal mixing distribution, twice the mixture's density on that
/// side). Large when `z` is large and positive; it stays a test
/// supermartingale for every true effect at or below zero, so by Ville's
/// inequality the chance that it ever exceeds `1/alpha` is at most `alpha`
/// however often it is checked.
fn log_one_sided_evalue(z: f64, total_n: f64, alpha: f64, tuning: f64) -> f64 {
    let rho = rho(alpha, tuning);
    let n_rho2 = total_n * rho * rho;
    let s = z * total_n.sqrt();
    let two_sided = rho * rho * s * s / (2.0 * (n_rho2 + 1.0)) - 0.5 * (n_rho2 + 1.0).ln();
    std::f64::consts::LN_2 + two_sided + normal_cdf(s * rho / (n_rho2 + 1.0).sqrt()).ln()
}

/// Always-valid one-sided p-value of "no change in the harmful direction"
/// for `estimate` (a lift with its standard error) over `total_n` units in
/// both arms: `harmful_up` says whether an increase is the harm. The
/// rollout monitor's test: it rejects when the change is significantly
/// harmful, whatever its size, at level `alpha` (which also sets the
/// mixture's width with `tuning`, as in `mixture_sprt`).
pub fn one_sided_p_value(
    estimate: &Estimate,
    total_n: f64,
    harmful_up: bool,
    alpha: f64,
    tuning: f64,
) -> f64 {
    if !(estimate.se > 0.0 && total_n > 0.0 && tuning > 0.0 && alpha > 0.0 && alpha < 1.0) {
        return 1.0;
    }
    let sign = if harmful_up { 1.0 } else { -1.0 };
    let z = sign * estimate.point / estimate.se;
    let log_e = log_one_sided_evalue(z, total_n, alpha, tuning);
    if log_e.is_nan() {
        return 1.0;
    }
    (-log_e).exp().min(1.0)
}

/// The standardised estimate above which [`one_sided_p_value`] falls below
/// `alpha` after `total_n` units: the test's boundary at that sample.
pub(crate) fn one_sided_boundary(total_n: f64, alpha: f64, tuning: f64) -> f64 {
    let target = -alpha.ln();
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    while log_one_sided_evalue(hi, total_n, alpha, tuning) < target && hi < 1e6 {
        lo = hi;
        hi *= 2.0;
    }
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if log_one_sided_evalue(mid, total_n, alpha, tuning) < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi
}

#[cfg(test)]
mod one_sided_tests {
    use super::*;

    fn estimate(point: f64, se: f64) -> Estimate {
        Estimate {
            point,
            se,
            ci_lower: point - 2.0 * se,
            ci_upper: point + 2.0 * se,
            p_value: 1.0,
            p_value_adjusted: None,
        }
    }

    #[test]
    fn a_change_in_the_harmless_direction_is_never_significant_harm() {
        let e = estimate(-0.5, 0.01);
        assert_eq!(one_sided_p_value(&e, 10_000.0, true, 0.05, 5000.0), 1.0);
        assert!(one_sided_p_value(&e, 10_000.0, false, 0.05, 5000.0) < 1e-6);
    }

    #[test]
    fn the_boundary_is_where_the_p_value_reaches_alpha() {
        for n in [100.0, 5_000.0, 200_000.0] {
            let z = one_sided_boundary(n, 0.025, 5000.0);
            let at = |z: f64| one_sided_p_value(&estimate(z * 0.01, 0.01), n, true, 0.025, 5000.0);
            assert!(at(z * 1.001) < 0.025 && at(z * 0.999) > 0.025, "{n}: {z}");
            // Always-valid costs more than a fixed-horizon one-sided test.
            assert!(z > 1.96, "{n}: {z}");
        }
    }

    #[test]
    fn one_sided_is_less_demanding_than_two_sided_in_the_harmful_direction() {
        let lift = Lift {
            point: 0.03,
            variance: 0.0001,
        };
        let two = mixture_sprt(lift, 8000.0, 0.05, 5000.0).expect("valid");
        let one = one_sided_p_value(&two, 8000.0, true, 0.05, 5000.0);
        assert!(one < two.p_value, "{one} vs {}", two.p_value);
    }
}
