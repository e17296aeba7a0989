//! Always-valid inference with the Gaussian mixture sequential probability
//! ratio test (gbstats' `SequentialTwoSidedTTest`, after Waudby-Smith et al.
//! 2023, arXiv:2103.06476v7): results stay valid however often one peeks.

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
