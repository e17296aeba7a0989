//! Bayesian effect model (gbstats' `EffectBayesianABTest`): the lift's
//! estimate is treated as a Gaussian observation of the true lift, combined
//! with a Gaussian prior on it (flat by default, as in gbstats).

use crate::dist::{normal_cdf, normal_pdf, normal_quantile};
use crate::error::StatsError;
use crate::frequentist::Lift;
use crate::input::{BayesScale, GaussianPrior};
use crate::output::BayesResult;

/// Posterior of the lift on `scale`. The prior is stated on the relative
/// scale; for absolute results it is rescaled by the control's mean, as
/// gbstats does for `prior_type = "relative"`.
pub(crate) fn gaussian_effect(
    lift: Lift,
    scale: BayesScale,
    prior: Option<GaussianPrior>,
    control_mean: f64,
    alpha: f64,
    inverse: bool,
) -> Result<BayesResult, StatsError> {
    let (mean, sd) = match prior {
        None => (lift.point, lift.variance.sqrt()),
        Some(prior) => {
            let (prior_mean, prior_var) = match scale {
                BayesScale::Relative => (prior.mean, prior.stddev.powi(2)),
                BayesScale::Absolute => (
                    prior.mean * control_mean.abs(),
                    prior.stddev.powi(2) * control_mean.powi(2),
                ),
            };
            let precision = 1.0 / lift.variance + 1.0 / prior_var;
            let mean = (lift.point / lift.variance + prior_mean / prior_var) / precision;
            (mean, (1.0 / precision).sqrt())
        }
    };
    let z = mean / sd;
    let chance = normal_cdf(z);
    let (risk_control, risk_treatment) = gaussian_risk(mean, sd);
    let q = normal_quantile(1.0 - alpha / 2.0)?;
    let (chance_to_win, risk_control, risk_treatment) = if inverse {
        (1.0 - chance, risk_treatment, risk_control)
    } else {
        (chance, risk_control, risk_treatment)
    };
    Ok(BayesResult {
        scale,
        point: mean,
        chance_to_win,
        risk_control,
        risk_treatment,
        ci_lower: mean - q * sd,
        ci_upper: mean + q * sd,
    })
}

/// Expected losses for a lift X ~ N(μ, σ²): choosing the control loses
/// E[max(X, 0)] = μΦ(μ/σ) + σφ(μ/σ); choosing the treatment loses
/// E[max(−X, 0)] = σφ(μ/σ) − μΦ(−μ/σ). These closed forms equal gbstats'
/// truncated-normal expressions. Clamped at zero against rounding.
pub(crate) fn gaussian_risk(mu: f64, sigma: f64) -> (f64, f64) {
    let z = mu / sigma;
    let density = sigma * normal_pdf(z);
    let control = (mu * normal_cdf(z) + density).max(0.0);
    let treatment = (density - mu * normal_cdf(-z)).max(0.0);
    (control, treatment)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn risks_differ_by_the_mean() {
        // E[max(X,0)] - E[max(-X,0)] = E[X].
        let (c, t) = gaussian_risk(0.3, 1.7);
        assert!((c - t - 0.3).abs() < 1e-14);
    }
}
